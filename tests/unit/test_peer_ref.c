/*
 * Peer references (api/peer_ref.h): what a URL, token and CA may be, and
 * what each kind of answer from another pinvmd means.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lab_hostsets.h"
#include "peer_ref.h"

#include <errno.h>
#include <string.h>

#define URL "http://169.254.114.92:8080"

static void test_urls(void **state)
{
	static const char *const good[] = {
		"http://169.254.1.2:8080", "https://peer.example:443", "http://[fe80::1]:8080/",
		"http://h",
	};
	static const char *const bad[] = {
		"ftp://h", "http://", "https:///", "http://:80", "http://h/v1/vms", "http://u@h",
		"http://h?x=1", "http://h#f", "http://h x", "file:///etc/passwd", "HTTP://h",
	};
	struct api_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(peer_url_check(good[i], "url", &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(peer_url_check(bad[i], "url", &err), -EINVAL);
		assert_string_equal(err.code, "bad_url");
		assert_string_equal(err.field, "url");
	}
}

static void test_reference(void **state)
{
	static const struct {
		const char *json;
		unsigned status;
		const char *code, *field;
	} bad[] = {
		{ "[]", 400, "wrong_type", "" },
		{ "{\"token\": \"0123456789abcdef\"}", 422, "missing_field", "url" },
		{ "{\"url\": 1}", 400, "wrong_type", "url" },
		{ "{\"url\": \"http://h\", \"x\": 1}", 422, "unknown_field", "x" },
		{ "{\"url\": \"http://h\", \"token\": \"short\"}", 422, "bad_token", "token" },
		{ "{\"url\": \"http://h\", \"token\": \"0123456789abcdef\\r\\nX: y\"}", 422,
		  "bad_token", "token" },
		{ "{\"url\": \"http://h\", \"token\": \"0123456789abcdef\", \"token_file\": \"/t\"}",
		  422, "token_conflict", "token_file" },
		{ "{\"url\": \"http://h\", \"token_file\": \"t\"}", 422, "bad_value", "token_file" },
		{ "{\"url\": \"http://h\", \"ca\": \"hello\"}", 422, "bad_value", "ca" },
	};
	struct api_error err;
	struct peer_ref r;
	json_t *doc;

	(void)state;
	doc = json_loads("{\"url\": \"https://h:1\", \"token\": \"0123456789abcdef\","
			 " \"ca\": \"-----BEGIN CERTIFICATE-----\\n\"}", 0, NULL);
	assert_int_equal(peer_ref_parse(doc, &r, &err), 0);
	assert_string_equal(r.url, "https://h:1");
	assert_string_equal(r.token, "0123456789abcdef");
	assert_null(r.token_file);
	assert_non_null(r.ca_pem);
	assert_true(peer_ref_is(doc));
	json_decref(doc);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		doc = json_loads(bad[i].json, 0, NULL);
		assert_non_null(doc);
		assert_int_equal(peer_ref_parse(doc, &r, &err), -EINVAL);
		assert_int_equal(err.status, bad[i].status);
		assert_string_equal(err.code, bad[i].code);
		assert_string_equal(err.field, bad[i].field);
		json_decref(doc);
	}
}

static void answer(long status, const char *body, const char *code)
{
	struct api_error err;
	struct hostset h;
	json_t *problem;

	assert_int_equal(peer_answer_hostset(URL, status, body, strlen(body), &h, &err,
					     &problem),
			 -EINVAL);
	assert_int_equal(err.status, 502);
	assert_string_equal(err.code, code);
	assert_non_null(strstr(err.detail, URL));
	json_decref(problem);
}

static void test_answers(void **state)
{
	static const char refusal[] = "{\"code\": \"no_hypervisor\", \"detail\": \"no KVM\"}";
	struct api_error err;
	struct hostset h, want;
	json_t *problem, *doc = json_loads(LAB_5_10_JSON, 0, NULL);

	(void)state;
	assert_int_equal(hostset_from_json(doc, &want, &err), 0);
	json_decref(doc);
	assert_int_equal(peer_answer_hostset(URL, 200, LAB_5_10_JSON, strlen(LAB_5_10_JSON), &h,
					     &err, &problem),
			 0);
	assert_null(problem);
	assert_true(hostset_equal(&h, &want));

	answer(401, "", "peer_unauthorized");
	answer(401, "{\"code\": \"unauthorized\"}", "peer_unauthorized");
	answer(503, "plain text", "peer_refused");
	answer(200, "", "peer_bad_answer");
	answer(200, "<html>", "peer_bad_answer");
	answer(200, "{\"kernel_release\": \"x\"}", "peer_bad_answer");

	/* A refusal's problem+json is quoted and handed back. */
	assert_int_equal(peer_answer_hostset(URL, 503, refusal, strlen(refusal), &h, &err,
					     &problem),
			 -EINVAL);
	assert_string_equal(err.code, "peer_refused");
	assert_non_null(strstr(err.detail, "503 no_hypervisor"));
	assert_non_null(strstr(err.detail, "no KVM"));
	assert_string_equal(json_string_value(json_object_get(problem, "code")), "no_hypervisor");
	json_decref(problem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
