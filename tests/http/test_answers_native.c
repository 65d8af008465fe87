/*
 * Answers a scripter can act on (issue 14 item 6), and answers made once
 * (issue 16 item 5), on a machine without KVM:
 * - pinvmd on tcp:127.0.0.1:0 with --ready-file: the file names the port
 *   it took (no port guessing here), and is gone once pinvmd stops;
 * - 415 names the header to send (field "Content-Type");
 * - a missing image is 422 naming the image directory and GET /v1/images;
 * - profile_in_use lists the VMs (ids, names; at most 20, with the count);
 * - a profile's answer and a verdict are made once yet never outlive the
 *   profile: a DELETE and a new profile of the same name answer anew.
 * usage: test_answers_native PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"
#include "store.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define USERS 22 /* more VMs on one profile than a 409 lists (20) */

static struct client c;
static char tmpdir[] = "/tmp/pinvm-answers-XXXXXX";
static char state[128], images[128], logpath[160], ready[160];

static const char profile_doc[] =
	"{\"name\":\"%s\",\"unknown_registers\":\"disable\",\"registers\":"
	"{\"PSCI_VERSION\":\"%s\",\"STD_BMAP\":\"0x0\",\"STD_HYP_BMAP\":\"0x0\","
	"\"VENDOR_HYP_BMAP\":\"0x0\"}}";

/* A stopped VM from profile, as a pinvmd would have recorded it. */
static void seed(struct store *s, int i, const char *profile)
{
	char err[256], id[32], name[32];
	json_t *doc;

	snprintf(id, sizeof(id), "vm%02d", i);
	snprintf(name, sizeof(name), "web-%02d", i);
	doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s, s:s}, s:n, s:s, s:s, s:s}", "id", id,
			"created_at", "2026-11-25T00:00:00Z", "spec", "vcpus", 1, "memory_mib",
			64, "kernel", "guest.Image", "name", name, "abi", "profile", profile,
			"state", "stopped", "reason", "poweroff");
	check(doc && store_vm_put(s, id, doc, err, sizeof(err)) == 0, "seed a record", "%s",
	      err);
	json_decref(doc);
}

static long post_profile(const char *name, const char *psci)
{
	char body[512];
	struct response r;
	long status;

	snprintf(body, sizeof(body), profile_doc, name, psci);
	client_call(&c, "POST", "/v1/profiles", NULL, body, strlen(body), NULL, &r);
	status = r.status;
	response_free(&r);
	return status;
}

static void test_content_type(void)
{
	struct response r;

	client_call(&c, "POST", "/v1/profiles", "text/plain", "{}", 2, NULL, &r);
	check(r.status == 415 && !strcmp(response_str(&r, "field") ?: "", "Content-Type") &&
		      strstr(response_str(&r, "detail") ?: "", "Content-Type: application/json"),
	      "415 names the header to send: Content-Type: application/json", "%ld %s", r.status,
	      r.body);
	response_free(&r);
	client_call(&c, "POST", "/v1/snapshots", "text/plain", "x", 1, NULL, &r);
	check(r.status == 415 && !strcmp(response_str(&r, "field") ?: "", "Content-Type") &&
		      strstr(response_str(&r, "detail") ?: "",
			     "Content-Type: application/octet-stream"),
	      "POST /v1/snapshots' 415 names application/octet-stream", "%ld %s", r.status,
	      r.body);
	response_free(&r);
}

static void test_missing_image(void)
{
	static const char spec[] = "{\"vcpus\":1,\"memory_mib\":64,\"kernel\":\"nope.Image\"}";
	struct response r;

	client_call(&c, "POST", "/v1/vms", NULL, spec, strlen(spec), NULL, &r);
	check(r.status == 422 && !strcmp(response_str(&r, "code") ?: "", "image_not_found") &&
		      !strcmp(response_str(&r, "field") ?: "", "kernel") &&
		      !strcmp(response_str(&r, "image_dir") ?: "", images) &&
		      !strcmp(response_str(&r, "images") ?: "", "/v1/images") &&
		      strstr(response_str(&r, "detail") ?: "", images) &&
		      strstr(response_str(&r, "detail") ?: "", "GET /v1/images"),
	      "a missing image: 422 naming the image directory and GET /v1/images", "%ld %s",
	      r.status, r.body);
	response_free(&r);
}

static void test_profile_in_use(void)
{
	struct response r;
	json_t *vms;

	client_call(&c, "DELETE", "/v1/profiles/shared", NULL, NULL, 0, NULL, &r);
	vms = r.json ? json_object_get(r.json, "vms") : NULL;
	check(r.status == 409 && !strcmp(response_str(&r, "code") ?: "", "profile_in_use") &&
		      json_array_size(vms) == 20 &&
		      json_integer_value(json_object_get(r.json, "vm_count")) == USERS,
	      "profile_in_use lists 20 of the 22 VMs and counts them all", "%ld %s", r.status,
	      r.body);
	check(json_is_string(json_object_get(json_array_get(vms, 0), "id")) &&
		      !strncmp(json_string_value(json_object_get(json_array_get(vms, 0), "name")) ?: "",
			       "web-", 4),
	      "each listed VM has its id and name", "%s", r.body);
	response_free(&r);
}

