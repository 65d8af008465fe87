/*
 * Host register sets and profiles: parsing, every refusal (status, code,
 * field), decoded forms, the canonical round trip, capture, and an
 * allocation-failure walk over the parsers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
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

static void assert_pin(const struct profile *p, uint64_t id,
		       enum profile_pin_mode mode, uint64_t value)
{
	const struct profile_pin *pin = profile_find_pin(p, id);

	assert_non_null(pin);
	assert_int_equal(pin->mode, mode);
	assert_true(pin->value == value);
}

/* ---- host register sets ----------------------------------------------------- */

static void test_hostset_lab(void **state)
{
	struct hostset h510 = load_host(LAB_5_10_JSON);
	struct hostset h73 = load_host(LAB_7_3_JSON);
	const struct hostset_reg *r;

	(void)state;
	assert_string_equal(h510.kernel_release, "5.10.0-32-cloud-arm64");
	assert_int_equal(h510.nregs, 4);
	assert_null(hostset_find(&h510, FWREG_ID_STD_BMAP));
	r = hostset_find(&h510, FWREG_ID_WORKAROUND_3);
	assert_non_null(r);
	assert_true(r->value == 2);
	assert_false(h510.observed.present);

	assert_int_equal(h73.nregs, 8);
	assert_true(hostset_find(&h73, FWREG_ID_PSCI_VERSION)->value == 0x10003);
	assert_true(hostset_find(&h73, FWREG_ID_VENDOR_HYP_BMAP)->value == 0x3);
	assert_true(hostset_find(&h73, FWREG_ID_VENDOR_HYP_BMAP_2)->value == 0);
	for (size_t i = 1; i < h73.nregs; i++)
		assert_true(h73.regs[i - 1].id < h73.regs[i].id);
}

static void test_hostset_observed(void **state)
{
	struct hostset h = load_host(LAB_6_12_OBSERVED_JSON);
	const struct observed_call *c;
	uint64_t v;
	char why[96];

	(void)state;
	assert_true(h.observed.present);
	assert_int_equal(h.observed.ncalls, 4);
	c = observed_find(&h.observed, "KVM_FEATURES");
	assert_non_null(c);
	assert_true(c->function_id == 0x86000000);
	assert_true(c->x0 == 3);
	assert_true(observed_derive(&h.observed, FWREG_ID_STD_BMAP, &v, why,
				    sizeof(why)));
	assert_true(v == 1);
	assert_string_equal(why, "TRNG_VERSION answered 0x10000");
	assert_true(observed_derive(&h.observed, FWREG_ID_VENDOR_HYP_BMAP, &v,
				    why, sizeof(why)));
	assert_true(v == 3);
	/* PV time was not observed; BMAP_2's calls are not KVM's. */
	assert_false(observed_derive(&h.observed, FWREG_ID_STD_HYP_BMAP, &v,
				     NULL, 0));
	assert_false(observed_derive(&h.observed, FWREG_ID_VENDOR_HYP_BMAP_2,
				     &v, NULL, 0));

	h = load_host(LAB_5_10_OBSERVED_JSON);
	assert_true(observed_derive(&h.observed, FWREG_ID_STD_BMAP, &v, why,
				    sizeof(why)));
	assert_true(v == 0);
	assert_string_equal(why, "TRNG_VERSION answered NOT_SUPPORTED");
	assert_true(observed_derive(&h.observed, FWREG_ID_VENDOR_HYP_BMAP, &v,
				    NULL, 0));
	assert_true(v == 0);
}

/* GET output (with decoded) parses back to the same set. */
static void test_hostset_round_trip(void **state)
{
	const char *texts[] = { LAB_5_10_JSON, LAB_6_1_JSON, LAB_6_12_JSON,
				LAB_7_3_JSON, LAB_6_12_OBSERVED_JSON,
				LAB_5_10_OBSERVED_JSON };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct hostset a = load_host(texts[i]), b;
		struct api_error err;
		json_t *doc = hostset_to_json(&a);

		assert_non_null(doc);
		assert_non_null(json_object_get(
			json_array_get(json_object_get(doc, "registers"), 0),
			"decoded"));
		assert_int_equal(hostset_from_json(doc, &b, &err), 0);
		assert_true(hostset_equal(&a, &b));
		json_decref(doc);
	}
}

static void test_hostset_init(void **state)
{
	const uint64_t ids[] = { FWREG_ID_STD_BMAP, FWREG_ID_PSCI_VERSION };
	const uint64_t vals[] = { 1, 0x10001 };
	const uint64_t bad[] = { FWREG_ID_STD_BMAP, UINT64_C(0x6030000000130000) };
	const uint64_t dup[] = { FWREG_ID_STD_BMAP, FWREG_ID_STD_BMAP };
	struct api_error err;
	struct hostset h;

	(void)state;
	assert_int_equal(hostset_init(&h, "6.1", ids, vals, 2, &err), 0);
	assert_int_equal(h.nregs, 2);
	assert_true(h.regs[0].id == FWREG_ID_PSCI_VERSION);
	assert_int_equal(hostset_init(&h, "6.1", bad, vals, 2, &err), -EINVAL);
	assert_string_equal(err.code, "not_firmware_register");
	assert_string_equal(err.field, "registers[1]");
	assert_int_equal(hostset_init(&h, "6.1", dup, vals, 2, &err), -EINVAL);
	assert_string_equal(err.code, "duplicate_register");
	assert_int_equal(hostset_init(&h, NULL, NULL, NULL, 0, &err), 0);
	assert_string_equal(h.kernel_release, "");

	/* An observation attached afterwards, as the server does. */
	{
		json_t *calls = load_json(LAB_CALLS_6_12);

		assert_int_equal(hostset_set_observed(&h, calls, &err), 0);
		assert_true(h.observed.present);
		assert_int_equal(h.observed.ncalls, 4);
		json_decref(calls);
		calls = load_json("[{\"name\": \"x\"}]");
		assert_int_equal(hostset_set_observed(&h, calls, &err), -EINVAL);
		assert_string_equal(err.code, "missing_field");
		assert_string_equal(err.field, "observed_abi.calls[0].function_id");
		assert_false(h.observed.present);
		json_decref(calls);
	}
}

struct bad_doc {
	const char *json;
	unsigned status;
	const char *code;
	const char *field;
};

#define R(...) "{\"kernel_release\": \"k\", \"registers\": [" __VA_ARGS__ "]}"
#define E(id, v) "{\"id\": \"" id "\", \"value\": \"" v "\"}"

