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
	struct route_match got = { 0 };
	int nparams[ROUTE_COUNT];
	int best = -1;
	size_t i, hit = ROUTE_COUNT, used = 0;

	memset(m, 0, sizeof(*m));
	m->route = ROUTE_COUNT;
	/*
	 * The most literal patterns that match are the path's routes: POST
	 * /v1/vms/incoming is not a VM named "incoming", so /v1/vms/{id}'s
	 * methods neither serve it nor are in its Allow. One pass finds them
	 * and the first of them with the method (this runs for every
	 * request, more than once: two passes were a tenth of pinvmd's CPU
	 * under load).
	 */
	for (i = 0; i < ROUTE_COUNT; i++) {
		struct route_match tmp;
		int n = match(route_table[i].pattern, path, &tmp) ? (int)tmp.nparams : -1;

		nparams[i] = n;
		if (n < 0 || (best >= 0 && n > best))
			continue;
		if (best < 0 || n < best) {
			best = n;
			hit = ROUTE_COUNT;
		}
		if (hit == ROUTE_COUNT && !strcmp(route_table[i].method, want)) {
			hit = i;
			got = tmp;
		}
	}
	if (best < 0)
		return m->status = 404;
	if (hit < ROUTE_COUNT) {
		memcpy(m->params, got.params, got.nparams * sizeof(m->params[0]));
		m->nparams = got.nparams;
		m->route = hit;
		return m->status = 200;
	}
	for (i = 0; i < ROUTE_COUNT; i++) {
		const struct route_spec *r = &route_table[i];
		size_t len = strlen(r->method);

		if (nparams[i] != best || used + len + 3 > sizeof(m->allow))
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
