/*
 * cpu_features: every refusal of the "cpu_features" object (status, code,
 * field) in checking order, what an accepted one yields and writes back,
 * the host check naming the feature the host lacks, and the SVE vector
 * length sets KVM is given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpu_features.h"
#include "vm_spec.h"
#include "test_json.h"

#include <errno.h>
#include <string.h>

struct bad_doc {
	const char *json;
	unsigned status;
	const char *code;
	const char *field;
};

static const struct bad_doc bad[] = {
	{ "[]", 400, "wrong_type", "cpu_features" },
	{ "true", 400, "wrong_type", "cpu_features" },
	{ "\"pmu\"", 400, "wrong_type", "cpu_features" },
	{ "{\"PMU\": true}", 422, "unknown_field", "cpu_features.PMU" },
	{ "{\"mte\": true}", 422, "unknown_field", "cpu_features.mte" },
	/* Unknown members before types. */
	{ "{\"pmu\": 1, \"gic\": \"v2\"}", 422, "unknown_field", "cpu_features.gic" },
	{ "{\"pmu\": 1}", 400, "wrong_type", "cpu_features.pmu" },
	{ "{\"pmu\": null}", 400, "wrong_type", "cpu_features.pmu" },
	{ "{\"pmu\": \"true\"}", 400, "wrong_type", "cpu_features.pmu" },
	{ "{\"pauth\": {}}", 400, "wrong_type", "cpu_features.pauth" },
	/* pmu, then pauth, then sve. */
	{ "{\"sve\": 1, \"pauth\": 1}", 400, "wrong_type", "cpu_features.pauth" },
	{ "{\"sve\": 1}", 400, "wrong_type", "cpu_features.sve" },
	{ "{\"sve\": null}", 400, "wrong_type", "cpu_features.sve" },
	{ "{\"sve\": [512]}", 400, "wrong_type", "cpu_features.sve" },
	{ "{\"sve\": {}}", 422, "missing_field", "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vl\": 512}}", 422, "unknown_field", "cpu_features.sve.vl" },
	{ "{\"sve\": {\"vector_length\": \"512\"}}", 400, "wrong_type",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": 512.0}}", 400, "wrong_type",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": null}}", 400, "wrong_type",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": 0}}", 422, "out_of_range",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": 64}}", 422, "out_of_range",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": 200}}", 422, "out_of_range",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": 2176}}", 422, "out_of_range",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": -128}}", 422, "out_of_range",
	  "cpu_features.sve.vector_length" },
	{ "{\"sve\": {\"vector_length\": 9223372036854775807}}", 422, "out_of_range",
	  "cpu_features.sve.vector_length" },
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct api_error err = { 0 };
		struct cpu_features f = { .pmu = true, .sve_vector_length = 7 };
		json_t *doc = load_json(bad[i].json);

		if (cpu_features_parse(doc, "cpu_features", &f, &err) != -EINVAL ||
		    err.status != bad[i].status || strcmp(err.code, bad[i].code) ||
		    strcmp(err.field, bad[i].field))
			fail_msg("case %zu %s: got %u %s \"%s\" (%s)", i, bad[i].json,
				 err.status, err.code, err.field, err.detail);
		assert_true(strlen(err.detail) > 0);
		assert_false(f.pmu || f.sve || f.pauth || f.sve_vector_length);
		assert_int_equal(cpu_features_parse(doc, "cpu_features", &f, NULL), -EINVAL);
		json_decref(doc);
	}
}

static void test_parse_and_back(void **state)
{
	static const struct {
		const char *json;
		struct cpu_features want;
	} good[] = {
		{ "null", { 0 } },
		{ "{}", { 0 } },
		{ "{\"pmu\": false, \"sve\": false, \"pauth\": false}", { 0 } },
		{ "{\"pmu\": true}", { .pmu = true } },
		{ "{\"pauth\": true}", { .pauth = true } },
		{ "{\"sve\": true}", { .sve = true } },
		{ "{\"sve\": {\"vector_length\": 128}}", { .sve = true, .sve_vector_length = 128 } },
		{ "{\"sve\": {\"vector_length\": 2048}, \"pmu\": true, \"pauth\": true}",
		  { .pmu = true, .sve = true, .sve_vector_length = 2048, .pauth = true } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cpu_features f, back;
		struct api_error err = { 0 };
		json_t *doc = load_json(good[i].json), *out;

		if (cpu_features_parse(doc, "cpu_features", &f, &err) < 0)
			fail_msg("case %zu %s: %s %s", i, good[i].json, err.code, err.field);
		assert_memory_equal(&f, &good[i].want, sizeof(f));
		assert_int_equal(cpu_features_any(&f),
				 f.pmu || f.sve || f.pauth);
		/* Written and read back: the same features. */
		out = cpu_features_to_json(&f);
		assert_non_null(out);
		assert_int_equal(json_object_size(out), 3);
		assert_int_equal(cpu_features_parse(out, "x", &back, &err), 0);
		assert_memory_equal(&f, &back, sizeof(f));
		json_decref(out);
		json_decref(doc);
	}
	/* Absent (NULL) is none. */
	{
		struct cpu_features f = { .pmu = true };

		assert_int_equal(cpu_features_parse(NULL, "cpu_features", &f, NULL), 0);
		assert_false(cpu_features_any(&f));
	}
}

/* In a VM request: after name and labels, the field paths nested. */
static void test_in_vm_spec(void **state)
{
	struct api_error err = { 0 };
	struct vm_spec s;
	json_t *doc;

	(void)state;
	doc = load_json("{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"Image\", "
			"\"cpu_features\": {\"pmu\": true, \"sve\": {\"vector_length\": 512}}}");
	assert_int_equal(vm_spec_parse(doc, &s, &err), 0);
	assert_true(s.cpu_features.pmu && s.cpu_features.sve && !s.cpu_features.pauth);
	assert_int_equal(s.cpu_features.sve_vector_length, 512);
	json_decref(doc);
	doc = load_json("{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"Image\", "
			"\"cpu_features\": {\"pauth\": \"yes\"}}");
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, "cpu_features.pauth");
	assert_false(s.cpu_features.pauth);
	json_decref(doc);
	/* Ranges of the base members come first. */
	doc = load_json("{\"vcpus\": 0, \"memory_mib\": 64, \"kernel\": \"Image\", "
			"\"cpu_features\": {\"pmu\": 1}}");
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_string_equal(err.field, "vcpus");
	json_decref(doc);
}

