/*
 * VM records across pinvmd restarts, on a machine without KVM. The records
 * are seeded in the store as a pinvmd that died would have left them; the
 * one live VM is fake-vmm (the control protocol without KVM, served by the
 * same vmm_control.c as pinvm-vmm) listening on the VM's control socket.
 * pinvmd must re-adopt it, tell why each other VM ended, keep every record
 * across kill -9, and drop a record only on DELETE.
 * usage: test_records_native PINVMD FAKE_VMM
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "fake_vm.h"
#include "store.h"
#include "vmm_client.h"
#include "vmm_config.h"
#include "vmm_control.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct client c;
static char tmpdir[] = "/tmp/pinvm-records-XXXXXX";
static char state[128], logpath[160], listen_spec[64];
static const char *pinvmd;
static int port;

static void seed(struct store *s, const char *id, const char *st, const char *reason)
{
	char err[256];
	json_t *doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s}, s:n, s:s, s:s, s:s, s:i}",
				"id", id, "created_at", "2026-11-25T00:00:00Z", "spec",
				"vcpus", 1, "memory_mib", 64, "kernel", "guest.Image", "abi",
				"profile", "", "state", st, "reason", reason, "pid", 4242);

	check(store_vm_put(s, id, doc, err, sizeof(err)) == 0, "seed a record", "%s", err);
	json_decref(doc);
}

static void vm_dir(const char *id, char *out, size_t len)
{
	snprintf(out, len, "%s/vms/%s", state, id);
	mkdir(out, 0700);
}

static pid_t start_with(const char *flag)
{
	const char *args[] = { "--listen", listen_spec, "--state-dir", state, flag, NULL };
	static int starts;
	pid_t pid;

	/* One log per start, so a failure's "see LOG" is that pinvmd's. */
	snprintf(logpath, sizeof(logpath), "%s/pinvmd-%d.log", tmpdir, ++starts);
	pid = daemon_spawn(pinvmd, args, logpath);

	if (!daemon_wait_tcp(port, pid))
		return -1;
	return pid;
}

static pid_t start(void)
{
	return start_with(NULL);
}

/* waitpid() for at most secs (a hung child fails the check that asked,
 * instead of hanging the suite); returns pid, or 0 after SIGKILLing it. */
