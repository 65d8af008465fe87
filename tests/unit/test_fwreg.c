/*
 * Catalogue, lookups, hex formatting and JSON decoding of the firmware
 * pseudo-registers. Values are the ones the lab kernels reported
 * (shared notes, arm64-lab.md); expected JSON is compared as compact,
 * key-sorted text so a changed key, type or value fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fwreg.h"

#include <stdlib.h>
#include <string.h>

/* Compact, sorted dump of j, compared with want; drops j. */
static void assert_json(json_t *j, const char *want)
{
	char *got;

	assert_non_null(j);
	got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	json_decref(j);
}

/* ---- catalogue ---------------------------------------------------------- */

static void test_catalogue_contents(void **state)
{
	static const struct {
		uint64_t id;
		const char *name;
		enum fwreg_kind kind;
		enum fwreg_scope scope;
		bool stores;
		const char *since;
	} want[] = {
		{ 0x6030000000140000, "PSCI_VERSION", FWREG_KIND_PSCI_VERSION,
		  FWREG_SCOPE_VM, true, "4.17" },
		{ 0x6030000000140001, "SMCCC_ARCH_WORKAROUND_1",
		  FWREG_KIND_WORKAROUND, FWREG_SCOPE_HOST, false, "5.3" },
		{ 0x6030000000140002, "SMCCC_ARCH_WORKAROUND_2",
		  FWREG_KIND_WORKAROUND_2, FWREG_SCOPE_HOST, false, "5.3" },
		{ 0x6030000000140003, "SMCCC_ARCH_WORKAROUND_3",
		  FWREG_KIND_WORKAROUND, FWREG_SCOPE_HOST, false, "5.17" },
		{ 0x6030000000160000, "STD_BMAP", FWREG_KIND_BITMAP,
		  FWREG_SCOPE_VM, true, "5.19" },
		{ 0x6030000000160001, "STD_HYP_BMAP", FWREG_KIND_BITMAP,
		  FWREG_SCOPE_VM, true, "5.19" },
		{ 0x6030000000160002, "VENDOR_HYP_BMAP", FWREG_KIND_BITMAP,
		  FWREG_SCOPE_VM, true, "5.19" },
		{ 0x6030000000160003, "VENDOR_HYP_BMAP_2", FWREG_KIND_BITMAP,
		  FWREG_SCOPE_VM, true, "6.15" },
	};
	size_t n = sizeof(want) / sizeof(want[0]);

	(void)state;
	assert_int_equal(fwreg_count(), n);
	for (size_t i = 0; i < n; i++) {
		const struct fwreg_desc *d = fwreg_at(i);

		assert_non_null(d);
		assert_true(d->id == want[i].id);
		assert_string_equal(d->name, want[i].name);
		assert_int_equal(d->kind, want[i].kind);
		assert_int_equal(d->scope, want[i].scope);
		assert_int_equal(d->stores, want[i].stores);
		assert_string_equal(d->since, want[i].since);
		assert_non_null(d->kernel_name);
		assert_non_null(d->meaning);
		assert_true(strncmp(d->kernel_name, "KVM_REG_ARM_", 12) == 0);
		assert_true(fwreg_id_is_firmware(d->id));
		assert_ptr_equal(fwreg_lookup_id(d->id), d);
		assert_ptr_equal(fwreg_lookup_name(d->name), d);
	}
	assert_null(fwreg_at(n));
	assert_null(fwreg_at((size_t)-1));
}

static void test_catalogue_since_numbers(void **state)
{
	(void)state;
	assert_int_equal(fwreg_lookup_id(FWREG_ID_PSCI_VERSION)->since_kv,
			 FWREG_KV(4, 17));
	assert_int_equal(fwreg_lookup_id(FWREG_ID_WORKAROUND_3)->since_kv,
			 FWREG_KV(5, 17));
	assert_int_equal(fwreg_lookup_id(FWREG_ID_STD_BMAP)->since_kv,
			 FWREG_KV(5, 19));
	assert_int_equal(fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP_2)->since_kv,
			 FWREG_KV(6, 15));
	assert_true(FWREG_KV(6, 15) > FWREG_KV(5, 19));
	assert_true(FWREG_KV(5, 19) > FWREG_KV(5, 3));
}

