/*
 * kill -9 in the middle of a snapshot and of a restore, in the lab
 * (issue 10, item 4): of pinvmd, and separately of the VM's pinvm-vmm.
 *
 *   test_lab_snapkill URL CONTROL
 *
 * The kill lands mid-operation because the process is stopped there, at
 * a named point (vmm/test_hold.h): pinvmd is restarted once with
 * PINVM_TEST_HOLD_DIR, the test arms a point, starts the request, waits
 * for the point's file to appear (the process is there now), kills, and
 * restarts pinvmd where that is the case. The guest is the periodic probe
 * (1 vCPU): a Linux boot would prove nothing more here, and its rounds
 * show that a resumed or restored guest carries on.
 *
 * After each kill: the source VM is intact (pinvmd killed: re-adopted
 * paused and resumable, its rounds go on; its pinvm-vmm killed: reported
 * ended by signal 9), GET /v1/snapshots lists what it listed before, no
 * half-written or unlisted directory is left under the state directory,
 * and a restore target leaves no half VM (no VM record or a failed one
 * saying why, and no pinvm-vmm process). The snapshot taken first still
 * restores at the end. Last, the same holds serve a reset: the reboot
 * action meeting a vCPU stopped between an MMIO exit and its completion.
 */
#include "check.h"
#include "client.h"
#include "probe_rounds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOLDS "/run/pinvm-holds"
#define STATE "/var/lib/pinvm"
#define ROUND_TIMEOUT_S 120

static struct client c, ctl;

/* lab_sh's output as a number (the first line), or -1. */
static long lab_num(const char *cmd)
{
	char *out = client_lab_sh(&ctl, cmd);
	long v = out && *out >= '0' && *out <= '9' ? strtol(out, NULL, 10) : -1;

	free(out);
	return v;
}

/*
 * Waits until pinvmd answers and has read this host's firmware registers
 * (a restore needs them): under ASan on a loaded host its first read can
 * miss its own time limit, and pinvmd tries again on the next request.
 */
static bool pinvmd_up(int seconds)
{
	double t0 = client_now();

	if (!client_api_up(&c, seconds))
		return false;
	while (client_now() - t0 < seconds + 300) {
		json_t *regs = client_get_json(&c, "/v1/host/firmware-registers");

		json_decref(regs);
		if (regs)
			return true;
		usleep(500000);
	}
	return false;
}

/* 1 when pid runs in the lab (a zombie does not), else 0. */
static long alive(long pid)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "[ -e /proc/%ld ] && ! grep -q '^State:.*Z' /proc/%ld/status "
		 "&& echo 1 || echo 0", pid, pid);
	return lab_num(cmd);
}

/* Starts pinvmd as the lab's /init did, with the stopping points on, its
 * log into /run/pinvmd-snapkill.log (appended) for the test to read. */
static void pinvmd_spawn(void)
{
	free(client_lab_sh(&ctl, "mkdir -p " HOLDS "; "
		    "[ -f /etc/lab/asan ] && . /etc/lab/asan && export ASAN_OPTIONS UBSAN_OPTIONS; "
		    "PINVM_TEST_HOLD_DIR=" HOLDS " setsid /usr/bin/pinvmd $(cat /run/pinvmd.args) "
		    "</dev/null >>/run/pinvmd-snapkill.log 2>&1 & echo started"));
}

static void arm(const char *point)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -f " HOLDS "/%s; touch " HOLDS "/%s.arm; echo ok", point,
		 point);
	free(client_lab_sh(&ctl, cmd));
}

/* Waits (up to 120 s) until point is reached; the pid held there or -1. */
static long held(const char *point)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "for i in $(seq 1 1200); do [ -s " HOLDS "/%s ] && break; usleep 100000; done; "
		 "cat " HOLDS "/%s 2>/dev/null || echo none", point, point);
	return lab_num(cmd);
}

