#include "events.h"

#include "event_log.h"
#include "log.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Recent frames kept in memory: a subscriber within this many events of
 * the newest reads them without touching SQLite. */
#define RING 1024
/* What one fill of a subscriber's buffer takes at most, so a resuming
 * subscriber far behind does not hold the hub long. */
#define FILL_BYTES (64 * 1024)
#define FILL_EVENTS 256

struct ring_slot {
	uint64_t id; /* 0: empty */
	char type[EVENT_TYPE_MAX + 1];
	char vm[EVENT_VM_ID_MAX + 1];
	char *frame;
};

struct events_sub {
	struct MHD_Connection *conn;
	struct event_query q;
	uint64_t cursor;    /* every event up to this id was looked at */
	bool suspended;     /* by its reader, waiting for hub_resume */
	bool heartbeat_due;
	char *buf;          /* frames queued for the connection */
	size_t len, off, cap;
	struct events_sub *prev, *next;
};

static struct hub {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* the heartbeat's sleep; broadcast to stop it */
	bool open, closing, stop_heartbeat;
	struct event_log *log;
	uint64_t first, last;  /* ids the history holds (first = last + 1: none) */
	struct ring_slot ring[RING];
	struct events_sub *subs;
	unsigned nsubs;
	unsigned heartbeat_s;
	unsigned history;      /* what a client may resume from: the newest */
	pthread_t heartbeat;
} hub = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* Call with hub.lock: wakes s if its reader suspended it. */
static void hub_resume(struct events_sub *s)
{
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
}

static void *heartbeat(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hub.lock);
	while (!hub.stop_heartbeat) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += hub.heartbeat_s;
		while (!hub.stop_heartbeat &&
		       pthread_cond_timedwait(&hub.cond, &hub.lock, &until) != ETIMEDOUT)
			;
		for (struct events_sub *s = hub.subs; s && !hub.stop_heartbeat; s = s->next) {
			s->heartbeat_due = true;
			hub_resume(s);
		}
	}
	pthread_mutex_unlock(&hub.lock);
	return NULL;
}

int events_open(const char *state_dir, unsigned history, unsigned heartbeat_s,
		char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&hub.lock);
	if (hub.open) {
		pthread_mutex_unlock(&hub.lock);
		snprintf(err, errlen, "the event hub is open already");
		return -EBUSY;
	}
	ret = event_log_open(state_dir, history, &hub.log, &hub.first, &hub.last, err,
			     errlen);
	if (ret < 0) {
		pthread_mutex_unlock(&hub.lock);
		return ret;
	}
	hub.heartbeat_s = heartbeat_s ? heartbeat_s : 1;
	hub.history = history ? history : 1;
	hub.closing = hub.stop_heartbeat = false;
	{
		sigset_t all, old;

		/* Signals are pinvmd's main thread's to take (sigwait). */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		ret = pthread_create(&hub.heartbeat, NULL, heartbeat, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (ret) {
		event_log_close(hub.log);
		hub.log = NULL;
		pthread_mutex_unlock(&hub.lock);
		snprintf(err, errlen, "cannot start the event heartbeat: %s", strerror(ret));
		return -ret;
	}
	hub.open = true;
	pthread_mutex_unlock(&hub.lock);
	return 0;
}

void events_close(void)
{
	pthread_mutex_lock(&hub.lock);
	if (!hub.open) {
		pthread_mutex_unlock(&hub.lock);
		return;
	}
	hub.open = false;
	hub.closing = true;
	hub.stop_heartbeat = true;
	pthread_cond_broadcast(&hub.cond);
	pthread_mutex_unlock(&hub.lock);
	pthread_join(hub.heartbeat, NULL);
	pthread_mutex_lock(&hub.lock);
	event_log_close(hub.log);
	hub.log = NULL;
	for (size_t i = 0; i < RING; i++) {
		free(hub.ring[i].frame);
		memset(&hub.ring[i], 0, sizeof(hub.ring[i]));
	}
	pthread_mutex_unlock(&hub.lock);
}

/* "2026-11-30T09:00:00.123Z" */
static void now_rfc3339(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

/* The SSE frame of an event: "id: N\nevent: T\ndata: {json}\n\n". */
static char *make_frame(uint64_t id, const char *type, const char *vm_id, json_t *fields)
{
	char when[32], *text, *frame = NULL;
	json_t *data;

	now_rfc3339(when);
	data = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "type", type, "time", when);
	if (!data)
		return NULL;
	if (vm_id && json_object_set_new(data, "vm_id", json_string(vm_id)))
		goto out;
	if (fields && json_object_update(data, fields))
		goto out;
	/* Compact JSON has no newline, so one data: line carries it. */
	text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text && asprintf(&frame, "id: %llu\nevent: %s\ndata: %s\n\n",
			     (unsigned long long)id, type, text) < 0)
		frame = NULL;
	free(text);
out:
	json_decref(data);
	return frame;
}

