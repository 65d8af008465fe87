/* VM names, labels and label selectors: what is accepted and each refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vm_meta.h"
#include "vm_spec.h"

#include <errno.h>
#include <string.h>

static void test_names(void **state)
{
	static const char *const good[] = { "a", "web-1", "0", "a-b-c",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123" };
	static const char *const bad[] = { "", "-a", "a-", "Web", "a_b", "a.b", "a b",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234" };
	struct api_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(vm_name_check(good[i], NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vm_name_check(bad[i], &err), -EINVAL);
		assert_int_equal(err.status, 422);
		assert_string_equal(err.code, "bad_name");
		assert_string_equal(err.field, "name");
	}
}

static void test_labels(void **state)
{
	static const struct {
		const char *json;
		unsigned status;
		const char *code, *field;
	} cases[] = {
		{ "{}", 0, "", "" },
		{ "{\"tier\": \"web\", \"app.kubernetes.io/name\": \"x\", \"empty\": \"\"}", 0, "", "" },
		{ "{\"-x\": \"a\"}", 422, "bad_label_key", "labels.-x" },
		{ "{\"\": \"a\"}", 422, "bad_label_key", "labels." },
		{ "{\"k\": 1}", 400, "wrong_type", "labels.k" },
		{ "{\"k\": \"a b\"}", 422, "bad_label_value", "labels.k" },
		{ "{\"k\": \"a-\"}", 422, "bad_label_value", "labels.k" },
	};
	struct api_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = json_loads(cases[i].json, 0, NULL);
		int ret = vm_labels_check(doc, &err);

		assert_non_null(doc);
		if (!cases[i].status) {
			assert_int_equal(ret, 0);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_int_equal(err.status, cases[i].status);
			assert_string_equal(err.code, cases[i].code);
			assert_string_equal(err.field, cases[i].field);
		}
		json_decref(doc);
	}
	{
		json_t *many = json_object();
		char k[8];

		for (int i = 0; i <= VM_LABELS_MAX; i++) {
			snprintf(k, sizeof(k), "k%d", i);
			json_object_set_new(many, k, json_string("v"));
		}
		assert_int_equal(vm_labels_check(many, &err), -EINVAL);
		assert_string_equal(err.code, "too_many_labels");
		json_decref(many);
	}
}

static void test_spec(void **state)
{
	json_t *doc = json_loads("{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"k\",\"name\":\"web-1\","
				 "\"labels\":{\"tier\":\"web\"}}", 0, NULL);
	struct vm_spec s;
	struct api_error err;

	(void)state;
	assert_int_equal(vm_spec_parse(doc, &s, &err), 0);
	assert_string_equal(s.name, "web-1");
	assert_ptr_equal(s.labels, json_object_get(doc, "labels"));
	json_object_set_new(doc, "labels", json_string("x"));
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_string_equal(err.code, "wrong_type");
	assert_string_equal(err.field, "labels");
	json_object_del(doc, "labels");
	json_object_set_new(doc, "name", json_string("Web"));
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_string_equal(err.code, "bad_name");
	json_object_set_new(doc, "name", json_null());
	assert_int_equal(vm_spec_parse(doc, &s, &err), -EINVAL);
	assert_string_equal(err.code, "wrong_type");
	assert_string_equal(err.field, "name");
	json_decref(doc);
}

static void test_selectors(void **state)
{
	static const char *const bad[] = { "", ",", "a,", "=v", "a=b=c", "a=b c", "a,,b",
					   "1,2,3,4,5,6,7,8,9", "a=-b" };
	json_t *labels = json_loads("{\"tier\":\"web\",\"env\":\"prod\",\"x\":\"\"}", 0, NULL);
	struct label_selector sel;
	struct api_error err;

	(void)state;
	assert_int_equal(label_selector_parse("tier=web", &sel, NULL), 0);
	assert_true(label_selector_matches(&sel, labels));
	assert_int_equal(label_selector_parse("tier=web,env=dev", &sel, NULL), 0);
	assert_false(label_selector_matches(&sel, labels));
	assert_int_equal(label_selector_parse("env", &sel, NULL), 0);
	assert_true(label_selector_matches(&sel, labels));
	assert_false(label_selector_matches(&sel, NULL));
	assert_int_equal(label_selector_parse("x=", &sel, NULL), 0);
	assert_true(label_selector_matches(&sel, labels));
	assert_int_equal(label_selector_parse("missing", &sel, NULL), 0);
	assert_false(label_selector_matches(&sel, labels));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(label_selector_parse(bad[i], &sel, &err), -EINVAL);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.code, "bad_label_selector");
		assert_string_equal(err.field, "label");
		assert_int_equal(sel.n, 0);
	}
	json_decref(labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_selectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