static void release(const char *point)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -f " HOLDS "/%s " HOLDS "/%s.arm; echo ok", point, point);
	free(client_lab_sh(&ctl, cmd));
}

/* A request on its own thread, so the test can kill while it waits. */
struct bg {
	pthread_t t;
	char method[8], path[128], *body;
	struct response r;
};

static void *bg_run(void *arg)
{
	struct bg *b = arg;

	client_call(&c, b->method, b->path, NULL, b->body, b->body ? strlen(b->body) : 0, NULL,
		    &b->r);
	return NULL;
}

static void bg_start(struct bg *b, const char *method, const char *path, const char *body)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->method, sizeof(b->method), "%s", method);
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->body = body ? strdup(body) : NULL;
	if (pthread_create(&b->t, NULL, bg_run, b) != 0)
		b->r.status = -1;
}

static void bg_end(struct bg *b)
{
	if (b->r.status != -1)
		pthread_join(b->t, NULL);
	free(b->body);
}

static const char *state_of(const char *id, char *reason, size_t len)
{
	static char st[32];
	json_t *vm = client_get_vm(&c, id);

	snprintf(st, sizeof(st), "%s", vm ? json_string_value(json_object_get(vm, "state")) ?: "-"
					 : "gone");
	if (reason)
		snprintf(reason, len, "%s",
			 vm ? json_string_value(json_object_get(vm, "reason")) ?: "" : "");
	json_decref(vm);
	return st;
}

static long vmm_pid(const char *id)
{
	json_t *vm = client_get_vm(&c, id);
	long pid = vm ? (long)json_integer_value(json_object_get(vm, "vmm_pid")) : 0;

	json_decref(vm);
	return pid;
}

static size_t count_of(const char *path, const char *member)
{
	json_t *doc = client_get_json(&c, path);
	size_t n = json_array_size(json_object_get(doc, member));

	json_decref(doc);
	return n;
}

/* Entries under STATE/snapshots and STATE/vms, as "snapshots vms". */
static void on_disk(char *out, size_t len)
{
	char *s = client_lab_sh(&ctl, "echo $(ls -A " STATE "/snapshots | wc -l) $(ls -A " STATE
			 "/vms | wc -l)");

	snprintf(out, len, "%s", s ? s : "?");
	if (strchr(out, '\n'))
		*strchr(out, '\n') = '\0';
	free(s);
}

/* Waits until the probe's console shows a round after `after`. */
static unsigned wait_round_after(const char *id, unsigned after)
{
	double t0 = client_now();

	while (client_now() - t0 < ROUND_TIMEOUT_S) {
		char *s = client_console(&c, id);
		unsigned last = s ? probe_round_last(s, 0) : 0;

		free(s);
		if (last > after)
			return last;
		usleep(500000);
	}
	return 0;
}

static unsigned last_round(const char *id)
{
	char *s = client_console(&c, id);
	unsigned last = s ? probe_round_last(s, 0) : 0;

	free(s);
	return last;
}

static long act(const char *id, const char *what)
{
	char path[128];
	struct response r;
	long st;

	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	st = client_json(&c, "POST", path, json_pack("{s:s}", "action", what), &r);
	response_free(&r);
	return st;
}

static char *create_probe(void)
{
	struct response r;
	char *id = NULL;

	client_json(&c, "POST", "/v1/vms",
	     json_pack("{s:i, s:i, s:s, s:n}", "vcpus", 1, "memory_mib", 64, "kernel",
		       CLIENT_PROBE_IMAGE, "initrd"), &r);
	if (r.status == 201 && response_str(&r, "id"))
		id = strdup(response_str(&r, "id"));
	check(id != NULL, "create the probe guest", "%ld %s", r.status, r.body);
	response_free(&r);
	if (id)
		check(act(id, "start") == 200 && wait_round_after(id, 0) > 0,
		      "it starts and prints a round", "no round in %d s", ROUND_TIMEOUT_S);
	return id;
}

