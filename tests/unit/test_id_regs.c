/*
 * The feature ID registers (api/id_regs.h): names, the fields a profile
 * may pin and their order, the documents of host sets and profiles, the
 * judgement of a pin on a host, and baselines that pin the fields their
 * hosts disagree on. The register values here are made up for the rules
 * (DebugVer 6 against 9 is the lab's real disagreement, measured in
 * tests/fixtures); test_lab_fixtures baselines the captured sets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "baseline.h"
#include "compat.h"
#include "hostset.h"
#include "id_regs.h"
#include "lab_hostsets.h"
#include "profile.h"
#include "test_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct compat_report report;

static void test_names(void **state)
{
	char buf[24];
	uint64_t id;

	(void)state;
	assert_int_equal(ID_AA64DFR0_EL1, 0x603000000013c028ULL);
	assert_string_equal(id_reg_name(ID_AA64DFR0_EL1, buf, sizeof(buf)), "ID_AA64DFR0_EL1");
	assert_string_equal(id_reg_name(ID_REG_ID(1, 2), buf, sizeof(buf)), "ID_DFR0_EL1");
	assert_string_equal(id_reg_name(ID_REG_ID(3, 3), buf, sizeof(buf)), "S3_0_C0_C3_3");
	assert_int_equal(id_reg_lookup("ID_AA64MMFR1_EL1", &id), 0);
	assert_int_equal(id, ID_AA64MMFR1_EL1);
	assert_int_equal(id_reg_lookup("S3_0_C0_C3_3", &id), 0);
	assert_int_equal(id, ID_REG_ID(3, 3));
	assert_int_equal(id_reg_lookup("MIDR_EL1", &id), -ENOENT);
	assert_int_equal(id_reg_lookup("id_aa64dfr0_el1", &id), -ENOENT);
	/* CRm 0 (MIDR, MPIDR) is identification, not features; other
	 * spaces and sizes are not ID registers. */
	assert_true(id_reg_is_feature(ID_REG_ID(7, 7)));
	assert_false(id_reg_is_feature(ID_REG_ID(0, 5)));
	assert_false(id_reg_is_feature(0x603000000013c801ULL)); /* CLIDR_EL1 */
	assert_false(id_reg_is_feature(0x602000000013c028ULL)); /* 32-bit size */
	assert_false(id_reg_is_feature(0x6030000000140000ULL)); /* PSCI_VERSION */
}

static void test_pinnable(void **state)
{
	(void)state;
	assert_int_equal(id_reg_pinnable(ID_AA64DFR0_EL1), ~0xf00ULL);       /* not PMUVer */
	assert_int_equal(id_reg_pinnable(ID_REG_ID(1, 2)), ~0x0f000000ULL);  /* not PerfMon */
	assert_int_equal(id_reg_pinnable(ID_AA64PFR0_EL1), ~(0xfULL << 32)); /* not SVE */
	assert_int_equal(id_reg_pinnable(ID_AA64ZFR0_EL1), 0);
	assert_int_equal(id_reg_pinnable(ID_AA64ISAR1_EL1), ~0xff0000ffULL);
	assert_int_equal(id_reg_pinnable(ID_AA64ISAR2_EL1), ~0xff00ULL);
	assert_int_equal(id_reg_pinnable(ID_AA64MMFR1_EL1), ~ID_MMFR1_EL2_ONLY);
	assert_int_equal(id_reg_pinnable(ID_REG_ID(6, 0)), ~0ULL);
	assert_int_equal(id_reg_pinnable(ID_REG_ID(0, 0)), 0);
}

static void test_field_order(void **state)
{
	bool ordered;

	(void)state;
	/* DebugVer (unsigned): 6 below 9. */
	assert_true(id_field_cmp(ID_AA64DFR0_EL1, 0, 0x6, 0x9, &ordered) < 0);
	assert_true(ordered);
	assert_int_equal(id_field_cmp(ID_AA64DFR0_EL1, 0, 0x9, 0x9, &ordered), 0);
	/* FP (signed): 0xf, "none", is below 0 and 1. */
	assert_true(id_field_cmp(ID_AA64PFR0_EL1, 16, 0xfULL << 16, 0, &ordered) < 0);
	assert_true(id_field_cmp(ID_AA64PFR0_EL1, 16, 1ULL << 16, 0, &ordered) > 0);
	/* The same nibble of another register is unsigned. */
	assert_true(id_field_cmp(ID_REG_ID(6, 0), 16, 0xfULL << 16, 0, &ordered) > 0);
	/* DoubleLock (signed). */
	assert_true(id_field_cmp(ID_AA64DFR0_EL1, 36, 0xfULL << 36, 0, &ordered) < 0);
	/* TGran4_2 has no order. */
	id_field_cmp(ID_AA64MMFR0_EL1, 40, 1ULL << 40, 2ULL << 40, &ordered);
	assert_false(ordered);
}

