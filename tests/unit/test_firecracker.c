/*
 * Firecracker CPU templates and fingerprints as host sets. The documents
 * in tests/fixtures/firecracker/ are written by hand in Firecracker's
 * format (not copied from a real fleet): the fingerprints carry the
 * register values the lab's 5.10 and 6.1 kernels reported, next to
 * ordinary system registers that must be ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "baseline.h"
#include "compat.h"
#include "firecracker.h"
#include "fwreg.h"
#include "hostset.h"
#include "lab_hostsets.h"
#include "profile.h"
#include "test_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct compat_report report;

static json_t *fixture(const char *name)
{
	char path[512];
	json_error_t jerr;
	json_t *f;

	snprintf(path, sizeof(path), "%s/firecracker/%s", PINVM_FIXTURE_DIR,
		 name);
	f = json_load_file(path, 0, &jerr);
	if (!f)
		fail_msg("%s: %s", path, jerr.text);
	return f;
}

static struct hostset import(const char *name, struct fc_import *info)
{
	struct api_error err = { 0 };
	struct hostset h;
	json_t *doc = fixture(name);

	assert_true(firecracker_is_document(doc));
	if (hostset_from_any_json(doc, &h, info, &err))
		fail_msg("%s: %s %s: %s", name, err.code, err.field,
			 err.detail);
	json_decref(doc);
	return h;
}

/* The 6.1 fingerprint is the lab's 6.1 host set, system registers aside. */
static void test_fingerprint(void **state)
{
	struct hostset lab = load_host(LAB_6_1_JSON);
	struct fc_import info;
	struct hostset h = import("fingerprint-6.1.json", &info);
	json_t *j;
	char *text;

	(void)state;
	assert_int_equal(info.format, FC_FORMAT_FINGERPRINT);
	assert_int_equal(info.firmware, 7);
	assert_int_equal(info.ignored, 2);
	/* A fingerprint says nothing of the filter or the vCPU features. */
	assert_int_equal(h.smccc_filter, -1);
	assert_false(h.cpu_known);
	lab.smccc_filter = -1;
	lab.cpu_known = false;
	assert_true(hostset_equal(&h, &lab));
	assert_string_equal(h.kernel_release, "6.1.0-50-cloud-arm64");

	j = firecracker_import_json(&info);
	text = json_dumps(j, JSON_COMPACT);
	assert_string_equal(
		text,
		"{\"format\":\"firecracker_fingerprint\",\"firmware_registers\":7,"
		"\"ignored_registers\":2,\"ignored_members\":["
		"\"firecracker_version\",\"microcode_version\",\"bios_version\","
		"\"bios_revision\",\"kvm_capabilities\",\"vcpu_features\"],"
		"\"note\":\"7 firmware registers taken from the Firecracker "
		"fingerprint; 2 other registers and the members listed "
		"ignored: they do not shape the hypercall ABI\"}");
	free(text);
	json_decref(j);
}

/* Verdicts and baselines work on imported hosts like on pinvm's own. */
static void test_verdict_and_baseline(void **state)
{
	struct hostset hosts[2];
	struct api_error err;
	struct profile *p;

	(void)state;
	hosts[0] = import("fingerprint-5.10.json", NULL);
	hosts[1] = import("fingerprint-6.1.json", NULL);
	assert_int_equal(profile_capture("fc-6.1", &hosts[1], NULL,
					 PROFILE_UNKNOWN_REFUSE, &p, &err),
			 0);
	compat_check(p, &hosts[0], &report);
	assert_false(report.compatible);
	assert_int_equal(compat_refusal(&report, p->name, &err), -EPERM);
	assert_string_equal(err.field, "registers.PSCI_VERSION");
	profile_free(p);

	assert_int_equal(baseline_compute("fc-fleet", hosts, 2, &p, &err), 0);
	assert_true(profile_find_pin(p, FWREG_ID_PSCI_VERSION)->value ==
		    0x10000);
	assert_true(profile_find_pin(p, FWREG_ID_WORKAROUND_3)->value == 0);
	assert_true(profile_find_pin(p, FWREG_ID_STD_BMAP)->value == 0);
	for (size_t i = 0; i < 2; i++) {
		compat_check(p, &hosts[i], &report);
		assert_true(report.compatible);
	}
	profile_free(p);
}

/* A template: no kernel release, "_" separators, 64-digit bitmaps. */
static void test_template(void **state)
{
	struct fc_import info;
	struct hostset h = import("template-services-off.json", &info);

	(void)state;
	assert_int_equal(info.format, FC_FORMAT_TEMPLATE);
	assert_int_equal(info.firmware, 4);
	assert_int_equal(info.ignored, 1);
	assert_int_equal(info.nignored_members, 1);
	assert_string_equal(info.ignored_members[0], "vcpu_features");
	assert_string_equal(h.kernel_release, "");
	assert_int_equal(h.nregs, 4);
	assert_true(hostset_find(&h, FWREG_ID_PSCI_VERSION)->value == 0x10000);
	assert_true(hostset_find(&h, FWREG_ID_WORKAROUND_1)->value == 2);
	assert_true(hostset_find(&h, FWREG_ID_STD_BMAP)->value == 0);
	assert_true(hostset_find(&h, FWREG_ID_VENDOR_HYP_BMAP)->value == 0);
}

/* pinvm's own host sets still go through hostset_from_json(). */
static void test_dispatch(void **state)
{
	struct fc_import info = { .format = FC_FORMAT_TEMPLATE };
	struct api_error err;
	struct hostset h;
	json_t *doc = load_json(LAB_6_12_JSON);

	(void)state;
	assert_false(firecracker_is_document(doc));
	assert_int_equal(hostset_from_any_json(doc, &h, &info, &err), 0);
	assert_int_equal(info.format, FC_FORMAT_NONE);
	assert_int_equal(h.nregs, 7);
	json_decref(doc);
}

