/* The differences a caller may accept by name when a guest moves
 * (api/accept_rule.h), on the values the lab's kernels really hold
 * (docs/snapshot-design.md section 10: 5.10 against 6.12, same QEMU CPU). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "accept_rule.h"
#include "restore_rule.h"

#include <errno.h>
#include <string.h>

#define CCSIDR_0 0x6020000000110000ULL
#define CCSIDR_13 0x602000000011000dULL
#define CLIDR_EL1 0x603000000013c801ULL
#define ID_DFR0_EL1 0x603000000013c00aULL
#define ID_AA64DFR0_EL1 0x603000000013c028ULL
#define ID_AA64MMFR1_EL1 0x603000000013c039ULL
#define ID_AA64PFR0_EL1 0x603000000013c020ULL
#define OSLSR_EL1 0x603000000013808cULL
#define SCTLR_EL1 0x603000000013c080ULL

static void test_measured_5_10_against_6_12(void **state)
{
	(void)state;
	/* ID_AA64MMFR1_EL1: 6.12 adds HCX, an EL2 feature. */
	assert_int_equal(accept_rule_for_reg(ID_AA64MMFR1_EL1, 0x11010211122ULL,
					     0x1010211122ULL, true, false),
			 ACCEPT_EL2_FEATURES);
	assert_int_equal(accept_rule_for_reg(ID_AA64MMFR1_EL1, 0x1010211122ULL,
					     0x11010211122ULL, true, false),
			 ACCEPT_EL2_FEATURES);
	/* The PMU versions of a vCPU without a PMU: 5.10 shows one. */
	assert_int_equal(accept_rule_for_reg(ID_DFR0_EL1, 0x10009, 0x4010009, true, false),
			 ACCEPT_PMU_ID);
	assert_int_equal(accept_rule_for_reg(ID_AA64DFR0_EL1, 0x10305009, 0x10305409, true,
					     false),
			 ACCEPT_PMU_ID);
	/* Cache geometry, listed or not (5.10 lists 3 CCSIDR, 6.12 14). */
	assert_int_equal(accept_rule_for_reg(CCSIDR_0, 0x2, 0x701fe00a, true, false),
			 ACCEPT_CACHE_GEOMETRY);
	assert_int_equal(accept_rule_for_reg(CCSIDR_13, 0x2, 0, false, false),
			 ACCEPT_CACHE_GEOMETRY);
	assert_int_equal(accept_rule_for_reg(CLIDR_EL1, 0x2000021, 0x2000023, true, false),
			 ACCEPT_CACHE_GEOMETRY);
	/* GICD_IIDR revision 3 (6.x) against 2 (5.10). */
	assert_int_equal(accept_rule_for_gic_iidr(0x4b00343b, 0x4b00243b),
			 ACCEPT_VGIC_REVISION);
}

static void test_what_no_rule_covers(void **state)
{
	(void)state;
	/* A field a guest at EL1 uses (PAN, bits 23:20) beside HCX. */
	assert_int_equal(accept_rule_for_reg(ID_AA64MMFR1_EL1, 0x11010311122ULL,
					     0x1010211122ULL, true, false), 0);
	/* With a PMU, its version matters. */
	assert_int_equal(accept_rule_for_reg(ID_DFR0_EL1, 0x10009, 0x4010009, true, true), 0);
	assert_int_equal(accept_rule_for_reg(ID_AA64DFR0_EL1, 0x10305009, 0x10305409, true,
					     true), 0);
	/* DebugVer (6.1's 6 against 9) is not a PMU field. */
	assert_int_equal(accept_rule_for_reg(ID_AA64DFR0_EL1, 0x10305009, 0x10305006, true,
					     false), 0);
	/* Another ID register; an ordinary system register; absent ones. */
	assert_int_equal(accept_rule_for_reg(ID_AA64PFR0_EL1, 0x1101, 0x11, true, false), 0);
	assert_int_equal(accept_rule_for_reg(SCTLR_EL1, 1, 0, true, false), 0);
	assert_int_equal(accept_rule_for_reg(OSLSR_EL1, 0x8, 0, false, false), 0);
	assert_int_equal(accept_rule_for_reg(ID_AA64MMFR1_EL1, 0x11010211122ULL, 0, false,
					     false), 0);
	/* Equal values are no difference to accept. */
	assert_int_equal(accept_rule_for_reg(ID_AA64MMFR1_EL1, 0x1010211122ULL,
					     0x1010211122ULL, true, false), 0);
	/* Another implementer or product is another GIC. */
	assert_int_equal(accept_rule_for_gic_iidr(0x4b00343b, 0x4c00343b), 0);
	assert_int_equal(accept_rule_for_gic_iidr(0x4b00343b, 0x4b00343b), 0);
}

