/*
 * The profile API of pinvmd on a machine without arm64 KVM: storage,
 * immutability, every kind of bad document, durability across kill -9,
 * and the KVM-free verdicts (POST /v1/compatibility, POST /v1/baselines)
 * computed from register sets captured on the real lab kernels.
 * usage: test_profiles_native PINVMD FIXTURE_DIR
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pinvmd, *fixtures;
static char tmpdir[] = "/tmp/pinvm-profiles-XXXXXX";
static char state[128], logpath[128];
static struct client c;
static int port;

/* On port 0, at whatever port the ready file names (a restart may move). */
static pid_t start(void)
{
	char listen[] = "tcp:127.0.0.1:0", ready[160];
	const char *args[] = { "--listen", listen, "--state-dir", state,
			       "--ready-file", ready, NULL };
	pid_t pid;

	snprintf(ready, sizeof(ready), "%s/ready", tmpdir);
	unlink(ready); /* a killed pinvmd's is stale */
	pid = daemon_spawn(pinvmd, args, logpath);
	port = daemon_wait_ready(ready, pid);
	if (port <= 0)
		return -1;
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
	return pid;
}

static long post(const char *path, const char *ct, const char *body,
		 struct response *r)
{
	client_call(&c, "POST", path, ct, body, strlen(body), NULL, r);
	return r->status;
}

static size_t profile_count(void)
{
	struct response r;
	size_t n;

	client_call(&c, "GET", "/v1/profiles", NULL, NULL, 0, NULL, &r);
	n = r.status == 200 ? json_array_size(json_object_get(r.json, "profiles")) : (size_t)-1;
	response_free(&r);
	return n;
}

static const char *good =
	"{\"name\": \"services-5.10\", \"description\": \"5.10's services\","
	" \"unknown_registers\": \"disable\", \"registers\": {"
	" \"PSCI_VERSION\": \"1.0\", \"STD_BMAP\": {\"TRNG\": false},"
	" \"STD_HYP_BMAP\": \"0x0\", \"VENDOR_HYP_BMAP\": \"0x0\","
	" \"SMCCC_ARCH_WORKAROUND_1\": \"host\", \"SMCCC_ARCH_WORKAROUND_2\": \"host\","
	" \"SMCCC_ARCH_WORKAROUND_3\": \"host\"}}";

static void test_store_and_read(void)
{
	struct response r, g;

	post("/v1/profiles", NULL, good, &r);
	check(r.status == 201, "POST a profile: 201", "status %ld %s", r.status, r.body);
	client_call(&c, "GET", "/v1/profiles/services-5.10", NULL, NULL, 0, NULL, &g);
	check(g.status == 200 && json_equal(g.json, r.json),
	      "GET returns what POST answered", "status %ld", g.status);
	check(response_str(&g, "created_at") &&
		      !strcmp(json_string_value(json_object_get(json_object_get(g.json, "source"), "kind")) ?: "", "document"),
	      "the stored profile has created_at and source.kind document", "%s", g.body);
	check(json_array_size(json_object_get(g.json, "registers")) == 7,
	      "all seven pins are kept", "%s", g.body);
	response_free(&g);

	/* The canonical document goes back in unchanged (export/import). */
	json_object_set_new(r.json, "name", json_string("services-5.10-copy"));
	{
		char *text = json_dumps(r.json, 0);
		struct response i;

		post("/v1/profiles", NULL, text, &i);
		check(i.status == 201 && json_equal(json_object_get(i.json, "registers"),
						    json_object_get(r.json, "registers")),
		      "a GET document POSTed back is the same profile", "status %ld %s",
		      i.status, i.body);
		response_free(&i);
		free(text);
	}
	response_free(&r);

	post("/v1/profiles", NULL, good, &r);
	check(r.status == 409 && !strcmp(response_str(&r, "code") ?: "", "profile_exists"),
	      "the same name again: 409 profile_exists (profiles are immutable)",
	      "status %ld %s", r.status, r.body);
	response_free(&r);
}

struct bad {
	const char *name;
	const char *content_type;
	const char *body;
	long status;
	const char *code;
	const char *field;
};

