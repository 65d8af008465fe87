/* Standby pinvm-vmm processes; see vmm_standby.h. */
#include "vmm_standby.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a new standby may take to say it stands by. */
#define STANDING_BY_TIMEOUT_MS 30000

struct vmm_standby {
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* a place freed, or stopping (CLOCK_MONOTONIC) */
	pthread_t refill;
	bool has_refill;
	bool stopping;
	unsigned n, count;    /* wanted, ready: ready[0..count) */
	struct vmm_client *ready;
	char binary[PATH_MAX];
};

/* SIGKILL when a standby does not go within 10 s: an emulated host's
 * leak check takes ~5. */
void vmm_standby_end(struct vmm_client *c)
{
	struct vmm_error err;

	vmm_client_close(c);
	if (vmm_client_reap(c, 10000, &err) == -ETIMEDOUT) {
		vmm_client_signal(c, SIGKILL);
		vmm_client_reap(c, -1, &err);
	}
}

/* Waits on cond until it is signalled or ms have passed. */
static void wait_ms(struct vmm_standby *s, long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cond, &s->lock, &t);
}

/*
 * Waits for a new standby's "standing_by": it counts as ready only once
 * its start-up is behind it. Counted from the spawn, a loaded machine's
 * ASan build handed out a process still in its loader, not yet named
 * pinvm-standby (test_vmm_standby, under PINVM_TEST_STRESS). 0, or
 * -errno with the process ended.
 */
static int standing_by(struct vmm_client *c, struct vmm_error *err)
{
	struct vmm_event ev;
	int ret = vmm_client_recv(c, STANDING_BY_TIMEOUT_MS, &ev, err);

	if (ret == 0) {
		if (ev.type != VMM_EVENT_STANDING_BY)
			ret = vmm_error_set(err, "standby", EPROTO, "it said \"%s\" first",
					    vmm_event_name(ev.type));
		vmm_event_clear(&ev);
	}
	if (ret < 0)
		vmm_standby_end(c);
	return ret;
}

static void *refill_main(void *arg)
{
	struct vmm_standby *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct vmm_client c;
		struct vmm_error err;
		int ret;

		if (s->count >= s->n) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		ret = vmm_client_spawn_standby(&c, s->binary, -1, &err);
		if (ret == 0)
			ret = standing_by(&c, &err);
		pthread_mutex_lock(&s->lock);
		if (ret < 0) {
			log_msg(LOG_WARN, "standby pinvm-vmm: %s: %s (tried again in 1 s)", err.step,
				err.detail);
			wait_ms(s, 1000);
			continue;
		}
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			vmm_standby_end(&c);
			pthread_mutex_lock(&s->lock);
			break;
		}
		s->ready[s->count++] = c;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int vmm_standby_new(unsigned n, const char *binary, struct vmm_standby **out)
{
	struct vmm_standby *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if ((size_t)snprintf(s->binary, sizeof(s->binary), "%s", binary) >= sizeof(s->binary)) {
		free(s);
		return -ENAMETOOLONG;
	}
	s->n = n;
	s->ready = calloc(n ? n : 1, sizeof(*s->ready));
	if (!s->ready) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (n) {
		ret = pthread_create(&s->refill, NULL, refill_main, s);
		if (ret) {
			vmm_standby_free(s);
			return -ret;
		}
		s->has_refill = true;
	}
	*out = s;
	return 0;
}

bool vmm_standby_take(struct vmm_standby *s, struct vmm_client *out)
{
	pthread_mutex_lock(&s->lock);
	while (s->count) {
		struct vmm_client c = s->ready[--s->count];
		struct pollfd p = { .fd = c.fd, .events = POLLIN };

		pthread_cond_signal(&s->cond);
		/* A standby says nothing after "standing_by" until "become":
		 * one that did, or hung up (died), is not one to hand a VM. */
		if (poll(&p, 1, 0) == 0) {
			pthread_mutex_unlock(&s->lock);
			*out = c;
			return true;
		}
		pthread_mutex_unlock(&s->lock);
		log_msg(LOG_WARN, "standby pinvm-vmm %ld ended before it was needed; skipped",
			(long)c.pid);
		vmm_standby_end(&c);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return false;
}

unsigned vmm_standby_ready(struct vmm_standby *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void vmm_standby_free(struct vmm_standby *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (s->has_refill)
		pthread_join(s->refill, NULL);
	/* All channels first: they end side by side (under the sanitizers
	 * each runs its leak check on the way out). */
	for (unsigned i = 0; i < s->count; i++)
		vmm_client_close(&s->ready[i]);
	for (unsigned i = 0; i < s->count; i++)
		vmm_standby_end(&s->ready[i]);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->ready);
	free(s);
}
