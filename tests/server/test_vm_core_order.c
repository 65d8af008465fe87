/*
 * Every path that makes a VM gives it its creation order, the cursor of
 * GET /v1/vms?limit= (the bug fixed in 689f43c: a restored VM had order 0
 * and so showed on every page). vm_core itself, without HTTP: pinvmd's
 * restore and incoming routes stop at 503 on a host without KVM before
 * they reach the core, so the core gets a host that says KVM, and
 * fake-vmm stands in for pinvm-vmm (a link named pinvm-vmm beside this
 * binary, where vmm_client_default_binary() looks). A created VM, two
 * restores and an incoming migration (its stream sent over the ticketed
 * port) are paged through one at a time: each shows once, newest first,
 * and the walk ends. The start they share (vm_core_begin, vm_core_abandon)
 * is held to its order and its undoing: a create's refusals come name
 * first, then image names, the host, the images' contents, each giving
 * the name back; a restore refused by the host check, one that fails once
 * its directory and record exist, and a migration refused while pinvm-vmm
 * listens leave nothing behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "migrate_relay.h"
#include "store.h"
#include "vm_core.h"
#include "vm_query.h"
#include "vm_spec.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 60000 /* generous: the machine may be loaded */

static char tmp[] = "/tmp/pinvm-core-order-XXXXXX";
static char state_dir[PATH_MAX], snap_dir[PATH_MAX], image_dir[PATH_MAX];
static struct kvm_host_info host;
static struct store *store;
static struct vm_core *core;

/* An arm64 Image header (8 MiB reserved, little-endian) and 4 KiB: what
 * image_check() takes for a kernel. */
