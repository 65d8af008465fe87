/*
 * The shutdown and reboot actions (issue 14) end to end through pinvmd on
 * a machine without KVM: the VMs are fake-vmm processes (the control
 * protocol without a guest) adopted from seeded records. What pinvm-vmm
 * does with KVM for them is tested in the lab (test_lab_vms.c). Also: a
 * second POST with the same Idempotency-Key while the first is still in
 * flight (held by fake-vmm) is 409 idempotency_in_progress.
 * usage: test_lifecycle_native PINVMD FAKE_VMM
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "fake_vm.h"
#include "fake_vm_record.h"
#include "sse.h"
#include "store.h"
#include "vmm_client.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 20000

static struct client c;
static char state[128], logpath[160];
static int port;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

/* POST an action; the status, and the answer's JSON in *out (may be NULL). */
static long act(const char *id, const char *body, const char *header, json_t **out,
		char *replayed)
{
	char path[128];
	struct response r;
	long status;

	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	client_call(&c, "POST", path, NULL, body, strlen(body), header, &r);
	status = r.status;
	if (out)
		*out = r.json ? json_incref(r.json) : NULL;
	if (replayed)
		snprintf(replayed, 16, "%s", r.replayed);
	if (status >= 300)
		fprintf(stderr, "# POST %s %s: %ld %s\n", path, body, status, r.body ?: "");
	response_free(&r);
	return status;
}

/* GET with ?wait_for=stopped: the VM once it ended (or NULL). */
static json_t *wait_stopped(const char *id)
{
	char path[160];

	snprintf(path, sizeof(path), "/v1/vms/%s?wait_for=stopped&timeout=15", id);
	return client_get_json(&c, path);
}

struct held_post {
	pthread_t thread;
	long status;
	json_t *answer;
};

static void *first_post(void *arg)
{
	struct held_post *h = arg;

	h->status = act("held", "{\"action\":\"pause\"}", "Idempotency-Key: pause-1", &h->answer,
			NULL);
	return NULL;
}

/* Bounded wait for a file (fake-vmm's "an op arrived" mark). */
/* Waits until fake-vmm says an op is held in dir (fake:hold=DIR writes
 * DIR/held.PID). */