static const struct bad_doc bad_hostsets[] = {
	{ "[]", 400, "wrong_type", "" },
	{ "{\"registers\": []}", 422, "missing_field", "kernel_release" },
	{ "{\"kernel_release\": 5, \"registers\": []}", 400, "wrong_type",
	  "kernel_release" },
	{ "{\"kernel_release\": \"k\"}", 422, "missing_field", "registers" },
	{ "{\"kernel_release\": \"k\", \"registers\": {}}", 400, "wrong_type",
	  "registers" },
	{ "{\"kernel_release\": \"k\", \"registers\": [], \"x\": 1}", 422,
	  "unknown_field", "x" },
	{ R("5"), 400, "wrong_type", "registers[0]" },
	{ R("{\"value\": \"0x1\"}"), 422, "missing_field", "registers[0].id" },
	{ R("{\"id\": \"0x6030000000160000\"}"), 422, "missing_field",
	  "registers[0].value" },
	{ R("{\"id\": 5, \"value\": \"0x1\"}"), 400, "wrong_type",
	  "registers[0].id" },
	{ R(E("0x6030000000160000", "1")), 422, "bad_hex", "registers[0].value" },
	{ R(E("0x6030000000160000", "0x")), 422, "bad_hex", "registers[0].value" },
	{ R(E("0x6030000000160000", "0x10000000000000000")), 422, "bad_hex",
	  "registers[0].value" },
	{ R(E("0x6030000000160000", "0x1 ")), 422, "bad_hex",
	  "registers[0].value" },
	{ R(E("0x6030000000130000", "0x1")), 422, "not_firmware_register",
	  "registers[0]" },
	{ R(E("0x6020000000160000", "0x1")), 422, "not_firmware_register",
	  "registers[0]" },
	{ R(E("0x6030000000160000", "0x1") "," E("0x6030000000160000", "0x1")),
	  422, "duplicate_register", "registers[1]" },
	{ R("{\"id\": \"0x6030000000160000\", \"name\": \"STD_HYP_BMAP\", "
	    "\"value\": \"0x1\"}"),
	  422, "name_mismatch", "registers[0].name" },
	{ R("{\"id\": \"0x6030000000160009\", \"name\": \"STD_BMAP\", "
	    "\"value\": \"0x1\"}"),
	  422, "name_mismatch", "registers[0].name" },
	{ R("{\"id\": \"0x6030000000160000\", \"value\": \"0x1\", \"x\": 1}"),
	  422, "unknown_field", "registers[0].x" },
	/* The values: what no kernel reports (masked levels, a
	 * 31-bit PSCI major.minor). */
	{ R(E("0x6030000000140001", "0x3")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140003", "0x7")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140003", "0x100000001")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140003", "0x12")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000160000", "0x1") "," E("0x6030000000140002", "0x10")),
	  422, "impossible_value", "registers[1].value" },
	{ R(E("0x6030000000140002", "0x4")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140002", "0x13")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140002", "0x20")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140000", "0x100010001")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140000", "0x80010000")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140000", "0x0")), 422, "impossible_value",
	  "registers[0].value" },
	{ R(E("0x6030000000140000", "0x3")), 422, "impossible_value",
	  "registers[0].value" },
	{ "{\"kernel_release\": \"k\", \"registers\": [], \"observed_abi\": "
	  "{\"calls\": [{\"function_id\": \"0x84000050\", \"name\": "
	  "\"TRNG_VERSION\", \"x0\": \"0x0\"}, {\"function_id\": "
	  "\"0x84000050\", \"name\": \"TRNG_VERSION\", \"x0\": \"0x0\"}]}}",
	  422, "duplicate_call", "observed_abi.calls[1]" },
};

static void test_hostset_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_hostsets) / sizeof(bad_hostsets[0]);
	     i++) {
		const struct bad_doc *b = &bad_hostsets[i];
		struct api_error err = { 0 };
		struct hostset h;
		json_t *doc = load_json(b->json);

		if (hostset_from_json(doc, &h, &err) != -EINVAL ||
		    err.status != b->status || strcmp(err.code, b->code) ||
		    strcmp(err.field, b->field))
			fail_msg("case %zu %s: got %u %s \"%s\" (%s)", i,
				 b->json, err.status, err.code, err.field,
				 err.detail);
		assert_true(strlen(err.detail) > 0);
		json_decref(doc);
	}
}

/*
 * Every value a kernel can report is accepted: all levels, WORKAROUND_2
 * AVAIL|ENABLED (kernels before 5.10), PSCI 0.1 (a vCPU without
 * PSCI_0_2) and versions this build does not know yet; bitmaps are free.
 */
static void test_hostset_possible_values(void **state)
{
	static const struct { uint64_t id, value; } ok[] = {
		{ FWREG_ID_PSCI_VERSION, 0x1 },
		{ FWREG_ID_PSCI_VERSION, 0x2 },
		{ FWREG_ID_PSCI_VERSION, 0x10003 },
		{ FWREG_ID_PSCI_VERSION, 0x10004 },
		{ FWREG_ID_PSCI_VERSION, 0x20000 },
		{ FWREG_ID_PSCI_VERSION, 0x7fffffff },
		{ FWREG_ID_WORKAROUND_1, 0 },
		{ FWREG_ID_WORKAROUND_1, 1 },
		{ FWREG_ID_WORKAROUND_1, 2 },
		{ FWREG_ID_WORKAROUND_3, 2 },
		{ FWREG_ID_WORKAROUND_2, 0 },
		{ FWREG_ID_WORKAROUND_2, 1 },
		{ FWREG_ID_WORKAROUND_2, 2 },
		{ FWREG_ID_WORKAROUND_2, 3 },
		{ FWREG_ID_WORKAROUND_2, 0x12 },
		{ FWREG_ID_STD_BMAP, UINT64_MAX },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0x3 },
		{ UINT64_C(0x6030000000140009), UINT64_MAX },
	};
	struct api_error err = { 0 };
	struct hostset h;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (hostset_check_value(ok[i].id, ok[i].value, "v", &err))
			fail_msg("case %zu refused: %s", i, err.detail);
		assert_int_equal(hostset_init(&h, "k", &ok[i].id, &ok[i].value,
					      1, NULL),
				 0);
		assert_int_equal(hostset_check(&h, "hosts[3]", &err), 0);
	}
	/* hostset_init() takes what KVM read; hostset_check() judges it. */
	{
		const uint64_t ids[] = { FWREG_ID_PSCI_VERSION,
					 FWREG_ID_WORKAROUND_3 };
		const uint64_t vals[] = { 0x10001, 7 };

		assert_int_equal(hostset_init(&h, "k", ids, vals, 2, NULL), 0);
		assert_int_equal(hostset_check(&h, "hosts[3]", &err), -EINVAL);
		assert_int_equal(err.status, 422);
		assert_string_equal(err.code, "impossible_value");
		assert_string_equal(err.field, "hosts[3].registers[1].value");
		assert_string_equal(err.detail,
				    "hosts[3].registers[1].value: "
				    "SMCCC_ARCH_WORKAROUND_3 0x7 is not a level "
				    "a kernel reports (it masks the value to 0xf "
				    "and reports NOT_AVAIL 0x0, AVAIL 0x1 or "
				    "NOT_REQUIRED 0x2)");
		assert_int_equal(hostset_check(&h, NULL, &err), -EINVAL);
		assert_string_equal(err.field, "registers[1].value");
	}
}

