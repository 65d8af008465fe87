/*
 * Against a running lab (real arm64 KVM under one Debian kernel): the host
 * and its firmware registers must be exactly what that kernel reported when
 * the fixture was captured from it.
 * usage: test_lab_host URL FIXTURE.json
 * The fixture: {"kernel": "6.12", "release_prefix": "6.12.",
 *               "host": GET /v1/host body, "firmware_registers": GET body}
 */
#include "check.h"
#include "client.h"

#include <curl/curl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_hex(const char *s, size_t maxlen)
{
	regex_t re;
	bool ok;

	if (!s || strlen(s) > maxlen)
		return false;
	regcomp(&re, "^0x[0-9a-f]+$", REG_EXTENDED | REG_NOSUB);
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static json_t *find_by_id(json_t *list, const char *id)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *eid = json_string_value(json_object_get(e, "id"));

		if (eid && !strcmp(eid, id))
			return e;
	}
	return NULL;
}

static void compare_registers(json_t *got, json_t *want, const char *kernel)
{
	size_t i;
	json_t *e;
	char name[256];

	check(json_array_size(got) == json_array_size(want), "register count",
	      "kernel %s lists %zu, fixture has %zu", kernel,
	      json_array_size(got), json_array_size(want));
	json_array_foreach(want, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *rname = json_string_value(json_object_get(e, "name"));
		json_t *g = find_by_id(got, id);
		char *gs = g ? json_dumps(g, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		char *ws = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);

		snprintf(name, sizeof(name), "%s %s (%s) as captured", kernel,
			 rname ? rname : "unnamed", id);
		check(g && json_equal(g, e), name, "got %s, want %s",
		      gs ? gs : "(missing)", ws);
		free(gs);
		free(ws);
	}
	json_array_foreach(got, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));

		snprintf(name, sizeof(name), "%s: no register beyond the fixture (%s)",
			 kernel, id ? id : "?");
		if (!id || !find_by_id(want, id))
			check(false, name, "extra entry");
	}
}

static void compare_calls(json_t *got, json_t *want, const char *kernel)
{
	char name[256];
	size_t i;
	json_t *w;

	check(json_array_size(got) == json_array_size(want) && json_array_size(want),
	      "the probe guest made every call", "%zu calls, fixture %zu",
	      json_array_size(got), json_array_size(want));
	json_array_foreach(want, i, w) {
		json_t *g = json_array_get(got, i);
		char *gs = g ? json_dumps(g, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		char *ws = json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT);

		snprintf(name, sizeof(name), "%s guest sees %s as captured", kernel,
			 json_string_value(json_object_get(w, "name")));
		check(g && json_equal(g, w), name, "got %s, want %s",
		      gs ? gs : "(missing)", ws);
		free(gs);
		free(ws);
	}
}

static void check_shape(json_t *list)
{
	bool ok = json_is_array(list) && json_array_size(list) > 0;
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		json_t *name = json_object_get(e, "name");
		json_t *dec = json_object_get(e, "decoded");

		ok = ok && json_is_object(e) && json_object_size(e) == 4 &&
		     is_hex(json_string_value(json_object_get(e, "id")), 18) &&
		     strlen(json_string_value(json_object_get(e, "id"))) == 18 &&
		     is_hex(json_string_value(json_object_get(e, "value")), 18) &&
		     (json_is_string(name) || json_is_null(name)) &&
		     (json_is_object(dec) || json_is_null(dec));
	}
	check(ok, "every register entry is {id, name, value, decoded} well formed",
	      "malformed list");
}

int main(int argc, char **argv)
{
	struct client c = { 0 };
	struct response host, regs, again;
	json_error_t jerr;
	json_t *fix, *fhost, *fregs;
	const char *kernel, *prefix, *rel;

	if (argc != 3) {
		fprintf(stderr, "usage: %s URL FIXTURE\n", argv[0]);
		return 2;
	}
	fix = json_load_file(argv[2], 0, &jerr);
	if (!fix) {
		fprintf(stderr, "%s:%d: %s\n", argv[2], jerr.line, jerr.text);
		return 2;
	}
	kernel = json_string_value(json_object_get(fix, "kernel"));
	prefix = json_string_value(json_object_get(fix, "release_prefix"));
	fhost = json_object_get(fix, "host");
	fregs = json_object_get(json_object_get(fix, "firmware_registers"),
				"registers");
	if (!kernel || !prefix || !fhost || !fregs) {
		fprintf(stderr, "%s: not a lab fixture\n", argv[2]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(c.base, sizeof(c.base), "%s", argv[1]);

	client_call(&c, "GET", "/v1/host", NULL, NULL, 0, NULL, &host);
	check(host.status == 200, "GET /v1/host answers 200", "status %ld %s",
	      host.status, host.error);
	rel = response_str(&host, "kernel_release");
	check(rel && !strncmp(rel, prefix, strlen(prefix)),
	      "the lab runs the expected kernel series", "release %s, want %s*",
	      rel ? rel : "(none)", prefix);
	check(response_str(&host, "hypervisor") &&
		      !strcmp(response_str(&host, "hypervisor"), "kvm") &&
		      response_str(&host, "arch") &&
		      !strcmp(response_str(&host, "arch"), "aarch64"),
	      "real arm64 KVM is present", "body %s", host.body);
	check(json_integer_value(json_object_get(host.json, "kvm_api_version")) == 12,
	      "KVM API version 12", "body %s", host.body);
	check(json_equal(json_object_get(host.json, "capabilities"),
			 json_object_get(fhost, "capabilities")),
	      "ABI capabilities as captured from this kernel", "got %s",
	      host.body);

	client_call(&c, "GET", "/v1/host/firmware-registers", NULL, NULL, 0, NULL, &regs);
	check(regs.status == 200, "GET /v1/host/firmware-registers answers 200",
	      "status %ld %s", regs.status, regs.body ? regs.body : regs.error);
	check(rel && response_str(&regs, "kernel_release") &&
		      !strcmp(response_str(&regs, "kernel_release"), rel),
	      "register set names the running kernel", "body %s", regs.body);
	check_shape(json_object_get(regs.json, "registers"));
	compare_registers(json_object_get(regs.json, "registers"), fregs, kernel);

	client_call(&c, "GET", "/v1/host/firmware-registers", NULL, NULL, 0, NULL, &again);
	check(again.status == 200 && json_equal(again.json, regs.json),
	      "a second read gives the same set", "differs: %s", again.body);
	response_free(&again);

	/* The probe guest's view, call by call, as this kernel answered it. */
	client_call(&c, "GET", "/v1/host/observed-abi", NULL, NULL, 0, NULL, &again);
	check(again.status == 200, "GET /v1/host/observed-abi answers 200",
	      "status %ld %s", again.status, again.body ? again.body : again.error);
	compare_calls(json_object_get(again.json, "calls"),
		      json_object_get(json_object_get(fix, "observed_abi"), "calls"),
		      kernel);

	response_free(&host);
	response_free(&regs);
	response_free(&again);
	json_decref(fix);
	curl_global_cleanup();
	return check_summary();
}
