/*
 * vCPU features in profiles (issue 16): the host's offer as a document
 * (GET /v1/host, host register sets), a profile's "cpu_features" member,
 * the compatibility verdicts on it, a baseline's choice, the capture and
 * baseline request options, and how a profile's features reach a VM's
 * spec. The offers here are cases of the logic, not a kernel's: the
 * kernels' own are checked in the lab (tests/http/test_lab_cpu_features.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "baseline.h"
#include "compat.h"
#include "cpu_features.h"
#include "profile.h"
#include "requests.h"
#include "vm_spec.h"
#include "test_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bit VQ-1 for each length. */
#define VL128 0x1u
#define VL256 0x2u
#define VL512 0x8u
#define VL1024 0x80u

static void expect_error(int ret, const struct api_error *err, unsigned status,
			 const char *code, const char *field)
{
	assert_int_not_equal(ret, 0);
	assert_int_equal(err->status, status);
	assert_string_equal(err->code, code);
	assert_string_equal(err->field, field);
}

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(s);
	return s;
}

static void host_caps_round_trip(void **state)
{
	const struct cpu_host_caps c = { .pmu = true, .sve = true, .pauth_address = true,
					 .pauth_generic = true,
					 .sve_vls = VL128 | VL256 | VL512,
					 .pmu_without_request = true };
	struct cpu_host_caps back;
	struct api_error err;
	json_t *j = cpu_host_caps_to_json(&c);
	char *s = dump(j);

	(void)state;
	assert_string_equal(s, "{\"pauth\":true,\"pmu\":true,\"pmu_without_request\":true,"
			       "\"sve\":true,\"sve_vector_lengths\":[128,256,512]}");
	assert_int_equal(cpu_host_caps_from_json(j, "cpu_features", &back, &err), 0);
	assert_true(cpu_host_caps_equal(&c, &back));
	back.pmu_without_request = false;
	assert_false(cpu_host_caps_equal(&c, &back));
	free(s);
	json_decref(j);
}

struct bad_caps {
	const char *json;
	unsigned status;
	const char *code;
	const char *field;
};

static const struct bad_caps bad_caps[] = {
	{ "[]", 400, "wrong_type", "cpu_features" },
	{ "{\"pmu\": true, \"sve\": false, \"pauth\": false, \"sve_vector_lengths\": [], "
	  "\"mte\": true}", 422, "unknown_field", "cpu_features.mte" },
	{ "{\"sve\": false, \"pauth\": false, \"sve_vector_lengths\": []}", 422,
	  "missing_field", "cpu_features.pmu" },
	{ "{\"pmu\": true, \"sve\": false, \"pauth\": false}", 422, "missing_field",
	  "cpu_features.sve_vector_lengths" },
	{ "{\"pmu\": 1, \"sve\": false, \"pauth\": false, \"sve_vector_lengths\": []}", 400,
	  "wrong_type", "cpu_features.pmu" },
	{ "{\"pmu\": true, \"sve\": true, \"pauth\": false, \"sve_vector_lengths\": 512}", 400,
	  "wrong_type", "cpu_features.sve_vector_lengths" },
	{ "{\"pmu\": true, \"sve\": true, \"pauth\": false, \"sve_vector_lengths\": [\"128\"]}",
	  400, "wrong_type", "cpu_features.sve_vector_lengths[0]" },
	{ "{\"pmu\": true, \"sve\": true, \"pauth\": false, \"sve_vector_lengths\": [128, 100]}",
	  422, "out_of_range", "cpu_features.sve_vector_lengths[1]" },
	{ "{\"pmu\": true, \"sve\": true, \"pauth\": false, \"sve_vector_lengths\": [256, 128]}",
	  422, "bad_value", "cpu_features.sve_vector_lengths" },
	{ "{\"pmu\": true, \"sve\": true, \"pauth\": false, \"sve_vector_lengths\": [128, 128]}",
	  422, "bad_value", "cpu_features.sve_vector_lengths" },
	{ "{\"pmu\": true, \"sve\": false, \"pauth\": false, \"sve_vector_lengths\": [128]}", 422,
	  "bad_value", "cpu_features.sve_vector_lengths" },
	{ "{\"pmu\": true, \"sve\": false, \"pauth\": false, \"sve_vector_lengths\": [], "
	  "\"pmu_without_request\": \"yes\"}", 400, "wrong_type",
	  "cpu_features.pmu_without_request" },
};

