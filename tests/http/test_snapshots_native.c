/*
 * Snapshots (issue 10) on a machine without KVM: every /v1/snapshots
 * route, the snapshot of a VM (fake-vmm, taken over by pinvmd as after a
 * restart, writes the directory), the archive round trip, every bad
 * archive, the record lifecycle, a full disk during a snapshot, kill -9 of
 * pinvmd during an import and at each stopping point of a snapshot
 * (vmm/test_hold.h: before the manifest, between rename and record, while
 * fake-vmm writes), kill -9 of fake-vmm mid-snapshot, and the offline
 * firmware verdict against the lab kernels' register sets. A restore itself needs KVM (the lab): here
 * it must stop at 503 after its checks.
 * usage: test_snapshots_native PINVMD FAKE_VMM FIXTURE_DIR
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "sse.h"
#include "store.h"
#include "vmm_client.h"
#include "vmm_config.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

static struct client c;
static pid_t children[4];

/* The daemon and the fake VMs never outlive the test (ctest would wait
 * for their inherited output forever). */
static void end_children(void)
{
	for (size_t i = 0; i < 4; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}
static char state[128], logpath[160], listen_spec[64], fixtures[256];
static const char *pinvmd;
static int port;
static struct sse events; /* vm.snapshot, opened before the first snapshot */

/*
 * Reads vm.snapshot events until one about vm in phase arrives (true),
 * skipping other VMs' and earlier phases; snapshot and code, when given,
 * must match its fields. Bounded: no sleep.
 */
static bool snapshot_event(struct sse *s, const char *vm, const char *phase,
			   const char *snapshot, const char *code)
{
	struct sse_event ev;

	while (sse_next(s, 30000, &ev) == 1) {
		const char *v = json_string_value(json_object_get(ev.data, "vm_id")) ?: "";
		const char *p = json_string_value(json_object_get(ev.data, "phase")) ?: "";
		bool match = !strcmp(v, vm) && !strcmp(p, phase);
		bool ok = match &&
			  (!snapshot || !strcmp(json_string_value(json_object_get(ev.data,
										"snapshot")) ?: "",
						snapshot)) &&
			  (!code || !strcmp(json_string_value(json_object_get(ev.data, "code")) ?: "",
					    code));

		sse_event_clear(&ev);
		if (match)
			return ok;
	}
	return false;
}

static pid_t start(void)
{
	const char *args[] = { "--listen", listen_spec, "--state-dir", state,
			       "--max-snapshot-bytes", "40000000", NULL };
	pid_t pid = daemon_spawn(pinvmd, args, logpath);

	children[3] = pid;
	return daemon_wait_tcp(port, pid) ? pid : -1;
}

static void stop(pid_t pid, int sig)
{
	int status;

	kill(pid, sig);
	waitpid(pid, &status, 0);
}

static json_t *fixture_regs(const char *kernel)
{
	char path[512];
	json_t *f, *set;

	snprintf(path, sizeof(path), "%s/lab-%s.json", fixtures, kernel);
	f = json_load_file(path, 0, NULL);
	set = json_incref(json_object_get(f, "firmware_registers"));
	json_decref(f);
	return set;
}

/*
 * A running fake VM "as a dead pinvmd left it" whose guest saw the
 * firmware registers of lab kernel `kernel` (its pins), seeded in the
 * store for pinvmd to take over.
 */
static bool seed_vm(struct store *s, const char *id, const char *kernel, const char *cmdline,
		    const char *fake, struct vmm_client *vc)
{
	char dir[256], cfgpath[300], console[300], sock[300], exitf[300], err[256];
	json_t *set = fixture_regs(kernel), *regs = json_object_get(set, "registers"), *r, *doc;
	struct fw_pin pins[16];
	struct vmm_config cfg = { .kernel = "/nonexistent/Image", .cmdline = (char *)cmdline,
				  .vcpus = 2, .memory_mib = 32, .pins = pins };
	struct vmm_spawn sp = { .binary = fake, .config_path = cfgpath, .log_fd = -1,
				.control_socket = sock, .exit_file = exitf };
	struct vmm_event ev;
	struct vmm_error verr;
	size_t i;
	bool ok;

	json_array_foreach(regs, i, r) {
		pins[i].id = strtoull(json_string_value(json_object_get(r, "id")), NULL, 16);
		pins[i].value = strtoull(json_string_value(json_object_get(r, "value")), NULL, 16);
		cfg.npins++;
	}
	snprintf(dir, sizeof(dir), "%s/vms/%s", state, id);
	mkdir(dir, 0700);
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", dir);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	snprintf(exitf, sizeof(exitf), "%s/exit.json", dir);
	cfg.console = console;
	ok = vmm_config_save(&cfg, cfgpath, &verr) == 0 && vmm_client_spawn(vc, &sp, &verr) == 0 &&
	     vmm_client_recv(vc, 5000, &ev, &verr) == 0;
	if (ok)
		vmm_event_clear(&ev);
	ok = ok && vmm_client_request(vc, VMM_OP_START, 5000, &ev, &verr) == 0;
	if (ok)
		vmm_event_clear(&ev);
	vmm_client_close(vc);
	json_decref(set);
	doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s, s:s}, s:n, s:s, s:s, s:s, s:i}", "id", id,
			"created_at", "2026-11-30T00:00:00Z", "spec", "vcpus", 2, "memory_mib", 32,
			"kernel", "guest.Image", "cmdline", cmdline, "abi", "profile", "", "state",
			"running", "reason", "", "pid", (int)vc->pid);
	ok = ok && store_vm_put(s, id, doc, err, sizeof(err)) == 0;
	json_decref(doc);
	{
		FILE *f = fopen(console, "a");

		if (f) {
			fputs("[    0.000000] Linux version (fake)\ntick 1\ntick 2\n", f);
			fclose(f);
		}
	}
	return ok;
}

