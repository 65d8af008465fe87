/*
 * server/log.c: a request's line as written without jansson is the JSON a
 * parser reads back field for field, whatever the path holds (quotes,
 * backslashes, control characters, UTF-8), with and without peer_uid,
 * and a path too long for the fast line still gives a whole line.
 */
#include "log.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* The lines log_request writes while fn runs, read back from stderr. */
static char out[65536];

static json_t *one_line(const char *id, const char *method, const char *path, int status,
			double ms, long uid)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;
	json_error_t jerr;
	json_t *doc;

	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	log_request(LOG_INFO, id, method, path, status, ms, uid);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	fclose(f);
	out[n] = '\0';
	/* One line, ending in its newline. */
	assert_true(n > 0 && out[n - 1] == '\n');
	assert_null(memchr(out, '\n', n - 1));
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	return doc;
}

static void test_fields(void **state)
{
	const char *path = "/v1/vms/a \"b\" \\c\x01\x1f\t\n/é€";
	json_t *doc = one_line("abc-1", "GET", path, 404, 1.5, -1);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(doc, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(doc, "msg")), "request");
	assert_string_equal(json_string_value(json_object_get(doc, "request_id")), "abc-1");
	assert_string_equal(json_string_value(json_object_get(doc, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(doc, "path")), path);
	assert_int_equal(json_integer_value(json_object_get(doc, "status")), 404);
	assert_true(json_number_value(json_object_get(doc, "duration_ms")) == 1.5);
	assert_null(json_object_get(doc, "peer_uid"));
	assert_non_null(strstr(json_string_value(json_object_get(doc, "time")), "Z"));
	/* The order operators' tools and the old lines have. */
	assert_true(strstr(out, "\"time\"") < strstr(out, "\"level\"") &&
		    strstr(out, "\"msg\"") < strstr(out, "\"request_id\"") &&
		    strstr(out, "\"path\"") < strstr(out, "\"status\""));
	json_decref(doc);
	doc = one_line("x", "POST", "/v1/vms", 201, 12.25, 1000);
	assert_int_equal(json_integer_value(json_object_get(doc, "peer_uid")), 1000);
	json_decref(doc);
}

static void test_long_path(void **state)
{
	char *path = malloc(5000);
	json_t *doc;

	(void)state;
	assert_non_null(path);
	path[0] = '/';
	memset(path + 1, '"', 4998); /* each one two bytes escaped */
	path[4999] = '\0';
	doc = one_line("y", "GET", path, 414, 0.1, -1);
	assert_string_equal(json_string_value(json_object_get(doc, "path")), path);
	assert_int_equal(json_integer_value(json_object_get(doc, "status")), 414);
	json_decref(doc);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_long_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
