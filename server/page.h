/*
 * One page of a list (GET /v1/profiles, GET /v1/snapshots): ?limit=N and
 * ?cursor=C in, {"<member>": [...], "next_cursor"?} out. A cursor is
 * opaque to clients: a letter naming the list and the store's sequence
 * number in 16 hex digits, so a cursor of one list is refused by another.
 */
#ifndef PINVM_SERVER_PAGE_H
#define PINVM_SERVER_PAGE_H

#include "request.h"

#include <stdbool.h>

struct page_query {
	unsigned limit;   /* 1..max; def when not given */
	long long after;  /* 0: from the start */
};

/*
 * Reads limit and cursor. false with rep filled (400 bad_limit naming
 * "limit", 400 bad_cursor naming "cursor") when either is malformed.
 */
bool page_query_parse(const struct request *req, struct reply *rep, char kind,
		      unsigned def, unsigned max, struct page_query *out);

/* Answers 200 {member: docs (taken), "next_cursor" when next != 0}. */
void page_reply(struct reply *rep, const char *member, json_t *docs, char kind,
		long long next);

struct store;

/* A stored list served by page_list(): its member name, cursor letter,
 * page sizes and the store's page reader (store_profile_page()'s contract). */
struct page_listing {
	const char *member;
	char kind;
	unsigned def, max;
	int (*fetch)(struct store *s, long long after, unsigned limit, json_t **docs,
		     long long *next, char *err, size_t errlen);
};

/* GET of a stored list: ?limit and ?cursor only (400 naming any other
 * parameter), one page of the store's documents, oldest first; 500
 * store_error when the store fails. */
void page_list(struct request *req, struct reply *rep, const struct page_listing *l);

#endif
