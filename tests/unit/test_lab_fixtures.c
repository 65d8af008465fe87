/*
 * The compact register sets the unit tests use (lab_hostsets.h) are the
 * ones pinvmd captured from the real lab kernels (tests/fixtures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hostset.h"
#include "lab_hostsets.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5_10),
		cmocka_unit_test(test_6_1),
		cmocka_unit_test(test_6_12),
		cmocka_unit_test(test_latest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
