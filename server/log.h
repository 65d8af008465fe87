/*
 * Structured logging: one JSON object per line on stderr, so operators and
 * tests can parse what the daemon did.
 */
#ifndef PINVM_SERVER_LOG_H
#define PINVM_SERVER_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Writes {"time", "level", "msg", ...fields}. Borrows fields (may be NULL). */
void log_event(enum log_level level, const char *msg, json_t *fields);

/*
 * The line of one HTTP request, as log_event(level, "request", {request_id,
 * method, path, status, duration_ms[, peer_uid]}) would write it (uid < 0:
 * none), formatted here without building JSON values: it is written for
 * every request, and jansson's allocations and number formatting were a
 * fifth of pinvmd's CPU under load (perf, tests/bench/load.sh). The
 * strings are valid UTF-8 (pinvmd's request paths and log paths are).
 */
void log_request(enum log_level level, const char *id, const char *method, const char *path,
		 int status, double duration_ms, long uid);

/* printf-style message without extra fields. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
