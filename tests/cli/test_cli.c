/*
 * The pinvm CLI as a user runs it, against a real pinvmd: every command,
 * its tables and --json, its exit statuses (404, 409, 400/422, 401, 503,
 * unreachable, usage) and the ways it finds pinvmd (URL, Unix socket,
 * environment, token, CA).
 *
 * usage: test_cli PINVM FIXTURES PINVMD FAKE_VMM
 *            spawns pinvmd natively: TCP with a token, a Unix socket, TLS;
 *            and a VM record whose pinvm-vmm is fake-vmm (no KVM needed),
 *            which pinvmd takes over, for the VM commands and the console
 *        test_cli PINVM FIXTURES --url URL [--token-file FILE]
 *            against a running pinvmd (the lab); with "hypervisor": "kvm"
 *            it also drives a microVM's lifecycle and console
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "fake_vm.h"
#include "store.h"
#include "vmm_client.h"
#include "vmm_config.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *pinvm, *fixtures;
static bool spawned;  /* pinvmd is this test's own (native), not --url's */
static char dir[] = "/tmp/pinvm-cli-XXXXXX";

/* What one run of pinvm did. */
struct run {
	int status;      /* exit status, or -1 (signal, or it hung) */
	char out[65536];
	char err[4096];
	json_t *json;    /* stdout parsed, when it is JSON (owned) */
};

/* The environment of the next runs: NULL value unsets. */
static const char *env_url, *env_token;
/* The next runs' stdin (a file), or NULL: the test's own. */
static const char *stdin_path;

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/*
 * Runs pinvm with the NULL-terminated arguments, extra environment "K=V"
 * strings in envs (may be NULL), and waits (60 s at most; then it is
 * killed and counts as hung). Frees nothing of the previous run: call
 * run_free.
 */
static void run_env(struct run *r, const char *const *envs, const char *const *args)
{
	char outp[128], errp[128];
	const char *argv[32] = { pinvm };
	pid_t pid;
	int status, i;

	snprintf(outp, sizeof(outp), "%s/out", dir);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (stdin_path) {
			int in = open(stdin_path, O_RDONLY);

			if (in < 0 || dup2(in, 0) < 0)
				_exit(126);
		}
		if (env_url)
			setenv("PINVM_URL", env_url, 1);
		else
			unsetenv("PINVM_URL");
		if (env_token)
			setenv("PINVM_TOKEN_FILE", env_token, 1);
		else
			unsetenv("PINVM_TOKEN_FILE");
		for (i = 0; envs && envs[i]; i++)
			putenv((char *)envs[i]);
		execv(pinvm, (char *const *)argv);
		_exit(127);
	}
	r->status = -1;
	for (i = 0; i < 6000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFEXITED(status))
				r->status = WEXITSTATUS(status);
			break;
		}
		usleep(10000);
	}
	if (i == 6000) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	slurp(outp, r->out, sizeof(r->out));
	slurp(errp, r->err, sizeof(r->err));
	r->json = json_loads(r->out, 0, NULL);
}

static void run_free(struct run *r)
{
	json_decref(r->json);
	r->json = NULL;
}

/* Starts pinvm without waiting; its stdout goes to out_path, its stderr
 * to out_path.err. */
