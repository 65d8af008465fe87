/*
 * The WHAT column of `pinvm events` and the migration line of `pinvm vm
 * show`: one event's (or a VM's migration's) JSON as a short text. Pure:
 * nothing but the JSON in, text out, so that every kind of event can be
 * tested without making it happen.
 */
#ifndef PINVM_CLI_EVENT_TEXT_H
#define PINVM_CLI_EVENT_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* What ev (a /v1/events data object) says, into out ("" when nothing
 * worth a word: vm.created, vm.deleted). */
void event_text(const json_t *ev, char *out, size_t len);

/* A VM's migration (its "migration" object, also a vm.migration event's
 * data), e.g. "precopy round 3 to URL (N bytes sent)". */
void migration_text(const json_t *m, char *out, size_t len);

#endif
