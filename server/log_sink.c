#include "log_sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

/* 1 MiB: about 40 ms of request lines at 130k requests/s. */
#define SINK_SIZE ((size_t)1 << 20)
/* The thread gathers lines this long after the first, or until a quarter
 * of the ring is full, then writes them in one call: waking it for every
 * line cost a switch per request, and under load the p99 rose instead of
 * falling (tests/bench/load.sh). */
#define GATHER_NS 5000000L
#define GATHER_BYTES (SINK_SIZE / 4)

/* ring[head, head + len) (mod SINK_SIZE) is what the thread has yet to
 * write; writers fill after it, the thread takes from head. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more; /* len left 0 or reached GATHER_BYTES; stopping */
	pthread_cond_t room; /* the thread wrote some out */
	size_t head, len;
	bool running, stopping;
	pthread_t thread;
	char ring[SINK_SIZE];
} sink = { .lock = PTHREAD_MUTEX_INITIALIZER,
	   .more = PTHREAD_COND_INITIALIZER,
	   .room = PTHREAD_COND_INITIALIZER };

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* a[0, na) then b[0, nb) in one call when it can: a line that wraps the
 * ring stays whole beside other writers of the file (pinvm-vmm's). */
static void write_two(const char *a, size_t na, const char *b, size_t nb)
{
	struct iovec v[2] = { { (void *)a, na }, { (void *)b, nb } };
	ssize_t w;

	do
		w = writev(STDERR_FILENO, v, nb ? 2 : 1);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return;
	if ((size_t)w < na) {
		write_all(a + w, na - (size_t)w);
		write_all(b, nb);
	} else {
		write_all(b + ((size_t)w - na), nb - ((size_t)w - na));
	}
}

/* Under the lock, with n bytes of room. */
static void put(const char *p, size_t n)
{
	size_t tail = (sink.head + sink.len) % SINK_SIZE;
	size_t first = n < SINK_SIZE - tail ? n : SINK_SIZE - tail;

	memcpy(sink.ring + tail, p, first);
	memcpy(sink.ring, p + first, n - first);
	sink.len += n;
}

void log_sink_line(const char *text, size_t n)
{
	bool fits = n + 1 <= SINK_SIZE;

	pthread_mutex_lock(&sink.lock);
	while (sink.running && fits && SINK_SIZE - sink.len < n + 1)
		pthread_cond_wait(&sink.room, &sink.lock);
	if (!sink.running || !fits) {
		/* Behind whatever is buffered, and whole. */
		while (sink.running && sink.len)
			pthread_cond_wait(&sink.room, &sink.lock);
		write_two(text, n, "\n", 1);
		pthread_mutex_unlock(&sink.lock);
		return;
	}
	if (!sink.len || (sink.len < GATHER_BYTES && sink.len + n + 1 >= GATHER_BYTES))
		pthread_cond_signal(&sink.more);
	put(text, n);
	put("\n", 1);
	pthread_mutex_unlock(&sink.lock);
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sink.lock);
	for (;;) {
		size_t n, first, head;

		while (!sink.len && !sink.stopping)
			pthread_cond_wait(&sink.more, &sink.lock);
		if (!sink.len) {
			/* Under the lock with the buffer empty: from now on
			 * lines go direct, none is left behind. */
			sink.running = false;
			pthread_cond_broadcast(&sink.room);
			break;
		}
		if (!sink.stopping && sink.len < GATHER_BYTES) {
			struct timespec t;

			clock_gettime(CLOCK_MONOTONIC, &t);
			t.tv_nsec += GATHER_NS;
			if (t.tv_nsec >= 1000000000L) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&sink.more, &sink.lock, &t);
		}
		/* Writers only fill beyond head + len: what is taken here
		 * stays untouched while it is written without the lock. */
		n = sink.len;
		head = sink.head;
		first = n < SINK_SIZE - sink.head ? n : SINK_SIZE - sink.head;
		pthread_mutex_unlock(&sink.lock);
		write_two(sink.ring + head, first, sink.ring, n - first);
		pthread_mutex_lock(&sink.lock);
		sink.head = (sink.head + n) % SINK_SIZE;
		sink.len -= n;
		pthread_cond_broadcast(&sink.room);
	}
	pthread_mutex_unlock(&sink.lock);
	return NULL;
}

int log_sink_start(void)
{
	pthread_condattr_t a;
	int ret;

	pthread_mutex_lock(&sink.lock);
	if (sink.running || sink.stopping) {
		pthread_mutex_unlock(&sink.lock);
		return -EALREADY;
	}
	/* The gathering's deadline on the monotonic clock. Nobody waits on
	 * "more" before the thread exists. */
	ret = -pthread_condattr_init(&a);
	if (!ret) {
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_destroy(&sink.more);
		ret = -pthread_cond_init(&sink.more, &a);
		pthread_condattr_destroy(&a);
	}
	if (!ret)
		ret = -pthread_create(&sink.thread, NULL, writer, NULL);
	if (!ret)
		sink.running = true;
	pthread_mutex_unlock(&sink.lock);
	return ret;
}

void log_sink_stop(void)
{
	pthread_mutex_lock(&sink.lock);
	if (!sink.running || sink.stopping) {
		pthread_mutex_unlock(&sink.lock);
		return;
	}
	sink.stopping = true;
	pthread_cond_signal(&sink.more);
	pthread_mutex_unlock(&sink.lock);
	pthread_join(sink.thread, NULL);
}
