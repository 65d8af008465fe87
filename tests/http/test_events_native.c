/*
 * GET /v1/events on a machine without KVM: the VMs are fake-vmm processes
 * re-adopted from seeded records (as in test_records_native), so every
 * event is a real one: a VM found dead at start-up, pause/resume/stop of a
 * live one, DELETE. Checks ids, fields, filters, resumption with
 * Last-Event-ID (also across a restart), 410 beyond the history, the bad
 * inputs, the SIGTERM drain ending streams, and 200 idle subscribers
 * beside a request benchmark (figures printed, never judged). Every wait
 * is for an event, bounded; nothing sleeps.
 * usage: test_events_native PINVMD FAKE_VMM
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "fake_vm.h"
#include "sse.h"
#include "store.h"
#include "vmm_client.h"
#include "vmm_config.h"
#include "vmm_control.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 30000 /* generous: the suite also runs under load */
#define SUBSCRIBERS 200

static struct client c;
static char state[128], logpath[160], listen_spec[64];
static const char *pinvmd;
static int port;

static void seed(struct store *s, const char *id, const char *st)
{
	char err[256];
	json_t *doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s}, s:n, s:s, s:s, s:s, s:i}",
				"id", id, "created_at", "2026-11-25T00:00:00Z", "spec",
				"vcpus", 1, "memory_mib", 64, "kernel", "guest.Image", "abi",
				"profile", "", "state", st, "reason", "", "pid", 4242);

	check(store_vm_put(s, id, doc, err, sizeof(err)) == 0, "seed a record", "%s", err);
	json_decref(doc);
}

static void vm_dir(const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/vms/%s", state, id);
	mkdir(out, 0700);
}

static pid_t start(void)
{
	const char *args[] = { "--listen", listen_spec, "--state-dir", state,
			       "--event-history", "8", "--max-connections", "1024",
			       "--max-connections-per-peer", "0", NULL };
	pid_t pid = daemon_spawn(pinvmd, args, logpath);

	if (!daemon_wait_tcp(port, pid))
		return -1;
	return pid;
}

static long call(const char *method, const char *path, const char *body)
{
	struct response r;
	long status;

	client_call(&c, method, path, NULL, body, body ? strlen(body) : 0, NULL, &r);
	status = r.status;
	response_free(&r);
	return status;
}

static long action(const char *id, const char *what)
{
	char path[128], body[64];

	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	snprintf(body, sizeof(body), "{\"action\":\"%s\"}", what);
	return call("POST", path, body);
}

static const char *str(const struct sse_event *ev, const char *key)
{
	const char *v = json_string_value(json_object_get(ev->data, key));

	return v ? v : "";
}

/* The next event on s, which must be of type about vm_id with state (NULL:
 * any); returns its id, or 0 after reporting what came instead. */
static unsigned long long expect_event(struct sse *s, const char *name, const char *type,
				       const char *vm_id, const char *st)
{
	struct sse_event ev;
	int r = sse_next(s, WAIT_MS, &ev);
	bool ok = r == 1 && !strcmp(ev.type, type) && !strcmp(str(&ev, "type"), type) &&
		  (!vm_id || !strcmp(str(&ev, "vm_id"), vm_id)) &&
		  (!st || !strcmp(str(&ev, "state"), st)) &&
		  json_integer_value(json_object_get(ev.data, "id")) == (json_int_t)ev.id &&
		  ev.id > 0;
	unsigned long long id = ev.id;
	char *text = ev.data ? json_dumps(ev.data, JSON_COMPACT) : NULL;

	check(ok, name, "got %d %s %s", r, ev.type, text ? text : "");
	free(text);
	sse_event_clear(&ev);
	return ok ? id : 0;
}

static bool refused(const char *target, const char *header, long status, const char *code,
		    const char *field)
{
	struct sse s;
	json_t *body;
	bool ok;

	if (!sse_open(&s, port, target, header, WAIT_MS))
		return false;
	body = s.body ? json_loads(s.body, 0, NULL) : NULL;
	ok = s.status == status && !strcmp(s.content_type, "application/problem+json") &&
	     !strcmp(json_string_value(json_object_get(body, "code")) ?: "", code) &&
	     !strcmp(json_string_value(json_object_get(body, "field")) ?: "", field);
	if (!ok)
		fprintf(stderr, "# %s: %ld %s\n", target, s.status, s.body ? s.body : "");
	json_decref(body);
	sse_close(&s);
	return ok;
}