static void test_bad_documents(void)
{
	static const struct bad cases[] = {
		{ "malformed JSON", NULL, "{\"name\": ", 400, "malformed_json", "body" },
		{ "a JSON array body", NULL, "[1]", 400, "wrong_type", "body" },
		{ "an empty body", NULL, "", 400, "missing_body", "body" },
		{ "a text/plain body", "text/plain", "{}", 415, "unsupported_media_type", "Content-Type" },
		{ "no name", NULL, "{\"registers\": {}}", 422, "missing_field", "name" },
		{ "a name with a slash", NULL, "{\"name\": \"../x\", \"registers\": {}}", 422, "bad_name", "name" },
		{ "a number as name", NULL, "{\"name\": 5, \"registers\": {}}", 400, "wrong_type", "name" },
		{ "an unknown field", NULL, "{\"name\": \"x\", \"registers\": {}, \"colour\": 1}", 422, "unknown_field", "colour" },
		{ "an unknown register", NULL, "{\"name\": \"x\", \"registers\": {\"FOO\": \"0x1\"}}", 422, "unknown_register", "registers.FOO" },
		{ "an unknown bitmap bit", NULL, "{\"name\": \"x\", \"registers\": {\"STD_BMAP\": {\"NOPE\": true}}}", 422, "unknown_bit", "registers.STD_BMAP.NOPE" },
		{ "a PSCI version nobody implements", NULL, "{\"name\": \"x\", \"registers\": {\"PSCI_VERSION\": \"9.9\"}}", 422, "unknown_psci_version", "registers.PSCI_VERSION" },
		{ "a workaround level above 0xf", NULL, "{\"name\": \"x\", \"registers\": {\"SMCCC_ARCH_WORKAROUND_1\": \"0x10\"}}", 422, "bad_value_bits", "registers.SMCCC_ARCH_WORKAROUND_1" },
		{ "a number where hex is wanted", NULL, "{\"name\": \"x\", \"registers\": {\"STD_BMAP\": 5}}", 400, "wrong_type", "registers.STD_BMAP" },
		{ "hex wider than 64 bits", NULL, "{\"name\": \"x\", \"registers\": {\"STD_BMAP\": \"0x1ffffffffffffffff\"}}", 422, "bad_hex", "registers.STD_BMAP" },
		{ "a negative value", NULL, "{\"name\": \"x\", \"registers\": {\"STD_BMAP\": \"-1\"}}", 422, "bad_value", "registers.STD_BMAP" },
		{ "a non-firmware register id", NULL, "{\"name\": \"x\", \"registers\": {\"0x6030000000100000\": \"0x0\"}}", 422, "not_firmware_register", "registers.0x6030000000100000" },
		{ "PSCI 0.1, which pinvm never applies", NULL, "{\"name\": \"x\", \"registers\": {\"PSCI_VERSION\": \"0.1\"}}", 422, "psci_0_1_unsupported", "registers.PSCI_VERSION" },
		{ "VENDOR_HYP_BMAP_2 services nothing answers", NULL, "{\"name\": \"x\", \"registers\": {\"VENDOR_HYP_BMAP_2\": \"0x3\"}}", 422, "unanswered_service", "registers.VENDOR_HYP_BMAP_2" },
		{ "an unknown policy", NULL, "{\"name\": \"x\", \"registers\": {}, \"unknown_registers\": \"maybe\"}", 422, "bad_policy", "unknown_registers" },
		{ "a capture of something else", NULL, "{\"capture\": \"guest\", \"name\": \"x\"}", 422, "bad_value", "capture" },
	};
	size_t before = profile_count(), i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad *b = &cases[i];
		struct response r;
		char name[160];
		const char *field;

		post("/v1/profiles", b->content_type, b->body, &r);
		field = response_str(&r, "field");
		snprintf(name, sizeof(name), "%s: %ld %s", b->name, b->status, b->code);
		check(r.status == b->status &&
			      !strcmp(response_str(&r, "code") ?: "", b->code) &&
			      (b->field ? field && !strcmp(field, b->field) : !field),
		      name, "got %ld %s", r.status, r.body ? r.body : "");
		response_free(&r);
	}
	check(profile_count() == before, "no bad document changed the stored profiles",
	      "%zu before, %zu after", before, profile_count());
}

static char *fixture_part(const char *kernel, const char *key)
{
	char path[512];
	json_t *fix, *part;
	char *text;

	snprintf(path, sizeof(path), "%s/lab-%s.json", fixtures, kernel);
	fix = json_load_file(path, 0, NULL);
	part = json_object_get(fix, key);
	if (!part)
		return NULL;
	part = json_deep_copy(part);
	/* Register sets travel with what the probe guest saw on that host. */
	json_object_set(part, "observed_abi", json_object_get(fix, "observed_abi"));
	text = json_dumps(part, JSON_COMPACT);
	json_decref(part);
	json_decref(fix);
	return text;
}

