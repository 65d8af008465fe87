#include "page.h"

#include "server.h"
#include "store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool cursor_decode(const char *s, char kind, long long *seq)
{
	unsigned long long v = 0;

	if (s[0] != kind || strlen(s) != 17)
		return false;
	for (size_t i = 1; i < 17; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v * 16 + (unsigned)d;
	}
	if (v > (unsigned long long)INT64_MAX)
		return false;
	*seq = (long long)v;
	return true;
}

bool page_query_parse(const struct request *req, struct reply *rep, char kind,
		      unsigned def, unsigned max, struct page_query *out)
{
	const char *limit_s = request_query(req, "limit");
	const char *cursor = request_query(req, "cursor");
	unsigned long limit = def;

	if (limit_s) {
		char *end;

		errno = 0;
		limit = strtoul(limit_s, &end, 10);
		if (!*limit_s || *end || errno || *limit_s < '0' || *limit_s > '9' ||
		    limit < 1 || limit > max) {
			reply_problem(rep, 400, "bad_limit", "limit",
				      "limit must be a whole number 1..%u", max);
			return false;
		}
	}
	out->limit = (unsigned)limit;
	out->after = 0;
	if (cursor && !cursor_decode(cursor, kind, &out->after)) {
		reply_problem(rep, 400, "bad_cursor", "cursor",
			      "cursor must be a next_cursor this server gave");
		return false;
	}
	return true;
}

void page_reply(struct reply *rep, const char *member, json_t *docs, char kind,
		long long next)
{
	json_t *body = json_pack("{s:o}", member, docs);
	char next_s[24];

	if (body && next) {
		snprintf(next_s, sizeof(next_s), "%c%016llx", kind, (unsigned long long)next);
		if (json_object_set_new(body, "next_cursor", json_string(next_s))) {
			json_decref(body);
			body = NULL;
		}
	}
	reply_json(rep, 200, body);
}

void page_list(struct request *req, struct reply *rep, const struct page_listing *l)
{
	static const char *const known[] = { "limit", "cursor" };
	struct page_query q;
	long long next;
	char err[256];
	json_t *docs;

	if (!request_query_check(req, rep, known, 2) ||
	    !page_query_parse(req, rep, l->kind, l->def, l->max, &q))
		return;
	if (l->fetch(req->srv->store, q.after, q.limit, &docs, &next, err, sizeof(err)) < 0) {
		reply_problem(rep, 500, "store_error", NULL, "%s", err);
		return;
	}
	page_reply(rep, l->member, docs, l->kind, next);
}