/* Up to 64 registers; 65 refused. */
static void test_hostset_limit(void **state)
{
	json_t *doc = json_pack("{s:s, s:[]}", "kernel_release", "k",
				"registers");
	json_t *regs = json_object_get(doc, "registers");
	struct api_error err;
	struct hostset h;

	(void)state;
	for (unsigned i = 0; i < 65; i++) {
		char id[24];

		snprintf(id, sizeof(id), "0x60300000001600%02x", i);
		json_array_append_new(regs, json_pack("{s:s, s:s}", "id", id,
						      "value", "0x0"));
		if (i == 63)
			assert_int_equal(hostset_from_json(doc, &h, &err), 0);
	}
	assert_int_equal(hostset_from_json(doc, &h, &err), -EINVAL);
	assert_string_equal(err.code, "too_many_registers");
	json_decref(doc);
}

/* ---- profiles ------------------------------------------------------------- */

/* The example document. */
static const char *const example_profile =
	"{\"name\": \"lab-5.10\", \"description\": \"pinned to 5.10's ABI\","
	" \"registers\": {"
	"  \"PSCI_VERSION\": \"1.0\","
	"  \"SMCCC_ARCH_WORKAROUND_1\": \"NOT_REQUIRED\","
	"  \"SMCCC_ARCH_WORKAROUND_3\": \"host\","
	"  \"STD_BMAP\": {\"TRNG\": false},"
	"  \"VENDOR_HYP_BMAP\": \"0x3\","
	"  \"0x6030000000160003\": \"0x0\"},"
	" \"observed_abi\": {\"kernel_release\": \"5.10.0-32-cloud-arm64\","
	"                   \"calls\": " LAB_CALLS_5_10 "},"
	" \"source\": {\"kind\": \"hand\", \"by\": [1, 2.5, null]},"
	" \"created_at\": \"2026-11-24T00:00:00Z\"}";

static void test_profile_example(void **state)
{
	struct profile *p = load_profile(example_profile);

	(void)state;
	assert_string_equal(p->name, "lab-5.10");
	assert_true(p->has_description);
	assert_string_equal(p->description, "pinned to 5.10's ABI");
	assert_int_equal(p->unknown_registers, PROFILE_UNKNOWN_REFUSE);
	assert_int_equal(p->npins, 6);
	assert_pin(p, FWREG_ID_PSCI_VERSION, PROFILE_PIN_VALUE, 0x10000);
	assert_pin(p, FWREG_ID_WORKAROUND_1, PROFILE_PIN_VALUE, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_3, PROFILE_PIN_HOST, 0);
	assert_pin(p, FWREG_ID_STD_BMAP, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP, PROFILE_PIN_VALUE, 3);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP_2, PROFILE_PIN_VALUE, 0);
	assert_null(profile_find_pin(p, FWREG_ID_WORKAROUND_2));
	for (size_t i = 1; i < p->npins; i++)
		assert_true(p->pins[i - 1].id < p->pins[i].id);
	assert_true(p->observed.present);
	assert_int_equal(p->observed.ncalls, 4);
	assert_string_equal(p->observed.kernel_release, "5.10.0-32-cloud-arm64");
	assert_non_null(p->source);
	assert_string_equal(json_string_value(json_object_get(p->source,
							      "kind")),
			    "hand");
	profile_free(p);
}

static void test_profile_policy_and_forms(void **state)
{
	struct profile *p;

	(void)state;
	p = load_profile("{\"name\": \"a\", \"unknown_registers\": \"disable\","
			 " \"registers\": {"
			 "  \"PSCI_VERSION\": {\"version\": \"1.1\"},"
			 "  \"SMCCC_ARCH_WORKAROUND_1\": {\"level\": \"AVAIL\"},"
			 "  \"SMCCC_ARCH_WORKAROUND_2\": {\"level\": \"AVAIL\","
			 "                               \"enabled\": true},"
			 "  \"SMCCC_ARCH_WORKAROUND_3\": \"0x0\","
			 "  \"STD_HYP_BMAP\": {\"PV_TIME\": true, \"unknown_bits\": \"0x6\"},"
			 "  \"VENDOR_HYP_BMAP\": {\"PTP\": true},"
			 "  \"VENDOR_HYP_BMAP_2\": {},"
			 "  \"0x6030000000160007\": \"0xff00\","
			 "  \"0x6030000000140009\": \"host\"}}");
	assert_int_equal(p->unknown_registers, PROFILE_UNKNOWN_DISABLE);
	assert_false(p->has_description);
	assert_null(p->source);
	assert_null(p->observed_abi);
	assert_int_equal(p->npins, 9);
	assert_pin(p, FWREG_ID_PSCI_VERSION, PROFILE_PIN_VALUE, 0x10001);
	assert_pin(p, FWREG_ID_WORKAROUND_1, PROFILE_PIN_VALUE, 1);
	assert_pin(p, FWREG_ID_WORKAROUND_2, PROFILE_PIN_VALUE, 0x12);
	assert_pin(p, FWREG_ID_WORKAROUND_3, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_STD_HYP_BMAP, PROFILE_PIN_VALUE, 0x7);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP, PROFILE_PIN_VALUE, 0x2);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP_2, PROFILE_PIN_VALUE, 0);
	assert_pin(p, UINT64_C(0x6030000000160007), PROFILE_PIN_VALUE, 0xff00);
	assert_pin(p, UINT64_C(0x6030000000140009), PROFILE_PIN_HOST, 0);
	profile_free(p);
}

/* Every value fwreg_decode() prints for a pinnable value parses back. */
static void test_profile_decoded_round_trip(void **state)
{
	static const struct {
		uint64_t id, v;
	} cases[] = {
		{ FWREG_ID_PSCI_VERSION, 0x1 }, { FWREG_ID_PSCI_VERSION, 0x2 },
		{ FWREG_ID_PSCI_VERSION, 0x10000 },
		{ FWREG_ID_PSCI_VERSION, 0x10001 },
		{ FWREG_ID_PSCI_VERSION, 0x10002 },
		{ FWREG_ID_PSCI_VERSION, 0x10003 },
		{ FWREG_ID_WORKAROUND_1, 0 }, { FWREG_ID_WORKAROUND_1, 1 },
		{ FWREG_ID_WORKAROUND_1, 2 }, { FWREG_ID_WORKAROUND_1, 7 },
		{ FWREG_ID_WORKAROUND_3, 2 }, { FWREG_ID_WORKAROUND_3, 0xf },
		{ FWREG_ID_WORKAROUND_2, 0 }, { FWREG_ID_WORKAROUND_2, 1 },
		{ FWREG_ID_WORKAROUND_2, 2 }, { FWREG_ID_WORKAROUND_2, 3 },
		{ FWREG_ID_WORKAROUND_2, 0x12 },
		{ FWREG_ID_STD_BMAP, 0 }, { FWREG_ID_STD_BMAP, 1 },
		{ FWREG_ID_STD_BMAP, 0x8001 },
		{ FWREG_ID_STD_HYP_BMAP, 1 }, { FWREG_ID_VENDOR_HYP_BMAP, 3 },
		{ FWREG_ID_VENDOR_HYP_BMAP, 2 },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 3 },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, UINT64_C(0xffffffffffffffff) },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fwreg_desc *d = fwreg_lookup_id(cases[i].id);
		json_t *doc = json_pack("{s:s, s:{s:o}}", "name", "rt",
					"registers", d->name,
					fwreg_decode(cases[i].id, cases[i].v));
		struct api_error err = { 0 };
		struct profile *p, *q;
		json_t *canon;

		if (profile_from_json(doc, &p, &err))
			fail_msg("%s 0x%llx: %s %s %s", d->name,
				 (unsigned long long)cases[i].v, err.code,
				 err.field, err.detail);
		assert_pin(p, cases[i].id, PROFILE_PIN_VALUE, cases[i].v);
		canon = profile_to_json(p);
		assert_int_equal(profile_from_json(canon, &q, &err), 0);
		assert_true(profile_equal(p, q));
		json_decref(canon);
		json_decref(doc);
		profile_free(p);
		profile_free(q);
	}
}