static bool wait_held(const char *dir)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		DIR *d = opendir(dir);
		struct dirent *e;
		bool found = false;

		while (d && (e = readdir(d)) != NULL)
			found |= !strncmp(e->d_name, "held.", 5);
		if (d)
			closedir(d);
		if (found)
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/pinvm-life-XXXXXX";
	char path[300], err[256], listen_spec[64], hold[300], release[320], cmd[400], rep[16];
	struct vmm_client btn, deaf, rb, hv;
	struct store *s;
	struct sse ev;
	json_t *o;
	pid_t pid;
	int status;

	if (argc != 3 || !mkdtemp(tmpdir))
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	mkdir(state, 0700);
	snprintf(path, sizeof(path), "%s/vms", state);
	mkdir(path, 0700);
	port = daemon_free_port();
	snprintf(listen_spec, sizeof(listen_spec), "tcp:127.0.0.1:%d", port);
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
	snprintf(hold, sizeof(hold), "%s/hold", tmpdir);
	mkdir(hold, 0700);
	snprintf(release, sizeof(release), "%s/release", hold);

	if (store_open(state, &s, err, sizeof(err)) < 0) {
		check(false, "open the store", "%s", err);
		return check_summary();
	}
	snprintf(cmd, sizeof(cmd), "console=ttyS0 fake:hold=%s", hold);
	check(fake_vm_left_running(argv[2], state, "btn", "console=ttyS0", s, &btn) &&
		      fake_vm_left_running(argv[2], state, "deaf", "console=ttyS0 fake:ignore-button", s, &deaf) &&
		      fake_vm_left_running(argv[2], state, "rb", "console=ttyS0", s, &rb) &&
		      fake_vm_left_running(argv[2], state, "held", cmd, s, &hv),
	      "four live VMs (fake-vmm)", "no fake-vmm");
	store_close(s);
	{
		const char *args[] = { "--listen", listen_spec, "--state-dir", state, NULL };

		pid = daemon_spawn(argv[1], args, logpath);
	}
	if (!check(daemon_wait_tcp(port, pid), "pinvmd starts", "see %s", logpath))
		return check_summary();
	check(sse_open(&ev, port, "/v1/events?type=vm.state", NULL, WAIT_MS) && ev.status == 200,
	      "a subscriber to vm.state", "%ld", ev.status);

	/* Bad bodies name the field; nothing happens to the VM. */
	o = NULL;
	check(act("btn", "{\"action\":\"shutdown\",\"timeout_s\":0}", NULL, &o, NULL) == 422 &&
		      !strcmp(str(o, "code"), "out_of_range") && !strcmp(str(o, "field"), "timeout_s"),
	      "shutdown with timeout_s 0: 422 out_of_range timeout_s", "-");
	json_decref(o);
	o = NULL;
	check(act("btn", "{\"action\":\"shutdown\",\"timeout_s\":\"9\"}", NULL, &o, NULL) == 400 &&
		      !strcmp(str(o, "code"), "wrong_type") && !strcmp(str(o, "field"), "timeout_s"),
	      "shutdown with a string timeout_s: 400 wrong_type timeout_s", "-");
	json_decref(o);
	o = NULL;
	check(act("btn", "{\"action\":\"reboot\",\"timeout_s\":9}", NULL, &o, NULL) == 422 &&
		      !strcmp(str(o, "code"), "unknown_field") && !strcmp(str(o, "field"), "timeout_s"),
	      "reboot with a timeout_s: 422 unknown_field timeout_s", "-");
	json_decref(o);

	/* A guest that handles the button: 202, then it ends "shutdown". */
	o = NULL;
	check(act("btn", "{\"action\":\"shutdown\",\"timeout_s\":10}", NULL, &o, NULL) == 202,
	      "shutdown: 202 (the button is pressed)", "-");
	json_decref(o);
	o = wait_stopped("btn");
	check(o && !strcmp(str(o, "state"), "stopped") && !strcmp(str(o, "exit_reason"), "shutdown"),
	      "it ends stopped, exit_reason shutdown", "%s %s", str(o, "state"),
	      str(o, "exit_reason"));
	json_decref(o);
	o = NULL;
	check(act("btn", "{\"action\":\"shutdown\"}", NULL, &o, NULL) == 409 &&
		      !strcmp(str(o, "code"), "illegal_transition"),
	      "shutdown of a stopped VM: 409 illegal_transition", "-");
	json_decref(o);

	/* One that does not: the timeout ends it, and says so. */
	check(act("deaf", "{\"action\":\"shutdown\",\"timeout_s\":1}", NULL, NULL, NULL) == 202,
	      "shutdown of a guest without a handler: 202", "-");
	o = wait_stopped("deaf");
	check(o && !strcmp(str(o, "state"), "stopped") &&
		      !strcmp(str(o, "exit_reason"), "shutdown_timeout"),
	      "after timeout_s it is stopped: exit_reason shutdown_timeout", "%s %s",
	      str(o, "state"), str(o, "exit_reason"));
	json_decref(o);

	/* reboot: the same process, a counter, an event. */
	{
		json_t *before = NULL, *after = NULL;
		struct response r;

		client_call(&c, "GET", "/v1/vms/rb", NULL, NULL, 0, NULL, &r);
		before = r.json ? json_incref(r.json) : NULL;
		response_free(&r);
		check(act("rb", "{\"action\":\"reboot\"}", NULL, &after, NULL) == 200 &&
			      json_integer_value(json_object_get(after, "reboots")) == 1 &&
			      !strcmp(str(after, "state"), "running"),
		      "reboot: 200, running, reboots 1", "-");
		check(json_integer_value(json_object_get(before, "vmm_pid")) > 0 &&
			      json_integer_value(json_object_get(before, "vmm_pid")) ==
				      json_integer_value(json_object_get(after, "vmm_pid")) &&
			      json_integer_value(json_object_get(before, "reboots")) == 0,
		      "the same pinvm-vmm before and after", "-");
		json_decref(after);
		after = NULL;
		check(act("rb", "{\"action\":\"reboot\"}", NULL, &after, NULL) == 200 &&
			      json_integer_value(json_object_get(after, "reboots")) == 2,
		      "a second reboot: reboots 2", "-");
		json_decref(before);
		json_decref(after);
	}
	{
		bool seen = false;
		struct sse_event e;

		/* btn and deaf stopped; then rb's two reboots. */
		for (int i = 0; i < 8 && !seen; i++) {
			if (sse_next(&ev, WAIT_MS, &e) != 1)
				break;
			seen = !strcmp(json_string_value(json_object_get(e.data, "vm_id")) ?: "",
				       "rb") &&
			       !strcmp(json_string_value(json_object_get(e.data, "reason")) ?: "",
				       "reboot") &&
			       json_integer_value(json_object_get(e.data, "reboots")) == 1;
			sse_event_clear(&e);
		}
		check(seen, "vm.state with reason reboot and the count", "-");
	}

	/* Two POSTs with one Idempotency-Key: the second while the first is
	 * held in fake-vmm is 409; after it, the first answer is replayed. */
	{
		struct held_post h = { .status = 0 };
		int fd;

		check(pthread_create(&h.thread, NULL, first_post, &h) == 0, "the first POST", "-");
		check(wait_held(hold), "it reached pinvm-vmm and is held there", "nothing in %s", hold);
		o = NULL;
		check(act("held", "{\"action\":\"pause\"}", "Idempotency-Key: pause-1", &o, NULL) ==
				      409 &&
			      !strcmp(str(o, "code"), "idempotency_in_progress") &&
			      !strcmp(str(o, "field"), "Idempotency-Key"),
		      "the same POST meanwhile: 409 idempotency_in_progress", "%s", str(o, "code"));
		json_decref(o);
		fd = open(release, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0)
			close(fd);
		pthread_join(h.thread, NULL);
		check(h.status == 200 && !strcmp(str(h.answer, "state"), "paused"),
		      "the first completes: 200 paused", "%ld", h.status);
		o = NULL;
		check(act("held", "{\"action\":\"pause\"}", "Idempotency-Key: pause-1", &o, rep) ==
				      200 &&
			      !strcmp(str(o, "state"), "paused") && !strcmp(rep, "true"),
		      "the retry after it: the first answer, replayed", "%s", rep);
		json_decref(o);
		json_decref(h.answer);
	}
	sse_close(&ev);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	{
		struct vmm_client *all[] = { &btn, &deaf, &rb, &hv };

		for (size_t i = 0; i < 4; i++) {
			kill(all[i]->pid, SIGKILL);
			waitpid(all[i]->pid, &status, 0);
		}
	}
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
