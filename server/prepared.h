/*
 * A prepared answer: the exact bytes of a 200 JSON body (its trailing
 * newline included) and the ETag of the body without that newline, made
 * once and sent many times. What it answers never changes while it is
 * reachable (a stored profile, a verdict on one), so every request can send
 * the same bytes, straight from here, with no JSON work per request.
 *
 * Lifetime: reference counted. prepared_new gives the caller one
 * reference; each holder (a cache slot, a reply, a libmicrohttpd response
 * being sent) keeps its own and drops it with prepared_unref; the last one
 * frees it. The bytes are never written after prepared_new returns, so any
 * thread may read them without a lock.
 * Errors: prepared_new returns NULL when out of memory.
 */
#ifndef PINVM_SERVER_PREPARED_H
#define PINVM_SERVER_PREPARED_H

#include "etag.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

struct prepared {
	atomic_uint refs;
	size_t len;             /* of text, the newline included */
	char etag[ETAG_SIZE];   /* of text[0..len - 1) */
	char text[];            /* NUL-terminated */
};

/* doc (borrowed) dumped the way every JSON answer is sent. */
struct prepared *prepared_new(const json_t *doc);

/* Another reference to p (not NULL). */
struct prepared *prepared_ref(struct prepared *p);

/* Drops one reference; NULL is fine. */
void prepared_unref(struct prepared *p);

#endif
