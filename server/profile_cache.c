/*
 * A small most-recently-used list: profiles are few (--max-profiles) and
 * a name compare is nothing beside a SQLite read and a parse.
 */
#include "profile_cache.h"

#include "prepared.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct profile_cache {
	pthread_mutex_t lock;
	unsigned long gen;     /* bumped by every forget */
	unsigned capacity;
	unsigned n;
	struct profile **slot; /* [0] most recently used */
	/* The prepared GET answers, most recently used first. */
	unsigned nanswers;
	struct answer_slot {
		char *key;
		size_t keylen;
		struct prepared *answer;
	} *answers;
};

struct profile_cache *profile_cache_new(unsigned capacity)
{
	struct profile_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->slot = calloc(capacity ? capacity : 1, sizeof(*c->slot));
	c->answers = calloc(capacity ? capacity : 1, sizeof(*c->answers));
	if (!c->slot || !c->answers || pthread_mutex_init(&c->lock, NULL)) {
		free(c->slot);
		free(c->answers);
		free(c);
		return NULL;
	}
	c->capacity = capacity;
	return c;
}

void profile_cache_free(struct profile_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++)
		profile_free(c->slot[i]);
	for (unsigned i = 0; i < c->nanswers; i++) {
		free(c->answers[i].key);
		prepared_unref(c->answers[i].answer);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->answers);
	free(c->slot);
	free(c);
}

/* Index of name, or -1. Under the lock. */
static int find(const struct profile_cache *c, const char *name)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(c->slot[i]->name, name))
			return (int)i;
	return -1;
}

/* Moves slot i to the front. Under the lock. */
static void to_front(struct profile_cache *c, unsigned i)
{
	struct profile *p = c->slot[i];

	memmove(&c->slot[1], &c->slot[0], i * sizeof(*c->slot));
	c->slot[0] = p;
}

struct profile *profile_cache_get(struct profile_cache *c, const char *name,
				  unsigned long *gen)
{
	struct profile *p = NULL;
	int i;

	pthread_mutex_lock(&c->lock);
	*gen = c->gen;
	i = find(c, name);
	if (i >= 0) {
		to_front(c, (unsigned)i);
		p = profile_ref(c->slot[0]);
	}
	pthread_mutex_unlock(&c->lock);
	return p;
}

void profile_cache_put(struct profile_cache *c, struct profile *p,
		       unsigned long gen)
{
	struct profile *dropped = NULL;

	if (!c->capacity)
		return;
	pthread_mutex_lock(&c->lock);
	if (gen == c->gen && find(c, p->name) < 0) {
		if (c->n == c->capacity)
			dropped = c->slot[--c->n];
		memmove(&c->slot[1], &c->slot[0], c->n * sizeof(*c->slot));
		c->slot[0] = profile_ref(p);
		c->n++;
	}
	pthread_mutex_unlock(&c->lock);
	profile_free(dropped);
}

/* Index of the answer to key, or -1. Under the lock. */
static int find_answer(const struct profile_cache *c, const char *key, size_t keylen)
{
	for (unsigned i = 0; i < c->nanswers; i++)
		if (c->answers[i].keylen == keylen && !memcmp(c->answers[i].key, key, keylen))
			return (int)i;
	return -1;
}

struct prepared *profile_cache_get_answer(struct profile_cache *c, const char *key,
					  size_t keylen, unsigned long *gen)
{
	struct prepared *p = NULL;
	int i;

	pthread_mutex_lock(&c->lock);
	*gen = c->gen;
	i = find_answer(c, key, keylen);
	if (i >= 0) {
		struct answer_slot s = c->answers[i];

		memmove(&c->answers[1], &c->answers[0], (unsigned)i * sizeof(s));
		c->answers[0] = s;
		p = prepared_ref(s.answer);
	}
	pthread_mutex_unlock(&c->lock);
	return p;
}

void profile_cache_put_answer(struct profile_cache *c, const char *key, size_t keylen,
			      struct prepared *answer, unsigned long gen)
{
	struct answer_slot dropped = { 0 };
	char *copy;

	if (!c->capacity || keylen > PROFILE_CACHE_KEY_MAX || !(copy = malloc(keylen ? keylen : 1)))
		return;
	memcpy(copy, key, keylen);
	pthread_mutex_lock(&c->lock);
	if (gen == c->gen && find_answer(c, key, keylen) < 0) {
		if (c->nanswers == c->capacity)
			dropped = c->answers[--c->nanswers];
		memmove(&c->answers[1], &c->answers[0], c->nanswers * sizeof(*c->answers));
		c->answers[0].key = copy;
		c->answers[0].keylen = keylen;
		c->answers[0].answer = prepared_ref(answer);
		c->nanswers++;
		copy = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	free(copy);
	free(dropped.key);
	prepared_unref(dropped.answer);
}

void profile_cache_forget(struct profile_cache *c, const char *name)
{
	struct profile *dropped = NULL;
	int i;

	pthread_mutex_lock(&c->lock);
	c->gen++;
	/* Any answer may have been derived from name's profile: all go (a
	 * DELETE is rare; each is made again on its next miss). Only memory
	 * is freed here, so under the lock is fine. */
	for (unsigned k = 0; k < c->nanswers; k++) {
		free(c->answers[k].key);
		prepared_unref(c->answers[k].answer);
	}
	c->nanswers = 0;
	i = find(c, name);
	if (i >= 0) {
		dropped = c->slot[i];
		memmove(&c->slot[i], &c->slot[i + 1],
			(c->n - (unsigned)i - 1) * sizeof(*c->slot));
		c->n--;
	}
	pthread_mutex_unlock(&c->lock);
	profile_free(dropped);
}
