/*
 * VM request bodies: every refusal (status, code, field) in checking
 * order, the limits at their edges, and what an accepted body yields
 * (borrowed strings, NULL for what was left out).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vm_spec.h"
#include "test_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zeroed on failure, whatever it held before. */
static void assert_zeroed(const struct vm_spec *s)
{
	assert_true(s->vcpus == 0 && s->memory_mib == 0);
	assert_null(s->kernel);
	assert_null(s->initrd);
	assert_null(s->cmdline);
	assert_null(s->profile);
}

static void poison(struct vm_spec *s)
{
	s->vcpus = s->memory_mib = 7;
	s->kernel = s->initrd = s->cmdline = s->profile = "poison";
}

struct bad_doc {
	const char *json;
	unsigned status;
	const char *code;
	const char *field;
};

/* A valid body with members spliced in front: V("\"x\": 1,"). */
#define V(...) "{" __VA_ARGS__ "\"vcpus\": 1, \"memory_mib\": 64, " \
	       "\"kernel\": \"Image\"}"
/* vcpus and memory_mib given, kernel "Image". */
#define VM(vcpus, mem, ...) "{\"vcpus\": " vcpus ", \"memory_mib\": " mem \
			    ", \"kernel\": \"Image\"" __VA_ARGS__ "}"