#define HOST_IDS(masks, regs) "{\"writable_masks\": " masks ", \"registers\": [" regs "]}"
#define HOST_ID(id, value, writable) \
	"{\"id\": \"" id "\", \"value\": \"" value "\", \"writable\": \"" writable "\"}"

static int hostset_error(const char *idregs, struct api_error *err)
{
	char doc[2048];
	json_t *j;
	struct hostset h;
	int ret;

	snprintf(doc, sizeof(doc),
		 "{\"kernel_release\": \"x\", \"registers\": [], \"id_registers\": %s}", idregs);
	j = load_json(doc);
	memset(err, 0, sizeof(*err));
	ret = hostset_from_json(j, &h, err);
	json_decref(j);
	return ret;
}

static void test_hostset_document(void **state)
{
	struct hostset h = load_host(
		"{\"kernel_release\": \"6.12\", \"registers\": [], \"id_registers\": " HOST_IDS(
			"true", HOST_ID("0x603000000013c039", "0x1", "0x0") ","
				"{\"id\": \"0x603000000013c028\", \"name\": \"ID_AA64DFR0_EL1\", "
				"\"value\": \"0x10305009\", \"writable\": \"0xf0ff0f\"}") "}");
	struct hostset back;
	struct api_error err = { 0 };
	json_t *doc;

	(void)state;
	assert_true(h.idregs.known && h.idregs.masks_known);
	assert_int_equal(h.idregs.n, 2);
	assert_int_equal(h.idregs.regs[0].id, ID_AA64DFR0_EL1); /* sorted */
	assert_int_equal(h.idregs.regs[0].writable, 0xf0ff0f);
	assert_non_null(id_regs_find(&h.idregs, ID_AA64MMFR1_EL1));
	assert_null(id_regs_find(&h.idregs, ID_AA64PFR0_EL1));
	doc = hostset_to_json(&h);
	assert_int_equal(hostset_from_json(doc, &back, &err), 0);
	assert_true(hostset_equal(&h, &back));
	json_decref(doc);
	/* A set without them says nothing. */
	h = load_host("{\"kernel_release\": \"5.10\", \"registers\": []}");
	assert_false(h.idregs.known);
	doc = hostset_to_json(&h);
	assert_null(json_object_get(doc, "id_registers"));
	json_decref(doc);

	assert_int_equal(hostset_error("[]", &err), -EINVAL);
	assert_string_equal(err.code, "wrong_type");
	assert_int_equal(hostset_error("{\"registers\": []}", &err), -EINVAL);
	assert_string_equal(err.field, "id_registers.writable_masks");
	assert_int_equal(hostset_error(HOST_IDS("true", HOST_ID("0x603000000013c800", "0x1",
								 "0x0")), &err), -EINVAL);
	assert_string_equal(err.code, "not_id_register");
	assert_string_equal(err.field, "id_registers.registers[0].id");
	assert_int_equal(hostset_error(HOST_IDS("false", HOST_ID("0x603000000013c028", "0x1",
								  "0xf")), &err), -EINVAL);
	assert_string_equal(err.code, "bad_value");
	assert_string_equal(err.field, "id_registers.registers[0].writable");
	assert_int_equal(hostset_error(HOST_IDS("true", HOST_ID("0x603000000013c028", "0x1", "0x0")
						","
						HOST_ID("0x603000000013c028", "0x2", "0x0")),
				       &err), -EINVAL);
	assert_string_equal(err.code, "duplicate_register");
	assert_int_equal(hostset_error(HOST_IDS("true", "{\"id\": \"0x603000000013c028\", "
							 "\"name\": \"ID_AA64DFR1_EL1\", "
							 "\"value\": \"0x1\"}"), &err), -EINVAL);
	assert_string_equal(err.code, "name_mismatch");
	assert_int_equal(hostset_error(HOST_IDS("true", "{\"id\": \"0x603000000013c028\", "
							 "\"colour\": 1, \"value\": \"0x1\"}"), &err),
			 -EINVAL);
	assert_string_equal(err.code, "unknown_field");
}

static int profile_error(const char *idregs, struct api_error *err)
{
	char doc[1024];
	struct profile *p = NULL;
	json_t *j;
	int ret;

	snprintf(doc, sizeof(doc), "{\"name\": \"p\", \"registers\": {}, \"id_registers\": %s}",
		 idregs);
	j = load_json(doc);
	memset(err, 0, sizeof(*err));
	ret = profile_from_json(j, &p, err);
	json_decref(j);
	profile_free(p);
	return ret;
}