static pid_t run_bg(const char *out_path, const char *const *args)
{
	const char *argv[32] = { pinvm };
	char err_path[200];
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	snprintf(err_path, sizeof(err_path), "%s.err", out_path);
	pid = fork();
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (env_url)
			setenv("PINVM_URL", env_url, 1);
		execv(pinvm, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits up to 10 s for path to hold want (a file another process writes). */
static bool wait_for_text(const char *path, const char *want)
{
	char buf[4096];

	for (int i = 0; i < 1000; i++) {
		slurp(path, buf, sizeof(buf));
		if (strstr(buf, want))
			return true;
		usleep(10000);
	}
	return false;
}

/* Waits up to 10 s for pid to exit; its exit status, or -1. */
static int wait_exit(pid_t pid)
{
	int status;

	for (int i = 0; i < 1000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

#define RUN(r, ...) run_env((r), NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* stderr is the one line the user is promised for a failure. */
static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && nl[1] == '\0' && strncmp(s, "pinvm: ", 7) == 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

/* A fixture as a pinvmd from before the vCPU features would send its set:
 * without them. */
static void write_without_cpu(const char *from, const char *to)
{
	json_t *f = json_load_file(from, 0, NULL);

	json_object_del(json_object_get(f, "firmware_registers"), "cpu_features");
	json_object_del(json_object_get(f, "host"), "cpu_features");
	if (!f || json_dump_file(f, to, JSON_COMPACT) < 0)
		fprintf(stderr, "cannot write %s\n", to);
	json_decref(f);
}

/* Checks an expected failure: exit status, one line, and a word in it. */
static void check_fails(const char *name, struct run *r, int status, const char *word)
{
	check(r->status == status && one_line(r->err) && strstr(r->err, word) &&
		      r->out[0] == '\0',
	      name, "exit %d (want %d), stderr \"%s\" (want one line with \"%s\"), stdout \"%.200s\"",
	      r->status, status, r->err, word, r->out);
	run_free(r);
}

static void test_usage(void)
{
	struct run r;

	RUN(&r, "--version");
	check(r.status == 0 && strncmp(r.out, "pinvm ", 6) == 0, "--version",
	      "exit %d: %s", r.status, r.out);
	run_free(&r);
	RUN(&r, "--help");
	check(r.status == 0 && strstr(r.out, "Exit status") && strstr(r.out, "--token-file"),
	      "--help lists the options and the exit statuses", "exit %d", r.status);
	run_free(&r);
	for (const char *const *g = (const char *const[]){ "host", "profile", "baseline", "vm",
							  "images", NULL }; *g; g++) {
		char name[64];

		RUN(&r, *g, "--help");
		snprintf(name, sizeof(name), "%s --help", *g);
		check(r.status == 0 && strncmp(r.out, "usage: pinvm ", 13) == 0, name,
		      "exit %d: %s%s", r.status, r.out, r.err);
		run_free(&r);
	}
	run_env(&r, NULL, (const char *const[]){ NULL });
	check(r.status == 2 && strstr(r.err, "usage:"), "no command: usage, exit 2",
	      "exit %d", r.status);
	run_free(&r);
	RUN(&r, "frobnicate");
	check(r.status == 2 && strstr(r.err, "unknown command"), "unknown command: exit 2",
	      "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "events", "--count", "0");
	check(r.status == 2 && strstr(r.err, "--count"), "events --count 0: usage error, exit 2",
	      "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "create", "--vcpus", "two", "--kernel", "k");
	check(r.status == 2, "vm create --vcpus two: usage error", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "create", "--vcpus", "2");
	check(r.status == 2 && strstr(r.err, "--kernel"), "vm create without a kernel: usage error",
	      "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "profile", "show");
	check(r.status == 2, "profile show without a name: usage error", "exit %d", r.status);
	run_free(&r);
	RUN(&r, "--url", "ftp://x", "host");
	check(r.status == 2, "--url with another scheme: usage error", "exit %d", r.status);
	run_free(&r);
}

/* Every command against a pinvmd reached however the environment says;
 * returns whether it has KVM (then VMs can be driven). */
static bool test_commands(void)
{
	char file[160], host510[160], host612[160], bare510[160], pname[64], bname[64];
	char bname2[72], tag[16];
	const char *hv;
	bool kvm;
	struct run r;

	snprintf(tag, sizeof(tag), "%d", (int)getpid());
	snprintf(host510, sizeof(host510), "%s/lab-5.10.json", fixtures);
	snprintf(host612, sizeof(host612), "%s/lab-6.12.json", fixtures);
	snprintf(pname, sizeof(pname), "cli-p-%s", tag);
	snprintf(bname, sizeof(bname), "cli-base-%s", tag);
	snprintf(bname2, sizeof(bname2), "%s-common", bname);

	RUN(&r, "host");
	check(r.status == 0 && strstr(r.out, "hypervisor") && strstr(r.out, "kernel"),
	      "host: a table with the hypervisor and kernel", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "host", "--json");
	hv = json_string_value(json_object_get(r.json, "hypervisor"));
	kvm = hv && strcmp(hv, "kvm") == 0;
	check(r.status == 0 && hv && json_is_string(json_object_get(r.json, "arch")),
	      "host --json: the server's object", "exit %d: %s", r.status, r.out);
	run_free(&r);

	RUN(&r, "host", "registers", "--json");
	if (kvm) {
		check(r.status == 0 && json_array_size(json_object_get(r.json, "registers")) >= 4,
		      "host registers --json: at least the four PSCI/SMCCC registers",
		      "exit %d: %.300s", r.status, r.out);
		run_free(&r);
		RUN(&r, "host", "registers");
		check(r.status == 0 && strstr(r.out, "PSCI_VERSION") && strstr(r.out, "version="),
		      "host registers: a table, decoded", "exit %d: %s", r.status, r.out);
		run_free(&r);
	} else {
		check_fails("host registers without KVM: exit 9 (503)", &r, 9, "no_hypervisor");
	}

	RUN(&r, "images", "--json");
	check(r.status == 0 && json_is_array(json_object_get(r.json, "images")),
	      "images --json", "exit %d: %s", r.status, r.out);
	run_free(&r);
	RUN(&r, "images");
	check(r.status == 0 && strncmp(r.out, "NAME", 4) == 0, "images: a table",
	      "exit %d: %s", r.status, r.out);
	run_free(&r);

	/* Profiles: create, list, show, duplicate, invalid, check, delete. */
	snprintf(file, sizeof(file), "%s/profile.json", dir);
	{
		char doc[512];

		snprintf(doc, sizeof(doc),
			 "{\"name\": \"%s\", \"unknown_registers\": \"disable\", \"registers\": {"
			 "\"PSCI_VERSION\": \"1.0\", \"SMCCC_ARCH_WORKAROUND_1\": \"host\","
			 "\"SMCCC_ARCH_WORKAROUND_2\": \"host\", \"SMCCC_ARCH_WORKAROUND_3\": \"host\"}}",
			 pname);
		write_file(file, doc, 0644);
	}
	RUN(&r, "profile", "create", "-f", file);
	check(r.status == 0 && strstr(r.out, pname) && strstr(r.out, "version=1.0"),
	      "profile create -f: 0, the stored profile as a table", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	RUN(&r, "profile", "create", "-f", file);
	check_fails("profile create of an existing name: exit 4 (409), one line", &r, 4,
		    "profile_exists");
	RUN(&r, "--json", "profile", "list");
	{
		json_t *name_json = json_string(pname);
		const json_t *p;
		size_t i;
		bool found = false;

		json_array_foreach(json_object_get(r.json, "profiles"), i, p)
			found |= json_equal(json_object_get(p, "name"), name_json);
		check(r.status == 0 && found, "profile list --json holds it", "exit %d: %.300s",
		      r.status, r.out);
		json_decref(name_json);
	}
	run_free(&r);
	RUN(&r, "profile", "list");
	check(r.status == 0 && strncmp(r.out, "NAME", 4) == 0 && strstr(r.out, pname),
	      "profile list: a table", "exit %d: %s", r.status, r.out);
	run_free(&r);
	RUN(&r, "profile", "show", pname, "--json");
	check(r.status == 0 &&
		      strcmp(json_string_value(json_object_get(r.json, "name")) ? json_string_value(json_object_get(r.json, "name")) : "", pname) == 0 &&
		      json_array_size(json_object_get(r.json, "registers")) == 4,
	      "profile show --json", "exit %d: %.300s", r.status, r.out);
	run_free(&r);
	RUN(&r, "profile", "show", "no-such-profile");
	check_fails("profile show of a missing profile: exit 3 (404), one line", &r, 3,
		    "profile_not_found");
	RUN(&r, "profile", "show", "no-such-profile", "--json");
	check_fails("... with --json too: stderr only, nothing on stdout", &r, 3,
		    "profile_not_found");

	write_file(file, "{\"name\": \"cli-bad\", \"registers\": {\"PSCI_VERSION\": \"9.9\"}}", 0644);
	RUN(&r, "profile", "create", "-f", file);
	check_fails("profile create of an impossible value: exit 5 (422) naming the field", &r, 5,
		    "field registers.PSCI_VERSION");
	write_file(file, "{\"name\": 5, \"registers\": {}}", 0644);
	RUN(&r, "profile", "create", "-f", file);
	check_fails("profile create with a wrongly typed name: exit 5 (400)", &r, 5, "HTTP 400");
	write_file(file, "{\"name\": ", 0644);
	RUN(&r, "profile", "create", "-f", file);
	check_fails("profile create -f of a file that is not JSON: exit 1, where", &r, 1,
		    "line 1");

	/* A check against another host's set works without KVM. */
	RUN(&r, "profile", "check", pname, "--host", host510, "--json");
	check(r.status == 0 && json_is_true(json_object_get(r.json, "compatible")),
	      "profile check --host (5.10): compatible, exit 0", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	snprintf(bare510, sizeof(bare510), "%s/lab-5.10-without-cpu.json", dir);
	write_without_cpu(host510, bare510);
	RUN(&r, "baseline", "create", bname, "--host", bare510, "--host", host612,
	    "--cpu-features", "common");
	check_fails("baseline create --cpu-features common of host sets that do not say "
		    "theirs: exit 5 (422) naming the host", &r, 5, "field hosts[0]");
	RUN(&r, "baseline", "create", bname2, "--host", host510, "--host", host612,
	    "--cpu-features", "common");
	check(r.status == 0 && strstr(r.out, bname2) &&
		      strstr(r.out, "pmu, sve (longest 2048 bits), pauth"),
	      "baseline create --cpu-features common of the fixtures: every feature, SVE at "
	      "the longest length both offer", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "profile", "delete", bname2);
	run_free(&r);
	RUN(&r, "baseline", "create", bname, "--host", host510, "--host", host612);
	check(r.status == 0 && strstr(r.out, bname) && strstr(r.out, "baseline") &&
		      strstr(r.out, "none (all off)"),
	      "baseline create NAME --host 5.10 --host 6.12: the stored profile, its vCPU "
	      "features pinned off", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "profile", "show", bname, "--cpu-features", "host");
	check(r.status == 2 && strstr(r.err, "wrong arguments"),
	      "profile show --cpu-features: usage error, exit 2", "exit %d: %s", r.status, r.err);
	run_free(&r);
	{
		/* The 6.12 host has three bitmaps this profile does not disable... it
		 * does ("disable"); make one the host cannot honour instead. */
		char doc[256];

		snprintf(doc, sizeof(doc), "{\"name\": \"%s-11\", \"registers\": "
			 "{\"PSCI_VERSION\": \"1.1\"}, \"unknown_registers\": \"disable\"}", pname);
		write_file(file, doc, 0644);
	}
	RUN(&r, "profile", "create", "-f", file);
	run_free(&r);
	{
		char name11[80];

		snprintf(name11, sizeof(name11), "%s-11", pname);
		RUN(&r, "profile", "check", name11, "--host", host510);
		check(r.status == 5 && strstr(r.out, "NOT compatible") &&
			      strstr(r.out, "psci_version_unsupported"),
		      "profile check of PSCI 1.1 on 5.10: NOT compatible with the rule, exit 5",
		      "exit %d: %s%s", r.status, r.out, r.err);
		run_free(&r);
		RUN(&r, "profile", "delete", name11);
		run_free(&r);
	}
	RUN(&r, "profile", "check", pname);
	if (kvm) {
		check(r.status == 0 || r.status == 5, "profile check on this host: a verdict",
		      "exit %d: %s%s", r.status, r.out, r.err);
		run_free(&r);
	} else {
		check_fails("profile check on a host without KVM: exit 9 (503)", &r, 9,
			    "no_hypervisor");
	}
	{
		char cname[64];

		snprintf(cname, sizeof(cname), "cli-capture-%s", tag);
		/* Checked by the server before it looks at the host. */
		RUN(&r, "profile", "capture", cname, "--cpu-features", "everything");
		check_fails("profile capture --cpu-features everything: exit 5 (422) naming it", &r,
			    5, "field cpu_features");
		RUN(&r, "profile", "capture", cname, "--cpu-features", "{\"pmu\": ");
		check(r.status == 2, "profile capture --cpu-features of broken JSON: usage error",
		      "exit %d: %s", r.status, r.err);
		run_free(&r);
		RUN(&r, "profile", "capture", cname, "--cpu-features", "host");
		if (!kvm) {
			check_fails("profile capture without KVM: exit 9 (503)", &r, 9,
				    "no_hypervisor");
		} else {
			check(r.status == 0 && strstr(r.out, "observed abi") &&
				      strstr(r.out, "cpu features"),
			      "profile capture --cpu-features host: every register, the observed "
			      "ABI and the vCPU features", "exit %d: %s%s", r.status, r.out, r.err);
			run_free(&r);
			RUN(&r, "profile", "delete", cname);
			run_free(&r);
		}
	}
	RUN(&r, "profile", "delete", bname);
	check(r.status == 0 && strstr(r.out, "deleted"), "profile delete", "exit %d: %s%s",
	      r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "profile", "show", bname);
	check_fails("... and it is gone: exit 3", &r, 3, "profile_not_found");
	RUN(&r, "profile", "delete", bname);
	check_fails("profile delete of a missing profile: exit 3", &r, 3, "profile_not_found");

	/* VMs: what works everywhere. */
	RUN(&r, "vm", "list", "--json");
	check(r.status == 0 && json_is_array(json_object_get(r.json, "vms")), "vm list --json",
	      "exit %d: %s", r.status, r.out);
	run_free(&r);
	RUN(&r, "vm", "list");
	check(r.status == 0 && strncmp(r.out, "ID", 2) == 0, "vm list: a table", "exit %d: %s",
	      r.status, r.out);
	run_free(&r);
	RUN(&r, "vm", "create", "--kernel", "cli-test.Image", "--vcpus", "0");
	check_fails("vm create --vcpus 0: exit 5 (422) naming vcpus", &r, 5, "field vcpus");
	write_file(file, "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"cli-test.Image\"}", 0644);
	RUN(&r, "vm", "create", "-f", file, "--memory", "1");
	check_fails("vm create -f SPEC --memory 1: the option overrides the file (422 memory_mib)",
		    &r, 5, "field memory_mib");
	write_file(file, "[1, 2]", 0644);
	RUN(&r, "vm", "create", "-f", file);
	check_fails("vm create -f of a JSON array: exit 1, said so", &r, 1, "JSON object");
	/* Needs the image this test put in the image directory of its own
	 * pinvmd; a pinvmd given by --url may have none (422 first). */
	if (!kvm && spawned) {
		RUN(&r, "vm", "create", "--kernel", "cli-test.Image", "--profile", pname);
		check_fails("vm create without KVM: refused, exit 9 (503)", &r, 9, "no_hypervisor");
	}
	for (const char *const *v = (const char *const[]){ "show", "start", "pause", "resume",
							  "stop", "delete", "console", NULL };
	     *v; v++) {
		char name[64];

		RUN(&r, "vm", *v, "no-such-vm");
		snprintf(name, sizeof(name), "vm %s of a missing VM: exit 3 (404)", *v);
		check_fails(name, &r, 3, "vm_not_found");
	}
	RUN(&r, "profile", "delete", pname);
	run_free(&r);
	return kvm;
}

/* With KVM (the lab): a microVM through its whole life. */
static void test_vm_lifecycle(void)
{
	char kernel[128] = "", initrd[128] = "", id[64] = "", pname[64];
	const json_t *img;
	struct run r;
	size_t i;

	RUN(&r, "images", "--json");
	json_array_foreach(json_object_get(r.json, "images"), i, img) {
		const char *n = json_string_value(json_object_get(img, "name"));

		if (n && strstr(n, ".Image"))
			snprintf(kernel, sizeof(kernel), "%s", n);
		if (n && strstr(n, ".cpio.gz"))
			snprintf(initrd, sizeof(initrd), "%s", n);
	}
	run_free(&r);
	if (!check(kernel[0] && initrd[0], "the image directory has a kernel and an initramfs",
		   "kernel '%s', initrd '%s'", kernel, initrd))
		return;
	snprintf(pname, sizeof(pname), "cli-vm-%d", (int)getpid());
	RUN(&r, "profile", "capture", pname);
	check(r.status == 0 && strstr(r.out, "PSCI_VERSION"), "profile capture NAME",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "create", "-q", "--kernel", kernel, "--initrd", initrd, "--vcpus", "1",
	    "--memory", "256", "--cmdline", "console=ttyS0 pinvm.tick=1", "--profile", pname);
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(r.out, "\n"), r.out);
	check(r.status == 0 && strlen(id) >= 8, "vm create -q: prints the id", "exit %d: %s%s",
	      r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "profile", "delete", pname);
	check_fails("profile delete of a profile a VM uses: exit 4 (409)", &r, 4, "HTTP 409");
	RUN(&r, "vm", "start", id);
	check(r.status == 0 && strstr(r.out, "running"), "vm start", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "start", id);
	check_fails("vm start of a running VM: exit 4 (409)", &r, 4, "HTTP 409");
	RUN(&r, "vm", "pause", id);
	check(r.status == 0 && strstr(r.out, "paused"), "vm pause", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "resume", id);
	check(r.status == 0 && strstr(r.out, "running"), "vm resume", "exit %d: %s", r.status,
	      r.err);
	run_free(&r);
	/* The guest prints its ready line once booted: wait for it. */
	for (i = 0; i < 600; i++) {
		RUN(&r, "vm", "console", id);
		if (strstr(r.out, "pinvm-guest-ready"))
			break;
		run_free(&r);
		usleep(500000);
	}
	check(i < 600, "vm console: the guest's boot and ready line", "last: %.300s", r.out);
	run_free(&r);
	RUN(&r, "vm", "show", id, "--json");
	check(r.status == 0 && json_is_array(json_object_get(r.json, "abi")),
	      "vm show --json: the VM with its ABI report", "exit %d: %.300s", r.status, r.out);
	run_free(&r);
	RUN(&r, "vm", "stop", id);
	check(r.status == 0 && strstr(r.out, "stopped"), "vm stop", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "console", id, "-f");
	check(r.status == 0 && strstr(r.out, "pinvm-guest-ready"),
	      "vm console -f of a stopped VM: everything, then it returns", "exit %d: %s",
	      r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "delete", id);
	check(r.status == 0, "vm delete", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "show", id);
	check_fails("... and it is gone: exit 3", &r, 3, "vm_not_found");
	RUN(&r, "profile", "delete", pname);
	run_free(&r);
}

/* A free port in the range this test's servers may use. */
static int free_port(void)
{
	for (int tries = 0; tries < 200; tries++) {
		int port = 27000 + (int)((unsigned)(getpid() * 31 + tries * 7919 + time(NULL)) % 1000);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((unsigned short)port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (fd >= 0)
			close(fd);
		if (ok)
			return port;
	}
	return -1;
}

static bool make_cert(const char *cert, const char *key)
{
	char log[128];
	pid_t pid;
	int status;

	snprintf(log, sizeof(log), "%s/openssl.log", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("openssl", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
		       "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
		       "subjectAltName=IP:127.0.0.1", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return false;
	return chmod(key, 0600) == 0;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static void append_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Whether two files hold the same bytes. */
static bool same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	int ca, cb;

	while (same) {
		ca = getc(fa);
		cb = getc(fb);
		same = ca == cb;
		if (ca == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* How many entries directory d holds (but . and ..); the first's name in
 * name. */
static int entries(const char *d, char *name, size_t len)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	int n = 0;

	name[0] = '\0';
	while (dh && (e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n++ == 0)
			snprintf(name, len, "%s", e->d_name);
	if (dh)
		closedir(dh);
	return n;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/*
 * The downloaded archive against the snapshot's record: its four
 * members, their apparent sizes adding up to size_bytes (mem.raw's holes
 * count, though the archive does not carry them), and manifest.json,
 * which holds every other file's digest, hashing to the record's sha256.
 */
static bool archive_matches(const char *path, const json_t *record, char *why, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const char *want = json_string_value(json_object_get(record, "sha256"));
	long long total = 0, size = json_integer_value(json_object_get(record, "size_bytes"));
	char hex[65] = "";
	int members = 0;

	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		snprintf(why, len, "not a tar: %s", archive_error_string(a));
		archive_read_free(a);
		return false;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		size_t n = (size_t)archive_entry_size(e);

		members++;
		total += archive_entry_size(e);
		if (strcmp(archive_entry_pathname(e), "manifest.json") == 0 && n < (1 << 20)) {
			char *buf = malloc(n + 1);
			unsigned char d[32];

			if (buf && archive_read_data(a, buf, n) == (la_ssize_t)n &&
			    gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, n, d) == 0)
				for (int i = 0; i < 32; i++)
					snprintf(hex + 2 * i, 3, "%02x", d[i]);
			free(buf);
		}
	}
	archive_read_free(a);
	snprintf(why, len, "%d members, %lld bytes (record: %lld), manifest.json's sha256 %s "
		 "(record: %s)", members, total, size, hex, want ? want : "none");
	return members == 4 && total == size && want && strcmp(hex, want) == 0;
}

/* Copies file into the FIFO fifo from a child process (a pipe of unknown
 * length for the reader's stdin); its pid. */
static pid_t feed_fifo(const char *fifo, const char *file)
{
	pid_t pid = fork();

	if (pid == 0) {
		char buf[4096];
		int in = open(file, O_RDONLY), out = open(fifo, O_WRONLY);
		ssize_t n;

		while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				_exit(1);
		_exit(in >= 0 && out >= 0 ? 0 : 1);
	}
	return pid;
}

/*
 * A stand-in pinvmd that answers one request with the head of a 1 MiB
 * archive and never the rest: it hangs up (hold false) or goes quiet
 * (hold true), as a pinvmd killed or stuck mid-download would. Listening
 * when it returns; its pid, or -1.
 */
static pid_t half_server(int port, bool hold)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
		close(lfd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"
					   "Content-Length: 1048576\r\n\r\n";
		static char body[65536], req[4096];
		int fd = accept(lfd, NULL, NULL);
		size_t got = 0;
		ssize_t n;

		while (fd >= 0 && got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n") &&
		       (n = read(fd, req + got, sizeof(req) - 1 - got)) > 0)
			got += (size_t)n;
		if (fd < 0 || write(fd, head, sizeof(head) - 1) < 0 ||
		    write(fd, body, sizeof(body)) < 0)
			_exit(1);
		if (hold)
			pause();
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* A download that breaks off leaves nothing: cut by the server, or
 * interrupted by the user while the server is silent. */
static void test_download_broken(const char *dl)
{
	char url[64], file[200], part[480], name[256], out[200], err[4096];
	int port = free_port(), status;
	pid_t server, pid;
	struct run r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	snprintf(file, sizeof(file), "%s/broken.tar", dl);
	server = half_server(port, false);
	RUN(&r, "--url", url, "snapshot", "download", "0f8fad5b-d9cb-469f-a165-70867728950e", file);
	check_fails("snapshot download the server cuts short: exit 7, saying after how many bytes",
		    &r, 7, "after 65536 bytes");
	check(entries(dl, name, sizeof(name)) == 0, "... and nothing is left, no FILE, no part",
	      "found %s", name);
	stop(server);

	snprintf(out, sizeof(out), "%s/download.out", dir);
	server = half_server(port, true);
	pid = run_bg(out, (const char *const[]){ "--url", url, "snapshot", "download",
						 "0f8fad5b-d9cb-469f-a165-70867728950e", file,
						 NULL });
	/* Interrupted once the first bytes are in its part file, not before. */
	for (int i = 0; i < 1000; i++) {
		if (entries(dl, name, sizeof(name)) == 1) {
			snprintf(part, sizeof(part), "%s/%s", dl, name);
			if (file_size(part) > 0)
				break;
		}
		usleep(10000);
	}
	check(name[0] == '.' && file_size(part) > 0,
	      "snapshot download writes into a hidden part file beside FILE", "found '%s'", name);
	kill(pid, SIGINT);
	status = wait_exit(pid);
	snprintf(part, sizeof(part), "%s.err", out);
	slurp(part, err, sizeof(err));
	check(status == 1 && strstr(err, "interrupted") && entries(dl, name, sizeof(name)) == 0,
	      "... and ^C (the server silent) ends it at once, exit 1, removing the part file",
	      "exit %d, stderr '%s', left '%s'", status, err, name);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
}

/* Usage errors and what is refused before any request is made (a pinvmd
 * that is not there would make them exit 7). */
static void test_snapshot_usage(const char *dl)
{
	static const char *const wrong[][6] = {
		{ "snapshot" },
		{ "snapshot", "frobnicate" },
		{ "snapshot", "list", "extra" },
		{ "snapshot", "show" },
		{ "snapshot", "create" },
		{ "snapshot", "download", "ID" },
		{ "snapshot", "upload", "a", "b" },
		{ "snapshot", "show", "ID", "-q" },
		{ "snapshot", "show", "ID", "--host", "f" },
		{ "snapshot", "check", "ID", "--host" },
		{ "snapshot", "list", "--colour" },
	};
	char nowhere[64], missing[200], name[256];
	struct run r;

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		char what[160] = "";

		run_env(&r, NULL, wrong[i]);
		for (size_t k = 0; k < 6 && wrong[i][k]; k++)
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s ",
				 wrong[i][k]);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ": usage error, exit 2");
		check(r.status == 2 && strstr(r.err, "usage: pinvm snapshot") && !r.out[0], what,
		      "exit %d: %s", r.status, r.err);
		run_free(&r);
	}
	RUN(&r, "snapshot", "--help");
	check(r.status == 0 && strncmp(r.out, "usage: pinvm snapshot list", 26) == 0,
	      "snapshot --help", "exit %d: %s", r.status, r.out);
	run_free(&r);

	snprintf(nowhere, sizeof(nowhere), "http://127.0.0.1:%d", free_port());
	snprintf(missing, sizeof(missing), "%s/no-such-dir/s.tar", dir);
	RUN(&r, "--url", nowhere, "snapshot", "download", "ID", missing);
	check_fails("snapshot download into a directory that does not exist: exit 1, no request",
		    &r, 1, "no-such-dir/s.tar: No such file or directory");
	RUN(&r, "--url", nowhere, "snapshot", "download", "ID", dl);
	check_fails("snapshot download to a directory's name: exit 1, no request", &r, 1,
		    "Is a directory");
	snprintf(missing, sizeof(missing), "%s/no-such.tar", dir);
	RUN(&r, "--url", nowhere, "snapshot", "upload", missing);
	check_fails("snapshot upload of a file that does not exist: exit 1, no request", &r, 1,
		    "no-such.tar: No such file or directory");
	RUN(&r, "--url", nowhere, "snapshot", "upload", dl);
	check_fails("snapshot upload of a directory: exit 1, no request", &r, 1, "Is a directory");
	check(entries(dl, name, sizeof(name)) == 0, "the refused downloads left nothing",
	      "found %s", name);
}

/*
 * Snapshots of the live fake VM, every command: create (the VM paused
 * for it and running again), list, show, download (to a file and to
 * stdout) and what it holds, upload (to the same id: a conflict; after a
 * delete, from a file and from stdin), check against the lab's register
 * sets, restore, the events of it all, and each bad input.
 */
static void test_snapshots(const char *full_vm)
{
	char dl[160], file[200], garbage[160], sid[64] = "", name[256], why[512];
	char host510[160], hostlatest[160], line[512];
	const char *id;
	json_t *record = NULL;
	struct run r;

	snprintf(dl, sizeof(dl), "%s/downloads", dir);
	snprintf(file, sizeof(file), "%s/s.tar", dl);
	snprintf(host510, sizeof(host510), "%s/lab-5.10.json", fixtures);
	snprintf(hostlatest, sizeof(hostlatest), "%s/lab-latest.json", fixtures);
	mkdir(dl, 0700);
	test_snapshot_usage(dl);
	test_download_broken(dl);

	RUN(&r, "snapshot", "create", "cli-live", "-q");
	snprintf(sid, sizeof(sid), "%.*s", (int)strcspn(r.out, "\n"), r.out);
	check(r.status == 0 && strlen(sid) == 36 && strcmp(r.out + 36, "\n") == 0,
	      "snapshot create VM -q: only the new id", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "show", "cli-live");
	check(r.status == 0 && strstr(r.out, "state       running"),
	      "... and the running VM it paused for it runs again", "%s", r.out);
	run_free(&r);
	RUN(&r, "snapshot", "show", sid, "--json");
	record = json_incref(r.json);
	id = json_string_value(json_object_get(record, "id"));
	check(r.status == 0 && id && !strcmp(id, sid) &&
		      json_integer_value(json_object_get(record, "size_bytes")) > 64 << 20,
	      "snapshot show ID --json: the record", "exit %d: %.300s", r.status, r.out);
	run_free(&r);
	if (!record)
		return;
	RUN(&r, "snapshot", "show", sid);
	snprintf(line, sizeof(line), "size            %" JSON_INTEGER_FORMAT " bytes (64.0 MiB)",
		 json_integer_value(json_object_get(record, "size_bytes")));
	check(r.status == 0 && strstr(r.out, "vm              cli-live\n") &&
		      strstr(r.out, "state           ready\n") &&
		      strstr(r.out, "memory          64 MiB\n") && strstr(r.out, line) &&
		      strstr(r.out, json_string_value(json_object_get(record, "sha256"))) &&
		      strstr(r.out, "FILE         SIZE") && strstr(r.out, "\nmem.raw      67108864 ") &&
		      strstr(r.out, "(of its data pages)") && strstr(r.out, "\nvm.json "),
	      "snapshot show ID: its fields, then its files", "exit %d: %s%s", r.status, r.out,
	      r.err);
	run_free(&r);
	RUN(&r, "snapshot", "list");
	check(r.status == 0 && strncmp(r.out, "ID  ", 4) == 0 && strstr(r.out, sid) &&
		      strstr(r.out, "cli-live  1      64 MiB  64.0 MiB"),
	      "snapshot list: a table with it", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "list", "--json");
	check(r.status == 0 && json_array_size(json_object_get(r.json, "snapshots")) == 1,
	      "snapshot list --json: the server's list", "exit %d: %s", r.status, r.out);
	run_free(&r);
	RUN(&r, "snapshot", "show", "0f8fad5b-d9cb-469f-a165-70867728950e");
	check_fails("snapshot show of an unknown id: exit 3 (404)", &r, 3, "HTTP 404");

	/* Download: to a file, then to stdout; the same bytes, and what the
	 * record says they are. */
	RUN(&r, "snapshot", "download", sid, file);
	snprintf(line, sizeof(line), "snapshot %s saved to %s (%lld bytes)\n", sid, file,
		 file_size(file));
	check(r.status == 0 && !strcmp(r.out, line) && entries(dl, name, sizeof(name)) == 1,
	      "snapshot download ID FILE: FILE alone, and says how much", "exit %d: %s%s",
	      r.status, r.out, r.err);
	run_free(&r);
	check(archive_matches(file, record, why, sizeof(why)),
	      "... a tar of the four files, as large as size_bytes, its manifest the record's "
	      "sha256", "%s", why);
	RUN(&r, "snapshot", "download", sid, "-");
	snprintf(line, sizeof(line), "%s/out", dir);
	check(r.status == 0 && same_file(line, file) && !r.err[0],
	      "snapshot download ID -: the same bytes on stdout, nothing else", "exit %d: %s",
	      r.status, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "download", "0f8fad5b-d9cb-469f-a165-70867728950e", file);
	check_fails("snapshot download of an unknown id: exit 3", &r, 3, "snapshot");
	check(entries(dl, name, sizeof(name)) == 1 && file_size(file) > 0,
	      "... and the FILE there before is untouched, no part left", "%d entries",
	      entries(dl, name, sizeof(name)));

	/* Upload: the same id is a conflict until it is deleted. */
	RUN(&r, "snapshot", "upload", file);
	check_fails("snapshot upload of a stored snapshot's archive: exit 4 (409)", &r, 4,
		    "snapshot_exists");
	RUN(&r, "snapshot", "delete", sid);
	snprintf(line, sizeof(line), "snapshot %s deleted\n", sid);
	check(r.status == 0 && !strcmp(r.out, line), "snapshot delete ID", "exit %d: %s%s",
	      r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "show", sid);
	check_fails("... it is gone: exit 3", &r, 3, "HTTP 404");
	RUN(&r, "snapshot", "delete", sid);
	check_fails("snapshot delete of an unknown id: exit 3", &r, 3, "HTTP 404");
	RUN(&r, "snapshot", "upload", file);
	check(r.status == 0 && strstr(r.out, sid) && strstr(r.out, "vm              cli-live"),
	      "snapshot upload FILE: stored again under its id, shown", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "delete", sid);
	run_free(&r);
	stdin_path = file;
	RUN(&r, "snapshot", "upload", "-", "--json");
	stdin_path = NULL;
	check(r.status == 0 && json_equal(r.json, record),
	      "snapshot upload - (stdin, a file): the same record as taken", "exit %d: %s%s",
	      r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "delete", sid);
	run_free(&r);
	{
		char fifo[200];
		pid_t feeder;

		snprintf(fifo, sizeof(fifo), "%s/archive.fifo", dir);
		mkfifo(fifo, 0600);
		feeder = feed_fifo(fifo, file);
		stdin_path = fifo;
		RUN(&r, "snapshot", "upload", "-", "--json");
		stdin_path = NULL;
		check(r.status == 0 && json_equal(r.json, record) && wait_exit(feeder) == 0,
		      "snapshot upload - (stdin, a pipe: sent chunked): the same record", "exit %d: %s%s",
		      r.status, r.out, r.err);
		run_free(&r);
		unlink(fifo);
	}
	snprintf(garbage, sizeof(garbage), "%s/garbage.tar", dir);
	write_file(garbage, "this is not a tar archive at all, not even close........", 0600);
	RUN(&r, "snapshot", "upload", garbage);
	check_fails("snapshot upload of garbage: exit 5 with the server's detail (422)", &r, 5,
		    "HTTP 422");

	/* The verdict, offline against the lab's sets; on this host's KVM. */
	RUN(&r, "snapshot", "check", sid, "--host", hostlatest);
	check(r.status == 0 && strstr(r.out, ": compatible\n") && strstr(r.out, "REGISTER") &&
		      strstr(r.out, "restore check: not run"),
	      "snapshot check ID --host latest: compatible, the table, exit 0", "exit %d: %s%s",
	      r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "check", sid, "--host", host510);
	check(r.status == 5 && strstr(r.out, ": NOT compatible\n") &&
		      strstr(r.out, "(rule psci_version_unsupported)"),
	      "snapshot check --host 5.10 of a 6.12 guest: NOT compatible, the rule, exit 5",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "check", sid, "--host", host510, "--json");
	check(r.status == 5 && json_is_false(json_object_get(r.json, "compatible")),
	      "snapshot check --json: the server's verdict, exit 5 as well", "exit %d: %.300s",
	      r.status, r.out);
	run_free(&r);
	RUN(&r, "snapshot", "check", "0f8fad5b-d9cb-469f-a165-70867728950e", "--host", hostlatest);
	check_fails("snapshot check --host of an unknown snapshot: exit 5 (422)", &r, 5,
		    "HTTP 422");
	RUN(&r, "snapshot", "check", sid);
	check_fails("snapshot check on a host without KVM: exit 9 (503)", &r, 9, "no_hypervisor");
	RUN(&r, "snapshot", "check", "0f8fad5b-d9cb-469f-a165-70867728950e");
	check_fails("snapshot check of an unknown snapshot: exit 3", &r, 3, "HTTP 404");

	/* Restore: the body's checks, then this host's lack of KVM. */
	RUN(&r, "vm", "restore", sid);
	check_fails("vm restore SNAPSHOT on a host without KVM: exit 9 (503) after its checks", &r,
		    9, "no_hypervisor");
	RUN(&r, "vm", "restore", sid, "--accept", "el2_feature_differs,pmu_id_differs", "--accept",
	    "vgic_revision_differs");
	check_fails("vm restore --accept RULE,RULE --accept RULE: a body pinvmd takes (then 503)",
		    &r, 9, "no_hypervisor");
	RUN(&r, "vm", "restore", sid, "--accept", "pmu_id_differs,all_of_them");
	check_fails("vm restore --accept of a rule no one may accept: exit 5 naming accept[1]", &r,
		    5, "field accept[1]");
	RUN(&r, "vm", "restore", "0f8fad5b-d9cb-469f-a165-70867728950e", "-q");
	check_fails("vm restore of an unknown snapshot: exit 5 (422 unknown_snapshot)", &r, 5,
		    "unknown_snapshot");
	RUN(&r, "vm", "restore");
	check(r.status == 2 && strstr(r.err, "vm restore SNAPSHOT"),
	      "vm restore without a snapshot: usage error", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "restore", sid, "--kernel", "x");
	check(r.status == 2, "vm restore --kernel: usage error (a snapshot has its own)",
	      "exit %d: %s", r.status, r.err);
	run_free(&r);

	/* Events: the phases of each snapshot, one line each. */
	RUN(&r, "events", "--since", "0", "--type", "vm.snapshot", "--vm", "cli-live", "--count",
	    "2");
	snprintf(line, sizeof(line), "completed: snapshot %s (%" JSON_INTEGER_FORMAT " bytes)\n",
		 sid, json_integer_value(json_object_get(record, "size_bytes")));
	check(r.status == 0 && strstr(r.out, "vm.snapshot") && strstr(r.out, " started\n") &&
		      strstr(r.out, line),
	      "events: a snapshot's 'started' and 'completed: snapshot ID (N bytes)'",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "create", full_vm);
	check_fails("snapshot create where the disk is full: exit 8 (507)", &r, 8,
		    "insufficient_storage");
	RUN(&r, "events", "--since", "0", "--type", "vm.snapshot", "--vm", full_vm, "--count", "2");
	check(r.status == 0 && strstr(r.out, " started\n") &&
		      strstr(r.out, " failed: insufficient_storage: "),
	      "events: a failed snapshot's 'failed: CODE: DETAIL'", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	RUN(&r, "snapshot", "create", "no-such-vm");
	check_fails("snapshot create of an unknown VM: exit 3", &r, 3, "vm_not_found");
	json_decref(record);
}

/*
 * The VM commands on x86: a running VM's record is seeded in a fresh
 * state directory with fake-vmm as its pinvm-vmm, pinvmd takes it over,
 * and the CLI lists, shows, pauses, resumes, stops, follows the console
 * of and deletes it.
 */
/*
 * fake_vm_spawn_running() of a guest that saw lab kernel `kernel`'s
 * firmware registers (pinned, and so read back): its snapshots meet the
 * lab's other hosts as a guest born there would.
 */
static bool spawn_pinned(const char *fake, const char *vmdir, const char *kernel,
			 struct vmm_client *vc)
{
	char path[300], cfgpath[300], console[300], sock[300], exitf[300];
	struct fw_pin pins[32];
	struct vmm_config cfg = { .kernel = "/nonexistent/Image", .cmdline = "console=ttyS0",
				  .vcpus = 1, .memory_mib = 64, .pins = pins };
	struct vmm_spawn sp = { .binary = fake, .config_path = cfgpath, .log_fd = -1,
				.control_socket = sock, .exit_file = exitf };
	struct vmm_event ev;
	struct vmm_error err;
	json_t *f, *reg;
	size_t i;

	snprintf(path, sizeof(path), "%s/lab-%s.json", fixtures, kernel);
	f = json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(json_object_get(f, "firmware_registers"), "registers"),
			   i, reg) {
		const char *id = json_string_value(json_object_get(reg, "id"));
		const char *value = json_string_value(json_object_get(reg, "value"));

		if (id && value && cfg.npins < 32) {
			pins[cfg.npins].id = strtoull(id, NULL, 16);
			pins[cfg.npins++].value = strtoull(value, NULL, 16);
		}
	}
	json_decref(f);
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", vmdir);
	snprintf(console, sizeof(console), "%s/console.log", vmdir);
	snprintf(sock, sizeof(sock), "%s/control.sock", vmdir);
	snprintf(exitf, sizeof(exitf), "%s/exit.json", vmdir);
	cfg.console = console;
	if (!cfg.npins || vmm_config_save(&cfg, cfgpath, &err) < 0 ||
	    vmm_client_spawn(vc, &sp, &err) < 0 || vmm_client_recv(vc, 5000, &ev, &err) < 0)
		return false;
	vmm_event_clear(&ev);
	if (vmm_client_request(vc, VMM_OP_START, 5000, &ev, &err) < 0)
		return false;
	vmm_event_clear(&ev);
	vmm_client_close(vc);
	return true;
}

/*
 * vm migrate's refusals: its usage, the bodies pinvmd refuses (each its
 * field), a paused VM, an unknown one, and this host without KVM, which
 * cannot read the guest's registers to judge the move (a migration
 * itself needs two KVM hosts: tests/lab-link.sh); and --cancel with
 * nothing to cancel. running_vm runs, paused_vm is paused.
 */
static void test_migrate_refusals(const char *running_vm, const char *paused_vm)
{
	static const char *const wrong[][7] = {
		{ "vm", "migrate", "VM" },
		{ "vm", "migrate", "--to", "http://127.0.0.1:1" },
		{ "vm", "migrate", "VM", "--cancel", "--to", "http://127.0.0.1:1" },
		{ "vm", "migrate", "VM", "--to" },
		{ "vm", "migrate", "VM", "--to", "http://127.0.0.1:1", "--speed" },
	};
	char to[64], nowhere[64], token[160], pem[160];
	struct run r;

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		char what[200] = "";

		run_env(&r, NULL, wrong[i]);
		for (size_t k = 0; k < 7 && wrong[i][k]; k++)
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s ",
				 wrong[i][k]);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ": usage error, exit 2");
		check(r.status == 2 && strstr(r.err, "vm migrate") && !r.out[0], what,
		      "exit %d: %s", r.status, r.err);
		run_free(&r);
	}
	/* Nothing listens there: pinvmd never gets that far. */
	snprintf(to, sizeof(to), "http://127.0.0.1:%d", free_port());
	snprintf(nowhere, sizeof(nowhere), "http://127.0.0.1:%d", free_port());
	RUN(&r, "vm", "migrate", "no-such-vm", "--to", to);
	check_fails("vm migrate of an unknown VM: exit 3", &r, 3, "vm_not_found");
	RUN(&r, "vm", "migrate", running_vm, "--to", "ftp://127.0.0.1:1");
	check_fails("vm migrate --to of another scheme: exit 5 (422 bad_url, field destination)",
		    &r, 5, "field destination");
	RUN(&r, "vm", "migrate", running_vm, "--to", "http://127.0.0.1:1/v1");
	check_fails("vm migrate --to a URL with a path: exit 5 (422 bad_url)", &r, 5, "bad_url");
	RUN(&r, "vm", "migrate", running_vm, "--to", to, "--accept", "everything");
	check_fails("vm migrate --accept of an unknown rule: exit 5 naming accept[0]", &r, 5,
		    "field accept[0]");
	snprintf(token, sizeof(token), "%s/short-token", dir);
	write_file(token, "short\n", 0600);
	RUN(&r, "vm", "migrate", running_vm, "--to", to, "--to-token-file", token);
	check_fails("vm migrate --to-token-file: the token is read here and sent (422 bad_token: "
		    "too short)", &r, 5, "field token");
	RUN(&r, "--url", nowhere, "vm", "migrate", running_vm, "--to", to, "--to-token-file",
	    "/nonexistent/token");
	check_fails("vm migrate --to-token-file that does not exist: exit 1, no request", &r, 1,
		    "/nonexistent/token");
	snprintf(pem, sizeof(pem), "%s/not.pem", dir);
	write_file(pem, "not a certificate\n", 0600);
	RUN(&r, "vm", "migrate", running_vm, "--to", to, "--to-cacert", pem);
	check_fails("vm migrate --to-cacert: the PEM is read here and sent (422, field ca)", &r, 5,
		    "field ca");
	RUN(&r, "--url", nowhere, "vm", "migrate", running_vm, "--to", to, "--to-cacert",
	    "/nonexistent/ca.pem");
	check_fails("vm migrate --to-cacert that does not exist: exit 1, no request", &r, 1,
		    "/nonexistent/ca.pem");
	RUN(&r, "vm", "migrate", paused_vm, "--to", to);
	check_fails("vm migrate of a paused VM: exit 4 (only a running guest moves live)", &r, 4,
		    "illegal_transition");
	RUN(&r, "vm", "migrate", running_vm, "--to", to, "--accept", "cache_geometry_differs");
	check_fails("vm migrate of a running VM on a host without KVM: exit 9 (503), the guest "
		    "left running", &r, 9, "no_hypervisor");
	RUN(&r, "vm", "show", running_vm);
	check(r.status == 0 && strstr(r.out, "state       running") && !strstr(r.out, "migration"),
	      "... it runs on, no migration recorded", "exit %d: %s", r.status, r.out);
	run_free(&r);
	RUN(&r, "vm", "migrate", running_vm, "--cancel");
	check_fails("vm migrate --cancel with none under way: exit 4 (409 not_migrating)", &r, 4,
		    "not_migrating");
	RUN(&r, "vm", "migrate", "no-such-vm", "--cancel");
	check_fails("vm migrate --cancel of an unknown VM: exit 3", &r, 3, "vm_not_found");
}

/* The record of a running VM as a dead pinvmd leaves it: the next one
 * asks its pinvm-vmm how it is. */
static json_t *vm_record(const char *id)
{
	return json_pack("{s:s, s:s, s:{s:i, s:i, s:s}, s:n, s:s, s:s, s:s, s:i}", "id", id,
			 "created_at", "2026-11-25T00:00:00Z", "spec", "vcpus", 1, "memory_mib",
			 64, "kernel", "guest.Image", "abi", "profile", "", "state", "running",
			 "reason", "", "pid", 4242);
}

static void test_live_vm(const char *pinvmd, const char *fake)
{
	char state[128], vmdir[160], console[200], follow_out[128], logp[128];
	char listen[64], url[64], err[256], fulldir[160];
	struct vmm_client vc, vc_full;
	struct store *s;
	struct run r;
	pid_t pid, fpid;
	int port = free_port(), status;
	json_t *doc;

	snprintf(state, sizeof(state), "%s/vmstate", dir);
	snprintf(vmdir, sizeof(vmdir), "%s/vms/cli-live", state);
	snprintf(console, sizeof(console), "%s/console.log", vmdir);
	snprintf(follow_out, sizeof(follow_out), "%s/follow.out", dir);
	snprintf(logp, sizeof(logp), "%s/pinvmd-vm.log", dir);
	snprintf(listen, sizeof(listen), "tcp:127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	mkdir(state, 0700);
	snprintf(err, sizeof(err), "%s/vms", state);
	mkdir(err, 0700);
	mkdir(vmdir, 0700);
	snprintf(fulldir, sizeof(fulldir), "%s/vms/cli-full", state);
	mkdir(fulldir, 0700);
	if (!check(store_open(state, &s, err, sizeof(err)) == 0, "a state directory to seed",
		   "%s", err))
		return;
	doc = vm_record("cli-live");
	check(doc && store_vm_put(s, "cli-live", doc, err, sizeof(err)) == 0,
	      "a running VM's record, seeded", "%s", err);
	json_decref(doc);
	doc = vm_record("cli-full");
	check(doc && store_vm_put(s, "cli-full", doc, err, sizeof(err)) == 0,
	      "and one whose snapshots find the disk full", "%s", err);
	json_decref(doc);
	store_close(s);
	write_file(console, "[    0.000000] Booting Linux\nlogin: ", 0600);
	if (!check(spawn_pinned(fake, vmdir, "6.12", &vc),
		   "fake-vmm runs as its pinvm-vmm, a guest of 6.12's registers", "see stderr"))
		return;
	if (!check(fake_vm_spawn_running_cmdline(fake, fulldir, "console=ttyS0 fake:snapshot-enospc",
						 &vc_full),
		   "a second fake-vmm runs, its disk full", "see stderr")) {
		kill(vc.pid, SIGKILL);
		waitpid(vc.pid, NULL, 0);
		return;
	}
	pid = daemon_spawn(pinvmd, (const char *const[]){ "--listen", listen, "--state-dir", state,
							  NULL },
			   logp);
	if (!check(port > 0 && daemon_wait_tcp(port, pid), "pinvmd takes the VM over", "see %s",
		   logp)) {
		kill(vc.pid, SIGKILL);
		kill(vc_full.pid, SIGKILL);
		waitpid(vc.pid, NULL, 0);
		waitpid(vc_full.pid, NULL, 0);
		return;
	}
	env_url = url;
	env_token = NULL;

	RUN(&r, "vm", "list");
	check(r.status == 0 && strstr(r.out, "cli-live  running  1      64 MiB  guest.Image"),
	      "vm list: the VM in a table row", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "show", "cli-live");
	check(r.status == 0 && strstr(r.out, "state       running") &&
		      strstr(r.out, "kernel      guest.Image"),
	      "vm show: its state and spec", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "start", "cli-live");
	check_fails("vm start of a running VM: exit 4 (409)", &r, 4, "HTTP 409");
	RUN(&r, "vm", "pause", "cli-live");
	check(r.status == 0 && strcmp(r.out, "cli-live paused\n") == 0, "vm pause: 'ID paused'",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "resume", "cli-live", "--json");
	check(r.status == 0 &&
		      strcmp(json_string_value(json_object_get(r.json, "state")) ? json_string_value(json_object_get(r.json, "state")) : "", "running") == 0,
	      "vm resume --json: the VM, running", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "list", "--state", "running", "--label", "none=x");
	check(r.status == 0 && !strstr(r.out, "cli-live"),
	      "vm list --state running --label none=x: not this VM", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "list", "--state", "running", "--json");
	check(r.status == 0 && json_array_size(json_object_get(r.json, "vms")) == 2,
	      "vm list --state running: the two VMs", "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "list", "--state", "sleeping");
	check_fails("vm list --state sleeping: exit 5 (400 bad_state)", &r, 5, "bad_state");
	RUN(&r, "vm", "list", "--colour", "red");
	check(r.status == 2, "vm list --colour: usage error", "exit %d", r.status);
	run_free(&r);
	/* The pause and resume above are events 1 and 2. */
	RUN(&r, "events", "--since", "0", "--count", "2");
	check(r.status == 0 && strstr(r.out, "vm.state") && strstr(r.out, "cli-live") &&
		      strstr(r.out, "paused (was running)") && strstr(r.out, "running (was paused)"),
	      "events --since 0 --count 2: the pause and the resume, one line each",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "events", "--since", "1", "--count", "1", "--vm", "cli-live", "--type", "vm.",
	    "--json");
	check(r.status == 0 && strstr(r.out, "\"id\":2") && strstr(r.out, "\"state\":\"running\""),
	      "events --since 1 --json with filters: event 2's JSON", "exit %d: %s%s", r.status,
	      r.out, r.err);
	run_free(&r);
	RUN(&r, "events", "--type", "VM");
	check_fails("events --type VM: exit 5 (400 bad_event_type)", &r, 5, "bad_event_type");
	RUN(&r, "events", "--since", "999999");
	check_fails("events --since beyond the history: 410 events_gone", &r, 8, "events_gone");
	test_snapshots("cli-full");
	test_migrate_refusals("cli-live", "cli-full");
	RUN(&r, "vm", "console", "cli-live");
	check(r.status == 0 && strcmp(r.out, "[    0.000000] Booting Linux\nlogin: ") == 0,
	      "vm console: the bytes as they are", "exit %d: '%s' %s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "console", "cli-live", "--offset", "15");
	check(r.status == 0 && strcmp(r.out, "Booting Linux\nlogin: ") == 0,
	      "vm console --offset 15: from byte 15", "exit %d: '%s'", r.status, r.out);
	run_free(&r);

	/* Following: new bytes appear as the VM writes them; a stop ends it. */
	fpid = run_bg(follow_out, (const char *const[]){ "vm", "console", "cli-live", "-f", NULL });
	check(wait_for_text(follow_out, "login: "), "vm console -f: what is there",
	      "nothing in %s", follow_out);
	append_file(console, "root\n# poweroff\n");
	check(wait_for_text(follow_out, "# poweroff"), "vm console -f: then what the VM writes",
	      "not in %s", follow_out);
	/* fake-vmm's guest echoes what is typed into its console. */
	RUN(&r, "vm", "console", "cli-live", "--input", "typed by cli");
	check(r.status == 0 && !r.out[0], "vm console --input TEXT: exit 0, quiet",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	check(wait_for_text(follow_out, "typed by cli\n"),
	      "vm console --input: the line reaches the guest (echoed on the -f stream)",
	      "not in %s", follow_out);
	RUN(&r, "vm", "console", "cli-live", "--input", "x", "-f");
	check(r.status == 2 && strstr(r.err, "two commands") && !r.out[0],
	      "vm console --input with -f: a usage error, exit 2", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "vm", "stop", "cli-live");
	check(r.status == 0 && strcmp(r.out, "cli-live stopped\n") == 0, "vm stop: 'ID stopped'",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	status = wait_exit(fpid);
	{
		char all[4096];

		slurp(follow_out, all, sizeof(all));
		check(status == 0 &&
			      strcmp(all, "[    0.000000] Booting Linux\nlogin: root\n# poweroff\n"
					  "typed by cli\n") == 0,
		      "vm console -f: ends by itself once the VM stopped, every byte once",
		      "exit %d: '%s'", status, all);
	}
	check(waitpid(vc.pid, &status, 0) == vc.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "... and fake-vmm was stopped", "status 0x%x", status);
	RUN(&r, "vm", "delete", "cli-live");
	check(r.status == 0 && strcmp(r.out, "vm cli-live deleted\n") == 0, "vm delete",
	      "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	RUN(&r, "vm", "console", "cli-live");
	check_fails("... its console is gone with it: exit 3", &r, 3, "vm_not_found");
	RUN(&r, "vm", "stop", "cli-full");
	run_free(&r);
	check(waitpid(vc_full.pid, &status, 0) == vc_full.pid, "the second fake-vmm was stopped",
	      "status 0x%x", status);
	stop(pid);
}

/* Natively: pinvmd on TCP with a token and on a Unix socket, then TLS. */
static int native(const char *pinvmd, const char *fake)
{
	char token[128], wrong[128], state[128], sock[128], log[128], images[160], img[200];
	char tcp[64], unixspec[256], url[64], bad_url[64], sockenv[200];
	char cert[128], key[128], tls_state[128], tls_log[128], https[64];
	int port = free_port(), tls_port;
	struct run r;
	pid_t pid, tls_pid = -1;

	snprintf(token, sizeof(token), "%s/token", dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong-token", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/pinvmd.sock", dir);
	snprintf(log, sizeof(log), "%s/pinvmd.log", dir);
	snprintf(images, sizeof(images), "%s/images", dir);
	snprintf(img, sizeof(img), "%s/cli-test.Image", images);
	write_file(token, "cli-test-token-0123456789abcdef\n", 0600);
	write_file(wrong, "not-the-token-0123456789abcdef\n", 0600);
	mkdir(images, 0755);
	write_file(img, "not a kernel", 0644);
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	snprintf(unixspec, sizeof(unixspec), "unix:%s", sock);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	pid = daemon_spawn(pinvmd, (const char *const[]){ "--listen", tcp, "--listen", unixspec,
							  "--token-file", token, "--state-dir", state,
							  "--image-dir", images, NULL },
			   log);
	if (!check(port > 0 && daemon_wait_tcp(port, pid) && daemon_wait_socket(sock, pid),
		   "pinvmd serves TCP (with a token) and a Unix socket", "see %s", log)) {
		stop(pid);
		return check_summary();
	}

	spawned = true;
	test_usage();
	/* Everything through the environment: PINVM_URL (with a trailing
	 * slash) and PINVM_TOKEN_FILE. */
	env_url = url;
	env_token = token;
	test_commands();

	env_token = NULL;
	RUN(&r, "host");
	check_fails("TCP without the token: exit 6 (401), one line", &r, 6, "HTTP 401");
	RUN(&r, "--token-file", wrong, "host");
	check_fails("TCP with a wrong token: exit 6 (401)", &r, 6, "HTTP 401");
	RUN(&r, "--token-file", "/nonexistent/token", "host");
	check_fails("--token-file that does not exist: exit 1", &r, 1, "/nonexistent/token");
	RUN(&r, "--token-file", token, "host", "--json");
	check(r.status == 0 && r.json, "--token-file beats a missing PINVM_TOKEN_FILE",
	      "exit %d: %s", r.status, r.err);
	run_free(&r);

	/* The Unix socket needs no token, and --socket beats PINVM_URL. */
	snprintf(bad_url, sizeof(bad_url), "http://127.0.0.1:%d", free_port());
	env_url = bad_url;
	RUN(&r, "host", "--json", "--socket", sock);
	check(r.status == 0 && json_is_string(json_object_get(r.json, "arch")),
	      "--socket PATH: over the Unix socket, no token, before PINVM_URL", "exit %d: %s",
	      r.status, r.err);
	run_free(&r);
	RUN(&r, "host");
	check_fails("PINVM_URL where nothing listens: exit 7, naming the URL", &r, 7, bad_url);
	RUN(&r, "host", "--json", "--socket=/nonexistent/x.sock", "--socket", sock);
	check(r.status == 0, "--socket=PATH form, the last one counts", "exit %d: %s", r.status, r.err);
	run_free(&r);
	RUN(&r, "--url", bad_url, "vm", "list");
	check_fails("--url where nothing listens: exit 7", &r, 7, "cannot reach pinvmd");
	RUN(&r, "--socket", "/nonexistent/pinvmd.sock", "host");
	check_fails("--socket that does not exist: exit 7, naming it", &r, 7,
		    "unix:/nonexistent/pinvmd.sock");
	RUN(&r, "--socket", sock, "--url", url, "host");
	check(r.status == 2, "--socket with --url: usage error", "exit %d", r.status);
	run_free(&r);

	/* More profiles than one page of GET /v1/profiles: the list has them all. */
	{
		struct client uc = { .base = "http://localhost" };
		unsigned made = 0, listed = 0;
		const char *line;

		snprintf(uc.unix_path, sizeof(uc.unix_path), "%s", sock);
		for (int i = 0; i < 150; i++) {
			struct response resp;
			char doc[160];

			snprintf(doc, sizeof(doc), "{\"name\": \"page-%03d\", \"registers\": "
				 "{\"PSCI_VERSION\": \"1.0\"}, \"unknown_registers\": \"disable\"}",
				 i);
			client_call(&uc, "POST", "/v1/profiles", NULL, doc, strlen(doc), NULL, &resp);
			made += resp.status == 201;
			response_free(&resp);
		}
		RUN(&r, "--socket", sock, "profile", "list");
		for (line = r.out; (line = strstr(line, "\npage-")); line++)
			listed++;
		check(r.status == 0 && made == 150 && listed == 150 && strstr(r.out, "page-000 ") &&
			      strstr(r.out, "page-149 "),
		      "profile list follows next_cursor: all 150 of a list longer than a page",
		      "exit %d, made %u, listed %u", r.status, made, listed);
		run_free(&r);
	}

	/* No URL, no socket: pinvmd's own default socket. */
	env_url = NULL;
	snprintf(sockenv, sizeof(sockenv), "XDG_RUNTIME_DIR=%s", dir);
	if (geteuid() != 0) {
		char rundir[160], defsock[200];
		pid_t dpid;

		snprintf(rundir, sizeof(rundir), "%s/pinvm", dir);
		snprintf(defsock, sizeof(defsock), "%s/pinvmd.sock", rundir);
		mkdir(rundir, 0700);
		snprintf(unixspec, sizeof(unixspec), "unix:%s", defsock);
		dpid = daemon_spawn(pinvmd, (const char *const[]){ "--listen", unixspec,
								   "--state-dir", state, NULL },
				    log);
		daemon_wait_socket(defsock, dpid);
		run_env(&r, (const char *const[]){ sockenv, NULL }, (const char *const[]){ "host", NULL });
		check(r.status == 0, "no --url/--socket: $XDG_RUNTIME_DIR/pinvm/pinvmd.sock",
		      "exit %d: %s", r.status, r.err);
		run_free(&r);
		stop(dpid);
	} else if (access("/run/pinvm/pinvmd.sock", F_OK) != 0) {
		run_env(&r, (const char *const[]){ sockenv, NULL }, (const char *const[]){ "host", NULL });
		check_fails("no --url/--socket as root: /run/pinvm/pinvmd.sock, as pinvmd", &r, 7,
			    "unix:/run/pinvm/pinvmd.sock");
	}
	stop(pid);

	test_live_vm(pinvmd, fake);

	/* HTTPS: verified with --cacert, refused without. */
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(tls_state, sizeof(tls_state), "%s/tls-state", dir);
	snprintf(tls_log, sizeof(tls_log), "%s/pinvmd-tls.log", dir);
	tls_port = free_port();
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", tls_port);
	snprintf(https, sizeof(https), "https://127.0.0.1:%d", tls_port);
	if (check(make_cert(cert, key), "openssl makes a certificate", "see %s/openssl.log", dir)) {
		tls_pid = daemon_spawn(pinvmd, (const char *const[]){ "--listen", tcp, "--tls-cert",
								      cert, "--tls-key", key,
								      "--token-file", token,
								      "--state-dir", tls_state, NULL },
				       tls_log);
		if (check(daemon_wait_tcp(tls_port, tls_pid), "pinvmd serves HTTPS", "see %s",
			  tls_log)) {
			RUN(&r, "--url", https, "--cacert", cert, "--token-file", token, "host");
			check(r.status == 0 && strstr(r.out, "hypervisor"),
			      "--url https://... --cacert: verified, served", "exit %d: %s",
			      r.status, r.err);
			run_free(&r);
			RUN(&r, "--url", https, "--token-file", token, "host");
			check_fails("https without its CA: exit 7 (not verified)", &r, 7,
				    "cannot reach pinvmd");
		}
		stop(tls_pid);
	}
	return check_summary();
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 4 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: test_cli PINVM FIXTURES (PINVMD FAKE_VMM | --url URL [--token-file F])\n");
		return 2;
	}
	pinvm = argv[1];
	fixtures = argv[2];
	if (strcmp(argv[3], "--url") == 0 && argc >= 5) {
		env_url = argv[4];
		if (argc == 7 && strcmp(argv[5], "--token-file") == 0)
			env_token = argv[6];
		test_usage();
		if (test_commands())
			test_vm_lifecycle();
		rc = check_summary();
	} else if (argc == 5) {
		rc = native(argv[3], argv[4]);
	} else {
		fprintf(stderr, "usage: test_cli PINVM FIXTURES PINVMD FAKE_VMM\n");
		rc = 2;
	}
	daemon_remove_dir(dir);
	return rc;
}