static void host_caps_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_caps) / sizeof(bad_caps[0]); i++) {
		struct cpu_host_caps c;
		struct api_error err = { 0 };
		json_t *j = load_json(bad_caps[i].json);
		int ret = cpu_host_caps_from_json(j, "cpu_features", &c, &err);

		if (ret == 0 || err.status != bad_caps[i].status ||
		    strcmp(err.code, bad_caps[i].code) || strcmp(err.field, bad_caps[i].field))
			fail_msg("%s: got %d %u %s %s, want %u %s %s", bad_caps[i].json, ret,
				 err.status, err.code, err.field, bad_caps[i].status,
				 bad_caps[i].code, bad_caps[i].field);
		json_decref(j);
	}
}

static void host_offer(void **state)
{
	struct cpu_host_caps c = { .pmu = true, .sve = true, .pauth_address = true,
				   .pauth_generic = true, .sve_vls = VL128 | VL256 | VL512 };
	struct cpu_features f;

	(void)state;
	cpu_features_host_offer(&c, &f);
	assert_true(f.pmu && f.sve && f.pauth);
	assert_int_equal(f.sve_vector_length, 512);
	/* KVM takes the two pointer authentications only together. */
	c.pauth_generic = false;
	/* Lengths unknown: SVE with the host's, unnamed. */
	c.sve_vls = 0;
	cpu_features_host_offer(&c, &f);
	assert_false(f.pauth);
	assert_true(f.sve);
	assert_int_equal(f.sve_vector_length, 0);
	memset(&c, 0, sizeof(c));
	cpu_features_host_offer(&c, &f);
	assert_false(cpu_features_any(&f));
}

static void profile_member(void **state)
{
	struct profile *p = load_profile("{\"name\": \"p\", \"registers\": {}, \"cpu_features\": "
					 "{\"pmu\": true, \"sve\": {\"vector_length\": 256}}}");
	struct profile *back, *bare = load_profile("{\"name\": \"p\", \"registers\": {}}");
	struct api_error err = { 0 };
	json_t *doc = profile_to_json(p), *bad;
	char *s = dump(json_object_get(doc, "cpu_features"));

	(void)state;
	assert_true(p->has_cpu_features);
	/* Canonical: every member present. */
	assert_string_equal(s, "{\"pauth\":false,\"pmu\":true,\"sve\":{\"vector_length\":256}}");
	assert_int_equal(profile_from_json(doc, &back, &err), 0);
	assert_true(profile_equal(p, back));
	/* Without the member the profile says nothing, and is another profile. */
	assert_false(bare->has_cpu_features);
	assert_false(profile_equal(p, bare));
	json_decref(doc);
	doc = profile_to_json(bare);
	assert_null(json_object_get(doc, "cpu_features"));
	back->cpu_features.sve_vector_length = 512;
	assert_false(profile_equal(p, back));
	/* Pinned all off is a statement too: not the same as saying nothing. */
	profile_free(back);
	back = load_profile("{\"name\": \"p\", \"registers\": {}, \"cpu_features\": {}}");
	assert_true(back->has_cpu_features);
	assert_false(profile_equal(back, bare));
	bad = load_json("{\"name\": \"p\", \"registers\": {}, \"cpu_features\": {\"pmu\": 1}}");
	profile_free(back);
	expect_error(profile_from_json(bad, &back, &err), &err, 400, "wrong_type",
		     "cpu_features.pmu");
	assert_null(back);
	free(s);
	json_decref(bad);
	json_decref(doc);
	profile_free(p);
	profile_free(bare);
}

#define HOST_CPU(extra)                                                                      \
	"{\"kernel_release\": \"k\", \"registers\": [], \"cpu_features\": {\"pmu\": true, " \
	"\"sve\": true, \"pauth\": true, \"sve_vector_lengths\": [128, 256, 512]" extra "}}"