static long call(const char *method, const char *path, const char *ctype, const char *body,
		 size_t len, struct response *r)
{
	client_call(&c, method, path, ctype, body, len, NULL, r);
	return r->status;
}

static long status_of(const char *method, const char *path, const char *body)
{
	struct response r;
	long s = call(method, path, NULL, body, body ? strlen(body) : 0, &r);

	response_free(&r);
	return s;
}

static const char *vm_state(const char *id)
{
	static char st[32];
	char path[128];
	struct response r;

	snprintf(path, sizeof(path), "/v1/vms/%s", id);
	call("GET", path, NULL, NULL, 0, &r);
	snprintf(st, sizeof(st), "%s", response_str(&r, "state") ?: "-");
	response_free(&r);
	return st;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* The entries in STATE/snapshots other than the stored ids (leftovers). */
static int leftovers(void)
{
	char root[200];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(root, sizeof(root), "%s/snapshots", state);
	d = opendir(root);
	while (d && (de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

static int stored_dirs(void)
{
	char root[200];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(root, sizeof(root), "%s/snapshots", state);
	d = opendir(root);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Where the test arms pinvmd's and fake-vmm's stopping points
 * (vmm/test_hold.h). */
static char holds[200];

static void arm(const char *point)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s.arm", holds, point);
	close(open(path, O_WRONLY | O_CREAT, 0600));
}

/* Waits (up to 30 s) for point to be reached: the pid held there, or 0. */
static long held(const char *point)
{
	char path[300];
	long pid = 0;

	snprintf(path, sizeof(path), "%s/%s", holds, point);
	for (int i = 0; i < 3000 && !pid; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (!pid)
			usleep(10000);
	}
	return pid;
}

static void release(const char *point)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", holds, point);
	unlink(path);
}

/* Sends a request without waiting for its answer; the socket, or -1. */
static int send_only(const char *method, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		     method, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, (size_t)n) != n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* How often pinvmd's log holds needle. */
static int log_count(const char *needle)
{
	size_t len;
	char *text = read_file(logpath, &len), *p = text;
	int n = 0;

	while (p && (p = strstr(p, needle))) {
		n++;
		p++;
	}
	free(text);
	return n;
}

static size_t listed(void)
{
	struct response r;
	size_t n;

	call("GET", "/v1/snapshots", NULL, NULL, 0, &r);
	n = json_array_size(json_object_get(r.json, "snapshots"));
	response_free(&r);
	return n;
}

/*
 * kill -9 of pinvmd at a stopping point of a snapshot of vm (running):
 * after the restart the VM is paused (pinvmd paused it for the snapshot)
 * and resumes, nothing new is listed, nothing half-made is left.
 */
static pid_t kill_pinvmd_in_snapshot(pid_t pid, const char *vm, const char *point)
{
	char path[128], name[200];
	size_t before = listed();
	int dirs = stored_dirs(), fd;

	snprintf(path, sizeof(path), "/v1/vms/%s/snapshot", vm);
	arm(point);
	fd = send_only("POST", path);
	check(fd >= 0 && held(point) == pid, "a snapshot stops at the point armed",
	      "%s not reached", point);
	stop(pid, SIGKILL);
	if (fd >= 0)
		close(fd);
	release(point);
	check(leftovers() + stored_dirs() > dirs, "the killed pinvmd left its half snapshot",
	      "nothing on disk at %s", point);
	pid = start();
	snprintf(name, sizeof(name), "kill -9 at %s: after the restart nothing new is listed, "
		 "nothing half-made is on disk", point);
	check(pid > 0 && listed() == before && leftovers() == 0 && stored_dirs() == dirs, name,
	      "%zu listed (were %zu), %d leftovers, %d dirs (were %d)", listed(), before,
	      leftovers(), stored_dirs(), dirs);
	snprintf(path, sizeof(path), "/v1/vms/%s/actions", vm);
	snprintf(name, sizeof(name), "kill -9 at %s: the VM is re-adopted paused and resumes",
		 point);
	check(!strcmp(vm_state(vm), "paused") &&
		      status_of("POST", path, "{\"action\":\"resume\"}") == 200 &&
		      !strcmp(vm_state(vm), "running"), name, "%s", vm_state(vm));
	return pid;
}

struct member {
	const char *name;
	const char *data;
	size_t len;
	int type;          /* AE_IFREG, AE_IFLNK, AE_IFDIR */
	bool sparse;       /* declare the zero 4 KiB pages as holes */
};

struct buf {
	char *p;
	size_t len, cap;
};

static la_ssize_t buf_write(struct archive *a, void *arg, const void *data, size_t n)
{
	struct buf *b = arg;

	(void)a;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return (la_ssize_t)n;
}

/* A pax tar of the members, in memory (tests' own archives). */
static struct buf pack(const struct member *m, size_t n)
{
	struct archive *a = archive_write_new();
	struct buf b = { 0 };

	archive_write_set_format_pax(a);
	archive_write_open(a, &b, NULL, buf_write, NULL);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, (unsigned)m[i].type);
		archive_entry_set_perm(e, 0600);
		if (m[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, "/etc/passwd");
		archive_entry_set_size(e, m[i].type == AE_IFREG ? (la_int64_t)m[i].len : 0);
		if (m[i].sparse) {
			static const char zero[4096];

			for (size_t off = 0; off < m[i].len; off += 4096)
				if (memcmp(m[i].data + off, zero, 4096))
					archive_entry_sparse_add_entry(e, (la_int64_t)off, 4096);
		}
		archive_write_header(a, e);
		if (m[i].type == AE_IFREG)
			archive_write_data(a, m[i].data, m[i].len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return b;
}

static long upload(const char *data, size_t len, struct response *r)
{
	return call("POST", "/v1/snapshots", "application/octet-stream", data, len, r);
}

static void expect_refused(const char *name, const struct member *m, size_t n, long status,
			   const char *code, const char *field)
{
	struct buf b = pack(m, n);
	struct response r;
	const char *f;
	int before = stored_dirs();

	upload(b.p, b.len, &r);
	f = response_str(&r, "field");
	check(r.status == status && !strcmp(response_str(&r, "code") ?: "", code) &&
		      (!field || (f && !strcmp(f, field))) && leftovers() == 0 &&
		      stored_dirs() == before,
	      name, "got %ld %s; %d leftovers, %d dirs (were %d)", r.status, r.body ? r.body : "",
	      leftovers(), stored_dirs(), before);
	response_free(&r);
	free(b.p);
}

int main(int argc, char **argv)
{
	char tmpdir[] = "/tmp/pinvm-snapshots-XXXXXX";
	char path[512], sid[64] = "", sid2[64] = "", err[256], dir[300];
	struct vmm_client vm1, vm2, vm3;
	struct response r;
	struct store *s;
	struct stat st;
	char *archive = NULL, *manifest = NULL, *vmjson = NULL, *console = NULL, *mem = NULL;
	size_t alen = 0, mlen = 0, vlen = 0, clen = 0, memlen = 0;
	pid_t pid;

	if (argc != 4 || !mkdtemp(tmpdir))
		return 2;
	/* Inherited by pinvmd and the fake VMs: nothing stops until armed. */
	snprintf(holds, sizeof(holds), "%s/holds", tmpdir);
	mkdir(holds, 0700);
	setenv("PINVM_TEST_HOLD_DIR", holds, 1);
	pinvmd = argv[1];
	snprintf(fixtures, sizeof(fixtures), "%s", argv[3]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	mkdir(state, 0700);
	snprintf(path, sizeof(path), "%s/vms", state);
	mkdir(path, 0700);
	port = daemon_free_port();
	snprintf(listen_spec, sizeof(listen_spec), "tcp:127.0.0.1:%d", port);
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);

	if (!check(store_open(state, &s, err, sizeof(err)) == 0, "open the store", "%s", err))
		return check_summary();
	check(seed_vm(s, "vm-612", "6.12", "console=ttyS0", argv[2], &vm1) &&
		      seed_vm(s, "vm-full", "6.12", "console=ttyS0 fake:snapshot-enospc", argv[2],
			      &vm2) &&
		      seed_vm(s, "vm-510", "5.10", "console=ttyS0", argv[2], &vm3),
	      "three fake VMs run (6.12's and 5.10's registers; one whose disk is full)",
	      "see fake-vmm");
	store_close(s);
	children[0] = vm1.pid;
	children[1] = vm2.pid;
	children[2] = vm3.pid;
	atexit(end_children);
	pid = start();
	if (!check(pid > 0, "pinvmd starts", "see %s", logpath))
		return check_summary();
	check(!strcmp(vm_state("vm-612"), "running"), "pinvmd took vm-612 over, running", "%s",
	      vm_state("vm-612"));

	/* Taking a snapshot: a running VM is paused for it and resumed; its
	 * phases are events. */
	check(sse_open(&events, port, "/v1/events?type=vm.snapshot", NULL, 10000) &&
		      events.status == 200,
	      "subscribe to vm.snapshot events", "%ld", events.status);
	call("POST", "/v1/vms/vm-612/snapshot", NULL, NULL, 0, &r);
	check(r.status == 201 && response_str(&r, "id") &&
		      !strcmp(response_str(&r, "vm") ?: "", "vm-612") &&
		      !strcmp(response_str(&r, "state") ?: "", "ready") &&
		      json_integer_value(json_object_get(r.json, "vcpus")) == 2 &&
		      json_integer_value(json_object_get(r.json, "memory_mib")) == 32 &&
		      strlen(response_str(&r, "sha256") ?: "") == 64 &&
		      json_integer_value(json_object_get(r.json, "size_bytes")) > 32 << 20,
	      "POST /v1/vms/{id}/snapshot: 201 with the record", "%ld %s", r.status,
	      r.body ? r.body : "");
	snprintf(sid, sizeof(sid), "%s", response_str(&r, "id") ?: "none");
	response_free(&r);
	check(snapshot_event(&events, "vm-612", "started", NULL, NULL) &&
		      snapshot_event(&events, "vm-612", "completed", sid, NULL),
	      "vm.snapshot events: started, then completed naming the snapshot", "see log");
	check(!strcmp(vm_state("vm-612"), "running"), "the VM runs again after its snapshot",
	      "%s", vm_state("vm-612"));
	check(status_of("POST", "/v1/vms/vm-612/actions", "{\"action\":\"pause\"}") == 200 &&
		      status_of("POST", "/v1/vms/vm-612/snapshot", NULL) == 201 &&
		      !strcmp(vm_state("vm-612"), "paused"),
	      "a paused VM stays paused after its snapshot", "%s", vm_state("vm-612"));
	check(status_of("POST", "/v1/vms/nope/snapshot", NULL) == 404,
	      "snapshot of an unknown VM: 404", "see log");

	/* Lists, pages and records. */
	call("GET", "/v1/snapshots?limit=1", NULL, NULL, 0, &r);
	check(r.status == 200 && json_array_size(json_object_get(r.json, "snapshots")) == 1 &&
		      response_str(&r, "next_cursor"),
	      "GET /v1/snapshots?limit=1: one record and a next_cursor", "%s",
	      r.body ? r.body : "");
	{
		char next[128];
		struct response r2;

		snprintf(next, sizeof(next), "/v1/snapshots?limit=1&cursor=%s",
			 response_str(&r, "next_cursor") ?: "x");
		call("GET", next, NULL, NULL, 0, &r2);
		check(r2.status == 200 && json_array_size(json_object_get(r2.json, "snapshots")) == 1 &&
			      !json_object_get(r2.json, "next_cursor"),
		      "the cursor gives the second and last", "%s", r2.body ? r2.body : "");
		snprintf(sid2, sizeof(sid2), "%s",
			 json_string_value(json_object_get(
				 json_array_get(json_object_get(r2.json, "snapshots"), 0), "id")) ?: "");
		response_free(&r2);
	}
	response_free(&r);
	check(status_of("GET", "/v1/snapshots?limit=0", NULL) == 400 &&
		      status_of("GET", "/v1/snapshots?cursor=zz", NULL) == 400 &&
		      status_of("GET", "/v1/snapshots?sort=x", NULL) == 400,
	      "bad limit, cursor or parameter: 400", "see log");
	snprintf(path, sizeof(path), "/v1/snapshots/%s", sid);
	call("GET", path, NULL, NULL, 0, &r);
	check(r.status == 200 && !strcmp(response_str(&r, "id") ?: "", sid) &&
		      json_object_get(json_object_get(r.json, "files"), "mem.raw"),
	      "GET /v1/snapshots/{id}: the record", "%s", r.body ? r.body : "");
	response_free(&r);
	check(status_of("GET", "/v1/snapshots/0f8fad5b-d9cb-469f-a165-70867728950e", NULL) == 404 &&
		      status_of("GET", "/v1/snapshots/..", NULL) == 404 &&
		      status_of("DELETE", "/v1/snapshots/not-an-id", NULL) == 404,
	      "unknown snapshot ids: 404", "see log");

	/* The archive: one streamed tar, mem.raw sparse in it. */
	snprintf(path, sizeof(path), "/v1/snapshots/%s/archive", sid);
	call("GET", path, NULL, NULL, 0, &r);
	check(r.status == 200 && !strcmp(r.content_type, "application/x-tar") && r.len > 2048 &&
		      r.len < 1 << 20,
	      "GET .../archive: application/x-tar, far smaller than the 32 MiB of RAM (sparse)",
	      "%ld %s, %zu bytes", r.status, r.content_type, r.len);
	archive = malloc(r.len);
	if (archive) {
		memcpy(archive, r.body, r.len);
		alen = r.len;
	}
	response_free(&r);

	/* Its members, for the tests' own archives. */
	snprintf(dir, sizeof(dir), "%s/snapshots/%s", state, sid);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	manifest = read_file(path, &mlen);
	snprintf(path, sizeof(path), "%s/vm.json", dir);
	vmjson = read_file(path, &vlen);
	snprintf(path, sizeof(path), "%s/console.log", dir);
	console = read_file(path, &clen);
	snprintf(path, sizeof(path), "%s/mem.raw", dir);
	mem = read_file(path, &memlen);
	check(manifest && vmjson && console && mem && memlen == 32 << 20 &&
		      strstr(console, "tick 2") && strstr(manifest, "\"format\": 1"),
	      "the stored directory: manifest.json, vm.json, console.log, mem.raw of 32 MiB",
	      "missing files in %s", dir);
	if (!manifest || !vmjson || !console || !mem || !archive)
		return check_summary();

	/* Import: the same id twice is a conflict; after DELETE it comes back. */
	upload(archive, alen, &r);
	check(r.status == 409 && !strcmp(response_str(&r, "code") ?: "", "snapshot_exists") &&
		      leftovers() == 0,
	      "importing a stored snapshot again: 409 snapshot_exists, nothing left", "%ld %s",
	      r.status, r.body ? r.body : "");
	response_free(&r);
	snprintf(path, sizeof(path), "/v1/snapshots/%s", sid);
	check(status_of("DELETE", path, NULL) == 204 && status_of("GET", path, NULL) == 404 &&
		      access(dir, F_OK) != 0,
	      "DELETE /v1/snapshots/{id}: 204, record and directory gone", "see log");
	upload(archive, alen, &r);
	check(r.status == 201 && !strcmp(response_str(&r, "id") ?: "", sid),
	      "POST /v1/snapshots (the archive): 201, same id", "%ld %s", r.status,
	      r.body ? r.body : "");
	response_free(&r);
	snprintf(path, sizeof(path), "%s/mem.raw", dir);
	check(stat(path, &st) == 0 && st.st_size == 32 << 20 && st.st_blocks * 512 < 1 << 20,
	      "the imported mem.raw is 32 MiB with its holes kept", "size %lld, %lld blocks",
	      (long long)st.st_size, (long long)st.st_blocks);
	check(status_of("POST", "/v1/snapshots", "{}") == 415,
	      "POST /v1/snapshots with JSON: 415", "see log");

	/* Bad archives: refused by name, nothing left behind. */
	{
		char *future = strdup(manifest), *bad_sum = strdup(vmjson), *p;
		struct member good[] = {
			{ "manifest.json", manifest, mlen, AE_IFREG, false },
			{ "vm.json", vmjson, vlen, AE_IFREG, false },
			{ "mem.raw", mem, memlen, AE_IFREG, true },
			{ "console.log", console, clen, AE_IFREG, false },
		};
		struct member m[6];
		struct buf b;

		/* Another id, so that a good one would be accepted. */
		p = strstr(manifest, sid);
		if (p)
			p[0] = p[0] == 'a' ? 'b' : 'a';
		b = pack(good, 4);
		upload(b.p, b.len, &r);
		check(r.status == 201, "a test-made archive is accepted (the baseline)", "%ld %s",
		      r.status, r.body ? r.body : "");
		response_free(&r);
		upload(b.p, b.len / 2, &r);
		check(r.status == 422 && leftovers() == 0 &&
			      (!strcmp(response_str(&r, "code") ?: "", "archive_truncated") ||
			       !strcmp(response_str(&r, "code") ?: "", "archive_incomplete")),
		      "a truncated archive: 422 archive_truncated, nothing left", "%ld %s",
		      r.status, r.body ? r.body : "");
		response_free(&r);
		free(b.p);
		if (p)
			p[0] = p[0] == 'a' ? 'b' : 'a'; /* a third id */
		if (p)
			p[1] = p[1] == 'a' ? 'b' : 'a';

		p = strstr(bad_sum, "fake");
		if (p)
			p[0] = 'F';
		memcpy(m, good, sizeof(good));
		m[1].data = bad_sum;
		expect_refused("vm.json changed after the manifest: 422 checksum_mismatch", m, 4, 422,
			       "checksum_mismatch", "files.vm.json");
		p = strstr(future, "\"format\": 1");
		if (p)
			p[10] = '2';
		memcpy(m, good, sizeof(good));
		m[0].data = future;
		expect_refused("a future format: 422 unsupported_format", m, 4, 422,
			       "unsupported_format", "manifest.format");
		memcpy(m, good, sizeof(good));
		m[4] = (struct member){ "../escape", "x", 1, AE_IFREG, false };
		expect_refused("an entry with ..: 422 archive_entry_escapes", m, 5, 422,
			       "archive_entry_escapes", "archive.../escape");
		m[4] = (struct member){ "/tmp/abs", "x", 1, AE_IFREG, false };
		expect_refused("an absolute entry: 422 archive_entry_escapes", m, 5, 422,
			       "archive_entry_escapes", NULL);
		memcpy(m, good, sizeof(good));
		m[3] = (struct member){ "console.log", NULL, 0, AE_IFLNK, false };
		expect_refused("a symlink member: 422 archive_entry_not_file", m, 4, 422,
			       "archive_entry_not_file", NULL);
		memcpy(m, good, sizeof(good));
		m[4] = (struct member){ "extra.bin", "x", 1, AE_IFREG, false };
		expect_refused("an unknown member: 422 archive_unknown_entry", m, 5, 422,
			       "archive_unknown_entry", "archive.extra.bin");
		memcpy(m, good, sizeof(good));
		m[4] = good[1];
		expect_refused("a member twice: 422 archive_duplicate_entry", m, 5, 422,
			       "archive_duplicate_entry", NULL);
		expect_refused("no mem.raw: 422 archive_incomplete", good, 2, 422, "archive_incomplete",
			       NULL);
		upload("this is not a tar archive at all, not even close........", 57, &r);
		check(r.status == 422 && leftovers() == 0, "garbage: 422, nothing left", "%ld %s",
		      r.status, r.body ? r.body : "");
		response_free(&r);
		{
			size_t big = 40000000 + 4096;
			char *junk = calloc(1, big);

			upload(junk, big, &r);
			check(r.status == 413 &&
				      !strcmp(response_str(&r, "code") ?: "", "snapshot_too_large") &&
				      leftovers() == 0,
			      "an archive over --max-snapshot-bytes: 413 snapshot_too_large",
			      "%ld %s", r.status, r.body ? r.body : "");
			response_free(&r);
			free(junk);
		}
		/* A plain (not sparse) tar of the RAM: its zero pages become holes. */
		memcpy(m, good, sizeof(good));
		m[2].sparse = false;
		b = pack(m, 4);
		upload(b.p, b.len, &r);
		check(r.status == 201, "a tar without sparse members is accepted", "%ld %s", r.status,
		      r.body ? r.body : "");
		snprintf(path, sizeof(path), "%s/snapshots/%s/mem.raw", state,
			 response_str(&r, "id") ?: "none");
		check(stat(path, &st) == 0 && st.st_size == 32 << 20 && st.st_blocks * 512 < 1 << 20,
		      "its mem.raw keeps only the data pages on disk", "size %lld, %lld blocks",
		      (long long)st.st_size, (long long)st.st_blocks);
		response_free(&r);
		free(b.p);
		free(future);
		free(bad_sum);
	}

	/* A full disk during the snapshot: paused, resumable, nothing listed. */
	{
		int n_before = stored_dirs();

		call("POST", "/v1/vms/vm-full/snapshot", NULL, NULL, 0, &r);
		check(r.status == 507 && !strcmp(response_str(&r, "code") ?: "", "insufficient_storage"),
		      "ENOSPC during the snapshot: 507 insufficient_storage", "%ld %s", r.status,
		      r.body ? r.body : "");
		response_free(&r);
		check(snapshot_event(&events, "vm-full", "started", NULL, NULL) &&
			      snapshot_event(&events, "vm-full", "failed", NULL,
					     "insufficient_storage"),
		      "vm.snapshot events: started, then failed with the 507's code", "see log");
		check(stored_dirs() == n_before && leftovers() == 0 &&
			      !strcmp(vm_state("vm-full"), "paused"),
		      "no directory, no row; the VM is paused", "%d dirs, %d leftovers, %s",
		      stored_dirs(), leftovers(), vm_state("vm-full"));
		check(status_of("POST", "/v1/vms/vm-full/actions", "{\"action\":\"resume\"}") == 200 &&
			      !strcmp(vm_state("vm-full"), "running"),
		      "and it resumes", "%s", vm_state("vm-full"));
	}

	/* Restore: checked before anything, then KVM is needed. */
	{
		char body[160];

		snprintf(body, sizeof(body), "{\"snapshot\": \"%s\"}", sid);
		call("POST", "/v1/vms", NULL, body, strlen(body), &r);
		check(r.status == 503 && !strcmp(response_str(&r, "code") ?: "", "no_hypervisor"),
		      "POST /v1/vms {snapshot} without KVM: 503 no_hypervisor after its checks",
		      "%ld %s", r.status, r.body ? r.body : "");
		response_free(&r);
		snprintf(body, sizeof(body), "{\"snapshot\": \"%s\", \"kernel\": \"x\"}", sid);
		call("POST", "/v1/vms", NULL, body, strlen(body), &r);
		check(r.status == 422 && !strcmp(response_str(&r, "field") ?: "", "kernel"),
		      "a restore body with a kernel: 422 naming it", "%ld %s", r.status,
		      r.body ? r.body : "");
		response_free(&r);
		snprintf(body, sizeof(body), "{\"snapshot\": \"%s\", \"accept\": "
			 "[\"pmu_id_differs\", \"id_register_differs\"]}", sid);
		call("POST", "/v1/vms", NULL, body, strlen(body), &r);
		check(r.status == 422 && !strcmp(response_str(&r, "code") ?: "", "unknown_rule") &&
			      !strcmp(response_str(&r, "field") ?: "", "accept[1]"),
		      "a restore accepting a rule that cannot be accepted: 422 naming accept[1]",
		      "%ld %s", r.status, r.body ? r.body : "");
		response_free(&r);
		snprintf(body, sizeof(body), "{\"snapshot\": \"%s\", \"accept\": "
			 "[\"el2_feature_differs\"]}", sid);
		call("POST", "/v1/vms", NULL, body, strlen(body), &r);
		check(r.status == 503,
		      "a restore accepting el2_feature_differs passes the body's checks (503 "
		      "without KVM)", "%ld %s", r.status, r.body ? r.body : "");
		response_free(&r);
		call("POST", "/v1/vms", NULL, "{\"snapshot\": \"nope\"}", 20, &r);
		check(r.status == 422 && !strcmp(response_str(&r, "code") ?: "", "unknown_snapshot"),
		      "a restore of an unknown snapshot: 422 unknown_snapshot", "%ld %s", r.status,
		      r.body ? r.body : "");
		response_free(&r);
		snprintf(path, sizeof(path), "/v1/snapshots/%s/compatibility", sid);
		check(status_of("GET", path, NULL) == 503,
		      "GET .../compatibility without KVM: 503", "see log");
	}

	/* The offline verdict against the lab kernels' register sets. */
	{
		json_t *body = json_pack("{s:s, s:o}", "snapshot", sid, "host", fixture_regs("5.10"));
		char *text = json_dumps(body, 0);
		const json_t *reg;
		size_t i;
		bool psci = false, bmap2 = false;

		call("POST", "/v1/compatibility", NULL, text, strlen(text), &r);
		json_array_foreach(json_object_get(r.json, "registers"), i, reg)
			if (!strcmp(json_string_value(json_object_get(reg, "name")) ?: "", "PSCI_VERSION"))
				psci = !strcmp(json_string_value(json_object_get(reg, "rule")) ?: "",
					       "psci_version_unsupported");
		check(r.status == 200 && json_is_false(json_object_get(r.json, "compatible")) && psci &&
			      !strcmp(response_str(&r, "snapshot") ?: "", sid),
		      "a 6.12 guest's snapshot on 5.10: refused, PSCI_VERSION psci_version_unsupported",
		      "%ld %.400s", r.status, r.body ? r.body : "");
		response_free(&r);
		free(text);
		json_decref(body);
		body = json_pack("{s:s, s:o}", "snapshot", sid, "host", fixture_regs("latest"));
		text = json_dumps(body, 0);
		call("POST", "/v1/compatibility", NULL, text, strlen(text), &r);
		json_array_foreach(json_object_get(r.json, "registers"), i, reg)
			if (!strcmp(json_string_value(json_object_get(reg, "name")) ?: "",
				    "VENDOR_HYP_BMAP_2"))
				bmap2 = !strcmp(json_string_value(json_object_get(reg, "write")) ?: "",
						"0x0");
		check(r.status == 200 && json_is_true(json_object_get(r.json, "compatible")) && bmap2,
		      "the same on latest: compatible, VENDOR_HYP_BMAP_2 written 0", "%ld %.400s",
		      r.status, r.body ? r.body : "");
		response_free(&r);
		free(text);
		json_decref(body);
		text = "{\"snapshot\": \"x\", \"host\": {\"kernel_release\": \"x\", \"registers\": []}}";
		call("POST", "/v1/compatibility", NULL, text, strlen(text), &r);
		text = NULL;
		check(r.status == 422, "the offline verdict of an unknown snapshot: 422", "%ld %s",
		      r.status, r.body ? r.body : "");
		response_free(&r);
	}

	/* kill -9 in the middle of an import, and a death between rename and
	 * insert: after the restart, no listed snapshot that cannot be used. */
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		char head[256], orphan[300];
		json_t *list;
		size_t n_before;
		bool all_ok = true;

		call("GET", "/v1/snapshots", NULL, NULL, 0, &r);
		n_before = json_array_size(json_object_get(r.json, "snapshots"));
		response_free(&r);
		snprintf(head, sizeof(head),
			 "POST /v1/snapshots HTTP/1.1\r\nHost: x\r\nContent-Type: "
			 "application/octet-stream\r\nContent-Length: %zu\r\n\r\n", alen);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			if (write(fd, head, strlen(head)) < 0 || write(fd, archive, alen / 2) < 0)
				fprintf(stderr, "# partial upload write failed\n");
		}
		usleep(200000);
		stop(pid, SIGKILL);
		close(fd);
		snprintf(orphan, sizeof(orphan), "%s/snapshots/.tmp-dead01", state);
		mkdir(orphan, 0700);
		snprintf(path, sizeof(path), "%s/vm.json", orphan);
		close(open(path, O_WRONLY | O_CREAT, 0600));
		snprintf(orphan, sizeof(orphan), "%s/snapshots/0f8fad5b-d9cb-469f-a165-70867728950e",
			 state);
		mkdir(orphan, 0700);
		pid = start();
		check(pid > 0 && leftovers() == 0 && access(orphan, F_OK) != 0,
		      "after kill -9: no temporary and no unlisted directory is left",
		      "%d leftovers; %s %s", leftovers(), orphan,
		      access(orphan, F_OK) ? "gone" : "there");
		call("GET", "/v1/snapshots", NULL, NULL, 0, &r);
		list = json_object_get(r.json, "snapshots");
		for (size_t i = 0; i < json_array_size(list); i++) {
			const char *id = json_string_value(json_object_get(json_array_get(list, i), "id"));
			json_t *body = json_pack("{s:s, s:o}", "snapshot", id, "host",
						 fixture_regs("6.12"));
			char *text = json_dumps(body, 0);

			all_ok = all_ok && status_of("POST", "/v1/compatibility", text) == 200;
			free(text);
			json_decref(body);
		}
		check(r.status == 200 && json_array_size(list) == n_before && all_ok,
		      "every listed snapshot is still there and can be judged for a restore",
		      "%zu listed, were %zu", json_array_size(list), n_before);
		response_free(&r);
	}

	/* kill -9 during a snapshot, at each stopping point (issue 10). */
	pid = kill_pinvmd_in_snapshot(pid, "vm-612", "snapshot-written");
	pid = kill_pinvmd_in_snapshot(pid, "vm-612", "snapshot-renamed");
	{
		/* pinvmd killed while pinvm-vmm writes: the next pinvmd waits for
		 * the busy pinvm-vmm instead of writing its VM off. */
		const char *args[] = { "--listen", listen_spec, "--state-dir", state,
				       "--max-snapshot-bytes", "40000000", NULL };
		size_t before = listed();
		int fd, waits = log_count("trying again"), i;
		long vpid;

		arm("vmm-snapshot-memory");
		fd = send_only("POST", "/v1/vms/vm-612/snapshot");
		vpid = held("vmm-snapshot-memory");
		check(fd >= 0 && vpid > 0 && vpid != pid, "fake-vmm stops mid-snapshot",
		      "not reached");
		stop(pid, SIGKILL);
		if (fd >= 0)
			close(fd);
		pid = daemon_spawn(pinvmd, args, logpath);
		children[3] = pid;
		/* Past three attach timeouts, where it used to be written off. */
		for (i = 0; i < 1200 && log_count("trying again") <= waits + 3; i++)
			usleep(50000);
		check(log_count("trying again") > waits + 3,
		      "the restarted pinvmd waits for the pinvm-vmm busy with the snapshot "
		      "(4 attach timeouts)", "fewer retries logged; see %s", logpath);
		release("vmm-snapshot-memory");
		check(daemon_wait_tcp(port, pid) && !strcmp(vm_state("vm-612"), "paused") &&
			      listed() == before && leftovers() == 0,
		      "once it is done: re-adopted paused, its snapshot neither listed nor left",
		      "%s, %zu listed (were %zu), %d leftovers", vm_state("vm-612"), listed(),
		      before, leftovers());
		check(status_of("POST", "/v1/vms/vm-612/actions", "{\"action\":\"resume\"}") == 200 &&
			      !strcmp(vm_state("vm-612"), "running"),
		      "and resumes", "%s", vm_state("vm-612"));
	}
	/* The snapshot of a 5.10 guest judged on 6.1: bitmaps pinned 0. */
	call("POST", "/v1/vms/vm-510/snapshot", NULL, NULL, 0, &r);
	check(r.status == 201, "a 5.10 guest's snapshot", "%ld %s", r.status, r.body ? r.body : "");
	if (r.status == 201) {
		json_t *body = json_pack("{s:s, s:o}", "snapshot", response_str(&r, "id"), "host",
					 fixture_regs("6.1"));
		char *text = json_dumps(body, 0);
		struct response r2;

		const json_t *reg;
		size_t i;
		int zeroed = 0;

		call("POST", "/v1/compatibility", NULL, text, strlen(text), &r2);
		json_array_foreach(json_object_get(r2.json, "registers"), i, reg)
			if (strstr(json_string_value(json_object_get(reg, "name")) ?: "", "BMAP") &&
			    !strcmp(json_string_value(json_object_get(reg, "pinned")) ?: "", "0x0") &&
			    !strcmp(json_string_value(json_object_get(reg, "write")) ?: "", "0x0"))
				zeroed++;
		check(r2.status == 200 && zeroed == 3,
		      "judged on 6.1: the 3 bitmaps the 5.10 guest never saw are written 0",
		      "%d zeroed: %.300s", zeroed, r2.body ? r2.body : "");
		response_free(&r2);
		free(text);
		json_decref(body);
	}
	response_free(&r);

	{
		/* pinvm-vmm killed mid-snapshot (after vm-510's use above): an
		 * error answer, the VM reported ended, nothing listed or left. */
		size_t before = listed();
		long vpid;
		struct response r3;
		char *reason;

		arm("vmm-snapshot-memory");
		if (fork() == 0) {
			vpid = held("vmm-snapshot-memory");
			if (vpid > 0)
				kill((pid_t)vpid, SIGKILL);
			release("vmm-snapshot-memory");
			_exit(0);
		}
		call("POST", "/v1/vms/vm-510/snapshot", NULL, NULL, 0, &r3);
		wait(NULL);
		check(r3.status == 500 && !strcmp(response_str(&r3, "code") ?: "", "snapshot_failed"),
		      "pinvm-vmm killed during the snapshot: 500 snapshot_failed", "%ld %s",
		      r3.status, r3.body ? r3.body : "");
		response_free(&r3);
		call("GET", "/v1/vms/vm-510", NULL, NULL, 0, &r3);
		reason = strdup(response_str(&r3, "reason") ?: "");
		/* Not pinvmd's child (the test spawned it): killed, without the signal. */
		check((!strcmp(response_str(&r3, "state") ?: "", "failed") ||
		       !strcmp(response_str(&r3, "state") ?: "", "stopped")) && strstr(reason, "killed"),
		      "the VM is reported ended, killed", "%s", r3.body ? r3.body : "");
		response_free(&r3);
		free(reason);
		check(listed() == before && leftovers() == 0,
		      "no snapshot listed, no half directory left", "%zu listed (were %zu), %d left",
		      listed(), before, leftovers());
	}

	stop(pid, SIGTERM);
	children[3] = 0;
	end_children();
	free(archive);
	free(manifest);
	free(vmjson);
	free(console);
	free(mem);
	if (check_summary() == 0 && daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
