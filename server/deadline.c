#include "deadline.h"

#include "log.h"
#include "mono_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* How often the watchdog looks: a deadline is kept to within this. */
#define SCAN_MS 200

struct deadline_entry {
	struct deadline_entry *prev, *next;
	int fd;
	uint64_t due_ms; /* CLOCK_MONOTONIC; 0: none */
};

struct deadlines {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	struct deadline_entry *head;
	unsigned long cut;
};

static void *watch(void *arg)
{
	struct deadlines *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		struct timespec until;
		uint64_t now = (uint64_t)mono_ms();
		unsigned n = 0;

		for (struct deadline_entry *e = d->head; e; e = e->next) {
			if (!e->due_ms || e->due_ms > now)
				continue;
			/* shutdown, not close: the descriptor stays libmicrohttpd's,
			 * which sees the end of the connection and cleans up. */
			shutdown(e->fd, SHUT_RDWR);
			e->due_ms = 0;
			n++;
		}
		d->cut += n;
		if (n)
			log_msg(LOG_WARN, "cut %u connections that missed their deadline "
				"(headers, body or idle)", n);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SCAN_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int deadlines_start(struct deadlines **out, char *err, size_t errlen)
{
	struct deadlines *d = calloc(1, sizeof(*d));
	int ret;

	*out = NULL;
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	ret = pthread_create(&d->thread, NULL, watch, d);
	if (ret) {
		snprintf(err, errlen, "connection watchdog: %s", strerror(ret));
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return -ret;
	}
	*out = d;
	return 0;
}

void deadlines_stop(struct deadlines *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	while (d->head) {
		struct deadline_entry *e = d->head;

		d->head = e->next;
		free(e);
	}
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct deadline_entry *deadlines_add(struct deadlines *d, int fd, unsigned seconds)
{
	struct deadline_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->fd = fd;
	e->due_ms = seconds ? (uint64_t)mono_ms() + (uint64_t)seconds * 1000 : 0;
	pthread_mutex_lock(&d->lock);
	e->next = d->head;
	if (d->head)
		d->head->prev = e;
	d->head = e;
	pthread_mutex_unlock(&d->lock);
	return e;
}

void deadlines_set(struct deadlines *d, struct deadline_entry *e, unsigned seconds)
{
	uint64_t due = seconds ? (uint64_t)mono_ms() + (uint64_t)seconds * 1000 : 0;

	pthread_mutex_lock(&d->lock);
	e->due_ms = due;
	pthread_mutex_unlock(&d->lock);
}

void deadlines_remove(struct deadlines *d, struct deadline_entry *e)
{
	pthread_mutex_lock(&d->lock);
	if (e->prev)
		e->prev->next = e->next;
	else
		d->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	pthread_mutex_unlock(&d->lock);
	free(e);
}

unsigned long deadlines_cut(struct deadlines *d)
{
	unsigned long n;

	pthread_mutex_lock(&d->lock);
	n = d->cut;
	pthread_mutex_unlock(&d->lock);
	return n;
}
