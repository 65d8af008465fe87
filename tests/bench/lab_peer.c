/*
 * A peer in the same run (issue 16, item 4): the lab guest booted by
 * pinvm and by QEMU/KVM, the VMM users would otherwise pick, in the same
 * lab boot, alternately (in turn first), ROUNDS times each; per VMM the
 * medians of
 *   boot     the request that starts the VM (pinvm: POST /v1/vms, then
 *            start; QEMU: the control port's command that starts it) ->
 *            the guest's marker in its console file, seen from here
 *            (both waits poll the file in the lab every 50 ms);
 *   RSS, PSS of the VMM process beyond its guest RAM mapping's part, and
 *   guest RAM touched (that part), once the guest is up (lab_memory.h).
 * The same guest: the lab's Debian 6.1 kernel and busybox initramfs
 * (/init = deploy/lab/guest-init), 1 vCPU, 256 MiB, GICv3, the host's
 * CPU; only the console differs (pinvm's 16550, QEMU virt's PL011). QEMU
 * is the lab kernel's own suite's (deploy/lab.sh --peer puts it at
 * /peer/qemu), run with -nodefaults and no NIC, as pinvm's VM has none.
 *
 * Figures only, never judged; a round whose guest does not reach its
 * marker is a failed check (the exit status).
 *
 * usage: bench_lab_peer URL CONTROL_URL [ROUNDS]
 */
#include "check.h"
#include "client.h"
#include "lab_memory.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL "debian-6.1-arm64.Image"
#define INITRD "busybox-initramfs.cpio.gz"
#define MEMORY_MIB 256
#define STR_(x) #x
#define STR(x) STR_(x)
#define MARKER "pinvm-guest-ready 1"
#define BOOT_TIMEOUT_S 300
#define PEER_DIR "/tmp/pinvm-peer"
#define QEMU_MACHINE "-M virt,gic-version=3 -accel kvm -cpu host -smp 1"

static struct client c, ctl;

struct figures {
	double boot_ms;
	struct lab_memory mem;
};

enum { PINVM, QEMU, VMMS };
static const char *const vmm_name[VMMS] = { "pinvm", "QEMU" };

/*
 * Waits in the lab until file holds MARKER (polled every 50 ms), or the
 * process pid (0: do not look) is gone, or BOOT_TIMEOUT_S have passed
 * since t0; each control-port request waits at most 90 s (its HTTP
 * timeout is 120 s). Returns true once the marker is there.
 */
static bool wait_marker(const char *file, long pid, double t0, char *why, size_t why_len)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "i=0; while [ $i -lt 1800 ]; do "
		 "grep -q '" MARKER "' %s 2>/dev/null && { echo ready; exit 0; }; "
		 "[ %ld = 0 ] || kill -0 %ld 2>/dev/null || { echo gone; exit 0; }; "
		 "usleep 50000; i=$((i + 1)); done; echo waiting",
		 file, pid, pid);
	while (client_now() - t0 < BOOT_TIMEOUT_S) {
		char *out = client_lab_sh(&ctl, cmd);
		bool ready = out && strstr(out, "ready"), waiting = out && strstr(out, "waiting");

		if (!ready && !waiting)
			snprintf(why, why_len, "%s", !out ? "the control port did not answer"
							  : "the VMM process ended first");
		free(out);
		if (ready)
			return true;
		if (!waiting)
			return false;
	}
	snprintf(why, why_len, "no marker within %d s", BOOT_TIMEOUT_S);
	return false;
}

/* The last lines of the lab's file (caller frees), for a failure's detail. */
static char *tail_of(const char *file)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "tail -n 15 %s 2>&1", file);
	return client_lab_sh(&ctl, cmd);
}

static long vmm_pid(const char *id)
{
	json_t *vm = client_get_vm(&c, id);
	long pid = vm ? (long)json_integer_value(json_object_get(vm, "vmm_pid")) : 0;

	json_decref(vm);
	return pid;
}

/* A round's figures; with the last round also what pid's RSS beyond
 * guest RAM is made of (read while the VMM still runs). */
static void print_round(int round, int vmm, const struct figures *f, bool last, long pid);

/* A round whose guest showed its marker: its boot time (from t0), its
 * VMM's memory (read while it still runs) and its line. false, with why,
 * when the memory could not be read. */
