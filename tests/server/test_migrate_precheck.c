/*
 * The vCPU half of a migration's check before the pause
 * (server/migrate_precheck.c, server/restore_refusal.c), the parts that
 * need no KVM: the source finds its VM's pre-run image or goes on without
 * one; the destination refuses a bad image with 422 naming the key under
 * "prerun"; a restore-check verdict that refuses becomes 409
 * migration_refused naming the register and rule, wanted and offered, the
 * same fields a snapshot refusal has; a dry run that cannot run (this
 * build's pinvm-vmm has no KVM) is a 500 that leaves no temporary
 * directory behind. What KVM decides is the lab's (tests/lab-link.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "accept_rule.h"
#include "migrate_precheck.h"
#include "restore_refusal.h"
#include "vm_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/pinvm-precheck-XXXXXX";

/* A valid one-vCPU image of a 64 MiB VM (a new reference). */
static json_t *image(void)
{
	json_error_t jerr;
	json_t *img = json_loads(
		"{\"format\": 1, \"kernel_release\": \"6.12.117+deb13-cloud-arm64\", "
		"\"vcpus\": 1, \"memory_mib\": 64, \"ram_base\": \"0x80000000\", "
		"\"vcpu_features\": \"0x4\", \"gic\": {\"version\": \"v3\", \"nr_irqs\": 128, "
		"\"regs\": [{\"group\": 1, \"attr\": \"0x8\", \"value\": \"0x4b00343b\"}]}, "
		"\"uart\": {\"ier\": 0, \"lcr\": 0, \"mcr\": 0, \"scr\": 0, \"dll\": 0, \"dlm\": 0, "
		"\"fcr\": 0, \"rbr\": 0, \"thre_pending\": false, \"rx_ready\": false, "
		"\"irq_level\": false}, \"console_offset\": 0, \"time\": {\"semantics\": "
		"\"paused\", \"cntvct\": \"0x0\", \"cntfrq\": \"0x3b9aca0\"}, \"vcpu\": "
		"[{\"mp_state\": 0, \"mpidr\": \"0x80000000\", \"regs\": [{\"id\": "
		"\"0x6020000000110000\", \"value\": \"0x2\"}, {\"id\": \"0x603000000013808c\", "
		"\"value\": \"0x8\"}]}], \"pins\": [], \"smccc_deny\": []}",
		0, &jerr);

	assert_non_null(img);
	return img;
}

