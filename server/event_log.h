/*
 * The durable side of the event stream: a bounded history of published
 * events in its own SQLite database (STATE/events.db, WAL), so a
 * subscriber resumes with Last-Event-ID across a pinvmd restart. Kept
 * apart from pinvm.db: events are a journal, not state, and their schema
 * evolves on its own.
 *
 * Not thread-safe: its one user (events.c) serialises every call with its
 * own lock. Errors are -errno with err filled.
 */
#ifndef PINVM_SERVER_EVENT_LOG_H
#define PINVM_SERVER_EVENT_LOG_H

#include <stddef.h>
#include <stdint.h>

struct event_log;

/*
 * Opens (creating) DIR/events.db keeping the newest `keep` (>= 1) events.
 * *first and *last are the ids it holds (first = last + 1 when empty).
 */
int event_log_open(const char *dir, unsigned keep, struct event_log **out,
		   uint64_t *first, uint64_t *last, char *err, size_t errlen);
void event_log_close(struct event_log *l);

/* Appends event id (greater than every id held); borrows the strings.
 * Drops what falls out of the history; *first is the oldest id kept. */
int event_log_append(struct event_log *l, uint64_t id, const char *type,
		     const char *vm_id, const char *frame, uint64_t *first,
		     char *err, size_t errlen);

/* Calls fn on up to max events with id > after, oldest first; fn borrows
 * its strings for the call. Stops early when fn returns non-zero. */
int event_log_read(struct event_log *l, uint64_t after, unsigned max,
		   int (*fn)(void *arg, uint64_t id, const char *type,
			     const char *vm_id, const char *frame),
		   void *arg, char *err, size_t errlen);

#endif