/* The exact canonical output. */
static void test_profile_canonical(void **state)
{
	struct profile *p = load_profile(
		"{\"name\": \"t\", \"description\": \"d\", \"registers\": {"
		"\"0x6030000000160007\": \"0x5\","
		"\"SMCCC_ARCH_WORKAROUND_3\": \"host\","
		"\"PSCI_VERSION\": \"1.0\","
		"\"STD_BMAP\": {\"TRNG\": true, \"unknown_bits\": \"0x4\"}},"
		"\"source\": {\"kind\": \"x\"}}");
	json_t *doc = profile_to_json(p);
	char *text = json_dumps(doc, JSON_COMPACT);
	struct profile *q;
	struct api_error err;

	(void)state;
	assert_string_equal(
		text,
		"{\"name\":\"t\",\"description\":\"d\",\"unknown_registers\":"
		"\"refuse\",\"registers\":["
		"{\"id\":\"0x6030000000140000\",\"name\":\"PSCI_VERSION\","
		"\"pin\":\"value\",\"value\":\"0x10000\",\"decoded\":"
		"{\"version\":\"1.0\"}},"
		"{\"id\":\"0x6030000000140003\",\"name\":"
		"\"SMCCC_ARCH_WORKAROUND_3\",\"pin\":\"host\"},"
		"{\"id\":\"0x6030000000160000\",\"name\":\"STD_BMAP\",\"pin\":"
		"\"value\",\"value\":\"0x5\",\"decoded\":{\"TRNG\":true,"
		"\"unknown_bits\":\"0x4\"}},"
		"{\"id\":\"0x6030000000160007\",\"name\":null,\"pin\":\"value\","
		"\"value\":\"0x5\",\"decoded\":null}],"
		"\"source\":{\"kind\":\"x\"}}");
	/* Export/import: the GET form POSTs back to an equal profile, also
	 * with the server's created_at. */
	json_object_set_new(doc, "created_at", json_string("2026-01-01"));
	assert_int_equal(profile_from_json(doc, &q, &err), 0);
	assert_true(profile_equal(p, q));
	q->pins[0].value = 0x10001;
	assert_false(profile_equal(p, q));
	free(text);
	json_decref(doc);
	profile_free(p);
	profile_free(q);
}

static void test_profile_description(void **state)
{
	char text[8192];
	char desc[4200];
	struct profile *p;
	struct api_error err;
	json_t *doc;

	(void)state;
	/* 1024 two-byte characters fit, 1025 do not. */
	desc[0] = 0;
	for (int i = 0; i < 1024; i++)
		strcat(desc, "\xc3\xa9");
	snprintf(text, sizeof(text),
		 "{\"name\": \"d\", \"registers\": {}, \"description\": \"%s\"}",
		 desc);
	p = load_profile(text);
	assert_int_equal(strlen(p->description), 2048);
	profile_free(p);
	strcat(desc, "x");
	snprintf(text, sizeof(text),
		 "{\"name\": \"d\", \"registers\": {}, \"description\": \"%s\"}",
		 desc);
	doc = load_json(text);
	assert_int_equal(profile_from_json(doc, &p, &err), -EINVAL);
	assert_null(p);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "value_too_long");
	assert_string_equal(err.field, "description");
	json_decref(doc);
}

#define P(regs) "{\"name\": \"p\", \"registers\": " regs "}"
#define A(...) P("[" __VA_ARGS__ "]")

