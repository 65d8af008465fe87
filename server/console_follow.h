/*
 * GET /v1/vms/{id}/console?follow=1: the console log (vmm/console_log.h)
 * streamed as it grows, until the VM ends. A follower is a libmicrohttpd
 * response whose content reader hands out what the log holds past its
 * offset and otherwise suspends its connection, as the event stream's
 * subscribers do (events.h): idle followers hold no request thread.
 *
 * What resumes them: one watcher thread with an inotify watch per followed
 * log (pinvm-vmm, another process, appends to it), every state change of
 * the VM (console_follow_notify, called with vm_wait_notify), the drain,
 * and a once-a-second look in case a change slipped by (or inotify is
 * missing).
 *
 * A follower that falls so far behind that the log's bound drops bytes it
 * has not sent ends with an error (the response is cut): it reconnects
 * with ?offset= and X-Console-Offset tells it what was lost. Nothing is
 * skipped silently inside one stream.
 *
 * Thread-safe; one mutex guards the followers, never held across anything
 * but a log read, an entry's lock and libmicrohttpd's suspend/resume.
 */
#ifndef PINVM_SERVER_CONSOLE_FOLLOW_H
#define PINVM_SERVER_CONSOLE_FOLLOW_H

#include "api_error.h"
#include "vm_entry.h"

#include <stdint.h>
#include <sys/types.h>

struct MHD_Connection;
struct console_follower;

/* Starts the watcher. 0 or -errno. Call once before serving. */
int console_follow_open(void);
/* After every follower is gone (the daemons stopped). */
void console_follow_close(void);
/* Drain: every stream ends after what it has read. */
void console_follow_end_all(void);
/* VM id's state changed: its followers look again (they end once it has
 * ended and they sent everything). */
void console_follow_notify(const char *id);

/*
 * A follower of e's console (a new reference to e is taken) from offset,
 * on conn; *start is where its stream begins (past offset when the bytes
 * between were dropped). Answer with console_follow_reader/_free. 0, or
 * -errno with err (503 shutting_down, 500).
 */
int console_follow_new(struct vm_entry *e, uint64_t offset, struct MHD_Connection *conn,
		       struct console_follower **out, uint64_t *start,
		       struct api_error *err);

ssize_t console_follow_reader(void *cls, uint64_t pos, char *buf, size_t max);
void console_follow_free(void *cls);

/* Followers connected now (tests, metrics). */
unsigned console_followers(void);

#endif
