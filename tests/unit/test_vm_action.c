/* VM action bodies: the six actions, shutdown's timeout, and every refusal in checking order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vm_action.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void test_accepted(void **state)
{
	static const char *const names[] = { "start", "pause", "resume", "stop",
					     "shutdown", "reboot" };

	(void)state;
	for (int a = 0; a < VM_ACTION_COUNT; a++) {
		char text[64];
		json_t *doc;
		enum vm_action got = VM_ACTION_COUNT;

		snprintf(text, sizeof(text), "{\"action\": \"%s\"}", names[a]);
		doc = json_loads(text, 0, NULL);
		assert_int_equal(vm_action_parse(doc, &got, NULL), 0);
		assert_int_equal(got, a);
		assert_string_equal(vm_action_name(got), names[a]);
		json_decref(doc);
	}
}

static void test_refused(void **state)
{
	static const struct {
		const char *json;
		unsigned status;
		const char *code, *field;
	} bad[] = {
		{ "[]", 400, "wrong_type", "" },
		{ "{\"action\": \"start\", \"force\": true}", 422, "unknown_field", "force" },
		{ "{}", 422, "missing_field", "action" },
		{ "{\"action\": 1}", 400, "wrong_type", "action" },
		{ "{\"action\": null}", 400, "wrong_type", "action" },
		{ "{\"action\": \"restart\"}", 422, "bad_action", "action" },
		{ "{\"action\": \"stop\", \"timeout_s\": 5}", 422, "unknown_field", "timeout_s" },
		{ "{\"action\": \"reboot\", \"timeout_s\": 5}", 422, "unknown_field",
		  "timeout_s" },
		{ "{\"action\": \"shutdown\", \"timeout_s\": \"5\"}", 400, "wrong_type",
		  "timeout_s" },
		{ "{\"action\": \"shutdown\", \"timeout_s\": 1.5}", 400, "wrong_type",
		  "timeout_s" },
		{ "{\"action\": \"shutdown\", \"timeout_s\": 0}", 422, "out_of_range",
		  "timeout_s" },
		{ "{\"action\": \"shutdown\", \"timeout_s\": -1}", 422, "out_of_range",
		  "timeout_s" },
		{ "{\"action\": \"shutdown\", \"timeout_s\": 3601}", 422, "out_of_range",
		  "timeout_s" },
		{ "{\"timeout_s\": 5}", 422, "missing_field", "action" },
		{ "{\"action\": \"START\"}", 422, "bad_action", "action" },
		{ "{\"action\": \"\"}", 422, "bad_action", "action" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
		struct api_error err;
		enum vm_action got;

		assert_non_null(doc);
		assert_int_equal(vm_action_parse(doc, &got, &err), -EINVAL);
		assert_int_equal(err.status, bad[i].status);
		assert_string_equal(err.code, bad[i].code);
		assert_string_equal(err.field, bad[i].field);
		assert_true(err.detail[0] != '\0');
		json_decref(doc);
	}
}

static void test_shutdown_timeout(void **state)
{
	static const struct {
		const char *json;
		unsigned timeout_s;
	} ok[] = {
		{ "{\"action\": \"shutdown\"}", VM_ACTION_SHUTDOWN_TIMEOUT_DEFAULT },
		{ "{\"action\": \"shutdown\", \"timeout_s\": 1}", 1 },
		{ "{\"timeout_s\": 3600, \"action\": \"shutdown\"}", 3600 },
		{ "{\"action\": \"reboot\"}", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		json_t *doc = json_loads(ok[i].json, 0, NULL);
		struct vm_action_req req;

		assert_non_null(doc);
		assert_int_equal(vm_action_parse_req(doc, &req, NULL), 0);
		assert_int_equal(req.timeout_s, ok[i].timeout_s);
		json_decref(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_shutdown_timeout),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
