#include "console_follow.h"

#include "console_log.h"
#include "log.h"
#include "vm_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* The look at every follower when nothing woke it (a safety net). */
#define LOOK_MS 1000

struct console_follower {
	struct MHD_Connection *conn;
	struct vm_entry *e; /* a reference of the follower's */
	int fd;             /* the log, read-only */
	int wd;             /* its inotify watch, -1: none */
	uint64_t offset;    /* the next byte to send */
	bool suspended;
	struct console_follower *prev, *next;
};

static struct {
	pthread_mutex_t lock;
	bool open, closing;
	int ifd;            /* inotify, -1 without */
	int stop[2];        /* the watcher's wake-up pipe */
	struct console_follower *head;
	unsigned n;
	pthread_t watcher;
} h = { .lock = PTHREAD_MUTEX_INITIALIZER, .ifd = -1, .stop = { -1, -1 } };

/* Call with h.lock. */
static void resume(struct console_follower *f)
{
	if (f->suspended) {
		f->suspended = false;
		MHD_resume_connection(f->conn);
	}
}

/* Call with h.lock: wakes the followers of watch wd (-1: all). */
static void resume_wd(int wd)
{
	for (struct console_follower *f = h.head; f; f = f->next)
		if (wd < 0 || f->wd == wd)
			resume(f);
}

static void *watch(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = h.stop[0], .events = POLLIN },
				       { .fd = h.ifd, .events = POLLIN } };
		int n = poll(p, h.ifd >= 0 ? 2 : 1, LOOK_MS);
		ssize_t len;

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[0].revents)
			break;
		pthread_mutex_lock(&h.lock);
		if (n <= 0)
			resume_wd(-1);
		while (n > 0 && (len = read(h.ifd, buf, sizeof(buf))) > 0)
			for (char *q = buf; q < buf + len;) {
				const struct inotify_event *ev = (const struct inotify_event *)q;

				resume_wd(ev->wd);
				q += sizeof(*ev) + ev->len;
			}
		pthread_mutex_unlock(&h.lock);
	}
	return NULL;
}

int console_follow_open(void)
{
	sigset_t all, old;
	int ret;

	pthread_mutex_lock(&h.lock);
	if (h.open) {
		pthread_mutex_unlock(&h.lock);
		return -EBUSY;
	}
	if (pipe2(h.stop, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		pthread_mutex_unlock(&h.lock);
		return ret;
	}
	h.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h.ifd < 0)
		log_msg(LOG_WARN, "console follow: no inotify (%s); followers look once a "
			"second", strerror(errno));
	h.closing = false;
	/* Signals are pinvmd's main thread's to take (sigwait). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&h.watcher, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		close(h.stop[0]);
		close(h.stop[1]);
		if (h.ifd >= 0)
			close(h.ifd);
		h.ifd = h.stop[0] = h.stop[1] = -1;
		pthread_mutex_unlock(&h.lock);
		return -ret;
	}
	h.open = true;
	pthread_mutex_unlock(&h.lock);
	return 0;
}

void console_follow_close(void)
{
	pthread_mutex_lock(&h.lock);
	if (!h.open) {
		pthread_mutex_unlock(&h.lock);
		return;
	}
	h.open = false;
	h.closing = true;
	(void)!write(h.stop[1], "x", 1);
	pthread_mutex_unlock(&h.lock);
	pthread_join(h.watcher, NULL);
	close(h.stop[0]);
	close(h.stop[1]);
	if (h.ifd >= 0)
		close(h.ifd);
	h.ifd = h.stop[0] = h.stop[1] = -1;
}

void console_follow_end_all(void)
{
	pthread_mutex_lock(&h.lock);
	h.closing = true;
	resume_wd(-1);
	pthread_mutex_unlock(&h.lock);
}

void console_follow_notify(const char *id)
{
	pthread_mutex_lock(&h.lock);
	/* e->id is set once, before the entry is shared: no lock to read it. */
	for (struct console_follower *f = h.head; f; f = f->next)
		if (!strcmp(f->e->id, id))
			resume(f);
	pthread_mutex_unlock(&h.lock);
}