static void hostset_member(void **state)
{
	struct hostset h = load_host(HOST_CPU("")), back, bare;
	struct api_error err = { 0 };
	json_t *doc = hostset_to_json(&h), *bad;

	(void)state;
	assert_true(h.cpu_known);
	assert_true(h.cpu.pmu && h.cpu.pauth_address && h.cpu.pauth_generic);
	assert_int_equal(h.cpu.sve_vls, VL128 | VL256 | VL512);
	assert_int_equal(hostset_from_json(doc, &back, &err), 0);
	assert_true(hostset_equal(&h, &back));
	bare = load_host("{\"kernel_release\": \"k\", \"registers\": []}");
	assert_false(bare.cpu_known);
	assert_false(hostset_equal(&h, &bare));
	bad = load_json("{\"kernel_release\": \"k\", \"registers\": [], \"cpu_features\": "
			"{\"pmu\": true}}");
	expect_error(hostset_from_json(bad, &back, &err), &err, 422, "missing_field",
		     "cpu_features.sve");
	json_decref(bad);
	json_decref(doc);
}

/* The report of profile text on host text (both without registers). */
static struct compat_report *judge(const char *profile, const char *host)
{
	struct compat_report *r = malloc(sizeof(*r));
	struct profile *p = load_profile(profile);
	struct hostset h = load_host(host);

	assert_non_null(r);
	assert_int_equal(compat_check(p, &h, r), 0);
	profile_free(p);
	return r;
}

static json_t *cpu_json(const struct compat_report *r)
{
	json_t *doc = compat_report_to_json(r), *o;

	assert_non_null(doc);
	o = json_incref(json_object_get(doc, "cpu_features"));
	json_decref(doc);
	return o;
}

#define PROFILE_CPU(f) "{\"name\": \"p\", \"registers\": {}, \"cpu_features\": " f "}"

static void compat_given_and_refused(void **state)
{
	struct compat_report *r;
	struct api_error err = { 0 };
	json_t *o;

	(void)state;
	r = judge(PROFILE_CPU("{\"pmu\": true, \"sve\": {\"vector_length\": 512}}"), HOST_CPU(""));
	assert_true(r->compatible);
	assert_int_equal(r->cpu.verdict, COMPAT_CPU_GIVEN);
	assert_int_equal(compat_refusal(r, "p", &err), 0);
	o = cpu_json(r);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "given");
	assert_null(json_object_get(o, "rule"));
	assert_true(json_is_true(json_object_get(json_object_get(o, "pinned"), "pmu")));
	assert_true(json_is_object(json_object_get(o, "host")));
	json_decref(o);
	free(r);

	/* A length the host does not have: refused, naming the length. */
	r = judge(PROFILE_CPU("{\"sve\": {\"vector_length\": 1024}}"), HOST_CPU(""));
	assert_false(r->compatible);
	assert_int_equal(r->cpu.verdict, COMPAT_CPU_REFUSED);
	assert_string_equal(r->cpu.field, "cpu_features.sve.vector_length");
	expect_error(compat_refusal(r, "p", &err), &err, 409, "profile_refused",
		     "cpu_features.sve.vector_length");
	assert_non_null(strstr(err.detail, "cpu_feature_unavailable"));
	assert_non_null(strstr(err.detail, "128, 256, 512"));
	o = cpu_json(r);
	assert_string_equal(json_string_value(json_object_get(o, "rule")),
			    "cpu_feature_unavailable");
	assert_string_equal(json_string_value(json_object_get(o, "field")),
			    "cpu_features.sve.vector_length");
	json_decref(o);
	free(r);

	/* A PMU on a host without one. */
	r = judge(PROFILE_CPU("{\"pmu\": true}"),
		  "{\"kernel_release\": \"k\", \"registers\": [], \"cpu_features\": {\"pmu\": "
		  "false, \"sve\": false, \"pauth\": false, \"sve_vector_lengths\": []}}");
	assert_false(r->compatible);
	assert_string_equal(r->cpu.field, "cpu_features.pmu");
	free(r);
	/* All off: any host gives it. */
	r = judge(PROFILE_CPU("{}"),
		  "{\"kernel_release\": \"k\", \"registers\": [], \"cpu_features\": {\"pmu\": "
		  "false, \"sve\": false, \"pauth\": false, \"sve_vector_lengths\": []}}");
	assert_true(r->compatible);
	assert_int_equal(r->cpu.verdict, COMPAT_CPU_GIVEN);
	free(r);
}

