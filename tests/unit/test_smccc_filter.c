/*
 * The "smccc" profile member: parsing and its refusals, the deny plan
 * (the 32-bit id space minus what is allowed and the architecture
 * ranges), the canonical round trip, and the verdict on hosts with,
 * without and not known to have KVM's SMCCC filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compat.h"
#include "fwreg.h"
#include "hostset.h"
#include "lab_hostsets.h"
#include "profile.h"
#include "smccc_filter.h"
#include "test_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct compat_report report;

static struct smccc_filter_spec spec(const char *text)
{
	struct api_error err = { 0 };
	struct smccc_filter_spec s;
	json_t *doc = load_json(text);

	if (smccc_filter_from_json(doc, &s, &err))
		fail_msg("smccc: %s %s: %s", err.code, err.field, err.detail);
	json_decref(doc);
	return s;
}

/* PSCI and the arch calls only: everything else is denied. */
static void test_deny_plan(void **state)
{
	static const struct smccc_range want[] = {
		{ 0x00000000, 0x80000000 }, /* below the arch range */
		{ 0x80010000, 0x03ff0000 }, /* up to PSCI (SMC32) */
		{ 0x84000020, 0x3bffffe0 }, /* past PSCI to the SMC64 arch */
		{ 0xc0010000, 0x03ff0000 }, /* up to PSCI (SMC64) */
		{ 0xc4000020, 0x3bffffe0 }, /* past PSCI to the end */
	};
	struct smccc_filter_spec s =
		spec("{\"policy\": \"deny_unlisted\", \"allow\": [\"PSCI\", "
		     "\"SMCCC_ARCH\"]}");
	struct smccc_range got[SMCCC_RANGES_MAX];
	size_t n;

	(void)state;
	assert_true(s.present);
	assert_false(s.degrade);
	n = smccc_filter_deny_ranges(&s, got, SMCCC_RANGES_MAX);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		if (got[i].base != want[i].base || got[i].count != want[i].count)
			fail_msg("range %zu: 0x%x+0x%llx, want 0x%x+0x%llx", i,
				 got[i].base, (unsigned long long)got[i].count,
				 want[i].base,
				 (unsigned long long)want[i].count);
	}
	/* What the probe guest calls: PSCI and arch answered, rest denied. */
	assert_true(smccc_filter_allows(&s, 0x84000000));
	assert_true(smccc_filter_allows(&s, 0xc4000003));
	assert_true(smccc_filter_allows(&s, 0x80000000));
	assert_true(smccc_filter_allows(&s, 0x80008000));
	assert_false(smccc_filter_allows(&s, 0x84000050));
	assert_false(smccc_filter_allows(&s, 0x86000000));
	assert_false(smccc_filter_allows(&s, 0x8600ff01));
	assert_false(smccc_filter_allows(&s, 0xc5000020));
	assert_false(smccc_filter_allows(&s, 0x8400ff00));
	assert_false(smccc_filter_allows(&s, 0xb2000000));
	assert_false(smccc_filter_allows(&s, 0xffffffff));
}

/* Ranges, overlaps and adjacency merge; the plan covers the rest. */
static void test_ranges(void **state)
{
	struct smccc_filter_spec s = spec(
		"{\"policy\": \"deny_unlisted\", \"unenforceable\": \"degrade\", "
		"\"allow\": [\"TRNG\", {\"base\": \"0x84000050\", \"count\": 4}, "
		"{\"base\": \"0x0\", \"count\": 16}, "
		"{\"base\": \"0xffffff00\", \"count\": 256}, \"KVM_VENDOR_HYP\"]}");
	struct smccc_range got[SMCCC_RANGES_MAX];
	uint64_t covered = 0;
	size_t n;

	(void)state;
	assert_true(s.degrade);
	n = smccc_filter_deny_ranges(&s, got, SMCCC_RANGES_MAX);
	assert_true(got[0].base == 0x10);
	assert_true(got[n - 1].base + got[n - 1].count == 0xffffff00);
	for (size_t i = 0; i < n; i++) {
		covered += got[i].count;
		if (i)
			assert_true(got[i - 1].base + got[i - 1].count <
				    got[i].base);
	}
	/* 2^32 minus 16 + 256 + 2 x 65536 (arch) + 2 x 16 (TRNG) + 2 x 65536
	 * (KVM vendor). */
	assert_true(covered == (UINT64_C(1) << 32) - 16 - 256 - 4 * 65536 -
				       32);
	assert_true(smccc_filter_allows(&s, 0xc6000040));
	assert_false(smccc_filter_allows(&s, 0xc5000020));
}