/* GET twice: the same bytes and ETag; If-None-Match: 304. */
static void test_profile_answer_kept(void)
{
	struct response a, b, n;
	char inm[96];

	client_call(&c, "GET", "/v1/profiles/solo", NULL, NULL, 0, NULL, &a);
	client_call(&c, "GET", "/v1/profiles/solo", NULL, NULL, 0, NULL, &b);
	check(a.status == 200 && b.status == 200 && a.etag[0] && !strcmp(a.etag, b.etag) &&
		      a.len == b.len && !memcmp(a.body, b.body, a.len) &&
		      !strcmp(b.content_type, "application/json"),
	      "a profile is answered twice with the same bytes and ETag", "%s / %s", a.etag,
	      b.etag);
	snprintf(inm, sizeof(inm), "If-None-Match: %s", a.etag);
	client_call(&c, "GET", "/v1/profiles/solo", NULL, NULL, 0, inm, &n);
	check(n.status == 304 && n.len == 0, "If-None-Match of its ETag: 304, no body", "%ld",
	      n.status);
	response_free(&a);
	response_free(&b);
	response_free(&n);
}

/* The status, and the PSCI_VERSION the verdict says is pinned ("" if none). */
static long verdict(const char *body, char *wanted, size_t len)
{
	struct response r;
	long status;
	json_t *regs, *reg;
	size_t i;

	client_call(&c, "POST", "/v1/compatibility", NULL, body, strlen(body), NULL, &r);
	status = r.status;
	wanted[0] = '\0';
	regs = r.json ? json_object_get(r.json, "registers") : NULL;
	json_array_foreach (regs, i, reg)
		if (!strcmp(json_string_value(json_object_get(reg, "name")) ?: "", "PSCI_VERSION"))
			snprintf(wanted, len, "%s",
				 json_string_value(json_object_get(reg, "pinned")) ?: "");
	response_free(&r);
	return status;
}

/* A kept verdict never outlives its profile. */
static void test_verdict_follows_profile(void)
{
	static const char body[] =
		"{\"profile\":\"solo\",\"host\":{\"kernel_release\":\"6.12\",\"registers\":["
		"{\"id\":\"0x6030000000140000\",\"value\":\"0x10001\"},"
		"{\"id\":\"0x6030000000160000\",\"value\":\"0x1\"},"
		"{\"id\":\"0x6030000000160001\",\"value\":\"0x1\"},"
		"{\"id\":\"0x6030000000160002\",\"value\":\"0x3\"}]}}";
	char first[32], second[32], after[32];
	struct response r;
	long s1, s2, s3, s4;

	s1 = verdict(body, first, sizeof(first));
	s2 = verdict(body, second, sizeof(second));
	check(s1 == 200 && s2 == 200 && !strcmp(first, second),
	      "the same verdict request twice: the same answer", "%ld %ld %s %s", s1, s2, first,
	      second);
	client_call(&c, "DELETE", "/v1/profiles/solo", NULL, NULL, 0, NULL, &r);
	check(r.status == 204, "DELETE the unused profile", "%ld %s", r.status, r.body);
	response_free(&r);
	s3 = verdict(body, after, sizeof(after));
	check(s3 == 404, "after DELETE the same request is no kept 200", "%ld", s3);
	check(post_profile("solo", "1.1") == 201, "a new \"solo\", another PSCI version", "-");
	s4 = verdict(body, after, sizeof(after));
	check(s4 == 200 && !strcmp(first, "0x10000") && !strcmp(after, "0x10001"),
	      "and the verdict is of the new profile", "%ld: was %s, now %s", s4, first, after);
}

int main(int argc, char **argv)
{
	char err[256], path[256], listen_any[] = "tcp:127.0.0.1:0";
	struct store *s;
	FILE *f;
	pid_t pid;
	int port, status, i;

	if (argc != 2 || !mkdtemp(tmpdir)) {
		fprintf(stderr, "usage: %s PINVMD\n", argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(images, sizeof(images), "%s/images", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	snprintf(ready, sizeof(ready), "%s/ready", tmpdir);
	mkdir(state, 0700);
	mkdir(images, 0755);
	snprintf(path, sizeof(path), "%s/vms", state);
	mkdir(path, 0700);
	if (store_open(state, &s, err, sizeof(err)) < 0) {
		check(false, "open the store", "%s", err);
		return check_summary();
	}
	for (i = 0; i < USERS; i++)
		seed(s, i, "shared");
	store_close(s);
	{
		const char *args[] = { "--listen", listen_any, "--state-dir", state,
				       "--image-dir", images, "--ready-file", ready, NULL };

		pid = daemon_spawn(argv[1], args, logpath);
	}
	port = daemon_wait_ready(ready, pid);
	if (!check(port > 0, "pinvmd on tcp:127.0.0.1:0 writes the port it took to --ready-file",
		   "see %s", logpath))
		return check_summary();
	f = fopen(ready, "r");
	{
		char line[128] = "", want[64];

		snprintf(want, sizeof(want), "tcp:127.0.0.1:%d\n", port);
		check(f && fgets(line, sizeof(line), f) && !strcmp(line, want) &&
			      !fgets(line, sizeof(line), f),
		      "the ready file is one line, the address bound", "%s", line);
		if (f)
			fclose(f);
	}
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
	check(post_profile("shared", "1.0") == 201 && post_profile("solo", "1.0") == 201,
	      "two profiles", "see %s", logpath);

	test_content_type();
	test_missing_image();
	test_profile_in_use();
	test_profile_answer_kept();
	test_verdict_follows_profile();

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	check(access(ready, F_OK) < 0, "the ready file is gone once pinvmd stops", "%s", ready);
	curl_global_cleanup();
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return check_summary();
}