static void compat_unknown_and_unpinned(void **state)
{
	struct compat_report *r;
	json_t *o;

	(void)state;
	/* The host set does not say: undetermined, not a refusal. */
	r = judge(PROFILE_CPU("{\"pmu\": true}"), "{\"kernel_release\": \"k\", \"registers\": []}");
	assert_true(r->compatible);
	assert_int_equal(r->cpu.verdict, COMPAT_CPU_UNDETERMINED);
	o = cpu_json(r);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "undetermined");
	assert_true(json_is_null(json_object_get(o, "host")));
	json_decref(o);
	free(r);
	/* A profile that says nothing on a host that does: unpinned. */
	r = judge("{\"name\": \"p\", \"registers\": {}}", HOST_CPU(""));
	assert_int_equal(r->cpu.verdict, COMPAT_CPU_UNPINNED);
	o = cpu_json(r);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "unpinned");
	assert_true(json_is_null(json_object_get(o, "pinned")));
	json_decref(o);
	free(r);
	/* Neither says: no member at all (the report as before). */
	r = judge("{\"name\": \"p\", \"registers\": {}}",
		  "{\"kernel_release\": \"k\", \"registers\": []}");
	assert_int_equal(r->cpu.verdict, COMPAT_CPU_NONE);
	assert_null(cpu_json(r));
	free(r);
}

static void compat_reports_pmu_shown_anyway(void **state)
{
	struct compat_report *r;
	json_t *o;

	(void)state;
	r = judge(PROFILE_CPU("{}"), HOST_CPU(", \"pmu_without_request\": true"));
	assert_true(r->compatible);
	assert_true(r->cpu.pmu_without_request);
	assert_non_null(strstr(r->cpu.reason, "PMU version anyway"));
	o = cpu_json(r);
	assert_true(json_is_true(json_object_get(o, "pmu_without_request")));
	json_decref(o);
	free(r);
	/* Asked for, the PMU is the profile's: nothing to report. */
	r = judge(PROFILE_CPU("{\"pmu\": true}"), HOST_CPU(", \"pmu_without_request\": true"));
	assert_false(r->cpu.pmu_without_request);
	free(r);
	r = judge(PROFILE_CPU("{}"), HOST_CPU(""));
	assert_false(r->cpu.pmu_without_request);
	free(r);
}

static struct hostset host_with(bool pmu, bool pauth, uint32_t vls)
{
	struct hostset h = load_host("{\"kernel_release\": \"k\", \"registers\": []}");

	h.cpu_known = true;
	h.cpu.pmu = pmu;
	h.cpu.pauth_address = h.cpu.pauth_generic = pauth;
	h.cpu.sve = vls != 0;
	h.cpu.sve_vls = vls;
	return h;
}

static void baseline_cpu(void **state)
{
	struct hostset hosts[3] = { host_with(true, true, VL128 | VL256 | VL512),
				    host_with(false, true, VL128 | VL256),
				    host_with(true, true, VL128 | VL256 | VL512 | VL1024) };
	struct api_error err = { 0 };
	struct profile *p = load_profile("{\"name\": \"b\", \"registers\": {}}");

	(void)state;
	assert_int_equal(baseline_pin_cpu(p, hosts, 3, BASELINE_CPU_COMMON, &err), 0);
	assert_true(p->has_cpu_features);
	assert_false(p->cpu_features.pmu);
	assert_true(p->cpu_features.pauth);
	assert_true(p->cpu_features.sve);
	assert_int_equal(p->cpu_features.sve_vector_length, 256);
	/* Sets that differ below a common length: the longest where they agree. */
	hosts[1] = host_with(true, false, VL128 | VL512);
	assert_int_equal(baseline_pin_cpu(p, hosts, 2, BASELINE_CPU_COMMON, &err), 0);
	assert_true(p->cpu_features.pmu);
	assert_false(p->cpu_features.pauth);
	assert_int_equal(p->cpu_features.sve_vector_length, 128);
	/* A host without SVE: none. */
	hosts[1] = host_with(true, true, 0);
	assert_int_equal(baseline_pin_cpu(p, hosts, 2, BASELINE_CPU_COMMON, &err), 0);
	assert_false(p->cpu_features.sve);
	/* The default: all off, whatever the hosts offer. */
	assert_int_equal(baseline_pin_cpu(p, hosts, 3, BASELINE_CPU_NONE, &err), 0);
	assert_false(cpu_features_any(&p->cpu_features));
	profile_free(p);

	/* "common" needs every host to say; p stays as it was. */
	p = load_profile("{\"name\": \"b\", \"registers\": {}}");
	hosts[2].cpu_known = false;
	expect_error(baseline_pin_cpu(p, hosts, 3, BASELINE_CPU_COMMON, &err), &err, 422,
		     "cpu_features_unknown", "hosts[2]");
	assert_false(p->has_cpu_features);
	assert_int_equal(baseline_pin_cpu(p, hosts, 3, BASELINE_CPU_NONE, &err), 0);
	profile_free(p);
}