static const struct bad_doc bad_profiles[] = {
	/* the document */
	{ "[]", 400, "wrong_type", "" },
	{ "{\"registers\": {}}", 422, "missing_field", "name" },
	{ "{\"name\": 5, \"registers\": {}}", 400, "wrong_type", "name" },
	{ "{\"name\": \"-x\", \"registers\": {}}", 422, "bad_name", "name" },
	{ "{\"name\": \"a b\", \"registers\": {}}", 422, "bad_name", "name" },
	{ "{\"name\": \"\", \"registers\": {}}", 422, "bad_name", "name" },
	{ "{\"name\": \"a1234567890123456789012345678901234567890123456789"
	  "012345678901234\", \"registers\": {}}",
	  422, "bad_name", "name" },
	{ "{\"name\": \"p\"}", 422, "missing_field", "registers" },
	{ "{\"name\": \"p\", \"registers\": \"x\"}", 400, "wrong_type",
	  "registers" },
	{ "{\"name\": \"p\", \"registers\": {}, \"color\": \"red\"}", 422,
	  "unknown_field", "color" },
	{ "{\"name\": \"p\", \"registers\": {}, \"description\": 5}", 400,
	  "wrong_type", "description" },
	{ "{\"name\": \"p\", \"registers\": {}, \"unknown_registers\": "
	  "\"ignore\"}",
	  422, "bad_policy", "unknown_registers" },
	{ "{\"name\": \"p\", \"registers\": {}, \"unknown_registers\": true}",
	  400, "wrong_type", "unknown_registers" },
	{ "{\"name\": \"p\", \"registers\": {}, \"source\": \"me\"}", 400,
	  "wrong_type", "source" },
	/* register keys */
	{ P("{\"FOO\": \"0x0\"}"), 422, "unknown_register", "registers.FOO" },
	{ P("{\"std_bmap\": \"0x0\"}"), 422, "unknown_register",
	  "registers.std_bmap" },
	{ P("{\"0xzz\": \"0x0\"}"), 422, "bad_hex", "registers.0xzz" },
	{ P("{\"0x1234\": \"0x0\"}"), 422, "not_firmware_register",
	  "registers.0x1234" },
	{ P("{\"STD_BMAP\": \"0x0\", \"0x6030000000160000\": \"0x1\"}"), 422,
	  "duplicate_register", "registers.0x6030000000160000" },
	/* values: types */
	{ P("{\"STD_BMAP\": 0}"), 400, "wrong_type", "registers.STD_BMAP" },
	{ P("{\"STD_BMAP\": null}"), 400, "wrong_type", "registers.STD_BMAP" },
	{ P("{\"STD_BMAP\": [true]}"), 400, "wrong_type", "registers.STD_BMAP" },
	{ P("{\"STD_BMAP\": {\"TRNG\": 1}}"), 400, "wrong_type",
	  "registers.STD_BMAP.TRNG" },
	{ P("{\"STD_BMAP\": {\"unknown_bits\": 4}}"), 400, "wrong_type",
	  "registers.STD_BMAP.unknown_bits" },
	{ P("{\"PSCI_VERSION\": {\"version\": 1}}"), 400, "wrong_type",
	  "registers.PSCI_VERSION.version" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": {\"level\": 2}}"), 400, "wrong_type",
	  "registers.SMCCC_ARCH_WORKAROUND_1.level" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_2\": {\"level\": \"AVAIL\", \"enabled\": "
	    "\"yes\"}}"),
	  400, "wrong_type", "registers.SMCCC_ARCH_WORKAROUND_2.enabled" },
	{ P("{\"0x6030000000160007\": {\"A\": true}}"), 400, "wrong_type",
	  "registers.0x6030000000160007" },
	/* values: bitmaps */
	{ P("{\"STD_BMAP\": {\"FOO\": true}}"), 422, "unknown_bit",
	  "registers.STD_BMAP.FOO" },
	{ P("{\"VENDOR_HYP_BMAP\": {\"TRNG\": true}}"), 422, "unknown_bit",
	  "registers.VENDOR_HYP_BMAP.TRNG" },
	{ P("{\"STD_BMAP\": \"0x4\"}"), 422, "unknown_bits",
	  "registers.STD_BMAP" },
	{ P("{\"VENDOR_HYP_BMAP_2\": \"0x7\"}"), 422, "unknown_bits",
	  "registers.VENDOR_HYP_BMAP_2" },
	{ P("{\"STD_BMAP\": {\"unknown_bits\": \"0x1\"}}"), 422,
	  "bad_unknown_bits", "registers.STD_BMAP.unknown_bits" },
	{ P("{\"STD_BMAP\": \"on\"}"), 422, "bad_value", "registers.STD_BMAP" },
	{ P("{\"STD_BMAP\": \"0x1g\"}"), 422, "bad_hex", "registers.STD_BMAP" },
	/* values: PSCI */
	{ P("{\"PSCI_VERSION\": \"1.5\"}"), 422, "unknown_psci_version",
	  "registers.PSCI_VERSION" },
	{ P("{\"PSCI_VERSION\": \"0x10005\"}"), 422, "unknown_psci_version",
	  "registers.PSCI_VERSION" },
	{ P("{\"PSCI_VERSION\": {\"version\": \"2.0\"}}"), 422,
	  "unknown_psci_version", "registers.PSCI_VERSION" },
	{ P("{\"PSCI_VERSION\": \"latest\"}"), 422, "bad_value",
	  "registers.PSCI_VERSION" },
	{ P("{\"PSCI_VERSION\": \"1.\"}"), 422, "bad_value",
	  "registers.PSCI_VERSION" },
	{ P("{\"PSCI_VERSION\": {\"version\": \"01.000001\"}}"), 422,
	  "bad_value", "registers.PSCI_VERSION.version" },
	{ P("{\"PSCI_VERSION\": {\"v\": \"1.0\"}}"), 422, "unknown_field",
	  "registers.PSCI_VERSION.v" },
	{ P("{\"PSCI_VERSION\": {}}"), 422, "missing_field",
	  "registers.PSCI_VERSION.version" },
	/* values: workarounds */
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": \"0x10\"}"), 422, "bad_value_bits",
	  "registers.SMCCC_ARCH_WORKAROUND_1" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_3\": {\"level\": null, \"unknown_bits\": "
	    "\"0x12\"}}"),
	  422, "bad_value_bits", "registers.SMCCC_ARCH_WORKAROUND_3" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": \"MAYBE\"}"), 422, "unknown_level",
	  "registers.SMCCC_ARCH_WORKAROUND_1" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": \"UNKNOWN\"}"), 422,
	  "unknown_level", "registers.SMCCC_ARCH_WORKAROUND_1" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_3\": {\"level\": \"MAYBE\"}}"), 422,
	  "unknown_level", "registers.SMCCC_ARCH_WORKAROUND_3.level" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": {\"level\": \"AVAIL\", "
	    "\"enabled\": true}}"),
	  422, "unknown_field", "registers.SMCCC_ARCH_WORKAROUND_1.enabled" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": {\"level\": \"AVAIL\", "
	    "\"unknown_bits\": \"0x2\"}}"),
	  422, "bad_unknown_bits",
	  "registers.SMCCC_ARCH_WORKAROUND_1.unknown_bits" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_1\": {\"level\": null}}"), 422,
	  "missing_field", "registers.SMCCC_ARCH_WORKAROUND_1.unknown_bits" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_2\": \"0x5\"}"), 422, "undefined_level",
	  "registers.SMCCC_ARCH_WORKAROUND_2" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_2\": \"0x20\"}"), 422, "bad_value_bits",
	  "registers.SMCCC_ARCH_WORKAROUND_2" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_2\": \"0x13\"}"), 422,
	  "enabled_needs_avail", "registers.SMCCC_ARCH_WORKAROUND_2" },
	{ P("{\"SMCCC_ARCH_WORKAROUND_2\": {\"level\": \"NOT_REQUIRED\", "
	    "\"enabled\": true}}"),
	  422, "enabled_needs_avail", "registers.SMCCC_ARCH_WORKAROUND_2" },
	{ P("{\"0x6030000000160007\": \"AVAIL\"}"), 422, "bad_value",
	  "registers.0x6030000000160007" },
	/* the canonical array form */
	{ A("5"), 400, "wrong_type", "registers[0]" },
	{ A("{\"pin\": \"host\"}"), 422, "missing_field", "registers[0].id" },
	{ A("{\"id\": \"0x6030000000140000\"}"), 422, "missing_field",
	  "registers[0].pin" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"value\"}"), 422,
	  "missing_field", "registers[0].value" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"maybe\"}"), 422,
	  "bad_pin", "registers[0].pin" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"host\", \"value\": "
	    "\"0x10000\"}"),
	  422, "unexpected_field", "registers[0].value" },
	{ A("{\"id\": \"0x6030000000140000\", \"name\": \"STD_BMAP\", \"pin\": "
	    "\"host\"}"),
	  422, "name_mismatch", "registers[0].name" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"value\", \"value\": "
	    "\"0x10000\", \"decoded\": {\"version\": \"1.1\"}}"),
	  422, "decoded_mismatch", "registers[0].decoded" },
	{ A("{\"id\": \"0x6030000000160007\", \"pin\": \"value\", \"value\": "
	    "\"0x1\", \"decoded\": {}}"),
	  422, "decoded_mismatch", "registers[0].decoded" },
	{ A("{\"id\": \"0x6030000000160000\", \"pin\": \"value\", \"value\": "
	    "\"0x5\"}"),
	  422, "unknown_bits", "registers[0].value" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"value\", \"value\": "
	    "\"0x10004\"}"),
	  422, "unknown_psci_version", "registers[0].value" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"value\", \"value\": "
	    "\"1.0\"}"),
	  422, "bad_hex", "registers[0].value" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"host\", \"x\": 1}"),
	  422, "unknown_field", "registers[0].x" },
	{ A("{\"id\": \"0x6030000000150000\", \"pin\": \"host\"}"), 422,
	  "not_firmware_register", "registers[0].id" },
	{ A("{\"id\": \"0x6030000000140000\", \"pin\": \"host\"},"
	    "{\"id\": \"0x6030000000140000\", \"pin\": \"host\"}"),
	  422, "duplicate_register", "registers[1]" },
	/* observed_abi */
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": []}", 400,
	  "wrong_type", "observed_abi" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {}}", 422,
	  "missing_field", "observed_abi.calls" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[], \"x\": 1}}",
	  422, "unknown_field", "observed_abi.x" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "\"x\"}}",
	  400, "wrong_type", "observed_abi.calls" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[{\"function_id\": \"0x84000051\", \"name\": \"TRNG_VERSION\", "
	  "\"x0\": \"0x0\"}]}}",
	  422, "call_mismatch", "observed_abi.calls[0]" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[{\"function_id\": \"0x84000050\", \"name\": \"TRNG_VERSION\"}]}}",
	  422, "missing_field", "observed_abi.calls[0].x0" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[{\"function_id\": \"0x184000050\", \"name\": \"X\", \"x0\": "
	  "\"0x0\"}]}}",
	  422, "bad_value", "observed_abi.calls[0].function_id" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[{\"function_id\": \"0x84000050\", \"name\": \"\", \"x0\": "
	  "\"0x0\"}]}}",
	  422, "bad_value", "observed_abi.calls[0].name" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[{\"function_id\": \"0x84000050\", \"name\": \"TRNG_VERSION\", "
	  "\"x0\": 0}]}}",
	  400, "wrong_type", "observed_abi.calls[0].x0" },
	{ "{\"name\": \"p\", \"registers\": {}, \"observed_abi\": {\"calls\": "
	  "[{\"function_id\": \"0x8400000a\", \"name\": "
	  "\"PSCI_FEATURES(SYSTEM_OFF2)\", \"x1\": \"0x84000012\", "
	  "\"x0\": \"0x0\"}]}}",
	  422, "call_mismatch", "observed_abi.calls[0]" },
};

/* A capture's or a baseline's options, by the document's rules. */
static void test_profile_set_options(void **state)
{
	struct profile *p = NULL;
	struct api_error err;
	char longer[PROFILE_DESCRIPTION_MAX + 2];
	json_t *o;

	(void)state;
	assert_int_equal(profile_new("opts", &p, &err), 0);
	o = json_pack("{s:s, s:s, s:i}", "description", "fleet A", "unknown_registers",
		      "disable", "hosts", 3);
	assert_int_equal(profile_set_options(p, o, &err), 0);
	json_decref(o);
	assert_true(p->has_description);
	assert_string_equal(p->description, "fleet A");
	assert_int_equal(p->unknown_registers, PROFILE_UNKNOWN_DISABLE);

	o = json_pack("{s:s}", "unknown_registers", "ignore");
	assert_int_equal(profile_set_options(p, o, &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "bad_policy");
	assert_string_equal(err.field, "unknown_registers");
	json_decref(o);

	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	o = json_pack("{s:s}", "description", longer);
	assert_int_equal(profile_set_options(p, o, &err), -EINVAL);
	assert_string_equal(err.code, "value_too_long");
	json_decref(o);

	o = json_pack("{s:i}", "description", 7);
	assert_int_equal(profile_set_options(p, o, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, "description");
	json_decref(o);
	profile_free(p);
}

static void test_profile_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]);
	     i++) {
		const struct bad_doc *b = &bad_profiles[i];
		struct api_error err = { 0 };
		struct profile *p = (struct profile *)1;
		json_t *doc = load_json(b->json);

		if (profile_from_json(doc, &p, &err) != -EINVAL ||
		    err.status != b->status || strcmp(err.code, b->code) ||
		    strcmp(err.field, b->field))
			fail_msg("case %zu %s: got %u %s \"%s\" (%s)", i,
				 b->json, err.status, err.code, err.field,
				 err.detail);
		assert_null(p);
		assert_true(strlen(err.detail) > 0);
		json_decref(doc);
	}
}

/* The details say what is wrong, precisely. */
static void test_profile_error_details(void **state)
{
	static const struct {
		const char *json, *detail;
	} cases[] = {
		{ P("{\"SMCCC_ARCH_WORKAROUND_1\": \"0x10\"}"),
		  "registers.SMCCC_ARCH_WORKAROUND_1: 0x10 sets bits outside the "
		  "level field 0xf; KVM refuses them on every host" },
		{ P("{\"PSCI_VERSION\": \"1.5\"}"),
		  "registers.PSCI_VERSION: PSCI version 1.5 (0x10005) is not one "
		  "KVM implements (0.1, 0.2, 1.0, 1.1, 1.2, 1.3)" },
		{ P("{\"STD_BMAP\": \"0x4\"}"),
		  "registers.STD_BMAP: 0x4 sets bits STD_BMAP does not define "
		  "(0x4); if you mean them, give {\"unknown_bits\": \"0x4\"} "
		  "with the named bits" },
		{ P("{\"STD_BMAP\": {\"FOO\": true}}"),
		  "registers.STD_BMAP.FOO: STD_BMAP has no bit FOO (its bits: "
		  "TRNG; others go in unknown_bits)" },
		{ P("{\"FOO\": \"0x0\"}"),
		  "registers.FOO: unknown register; known: PSCI_VERSION, "
		  "SMCCC_ARCH_WORKAROUND_1, SMCCC_ARCH_WORKAROUND_2, "
		  "SMCCC_ARCH_WORKAROUND_3, STD_BMAP, STD_HYP_BMAP, "
		  "VENDOR_HYP_BMAP, VENDOR_HYP_BMAP_2, or a raw id "
		  "\"0x6030...\"" },
		{ P("{\"STD_BMAP\": 0}"),
		  "registers.STD_BMAP must be a string or an object, not "
		  "integer" },
		{ "{\"name\": \"p\", \"registers\": {}, \"color\": 1}",
		  "unknown field color in the document" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct api_error err = { 0 };
		struct profile *p;
		json_t *doc = load_json(cases[i].json);

		assert_int_equal(profile_from_json(doc, &p, &err), -EINVAL);
		assert_string_equal(err.detail, cases[i].detail);
		json_decref(doc);
	}
}

static void test_profile_limit(void **state)
{
	json_t *doc = json_pack("{s:s, s:{}}", "name", "many", "registers");
	json_t *regs = json_object_get(doc, "registers");
	struct api_error err;
	struct profile *p;

	(void)state;
	for (unsigned i = 0; i < 65; i++) {
		char id[24];

		snprintf(id, sizeof(id), "0x60300000001600%02x", i);
		json_object_set_new(regs, id, json_string("0x0"));
		if (i == 63) {
			assert_int_equal(profile_from_json(doc, &p, &err), 0);
			assert_int_equal(p->npins, 64);
			profile_free(p);
		}
	}
	assert_int_equal(profile_from_json(doc, &p, &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "too_many_registers");
	assert_string_equal(err.field, "registers");
	json_decref(doc);
}

static void test_profile_capture(void **state)
{
	struct hostset h = load_host(LAB_6_12_JSON);
	json_t *calls = load_json(LAB_CALLS_6_12), *canon;
	struct api_error err;
	struct profile *p, *q;

	(void)state;
	assert_int_equal(profile_capture("lab-6.12", &h, calls,
					 PROFILE_UNKNOWN_REFUSE, &p, &err),
			 0);
	assert_int_equal(p->npins, 7);
	for (size_t i = 0; i < h.nregs; i++)
		assert_pin(p, h.regs[i].id, PROFILE_PIN_VALUE, h.regs[i].value);
	assert_true(p->observed.present);
	assert_string_equal(p->observed.kernel_release,
			    "6.12.117+deb13-cloud-arm64");
	assert_int_equal(p->observed.ncalls, 4);
	assert_string_equal(json_string_value(json_object_get(p->source,
							      "kind")),
			    "capture");
	/* The copy is the profile's own. */
	json_array_clear(calls);
	assert_int_equal(json_array_size(json_object_get(p->observed_abi,
							 "calls")),
			 4);
	canon = profile_to_json(p);
	assert_int_equal(profile_from_json(canon, &q, &err), 0);
	assert_true(profile_equal(p, q));
	json_decref(canon);
	json_decref(calls);
	profile_free(q);
	profile_free(p);

	/* Without calls, the host's own observation is used. */
	h = load_host(LAB_6_12_OBSERVED_JSON);
	assert_int_equal(profile_capture("c", &h, NULL, PROFILE_UNKNOWN_DISABLE,
					 &p, &err),
			 0);
	assert_int_equal(p->unknown_registers, PROFILE_UNKNOWN_DISABLE);
	assert_int_equal(p->observed.ncalls, 4);
	assert_string_equal(json_string_value(json_object_get(p->observed_abi,
							      "kernel_release")),
			    "6.12.117+deb13-cloud-arm64");
	profile_free(p);

	/* Bad name; a host value no profile may pin (PSCI 1.4). */
	assert_int_equal(profile_capture("bad name", &h, NULL,
					 PROFILE_UNKNOWN_REFUSE, &p, &err),
			 -EINVAL);
	assert_null(p);
	assert_string_equal(err.code, "bad_name");
	h.regs[0].value = 0x10004;
	assert_int_equal(profile_capture("c", &h, NULL, PROFILE_UNKNOWN_REFUSE,
					 &p, &err),
			 -EINVAL);
	assert_string_equal(err.code, "unknown_psci_version");
	assert_string_equal(err.field, "registers.PSCI_VERSION");
	calls = load_json("[{\"name\": \"TRNG_VERSION\", \"function_id\": "
		     "\"0x1\", \"x0\": \"0x0\"}]");
	h.regs[0].value = 0x10001;
	assert_int_equal(profile_capture("c", &h, calls, PROFILE_UNKNOWN_REFUSE,
					 &p, &err),
			 -EINVAL);
	assert_string_equal(err.code, "call_mismatch");
	assert_string_equal(err.field, "observed_abi.calls[0]");
	json_decref(calls);
}

static void test_profile_add_pin(void **state)
{
	struct api_error err;
	struct profile *p;

	(void)state;
	assert_int_equal(profile_new("x", &p, &err), 0);
	assert_int_equal(profile_add_pin(p, FWREG_ID_STD_BMAP,
					 PROFILE_PIN_VALUE, 0, &err),
			 0);
	assert_int_equal(profile_add_pin(p, FWREG_ID_PSCI_VERSION,
					 PROFILE_PIN_HOST, 99, &err),
			 0);
	assert_true(p->pins[0].id == FWREG_ID_PSCI_VERSION);
	assert_true(p->pins[0].value == 0);
	assert_int_equal(profile_add_pin(p, FWREG_ID_STD_BMAP,
					 PROFILE_PIN_VALUE, 1, &err),
			 -EINVAL);
	assert_string_equal(err.code, "duplicate_register");
	assert_string_equal(err.field, "registers.STD_BMAP");
	assert_int_equal(profile_add_pin(p, FWREG_ID_WORKAROUND_2,
					 PROFILE_PIN_VALUE, 0x13, &err),
			 -EINVAL);
	assert_string_equal(err.code, "enabled_needs_avail");
	assert_int_equal(profile_add_pin(p, 42, PROFILE_PIN_VALUE, 0, &err),
			 -EINVAL);
	assert_string_equal(err.code, "not_firmware_register");
	assert_int_equal(p->npins, 2);
	profile_free(p);
	profile_free(NULL);
}

/* ---- allocation failures -------------------------------------------------------- */

static size_t alloc_calls, alloc_fail_at, alloc_live;

static void *failing_malloc(size_t size)
{
	void *p;

	if (alloc_calls++ == alloc_fail_at)
		return NULL;
	p = malloc(size);
	if (p)
		alloc_live++;
	return p;
}

static void counting_free(void *p)
{
	if (!p)
		return;
	alloc_live--;
	free(p);
}

/*
 * Documents are parsed before the walk: jansson 2.14's own text parser
 * does not survive every allocation failure (load.c lex_save() drops
 * strbuffer errors, akheron/jansson#362), and the walk is about our code.
 */
static json_t *walk_profile_doc, *walk_host_doc, *walk_calls, *walk_fc_doc;

/* A Firecracker fingerprint: one firmware register, one other. */
static const char walk_fc_text[] =
	"{\"kernel_version\": \"k\", \"bios_version\": \"b\", "
	"\"guest_cpu_config\": {\"reg_modifiers\": ["
	"{\"addr\": \"0x6030000000140000\", \"bitmap\": "
	"\"0b0000000000000000000000000000000000000000000000010000000000000001\"},"
	"{\"addr\": \"0x603000000013c020\", \"bitmap\": \"0b1\"}]}}";
static struct hostset walk_fc_host;
static struct hostset walk_hosts[4];

/* The import and its answer. */
static int op_firecracker(void)
{
	struct api_error err = { 0 };
	struct fc_import info;
	json_t *out;
	int ret;

	ret = hostset_from_any_json(walk_fc_doc, &walk_fc_host, &info, &err);
	if (ret)
		return ret;
	assert_int_equal(walk_fc_host.nregs, 1);
	out = firecracker_import_json(&info);
	if (!out)
		return -1;
	json_decref(out);
	return 0;
}

/* Each operation cleans up after itself and returns 0 on success. */
static int op_profile(void)
{
	struct api_error err = { 0 };
	struct profile *p;
	json_t *out;
	char *text;
	int ret;

	ret = profile_from_json(walk_profile_doc, &p, &err);
	if (ret) {
		/* Nothing but memory may fail here. */
		assert_int_equal(ret, -ENOMEM);
		assert_int_equal(err.status, 500);
		assert_string_equal(err.code, "out_of_memory");
		assert_null(p);
		return ret;
	}
	out = profile_to_json(p);
	profile_free(p);
	if (!out)
		return -1;
	text = json_dumps(out, 0);
	json_decref(out);
	if (!text)
		return -1;
	counting_free(text);
	return 0;
}

static int op_hostset(void)
{
	struct api_error err = { 0 };
	struct hostset h;
	json_t *out;

	/* no allocation of its own */
	assert_int_equal(hostset_from_json(walk_host_doc, &h, &err), 0);
	out = hostset_to_json(&h);
	if (!out)
		return -1;
	json_decref(out);
	return 0;
}

static int op_capture_compat(void)
{
	static struct compat_report r;
	struct api_error err = { 0 };
	struct profile *p;
	json_t *rep;
	int ret;

	ret = profile_capture("w", &walk_hosts[2], walk_calls,
			      PROFILE_UNKNOWN_REFUSE, &p, &err);
	if (ret) {
		assert_int_equal(ret, -ENOMEM);
		assert_string_equal(err.code, "out_of_memory");
		return ret;
	}
	compat_check(p, &walk_hosts[3], &r);
	profile_free(p);
	rep = compat_report_to_json(&r);
	if (!rep)
		return -1;
	json_decref(rep);
	return 0;
}

/* A default-deny profile: its member, its verdict, both as JSON. */
static const char walk_smccc_text[] =
	"{\"name\": \"d\", \"registers\": {\"PSCI_VERSION\": \"host\"}, "
	"\"smccc\": {\"policy\": \"deny_unlisted\", \"allow\": [\"PSCI\", "
	"{\"base\": \"0x84000050\", \"count\": 16}]}}";
static json_t *walk_smccc_doc;

static int op_smccc(void)
{
	static struct compat_report r;
	struct api_error err = { 0 };
	struct hostset h = walk_hosts[3];
	struct profile *p;
	json_t *out;
	int ret;

	ret = profile_from_json(walk_smccc_doc, &p, &err);
	if (ret) {
		assert_int_equal(ret, -ENOMEM);
		return ret;
	}
	h.smccc_filter = 1;
	compat_check(p, &h, &r);
	out = profile_to_json(p);
	profile_free(p);
	if (!out)
		return -1;
	json_decref(out);
	out = compat_report_to_json(&r);
	if (!out)
		return -1;
	json_decref(out);
	return 0;
}

static int op_baseline(void)
{
	struct api_error err = { 0 };
	struct profile *p;
	int ret = baseline_compute("b", walk_hosts, 4, &p, &err);

	if (ret) {
		assert_int_equal(ret, -ENOMEM);
		assert_string_equal(err.code, "out_of_memory");
		return ret;
	}
	profile_free(p);
	return 0;
}

static void walk(int (*op)(void), const char *name)
{
	size_t k;

	for (k = 0; k < 100000; k++) {
		int ret;

		alloc_calls = 0;
		alloc_fail_at = k;
		alloc_live = 0;
		json_set_alloc_funcs(failing_malloc, counting_free);
		ret = op();
		json_set_alloc_funcs(malloc, free);
		if (alloc_live != 0)
			fail_msg("%s: %zu blocks leaked when allocation %zu "
				 "failed",
				 name, alloc_live, k);
		if (alloc_calls <= k) {
			/* Nothing failed: the operation must succeed. */
			assert_int_equal(ret, 0);
			break;
		}
	}
	assert_true(k > 3);
}

/* What pinvm can never apply is refused before it is stored. */
static void test_profile_applicable(void **state)
{
	static const struct {
		const char *doc, *code, *field;
	} cases[] = {
		{ "{\"name\": \"a\", \"registers\": {\"PSCI_VERSION\": \"0.1\"}}",
		  "psci_0_1_unsupported", "registers.PSCI_VERSION" },
		{ "{\"name\": \"a\", \"registers\": {\"PSCI_VERSION\": \"0x1\"}}",
		  "psci_0_1_unsupported", "registers.PSCI_VERSION" },
		{ "{\"name\": \"a\", \"registers\": {\"VENDOR_HYP_BMAP_2\": "
		  "{\"DISCOVER_IMPL_VER\": true}}}",
		  "unanswered_service", "registers.VENDOR_HYP_BMAP_2" },
		{ "{\"name\": \"a\", \"registers\": {\"PSCI_VERSION\": \"0.2\", "
		  "\"VENDOR_HYP_BMAP_2\": \"0x0\"}}", NULL, NULL },
		{ "{\"name\": \"a\", \"registers\": {\"PSCI_VERSION\": \"host\", "
		  "\"VENDOR_HYP_BMAP_2\": \"host\"}}", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct profile *p = load_profile(cases[i].doc);
		struct api_error err = { 0 };
		int ret = profile_check_applicable(p, &err);

		if (!cases[i].code) {
			if (ret)
				fail_msg("case %zu refused: %s", i, err.detail);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_int_equal(err.status, 422);
			assert_string_equal(err.code, cases[i].code);
			assert_string_equal(err.field, cases[i].field);
		}
		profile_free(p);
	}
}

static void test_alloc_failures(void **state)
{
	(void)state;
	walk_hosts[0] = load_host(LAB_5_10_JSON);
	walk_hosts[1] = load_host(LAB_6_1_JSON);
	walk_hosts[2] = load_host(LAB_6_12_OBSERVED_JSON);
	walk_hosts[3] = load_host(LAB_7_3_JSON);
	walk_profile_doc = load_json(example_profile);
	walk_host_doc = load_json(LAB_6_12_OBSERVED_JSON);
	walk_calls = load_json(LAB_CALLS_6_12);
	walk_fc_doc = load_json(walk_fc_text);
	walk_smccc_doc = load_json(walk_smccc_text);
	walk(op_profile, "profile");
	walk(op_hostset, "hostset");
	walk(op_capture_compat, "capture+compat");
	walk(op_baseline, "baseline");
	walk(op_firecracker, "firecracker");
	walk(op_smccc, "smccc");
	json_decref(walk_profile_doc);
	json_decref(walk_host_doc);
	json_decref(walk_calls);
	json_decref(walk_fc_doc);
	json_decref(walk_smccc_doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostset_lab),
		cmocka_unit_test(test_hostset_observed),
		cmocka_unit_test(test_hostset_round_trip),
		cmocka_unit_test(test_hostset_init),
		cmocka_unit_test(test_hostset_errors),
		cmocka_unit_test(test_hostset_possible_values),
		cmocka_unit_test(test_hostset_limit),
		cmocka_unit_test(test_profile_example),
		cmocka_unit_test(test_profile_policy_and_forms),
		cmocka_unit_test(test_profile_decoded_round_trip),
		cmocka_unit_test(test_profile_canonical),
		cmocka_unit_test(test_profile_description),
		cmocka_unit_test(test_profile_set_options),
		cmocka_unit_test(test_profile_errors),
		cmocka_unit_test(test_profile_error_details),
		cmocka_unit_test(test_profile_limit),
		cmocka_unit_test(test_profile_capture),
		cmocka_unit_test(test_profile_add_pin),
		cmocka_unit_test(test_profile_applicable),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