/* QEMU's max CPU under the 6.12 lab offers 128..2048 (all 16). */
#define ALL_VLS 0xffffu

static void check_refused(const struct cpu_features *f, const struct cpu_host_caps *h,
			  const char *field, const char *in_detail)
{
	struct api_error err = { 0 };

	assert_int_equal(cpu_features_check_host(f, h, "cpu_features", &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "unsupported_by_host");
	assert_string_equal(err.field, field);
	if (!strstr(err.detail, in_detail))
		fail_msg("\"%s\" not in \"%s\"", in_detail, err.detail);
}

static void test_check_host(void **state)
{
	const struct cpu_host_caps all = { true, true, true, true, ALL_VLS, false };
	const struct cpu_host_caps none = { 0 };
	const struct cpu_features every = { true, true, 0, true };
	struct cpu_host_caps h;
	struct cpu_features f;

	(void)state;
	/* Nothing asked: any host, even one without KVM's caps. */
	f = (struct cpu_features){ 0 };
	assert_int_equal(cpu_features_check_host(&f, &none, "cpu_features", NULL), 0);
	assert_int_equal(cpu_features_check_host(&every, &all, "cpu_features", NULL), 0);
	/* Each missing capability names its feature, in the order pmu, sve, pauth. */
	check_refused(&every, &none, "cpu_features.pmu", "KVM_CAP_ARM_PMU_V3");
	h = all;
	h.sve = false;
	check_refused(&every, &h, "cpu_features.sve", "KVM_CAP_ARM_SVE");
	h = all;
	h.pauth_generic = false;
	check_refused(&every, &h, "cpu_features.pauth", "KVM_CAP_ARM_PTRAUTH_GENERIC");
	h = all;
	h.pauth_address = false;
	check_refused(&every, &h, "cpu_features.pauth", "KVM_CAP_ARM_PTRAUTH_ADDRESS");
	/* A vector length the host lacks, with the ones it has. */
	h = all;
	h.sve_vls = 0x0b; /* 128, 256, 512 */
	f = (struct cpu_features){ .sve = true, .sve_vector_length = 384 };
	check_refused(&f, &h, "cpu_features.sve.vector_length", "128, 256, 512");
	f.sve_vector_length = 1024;
	check_refused(&f, &h, "cpu_features.sve.vector_length", "not 1024");
	f.sve_vector_length = 512;
	assert_int_equal(cpu_features_check_host(&f, &h, "cpu_features", NULL), 0);
	/* Lengths unknown (the probe could not say): pinvm-vmm decides. */
	h.sve_vls = 0;
	f.sve_vector_length = 1024;
	assert_int_equal(cpu_features_check_host(&f, &h, "cpu_features", NULL), 0);
}

static void test_sve_vls(void **state)
{
	char buf[160];

	(void)state;
	assert_int_equal(cpu_sve_vls_upto(ALL_VLS, 128), 0x1);
	assert_int_equal(cpu_sve_vls_upto(ALL_VLS, 512), 0xf);
	assert_int_equal(cpu_sve_vls_upto(ALL_VLS, 2048), ALL_VLS);
	/* Host lengths with gaps: every one up to the maximum stays. */
	assert_int_equal(cpu_sve_vls_upto(0x8b, 1024), 0x8b);
	assert_int_equal(cpu_sve_vls_upto(0x8b, 512), 0x0b);
	assert_int_equal(cpu_sve_vls_upto(0x8b, 384), 0);
	assert_int_equal(cpu_sve_vls_upto(ALL_VLS, 0), 0);
	assert_int_equal(cpu_sve_vls_upto(ALL_VLS, 200), 0);
	assert_int_equal(cpu_sve_vls_upto(ALL_VLS, 128 * 33), 0);
	cpu_sve_vls_format(0x8b, buf, sizeof(buf));
	assert_string_equal(buf, "128, 256, 512, 1024");
	cpu_sve_vls_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	cpu_sve_vls_format(ALL_VLS, buf, 8); /* truncated, still a string */
	assert_true(strlen(buf) < 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_and_back),
		cmocka_unit_test(test_in_vm_spec),
		cmocka_unit_test(test_check_host),
		cmocka_unit_test(test_sve_vls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