static void capture_option(void **state)
{
	struct capture_request cr;
	struct api_error err = { 0 };
	struct hostset h = host_with(false, true, VL128 | VL256);
	struct cpu_features f;
	json_t *body;

	(void)state;
	body = load_json("{\"capture\": \"host\", \"name\": \"c\", \"cpu_features\": \"host\"}");
	assert_int_equal(capture_request_parse(body, &cr, &err), 0);
	assert_true(cr.cpu_host);
	assert_int_equal(capture_request_cpu_features(&cr, &h, &f, &err), 0);
	assert_true(f.pauth && f.sve && !f.pmu);
	assert_int_equal(f.sve_vector_length, 256);
	json_decref(body);

	/* Absent and "none": what a VM gets without asking, all off. */
	body = load_json("{\"capture\": \"host\", \"name\": \"c\"}");
	assert_int_equal(capture_request_parse(body, &cr, &err), 0);
	assert_int_equal(capture_request_cpu_features(&cr, &h, &f, &err), 0);
	assert_false(cpu_features_any(&f));
	json_decref(body);
	body = load_json("{\"capture\": \"host\", \"name\": \"c\", \"cpu_features\": \"none\"}");
	assert_int_equal(capture_request_parse(body, &cr, &err), 0);
	assert_false(cr.cpu_host);
	json_decref(body);

	/* An object: checked against the host like a VM's. */
	body = load_json("{\"capture\": \"host\", \"name\": \"c\", \"cpu_features\": "
			 "{\"pmu\": true}}");
	assert_int_equal(capture_request_parse(body, &cr, &err), 0);
	expect_error(capture_request_cpu_features(&cr, &h, &f, &err), &err, 422,
		     "unsupported_by_host", "cpu_features.pmu");
	h.cpu_known = false;
	expect_error(capture_request_cpu_features(&cr, &h, &f, &err), &err, 500, "kvm_error",
		     "cpu_features");
	json_decref(body);

	body = load_json("{\"capture\": \"host\", \"name\": \"c\", \"cpu_features\": \"all\"}");
	expect_error(capture_request_parse(body, &cr, &err), &err, 422, "bad_value",
		     "cpu_features");
	json_decref(body);
	body = load_json("{\"capture\": \"host\", \"name\": \"c\", \"cpu_features\": 1}");
	expect_error(capture_request_parse(body, &cr, &err), &err, 400, "wrong_type",
		     "cpu_features");
	json_decref(body);
	body = load_json("{\"capture\": \"host\", \"name\": \"c\", \"cpu_features\": "
			 "{\"sve\": {\"vector_length\": 100}}}");
	expect_error(capture_request_parse(body, &cr, &err), &err, 422, "out_of_range",
		     "cpu_features.sve.vector_length");
	json_decref(body);
}

