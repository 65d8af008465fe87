#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *level_name[] = { "debug", "info", "warn", "error" };

void log_event(enum log_level level, const char *msg, json_t *fields)
{
	struct timespec ts;
	struct tm tm;
	char when[64];
	json_t *line;
	char *text;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
	line = json_pack("{s:s, s:s, s:s}", "time", when, "level",
			 level_name[level], "msg", msg);
	if (!line)
		return;
	if (fields)
		json_object_update(line, fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text) {
		/* One fputs per line keeps lines whole across threads. */
		fprintf(stderr, "%s\n", text);
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