/* A create with "start": true whose pinvm-vmm is killed at its start:
 * all or nothing, the answer is the start's problem and no VM is left,
 * listed or on disk. */
static void start_killed(void)
{
	char disk[64], disk2[64], cmd[64];
	size_t listed = count_of("/v1/vms", "vms");
	struct bg b;
	long pid;

	on_disk(disk, sizeof(disk));
	arm("vmm-start");
	bg_start(&b, "POST", "/v1/vms",
		 "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"" CLIENT_PROBE_IMAGE
		 "\", \"start\": true}");
	pid = held("vmm-start");
	snprintf(cmd, sizeof(cmd), "kill -9 %ld && echo 1", pid);
	check(pid > 0 && lab_num(cmd) == 1, "kill -9 pinvm-vmm at the start of a create with "
	      "\"start\": true", "pid %ld", pid);
	release("vmm-start");
	bg_end(&b);
	check(b.r.status >= 400 && !strcmp(response_str(&b.r, "code") ?: "", "action_failed") &&
		      !response_str(&b.r, "vm_id"),
	      "the create answers the start's problem", "%ld %s", b.r.status, b.r.body);
	response_free(&b.r);
	on_disk(disk2, sizeof(disk2));
	check(count_of("/v1/vms", "vms") == listed && !strcmp(disk, disk2),
	      "and leaves no VM, listed or on disk", "%zu listed (were %zu); %s (were %s)",
	      count_of("/v1/vms", "vms"), listed, disk2, disk);
}

/* After pinvmd was killed during a snapshot of vm: paused, resumable, its
 * rounds go on; nothing new listed; nothing half-made on disk. */
static void source_intact(const char *vm, const char *when, size_t listed, const char *disk)
{
	char now[64], name[256];
	unsigned r0 = last_round(vm);

	on_disk(now, sizeof(now));
	snprintf(name, sizeof(name), "%s: GET /v1/snapshots lists what it did, nothing "
		 "half-made or unlisted on disk", when);
	check(count_of("/v1/snapshots", "snapshots") == listed && !strcmp(now, disk), name,
	      "%zu listed (were %zu); snapshots/ and vms/ entries: %s (were %s)",
	      count_of("/v1/snapshots", "snapshots"), listed, now, disk);
	snprintf(name, sizeof(name), "%s: the VM is re-adopted paused, resumes, its rounds go on",
		 when);
	check(!strcmp(state_of(vm, NULL, 0), "paused") && act(vm, "resume") == 200 &&
		      wait_round_after(vm, r0) > r0, name, "state %s, round %u",
	      state_of(vm, NULL, 0), last_round(vm));
}

/* How many times the probe started its rounds on id's console. */
static unsigned starts(const char *id)
{
	char *s = client_console(&c, id);
	unsigned n = 0;

	for (const char *p = s; p && (p = strstr(p, "pinvm-probe-round 1\n")) != NULL; p++)
		n++;
	free(s);
	return n;
}

/*
 * 6. The reboot action while the probe's vCPU is between an MMIO exit and
 * the KVM_RUN that completes it (held there): the reset must not leave
 * that access to KVM, which would finish it on the new boot's first
 * KVM_RUN and step the PC over the image's first instruction (the probe's
 * branch to its code). Seen once under load as a probe silent after a
 * reboot.
 */
