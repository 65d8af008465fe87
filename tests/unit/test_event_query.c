/* GET /v1/events inputs: resumption ids, filters, and every refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "event_query.h"

#include <errno.h>
#include <string.h>

static void test_accepted(void **state)
{
	struct event_query q;

	(void)state;
	assert_int_equal(event_query_parse(NULL, NULL, NULL, NULL, &q, NULL), 0);
	assert_false(q.resume);
	assert_true(event_query_matches(&q, "vm.state", "x"));
	assert_int_equal(event_query_parse("42", NULL, NULL, NULL, &q, NULL), 0);
	assert_true(q.resume);
	assert_int_equal(q.after, 42);
	assert_int_equal(event_query_parse("7", "7", NULL, NULL, &q, NULL), 0);
	assert_int_equal(q.after, 7);
	assert_int_equal(event_query_parse(NULL, "9223372036854775807", NULL, NULL, &q, NULL), 0);
	assert_true(q.after == (uint64_t)INT64_MAX);
	assert_int_equal(event_query_parse(NULL, "0", "4f1c-ab", "vm.state", &q, NULL), 0);
	assert_true(q.resume && q.after == 0);
	assert_true(event_query_matches(&q, "vm.state", "4f1c-ab"));
	assert_false(event_query_matches(&q, "vm.state", "other"));
	assert_false(event_query_matches(&q, "vm.deleted", "4f1c-ab"));
	assert_false(event_query_matches(&q, "vm.state", NULL));
	/* A family: the prefix up to and with its dot. */
	assert_int_equal(event_query_parse(NULL, NULL, NULL, "vm.", &q, NULL), 0);
	assert_true(event_query_matches(&q, "vm.created", ""));
	assert_false(event_query_matches(&q, "vmx.created", ""));
	assert_false(event_query_matches(&q, "profile.refused", ""));
	/* A whole type does not match a longer one. */
	assert_int_equal(event_query_parse(NULL, NULL, NULL, "vm.state", &q, NULL), 0);
	assert_false(event_query_matches(&q, "vm.states", ""));
}

static void test_refused(void **state)
{
	static const struct {
		const char *header, *param, *vm, *type;
		const char *code, *field;
	} bad[] = {
		{ "1", "2", NULL, NULL, "conflicting_resume", "last_event_id" },
		{ "", NULL, NULL, NULL, "bad_last_event_id", "Last-Event-ID" },
		{ " 1", NULL, NULL, NULL, "bad_last_event_id", "Last-Event-ID" },
		{ "1 ", NULL, NULL, NULL, "bad_last_event_id", "Last-Event-ID" },
		{ "+1", NULL, NULL, NULL, "bad_last_event_id", "Last-Event-ID" },
		{ NULL, "-1", NULL, NULL, "bad_last_event_id", "last_event_id" },
		{ NULL, "0x10", NULL, NULL, "bad_last_event_id", "last_event_id" },
		{ NULL, "9223372036854775808", NULL, NULL, "bad_last_event_id", "last_event_id" },
		{ NULL, "99999999999999999999", NULL, NULL, "bad_last_event_id", "last_event_id" },
		{ NULL, NULL, "", NULL, "bad_vm_id", "vm" },
		{ NULL, NULL, "../x", NULL, "bad_vm_id", "vm" },
		{ NULL, NULL, "0123456789012345678901234567890123456789", NULL, "bad_vm_id", "vm" },
		{ NULL, NULL, NULL, "", "bad_event_type", "type" },
		{ NULL, NULL, NULL, "VM.state", "bad_event_type", "type" },
		{ NULL, NULL, NULL, ".state", "bad_event_type", "type" },
		{ NULL, NULL, NULL, "vm..state", "bad_event_type", "type" },
		{ NULL, NULL, NULL, "vm state", "bad_event_type", "type" },
		{ NULL, NULL, NULL, "1vm", "bad_event_type", "type" },
		{ NULL, NULL, NULL, "a234567890123456789012345678901234567890123456789",
		  "bad_event_type", "type" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct event_query q;
		struct api_error err;

		memset(&q, 0x5a, sizeof(q));
		assert_int_equal(event_query_parse(bad[i].header, bad[i].param, bad[i].vm,
						   bad[i].type, &q, &err), -EINVAL);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.code, bad[i].code);
		assert_string_equal(err.field, bad[i].field);
		assert_false(q.resume);
		assert_int_equal(q.after, 0);
		assert_int_equal(event_query_parse(bad[i].header, bad[i].param, bad[i].vm,
						   bad[i].type, &q, NULL), -EINVAL);
	}
}

static void test_type_names(void **state)
{
	(void)state;
	assert_true(event_type_valid("vm.state"));
	assert_true(event_type_valid("snapshot.created"));
	assert_true(event_type_valid("profile.refused"));
	assert_false(event_type_valid("vm."));
	assert_false(event_type_valid(""));
	assert_false(event_type_valid(NULL));
	assert_false(event_type_valid("vm\nstate"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
