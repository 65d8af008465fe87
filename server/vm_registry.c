#include "vm_registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct vm_registry {
	pthread_mutex_t lock;
	struct vm_entry *head; /* newest first */
	unsigned count;        /* listed entries */
	unsigned reserved;     /* creations under way */
	unsigned max;
};

int vm_registry_new(struct vm_registry **out, unsigned max)
{
	struct vm_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->max = max;
	*out = r;
	return 0;
}

void vm_registry_free(struct vm_registry *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int vm_registry_reserve(struct vm_registry *r, unsigned *held)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	*held = r->count + r->reserved;
	if (*held >= r->max)
		ret = -ENOSPC;
	else
		r->reserved++;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void vm_registry_unreserve(struct vm_registry *r)
{
	pthread_mutex_lock(&r->lock);
	r->reserved--;
	pthread_mutex_unlock(&r->lock);
}

void vm_registry_add(struct vm_registry *r, struct vm_entry *e, bool reserved)
{
	pthread_mutex_lock(&r->lock);
	if (reserved)
		r->reserved--;
	e->next = r->head;
	r->head = e;
	r->count++;
	pthread_mutex_unlock(&r->lock);
}

struct vm_entry *vm_registry_find(struct vm_registry *r, const char *id)
{
	struct vm_entry *e;

	pthread_mutex_lock(&r->lock);
	for (e = r->head; e && strcmp(e->id, id); e = e->next)
		;
	if (e)
		vm_entry_get(e);
	pthread_mutex_unlock(&r->lock);
	return e;
}

/* Unlinks *pp; call with the lock. */
static struct vm_entry *unlink_at(struct vm_registry *r, struct vm_entry **pp)
{
	struct vm_entry *e = *pp;

	*pp = e->next;
	e->next = NULL;
	r->count--;
	return e;
}

struct vm_entry *vm_registry_take(struct vm_registry *r, const char *id)
{
	struct vm_entry **pp, *e = NULL;

	pthread_mutex_lock(&r->lock);
	for (pp = &r->head; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->id, id)) {
			e = unlink_at(r, pp);
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return e;
}

struct vm_entry *vm_registry_pop(struct vm_registry *r)
{
	struct vm_entry *e = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->head)
		e = unlink_at(r, &r->head);
	pthread_mutex_unlock(&r->lock);
	return e;
}

void vm_registry_foreach(struct vm_registry *r,
			 bool (*fn)(struct vm_entry *e, void *arg), void *arg)
{
	pthread_mutex_lock(&r->lock);
	for (struct vm_entry *e = r->head; e; e = e->next)
		if (!fn(e, arg))
			break;
	pthread_mutex_unlock(&r->lock);
}
