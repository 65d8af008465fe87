/*
 * The pre-run image as pinvmd takes it (vmm/prerun_image.h): a one-vCPU
 * vm.json of the VM's memory size within the size bound is accepted,
 * anything else refused with the offending key first in the detail (the
 * destination turns that into the problem's field); the file pinvm-vmm
 * wrote is read back, bounded.
 */
#include "prerun_image.h"
#include "vm_state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define REG_X0 0x6030000000100000ULL
#define REG_PC 0x6030000000100040ULL
#define REG_SVE_Z(n) (0x6080000000150000ULL | ((uint64_t)(n) << 5))

/* A one-vCPU image of a 256 MiB VM with nregs registers (nregs - 2 of
 * them 256-byte SVE registers, to make it large). A new reference. */
static json_t *image(unsigned vcpus, size_t nregs)
{
	struct vm_state st = { 0 };
	uint8_t wide[256] = { 0x5a };
	uint64_t v = 0x1234;
	json_t *obj;

	snprintf(st.kernel_release, sizeof(st.kernel_release), "6.12.0-test");
	st.vcpus = vcpus;
	st.memory_mib = 256;
	st.ram_base = 0x80000000ULL;
	st.vcpu_features = 0x4;
	snprintf(st.gic_version, sizeof(st.gic_version), "v3");
	st.gic_nr_irqs = 128;
	st.cntfrq = 62500000;
	st.vcpu = calloc(vcpus, sizeof(*st.vcpu));
	assert_non_null(st.vcpu);
	for (unsigned i = 0; i < vcpus; i++) {
		st.vcpu[i].mpidr = 0x80000000ULL | i;
		assert_int_equal(vm_state_vcpu_add(&st.vcpu[i], REG_X0, &v), 0);
		assert_int_equal(vm_state_vcpu_add(&st.vcpu[i], REG_PC, &v), 0);
		for (size_t r = 2; r < nregs; r++)
			assert_int_equal(vm_state_vcpu_add(&st.vcpu[i], REG_SVE_Z(r), wide), 0);
	}
	obj = vm_state_to_json(&st);
	assert_non_null(obj);
	vm_state_free(&st);
	return obj;
}

static void refused(const json_t *img, uint64_t memory_mib, const char *detail_prefix)
{
	struct vmm_error err;

	assert_int_equal(prerun_image_check(img, memory_mib, &err), -EINVAL);
	assert_string_equal(err.step, "prerun");
	if (strncmp(err.detail, detail_prefix, strlen(detail_prefix)))
		fail_msg("detail \"%s\" does not start with \"%s\"", err.detail, detail_prefix);
}

static void test_check(void **state)
{
	json_t *img = image(1, 4), *two = image(2, 4), *big = image(1, 1200), *bad;
	struct vmm_error err;

	(void)state;
	assert_int_equal(prerun_image_check(img, 256, &err), 0);
	assert_int_equal(prerun_image_check(img, 256, NULL), 0);
	refused(img, 512, "memory_mib: ");
	refused(two, 256, "vcpus: ");
	/* 1200 * 256 bytes of hex: well over the bound, refused before decoding. */
	refused(big, 256, "(top level): larger than");
	bad = json_array();
	refused(bad, 256, "(top level): ");
	json_decref(bad);
	bad = json_deep_copy(img);
	json_array_append_new(json_object_get(json_array_get(json_object_get(bad, "vcpu"), 0),
					      "regs"), json_true());
	refused(bad, 256, "vcpu[0].regs[4]: ");
	json_decref(bad);
	bad = json_deep_copy(img);
	json_object_set_new(bad, "vcpus", json_string("1"));
	refused(bad, 256, "vcpus: ");
	json_decref(bad);
	bad = json_deep_copy(img);
	json_object_del(bad, "gic");
	refused(bad, 256, "gic: missing");
	json_decref(bad);
	json_decref(img);
	json_decref(two);
	json_decref(big);
}

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/test_prerun_image.XXXXXX", path[96];
	json_t *img = image(1, 4), *out = (json_t *)1;
	struct vmm_error err;
	char *text, *huge;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/prerun.json", dir);
	assert_int_equal(prerun_image_load(path, 256, &out, &err), -ENOENT);
	assert_null(out);
	text = json_dumps(img, JSON_COMPACT);
	put(path, text, strlen(text));
	assert_int_equal(prerun_image_load(path, 256, &out, &err), 0);
	assert_true(json_equal(out, img));
	json_decref(out);
	assert_int_equal(prerun_image_load(path, 128, &out, &err), -EINVAL);
	assert_null(out);
	put(path, text, strlen(text) / 2); /* cut short, as a crash could */
	assert_int_equal(prerun_image_load(path, 256, &out, &err), -EINVAL);
	assert_null(out);
	huge = malloc(PRERUN_IMAGE_MAX_BYTES + 2);
	assert_non_null(huge);
	memset(huge, ' ', PRERUN_IMAGE_MAX_BYTES + 1);
	put(path, huge, PRERUN_IMAGE_MAX_BYTES + 1);
	assert_int_equal(prerun_image_load(path, 256, &out, &err), -EFBIG);
	assert_null(out);
	free(huge);
	free(text);
	unlink(path);
	rmdir(dir);
	json_decref(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