static void reboot_mid_mmio(void)
{
	char path[160];
	struct bg b;
	char *id = create_probe();
	long vcpu, ctl_thread;
	double t0;
	unsigned n = 0;

	if (!id)
		return;
	arm("vmm-mmio-exit");
	vcpu = held("vmm-mmio-exit");
	arm("vmm-reboot");
	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	bg_start(&b, "POST", path, "{\"action\": \"reboot\"}");
	ctl_thread = held("vmm-reboot");
	check(vcpu > 0 && vcpu == vmm_pid(id) && ctl_thread == vcpu,
	      "reboot mid-MMIO: the reset is asked for while the vCPU holds an MMIO exit",
	      "vCPU held in %ld, reboot in %ld, the VM's pinvm-vmm %ld", vcpu, ctl_thread,
	      vmm_pid(id));
	release("vmm-mmio-exit");
	release("vmm-reboot");
	bg_end(&b);
	check(b.r.status == 200, "reboot mid-MMIO: the reboot answers 200", "%ld %s", b.r.status,
	      b.r.body);
	response_free(&b.r);
	t0 = client_now();
	while (client_now() - t0 < ROUND_TIMEOUT_S && (n = starts(id)) < 2)
		usleep(300000);
	check(n >= 2, "reboot mid-MMIO: the probe boots again and starts over at round 1",
	      "its rounds started %u time(s) in %d s", n, ROUND_TIMEOUT_S);
	snprintf(path, sizeof(path), "/v1/vms/%s", id);
	client_json(&c, "DELETE", path, NULL, &b.r);
	response_free(&b.r);
	free(id);
}