static void baseline_option(void **state)
{
	struct baseline_request br;
	struct api_error err = { 0 };
	json_t *body;

	(void)state;
	body = load_json("{\"name\": \"b\", \"hosts\": [], \"cpu_features\": \"common\"}");
	assert_int_equal(baseline_request_parse(body, &br, &err), 0);
	assert_int_equal(br.cpu, BASELINE_CPU_COMMON);
	baseline_request_clear(&br);
	json_decref(body);
	body = load_json("{\"name\": \"b\", \"hosts\": []}");
	assert_int_equal(baseline_request_parse(body, &br, &err), 0);
	assert_int_equal(br.cpu, BASELINE_CPU_NONE);
	baseline_request_clear(&br);
	json_decref(body);
	body = load_json("{\"name\": \"b\", \"hosts\": [], \"cpu_features\": \"host\"}");
	expect_error(baseline_request_parse(body, &br, &err), &err, 422, "bad_value",
		     "cpu_features");
	json_decref(body);
	body = load_json("{\"name\": \"b\", \"hosts\": [], \"cpu_features\": {}}");
	expect_error(baseline_request_parse(body, &br, &err), &err, 400, "wrong_type",
		     "cpu_features");
	json_decref(body);
}

static void spec_takes_profile_features(void **state)
{
	const struct cpu_features pinned = { .pmu = true, .sve = true, .sve_vector_length = 256 };
	struct api_error err = { 0 };
	struct vm_spec spec;
	json_t *doc;
	char *s;

	(void)state;
	/* Nothing asked: the profile's, in the spec and its stored document. */
	doc = load_json("{\"vcpus\": 1, \"memory_mib\": 128, \"kernel\": \"k\"}");
	assert_int_equal(vm_spec_parse(doc, &spec, &err), 0);
	assert_false(spec.has_cpu_features);
	assert_int_equal(vm_spec_take_profile_cpu(&spec, doc, &pinned, "p", &err), 0);
	assert_true(cpu_features_equal(&spec.cpu_features, &pinned));
	s = dump(json_object_get(doc, "cpu_features"));
	assert_string_equal(s, "{\"pauth\":false,\"pmu\":true,\"sve\":{\"vector_length\":256}}");
	free(s);
	/* The stored document reads back to the same spec (restart). */
	assert_int_equal(vm_spec_parse(doc, &spec, &err), 0);
	assert_true(spec.has_cpu_features);
	assert_true(cpu_features_equal(&spec.cpu_features, &pinned));
	json_decref(doc);

	/* The same, said again: fine. */
	doc = load_json("{\"vcpus\": 1, \"memory_mib\": 128, \"kernel\": \"k\", \"cpu_features\": "
			"{\"sve\": {\"vector_length\": 256}, \"pmu\": true}}");
	assert_int_equal(vm_spec_parse(doc, &spec, &err), 0);
	assert_int_equal(vm_spec_take_profile_cpu(&spec, doc, &pinned, "p", &err), 0);
	json_decref(doc);

	/* Anything else, all off included, conflicts with the profile. */
	doc = load_json("{\"vcpus\": 1, \"memory_mib\": 128, \"kernel\": \"k\", \"cpu_features\": "
			"{}}");
	assert_int_equal(vm_spec_parse(doc, &spec, &err), 0);
	assert_true(spec.has_cpu_features);
	expect_error(vm_spec_take_profile_cpu(&spec, doc, &pinned, "lab-6.12", &err), &err, 422,
		     "profile_conflict", "cpu_features");
	assert_non_null(strstr(err.detail, "lab-6.12"));
	assert_non_null(strstr(err.detail, "\"vector_length\":256"));
	json_decref(doc);
	/* A null member is no member. */
	doc = load_json("{\"vcpus\": 1, \"memory_mib\": 128, \"kernel\": \"k\", \"cpu_features\": "
			"null}");
	assert_int_equal(vm_spec_parse(doc, &spec, &err), 0);
	assert_false(spec.has_cpu_features);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_caps_round_trip),
		cmocka_unit_test(host_caps_refusals),
		cmocka_unit_test(host_offer),
		cmocka_unit_test(profile_member),
		cmocka_unit_test(hostset_member),
		cmocka_unit_test(compat_given_and_refused),
		cmocka_unit_test(compat_unknown_and_unpinned),
		cmocka_unit_test(compat_reports_pmu_shown_anyway),
		cmocka_unit_test(baseline_cpu),
		cmocka_unit_test(capture_option),
		cmocka_unit_test(baseline_option),
		cmocka_unit_test(spec_takes_profile_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
