#include "route_match.h"

#include <stdbool.h>
#include <string.h>

const struct route_spec route_table[ROUTE_COUNT] = {
#define ROUTE(method, pattern, handler) { method, pattern },
#include "routes.def"
#undef ROUTE
};

/* Where the segment starting at s ends: the next '/' or the NUL. */
static const char *segment_end(const char *s)
{
	while (*s && *s != '/')
		s++;
	return s;
}

/*
 * Matches path against pattern segment by segment. On a match, and when
 * m is given, stores the {x} segments in m->params.
 */
static bool match(const char *pattern, const char *path, struct route_match *m)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		const char *pend = segment_end(p);
		const char *send = segment_end(s);

		if (*p == '{') {
			if (send == s || n >= ROUTE_MATCH_MAX_PARAMS)
				return false;
			if (m) {
				m->params[n].start = s;
				m->params[n].len = (size_t)(send - s);
			}
			n++;
		} else if (pend - p != send - s || strncmp(p, s, (size_t)(pend - p))) {
			return false;
		}
		p = pend;
		s = send;
	}
	if (*p || *s)
		return false;
	if (m)
		m->nparams = n;
	return true;
}

unsigned route_match(const char *method, const char *path,
		     struct route_match *m)
{
	/* HEAD is GET without a body; libmicrohttpd drops the body itself. */
	const char *want = strcmp(method, "HEAD") ? method : "GET";
	bool path_known = false;
	size_t i, used = 0;

	memset(m, 0, sizeof(*m));
	m->route = ROUTE_COUNT;
	for (i = 0; i < ROUTE_COUNT; i++) {
		const struct route_spec *r = &route_table[i];

		if (!match(r->pattern, path, NULL))
			continue;
		path_known = true;
		if (strcmp(r->method, want))
			continue;
		match(r->pattern, path, m);
		m->route = i;
		return m->status = 200;
	}
	if (!path_known)
		return m->status = 404;
	for (i = 0; i < ROUTE_COUNT; i++) {
		const struct route_spec *r = &route_table[i];
		size_t len = strlen(r->method);

		if (!match(r->pattern, path, NULL) ||
		    used + len + 3 > sizeof(m->allow))
			continue;
		if (used) {
			memcpy(m->allow + used, ", ", 2);
			used += 2;
		}
		memcpy(m->allow + used, r->method, len + 1);
		used += len;
	}
	return m->status = 405;
}