static const struct bad_doc bad_specs[] = {
	/* Not an object. */
	{ "[]", 400, "wrong_type", "" },
	{ "null", 400, "wrong_type", "" },
	{ "\"vcpus\"", 400, "wrong_type", "" },
	{ "3", 400, "wrong_type", "" },
	{ "[{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"Image\"}]", 400,
	  "wrong_type", "" },
	/* Unknown members, checked before anything else. */
	{ V("\"x\": 1,"), 422, "unknown_field", "x" },
	{ V("\"VCPUS\": 1,"), 422, "unknown_field", "VCPUS" },
	{ V("\"\": 1,"), 422, "unknown_field", "" },
	{ V("\"console\": \"/tmp/x\","), 422, "unknown_field", "console" },
	{ V("\"pins\": [],"), 422, "unknown_field", "pins" },
	{ "{\"bogus\": null}", 422, "unknown_field", "bogus" },
	{ "{\"vcpus\": \"two\", \"x\": 1}", 422, "unknown_field", "x" },
	/* Missing, in the order vcpus, memory_mib, kernel. */
	{ "{}", 422, "missing_field", "vcpus" },
	{ "{\"memory_mib\": 64, \"kernel\": \"Image\"}", 422, "missing_field",
	  "vcpus" },
	{ "{\"vcpus\": 1, \"kernel\": \"Image\"}", 422, "missing_field",
	  "memory_mib" },
	{ "{\"vcpus\": 1, \"memory_mib\": 64}", 422, "missing_field",
	  "kernel" },
	{ "{\"kernel\": \"Image\", \"cmdline\": \"\"}", 422, "missing_field",
	  "vcpus" },
	/* Present beats well-typed: a missing kernel before a bad vcpus. */
	{ "{\"vcpus\": \"1\", \"memory_mib\": 64}", 422, "missing_field",
	  "kernel" },
	/* Integers. */
	{ VM("\"1\"", "64"), 400, "wrong_type", "vcpus" },
	{ VM("1.0", "64"), 400, "wrong_type", "vcpus" },
	{ VM("1.5", "64"), 400, "wrong_type", "vcpus" },
	{ VM("1e3", "64"), 400, "wrong_type", "vcpus" },
	{ VM("true", "64"), 400, "wrong_type", "vcpus" },
	{ VM("null", "64"), 400, "wrong_type", "vcpus" },
	{ VM("[1]", "64"), 400, "wrong_type", "vcpus" },
	{ VM("{}", "64"), 400, "wrong_type", "vcpus" },
	{ VM("1", "\"64\""), 400, "wrong_type", "memory_mib" },
	{ VM("1", "64.0"), 400, "wrong_type", "memory_mib" },
	{ VM("1", "null"), 400, "wrong_type", "memory_mib" },
	{ VM("1", "false"), 400, "wrong_type", "memory_mib" },
	/* vcpus before memory_mib. */
	{ VM("null", "null"), 400, "wrong_type", "vcpus" },
	/* Integers before strings. */
	{ "{\"vcpus\": 1, \"memory_mib\": \"64\", \"kernel\": 5}", 400,
	  "wrong_type", "memory_mib" },
	/* Strings; initrd alone may be null. */
	{ "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": null}", 400,
	  "wrong_type", "kernel" },
	{ "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": 5}", 400,
	  "wrong_type", "kernel" },
	{ "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": [\"Image\"]}", 400,
	  "wrong_type", "kernel" },
	{ VM("1", "64", ", \"initrd\": 0"), 400, "wrong_type", "initrd" },
	{ VM("1", "64", ", \"initrd\": false"), 400, "wrong_type", "initrd" },
	{ VM("1", "64", ", \"initrd\": {}"), 400, "wrong_type", "initrd" },
	{ VM("1", "64", ", \"cmdline\": null"), 400, "wrong_type", "cmdline" },
	{ VM("1", "64", ", \"cmdline\": [\"a\"]"), 400, "wrong_type",
	  "cmdline" },
	{ VM("1", "64", ", \"profile\": null"), 400, "wrong_type", "profile" },
	{ VM("1", "64", ", \"profile\": 1"), 400, "wrong_type", "profile" },
	/* Types before ranges: a bad profile type beats vcpus 0. */
	{ VM("0", "64", ", \"profile\": 1"), 400, "wrong_type", "profile" },
	/* Ranges: vcpus. */
	{ VM("0", "64"), 422, "out_of_range", "vcpus" },
	{ VM("-1", "64"), 422, "out_of_range", "vcpus" },
	{ VM("-9223372036854775808", "64"), 422, "out_of_range", "vcpus" },
	{ VM("513", "64"), 422, "out_of_range", "vcpus" },
	{ VM("4294967297", "64"), 422, "out_of_range", "vcpus" },
	{ VM("9223372036854775807", "64"), 422, "out_of_range", "vcpus" },
	/* vcpus before memory_mib. */
	{ VM("0", "0"), 422, "out_of_range", "vcpus" },
	/* Ranges: memory_mib. */
	{ VM("1", "31"), 422, "out_of_range", "memory_mib" },
	{ VM("1", "0"), 422, "out_of_range", "memory_mib" },
	{ VM("1", "-64"), 422, "out_of_range", "memory_mib" },
	{ VM("1", "-9223372036854775808"), 422, "out_of_range", "memory_mib" },
	{ VM("1", "16777217"), 422, "out_of_range", "memory_mib" },
	{ VM("1", "17592186044416"), 422, "out_of_range", "memory_mib" },
	{ VM("1", "9223372036854775807"), 422, "out_of_range", "memory_mib" },
	/* Ranges before the cmdline length. */
	{ VM("1", "1", ", \"cmdline\": \"x\""), 422, "out_of_range",
	  "memory_mib" },
};

static void test_vm_spec_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		const struct bad_doc *b = &bad_specs[i];
		struct api_error err = { 0 };
		struct vm_spec s;
		json_t *doc = load_json(b->json);

		poison(&s);
		if (vm_spec_parse(doc, &s, &err) != -EINVAL ||
		    err.status != b->status || strcmp(err.code, b->code) ||
		    strcmp(err.field, b->field))
			fail_msg("case %zu %s: got %u %s \"%s\" (%s)", i,
				 b->json, err.status, err.code, err.field,
				 err.detail);
		assert_true(strlen(err.detail) > 0);
		assert_zeroed(&s);
		/* err may be NULL: same answer, nothing written. */
		poison(&s);
		assert_int_equal(vm_spec_parse(doc, &s, NULL), -EINVAL);
		assert_zeroed(&s);
		json_decref(doc);
	}
}