unsigned console_followers(void)
{
	unsigned n;

	pthread_mutex_lock(&h.lock);
	n = h.n;
	pthread_mutex_unlock(&h.lock);
	return n;
}

int console_follow_new(struct vm_entry *e, uint64_t offset, struct MHD_Connection *conn,
		       struct console_follower **out, uint64_t *start,
		       struct api_error *err)
{
	struct console_follower *f = calloc(1, sizeof(*f));
	char path[PATH_MAX];
	size_t len;
	char c;

	*out = NULL;
	if (!f)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	f->wd = -1;
	/* A VM still being created may not have its log yet: pinvm-vmm
	 * appends to the one made here. */
	f->fd = vm_dir_file(e->dir, VM_FILE_CONSOLE, path, sizeof(path)) == 0
			? open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600)
			: -1;
	if (f->fd < 0) {
		free(f);
		return api_fail(err, 404, "vm_not_found", "id", "VM %s is being deleted", e->id);
	}
	/* Where the stream starts: offset, or the oldest kept byte. */
	if (console_log_read(f->fd, offset, &c, 0, start, &len) < 0)
		*start = offset;
	f->offset = *start;
	f->conn = conn;
	pthread_mutex_lock(&h.lock);
	if (!h.open || h.closing) {
		pthread_mutex_unlock(&h.lock);
		close(f->fd);
		free(f);
		return api_fail(err, 503, "shutting_down", "",
				"pinvmd is stopping; follow the next one");
	}
	/* One watch per log, shared by its followers (inotify hands back the
	 * same wd for the same file). */
	if (h.ifd >= 0)
		f->wd = inotify_add_watch(h.ifd, path, IN_MODIFY | IN_CLOSE_WRITE);
	f->e = vm_entry_get(e);
	f->next = h.head;
	if (h.head)
		h.head->prev = f;
	h.head = f;
	h.n++;
	pthread_mutex_unlock(&h.lock);
	*out = f;
	return 0;
}

/* Whether the VM is over: it writes no more console. */
static bool vm_ended(struct vm_entry *e)
{
	bool ended;

	pthread_mutex_lock(&e->lock);
	ended = e->ending || e->state == VM_STOPPED || e->state == VM_FAILED;
	pthread_mutex_unlock(&e->lock);
	return ended;
}

ssize_t console_follow_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct console_follower *f = cls;
	uint64_t start;
	size_t len = 0;
	bool ended;

	(void)pos;
	pthread_mutex_lock(&h.lock);
	/* Looked at before the read: once ended, the read sees every byte. */
	ended = h.closing || vm_ended(f->e);
	if (console_log_read(f->fd, f->offset, buf, max, &start, &len) < 0 ||
	    start != f->offset) {
		/* Bytes this stream owes were dropped (or the log cannot be
		 * read): cut it; the client resumes with ?offset=. */
		pthread_mutex_unlock(&h.lock);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (len) {
		f->offset += len;
		pthread_mutex_unlock(&h.lock);
		return (ssize_t)len;
	}
	if (ended) {
		pthread_mutex_unlock(&h.lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* Under the lock, so a wake-up resumes it only after. */
	f->suspended = true;
	MHD_suspend_connection(f->conn);
	pthread_mutex_unlock(&h.lock);
	return 0;
}

void console_follow_free(void *cls)
{
	struct console_follower *f = cls;
	bool shared = false;

	pthread_mutex_lock(&h.lock);
	if (f->prev)
		f->prev->next = f->next;
	else if (h.head == f)
		h.head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	h.n--;
	for (struct console_follower *o = h.head; o && !shared; o = o->next)
		shared = o->wd == f->wd;
	if (f->wd >= 0 && !shared && h.ifd >= 0)
		inotify_rm_watch(h.ifd, f->wd);
	pthread_mutex_unlock(&h.lock);
	close(f->fd);
	vm_entry_put(f->e);
	free(f);
}
