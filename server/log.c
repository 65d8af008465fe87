#include "log.h"

#include "log_sink.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *level_name[] = { "debug", "info", "warn", "error" };

/* The ISO 8601 UTC time, milliseconds, of now into when[64]. */
static void now_iso(char when[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ts.tv_nsec / 1000000));
}

/* s as the inside of a JSON string at out[*n..cap), as jansson escapes it
 * (", \\ and control characters; the rest of valid UTF-8 as it is).
 * false when it does not fit. */
static bool put_json_string(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = NULL;

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		if (esc || c < 0x20) {
			char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
			const char *e = esc ? esc : u;
			size_t len = strlen(e);

			if (*n + len >= cap)
				return false;
			memcpy(out + *n, e, len);
			*n += len;
		} else {
			if (*n + 1 >= cap)
				return false;
			out[(*n)++] = (char)c;
		}
	}
	return true;
}

/* lit at out[*n..cap) as it is; false when it does not fit. */
static bool put_raw(char *out, size_t cap, size_t *n, const char *lit)
{
	size_t len = strlen(lit);

	if (*n + len >= cap)
		return false;
	memcpy(out + *n, lit, len + 1);
	*n += len;
	return true;
}

void log_request(enum log_level level, const char *id, const char *method, const char *path,
		 int status, double duration_ms, long uid)
{
	char line[2048], when[64], tail[128];
	size_t n = 0;

	now_iso(when);
	if (uid >= 0)
		snprintf(tail, sizeof(tail), "\",\"status\":%d,\"duration_ms\":%.3f,\"peer_uid\":%ld}",
			 status, duration_ms, uid);
	else
		snprintf(tail, sizeof(tail), "\",\"status\":%d,\"duration_ms\":%.3f}", status,
			 duration_ms);
	if (put_raw(line, sizeof(line), &n, "{\"time\":\"") &&
	    put_raw(line, sizeof(line), &n, when) &&
	    put_raw(line, sizeof(line), &n, "\",\"level\":\"") &&
	    put_raw(line, sizeof(line), &n, level_name[level]) &&
	    put_raw(line, sizeof(line), &n, "\",\"msg\":\"request\",\"request_id\":\"") &&
	    put_json_string(line, sizeof(line), &n, id) &&
	    put_raw(line, sizeof(line), &n, "\",\"method\":\"") &&
	    put_json_string(line, sizeof(line), &n, method) &&
	    put_raw(line, sizeof(line), &n, "\",\"path\":\"") &&
	    put_json_string(line, sizeof(line), &n, path) &&
	    put_raw(line, sizeof(line), &n, tail)) {
		log_sink_line(line, n);
		return;
	}
	{
		/* A path too long for the line: the general way. */
		json_t *fields = json_pack("{s:s, s:s, s:s, s:i, s:f}", "request_id", id, "method",
					   method, "path", path, "status", status, "duration_ms",
					   duration_ms);

		if (fields && uid >= 0)
			json_object_set_new(fields, "peer_uid", json_integer(uid));
		log_event(level, "request", fields);
		json_decref(fields);
	}
}

void log_event(enum log_level level, const char *msg, json_t *fields)
{
	char when[64];
	json_t *line;
	char *text;

	now_iso(when);
	line = json_pack("{s:s, s:s, s:s}", "time", when, "level",
			 level_name[level], "msg", msg);
	if (!line)
		return;
	if (fields)
		json_object_update(line, fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text) {
		log_sink_line(text, strlen(text));
		free(text);
	}
	json_decref(line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_event(level, buf, NULL);
}
