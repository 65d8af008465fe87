/* The rule for registers a restore target lists and the snapshot lacks
 * (api/restore_rule.h): ID registers must keep reading 0, the rest is left
 * at reset, firmware registers are judged elsewhere. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "restore_rule.h"

#include <string.h>

#define ID_AA64PFR0_EL1 0x603000000013c020ULL
#define ID_AA64PFR2_EL1 0x603000000013c022ULL /* listed from 6.9 on (unverified) */
#define ID_AA64MMFR3_EL1 0x603000000013c03bULL
#define ID_AA64ISAR3_EL1 0x603000000013c033ULL
#define MIDR_EL1 0x603000000013c000ULL
#define TCR2_EL1 0x603000000013c103ULL
#define PTIMER_CTL 0x603000000013df11ULL
#define CTR_EL0 0x603000000013d801ULL
#define VENDOR_HYP_BMAP_2 0x6030000000160003ULL
#define PSCI_VERSION 0x6030000000140000ULL
#define CORE_X0 0x6030000000100000ULL

static void test_id_space(void **state)
{
	(void)state;
	assert_true(restore_reg_is_id(MIDR_EL1));
	assert_true(restore_reg_is_id(ID_AA64PFR0_EL1));
	assert_true(restore_reg_is_id(ID_AA64MMFR3_EL1));
	assert_true(restore_reg_is_id(0x603000000013c03fULL)); /* CRm=7 op2=7 */
	assert_false(restore_reg_is_id(0x603000000013c040ULL)); /* CRm=8 */
	assert_false(restore_reg_is_id(0x603000000013c800ULL)); /* op1=1: CCSIDR_EL1 */
	assert_false(restore_reg_is_id(CTR_EL0));  /* op1=3 */
	assert_false(restore_reg_is_id(TCR2_EL1)); /* CRn=2 */
	/* The same encoding as a 32-bit register is no sysreg KVM has. */
	assert_false(restore_reg_is_id(0x602000000013c020ULL));
	assert_false(restore_reg_is_id(CORE_X0));
}

static void test_firmware(void **state)
{
	(void)state;
	assert_true(restore_reg_is_firmware(PSCI_VERSION));
	assert_true(restore_reg_is_firmware(VENDOR_HYP_BMAP_2));
	assert_false(restore_reg_is_firmware(ID_AA64PFR0_EL1));
	/* Whatever its value, a firmware register is api/compat.c's. */
	assert_int_equal(restore_extra_rule(VENDOR_HYP_BMAP_2, 0x3), RESTORE_EXTRA_FIRMWARE);
	assert_int_equal(restore_extra_rule(PSCI_VERSION, 0x10003), RESTORE_EXTRA_FIRMWARE);
}

static void test_id_registers_keep_zero(void **state)
{
	(void)state;
	/* The guest read 0 on the source: a target at 0 needs nothing. */
	assert_int_equal(restore_extra_rule(ID_AA64PFR2_EL1, 0), RESTORE_EXTRA_LEFT_AT_RESET);
	/* A target that advertises a feature there must be made to say 0
	 * (or refuse the restore when KVM will not take it). */
	assert_int_equal(restore_extra_rule(ID_AA64PFR2_EL1, 0x1), RESTORE_EXTRA_WRITE_ZERO);
	assert_int_equal(restore_extra_rule(ID_AA64ISAR3_EL1, 0x100),
			 RESTORE_EXTRA_WRITE_ZERO);
	assert_string_equal(restore_extra_name(RESTORE_EXTRA_WRITE_ZERO), "id_register_raz");
}

static void test_others_left_at_reset(void **state)
{
	(void)state;
	/* Non-zero resets stay: the source's guest never used them. */
	assert_int_equal(restore_extra_rule(TCR2_EL1, 0x1de7ec7edbadc0deULL),
			 RESTORE_EXTRA_LEFT_AT_RESET);
	assert_int_equal(restore_extra_rule(PTIMER_CTL, 0), RESTORE_EXTRA_LEFT_AT_RESET);
	assert_int_equal(restore_extra_rule(CTR_EL0, 0x8444c004), RESTORE_EXTRA_LEFT_AT_RESET);
	assert_string_equal(restore_extra_name(RESTORE_EXTRA_LEFT_AT_RESET), "left_at_reset");
	assert_string_equal(restore_extra_name(RESTORE_EXTRA_FIRMWARE), "firmware");
}

static void test_host_levels(void **state)
{
	(void)state;
	assert_false(restore_reg_is_host_level(PSCI_VERSION));
	assert_true(restore_reg_is_host_level(0x6030000000140001ULL));
	assert_true(restore_reg_is_host_level(0x6030000000140002ULL));
	assert_true(restore_reg_is_host_level(0x6030000000140003ULL));
	assert_false(restore_reg_is_host_level(0x6030000000140004ULL));
	assert_false(restore_reg_is_host_level(VENDOR_HYP_BMAP_2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_levels),
		cmocka_unit_test(test_id_space),
		cmocka_unit_test(test_firmware),
		cmocka_unit_test(test_id_registers_keep_zero),
		cmocka_unit_test(test_others_left_at_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