static void validate_refused(json_t *img, uint64_t memory_mib, const char *field)
{
	struct api_error err;

	assert_int_equal(migrate_precheck_validate(img, memory_mib, &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "bad_prerun_image");
	assert_string_equal(err.field, field);
	json_decref(img);
}

static void test_validate(void **state)
{
	struct api_error err;
	json_t *img = image();

	(void)state;
	assert_int_equal(migrate_precheck_validate(img, 64, &err), 0);
	json_decref(img);
	validate_refused(image(), 128, "prerun.memory_mib");
	img = image();
	/* Two vCPUs and one entry: the decoder names the array. */
	json_object_set_new(img, "vcpus", json_integer(2));
	validate_refused(img, 64, "prerun.vcpu");
	img = image();
	json_object_set_new(json_array_get(json_object_get(json_array_get(
		json_object_get(img, "vcpu"), 0), "regs"), 1), "id",
		json_string("0x6020000000110000"));
	validate_refused(img, 64, "prerun.vcpu[0].regs[1].id");
	img = image();
	json_object_set_new(img, "bogus", json_true());
	validate_refused(img, 64, "prerun.bogus");
	validate_refused(json_string("not an image"), 64, "prerun");
}

static void test_refusal(void **state)
{
	json_error_t jerr;
	json_t *rc = json_loads(
		"{\"ok\": true, \"compatible\": false, \"source_kernel\": \"6.12.117\", "
		"\"refused\": [{\"register\": \"0x6020000000110000\", \"rule\": "
		"\"register_refused\", \"wanted\": \"0x2\", \"offered\": \"0x701fe00a\", "
		"\"errno\": 22, \"detail\": \"KVM_SET_ONE_REG: Invalid argument\"}, "
		"{\"register\": \"0x603000000013808c\", \"rule\": \"register_absent_on_target\", "
		"\"wanted\": \"0x8\"}], \"left_at_reset\": [], \"id_registers_zeroed\": []}",
		0, &jerr);
	struct api_error err;
	json_t *extra = NULL;

	(void)state;
	assert_non_null(rc);
	assert_int_equal(restore_check_refusal(rc, "migration_refused", "the guest cannot move",
					       "5.10.0-32-cloud-arm64", &err, &extra), -EPERM);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.code, "migration_refused");
	assert_string_equal(err.field, "registers.0x6020000000110000");
	assert_non_null(strstr(err.detail, "5.10.0-32-cloud-arm64"));
	assert_non_null(strstr(err.detail, "register_refused"));
	assert_non_null(extra);
	assert_string_equal(json_string_value(json_object_get(extra, "register")),
			    "0x6020000000110000");
	assert_string_equal(json_string_value(json_object_get(extra, "rule")), "register_refused");
	assert_string_equal(json_string_value(json_object_get(extra, "wanted")), "0x2");
	assert_string_equal(json_string_value(json_object_get(extra, "offered")), "0x701fe00a");
	assert_ptr_equal(json_object_get(extra, "restore_check"), rc);
	json_decref(extra);
	/* A register this host does not list: offered is null, the detail says so. */
	json_array_remove(json_object_get(rc, "refused"), 0);
	assert_int_equal(restore_check_refusal(rc, "snapshot_refused", "snapshot x",
					       "5.10", &err, &extra), -EPERM);
	assert_string_equal(err.code, "snapshot_refused");
	assert_string_equal(err.field, "registers.0x603000000013808c");
	assert_non_null(strstr(err.detail, "nothing (not listed)"));
	assert_true(json_is_null(json_object_get(extra, "offered")));
	assert_string_equal(json_string_value(json_object_get(extra, "rule")),
			    "register_absent_on_target");
	json_decref(extra);
	/* A refusal with no value (the vGIC, the vCPU features): named, with why. */
	json_array_insert_new(json_object_get(rc, "refused"), 0,
			      json_pack("{s:s, s:s, s:s}", "register", "vgic", "rule",
					"vgic_incompatible", "detail",
					"GICv3 (the snapshot's): KVM_CREATE_DEVICE: No such device"));
	assert_int_equal(restore_check_refusal(rc, "snapshot_refused", "snapshot x", "6.12", &err,
					       &extra), -EPERM);
	assert_string_equal(err.field, "registers.vgic");
	assert_string_equal(err.detail, "snapshot x on 6.12: vgic (rule vgic_incompatible): "
					"GICv3 (the snapshot's): KVM_CREATE_DEVICE: No such device");
	json_decref(extra);
	json_decref(rc);
}

static void test_source_image(void **state)
{
	struct vm_entry *e = vm_entry_new();
	char path[PATH_MAX];
	json_t *img = image(), *got;

	(void)state;
	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "%s/vm", dir);
	assert_int_equal(mkdir(e->dir, 0700), 0);
	/* None yet (a VM from before images existed): the migration goes on. */
	assert_null(migrate_precheck_image(e, 64));
	assert_int_equal(vm_dir_file(e->dir, VM_FILE_PRERUN, path, sizeof(path)), 0);
	assert_int_equal(json_dump_file(img, path, JSON_COMPACT), 0);
	got = migrate_precheck_image(e, 64);
	assert_non_null(got);
	assert_true(json_equal(got, img));
	json_decref(got);
	/* One of another VM's size is not this VM's. */
	assert_null(migrate_precheck_image(e, 128));
	unlink(path);
	rmdir(e->dir);
	e->dir[0] = '\0';
	vm_entry_put(e);
	json_decref(img);
}

/* A helper without KVM (the native pinvm-vmm): 500, and no .tmp-* left. */
static void test_run_without_helper(void **state)
{
	char snaps[PATH_MAX];
	struct api_error err;
	json_t *img = image(), *extra = NULL, *accepted = NULL;
	struct dirent *de;
	DIR *d;

	(void)state;
	assert_int_equal(migrate_precheck_run(dir, img, ACCEPT_EL2_FEATURES, "this host",
					      &accepted, &err, &extra) < 0, 1);
	assert_int_equal(err.status, 500);
	assert_string_equal(err.code, "restore_check_failed");
	assert_null(extra);
	assert_null(accepted);
	snprintf(snaps, sizeof(snaps), "%s/snapshots", dir);
	d = opendir(snaps);
	assert_non_null(d);
	while ((de = readdir(d)))
		assert_true(de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")));
	closedir(d);
	rmdir(snaps);
	json_decref(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_source_image),
		cmocka_unit_test(test_run_without_helper),
	};
	int ret;

	if (!mkdtemp(dir))
		return 2;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return ret;
}