static void test_round_trip(void **state)
{
	const char *text =
		"{\"policy\":\"deny_unlisted\",\"allow\":[\"PSCI\","
		"{\"base\":\"0x84000050\",\"count\":16}],\"unenforceable\":"
		"\"refuse\"}";
	struct smccc_filter_spec s = spec(text), again;
	json_t *j = smccc_filter_to_json(&s);
	struct api_error err;
	char *out;

	(void)state;
	out = json_dumps(j, JSON_COMPACT);
	assert_string_equal(out, text);
	assert_int_equal(smccc_filter_from_json(j, &again, &err), 0);
	assert_true(smccc_filter_equal(&s, &again));
	free(out);
	json_decref(j);
}

static const struct {
	const char *json;
	unsigned status;
	const char *code, *field;
} bad[] = {
	{ "[]", 400, "wrong_type", "smccc" },
	{ "{\"allow\": []}", 422, "missing_field", "smccc.policy" },
	{ "{\"policy\": \"allow_all\", \"allow\": []}", 422, "bad_policy",
	  "smccc.policy" },
	{ "{\"policy\": \"deny_unlisted\"}", 422, "missing_field",
	  "smccc.allow" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": {}}", 400, "wrong_type",
	  "smccc.allow" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [], \"x\": 1}", 422,
	  "unknown_field", "smccc.x" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [], "
	  "\"unenforceable\": \"ignore\"}",
	  422, "bad_policy", "smccc.unenforceable" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [\"SDEI\"]}", 422,
	  "unknown_service", "smccc.allow[0]" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [\"PSCI\", \"PSCI\"]}",
	  422, "duplicate_service", "smccc.allow[1]" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [5]}", 400, "wrong_type",
	  "smccc.allow[0]" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"count\": 1}]}", 422,
	  "missing_field", "smccc.allow[0].base" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": \"0x1\"}]}",
	  422, "missing_field", "smccc.allow[0].count" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": \"0x1\", "
	  "\"count\": \"2\"}]}",
	  400, "wrong_type", "smccc.allow[0].count" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": \"0x1\", "
	  "\"count\": 0}]}",
	  422, "bad_range", "smccc.allow[0].count" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": "
	  "\"0xffffffff\", \"count\": 2}]}",
	  422, "bad_range", "smccc.allow[0].count" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": "
	  "\"0x100000000\", \"count\": 1}]}",
	  422, "bad_range", "smccc.allow[0].base" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": \"0x8\", "
	  "\"count\": 1, \"action\": 2}]}",
	  422, "unknown_field", "smccc.allow[0].action" },
	/* KVM keeps the arch ranges: they cannot be allowed or denied. */
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": "
	  "\"0x7fffff00\", \"count\": 512}]}",
	  422, "bad_range", "smccc.allow[0]" },
	{ "{\"policy\": \"deny_unlisted\", \"allow\": [{\"base\": "
	  "\"0xc000ffff\", \"count\": 1}]}",
	  422, "bad_range", "smccc.allow[0]" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct api_error err = { 0 };
		struct smccc_filter_spec s;
		json_t *doc = load_json(bad[i].json);

		if (smccc_filter_from_json(doc, &s, &err) != -EINVAL ||
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

static struct profile *deny_profile(const char *unenforceable)
{
	char text[512];
	struct api_error err = { 0 };
	struct profile *p;
	json_t *doc;

	snprintf(text, sizeof(text),
		 "{\"name\": \"psci-only\", \"registers\": {"
		 "\"PSCI_VERSION\": \"1.1\", \"SMCCC_ARCH_WORKAROUND_1\": "
		 "\"host\", \"SMCCC_ARCH_WORKAROUND_2\": \"host\", "
		 "\"SMCCC_ARCH_WORKAROUND_3\": \"host\", \"STD_BMAP\": \"host\", "
		 "\"STD_HYP_BMAP\": \"host\", \"VENDOR_HYP_BMAP\": \"host\"}, "
		 "\"smccc\": {\"policy\": \"deny_unlisted\", \"allow\": "
		 "[\"PSCI\", \"SMCCC_ARCH\"], \"unenforceable\": \"%s\"}}",
		 unenforceable);
	doc = load_json(text);
	if (profile_from_json(doc, &p, &err))
		fail_msg("profile: %s %s: %s", err.code, err.field, err.detail);
	json_decref(doc);
	return p;
}

/* The member lives in the profile document and survives its round trip. */
static void test_profile_member(void **state)
{
	struct profile *p = deny_profile("refuse"), *q;
	struct api_error err;
	json_t *doc = profile_to_json(p);

	(void)state;
	assert_non_null(json_object_get(doc, "smccc"));
	assert_int_equal(profile_from_json(doc, &q, &err), 0);
	assert_true(profile_equal(p, q));
	q->smccc.degrade = true;
	assert_false(profile_equal(p, q));
	profile_free(q);
	json_decref(doc);
	profile_free(p);
}

static const struct compat_service *service(const struct compat_report *r,
					    const char *name)
{
	for (size_t i = 0; i < r->discovery.nservices; i++)
		if (strcmp(r->discovery.services[i].name, name) == 0)
			return &r->discovery.services[i];
	fail_msg("no service %s", name);
	return NULL;
}

/* With the filter, enforced; without it, refused or degraded as asked. */
static void test_verdicts(void **state)
{
	struct profile *p = deny_profile("refuse");
	struct hostset h = load_host(LAB_6_12_JSON);
	struct api_error err;
	json_t *doc;

	(void)state;
	/* A host set that does not say (the lab's 6.12 says it has one). */
	h.smccc_filter = -1;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_int_equal(report.smccc.verdict, COMPAT_SMCCC_UNDETERMINED);
	assert_false(service(&report, "TRNG")->denied);

	h.smccc_filter = 1;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_int_equal(report.smccc.verdict, COMPAT_SMCCC_ENFORCED);
	assert_int_equal(report.smccc.ndeny, 5);
	assert_true(service(&report, "TRNG")->denied);
	assert_false(service(&report, "TRNG")->reachable);
	assert_true(service(&report, "PTP")->denied);
	assert_true(service(&report, "FUNC_FEAT")->denied);
	assert_true(service(&report, "PV_TIME")->denied);
	assert_false(service(&report, "SMCCC_ARCH_WORKAROUND_1")->denied);
	assert_true(service(&report, "SMCCC_ARCH_WORKAROUND_1")->reachable);
	doc = compat_report_to_json(&report);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(doc, "smccc"), "verdict")),
			    "enforced");
	assert_true(json_is_true(json_object_get(json_object_get(doc, "smccc"),
						 "host_filter")));
	assert_int_equal(json_array_size(json_object_get(
				 json_object_get(doc, "smccc"), "deny")),
			 5);
	json_decref(doc);

	h.smccc_filter = 0;
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_int_equal(report.smccc.verdict, COMPAT_SMCCC_REFUSED);
	assert_int_equal(compat_refusal(&report, p->name, &err), -EPERM);
	assert_string_equal(err.field, "smccc");
	assert_true(strstr(err.detail, "smccc_filter_unavailable") != NULL);
	doc = compat_report_to_json(&report);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(doc, "smccc"), "rule")),
			    "smccc_filter_unavailable");
	json_decref(doc);
	profile_free(p);

	p = deny_profile("degrade");
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_int_equal(report.smccc.verdict, COMPAT_SMCCC_DEGRADED);
	assert_false(service(&report, "TRNG")->denied);
	assert_true(service(&report, "TRNG")->reachable);
	profile_free(p);
}