/* Bodies built in code: what JSON text cannot carry. */
static void test_vm_spec_errors_built(void **state)
{
	struct api_error err = { 0 };
	struct vm_spec s;
	char *cmdline;
	json_t *doc;

	(void)state;
	/* No body at all. */
	poison(&s);
	assert_int_equal(vm_spec_parse(NULL, &s, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "wrong_type");
	assert_string_equal(err.field, "");
	assert_zeroed(&s);

	/* cmdline one byte over; exactly at the limit is fine. */
	cmdline = malloc(VM_SPEC_MAX_CMDLINE + 2);
	assert_non_null(cmdline);
	memset(cmdline, 'a', VM_SPEC_MAX_CMDLINE + 1);
	cmdline[VM_SPEC_MAX_CMDLINE + 1] = '\0';
	doc = json_pack("{s:i, s:i, s:s, s:s}", "vcpus", 1, "memory_mib", 64,
			"kernel", "Image", "cmdline", cmdline);
	assert_non_null(doc);
	poison(&s);
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "value_too_long");
	assert_string_equal(err.field, "cmdline");
	assert_non_null(strstr(err.detail, "2048 bytes"));
	assert_zeroed(&s);

	/* Far over (64 KiB): same answer. */
	json_decref(doc);
	free(cmdline);
	cmdline = malloc(65537);
	assert_non_null(cmdline);
	memset(cmdline, ' ', 65536);
	cmdline[65536] = '\0';
	doc = json_pack("{s:i, s:i, s:s, s:s}", "vcpus", 1, "memory_mib", 64,
			"kernel", "Image", "cmdline", cmdline);
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_string_equal(err.code, "value_too_long");
	json_decref(doc);
	free(cmdline);

	/* A key with a NUL that starts like a known one is unknown. */
	doc = load_json(V());
	assert_int_equal(json_object_setn_new(doc, "vcpus\0x", 7,
					      json_integer(1)), 0);
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_string_equal(err.code, "unknown_field");
	assert_string_equal(err.field, "vcpus");
	json_decref(doc);
}