static void test_refusal_rule(void **state)
{
	(void)state;
	assert_string_equal(accept_refusal_rule(CCSIDR_13, ACCEPT_CACHE_GEOMETRY, false),
			    "cache_geometry_differs");
	assert_string_equal(accept_refusal_rule(OSLSR_EL1, 0, false), "register_absent_on_target");
	assert_string_equal(accept_refusal_rule(ID_AA64PFR0_EL1, 0, true), "id_register_differs");
	assert_string_equal(accept_refusal_rule(SCTLR_EL1, 0, true), "register_refused");
	assert_string_equal(accept_refusal_rule(RESTORE_REG_SVE_VLS, 0, true),
			    "sve_lengths_differ");
}

static void test_names_and_parse(void **state)
{
	struct api_error err;
	unsigned mask;
	json_t *a, *back;

	(void)state;
	assert_string_equal(accept_rule_name(ACCEPT_PMU_ID), "pmu_id_differs");
	assert_null(accept_rule_name(ACCEPT_PMU_ID | ACCEPT_EL2_FEATURES));
	assert_null(accept_rule_name(0));

	assert_int_equal(accept_rules_parse(NULL, "accept", &mask, &err), 0);
	assert_int_equal(mask, 0);
	a = json_pack("[s,s,s,s,s]", "vgic_revision_differs", "workaround_level_differs",
		      "cache_geometry_differs", "el2_feature_differs", "pmu_id_differs");
	assert_int_equal(accept_rules_parse(a, "accept", &mask, &err), 0);
	assert_int_equal(mask, ACCEPT_RULES_ALL);
	back = accept_rules_to_json(mask);
	assert_int_equal(json_array_size(back), 5);
	assert_string_equal(json_string_value(json_array_get(back, 0)),
			    "cache_geometry_differs");
	assert_string_equal(json_string_value(json_array_get(back, 4)),
			    "workaround_level_differs");
	json_decref(back);
	json_decref(a);

	a = json_pack("[s,s]", "el2_feature_differs", "id_register_differs");
	assert_int_equal(accept_rules_parse(a, "accept", &mask, &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "unknown_rule");
	assert_string_equal(err.field, "accept[1]");
	json_decref(a);

	a = json_pack("[s,s]", "pmu_id_differs", "pmu_id_differs");
	assert_int_equal(accept_rules_parse(a, "accept", &mask, &err), -EINVAL);
	assert_string_equal(err.code, "duplicate_rule");
	assert_string_equal(err.field, "accept[1]");
	json_decref(a);

	a = json_pack("[s,i]", "pmu_id_differs", 3);
	assert_int_equal(accept_rules_parse(a, "accept", &mask, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, "accept[1]");
	json_decref(a);

	a = json_string("pmu_id_differs");
	assert_int_equal(accept_rules_parse(a, "accept", &mask, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, "accept");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_measured_5_10_against_6_12),
		cmocka_unit_test(test_what_no_rule_covers),
		cmocka_unit_test(test_refusal_rule),
		cmocka_unit_test(test_names_and_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