/* The request benchmark: threads GETting /v1/health on kept-alive
 * connections for a fixed time. */
struct bench {
	atomic_ulong done, failed;
	atomic_bool stop;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void *bench_thread(void *arg)
{
	struct bench *b = arg;
	char url[300];
	CURL *h = curl_easy_init();

	snprintf(url, sizeof(url), "%s/v1/health", c.base);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	while (!atomic_load(&b->stop)) {
		long code = 0;

		if (curl_easy_perform(h) == CURLE_OK &&
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
			atomic_fetch_add(&b->done, 1);
		else
			atomic_fetch_add(&b->failed, 1);
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* Requests per second over secs with nthreads clients; *failed counts
 * the answers that were not 200. */
static double bench_run(int nthreads, int secs, unsigned long *failed)
{
	struct bench b = { 0 };
	pthread_t t[8];
	struct timespec t0, t1, until;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, bench_thread, &b);
	until = t0;
	until.tv_sec += secs;
	/* The one sleep here is the measuring window itself. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL))
		;
	atomic_store(&b.stop, true);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*failed = atomic_load(&b.failed);
	return (double)atomic_load(&b.done) /
	       ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/pinvm-events-XXXXXX";
	char dir[256], path[300], err[256], hdr[64], target[128];
	static struct sse subs[SUBSCRIBERS];
	struct vmm_client live, live2;
	struct vmm_event ev = { .type = VMM_EVENT_EXITED, .reason = VMM_EXIT_POWEROFF };
	struct vmm_error verr;
	struct sse a, b, d, e;
	struct sse_event got;
	unsigned long long id1, id2, last, seen;
	struct store *s;
	pid_t pid;
	int status, n;

	if (argc != 3 || !mkdtemp(tmpdir))
		return 2;
	pinvmd = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	mkdir(state, 0700);
	snprintf(path, sizeof(path), "%s/vms", state);
	mkdir(path, 0700);
	port = daemon_free_port();
	snprintf(listen_spec, sizeof(listen_spec), "tcp:127.0.0.1:%d", port);
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);

	if (store_open(state, &s, err, sizeof(err)) < 0) {
		check(false, "open the store", "%s", err);
		return check_summary();
	}
	vm_dir("live", dir, sizeof(dir));
	check(fake_vm_spawn_running(argv[2], dir, &live), "a live VM (fake-vmm)", "no fake-vmm");
	seed(s, "live", "running");
	vm_dir("live2", dir, sizeof(dir));
	check(fake_vm_spawn_running(argv[2], dir, &live2), "a second live VM", "no fake-vmm");
	seed(s, "live2", "running");
	vm_dir("vanished", dir, sizeof(dir));
	seed(s, "vanished", "running");
	vm_dir("ended", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	vmm_exit_file_write(path, &ev, &verr);
	seed(s, "ended", "paused");
	store_close(s);

	pid = start();
	if (!check(pid > 0, "pinvmd starts on the left-over state", "see %s", logpath))
		return check_summary();

	/* What happened while no pinvmd watched: the first two events. */
	check(sse_open(&a, port, "/v1/events?last_event_id=0", NULL, WAIT_MS) &&
		      a.status == 200 && !strcmp(a.content_type, "text/event-stream"),
	      "GET /v1/events?last_event_id=0: 200 text/event-stream", "%ld %s", a.status,
	      a.content_type);
	for (int i = 0; i < 2; i++) {
		n = sse_next(&a, WAIT_MS, &got);
		if (!strcmp(str(&got, "vm_id"), "vanished"))
			check(got.id >= 1 && got.id <= 2 && !strcmp(str(&got, "state"), "failed") &&
				      !strcmp(str(&got, "previous"), "running") &&
				      !strcmp(str(&got, "cause"), "pinvmd_restart") &&
				      json_is_true(json_object_get(got.data, "while_pinvmd_down")),
			      "a VM gone while pinvmd was down: vm.state failed, cause pinvmd_restart",
			      "%d %s", n, str(&got, "reason"));
		else
			check(n == 1 && !strcmp(str(&got, "vm_id"), "ended") &&
				      !strcmp(str(&got, "state"), "stopped") &&
				      !strcmp(str(&got, "previous"), "paused") &&
				      !strcmp(str(&got, "cause"), "poweroff") &&
				      strstr(str(&got, "reason"), "poweroff") &&
				      json_is_true(json_object_get(got.data, "while_pinvmd_down")),
			      "a VM that powered off meanwhile: vm.state stopped, cause poweroff",
			      "%d %s %s", n, str(&got, "vm_id"), str(&got, "reason"));
		sse_event_clear(&got);
	}

	/* Live, with filters. */
	check(sse_open(&b, port, "/v1/events?vm=live&type=vm.state", NULL, WAIT_MS) &&
		      b.status == 200, "a subscriber filtered by vm and type", "%ld", b.status);
	check(sse_open(&d, port, "/v1/events?type=vm.deleted", NULL, WAIT_MS) && d.status == 200,
	      "a subscriber filtered by type", "%ld", d.status);
	check(sse_open(&e, port, "/v1/events?type=vm.", NULL, WAIT_MS) && e.status == 200,
	      "a subscriber to a type family (vm.)", "%ld", e.status);
	check(action("live2", "pause") == 200, "pause live2", "see %s", logpath);
	check(action("live", "pause") == 200, "pause live", "see %s", logpath);
	id1 = expect_event(&a, "live2 paused: vm.state paused", "vm.state", "live2", "paused");
	id2 = expect_event(&a, "live paused: the next event", "vm.state", "live", "paused");
	check(id1 == 3 && id2 == 4, "event ids go up by one from the history's", "%llu %llu",
	      id1, id2);
	check(expect_event(&b, "the vm filter skips live2's event", "vm.state", "live",
			   "paused") == id2, "it has the same id as for everyone", "-");
	check(expect_event(&e, "the family filter passes vm.state", "vm.state", "live2",
			   "paused") == id1, "the family subscriber sees live2 first", "-");
	check(call("DELETE", "/v1/vms/vanished", NULL) == 204, "DELETE vanished: 204", "-");
	last = expect_event(&d, "the type filter passes only vm.deleted", "vm.deleted", "vanished",
			    NULL);
	check(last == id2 + 1, "vm.deleted has the next id", "%llu", last);
	expect_event(&a, "everyone else sees vm.deleted too", "vm.deleted", "vanished", NULL);

	/* Resumption: a subscriber that was away gets what it missed, once. */
	sse_close(&a);
	check(action("live", "resume") == 200, "resume live while a client is away", "-");
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %llu", last);
	check(sse_open(&a, port, "/v1/events", hdr, WAIT_MS) && a.status == 200,
	      "reconnect with Last-Event-ID", "%ld", a.status);
	seen = expect_event(&a, "the missed event comes first", "vm.state", "live", "running");
	check(seen == last + 1, "with the id after the last one seen", "%llu", seen);
	expect_event(&b, "the filtered subscriber sees live running", "vm.state", "live", "running");
	check(action("live", "stop") == 200, "stop live", "see %s", logpath);
	last = expect_event(&a, "stop: vm.state stopped", "vm.state", "live", "stopped");
	{
		struct sse_event x;

		n = sse_next(&b, WAIT_MS, &x);
		check(n == 1 && !strcmp(str(&x, "cause"), "stopped") &&
			      !strcmp(str(&x, "previous"), "running"),
		      "the stopped event says cause stopped, previous running", "%d %s", n,
		      str(&x, "cause"));
		sse_event_clear(&x);
	}
	check(waitpid(live.pid, &status, 0) == live.pid, "live's fake-vmm ended", "-");

	/* The drain ends every stream at once; the history outlives pinvmd. */
	kill(pid, SIGTERM);
	check(sse_wait_end(&a, WAIT_MS) && sse_wait_end(&b, WAIT_MS) &&
		      sse_wait_end(&d, WAIT_MS) && sse_wait_end(&e, WAIT_MS),
	      "SIGTERM ends every event stream", "one stayed open");
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "pinvmd drains and exits 0", "status 0x%x", status);
	sse_close(&a);
	sse_close(&b);
	sse_close(&d);
	sse_close(&e);
	pid = start();
	check(pid > 0, "pinvmd starts again", "see %s", logpath);
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %llu", last - 1);
	check(sse_open(&a, port, "/v1/events", hdr, WAIT_MS) && a.status == 200,
	      "after a restart, Last-Event-ID resumes from the stored history", "%ld", a.status);
	check(expect_event(&a, "the stored event comes back", "vm.state", "live", "stopped") ==
		      last, "with its id", "-");
	check(action("live2", "resume") == 200, "resume live2 after the restart", "-");
	check(expect_event(&a, "new events continue the ids", "vm.state", "live2", "running") ==
		      last + 1, "the id after the last before the restart", "-");
	last++;

	/* 200 idle subscribers: none holds a request thread, all get the event. */
	{
		unsigned long f0 = 0, f1 = 0;
		double before = bench_run(2, 2, &f0), after;
		int opened = 0, delivered = 0;

		for (int i = 0; i < SUBSCRIBERS; i++)
			opened += sse_open(&subs[i], port, "/v1/events", NULL, WAIT_MS) &&
				  subs[i].status == 200;
		check(opened == SUBSCRIBERS, "200 subscribers are held open", "%d opened", opened);
		after = bench_run(2, 2, &f1);
		printf("# GET /v1/health, 2 clients, 2 s: %.0f req/s with no subscriber, "
		       "%.0f req/s with %d idle subscribers (%.0f%%)\n", before, after,
		       SUBSCRIBERS, before > 0 ? 100.0 * after / before : 0.0);
		check(f0 == 0 && f1 == 0 && after > 0,
		      "every benchmark request is answered while they wait", "%lu, %lu failed", f0,
		      f1);
		check(action("live2", "pause") == 200, "pause live2 with 200 subscribers", "-");
		last++;
		for (int i = 0; i < SUBSCRIBERS; i++) {
			struct sse_event x;

			if (sse_next(&subs[i], WAIT_MS, &x) == 1 && x.id == last)
				delivered++;
			sse_event_clear(&x);
		}
		check(delivered == SUBSCRIBERS, "each of the 200 gets the event", "%d did",
		      delivered);
	}

	/* Beyond the history (8 events): 410, telling the client to re-list. */
	for (int i = 0; i < 5; i++) {
		check(action("live2", "resume") == 200 && action("live2", "pause") == 200,
		      "more events", "-");
		last += 2;
	}
	expect_event(&a, "the old subscriber keeps up", "vm.state", "live2", "paused");
	check(refused("/v1/events?last_event_id=1", NULL, 410, "events_gone", "last_event_id"),
	      "last_event_id older than the history: 410 events_gone", "see stderr");
	snprintf(target, sizeof(target), "/v1/events?last_event_id=%llu", last + 100);
	check(refused(target, NULL, 410, "events_gone", "last_event_id"),
	      "last_event_id newer than any event: 410 events_gone", "see stderr");
	snprintf(target, sizeof(target), "/v1/events?last_event_id=%llu", last - 7);
	{
		struct sse x;

		check(sse_open(&x, port, target, NULL, WAIT_MS) && x.status == 200 &&
			      expect_event(&x, "the oldest kept event", "vm.state", "live2", NULL) ==
				      last - 6,
		      "the oldest event kept still resumes", "%ld", x.status);
		sse_close(&x);
	}
	check(refused("/v1/events", "Last-Event-ID: 12x", 400, "bad_last_event_id",
		      "Last-Event-ID"), "Last-Event-ID: 12x: 400 naming the header", "-");
	check(refused("/v1/events?last_event_id=1", "Last-Event-ID: 2", 400, "conflicting_resume",
		      "last_event_id"), "header and parameter disagree: 400", "-");
	check(refused("/v1/events?last_event_id=-1", NULL, 400, "bad_last_event_id",
		      "last_event_id"), "last_event_id=-1: 400", "-");
	check(refused("/v1/events?type=VM.State", NULL, 400, "bad_event_type", "type"),
	      "type=VM.State: 400 bad_event_type", "-");
	check(refused("/v1/events?vm=../x", NULL, 400, "bad_vm_id", "vm"),
	      "vm=../x: 400 bad_vm_id", "-");
	check(refused("/v1/events?since=1", NULL, 400, "unknown_parameter", "since"),
	      "an unknown parameter: 400 naming it", "-");

	kill(pid, SIGTERM);
	n = 0;
	for (int i = 0; i < SUBSCRIBERS; i++)
		n += sse_wait_end(&subs[i], WAIT_MS);
	check(n == SUBSCRIBERS && sse_wait_end(&a, WAIT_MS),
	      "SIGTERM ends 200 streams", "%d ended", n);
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "and pinvmd exits 0", "status 0x%x", status);
	for (int i = 0; i < SUBSCRIBERS; i++)
		sse_close(&subs[i]);
	sse_close(&a);
	kill(live2.pid, SIGKILL);
	waitpid(live2.pid, &status, 0);
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