uint64_t events_publish(const char *type, const char *vm_id, json_t *fields)
{
	char err[256], *frame;
	struct ring_slot *slot;
	uint64_t id = 0, first;

	if (!event_type_valid(type) || (vm_id && strlen(vm_id) > EVENT_VM_ID_MAX) ||
	    (fields && !json_is_object(fields))) {
		log_msg(LOG_ERROR, "event %s: not publishable", type ? type : "(null)");
		json_decref(fields);
		return 0;
	}
	pthread_mutex_lock(&hub.lock);
	if (!hub.open)
		goto out;
	frame = make_frame(hub.last + 1, type, vm_id, fields);
	if (!frame) {
		log_msg(LOG_ERROR, "event %s: out of memory", type);
		goto out;
	}
	id = ++hub.last;
	if (event_log_append(hub.log, id, type, vm_id ? vm_id : "", frame, &first, err,
			     sizeof(err)) < 0)
		log_msg(LOG_ERROR, "event %llu (%s) is not kept for resumption: %s",
			(unsigned long long)id, type, err);
	else
		hub.first = first;
	slot = &hub.ring[id % RING];
	free(slot->frame);
	slot->id = id;
	slot->frame = frame;
	snprintf(slot->type, sizeof(slot->type), "%s", type);
	snprintf(slot->vm, sizeof(slot->vm), "%s", vm_id ? vm_id : "");
	for (struct events_sub *s = hub.subs; s; s = s->next)
		hub_resume(s);
out:
	pthread_mutex_unlock(&hub.lock);
	json_decref(fields);
	return id;
}

void events_end_streams(void)
{
	pthread_mutex_lock(&hub.lock);
	hub.closing = true;
	for (struct events_sub *s = hub.subs; s; s = s->next)
		hub_resume(s);
	pthread_mutex_unlock(&hub.lock);
}

unsigned events_subscribers(void)
{
	unsigned n;

	pthread_mutex_lock(&hub.lock);
	n = hub.nsubs;
	pthread_mutex_unlock(&hub.lock);
	return n;
}

static bool queue_text(struct events_sub *s, const char *text)
{
	size_t n = strlen(text);

	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *p;

		while (cap < s->len + n)
			cap *= 2;
		p = realloc(s->buf, cap);
		if (!p)
			return false;
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, text, n);
	s->len += n;
	return true;
}

/* One event for s (from the ring or the history): queued if it passes
 * the filters. Non-zero stops the walk (buffer full, or no memory). */
static int offer(void *arg, uint64_t id, const char *type, const char *vm_id,
		 const char *frame)
{
	struct events_sub *s = arg;

	if (event_query_matches(&s->q, type, vm_id) && !queue_text(s, frame))
		return -1;
	s->cursor = id;
	return s->len >= FILL_BYTES;
}

/*
 * Call with hub.lock and s's buffer empty: queues the events after
 * s->cursor. false when s can no longer be served (its events were
 * pruned while it lagged, or memory ran out): its stream ends.
 */