static pid_t wait_child(pid_t pid, int secs, int *status)
{
	for (int i = 0; i < secs * 50; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return pid;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return 0;
}

static void stop(pid_t pid, int sig)
{
	int status;

	kill(pid, sig);
	waitpid(pid, &status, 0);
}

/*
 * Whether every thread of pid but the main one blocks SIGTERM and SIGINT
 * (SigBlk in /proc/PID/task/TID/status). pinvmd takes them with sigwait; a thread
 * started before the mask was set (a re-adopted VM's supervisor) would
 * let a SIGTERM end the process at once, stopping nothing. *threads says
 * how many threads were read.
 */
static bool all_threads_block_term(pid_t pid, unsigned *threads)
{
	char path[64];
	DIR *d;
	struct dirent *t;
	bool ok = true;

	*threads = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((t = readdir(d)) != NULL) {
		char status[320], line[256];
		unsigned long long blk = 0;
		bool found = false;
		FILE *f;

		/* The main thread waits in sigwait, which unblocks what it waits
		 * for while it waits: that is where SIGTERM must go. */
		if (t->d_name[0] == '.' || atoi(t->d_name) == (int)pid)
			continue;
		snprintf(status, sizeof(status), "/proc/%d/task/%s/status", (int)pid, t->d_name);
		f = fopen(status, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				found = true;
		if (f)
			fclose(f);
		if (!found)
			continue; /* the thread ended meanwhile */
		(*threads)++;
		ok &= (blk >> (SIGTERM - 1) & 1) && (blk >> (SIGINT - 1) & 1);
	}
	closedir(d);
	return ok && *threads > 0;
}

static bool has(const char *id, const char *want_state, const char *reason_part)
{
	json_t *o = client_get_vm(&c, id);
	const char *st = json_string_value(json_object_get(o, "state"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	bool ok = st && !strcmp(st, want_state) &&
		  (!reason_part || (reason && strstr(reason, reason_part)));

	if (!ok)
		fprintf(stderr, "# %s: state %s, reason %s\n", id, st ? st : "-",
			reason ? reason : "-");
	json_decref(o);
	return ok;
}

static long action(const char *id, const char *what)
{
	char path[128], body[64];
	struct response r;
	long status;

	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	snprintf(body, sizeof(body), "{\"action\":\"%s\"}", what);
	client_call(&c, "POST", path, NULL, body, strlen(body), NULL, &r);
	status = r.status;
	response_free(&r);
	return status;
}

static long delete_vm(const char *id)
{
	char path[128];
	struct response r;
	long status;

	snprintf(path, sizeof(path), "/v1/vms/%s", id);
	client_call(&c, "DELETE", path, NULL, NULL, 0, NULL, &r);
	status = r.status;
	response_free(&r);
	return status;
}

int main(int argc, char **argv)
{
	char dir[256], path[300], err[256];
	struct vmm_client live, live2;
	struct vmm_event ev = { .type = VMM_EVENT_EXITED, .reason = VMM_EXIT_POWEROFF };
	struct vmm_error verr;
	struct store *s;
	json_t *o, *list = NULL;
	pid_t pid;
	int status;

	if (argc != 3 || !mkdtemp(tmpdir))
		return 2;
	pinvmd = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	mkdir(state, 0700);
	snprintf(path, sizeof(path), "%s/vms", state);
	mkdir(path, 0700);
	port = daemon_free_port();
	snprintf(listen_spec, sizeof(listen_spec), "tcp:127.0.0.1:%d", port);
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);

	/* What a pinvmd killed mid-flight leaves behind. */
	if (store_open(state, &s, err, sizeof(err)) < 0) {
		check(false, "open the store", "%s", err);
		return check_summary();
	}
	vm_dir("live", dir, sizeof(dir));
	check(fake_vm_spawn_running(argv[2], dir, &live), "a live VM waits on its control socket",
	      "fake-vmm did not start");
	seed(s, "live", "running", "");
	vm_dir("live2", dir, sizeof(dir));
	check(fake_vm_spawn_running(argv[2], dir, &live2), "a second live VM", "fake-vmm did not start");
	seed(s, "live2", "running", "");
	vm_dir("vanished", dir, sizeof(dir));
	seed(s, "vanished", "running", "");
	vm_dir("ended", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	vmm_exit_file_write(path, &ev, &verr);
	seed(s, "ended", "paused", "");
	vm_dir("half", dir, sizeof(dir));
	seed(s, "half", "creating", "");
	vm_dir("done", dir, sizeof(dir));
	seed(s, "done", "stopped", "poweroff");
	{
		json_t *bad = json_pack("{s:s}", "id", "broken"); /* no spec */

		store_vm_put(s, "broken", bad, err, sizeof(err));
		json_decref(bad);
	}
	store_close(s);

	pid = start();
	if (!check(pid > 0, "pinvmd starts on the left-over state", "see %s", logpath))
		return check_summary();
	o = client_get_vm(&c, "live");
	check(has("live", "running", NULL) &&
		      json_integer_value(json_object_get(o, "vmm_pid")) == live.pid,
	      "the live VM is re-adopted: running, its pinvm-vmm's pid", "vmm_pid %lld, fake %ld",
	      (long long)json_integer_value(json_object_get(o, "vmm_pid")), (long)live.pid);
	json_decref(o);
	check(action("live", "pause") == 200 && has("live", "paused", NULL),
	      "the re-adopted VM obeys pause", "see %s", logpath);
	check(has("vanished", "failed", "left no exit record"),
	      "a VM gone without a trace: failed, saying so", "see stderr");
	check(has("ended", "stopped", "poweroff (while pinvmd was not running)"),
	      "a VM that powered off meanwhile: stopped, with its reason", "see stderr");
	check(has("half", "failed", "while creating"),
	      "a VM whose creation was cut short: failed", "see stderr");
	check(has("done", "stopped", "poweroff"), "a stopped VM stays stopped", "see stderr");
	check(client_get_vm(&c, "broken") == NULL, "an unusable record is not served", "it is");

	/* kill -9: nothing is lost, and the VM is taken over again. */
	stop(pid, SIGKILL);
	pid = start();
	check(pid > 0 && has("live", "paused", NULL),
	      "after kill -9 the VM is re-adopted again, paused as it was", "see %s", logpath);
	check(has("vanished", "failed", "left no exit record") &&
		      has("ended", "stopped", "poweroff") && has("half", "failed", NULL) &&
		      has("done", "stopped", "poweroff"),
	      "after kill -9 every record is back with its reason", "see stderr");

	/* DELETE is the only way out. */
	check(delete_vm("live") == 204 && delete_vm("vanished") == 204,
	      "DELETE a re-adopted and a failed VM: 204", "see %s", logpath);
	check(wait_child(live.pid, 60, &status) == live.pid && WIFSIGNALED(status) &&
		      WTERMSIG(status) == SIGKILL,
	      "DELETE ended the re-adopted pinvm-vmm", "status 0x%x", status);
	snprintf(path, sizeof(path), "%s/vms/live", state);
	check(access(path, F_OK) != 0, "and removed its directory", "%s is there", path);
	stop(pid, SIGKILL);
	pid = start();
	check(pid > 0 && client_get_vm(&c, "live") == NULL && client_get_vm(&c, "vanished") == NULL &&
		      has("ended", "stopped", NULL) && has("done", "stopped", NULL),
	      "after another kill -9: deleted VMs stay deleted, the rest stay", "see %s",
	      logpath);
	stop(pid, SIGTERM);
	check(kill(live2.pid, 0) == 0, "SIGTERM left the other VM running", "it is gone");

	/* Told to, pinvmd stops its VMs on the way out, and records it. */
	pid = start_with("--stop-vms-on-exit");
	check(pid > 0 && has("live2", "running", NULL), "live2 is re-adopted", "see %s", logpath);
	{
		unsigned n = 0;
		bool blocked = all_threads_block_term(pid, &n);

		check(blocked, "every pinvmd thread blocks SIGTERM (its supervisor included), so "
		      "sigwait takes it", "pid %d: %u threads read", (int)pid, n);
	}
	stop(pid, SIGTERM);
	check(wait_child(live2.pid, 60, &status) == live2.pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "--stop-vms-on-exit: SIGTERM stops the VM (pinvm-vmm exits 0)", "status 0x%x",
	      status);
	pid = start();
	check(pid > 0 && has("live2", "stopped", "stopped"),
	      "and its record says stopped", "see %s", logpath);
	stop(pid, SIGTERM);
	if (check(store_open(state, &s, err, sizeof(err)) == 0, "the store opens", "%s", err)) {
		int ret = store_vm_list(s, &list, err, sizeof(err));

		check(ret == 0 && json_array_size(list) == 5,
		      "the store holds the 5 records left, the unusable one included",
		      "%d %s: %zu records", ret, ret ? err : "", json_array_size(list));
		json_decref(list);
		store_close(s);
	}
	/* A failure points at pinvmd's log: keep it. */
	if (check_failures())
		printf("# kept %s\n", tmpdir);
	else if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