static bool booted(int round, int vmm, long pid, double t0, bool last, struct figures *f,
		   char *why, size_t why_len)
{
	char err[256];

	f->boot_ms = (client_now() - t0) * 1e3;
	if (lab_memory_read(&ctl, pid, MEMORY_MIB * 1024L, &f->mem, err, sizeof(err)) < 0) {
		snprintf(why, why_len, "memory not read: %s", err);
		return false;
	}
	print_round(round, vmm, f, last, pid);
	return true;
}

/* pinvm: POST /v1/vms + start -> marker; its pinvm-vmm's memory; DELETE. */
static bool pinvm_round(int round, bool last, struct figures *f)
{
	json_t *spec = json_pack("{s:i, s:i, s:s, s:s, s:s}", "vcpus", 1, "memory_mib", MEMORY_MIB,
				 "kernel", KERNEL, "initrd", INITRD, "cmdline", "console=ttyS0");
	char path[160], file[160], why[320] = "";
	struct response r;
	char *id = NULL;
	bool ok = false;
	double t0 = client_now();
	long pid;

	client_json(&c, "POST", "/v1/vms", spec, &r);
	if (r.status == 201 && response_str(&r, "id"))
		id = strdup(response_str(&r, "id"));
	if (!id)
		snprintf(why, sizeof(why), "POST /v1/vms: %ld %s", r.status, r.body ?: "");
	response_free(&r);
	if (!id)
		goto out;
	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	client_json(&c, "POST", path, json_pack("{s:s}", "action", "start"), &r);
	if (r.status != 200)
		snprintf(why, sizeof(why), "start: %ld %s", r.status, r.body ?: "");
	response_free(&r);
	if (why[0])
		goto out;
	pid = vmm_pid(id);
	snprintf(file, sizeof(file), "/var/lib/pinvm/vms/%s/console.log", id);
	if (!wait_marker(file, pid, t0, why, sizeof(why))) {
		char *t = tail_of(file);

		printf("# pinvm round %d: its console ends:\n%s\n", round, t ?: "(not read)");
		free(t);
		goto out;
	}
	ok = booted(round, PINVM, pid, t0, last, f, why, sizeof(why));
out:
	if (id) {
		snprintf(path, sizeof(path), "/v1/vms/%s", id);
		client_call(&c, "DELETE", path, NULL, NULL, 0, NULL, &r);
		response_free(&r);
	}
	check(ok, "pinvm boots the guest to its marker", "round %d: %s", round, why);
	free(id);
	return ok;
}

