/*
 * Stored profiles, parsed once. A stored profile never changes (its name
 * is re-usable only after DELETE), so the parse of its document can serve
 * every later request: the cache keeps one reference to each profile it
 * was given and hands each caller one of its own (api/profile.h,
 * "Sharing"). DELETE forgets the name; holders keep their reference and
 * the last one frees the profile.
 *
 * Threading: every function may be called from any thread; one mutex.
 * Errors: none to report; a profile that cannot be kept (cache full of
 * entries, out of memory) is simply not cached.
 */
#ifndef PINVM_SERVER_PROFILE_CACHE_H
#define PINVM_SERVER_PROFILE_CACHE_H

#include "profile.h"

struct profile_cache;

/* NULL when out of memory. capacity: entries kept (oldest dropped). */
struct profile_cache *profile_cache_new(unsigned capacity);
/* Drops the cache's references. NULL is fine. */
void profile_cache_free(struct profile_cache *c);

/*
 * A new reference to the cached profile called name (drop it with
 * profile_free), or NULL (not cached). *gen receives the cache's
 * generation, to pass to profile_cache_put after loading it elsewhere.
 */
struct profile *profile_cache_get(struct profile_cache *c, const char *name,
				  unsigned long *gen);

/*
 * Caches p (taking a reference of its own; p must not be written any
 * more) unless a name was forgotten since the profile_cache_get that gave
 * gen: then p may already be stale, and is not kept.
 */
void profile_cache_put(struct profile_cache *c, struct profile *p,
		       unsigned long gen);

/*
 * Answers derived from stored profiles alone (prepared.h), each under a
 * key the caller makes (a route and what varies it: a profile's name, a
 * request body), at most PROFILE_CACHE_KEY_MAX bytes: a new reference, or
 * NULL (not cached). *gen as for profile_cache_get. Kept beside the parsed
 * profiles, as many of them, the most recently used; every forget drops
 * all of them, since any may have been derived from the forgotten profile.
 */
#define PROFILE_CACHE_KEY_MAX (16 * 1024)
struct prepared *profile_cache_get_answer(struct profile_cache *c, const char *key,
					  size_t keylen, unsigned long *gen);

/* Caches answer (taking a reference of its own) under key, unless a name
 * was forgotten since the get that gave gen or key is too long. */
void profile_cache_put_answer(struct profile_cache *c, const char *key, size_t keylen,
			      struct prepared *answer, unsigned long gen);

/* Forgets name (after DELETE), and every answer: the next gets miss. */
void profile_cache_forget(struct profile_cache *c, const char *name);

#endif
