/*
 * pinvmd's event stream (GET /v1/events, Server-Sent Events): what
 * happened to VMs and profiles, in order, each event with an id one
 * greater than the last, kept in a bounded history (event_log.h) that
 * survives a restart.
 *
 * One hub per process, opened by main() before anything can publish and
 * closed after the HTTP daemons stop. Any module publishes with one call,
 * events_publish(); it never blocks on subscribers (the frame is stored
 * and queued, then suspended subscriber connections are resumed to read
 * it on libmicrohttpd's own threads).
 *
 * A subscriber is a libmicrohttpd response whose content reader hands out
 * what is queued for it and otherwise suspends its connection, so idle
 * subscribers hold no request thread. A heartbeat resumes them now and
 * then (a comment line) so a dead peer is noticed and proxies keep the
 * connection.
 *
 * Thread-safe: every function may be called from any thread; one mutex
 * guards the hub and is never held across anything but SQLite and
 * libmicrohttpd's suspend/resume.
 */
#ifndef PINVM_SERVER_EVENTS_H
#define PINVM_SERVER_EVENTS_H

#include "api_error.h"
#include "event_query.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EVENTS_DEFAULT_HISTORY 10000

struct MHD_Connection;
struct events_sub;

/*
 * Opens the hub on STATE/events.db keeping `history` events, with a
 * heartbeat every heartbeat_s seconds (>= 1). 0, or -errno with err.
 */
int events_open(const char *state_dir, unsigned history, unsigned heartbeat_s,
		char *err, size_t errlen);

/* Closes the hub: call after every subscriber is gone (the daemons are
 * stopped). Publishing afterwards is a no-op. */
void events_close(void);

/*
 * Publishes an event of type (event_type_valid) about vm_id (NULL: none)
 * with fields (a JSON object, stolen; NULL for none) merged into its data
 * next to "id", "type", "time" and "vm_id". Returns the event's id, or 0
 * when there is no hub or it could not be built (logged). The event is
 * delivered even when the history cannot store it (logged).
 */
uint64_t events_publish(const char *type, const char *vm_id, json_t *fields);

/* Drain: every stream ends (after what is queued for it) and no new one
 * is accepted. Safe to call more than once. */
void events_end_streams(void);

/*
 * A new subscriber for q on conn, to be answered with
 * events_sub_reader/events_sub_free as a streamed response. 0 with *out,
 * or -errno with err: 410 events_gone (q->after older than the history,
 * or newer than any event: re-list and subscribe afresh), 503
 * shutting_down, 500.
 */
int events_subscribe(const struct event_query *q, struct MHD_Connection *conn,
		     struct events_sub **out, struct api_error *err);

/* libmicrohttpd's content reader and free callback for a subscriber. */
ssize_t events_sub_reader(void *cls, uint64_t pos, char *buf, size_t max);
void events_sub_free(void *cls);

/* Subscribers connected now (for metrics and tests). */
unsigned events_subscribers(void);

#endif