static void test_offline_verdicts(void)
{
	char *h510 = fixture_part("5.10", "firmware_registers");
	char *h612 = fixture_part("6.12", "firmware_registers");
	char *hlatest = fixture_part("latest", "firmware_registers");
	struct response r;
	char *body;
	size_t len;

	if (!check(h510 && h612 && hlatest, "fixtures load", "from %s", fixtures))
		return;
	len = strlen(h612) + 64;
	body = malloc(len);
	snprintf(body, len, "{\"profile\": \"services-5.10\", \"host\": %s}", h612);
	post("/v1/compatibility", NULL, body, &r);
	check(r.status == 200 && json_is_true(json_object_get(r.json, "compatible")),
	      "5.10's services are compatible with the real 6.12 register set",
	      "%ld %s", r.status, r.body);
	response_free(&r);

	/* A 6.12 host set as a profile of its own: 1.1 is too new for 5.10. */
	free(body);
	len = strlen(h510) + strlen(h612) + 256;
	body = malloc(len);
	snprintf(body, len,
		 "{\"profile\": {\"name\": \"p\", \"registers\": {\"PSCI_VERSION\": \"1.1\"},"
		 " \"unknown_registers\": \"disable\"}, \"host\": %s}", h510);
	post("/v1/compatibility", NULL, body, &r);
	{
		json_t *e = json_array_get(json_object_get(r.json, "registers"), 0);

		check(r.status == 200 && json_is_false(json_object_get(r.json, "compatible")) &&
			      !strcmp(json_string_value(json_object_get(e, "rule")) ?: "",
				      "psci_version_unsupported"),
		      "PSCI 1.1 is refused against 5.10's real register set",
		      "%ld %s", r.status, r.body);
	}
	response_free(&r);

	snprintf(body, len, "{\"profile\": \"services-5.10\", \"host\": {\"kernel_release\": \"x\", "
			    "\"registers\": [{\"id\": \"0x6030000000100000\", \"value\": \"0x1\"}]}}");
	post("/v1/compatibility", NULL, body, &r);
	check(r.status == 422 && !strcmp(response_str(&r, "field") ?: "", "host.registers[0]"),
	      "a bad host set is 422 naming host.registers[0]", "%ld %s", r.status, r.body);
	response_free(&r);

	/* A value no kernel reports, in the second host: its own path. */
	snprintf(body, len, "{\"name\": \"bad-fleet\", \"hosts\": [%s, {\"kernel_release\": \"x\", "
			    "\"registers\": [{\"id\": \"0x6030000000140000\", \"value\": \"0x10001\"}, "
			    "{\"id\": \"0x6030000000140003\", \"value\": \"0x7\"}]}]}", h510);
	post("/v1/baselines", NULL, body, &r);
	check(r.status == 422 && !strcmp(response_str(&r, "code") ?: "", "impossible_value") &&
		      !strcmp(response_str(&r, "field") ?: "", "hosts[1].registers[1].value"),
	      "a baseline over WORKAROUND_3 = 7 is 422 naming hosts[1].registers[1].value",
	      "%ld %s", r.status, r.body);
	response_free(&r);
	free(body);

	len = strlen(h510) + strlen(h612) + strlen(hlatest) + 128;
	body = malloc(len);
	snprintf(body, len, "{\"name\": \"fleet\", \"hosts\": [%s, %s, %s]}", h510, h612, hlatest);
	post("/v1/baselines", NULL, body, &r);
	{
		json_t *regs = json_object_get(r.json, "registers");
		const char *psci = json_string_value(json_object_get(json_array_get(regs, 0), "value"));

		check(r.status == 201 && psci && !strcmp(psci, "0x10000") &&
			      json_array_size(regs) == 8,
		      "the baseline of 5.10, 6.12 and 7.3 pins PSCI 1.0 and all 8 registers",
		      "%ld %s", r.status, r.body);
	}
	response_free(&r);
	free(body);
	free(h510);
	free(h612);
	free(hlatest);
}

