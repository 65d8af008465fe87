#include "vm_names.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A VM holds at most one name and pinvmd at most a few thousand VMs: a
 * list is as fast as anything here. */
struct name_ent {
	char *name;
	char id[40];
	struct name_ent *next;
};

struct vm_names {
	pthread_mutex_t lock;
	struct name_ent *head;
};

int vm_names_new(struct vm_names **out)
{
	struct vm_names *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->lock, NULL);
	*out = n;
	return 0;
}

void vm_names_free(struct vm_names *n)
{
	if (!n)
		return;
	while (n->head) {
		struct name_ent *e = n->head;

		n->head = e->next;
		free(e->name);
		free(e);
	}
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int vm_names_claim(struct vm_names *n, const char *name, const char *id, char owner[40])
{
	struct name_ent *e;

	pthread_mutex_lock(&n->lock);
	for (e = n->head; e; e = e->next)
		if (!strcmp(e->name, name)) {
			snprintf(owner, 40, "%s", e->id);
			pthread_mutex_unlock(&n->lock);
			return -EEXIST;
		}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		pthread_mutex_unlock(&n->lock);
		return -ENOMEM;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->next = n->head;
	n->head = e;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

void vm_names_release(struct vm_names *n, const char *name, const char *id)
{
	pthread_mutex_lock(&n->lock);
	for (struct name_ent **p = &n->head; *p; p = &(*p)->next) {
		struct name_ent *e = *p;

		if (!strcmp(e->name, name) && !strcmp(e->id, id)) {
			*p = e->next;
			free(e->name);
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&n->lock);
}
