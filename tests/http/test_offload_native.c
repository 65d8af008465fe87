/*
 * Slow VM operations hold no request thread (issue 16): 16 VMs (fake-vmm,
 * re-adopted from seeded records) are each asked to pause at once, and
 * each fake-vmm holds its answer until the test releases it. pinvmd has
 * 4 request threads; before slow requests were answered off them, at
 * most 4 pauses got through and every other request waited behind them.
 * Asserted: all 16 pauses reach their VMs together; GET /v1/host answers
 * while all of them are still held (a starvation detector, no timing
 * claim); once released, every pause answers 200 "paused"; a drain
 * waits for held actions and answers them.
 * usage: test_offload_native PINVMD FAKE_VMM
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "fake_vm.h"
#include "store.h"
#include "vmm_client.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
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

#define NVMS 16

static struct client c;
static char hold_dir[160];
static atomic_int answered;

struct pauser {
	pthread_t t;
	char id[16];
	long status;
	char state[32];
};

static void *pause_vm(void *arg)
{
	static const char body[] = "{\"action\":\"pause\"}";
	struct pauser *p = arg;
	struct response r;
	char path[64];

	snprintf(path, sizeof(path), "/v1/vms/%s/actions", p->id);
	client_call(&c, "POST", path, NULL, body, strlen(body), NULL, &r);
	atomic_fetch_add(&answered, 1);
	p->status = r.status;
	snprintf(p->state, sizeof(p->state), "%s", response_str(&r, "state") ?: "");
	if (r.status != 200)
		fprintf(stderr, "# pause %s: %ld %s\n", p->id, r.status, r.body ? r.body : "");
	response_free(&r);
	return NULL;
}

/* fake-vmm processes holding a pause now. */
static int held(void)
{
	DIR *d = opendir(hold_dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL)
		n += !strncmp(e->d_name, "held.", 5);
	if (d)
		closedir(d);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits, up to 60 s, until want fake-vmm processes hold a pause. */
static int wait_held(int want)
{
	double end = now_s() + 60;
	int n;

	while ((n = held()) < want && now_s() < end && atomic_load(&answered) == 0)
		poll(NULL, 0, 20);
	return n;
}

static void release(void)
{
	char path[200];
	int fd;

	snprintf(path, sizeof(path), "%s/release", hold_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static void seed(struct store *s, const char *id)
{
	char err[256];
	json_t *doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s}, s:n, s:s, s:s, s:s, s:i}",
				"id", id, "created_at", "2026-11-25T00:00:00Z", "spec",
				"vcpus", 1, "memory_mib", 64, "kernel", "guest.Image", "abi",
				"profile", "", "state", "running", "reason", "", "pid", 4242);

	check(store_vm_put(s, id, doc, err, sizeof(err)) == 0, "seed a record", "%s", err);
	json_decref(doc);
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/pinvm-offload-XXXXXX", ready[160];
	char state[128], images[128], logpath[160], listen_spec[64], dir[256], err[256];
	char cmdline[256];
	struct vmm_client vms[NVMS];
	struct pauser p[NVMS];
	struct response r;
	struct store *s;
	int port, status, n, ok = 0, early;
	pid_t pid;

	if (argc != 3 || !mkdtemp(tmpdir))
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(images, sizeof(images), "%s/images", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	snprintf(hold_dir, sizeof(hold_dir), "%s/hold", tmpdir);
	mkdir(state, 0700);
	mkdir(images, 0755);
	mkdir(hold_dir, 0700);
	snprintf(dir, sizeof(dir), "%s/vms", state);
	mkdir(dir, 0700);
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0 fake:hold=%s", hold_dir);
	/* Port 0: the port pinvmd took is read from its ready file. */
	snprintf(listen_spec, sizeof(listen_spec), "tcp:127.0.0.1:0");
	snprintf(ready, sizeof(ready), "%s/ready", tmpdir);

	if (store_open(state, &s, err, sizeof(err)) < 0) {
		check(false, "open the store", "%s", err);
		return check_summary();
	}
	memset(vms, 0, sizeof(vms));
	for (int i = 0; i < NVMS; i++) {
		snprintf(p[i].id, sizeof(p[i].id), "vm%02d", i);
		snprintf(dir, sizeof(dir), "%s/vms/%s", state, p[i].id);
		mkdir(dir, 0700);
		if (!fake_vm_spawn_running_cmdline(argv[2], dir, cmdline, &vms[i])) {
			check(false, "a live VM (fake-vmm)", "%s", p[i].id);
			return check_summary();
		}
		seed(s, p[i].id);
	}
	store_close(s);
	{
		const char *args[] = { "--listen", listen_spec, "--state-dir", state, "--image-dir",
				       images, "--ready-file", ready, NULL };

		pid = daemon_spawn(argv[1], args, logpath);
	}
	port = daemon_wait_ready(ready, pid);
	if (!check(port > 0, "pinvmd starts", "see %s", logpath))
		return check_summary();
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);

	for (int i = 0; i < NVMS; i++)
		pthread_create(&p[i].t, NULL, pause_vm, &p[i]);
	n = wait_held(NVMS);
	check(n == NVMS, "16 pauses reach their VMs at once (4 request threads)",
	      "%d held, %d answered", n, atomic_load(&answered));
	{
		double t0 = now_s();

		client_call(&c, "GET", "/v1/host", NULL, NULL, 0, NULL, &r);
		early = atomic_load(&answered);
		check(r.status != 0 && early == 0,
		      "GET /v1/host answers while every pause is held",
		      "status %ld after %.1f s, %d pauses answered first", r.status,
		      now_s() - t0, early);
		response_free(&r);
	}
	release();
	for (int i = 0; i < NVMS; i++) {
		pthread_join(p[i].t, NULL);
		ok += p[i].status == 200 && !strcmp(p[i].state, "paused");
	}
	check(ok == NVMS, "once released, every pause answers 200 paused", "%d of %d", ok,
	      NVMS);

	/* A drain waits for a held action and answers it before pinvmd ends. */
	{
		char path[200];
		struct pauser q = { .id = "vm00" };
		static const char resume[] = "{\"action\":\"resume\"}";

		client_call(&c, "POST", "/v1/vms/vm00/actions", NULL, resume, strlen(resume), NULL,
			    &r);
		check(r.status == 200, "vm00 resumes", "%ld", r.status);
		response_free(&r);
		snprintf(path, sizeof(path), "%s/release", hold_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/held.%d", hold_dir, (int)vms[0].pid);
		unlink(path);
		atomic_store(&answered, 0);
		pthread_create(&q.t, NULL, pause_vm, &q);
		n = wait_held(NVMS);
		check(n == NVMS, "a pause is held again", "%d held", n);
		kill(pid, SIGTERM);
		/* pinvmd now drains: it answers the held pause once released. */
		check(atomic_load(&answered) == 0, "SIGTERM does not cut the held pause", "-");
		release();
		pthread_join(q.t, NULL);
		check(q.status == 200 && !strcmp(q.state, "paused"),
		      "the drain answers the held pause: 200 paused", "%ld %s", q.status, q.state);
		waitpid(pid, &status, 0);
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pinvmd ends cleanly",
		      "status %d", status);
	}
	for (int i = 0; i < NVMS; i++) {
		if (vms[i].pid > 0) {
			kill(vms[i].pid, SIGKILL);
			waitpid(vms[i].pid, &status, 0);
		}
	}
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