static char *firecracker_doc(const char *name)
{
	char path[512];
	json_t *doc;
	char *text;

	snprintf(path, sizeof(path), "%s/firecracker/%s", fixtures, name);
	doc = json_load_file(path, 0, NULL);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

/* Firecracker documents as hosts: verdicts and baselines, imports stated. */
static void test_firecracker_hosts(void)
{
	char *fp61 = firecracker_doc("fingerprint-6.1.json");
	char *fp510 = firecracker_doc("fingerprint-5.10.json");
	struct response r;
	char *body;
	size_t len;

	if (!check(fp61 && fp510, "Firecracker fixtures load", "from %s", fixtures))
		goto out;
	len = strlen(fp61) + strlen(fp510) + 256;
	body = malloc(len);
	snprintf(body, len, "{\"profile\": \"services-5.10\", \"host\": %s}", fp61);
	post("/v1/compatibility", NULL, body, &r);
	{
		json_t *imp = json_object_get(r.json, "host_import");

		check(r.status == 200 && json_is_true(json_object_get(r.json, "compatible")) &&
			      !strcmp(json_string_value(json_object_get(imp, "format")) ?: "",
				      "firecracker_fingerprint") &&
			      json_integer_value(json_object_get(imp, "firmware_registers")) == 7 &&
			      json_integer_value(json_object_get(imp, "ignored_registers")) == 2 &&
			      !strcmp(response_str(&r, "kernel_release") ?: "", "6.1.0-50-cloud-arm64"),
		      "a Firecracker fingerprint is a host: 7 firmware registers taken, 2 ignored",
		      "%ld %s", r.status, r.body);
	}
	response_free(&r);

	snprintf(body, len, "{\"profile\": \"services-5.10\", \"host\": {\"reg_modifiers\": "
			    "[{\"addr\": \"0x6030000000140003\", \"bitmap\": \"0b111\"}]}}");
	post("/v1/compatibility", NULL, body, &r);
	check(r.status == 422 && !strcmp(response_str(&r, "code") ?: "", "partial_value") &&
		      !strcmp(response_str(&r, "field") ?: "", "host.reg_modifiers[0].bitmap"),
	      "a template leaving bits to the host is 422 naming host.reg_modifiers[0].bitmap",
	      "%ld %s", r.status, r.body);
	response_free(&r);

	snprintf(body, len, "{\"name\": \"fc-fleet\", \"hosts\": [%s, %s]}", fp510, fp61);
	post("/v1/baselines", NULL, body, &r);
	{
		json_t *imports = json_object_get(json_object_get(r.json, "source"), "imports");

		check(r.status == 201 && json_array_size(imports) == 2 &&
			      json_integer_value(json_object_get(json_array_get(imports, 1), "host")) == 1,
		      "a baseline over two Firecracker fingerprints records both imports",
		      "%ld %s", r.status, r.body);
	}
	response_free(&r);
	/* The kill -9 check below counts the profiles stored before it. */
	client_call(&c, "DELETE", "/v1/profiles/fc-fleet", NULL, NULL, 0, NULL, &r);
	response_free(&r);
	free(body);
out:
	free(fp61);
	free(fp510);
}

static void test_kvm_routes_without_kvm(void)
{
	struct response r;

	post("/v1/profiles", NULL, "{\"capture\": \"host\", \"name\": \"here\"}", &r);
	check(r.status == 503 && !strcmp(response_str(&r, "code") ?: "", "no_hypervisor"),
	      "capture without KVM: 503 no_hypervisor", "%ld %s", r.status, r.body);
	response_free(&r);
	client_call(&c, "GET", "/v1/profiles/services-5.10/observed-abi", NULL, NULL, 0, NULL, &r);
	check(r.status == 503, "observed ABI under a profile without KVM: 503", "%ld", r.status);
	response_free(&r);
	client_call(&c, "GET", "/v1/profiles/nope/compatibility", NULL, NULL, 0, NULL, &r);
	check(r.status == 404 && !strcmp(response_str(&r, "code") ?: "", "profile_not_found"),
	      "compatibility of a missing profile: 404", "%ld %s", r.status, r.body);
	response_free(&r);
}

static void test_delete(void)
{
	struct response r;

	client_call(&c, "DELETE", "/v1/profiles/services-5.10-copy", NULL, NULL, 0, NULL, &r);
	check(r.status == 204 && r.len == 0, "DELETE a profile: 204 without a body",
	      "%ld", r.status);
	response_free(&r);
	client_call(&c, "GET", "/v1/profiles/services-5.10-copy", NULL, NULL, 0, NULL, &r);
	check(r.status == 404, "a deleted profile is gone", "%ld", r.status);
	response_free(&r);
	client_call(&c, "DELETE", "/v1/profiles/services-5.10-copy", NULL, NULL, 0, NULL, &r);
	check(r.status == 404, "deleting it again: 404", "%ld", r.status);
	response_free(&r);
}

int main(int argc, char **argv)
{
	size_t before;
	pid_t pid;
	int status;

	if (argc != 3 || !mkdtemp(tmpdir)) {
		fprintf(stderr, "usage: %s PINVMD FIXTURE_DIR\n", argv[0]);
		return 2;
	}
	pinvmd = argv[1];
	fixtures = argv[2];
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pid = start();
	if (!check(pid > 0, "pinvmd starts", "see %s", logpath))
		return check_summary();
	test_store_and_read();
	test_bad_documents();
	test_offline_verdicts();
	test_firecracker_hosts();
	test_kvm_routes_without_kvm();
	test_delete();

	/* kill -9 loses nothing that was answered with 201. */
	before = profile_count();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	pid = start();
	check(pid > 0 && profile_count() == before && before == 2,
	      "after kill -9 and a restart every stored profile is there",
	      "%zu before, %zu after", before, profile_count());
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	curl_global_cleanup();
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return check_summary();
}