/* The details say what is wrong and what is allowed. */
static void test_vm_spec_details(void **state)
{
	static const struct {
		const char *json, *detail;
	} cases[] = {
		{ "[]", "the document must be an object, not array" },
		{ V("\"x\": 1,"), "\"x\" is not one of them" },
		{ "{}", "vcpus is required" },
		{ VM("true", "64"), "vcpus must be an integer" },
		{ VM("1", "64", ", \"initrd\": 1"), "initrd must be a string" },
		{ VM("0", "64"), "vcpus must be at least 1" },
		{ VM("600", "64"), "vcpus is 600; at most 512" },
		{ VM("1", "16"), "memory_mib must be at least 32" },
		{ VM("1", "16777217"),
		  "memory_mib is 16777217; at most 16777216 (16 TiB)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct api_error err = { 0 };
		struct vm_spec s;
		json_t *doc = load_json(cases[i].json);

		assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
		if (!strstr(err.detail, cases[i].detail))
			fail_msg("case %zu %s: detail \"%s\" lacks \"%s\"", i,
				 cases[i].json, err.detail, cases[i].detail);
		json_decref(doc);
	}
}

/* The smallest body: optional strings NULL, kernel borrowed. */
static void test_vm_spec_minimal(void **state)
{
	struct api_error err = { 0 };
	struct vm_spec s;
	json_t *doc = load_json(V());

	(void)state;
	poison(&s);
	assert_int_equal(vm_spec_parse(doc, &s, &err), 0);
	assert_true(s.vcpus == 1);
	assert_true(s.memory_mib == 64);
	assert_string_equal(s.kernel, "Image");
	assert_ptr_equal(s.kernel, json_string_value(json_object_get(doc, "kernel")));
	assert_null(s.initrd);
	assert_null(s.cmdline);
	assert_null(s.profile);
	/* err untouched on success; NULL is fine too. */
	assert_int_equal(err.status, 0);
	assert_int_equal(vm_spec_parse(doc, &s, NULL), 0);
	json_decref(doc);
}

static void test_vm_spec_full(void **state)
{
	struct vm_spec s;
	json_t *doc = load_json("{\"profile\": \"lab-5.10\", \"cmdline\": "
			   "\"console=ttyS0 quiet\", \"initrd\": \"initrd.gz\", "
			   "\"kernel\": \"Image-6.1\", \"memory_mib\": 256, "
			   "\"vcpus\": 8}");

	(void)state;
	assert_int_equal(vm_spec_parse(doc, &s, NULL), 0);
	assert_true(s.vcpus == 8);
	assert_true(s.memory_mib == 256);
	assert_string_equal(s.kernel, "Image-6.1");
	assert_string_equal(s.initrd, "initrd.gz");
	assert_string_equal(s.cmdline, "console=ttyS0 quiet");
	assert_string_equal(s.profile, "lab-5.10");
	assert_ptr_equal(s.initrd, json_string_value(json_object_get(doc, "initrd")));
	assert_ptr_equal(s.cmdline, json_string_value(json_object_get(doc, "cmdline")));
	assert_ptr_equal(s.profile, json_string_value(json_object_get(doc, "profile")));
	json_decref(doc);
}

/* Accepted bodies: null initrd, empty strings, every limit exactly. */
static void test_vm_spec_good(void **state)
{
	static const struct {
		const char *json;
		json_int_t vcpus, memory_mib;
	} cases[] = {
		{ V(), 1, 64 },
		{ V("\"initrd\": null,"), 1, 64 },
		{ V("\"cmdline\": \"\","), 1, 64 },
		{ V("\"profile\": \"\","), 1, 64 },
		{ VM("1", "32"), 1, 32 },
		{ VM("512", "16777216"), 512, 16777216 },
		{ VM("2", "1024", ", \"initrd\": \"x\", \"cmdline\": \"a b\", "
		     "\"profile\": \"p\""), 2, 1024 },
		/* Not this parser's business: paths, odd names, unknown
		 * profiles (the server resolves them). */
		{ "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"\"}", 1, 64 },
		{ "{\"vcpus\": 1, \"memory_mib\": 64, \"kernel\": \"../../etc/passwd\"}",
		  1, 64 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct api_error err = { 0 };
		struct vm_spec s;
		json_t *doc = load_json(cases[i].json);

		if (vm_spec_parse(doc, &s, &err))
			fail_msg("case %zu %s: %u %s \"%s\" (%s)", i,
				 cases[i].json, err.status, err.code, err.field,
				 err.detail);
		assert_true(s.vcpus == cases[i].vcpus);
		assert_true(s.memory_mib == cases[i].memory_mib);
		assert_non_null(s.kernel);
		json_decref(doc);
	}
}

/* A cmdline of exactly VM_SPEC_MAX_CMDLINE bytes passes. */
static void test_vm_spec_cmdline_limit(void **state)
{
	char *cmdline = malloc(VM_SPEC_MAX_CMDLINE + 1);
	struct vm_spec s;
	json_t *doc;

	(void)state;
	assert_non_null(cmdline);
	memset(cmdline, 'a', VM_SPEC_MAX_CMDLINE);
	cmdline[VM_SPEC_MAX_CMDLINE] = '\0';
	doc = json_pack("{s:i, s:i, s:s, s:s}", "vcpus", 1, "memory_mib", 64,
			"kernel", "Image", "cmdline", cmdline);
	assert_non_null(doc);
	assert_int_equal(vm_spec_parse(doc, &s, NULL), 0);
	assert_int_equal(strlen(s.cmdline), VM_SPEC_MAX_CMDLINE);
	json_decref(doc);
	free(cmdline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_spec_errors),
		cmocka_unit_test(test_vm_spec_errors_built),
		cmocka_unit_test(test_vm_spec_details),
		cmocka_unit_test(test_vm_spec_minimal),
		cmocka_unit_test(test_vm_spec_full),
		cmocka_unit_test(test_vm_spec_good),
		cmocka_unit_test(test_vm_spec_cmdline_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