static void test_catalogue_bits(void **state)
{
	static const struct {
		uint64_t id;
		unsigned bit;
		const char *name;
		const char *kernel_name;
	} want[] = {
		{ FWREG_ID_STD_BMAP, 0, "TRNG", "KVM_REG_ARM_STD_BIT_TRNG_V1_0" },
		{ FWREG_ID_STD_HYP_BMAP, 0, "PV_TIME",
		  "KVM_REG_ARM_STD_HYP_BIT_PV_TIME" },
		{ FWREG_ID_VENDOR_HYP_BMAP, 0, "FUNC_FEAT",
		  "KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT" },
		{ FWREG_ID_VENDOR_HYP_BMAP, 1, "PTP",
		  "KVM_REG_ARM_VENDOR_HYP_BIT_PTP" },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0, "DISCOVER_IMPL_VER",
		  "KVM_REG_ARM_VENDOR_HYP_BIT_DISCOVER_IMPL_VER" },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 1, "DISCOVER_IMPL_CPUS",
		  "KVM_REG_ARM_VENDOR_HYP_BIT_DISCOVER_IMPL_CPUS" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct fwreg_desc *d = fwreg_lookup_id(want[i].id);
		const struct fwreg_bit *b = fwreg_bit_lookup(d, want[i].bit);

		assert_non_null(b);
		assert_string_equal(b->name, want[i].name);
		assert_string_equal(b->kernel_name, want[i].kernel_name);
		assert_non_null(b->meaning);
	}
	/* Masks are the OR of the bits; only BMAP_2 resets to 0. */
	for (size_t i = 0; i < fwreg_count(); i++) {
		const struct fwreg_desc *d = fwreg_at(i);
		uint64_t mask = 0;

		for (size_t j = 0; j < d->nbits; j++)
			mask |= UINT64_C(1) << d->bits[j].bit;
		assert_true(mask == d->bits_mask);
		if (d->kind == FWREG_KIND_BITMAP)
			assert_int_equal(d->reset_is_all_known,
					 d->id != FWREG_ID_VENDOR_HYP_BMAP_2);
		else
			assert_int_equal(d->nbits, 0);
	}
	assert_null(fwreg_bit_lookup(fwreg_lookup_id(FWREG_ID_STD_BMAP), 1));
	assert_null(fwreg_bit_lookup(NULL, 0));
	assert_null(fwreg_bit_lookup(fwreg_lookup_id(FWREG_ID_PSCI_VERSION), 0));
}

static void test_lookup_misses(void **state)
{
	(void)state;
	assert_null(fwreg_lookup_id(0x6030000000140004));
	assert_null(fwreg_lookup_id(0x6030000000160004));
	assert_null(fwreg_lookup_id(0));
	assert_null(fwreg_lookup_name("psci_version"));
	assert_null(fwreg_lookup_name("KVM_REG_ARM_PSCI_VERSION"));
	assert_null(fwreg_lookup_name(""));
	assert_null(fwreg_lookup_name(NULL));
}

static void test_id_is_firmware(void **state)
{
	(void)state;
	/* Known and unknown indices in both coprocessors. */
	assert_true(fwreg_id_is_firmware(0x6030000000140000));
	assert_true(fwreg_id_is_firmware(0x6030000000140004));
	assert_true(fwreg_id_is_firmware(0x603000000014ffff));
	assert_true(fwreg_id_is_firmware(0x6030000000160003));
	assert_true(fwreg_id_is_firmware(0x6030000000160004));
	/* Bits 28-31 are outside KVM_REG_ARM_COPROC_MASK: KVM routes them
	 * to the firmware code too (and answers ENOENT). */
	assert_true(fwreg_id_is_firmware(0x6030000010140000));
	/* Other coprocessors: core 0x10, sysreg 0x13, SVE 0x15, 0x17. */
	assert_false(fwreg_id_is_firmware(0x6030000000100000));
	assert_false(fwreg_id_is_firmware(0x6030000000130000));
	assert_false(fwreg_id_is_firmware(0x6030000000150000));
	assert_false(fwreg_id_is_firmware(0x6030000000170000));
	/* Other sizes: U32, U128. */
	assert_false(fwreg_id_is_firmware(0x6020000000140000));
	assert_false(fwreg_id_is_firmware(0x6040000000160000));
	/* Not arm64, or junk in bits 32-51 (KVM: EINVAL before routing). */
	assert_false(fwreg_id_is_firmware(0x4030000000140000));
	assert_false(fwreg_id_is_firmware(0x6030000100140000));
	assert_false(fwreg_id_is_firmware(0x6038000000140000));
	assert_false(fwreg_id_is_firmware(0));
	assert_false(fwreg_id_is_firmware(UINT64_MAX));
}

