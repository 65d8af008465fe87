/*
 * route_match() on arbitrary request lines: "METHOD PATH" (the method up
 * to the first space, the path after it, each up to a NUL, as the HTTP
 * layer hands them over). Checked against a second matcher written
 * differently (split into segments, then compared): the same route, 404
 * or 405 and the same Allow list, both from the matching patterns with the
 * fewest parameters alone (the most literal: POST /v1/vms/incoming is not
 * GET /v1/vms/{id} of a VM named "incoming"); the parameters are non-empty slices of
 * the path without '/', and putting them back into the pattern gives the
 * path again; HEAD answers as GET. Once: no two routes of one method can
 * match the same path, and every pattern is well formed.
 */
#include "fuzz.h"

#include "route_match.h"

#include <stdbool.h>
#include <string.h>

#define MAX_SEGS 4096

struct seg {
	const char *s;
	size_t len;
};

/* "/a/b" -> {"a", "b"}; false when s does not start with '/' or has too
 * many segments for the buffer. */
static bool split(const char *s, struct seg *segs, size_t *n)
{
	*n = 0;
	if (*s != '/')
		return false;
	while (*s == '/') {
		const char *start = ++s;

		while (*s && *s != '/')
			s++;
		if (*n == MAX_SEGS)
			return false;
		segs[(*n)++] = (struct seg){ start, (size_t)(s - start) };
	}
	return true;
}

static bool is_param(const struct seg *p)
{
	return p->len >= 2 && p->s[0] == '{' && p->s[p->len - 1] == '}';
}

static struct seg path_segs[MAX_SEGS];

/* The number of pattern's parameters when the split path matches it,
 * else -1. */
static int ref_match(const char *pattern, size_t npath)
{
	struct seg pat[16];
	size_t npat;
	int params = 0;

	FUZZ_CHECK(split(pattern, pat, &npat) && npat <= 16);
	if (npat != npath)
		return -1;
	for (size_t i = 0; i < npat; i++) {
		if (is_param(&pat[i])) {
			if (path_segs[i].len == 0)
				return -1;
			params++;
		} else if (pat[i].len != path_segs[i].len ||
			   memcmp(pat[i].s, path_segs[i].s, pat[i].len)) {
			return -1;
		}
	}
	return params;
}

/* Could one path match both patterns? */
static bool overlap(const char *a, const char *b)
{
	struct seg sa[16], sb[16];
	size_t na, nb;

	FUZZ_CHECK(split(a, sa, &na) && split(b, sb, &nb));
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!is_param(&sa[i]) && !is_param(&sb[i]) &&
		    (sa[i].len != sb[i].len || memcmp(sa[i].s, sb[i].s, sa[i].len)))
			return false;
	return true;
}

static void check_table(void)
{
	static bool done;

	if (done)
		return;
	for (size_t i = 0; i < ROUTE_COUNT; i++) {
		const struct route_spec *r = &route_table[i];
		struct seg segs[16];
		size_t n, params = 0;

		FUZZ_CHECK(r->method[0] && strcmp(r->method, "HEAD"));
		FUZZ_CHECK(split(r->pattern, segs, &n) && n <= 16);
		for (size_t k = 0; k < n; k++) {
			FUZZ_CHECK(segs[k].len > 0);
			FUZZ_CHECK(!memchr(segs[k].s, '{', segs[k].len) ||
				   is_param(&segs[k]));
			params += is_param(&segs[k]);
		}
		FUZZ_CHECK(params <= ROUTE_MATCH_MAX_PARAMS);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(route_table[j].method, r->method) ||
				   !overlap(route_table[j].pattern, r->pattern));
	}
	done = true;
}

/* The pattern with m's parameters put back must be the path. */
static void check_params(const char *path, const struct route_match *m)
{
	const char *p = route_table[m->route].pattern, *s = path;
	size_t n = 0;

	while (*p) {
		if (*p == '{') {
			const struct route_param *q = &m->params[n++];

			FUZZ_CHECK(n <= m->nparams);
			FUZZ_CHECK(q->start == s && q->len > 0);
			FUZZ_CHECK(!memchr(q->start, '/', q->len));
			FUZZ_CHECK(!memchr(q->start, '\0', q->len));
			s += q->len;
			p = strchr(p, '}') + 1;
		} else {
			FUZZ_CHECK(*p == *s);
			p++;
			s++;
		}
	}
	FUZZ_CHECK(*s == '\0');
	FUZZ_CHECK(n == m->nparams);
}

static void check(const char *method, const char *path)
{
	const char *want = strcmp(method, "HEAD") ? method : "GET";
	struct route_match m, again;
	size_t npath = 0, found = ROUTE_COUNT, nknown = 0, used = 0;
	bool splits = split(path, path_segs, &npath);
	int fewest = -1;
	char allow[ROUTE_MATCH_ALLOW_SIZE] = "";
	unsigned status = route_match(method, path, &m);

	FUZZ_CHECK(status == m.status);
	FUZZ_CHECK(status == 200 || status == 404 || status == 405);
	FUZZ_CHECK(memchr(m.allow, '\0', sizeof(m.allow)));
	for (size_t i = 0; splits && i < ROUTE_COUNT; i++) {
		int n = ref_match(route_table[i].pattern, npath);

		if (n >= 0 && (fewest < 0 || n < fewest))
			fewest = n;
	}
	for (size_t i = 0; fewest >= 0 && i < ROUTE_COUNT; i++) {
		const struct route_spec *r = &route_table[i];
		size_t len = strlen(r->method);

		if (ref_match(r->pattern, npath) != fewest)
			continue;
		nknown++;
		if (!strcmp(r->method, want)) {
			FUZZ_CHECK(found == ROUTE_COUNT);
			found = i;
		}
		if (used + len + 3 <= sizeof(allow)) {
			used += (size_t)snprintf(allow + used, sizeof(allow) - used,
						 "%s%s", used ? ", " : "", r->method);
		}
	}
	if (found < ROUTE_COUNT) {
		FUZZ_CHECK(status == 200);
		FUZZ_CHECK(m.route == found);
		FUZZ_CHECK(!strcmp(route_table[m.route].method, want));
		FUZZ_CHECK(m.allow[0] == '\0');
		check_params(path, &m);
	} else {
		FUZZ_CHECK(status == (nknown ? 405u : 404u));
		FUZZ_CHECK(m.route == ROUTE_COUNT && m.nparams == 0);
		FUZZ_CHECK(!strcmp(m.allow, allow));
		FUZZ_CHECK((status == 405) == (m.allow[0] != '\0'));
	}
	/* HEAD is GET, and the same line matches the same way twice. */
	if (!strcmp(method, "HEAD") || !strcmp(method, "GET")) {
		route_match(strcmp(method, "HEAD") ? "HEAD" : "GET", path, &again);
		FUZZ_CHECK(!memcmp(&m, &again, sizeof(m)));
	}
	route_match(method, path, &again);
	FUZZ_CHECK(!memcmp(&m, &again, sizeof(m)));
}

int fuzz_run(const uint8_t *data, size_t size)
{
	const uint8_t *sp = memchr(data, ' ', size);
	char *method, *path;
	struct route_match m;

	check_table();
	if (!sp)
		return -1;
	method = strndup((const char *)data, (size_t)(sp - data));
	path = strndup((const char *)sp + 1, size - (size_t)(sp - data) - 1);
	FUZZ_CHECK(method && path);
	check(method, path);
	route_match(method, path, &m);
	free(method);
	free(path);
	return m.status == 200;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