#define FP(mods)                                                       \
	"{\"kernel_version\": \"k\", \"guest_cpu_config\": {"            \
	"\"reg_modifiers\": [" mods "]}}"
#define MOD(addr, bits) "{\"addr\": \"" addr "\", \"bitmap\": \"" bits "\"}"
/* 64 digits: value v in the low bits, as "0b" + binary. */
#define Z60 "000000000000000000000000000000000000000000000000000000000000"
#define B64(last4) "0b" Z60 last4

static const struct {
	const char *json;
	unsigned status;
	const char *code, *field;
} bad[] = {
	{ "{\"reg_modifiers\": 5}", 400, "wrong_type", "reg_modifiers" },
	{ "{\"guest_cpu_config\": {\"reg_modifiers\": []}}", 422,
	  "missing_field", "kernel_version" },
	{ "{\"kernel_version\": \"k\", \"guest_cpu_config\": 3}", 400,
	  "wrong_type", "guest_cpu_config" },
	{ "{\"kernel_version\": \"k\", \"guest_cpu_config\": {}}", 422,
	  "missing_field", "guest_cpu_config.reg_modifiers" },
	{ "{\"kernel_version\": \"k\", \"guest_cpu_config\": {}, \"x\": 1}",
	  422, "unknown_field", "x" },
	{ "{\"reg_modifiers\": [], \"cpuid_modifiers\": []}", 422,
	  "wrong_architecture", "cpuid_modifiers" },
	{ "{\"kernel_version\": \"k\", \"guest_cpu_config\": {\"reg_modifiers\": [],"
	  " \"msr_modifiers\": []}}",
	  422, "wrong_architecture", "guest_cpu_config.msr_modifiers" },
	{ FP("7"), 400, "wrong_type", "guest_cpu_config.reg_modifiers[0]" },
	{ FP("{\"bitmap\": \"0b1\"}"), 422, "missing_field",
	  "guest_cpu_config.reg_modifiers[0].addr" },
	{ FP("{\"addr\": \"0x1\"}"), 422, "missing_field",
	  "guest_cpu_config.reg_modifiers[0].bitmap" },
	{ FP("{\"addr\": \"0x1\", \"bitmap\": \"0b1\", \"y\": 0}"), 422,
	  "unknown_field", "guest_cpu_config.reg_modifiers[0].y" },
	{ FP(MOD("6030000000140000", B64("0001"))), 422, "bad_value",
	  "guest_cpu_config.reg_modifiers[0].addr" },
	{ FP(MOD("0x16030000000140000", B64("0001"))), 422, "bad_value",
	  "guest_cpu_config.reg_modifiers[0].addr" },
	{ FP(MOD("0x6030000000140000", "0b12")), 422, "bad_bitmap",
	  "guest_cpu_config.reg_modifiers[0].bitmap" },
	{ FP(MOD("0x6030000000140000",
		 "0b1" Z60 Z60 "00000000")),
	  422, "bad_bitmap", "guest_cpu_config.reg_modifiers[0].bitmap" },
	/* Bits left to the host: not a whole value. */
	{ FP(MOD("0x6030000000140001", "0b10")), 422, "partial_value",
	  "guest_cpu_config.reg_modifiers[0].bitmap" },
	{ FP(MOD("0x6030000000140001", "0b" Z60 "x010")), 422,
	  "partial_value", "guest_cpu_config.reg_modifiers[0].bitmap" },
	{ FP(MOD("0x6030000000140001", "0b1" Z60 "000" Z60 "0010")), 422,
	  "value_too_wide", "guest_cpu_config.reg_modifiers[0].bitmap" },
	/* What no kernel reports. */
	{ FP(MOD("0x6030000000140003", B64("0111"))), 422, "impossible_value",
	  "guest_cpu_config.reg_modifiers[0].bitmap" },
	{ FP(MOD("0x6030000000140001", B64("0010")) ","
	     MOD("0x0000006030000000140001", B64("0010"))),
	  422, "duplicate_register", "guest_cpu_config.reg_modifiers[1]" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct api_error err = { 0 };
		struct hostset h;
		json_t *doc = load_json(bad[i].json);

		if (hostset_from_any_json(doc, &h, NULL, &err) != -EINVAL ||
		    err.status != bad[i].status ||
		    strcmp(err.code, bad[i].code) ||
		    strcmp(err.field, bad[i].field))
			fail_msg("case %zu %s: got %u %s \"%s\" (%s)", i,
				 bad[i].json, err.status, err.code, err.field,
				 err.detail);
		assert_true(strlen(err.detail) > 0);
		json_decref(doc);
	}
}

/* What Firecracker itself accepts in a bitmap and an addr. */
static void test_forms(void **state)
{
	static const char *const docs[] = {
		/* binary addr, no "0b" on the bitmap, "x" above bit 63 */
		FP("{\"addr\": \"0b110000000110000000000000000000000000000000101000000000000000000\", "
		   "\"bitmap\": \"xxxx" Z60 "0001\"}"),
		/* hex with leading zeros, "_" in the bitmap */
		FP(MOD("0x00006030000000140000", "0b0000_" Z60 "0001")),
	};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct api_error err = { 0 };
		struct hostset h;
		json_t *doc = load_json(docs[i]);

		if (hostset_from_any_json(doc, &h, NULL, &err))
			fail_msg("case %zu: %s %s", i, err.field, err.detail);
		assert_int_equal(h.nregs, 1);
		assert_true(h.regs[0].id == FWREG_ID_PSCI_VERSION);
		assert_true(h.regs[0].value == 0x1);
		json_decref(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_verdict_and_baseline),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