static void test_psci_versions(void **state)
{
	static const struct {
		uint64_t v;
		const char *name;
		const char *since;
	} want[] = {
		{ 0x1, "0.1", "3.11" },     { 0x2, "0.2", "3.16" },
		{ 0x10000, "1.0", "4.16" }, { 0x10001, "1.1", "5.18" },
		{ 0x10002, "1.2", "6.13" }, { 0x10003, "1.3", "6.13" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct fwreg_psci_version *p =
			fwreg_psci_version_lookup(want[i].v);

		assert_non_null(p);
		assert_true(p->value == want[i].v);
		assert_string_equal(p->name, want[i].name);
		assert_string_equal(p->since, want[i].since);
	}
	assert_null(fwreg_psci_version_lookup(0));
	assert_null(fwreg_psci_version_lookup(0x3));
	assert_null(fwreg_psci_version_lookup(0x10004));
	assert_null(fwreg_psci_version_lookup(0x20000));
	assert_true(FWREG_PSCI(1, 3) == 0x10003);
}

/* ---- hex ------------------------------------------------------------------ */

static void test_format_hex(void **state)
{
	char buf[19];

	(void)state;
	fwreg_format_hex(buf, 0);
	assert_string_equal(buf, "0x0");
	fwreg_format_hex(buf, 0x10001);
	assert_string_equal(buf, "0x10001");
	fwreg_format_hex(buf, 0xABCDEF);
	assert_string_equal(buf, "0xabcdef");
	fwreg_format_hex(buf, 0x6030000000140000);
	assert_string_equal(buf, "0x6030000000140000");
	fwreg_format_hex(buf, UINT64_MAX);
	assert_string_equal(buf, "0xffffffffffffffff");
	assert_int_equal(strlen(buf), 18);
}

/* ---- decoding: what the four lab kernels reported ---------------------------- */

struct decode_case {
	uint64_t id;
	uint64_t value;
	const char *json;
};

static void run_decode_cases(const struct decode_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_json(fwreg_decode(c[i].id, c[i].value), c[i].json);
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static void test_decode_lab_5_10(void **state)
{
	static const struct decode_case c[] = {
		{ FWREG_ID_PSCI_VERSION, 0x10000, "{\"version\":\"1.0\"}" },
		{ FWREG_ID_WORKAROUND_1, 2, "{\"level\":\"NOT_REQUIRED\"}" },
		{ FWREG_ID_WORKAROUND_2, 0,
		  "{\"enabled\":false,\"level\":\"NOT_AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_3, 2, "{\"level\":\"NOT_REQUIRED\"}" },
	};

	(void)state;
	run_decode_cases(c, NCASES(c));
}

/* 6.1 (bookworm) and 6.12 (trixie) reported the same values. */
static void test_decode_lab_6_1_and_6_12(void **state)
{
	static const struct decode_case c[] = {
		{ FWREG_ID_PSCI_VERSION, 0x10001, "{\"version\":\"1.1\"}" },
		{ FWREG_ID_WORKAROUND_1, 2, "{\"level\":\"NOT_REQUIRED\"}" },
		{ FWREG_ID_WORKAROUND_2, 0,
		  "{\"enabled\":false,\"level\":\"NOT_AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_3, 0, "{\"level\":\"NOT_AVAIL\"}" },
		{ FWREG_ID_STD_BMAP, 0x1,
		  "{\"TRNG\":true,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_STD_HYP_BMAP, 0x1,
		  "{\"PV_TIME\":true,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_VENDOR_HYP_BMAP, 0x3,
		  "{\"FUNC_FEAT\":true,\"PTP\":true,\"unknown_bits\":\"0x0\"}" },
	};

	(void)state;
	run_decode_cases(c, NCASES(c));
}

static void test_decode_lab_7_3(void **state)
{
	static const struct decode_case c[] = {
		{ FWREG_ID_PSCI_VERSION, 0x10003, "{\"version\":\"1.3\"}" },
		{ FWREG_ID_WORKAROUND_1, 2, "{\"level\":\"NOT_REQUIRED\"}" },
		{ FWREG_ID_WORKAROUND_2, 0,
		  "{\"enabled\":false,\"level\":\"NOT_AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_3, 0, "{\"level\":\"NOT_AVAIL\"}" },
		{ FWREG_ID_STD_BMAP, 0x1,
		  "{\"TRNG\":true,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_STD_HYP_BMAP, 0x1,
		  "{\"PV_TIME\":true,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_VENDOR_HYP_BMAP, 0x3,
		  "{\"FUNC_FEAT\":true,\"PTP\":true,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0x0,
		  "{\"DISCOVER_IMPL_CPUS\":false,\"DISCOVER_IMPL_VER\":false,"
		  "\"unknown_bits\":\"0x0\"}" },
	};

	(void)state;
	run_decode_cases(c, NCASES(c));
}

/* The values pinvm writes (STD_BMAP=0, PSCI 1.0 in the lab run) and the
 * other values KVM defines. */
static void test_decode_defined_values(void **state)
{
	static const struct decode_case c[] = {
		{ FWREG_ID_PSCI_VERSION, 0x1, "{\"version\":\"0.1\"}" },
		{ FWREG_ID_PSCI_VERSION, 0x2, "{\"version\":\"0.2\"}" },
		{ FWREG_ID_PSCI_VERSION, 0x10002, "{\"version\":\"1.2\"}" },
		{ FWREG_ID_WORKAROUND_1, 0, "{\"level\":\"NOT_AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_1, 1, "{\"level\":\"AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_3, 1, "{\"level\":\"AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_2, 1,
		  "{\"enabled\":false,\"level\":\"UNKNOWN\"}" },
		{ FWREG_ID_WORKAROUND_2, 2,
		  "{\"enabled\":false,\"level\":\"AVAIL\"}" },
		{ FWREG_ID_WORKAROUND_2, 3,
		  "{\"enabled\":false,\"level\":\"NOT_REQUIRED\"}" },
		{ FWREG_ID_WORKAROUND_2, 0x12,
		  "{\"enabled\":true,\"level\":\"AVAIL\"}" },
		{ FWREG_ID_STD_BMAP, 0x0,
		  "{\"TRNG\":false,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_VENDOR_HYP_BMAP, 0x2,
		  "{\"FUNC_FEAT\":false,\"PTP\":true,\"unknown_bits\":\"0x0\"}" },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0x3,
		  "{\"DISCOVER_IMPL_CPUS\":true,\"DISCOVER_IMPL_VER\":true,"
		  "\"unknown_bits\":\"0x0\"}" },
	};

	(void)state;
	run_decode_cases(c, NCASES(c));
}

static void test_decode_undefined_values(void **state)
{
	static const struct decode_case c[] = {
		/* WORKAROUND_1/3: anything but 0-2 has no level. */
		{ FWREG_ID_WORKAROUND_1, 3,
		  "{\"level\":null,\"unknown_bits\":\"0x3\"}" },
		{ FWREG_ID_WORKAROUND_3, 0x12,
		  "{\"level\":null,\"unknown_bits\":\"0x12\"}" },
		{ FWREG_ID_WORKAROUND_1, UINT64_MAX,
		  "{\"level\":null,\"unknown_bits\":\"0xffffffffffffffff\"}" },
		/* WORKAROUND_2: undefined levels and bits above ENABLED. */
		{ FWREG_ID_WORKAROUND_2, 0x5,
		  "{\"enabled\":false,\"level\":null,\"unknown_bits\":\"0x5\"}" },
		{ FWREG_ID_WORKAROUND_2, 0x15,
		  "{\"enabled\":true,\"level\":null,\"unknown_bits\":\"0x5\"}" },
		{ FWREG_ID_WORKAROUND_2, 0x23,
		  "{\"enabled\":false,\"level\":\"NOT_REQUIRED\","
		  "\"unknown_bits\":\"0x20\"}" },
		/* Bitmaps: bits no kernel defines yet. */
		{ FWREG_ID_STD_BMAP, 0x5,
		  "{\"TRNG\":true,\"unknown_bits\":\"0x4\"}" },
		{ FWREG_ID_STD_HYP_BMAP, 0x8000000000000000,
		  "{\"PV_TIME\":false,\"unknown_bits\":\"0x8000000000000000\"}" },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0x7,
		  "{\"DISCOVER_IMPL_CPUS\":true,\"DISCOVER_IMPL_VER\":true,"
		  "\"unknown_bits\":\"0x4\"}" },
	};

	(void)state;
	run_decode_cases(c, NCASES(c));
}

static void test_decode_unknown_register(void **state)
{
	(void)state;
	assert_json(fwreg_decode(0x6030000000160004, 0x7), "null");
	assert_json(fwreg_decode(0x6030000000140004, 0), "null");
	assert_json(fwreg_decode(0x6030000000130000, 1), "null");
}

static void test_entry_json(void **state)
{
	(void)state;
	assert_json(fwreg_entry_json(FWREG_ID_PSCI_VERSION, 0x10001),
		    "{\"decoded\":{\"version\":\"1.1\"},"
		    "\"id\":\"0x6030000000140000\",\"name\":\"PSCI_VERSION\","
		    "\"value\":\"0x10001\"}");
	assert_json(fwreg_entry_json(FWREG_ID_WORKAROUND_3, 2),
		    "{\"decoded\":{\"level\":\"NOT_REQUIRED\"},"
		    "\"id\":\"0x6030000000140003\","
		    "\"name\":\"SMCCC_ARCH_WORKAROUND_3\",\"value\":\"0x2\"}");
	assert_json(fwreg_entry_json(FWREG_ID_VENDOR_HYP_BMAP, 3),
		    "{\"decoded\":{\"FUNC_FEAT\":true,\"PTP\":true,"
		    "\"unknown_bits\":\"0x0\"},\"id\":\"0x6030000000160002\","
		    "\"name\":\"VENDOR_HYP_BMAP\",\"value\":\"0x3\"}");
	assert_json(fwreg_entry_json(FWREG_ID_VENDOR_HYP_BMAP_2, 0),
		    "{\"decoded\":{\"DISCOVER_IMPL_CPUS\":false,"
		    "\"DISCOVER_IMPL_VER\":false,\"unknown_bits\":\"0x0\"},"
		    "\"id\":\"0x6030000000160003\","
		    "\"name\":\"VENDOR_HYP_BMAP_2\",\"value\":\"0x0\"}");
	/* A register this build does not know: name and decoded null. */
	assert_json(fwreg_entry_json(0x6030000000160004, 0x7),
		    "{\"decoded\":null,\"id\":\"0x6030000000160004\","
		    "\"name\":null,\"value\":\"0x7\"}");
}

/* ---- allocation failures --------------------------------------------------- */

static long alloc_budget; /* allocations left before failing; < 0: never */
static long live;         /* allocated minus freed */

static void *failing_malloc(size_t size)
{
	void *p;

	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	p = malloc(size);
	if (p)
		live++;
	return p;
}

static void counting_free(void *p)
{
	if (p)
		live--;
	free(p);
}

/*
 * Fails the 1st, 2nd, ... allocation of each call in turn: every failure
 * must give NULL and leak nothing; once the budget suffices the result
 * must be the normal one.
 */
static void test_allocation_failures(void **state)
{
	static const struct decode_case c[] = {
		{ FWREG_ID_PSCI_VERSION, 0x10003, NULL },
		{ FWREG_ID_WORKAROUND_1, 7, NULL },
		{ FWREG_ID_WORKAROUND_2, 0x35, NULL },
		{ FWREG_ID_VENDOR_HYP_BMAP, 0x7, NULL },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0x3, NULL },
		{ 0x6030000000160009, 0x1, NULL },
	};

	(void)state;
	json_set_alloc_funcs(failing_malloc, counting_free);
	for (size_t i = 0; i < NCASES(c); i++) {
		for (int entry = 0; entry < 2; entry++) {
			char *want, *got;
			json_t *j;
			long n;

			alloc_budget = -1;
			j = entry ? fwreg_entry_json(c[i].id, c[i].value) :
				    fwreg_decode(c[i].id, c[i].value);
			assert_non_null(j);
			want = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
						     JSON_ENCODE_ANY);
			assert_non_null(want);
			json_decref(j);

			for (n = 0;; n++) {
				live = 0;
				alloc_budget = n;
				j = entry ? fwreg_entry_json(c[i].id,
							     c[i].value) :
					    fwreg_decode(c[i].id, c[i].value);
				alloc_budget = -1;
				if (j) {
					got = json_dumps(j, JSON_COMPACT |
							       JSON_SORT_KEYS |
							       JSON_ENCODE_ANY);
					assert_non_null(got);
					assert_string_equal(got, want);
					counting_free(got);
					json_decref(j);
					assert_int_equal(live, 0);
					break;
				}
				assert_int_equal(live, 0);
				assert_true(n < 200);
			}
			counting_free(want);
		}
	}
	json_set_alloc_funcs(malloc, free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_contents),
		cmocka_unit_test(test_catalogue_since_numbers),
		cmocka_unit_test(test_catalogue_bits),
		cmocka_unit_test(test_lookup_misses),
		cmocka_unit_test(test_id_is_firmware),
		cmocka_unit_test(test_psci_versions),
		cmocka_unit_test(test_format_hex),
		cmocka_unit_test(test_decode_lab_5_10),
		cmocka_unit_test(test_decode_lab_6_1_and_6_12),
		cmocka_unit_test(test_decode_lab_7_3),
		cmocka_unit_test(test_decode_defined_values),
		cmocka_unit_test(test_decode_undefined_values),
		cmocka_unit_test(test_decode_unknown_register),
		cmocka_unit_test(test_entry_json),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