int main(int argc, char **argv)
{
	char path[160], body[320], disk[64], disk2[64], reason[512], *vm, *vm2, *sid = NULL, *err;
	char *known = NULL; /* GET /v1/vms before the restore pinvmd dies in */
	struct response r;
	struct bg b;
	size_t listed, vms;
	long pid;

	if (argc != 3) {
		fprintf(stderr, "usage: %s URL CONTROL\n", argv[0]);
		return 2;
	}
	snprintf(c.base, sizeof(c.base), "%s", argv[1]);
	snprintf(ctl.base, sizeof(ctl.base), "%s", argv[2]);
	err = client_lab_probe_image(&ctl);
	check(!err, "the probe guest's image is in the lab", "%s", err ? err : "");
	free(err);
	check(client_lab_pinvmd_end(&ctl, 15),
	      "pinvmd stops (SIGTERM) to come back with its stopping points", "it is still there");
	pinvmd_spawn();
	if (!check(pinvmd_up(120), "pinvmd runs with PINVM_TEST_HOLD_DIR",
		   "no API or no firmware registers"))
		return check_summary();
	vm = create_probe();
	vm2 = create_probe();
	if (!vm || !vm2)
		return check_summary();

	/* The snapshot every kill below must leave restorable. */
	snprintf(path, sizeof(path), "/v1/vms/%s/snapshot", vm);
	client_json(&c, "POST", path, NULL, &r);
	if (r.status == 201 && response_str(&r, "id"))
		sid = strdup(response_str(&r, "id"));
	check(sid != NULL, "a first snapshot of the running probe", "%ld %s", r.status, r.body);
	response_free(&r);
	if (!sid)
		return check_summary();
	listed = count_of("/v1/snapshots", "snapshots");
	on_disk(disk, sizeof(disk));

	/* 1. A VM's pinvm-vmm killed mid-snapshot (a VM this pinvmd made:
	 * its child, whose end by signal it can tell). */
	snprintf(path, sizeof(path), "/v1/vms/%s/snapshot", vm2);
	arm("vmm-snapshot-memory");
	bg_start(&b, "POST", path, NULL);
	pid = held("vmm-snapshot-memory");
	snprintf(body, sizeof(body), "kill -9 %ld && echo 1", pid);
	check(pid > 0 && lab_num(body) == 1, "kill -9 pinvm-vmm mid-snapshot", "pid %ld", pid);
	release("vmm-snapshot-memory");
	bg_end(&b);
	check(b.r.status == 500 && !strcmp(response_str(&b.r, "code") ?: "", "snapshot_failed"),
	      "the snapshot answers 500 snapshot_failed", "%ld %s", b.r.status, b.r.body);
	response_free(&b.r);
	state_of(vm2, reason, sizeof(reason));
	check((!strcmp(state_of(vm2, NULL, 0), "failed") ||
	       !strcmp(state_of(vm2, NULL, 0), "stopped")) && strstr(reason, "signal 9"),
	      "the VM is reported ended by signal 9", "%s: %s", state_of(vm2, NULL, 0), reason);
	on_disk(disk2, sizeof(disk2));
	check(count_of("/v1/snapshots", "snapshots") == listed && !strcmp(disk, disk2),
	      "nothing listed, nothing left on disk", "%zu listed (were %zu); %s (were %s)",
	      count_of("/v1/snapshots", "snapshots"), listed, disk2, disk);

	/* 2. pinvmd killed once pinvm-vmm wrote the state, before the
	 * manifest, the rename and the record. */
	snprintf(path, sizeof(path), "/v1/vms/%s/snapshot", vm);
	arm("snapshot-written");
	bg_start(&b, "POST", path, NULL);
	pid = held("snapshot-written");
	check(pid > 0 && pid == lab_num("pidof pinvmd"), "pinvmd stops with the state written",
	      "held by %ld", pid);
	check(client_lab_pinvmd_end(&ctl, 9), "kill -9 pinvmd there", "still there");
	release("snapshot-written");
	bg_end(&b);
	response_free(&b.r);
	pinvmd_spawn();
	check(pinvmd_up(120), "pinvmd starts again", "no API or no firmware registers");
	source_intact(vm, "pinvmd killed mid-snapshot", listed, disk);

	/* 3. pinvmd killed while pinvm-vmm writes guest RAM: the next pinvmd
	 * waits for the busy pinvm-vmm instead of writing its VM off. */
	arm("vmm-snapshot-memory");
	bg_start(&b, "POST", path, NULL);
	pid = held("vmm-snapshot-memory");
	check(pid > 0 && pid == vmm_pid(vm), "pinvm-vmm stops between RAM and vm.json",
	      "held by %ld, the VM's pinvm-vmm is %ld", pid, vmm_pid(vm));
	check(client_lab_pinvmd_end(&ctl, 9), "kill -9 pinvmd while pinvm-vmm writes", "still there");
	bg_end(&b);
	response_free(&b.r);
	{
		long before = lab_num("grep -c 'trying again' /run/pinvmd-snapkill.log || echo 0");

		pinvmd_spawn();
		/* Three attach timeouts is where a pinvm-vmm used to be written
		 * off: held past them, it must still be waited for. */
		snprintf(body, sizeof(body),
			 "for i in $(seq 1 1200); do [ $(grep -c 'trying again' "
			 "/run/pinvmd-snapkill.log) -gt %ld ] && break; usleep 100000; done; "
			 "grep -c 'trying again' /run/pinvmd-snapkill.log", before + 3);
		check(lab_num(body) > before + 3,
		      "the restarted pinvmd keeps trying the busy pinvm-vmm (4 attach timeouts)",
		      "fewer retries logged");
	}
	release("vmm-snapshot-memory");
	check(pinvmd_up(180), "it starts once the snapshot is done", "no API or no firmware registers");
	source_intact(vm, "pinvmd killed while pinvm-vmm wrote", listed, disk);

	/* 4. pinvmd killed while the restore's pinvm-vmm builds the VM: the
	 * next pinvmd ends it (it was never handed to a client). */
	snprintf(body, sizeof(body), "{\"snapshot\":\"%s\"}", sid);
	{
		json_t *list = client_get_json(&c, "/v1/vms");

		known = list ? json_dumps(list, JSON_COMPACT) : NULL;
		json_decref(list);
	}
	if (!known)
		known = strdup("");
	arm("vmm-restore-built");
	bg_start(&b, "POST", "/v1/vms", body);
	pid = held("vmm-restore-built");
	check(pid > 0, "the restore's pinvm-vmm stops with the VM built", "not reached");
	check(client_lab_pinvmd_end(&ctl, 9), "kill -9 pinvmd mid-restore", "still there");
	bg_end(&b);
	response_free(&b.r);
	pinvmd_spawn();
	check(pinvmd_up(180), "pinvmd starts again", "no API or no firmware registers");
	release("vmm-restore-built");
	{
		json_t *list = client_get_json(&c, "/v1/vms"), *v;
		size_t i, added = 0, half = 0;

		json_array_foreach(json_object_get(list, "vms"), i, v) {
			const char *id = json_string_value(json_object_get(v, "id")) ?: "";
			const char *st = json_string_value(json_object_get(v, "state")) ?: "";
			const char *why = json_string_value(json_object_get(v, "reason")) ?: "";

			if (strstr(known, id))
				continue;
			added++;
			if (strcmp(st, "failed") || !strstr(why, "pinvmd stopped while creating"))
				half++;
			snprintf(path, sizeof(path), "/v1/vms/%s", id);
			client_json(&c, "DELETE", path, NULL, &r);
			response_free(&r);
		}
		json_decref(list);
		check(added <= 1 && half == 0 && alive(pid) == 0,
		      "no half VM: at most a failed record saying why, its pinvm-vmm ended",
		      "%zu new VMs, %zu not failed-while-creating; pid %ld alive: %ld", added, half,
		      pid, alive(pid));
	}
	check(count_of("/v1/snapshots", "snapshots") == listed, "the snapshot is still listed",
	      "%zu listed (were %zu)", count_of("/v1/snapshots", "snapshots"), listed);

	/* 5. The restore's pinvm-vmm killed: an error answer, no VM record. */
	vms = count_of("/v1/vms", "vms");
	arm("vmm-restore-built");
	bg_start(&b, "POST", "/v1/vms", body);
	pid = held("vmm-restore-built");
	snprintf(path, sizeof(path), "kill -9 %ld && echo 1", pid);
	check(pid > 0 && lab_num(path) == 1, "kill -9 the restore's pinvm-vmm", "pid %ld", pid);
	release("vmm-restore-built");
	bg_end(&b);
	check(b.r.status == 500 && count_of("/v1/vms", "vms") == vms,
	      "the restore answers 500 and leaves no VM", "%ld %s; %zu VMs (were %zu)",
	      b.r.status, b.r.body, count_of("/v1/vms", "vms"), vms);
	response_free(&b.r);

	/* The snapshot listed throughout restores, and its guest goes on. */
	client_json(&c, "POST", "/v1/vms", json_pack("{s:s}", "snapshot", sid), &r);
	{
		const char *id = r.status == 201 ? response_str(&r, "id") : NULL;
		char *rid = id ? strdup(id) : NULL;

		check(rid && !strcmp(response_str(&r, "state") ?: "", "paused"),
		      "after all the kills the listed snapshot restores (201, paused)", "%ld %s",
		      r.status, r.body);
		response_free(&r);
		if (rid) {
			unsigned r0 = last_round(rid);

			check(act(rid, "resume") == 200 && wait_round_after(rid, r0) > r0,
			      "and its guest carries on", "round %u", last_round(rid));
			snprintf(path, sizeof(path), "/v1/vms/%s", rid);
			client_json(&c, "DELETE", path, NULL, &r);
			response_free(&r);
			free(rid);
		}
	}
	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	client_json(&c, "DELETE", path, NULL, &r);
	response_free(&r);
	snprintf(path, sizeof(path), "/v1/vms/%s", vm2);
	client_json(&c, "DELETE", path, NULL, &r);
	response_free(&r);
	snprintf(path, sizeof(path), "/v1/snapshots/%s", sid);
	client_json(&c, "DELETE", path, NULL, &r);
	response_free(&r);
	/* With no other guest running: an armed point stops the first
	 * process that reaches it. */
	start_killed();
	reboot_mid_mmio();
	free(known);
	free(sid);
	free(vm);
	free(vm2);
	return check_summary();
}
