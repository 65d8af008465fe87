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

/* printf-style message without extra fields. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
