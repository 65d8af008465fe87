#include "vm_wait.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vm_waiter {
	struct MHD_Connection *conn;
	struct vm_entry *e;       /* a reference of the waiter's */
	enum vm_state want;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	bool suspended;
	char *buf;                /* the answer, once there is one */
	size_t len, off;
	struct vm_waiter *prev, *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* the timer's sleep; a new waiter or the end */
	pthread_condattr_t attr;
	bool open, closing, stop;
	struct vm_waiter *head;
	pthread_t timer;
} w = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Call with w.lock. */
static void resume(struct vm_waiter *x)
{
	if (x->suspended) {
		x->suspended = false;
		MHD_resume_connection(x->conn);
	}
}

static void *timer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w.lock);
	while (!w.stop) {
		struct timespec now, next = { 0 };
		bool any = false;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (struct vm_waiter *x = w.head; x; x = x->next) {
			if (!x->suspended)
				continue;
			if (!before(&now, &x->deadline))
				resume(x);
			else if (!any || before(&x->deadline, &next)) {
				next = x->deadline;
				any = true;
			}
		}
		if (any)
			pthread_cond_timedwait(&w.cond, &w.lock, &next);
		else
			pthread_cond_wait(&w.cond, &w.lock);
	}
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

int vm_wait_open(void)
{
	sigset_t all, old;
	int ret;

	pthread_mutex_lock(&w.lock);
	pthread_condattr_init(&w.attr);
	pthread_condattr_setclock(&w.attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &w.attr);
	w.stop = w.closing = false;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&w.timer, NULL, timer, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w.open = ret == 0;
	pthread_mutex_unlock(&w.lock);
	return -ret;
}

void vm_wait_close(void)
{
	pthread_mutex_lock(&w.lock);
	if (!w.open) {
		pthread_mutex_unlock(&w.lock);
		return;
	}
	w.open = false;
	w.stop = w.closing = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.timer, NULL);
	pthread_cond_destroy(&w.cond);
	pthread_condattr_destroy(&w.attr);
}

void vm_wait_end_all(void)
{
	pthread_mutex_lock(&w.lock);
	w.closing = true;
	for (struct vm_waiter *x = w.head; x; x = x->next)
		resume(x);
	pthread_mutex_unlock(&w.lock);
}

void vm_wait_notify(const char *id)
{
	pthread_mutex_lock(&w.lock);
	/* e->id is set once, before the entry is shared: no lock to read it. */
	for (struct vm_waiter *x = w.head; x; x = x->next)
		if (!strcmp(x->e->id, id))
			resume(x);
	pthread_mutex_unlock(&w.lock);
}

bool vm_wait_done(const struct vm_entry *e, enum vm_state want)
{
	if (e->state == want || e->ending)
		return true;
	if (e->state == VM_CREATING)
		return false;
	if (want == VM_CREATED)
		return true; /* it was created, and is past that */
	/* Ended: it will not reach another state by itself. */
	return e->state == VM_STOPPED || e->state == VM_FAILED;
}

int vm_wait_new(struct vm_entry *e, enum vm_state want, unsigned timeout_s,
		struct MHD_Connection *conn, struct vm_waiter **out, struct api_error *err)
{
	struct vm_waiter *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	x->conn = conn;
	x->want = want;
	clock_gettime(CLOCK_MONOTONIC, &x->deadline);
	x->deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&w.lock);
	if (!w.open || w.closing) {
		pthread_mutex_unlock(&w.lock);
		free(x);
		return api_fail(err, 503, "shutting_down", "", "pinvmd is stopping");
	}
	x->e = vm_entry_get(e);
	x->next = w.head;
	if (w.head)
		w.head->prev = x;
	w.head = x;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	*out = x;
	return 0;
}

ssize_t vm_wait_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct vm_waiter *x = cls;
	struct timespec now;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&w.lock);
	if (!x->buf) {
		bool done;

		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&x->e->lock);
		done = w.closing || !before(&now, &x->deadline) || vm_wait_done(x->e, x->want);
		if (done) {
			json_t *o = vm_entry_to_json(x->e);
			char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

			json_decref(o);
			if (text && asprintf(&x->buf, "%s\n", text) >= 0)
				x->len = strlen(x->buf);
			else
				x->buf = NULL;
			free(text);
		}
		pthread_mutex_unlock(&x->e->lock);
		if (done && !x->buf) {
			pthread_mutex_unlock(&w.lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (!done) {
			x->suspended = true;
			MHD_suspend_connection(x->conn);
			/* The timer counts suspended waiters' deadlines only. */
			pthread_cond_broadcast(&w.cond);
			pthread_mutex_unlock(&w.lock);
			return 0;
		}
	}
	if (x->off == x->len) {
		pthread_mutex_unlock(&w.lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = x->len - x->off < max ? x->len - x->off : max;
	memcpy(buf, x->buf + x->off, n);
	x->off += n;
	pthread_mutex_unlock(&w.lock);
	return (ssize_t)n;
}

void vm_wait_free(void *cls)
{
	struct vm_waiter *x = cls;

	pthread_mutex_lock(&w.lock);
	if (x->prev)
		x->prev->next = x->next;
	else if (w.head == x)
		w.head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	pthread_mutex_unlock(&w.lock);
	vm_entry_put(x->e);
	free(x->buf);
	free(x);
}
