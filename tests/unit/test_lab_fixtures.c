/*
 * The compact register sets the unit tests use (lab_hostsets.h) are the
 * ones pinvmd captured from the real lab kernels (tests/fixtures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "baseline.h"
#include "compat.h"
#include "hostset.h"
#include "lab_hostsets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *fixture(const char *kernel)
{
	char path[512];
	json_t *f;

	snprintf(path, sizeof(path), "%s/lab-%s.json", PINVM_FIXTURE_DIR, kernel);
	f = json_load_file(path, 0, NULL);
	assert_non_null(f);
	return f;
}

static void same_set(const char *kernel, const char *compact)
{
	struct hostset a, b;
	struct api_error err;
	json_t *f = fixture(kernel), *c = json_loads(compact, 0, NULL);

	assert_int_equal(hostset_from_json(json_object_get(f, "firmware_registers"), &a, &err), 0);
	assert_int_equal(hostset_from_json(c, &b, &err), 0);
	/* The compact sets leave the ID registers out (test_baselines
	 * below reads them from the fixtures themselves). */
	assert_true(a.idregs.known);
	memset(&a.idregs, 0, sizeof(a.idregs));
	assert_true(hostset_equal(&a, &b));
	json_decref(f);
	json_decref(c);
}

/* Every call of the compact observation has the captured x0. */
static void same_calls(const char *kernel, const char *compact_calls)
{
	json_t *f = fixture(kernel), *calls = json_loads(compact_calls, 0, NULL);
	json_t *real = json_object_get(json_object_get(f, "observed_abi"), "calls");
	size_t i, j;
	json_t *c, *r;

	assert_true(json_array_size(calls) > 0);
	json_array_foreach(calls, i, c) {
		bool found = false;

		json_array_foreach(real, j, r) {
			if (json_equal(json_object_get(r, "name"), json_object_get(c, "name"))) {
				assert_true(json_equal(json_object_get(r, "x0"), json_object_get(c, "x0")));
				assert_true(json_equal(json_object_get(r, "function_id"),
						       json_object_get(c, "function_id")));
				found = true;
			}
		}
		assert_true(found);
	}
	json_decref(calls);
	json_decref(f);
}

static void test_5_10(void **state) { (void)state; same_set("5.10", LAB_5_10_JSON); same_calls("5.10", LAB_CALLS_5_10); }
static void test_6_1(void **state) { (void)state; same_set("6.1", LAB_6_1_JSON); }
static void test_6_12(void **state) { (void)state; same_set("6.12", LAB_6_12_JSON); same_calls("6.12", LAB_CALLS_6_12); }
static void test_latest(void **state) { (void)state; same_set("latest", LAB_7_3_JSON); }

static struct hostset fixture_set(const char *kernel)
{
	struct hostset h;
	struct api_error err;
	json_t *f = fixture(kernel);

	assert_int_equal(hostset_from_json(json_object_get(f, "firmware_registers"), &h, &err), 0);
	json_decref(f);
	return h;
}

static struct compat_report report;

/*
 * Baselines over the captured sets, ID registers included: what the
 * snapshot matrix's baseline groups rest on (test_lab_snapshots). The
 * kernels before 6.7 take no write of an ID register; 6.12 and latest do,
 * within KVM's writable masks.
 */
static void test_baselines(void **state)
{
	struct hostset all[4] = { fixture_set("5.10"), fixture_set("6.1"), fixture_set("6.12"),
				  fixture_set("latest") };
	struct hostset pair[2];
	struct api_error err = { 0 };
	struct profile *p = NULL;
	const struct id_reg *dfr0_61 = id_regs_find(&all[1].idregs, ID_AA64DFR0_EL1);

	(void)state;
	assert_false(all[0].idregs.masks_known);
	assert_false(all[1].idregs.masks_known);
	assert_true(all[2].idregs.masks_known);
	assert_true(all[3].idregs.masks_known);
	assert_non_null(dfr0_61);
	/* 6.1 and 5.10: DebugVer differs and neither takes a write. */
	pair[0] = all[0];
	pair[1] = all[1];
	assert_int_equal(baseline_compute("b", pair, 2, &p, &err), -EINVAL);
	assert_string_equal(err.code, "baseline_conflict");
	assert_string_equal(err.field, "id_registers.ID_AA64DFR0_EL1");
	assert_int_equal(baseline_compute("b", all, 4, &p, &err), -EINVAL);
	assert_string_equal(err.field, "id_registers.ID_AA64DFR0_EL1");
	/* 6.1 with 6.12 and latest: they are written down to 6.1's. */
	assert_int_equal(baseline_compute("b", &all[1], 3, &p, &err), 0);
	{
		const struct id_pin *pin = NULL;

		for (size_t i = 0; i < p->nid_pins; i++)
			if (p->id_pins[i].id == ID_AA64DFR0_EL1)
				pin = &p->id_pins[i];
		assert_non_null(pin);
		assert_int_equal(pin->mask & 0xf, 0xf);
		assert_int_equal(pin->value & 0xf, dfr0_61->value & 0xf);
		for (size_t h = 1; h < 4; h++) {
			compat_check(p, &all[h], &report);
			assert_true(report.compatible);
			for (size_t i = 0; i < report.ids.n; i++)
				if (report.ids.entries[i].pin.id == ID_AA64DFR0_EL1)
					assert_int_equal(report.ids.entries[i].verdict,
							 h == 1 ? ID_PIN_SAME : ID_PIN_WRITE);
		}
	}
	profile_free(p);
	/* 5.10 with 6.12 and latest. */
	assert_int_equal(baseline_compute("b", (struct hostset[]){ all[0], all[2], all[3] }, 3, &p,
					  &err), 0);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5_10),
		cmocka_unit_test(test_6_1),
		cmocka_unit_test(test_6_12),
		cmocka_unit_test(test_latest),
		cmocka_unit_test(test_baselines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