/* A capture allows what its host answered, and nothing it did not. */
static void test_from_observed(void **state)
{
	struct observed_abi o;
	struct smccc_filter_spec s;
	struct api_error err;
	json_t *calls = load_json(
		"[" LAB_CALL("0x84000000", "PSCI_VERSION", "0x0000000000010000") ","
		LAB_CALL("0x84000050", "TRNG_VERSION", "0xffffffffffffffff") ","
		"{\"function_id\": \"0xc5000020\", \"name\": "
		"\"PV_TIME_FEATURES(PV_TIME_ST)\", \"x1\": \"0xc5000021\", "
		"\"x0\": \"0x0000000000000000\"},"
		LAB_CALL("0x8600ff01", "KVM_VENDOR_UID", "0x00000000b66fb428") "]");
	json_t *j;
	char *text;

	(void)state;
	assert_int_equal(observed_calls_from_json(calls, "calls", &o, &err), 0);
	assert_true(smccc_filter_from_observed(&o, true, &s));
	j = smccc_filter_to_json(&s);
	text = json_dumps(j, JSON_COMPACT);
	assert_string_equal(text,
			    "{\"policy\":\"deny_unlisted\",\"allow\":[\"PSCI\","
			    "\"SMCCC_ARCH\",\"PV_TIME\",\"KVM_VENDOR_HYP\"],"
			    "\"unenforceable\":\"degrade\"}");
	assert_false(smccc_filter_allows(&s, 0x84000050));
	free(text);
	json_decref(j);
	json_decref(calls);

	/* Nothing to go by: no member. */
	o.ncalls = 0;
	s.present = false;
	assert_false(smccc_filter_from_observed(&o, false, &s));
	assert_false(s.present);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_plan),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_profile_member),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_from_observed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