static int write_image(const char *path)
{
	unsigned char h[4096] = { 0 };
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	for (int i = 0; i < 8; i++) {
		h[8 + i] = (unsigned char)(0x80000ULL >> (8 * i));
		h[16 + i] = (unsigned char)((8ULL << 20) >> (8 * i));
		h[24 + i] = (unsigned char)(2ULL >> (8 * i));
	}
	memcpy(h + 56, "ARM\x64", 4);
	ok = fwrite(h, 1, sizeof(h), f) == sizeof(h);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int setup(void **ctx)
{
	struct vm_core_config cfg = { .max_vms = 8, .stop_on_exit = true };
	char err[256], path[PATH_MAX + 16];
	FILE *f;

	(void)ctx;
	if (!mkdtemp(tmp))
		return -1;
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(snap_dir, sizeof(snap_dir), "%s/snap", tmp);
	snprintf(image_dir, sizeof(image_dir), "%s/images", tmp);
	if (mkdir(state_dir, 0700) < 0 || mkdir(snap_dir, 0700) < 0 ||
	    mkdir(image_dir, 0700) < 0 || store_open(state_dir, &store, err, sizeof(err)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/guest.Image", image_dir);
	if (write_image(path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/junk.Image", image_dir);
	f = fopen(path, "w");
	if (!f || fputs("not really a kernel, but longer than an arm64 Image header is: "
			"sixty-four bytes and then some", f) < 0 || fclose(f) != 0)
		return -1;
	cfg.image_dir = image_dir;
	/* What kvm_host_probe() says on an arm64 KVM host, as far as the
	 * core's check reads it. */
	host.hypervisor = true;
	host.caps[0].name = "max_vcpus";
	host.caps[0].value = 8;
	host.ncaps = 1;
	cfg.store = store;
	cfg.host = &host;
	cfg.state_dir = state_dir;
	return vm_core_new(&core, &cfg);
}

static int teardown(void **ctx)
{
	char cmd[PATH_MAX + 16];

	(void)ctx;
	vm_core_free(core);
	store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* vm_core_create() from body (JSON text), NULL with err when refused. */
static struct vm_entry *create(const char *body, struct api_error *err)
{
	json_t *doc = json_loads(body, 0, NULL);
	struct vm_entry *e = NULL;
	struct vm_spec spec;

	assert_non_null(doc);
	if (vm_spec_parse(doc, &spec, err) < 0 ||
	    vm_core_create(core, &spec, doc, NULL, &e, err) < 0)
		e = NULL;
	json_decref(doc);
	return e;
}

static struct vm_entry *restore(const char *dir, unsigned vcpus, struct api_error *err)
{
	struct vm_restore r = { .dir = dir, .vcpus = vcpus, .memory_mib = 64, .profile = "" };
	json_t *doc = json_pack("{s:s}", "snapshot", "snap");
	struct vm_entry *e = NULL;

	assert_non_null(doc);
	if (vm_core_restore(core, &r, doc, &e, err) < 0)
		e = NULL;
	json_decref(doc);
	return e;
}

/* e's state, or VM_FAILED once it is being ended (an incoming
 * migration that failed is ended and forgotten). */
static enum vm_state state_of(struct vm_entry *e)
{
	enum vm_state s;

	pthread_mutex_lock(&e->lock);
	s = e->ending ? VM_FAILED : e->state;
	pthread_mutex_unlock(&e->lock);
	return s;
}

/* An incoming VM, its stream sent and ended; once fake-vmm says it is
 * built it is paused. */
static struct vm_entry *migrate_in(void)
{
	struct vm_incoming in = { .vcpus = 1, .memory_mib = 64, .source = "test" };
	json_t *spec = json_pack("{s:i, s:i, s:s, s:s}", "vcpus", 1, "memory_mib", 64, "kernel",
				 "Image", "name", "the-source-name");
	char ticket[MIGRATE_TICKET_LEN + 1];
	struct vm_entry *e = NULL;
	struct api_error err = { 0 };
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	unsigned port = 0;
	int fd = -1;

	assert_non_null(spec);
	if (vm_core_incoming(core, &in, spec, &e, &port, ticket, &err) < 0)
		fail_msg("incoming: %u %s %s", err.status, err.code, err.detail);
	json_decref(spec);
	/* Names are one pinvmd's: the source's is not kept. */
	assert_null(json_object_get(e->spec, "name"));
	assert_int_equal(migrate_connect_tcp("127.0.0.1", port, ticket, &fd), 0);
	assert_int_equal(write(fd, "stream", 6), 6);
	close(fd);
	for (int waited = 0; state_of(e) == VM_CREATING && waited < WAIT_MS; waited += 10)
		nanosleep(&nap, NULL);
	assert_int_equal(state_of(e), VM_PAUSED);
	return e;
}

static void test_pages(void **ctx)
{
	struct vm_entry *vms[4];
	struct vm_query q = { .limit = 1 };
	struct api_error err = { 0 };
	unsigned long long next;
	size_t pages = 0;

	(void)ctx;
	vms[0] = create("{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"guest.Image\"}", &err);
	if (!vms[0])
		fail_msg("create: %u %s %s", err.status, err.code, err.detail);
	vms[1] = restore(snap_dir, 1, &err);
	if (!vms[1])
		fail_msg("restore: %u %s %s", err.status, err.code, err.detail);
	vms[2] = restore(snap_dir, 2, &err);
	if (!vms[2])
		fail_msg("restore: %u %s %s", err.status, err.code, err.detail);
	vms[3] = migrate_in();
	/* Newest first, one a page, each once, and the last page says so. */
	do {
		json_t *list = vm_core_select(core, &q, &next);
		const char *id;

		assert_non_null(list);
		assert_true(pages < 4);
		assert_int_equal(json_array_size(list), 1);
		id = json_string_value(json_object_get(json_array_get(list, 0), "id"));
		assert_non_null(id);
		assert_string_equal(id, vms[3 - pages]->id);
		json_decref(list);
		pages++;
		q.before = next;
	} while (next);
	assert_int_equal(pages, 4);
	assert_true(vms[0]->seq > 0);
	for (size_t i = 1; i < 4; i++)
		assert_true(vms[i]->seq > vms[i - 1]->seq);

	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(vm_core_delete(core, vms[i]->id, &err), 0);
		vm_entry_put(vms[i]);
	}
}

/* Nothing under STATE/vms and no VM record. */
static void assert_nothing_left(void)
{
	char path[PATH_MAX + 8], err[256];
	struct dirent *de;
	json_t *recs = NULL;
	DIR *d;

	snprintf(path, sizeof(path), "%s/vms", state_dir);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			fail_msg("left behind: %s/%s", path, de->d_name);
	if (d)
		closedir(d);
	assert_int_equal(store_vm_list(store, &recs, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(recs), 0);
	json_decref(recs);
}

/* create() of body with ' for " (easier to read). */
static struct vm_entry *create_q(const char *body, struct api_error *err)
{
	char json[512];
	size_t i;

	for (i = 0; body[i] && i < sizeof(json) - 1; i++)
		json[i] = body[i] == '\'' ? '"' : body[i];
	json[i] = '\0';
	return create(json, err);
}

static void refused(const char *body, unsigned status, const char *code, const char *field)
{
	struct api_error err = { 0 };
	struct vm_entry *e = create_q(body, &err);

	if (e)
		fail_msg("%s: created", body);
	if (err.status != status || strcmp(err.code, code) || strcmp(err.field, field))
		fail_msg("%s: %u %s %s, not %u %s %s", body, err.status, err.code, err.field,
			 status, code, field);
}

/* A create's refusals come in their order, each giving back the name. */
static void test_create_refusals(void **ctx)
{
	struct api_error err = { 0 };
	struct vm_entry *web, *db;

	(void)ctx;
	web = create_q("{'vcpus': 1, 'memory_mib': 64, 'kernel': 'guest.Image', 'name': 'web'}",
		       &err);
	if (!web)
		fail_msg("create: %u %s %s", err.status, err.code, err.detail);
	/* The name first: a conflict is the client's to fix whatever else. */
	refused("{'vcpus': 1, 'memory_mib': 64, 'kernel': 'guest.Image', 'name': 'web'}", 409,
		"name_taken", "name");
	refused("{'vcpus': 9, 'memory_mib': 64, 'kernel': '../x', 'name': 'web'}", 409,
		"name_taken", "name");
	/* Then the image names, the host, what the images hold. */
	refused("{'vcpus': 9, 'memory_mib': 64, 'kernel': '../x', 'name': 'db'}", 400,
		"bad_image_name", "kernel");
	refused("{'vcpus': 9, 'memory_mib': 64, 'kernel': 'junk.Image', 'name': 'db'}", 422,
		"exceeds_host", "vcpus");
	refused("{'vcpus': 1, 'memory_mib': 64, 'kernel': 'junk.Image', 'name': 'db'}", 422,
		"not_an_image", "kernel");
	db = create_q("{'vcpus': 1, 'memory_mib': 64, 'kernel': 'guest.Image', 'name': 'db'}", &err);
	if (!db)
		fail_msg("create db after its refusals: %u %s %s", err.status, err.code, err.detail);
	/* DELETE gives the name back too. */
	assert_int_equal(vm_core_delete(core, web->id, &err), 0);
	vm_entry_put(web);
	web = create_q("{'vcpus': 1, 'memory_mib': 64, 'kernel': 'guest.Image', 'name': 'web'}",
		       &err);
	if (!web)
		fail_msg("create web again: %u %s %s", err.status, err.code, err.detail);
	assert_int_equal(vm_core_delete(core, web->id, &err), 0);
	assert_int_equal(vm_core_delete(core, db->id, &err), 0);
	vm_entry_put(web);
	vm_entry_put(db);
	assert_nothing_left();
}

static void test_failures_leave_nothing(void **ctx)
{
	char bad[PATH_MAX + 16], console[PATH_MAX + 32];
	struct api_error err = { 0 };
	struct vm_entry *e;
	json_t *list;

	(void)ctx;
	/* Refused before anything is made. */
	e = restore(snap_dir, 9, &err);
	assert_null(e);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "exceeds_host");
	assert_string_equal(err.field, "vcpus");
	assert_nothing_left();

	/* Failing once its directory and record exist: a snapshot whose
	 * console.log cannot be copied. */
	snprintf(bad, sizeof(bad), "%s/bad", tmp);
	snprintf(console, sizeof(console), "%s/console.log", bad);
	assert_int_equal(mkdir(bad, 0700), 0);
	assert_int_equal(mkdir(console, 0700), 0);
	memset(&err, 0, sizeof(err));
	e = restore(bad, 1, &err);
	assert_null(e);
	assert_true(err.status >= 500);
	assert_nothing_left();

	/* Every place under --max-vms was given back. */
	list = vm_core_list(core);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	for (int i = 0; i < 8; i++) {
		e = restore(snap_dir, 1, &err);
		if (!e)
			fail_msg("restore %d: %u %s %s", i, err.status, err.code, err.detail);
		vm_entry_put(e);
	}
	e = restore(snap_dir, 1, &err);
	assert_null(e);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.code, "too_many_vms");
}

/* Waits (bounded) until the store holds no VM record. */
static void await_no_records(void)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	char err[256];
	size_t n = 1;

	for (int waited = 0; n && waited < WAIT_MS; waited += 10) {
		json_t *recs = NULL;

		assert_int_equal(store_vm_list(store, &recs, err, sizeof(err)), 0);
		n = json_array_size(recs);
		json_decref(recs);
		if (n)
			nanosleep(&nap, NULL);
	}
	assert_int_equal(n, 0);
}

/* A migration whose stream never comes (a wrong ticket) is ended and
 * forgotten while pinvm-vmm listens: its socket goes with its directory. */
static void test_refused_migration_leaves_nothing(void **ctx)
{
	struct vm_incoming in = { .vcpus = 1, .memory_mib = 64, .source = "test" };
	json_t *spec = json_pack("{s:i, s:i, s:s}", "vcpus", 1, "memory_mib", 64, "kernel", "Image");
	char ticket[MIGRATE_TICKET_LEN + 1], wrong[MIGRATE_TICKET_LEN + 1];
	struct api_error err = { 0 };
	struct vm_entry *e = NULL;
	unsigned port = 0;
	int fd = -1;

	(void)ctx;
	assert_non_null(spec);
	if (vm_core_incoming(core, &in, spec, &e, &port, ticket, &err) < 0)
		fail_msg("incoming: %u %s %s", err.status, err.code, err.detail);
	json_decref(spec);
	memset(wrong, '0', MIGRATE_TICKET_LEN);
	wrong[MIGRATE_TICKET_LEN] = '\0';
	if (!strcmp(wrong, ticket))
		wrong[0] = '1';
	assert_int_equal(migrate_connect_tcp("127.0.0.1", port, wrong, &fd), 0);
	await_no_records();
	close(fd);
	assert_nothing_left();
	vm_entry_put(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_refused_migration_leaves_nothing),
		cmocka_unit_test(test_create_refusals),
		cmocka_unit_test(test_failures_leave_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