static void test_profile_document(void **state)
{
	struct profile *p = load_profile(
		"{\"name\": \"p\", \"registers\": {}, \"id_registers\": ["
		"{\"name\": \"ID_AA64MMFR2_EL1\", \"mask\": \"0xf0\", \"value\": \"0x10\"},"
		"{\"id\": \"0x603000000013c028\", \"name\": \"ID_AA64DFR0_EL1\", "
		"\"mask\": \"0xf\", \"value\": \"0x6\"}]}");
	struct profile *back = NULL;
	struct api_error err = { 0 };
	json_t *doc;

	(void)state;
	assert_int_equal(p->nid_pins, 2);
	assert_int_equal(p->id_pins[0].id, ID_AA64DFR0_EL1);
	assert_int_equal(p->id_pins[0].value, 6);
	assert_int_equal(p->id_pins[1].id, ID_REG_ID(7, 2));
	doc = profile_to_json(p);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(doc, "id_registers"), 1), "name")),
			    "ID_AA64MMFR2_EL1");
	assert_int_equal(profile_from_json(doc, &back, &err), 0);
	assert_true(profile_equal(p, back));
	json_decref(doc);
	profile_free(back);
	profile_free(p);

	assert_int_equal(profile_error("{}", &err), -EINVAL);
	assert_string_equal(err.code, "wrong_type");
	assert_int_equal(profile_error("[{\"mask\": \"0xf\", \"value\": \"0x1\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "missing_field");
	assert_string_equal(err.field, "id_registers[0]");
	assert_int_equal(profile_error("[{\"name\": \"MIDR_EL1\", \"mask\": \"0xf\", "
				       "\"value\": \"0x1\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "unknown_register");
	assert_string_equal(err.field, "id_registers[0].name");
	assert_int_equal(profile_error("[{\"id\": \"0x603000000013c028\", \"mask\": \"0x7\", "
				       "\"value\": \"0x1\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "bad_mask");
	assert_string_equal(err.field, "id_registers[0].mask");
	assert_non_null(strstr(err.detail, "[3:0]"));
	/* PMUVer is the VM's cpu_features' to decide. */
	assert_int_equal(profile_error("[{\"id\": \"0x603000000013c028\", \"mask\": \"0xf00\", "
				       "\"value\": \"0x100\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "bad_mask");
	assert_non_null(strstr(err.detail, "ID_AA64DFR0_EL1[11:8]"));
	assert_int_equal(profile_error("[{\"id\": \"0x603000000013c028\", \"mask\": \"0x0\", "
				       "\"value\": \"0x0\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "bad_mask");
	assert_int_equal(profile_error("[{\"id\": \"0x603000000013c028\", \"mask\": \"0xf\", "
				       "\"value\": \"0x16\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "bad_value");
	assert_string_equal(err.field, "id_registers[0].value");
	assert_int_equal(profile_error("[{\"id\": \"0x603000000013c028\", \"mask\": \"0xf\", "
				       "\"value\": \"0x6\"}, {\"name\": \"ID_AA64DFR0_EL1\", "
				       "\"mask\": \"0xf0\", \"value\": \"0x0\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "duplicate_register");
	assert_string_equal(err.field, "id_registers[1]");
	assert_int_equal(profile_error("[{\"id\": \"0x603000000013c000\", \"mask\": \"0xf\", "
				       "\"value\": \"0x0\"}]", &err), -EINVAL);
	assert_string_equal(err.code, "not_id_register");
}

static void test_judge(void **state)
{
	const struct id_pin debugver6 = { ID_AA64DFR0_EL1, 0xf, 0x6 };
	struct id_reg host = { ID_AA64DFR0_EL1, 0x10305009, 0xf };
	char why[256];

	(void)state;
	assert_int_equal(id_pin_judge(&debugver6, &host, why, sizeof(why)), ID_PIN_WRITE);
	assert_int_equal(id_pin_apply(&debugver6, host.value), 0x10305006);
	host.writable = 0xf0;
	assert_int_equal(id_pin_judge(&debugver6, &host, why, sizeof(why)), ID_PIN_REFUSED);
	assert_non_null(strstr(why, "ID_AA64DFR0_EL1[3:0]: the profile pins 6, this host's vCPUs "
				    "show 9 and its KVM takes no write"));
	host.writable = 0;
	id_pin_judge(&debugver6, &host, why, sizeof(why));
	assert_non_null(strstr(why, "before 6.7"));
	host.value = 0x10305006;
	assert_int_equal(id_pin_judge(&debugver6, &host, why, sizeof(why)), ID_PIN_SAME);
	/* More than the host has is never shown, writable or not. */
	host.value = 0x10305005;
	host.writable = ~0ULL;
	assert_int_equal(id_pin_judge(&debugver6, &host, why, sizeof(why)), ID_PIN_REFUSED);
	assert_non_null(strstr(why, "more than the host has"));
	assert_int_equal(id_pin_judge(&debugver6, NULL, why, sizeof(why)), ID_PIN_REFUSED);
	assert_non_null(strstr(why, "does not list it"));
}

/* The lab's firmware registers with made-up ID registers: DebugVer (and
 * in one case a second field) as given. */
static struct hostset with_ids(const char *json, uint64_t dfr0, uint64_t dfr0_writable,
			       uint64_t isar0)
{
	struct hostset h = load_host(json);
	const uint64_t ids[] = { ID_AA64DFR0_EL1, ID_REG_ID(6, 0), ID_REG_ID(0, 5) };
	const uint64_t values[] = { dfr0, isar0, 0x80000000 };
	const uint64_t writable[] = { dfr0_writable, 0, 0 };
	struct api_error err;

	assert_int_equal(id_regs_init(&h.idregs, ids, values, writable, 3, dfr0_writable != 0,
				      &err), 0);
	return h;
}

static void test_baseline(void **state)
{
	struct hostset hosts[3];
	struct api_error err = { 0 };
	struct profile *p = NULL;

	(void)state;
	/* 6.12 (writable) and 6.1 (not): DebugVer pinned at 6.1's 6. */
	hosts[0] = with_ids(LAB_6_12_JSON, 0x10305009, 0xf0f0f0f, 0x1000);
	hosts[1] = with_ids(LAB_6_1_JSON, 0x10305006, 0, 0x1000);
	assert_int_equal(baseline_compute("b", hosts, 2, &p, &err), 0);
	assert_int_equal(p->nid_pins, 1);
	assert_int_equal(p->id_pins[0].id, ID_AA64DFR0_EL1);
	assert_int_equal(p->id_pins[0].mask, 0xf);
	assert_int_equal(p->id_pins[0].value, 0x6);
	compat_check(p, &hosts[0], &report);
	assert_true(report.compatible);
	assert_int_equal(report.ids.nwrites, 1);
	assert_int_equal(report.ids.entries[0].verdict, ID_PIN_WRITE);
	compat_check(p, &hosts[1], &report);
	assert_true(report.compatible);
	assert_int_equal(report.ids.nwrites, 0);
	assert_int_equal(report.ids.entries[0].verdict, ID_PIN_SAME);
	/* The same profile on a host with 6.1's firmware registers whose
	 * vCPUs show 9 and which takes no write (as 5.10 does). */
	hosts[2] = with_ids(LAB_6_1_JSON, 0x10305009, 0, 0x1000);
	compat_check(p, &hosts[2], &report);
	assert_false(report.compatible);
	assert_int_equal(report.ids.verdict, COMPAT_ID_REFUSED);
	assert_int_equal(compat_refusal(&report, p->name, &err), -EPERM);
	assert_string_equal(err.field, "id_registers.ID_AA64DFR0_EL1");
	assert_non_null(strstr(err.detail, "rule id_register_differs"));
	{
		json_t *doc = compat_report_to_json(&report);
		json_t *ids = json_object_get(doc, "id_registers");

		assert_string_equal(json_string_value(json_object_get(ids, "rule")),
				    "id_register_differs");
		assert_string_equal(json_string_value(json_object_get(
					    json_array_get(json_object_get(ids, "registers"), 0),
					    "verdict")),
				    "refused");
		json_decref(doc);
	}
	profile_free(p);

	/* 6.1 and 5.10: neither takes a write, so there is no baseline. */
	hosts[2] = with_ids(LAB_5_10_JSON, 0x10305009, 0, 0x1000);
	p = NULL;
	assert_int_equal(baseline_compute("b", &hosts[1], 2, &p, &err), -EINVAL);
	assert_null(p);
	assert_string_equal(err.code, "baseline_conflict");
	assert_string_equal(err.field, "id_registers.ID_AA64DFR0_EL1");
	assert_non_null(strstr(err.detail, "shows 9"));
	assert_non_null(strstr(err.detail, "shows 6"));

	/* Every host agrees: nothing pinned. */
	hosts[1] = with_ids(LAB_6_1_JSON, 0x10305009, 0, 0x1000);
	assert_int_equal(baseline_compute("b", hosts, 2, &p, &err), 0);
	assert_int_equal(p->nid_pins, 0);
	profile_free(p);

	/* A host set that does not say its ID registers: nothing pinned. */
	hosts[1] = load_host(LAB_6_1_JSON);
	assert_int_equal(baseline_compute("b", hosts, 2, &p, &err), 0);
	assert_int_equal(p->nid_pins, 0);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),          cmocka_unit_test(test_pinnable),
		cmocka_unit_test(test_field_order),    cmocka_unit_test(test_hostset_document),
		cmocka_unit_test(test_profile_document), cmocka_unit_test(test_judge),
		cmocka_unit_test(test_baseline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