static bool fill(struct events_sub *s)
{
	char err[256];

	while (s->cursor < hub.last && s->len < FILL_BYTES) {
		uint64_t want = s->cursor + 1;
		struct ring_slot *slot = &hub.ring[want % RING];

		if (want < hub.first && hub.ring[want % RING].id != want)
			return false;
		if (slot->id == want) {
			if (offer(s, want, slot->type, slot->vm, slot->frame) < 0)
				return false;
			continue;
		}
		if (event_log_read(hub.log, s->cursor, FILL_EVENTS, offer, s, err,
				   sizeof(err)) < 0) {
			log_msg(LOG_ERROR, "event stream: %s", err);
			return false;
		}
		/* Nothing read, though events are missing from the ring: gone. */
		if (s->cursor < want)
			return false;
	}
	return true;
}

ssize_t events_sub_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct events_sub *s = cls;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&hub.lock);
	if (s->off == s->len) {
		s->off = s->len = 0;
		if (hub.open && !fill(s)) {
			pthread_mutex_unlock(&hub.lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (!s->len && s->heartbeat_due && !queue_text(s, ": heartbeat\n\n")) {
			pthread_mutex_unlock(&hub.lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		s->heartbeat_due = false;
	}
	if (s->off == s->len) {
		if (hub.closing) {
			pthread_mutex_unlock(&hub.lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		/* Under the hub's lock, so a publisher resumes it only after. */
		s->suspended = true;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&hub.lock);
		return 0;
	}
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	pthread_mutex_unlock(&hub.lock);
	return (ssize_t)n;
}

void events_sub_free(void *cls)
{
	struct events_sub *s = cls;

	pthread_mutex_lock(&hub.lock);
	if (s->prev)
		s->prev->next = s->next;
	else if (hub.subs == s)
		hub.subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	hub.nsubs--;
	pthread_mutex_unlock(&hub.lock);
	free(s->buf);
	free(s);
}

/* Call with hub.lock. */
static uint64_t oldest_kept(void)
{
	uint64_t oldest = hub.last >= hub.history ? hub.last - hub.history + 1 : 1;

	return hub.first > oldest ? hub.first : oldest;
}

int events_subscribe(const struct event_query *q, struct MHD_Connection *conn,
		     struct events_sub **out, struct api_error *err)
{
	struct events_sub *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	s->conn = conn;
	s->q = *q;
	pthread_mutex_lock(&hub.lock);
	if (!hub.open || hub.closing) {
		pthread_mutex_unlock(&hub.lock);
		free(s);
		return api_fail(err, 503, "shutting_down", "",
				"pinvmd is stopping; subscribe to the next one");
	}
	/* The database prunes in batches and may hold a few more: the
	 * history promised is exactly the newest `history` events. */
	if (q->resume && (q->after > hub.last || q->after + 1 < oldest_kept())) {
		uint64_t first = oldest_kept(), last = hub.last;

		pthread_mutex_unlock(&hub.lock);
		free(s);
		char holds[64];

		if (last >= first)
			snprintf(holds, sizeof(holds), "it holds %llu..%llu",
				 (unsigned long long)first, (unsigned long long)last);
		else
			snprintf(holds, sizeof(holds), "it is empty");
		return api_fail(err, 410, "events_gone", "last_event_id",
				"event %llu is not in the history (%s): list the "
				"resources again (GET /v1/vms), then subscribe without "
				"Last-Event-ID", (unsigned long long)q->after, holds);
	}
	s->cursor = q->resume ? q->after : hub.last;
	/* The first bytes send the headers at once; retry: tells browsers'
	 * EventSource how soon to reconnect. */
	if (!queue_text(s, "retry: 2000\n\n")) {
		pthread_mutex_unlock(&hub.lock);
		free(s);
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	}
	s->next = hub.subs;
	if (hub.subs)
		hub.subs->prev = s;
	hub.subs = s;
	hub.nsubs++;
	pthread_mutex_unlock(&hub.lock);
	*out = s;
	return 0;
}
