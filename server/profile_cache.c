/*
 * A small most-recently-used list: profiles are few (--max-profiles) and
 * a name compare is nothing beside a SQLite read and a parse.
 */
#include "profile_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct profile_cache {
	pthread_mutex_t lock;
	unsigned long gen;     /* bumped by every forget */
	unsigned capacity;
	unsigned n;
	struct profile **slot; /* [0] most recently used */
};

struct profile_cache *profile_cache_new(unsigned capacity)
{
	struct profile_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->slot = calloc(capacity ? capacity : 1, sizeof(*c->slot));
	if (!c->slot || pthread_mutex_init(&c->lock, NULL)) {
		free(c->slot);
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
	pthread_mutex_destroy(&c->lock);
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

void profile_cache_forget(struct profile_cache *c, const char *name)
{
	struct profile *dropped = NULL;
	int i;

	pthread_mutex_lock(&c->lock);
	c->gen++;
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