/* QEMU: started through the control port -> marker; its memory; killed. */
static bool qemu_round(int round, bool last, struct figures *f)
{
	static const char start[] =
		"d=" PEER_DIR "; mkdir -p $d; rm -f $d/console.log $d/qemu.out; "
		"setsid /peer/qemu/ld-linux-aarch64.so.1 --library-path /peer/qemu/lib "
		"/peer/qemu/qemu-system-aarch64 -nodefaults -no-user-config -display none "
		"-monitor none " QEMU_MACHINE " -m " STR(MEMORY_MIB) " "
		"-kernel /images/" KERNEL " -initrd /images/" INITRD " -append console=ttyAMA0 "
		"-serial file:$d/console.log </dev/null >$d/qemu.out 2>&1 & echo \"pid $!\"";
	char why[320] = "", *out, cmd[256];
	bool ok = false;
	double t0 = client_now();
	long pid = 0;

	out = client_lab_sh(&ctl, start);
	if (!out || sscanf(out, "pid %ld", &pid) != 1 || pid <= 0) {
		snprintf(why, sizeof(why), "not started: %s", out ?: "the control port did not answer");
		free(out);
		goto out;
	}
	free(out);
	if (!wait_marker(PEER_DIR "/console.log", pid, t0, why, sizeof(why))) {
		char *t = tail_of(PEER_DIR "/qemu.out " PEER_DIR "/console.log");

		printf("# QEMU round %d: its output and console end:\n%s\n", round, t ?: "(not read)");
		free(t);
		goto out;
	}
	ok = booted(round, QEMU, pid, t0, last, f, why, sizeof(why));
out:
	if (pid > 0) {
		/* SIGTERM, then SIGKILL after 10 s: none is left for the next round. */
		snprintf(cmd, sizeof(cmd),
			 "kill %ld; i=0; while kill -0 %ld 2>/dev/null && [ $i -lt 100 ]; do "
			 "usleep 100000; i=$((i + 1)); done; kill -9 %ld 2>/dev/null; echo done",
			 pid, pid, pid);
		free(client_lab_sh(&ctl, cmd));
	}
	check(ok, "QEMU/KVM boots the guest to its marker", "round %d: %s", round, why);
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_round(int round, int vmm, const struct figures *f, bool last, long pid)
{
	const struct lab_memory *m = &f->mem;
	char *parts;

	printf("BENCH peer round %d %s: boot %.0f ms; RSS %ld kB (guest RAM %ld, beyond %ld); "
	       "PSS %ld kB (guest RAM %ld, beyond %ld)\n",
	       round, vmm_name[vmm], f->boot_ms, m->rss_kb, m->guest_rss_kb,
	       m->rss_kb - m->guest_rss_kb, m->pss_kb, m->guest_pss_kb,
	       m->pss_kb - m->guest_pss_kb);
	if (!last)
		return;
	parts = lab_memory_largest(&ctl, pid, MEMORY_MIB * 1024L, 8);
	printf("BENCH peer %s RSS beyond guest RAM, the largest parts: %s\n", vmm_name[vmm],
	       parts ?: "not read");
	free(parts);
}

/* One figure's medians, a line: pinvm, QEMU and their ratio. */
static void print_median(const char *what, double *pinvm, size_t np, double *qemu, size_t nq)
{
	double a = median(pinvm, np), b = median(qemu, nq);

	printf("BENCH peer %-34s pinvm %8.0f  QEMU %8.0f  pinvm/QEMU %s", what, a, b,
	       np && nq && b > 0 ? "" : "-\n");
	if (np && nq && b > 0)
		printf("%.2f\n", a / b);
}

int main(int argc, char **argv)
{
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	double boot[VMMS][16], rss[VMMS][16], pss[VMMS][16], touched[VMMS][16];
	size_t n[VMMS] = { 0 };
	char *version;

	if (argc < 3 || rounds < 1 || rounds > 16) {
		fprintf(stderr, "usage: %s URL CONTROL_URL [ROUNDS (1-16)]\n", argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(c.base, sizeof(c.base), "%s", argv[1]);
	snprintf(ctl.base, sizeof(ctl.base), "%s", argv[2]);

	version = client_lab_sh(&ctl, "cat /peer/qemu/version 2>/dev/null || echo missing");
	if (!check(version && strncmp(version, "missing", 7), "the lab carries the peer VMM",
		   "%s", version ? "no /peer/qemu: was the lab booted with deploy/lab.sh --peer?"
				 : "the control port did not answer")) {
		free(version);
		curl_global_cleanup();
		return check_summary();
	}
	version[strcspn(version, "\n")] = '\0';
	printf("BENCH peer guest: %s + %s, 1 vCPU, %d MiB; pinvm-vmm with console=ttyS0; "
	       "%s (" QEMU_MACHINE " -nodefaults) with console=ttyAMA0\n",
	       KERNEL, INITRD, MEMORY_MIB, version);
	free(version);

	/* Alternately, so that whatever else the machine does weighs on both,
	 * and in turn first (pinvm, QEMU, QEMU, pinvm, ...): neither always
	 * boots right after the other's guest ended. */
	for (int i = 1; i <= rounds; i++) {
		for (int k = 0; k < VMMS; k++) {
			int v = i % 2 ? k : VMMS - 1 - k;
			struct figures f = { 0 };

			if (!(v == PINVM ? pinvm_round(i, i == rounds, &f)
					 : qemu_round(i, i == rounds, &f)))
				continue;
			boot[v][n[v]] = f.boot_ms;
			rss[v][n[v]] = (double)(f.mem.rss_kb - f.mem.guest_rss_kb);
			pss[v][n[v]] = (double)(f.mem.pss_kb - f.mem.guest_pss_kb);
			touched[v][n[v]] = (double)f.mem.guest_rss_kb;
			n[v]++;
		}
	}
	printf("BENCH peer medians (pinvm %zu of %d rounds, QEMU %zu of %d):\n", n[PINVM], rounds,
	       n[QEMU], rounds);
	print_median("boot to the guest's marker (ms)", boot[PINVM], n[PINVM], boot[QEMU], n[QEMU]);
	print_median("RSS beyond guest RAM (kB)", rss[PINVM], n[PINVM], rss[QEMU], n[QEMU]);
	print_median("PSS beyond guest RAM (kB)", pss[PINVM], n[PINVM], pss[QEMU], n[QEMU]);
	print_median("guest RAM touched (kB)", touched[PINVM], n[PINVM], touched[QEMU], n[QEMU]);
	curl_global_cleanup();
	return check_summary();
}
