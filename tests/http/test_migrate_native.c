/*
 * Live migration's routes without KVM (issue 11): every bad input of
 *   POST   /v1/vms/{id}/migrate
 *   DELETE /v1/vms/{id}/migrate
 *   POST   /v1/vms/incoming
 * is a status and problem+json naming the field, and nothing is created;
 * that includes the pre-run image in the incoming body (each bad one a 422
 * naming its key under "prerun", checked before anything else is done).
 * A pinvmd with a token proves the incoming endpoint is authenticated.
 * The migrations themselves need two labs (tests/lab-link.sh).
 * usage: test_migrate_native PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "migrate-test-token-0123456789"

static char dir[] = "/tmp/pinvm-migrate-XXXXXX";
static struct client c, ct; /* plain; with a token */
static const char *UNKNOWN = "/v1/vms/00000000-0000-4000-8000-000000000000/migrate";

static void expect(const struct client *cl, const char *method, const char *path,
		   const char *body, long status, const char *code, const char *field,
		   const char *what)
{
	struct response r;
	const char *got_code, *got_field;

	client_call(cl, method, path, NULL, body, body ? strlen(body) : 0, NULL, &r);
	got_code = response_str(&r, "code");
	got_field = response_str(&r, "field");
	check(r.status == status && (!code || (got_code && !strcmp(got_code, code))) &&
	      (!field || (got_field && !strcmp(got_field, field))),
	      what, "%s %s %s: %ld %s (wanted %ld %s %s)", method, path, body ? body : "",
	      r.status, r.body, status, code ? code : "", field ? field : "");
	response_free(&r);
}

static pid_t start(const char *const *args, int port, const char *log, const char *pinvmd)
{
	pid_t pid = daemon_spawn(pinvmd, args, log);

	return daemon_wait_tcp(port, pid) ? pid : -1;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static void source_bodies(void)
{
	static const struct {
		const char *body;
		long status;
		const char *code, *field, *what;
	} bad[] = {
		{ "[]", 400, "wrong_type", NULL, "a body that is not an object: 400" },
		{ "{}", 422, "missing_field", "destination", "no destination: 422 naming it" },
		{ "{\"destination\": 8080}", 400, "wrong_type", "destination",
		  "a destination that is not a string: 400 naming it" },
		{ "{\"destination\": \"ftp://169.254.1.2\"}", 422, "bad_url", "destination",
		  "a destination that is not http(s): 422 bad_url" },
		{ "{\"destination\": \"http://169.254.1.2:8080/v1\"}", 422, "bad_url",
		  "destination", "a destination with a path: 422 bad_url" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"token\": \"short\"}", 422,
		  "bad_token", "token", "a token too short: 422 bad_token" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"token\": "
		  "\"0123456789abcdef0123\", \"token_file\": \"/etc/tok\"}", 422,
		  "token_conflict", NULL, "token and token_file both: 422 token_conflict" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"token_file\": \"rel\"}", 422,
		  "bad_value", "token_file", "a relative token_file: 422 naming it" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"ca\": \"not pem\"}", 422,
		  "bad_value", "ca", "a ca that is no PEM: 422 naming it" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"speed\": 1}", 422,
		  "unknown_field", "speed", "an unknown member: 422 unknown_field naming it" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"accept\": \"all\"}", 400,
		  "wrong_type", "accept", "accept that is not an array: 400 naming it" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"accept\": "
		  "[\"cache_geometry_differs\", \"register_refused\"]}", 422, "unknown_rule",
		  "accept[1]", "accepting a rule that cannot be accepted: 422 naming accept[1]" },
		{ "{\"destination\": \"http://169.254.1.2:8080\", \"accept\": "
		  "[\"pmu_id_differs\", \"pmu_id_differs\"]}", 422, "duplicate_rule",
		  "accept[1]", "a rule accepted twice: 422 naming accept[1]" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(&c, "POST", UNKNOWN, bad[i].body, bad[i].status, bad[i].code,
		       bad[i].field, bad[i].what);
	expect(&c, "POST", UNKNOWN, "{\"destination\":", 400, "malformed_json", NULL,
	       "malformed JSON: 400 malformed_json");
	expect(&c, "POST", UNKNOWN, "{\"destination\": \"http://169.254.1.2:8080\"}", 404,
	       "vm_not_found", NULL, "a valid body for an unknown VM: 404 vm_not_found");
	expect(&c, "POST", UNKNOWN, "{\"destination\": \"http://169.254.1.2:8080\", "
	       "\"accept\": [\"vgic_revision_differs\", \"el2_feature_differs\"]}", 404,
	       "vm_not_found", NULL, "a valid body with accept for an unknown VM: 404");
	expect(&c, "DELETE", UNKNOWN, NULL, 404, "vm_not_found", NULL,
	       "cancelling for an unknown VM: 404 vm_not_found");
	expect(&c, "DELETE", UNKNOWN, "{}", 400, "unexpected_body", NULL,
	       "a cancel with a body: 400 unexpected_body");
	expect(&c, "PUT", UNKNOWN, "{}", 405, NULL, NULL, "PUT on /migrate: 405");
}

/* A one-vCPU pre-run image of a 64 MiB VM (vmm/prerun_image.h), with
 * member `key` replaced by `value` (JSON text) unless key is NULL. */
static char *prerun_body(const char *regs, const char *key, const char *value)
{
	json_t *img = json_loads(
		"{\"format\": 1, \"kernel_release\": \"6.12.117+deb13-cloud-arm64\", "
		"\"vcpus\": 1, \"memory_mib\": 64, \"ram_base\": \"0x80000000\", "
		"\"vcpu_features\": \"0x4\", \"gic\": {\"version\": \"v3\", \"nr_irqs\": 128, "
		"\"regs\": []}, \"uart\": {\"ier\": 0, \"lcr\": 0, \"mcr\": 0, \"scr\": 0, "
		"\"dll\": 0, \"dlm\": 0, \"fcr\": 0, \"rbr\": 0, \"thre_pending\": false, "
		"\"rx_ready\": false, \"irq_level\": false}, \"console_offset\": 0, \"time\": "
		"{\"semantics\": \"paused\", \"cntvct\": \"0x0\", \"cntfrq\": \"0x3b9aca0\"}, "
		"\"vcpu\": [{\"mp_state\": 0, \"mpidr\": \"0x80000000\", \"regs\": [{\"id\": "
		"\"0x603000000013808c\", \"value\": \"0x8\"}]}], \"pins\": [], "
		"\"smccc_deny\": []}", 0, NULL);
	char *text, *body = malloc(8192);

	if (key)
		json_object_set_new(img, key, json_loads(value, JSON_DECODE_ANY, NULL));
	text = json_dumps(img, JSON_COMPACT);
	snprintf(body, 8192, "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, %s, "
		 "\"prerun\": %s}", regs, text ? text : "null");
	free(text);
	json_decref(img);
	return body;
}

/*
 * The pre-run image the source sends (issue 11): checked before anything
 * else is done for it, each bad one a 422 naming the key under "prerun";
 * a good one passes the check and meets this host's lack of KVM.
 */
static void prerun_bodies(const char *regs)
{
	static const struct {
		const char *key, *value;
		long status;
		const char *code, *field, *what;
	} bad[] = {
		{ "memory_mib", "128", 422, "bad_prerun_image", "prerun.memory_mib",
		  "a pre-run image of another memory size: 422 naming prerun.memory_mib" },
		{ "format", "2", 422, "bad_prerun_image", "prerun.format",
		  "a pre-run image of an unknown format: 422 naming prerun.format" },
		{ "gic", "[]", 422, "bad_prerun_image", "prerun.gic",
		  "a pre-run image whose gic is no object: 422 naming prerun.gic" },
		{ "extra", "1", 422, "bad_prerun_image", "prerun.extra",
		  "a pre-run image with an unknown key: 422 naming it" },
	};
	char body[1024], *b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = prerun_body(regs, bad[i].key, bad[i].value);
		expect(&c, "POST", "/v1/vms/incoming", b, bad[i].status, bad[i].code,
		       bad[i].field, bad[i].what);
		free(b);
	}
	snprintf(body, sizeof(body), "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, %s, "
		 "\"prerun\": [1]}", regs);
	expect(&c, "POST", "/v1/vms/incoming", body, 400, "wrong_type", "prerun",
	       "a pre-run image that is no object: 400 wrong_type naming prerun");
	snprintf(body, sizeof(body), "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, %s, "
		 "\"prerun\": {}}", regs);
	expect(&c, "POST", "/v1/vms/incoming", body, 422, "bad_prerun_image", "prerun.format",
	       "an empty pre-run image: 422 naming its first missing key");
	b = prerun_body(regs, NULL, NULL);
	expect(&c, "POST", "/v1/vms/incoming", b, 503, "no_hypervisor", NULL,
	       "a good pre-run image passes its check (then: no KVM here, 503)");
	free(b);
	snprintf(body, sizeof(body), "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, %s, "
		 "\"prerun\": null}", regs);
	expect(&c, "POST", "/v1/vms/incoming", body, 503, "no_hypervisor", NULL,
	       "prerun null is no image (then: no KVM here, 503)");
}

static void incoming_bodies(void)
{
	static const char regs[] =
		"\"firmware_registers\": {\"kernel_release\": \"6.12\", \"registers\": "
		"[{\"id\": \"0x6030000000140000\", \"value\": \"0x10001\"}]}";
	char body[1024];
	static const struct {
		const char *members;
		long status;
		const char *code, *field, *what;
	} bad[] = {
		{ "\"memory_mib\": 64, \"spec\": {}", 422, "missing_field", "vcpus",
		  "incoming without vcpus: 422 naming it" },
		{ "\"vcpus\": 0, \"memory_mib\": 64, \"spec\": {}", 422, "out_of_range", "vcpus",
		  "incoming with 0 vCPUs: 422 out_of_range" },
		{ "\"vcpus\": \"2\", \"memory_mib\": 64, \"spec\": {}", 400, "wrong_type", "vcpus",
		  "incoming with vcpus a string: 400 wrong_type" },
		{ "\"vcpus\": 1, \"memory_mib\": 4, \"spec\": {}", 422, "out_of_range",
		  "memory_mib", "incoming with 4 MiB: 422 out_of_range" },
		{ "\"vcpus\": 1, \"memory_mib\": 64", 422, "missing_field", "spec",
		  "incoming without spec: 422 naming it" },
		{ "\"vcpus\": 1, \"memory_mib\": 64, \"spec\": []", 400, "wrong_type", "spec",
		  "incoming with spec an array: 400" },
		{ "\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, \"profile_document\": 3", 400,
		  "wrong_type", "profile_document", "a profile_document not an object: 400" },
		{ "\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, \"source\": {\"x\": 1}", 422,
		  "unknown_field", "source.x", "an unknown source member: 422 naming it" },
		{ "\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, \"ports\": 1", 422,
		  "unknown_field", "ports", "an unknown incoming member: 422 naming it" },
		{ "\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, \"accept\": [\"all\"]", 422,
		  "unknown_rule", "accept[0]", "incoming accepting an unknown rule: 422 naming it" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{%s, %s}", bad[i].members, regs);
		expect(&c, "POST", "/v1/vms/incoming", body, bad[i].status, bad[i].code,
		       bad[i].field, bad[i].what);
	}
	expect(&c, "POST", "/v1/vms/incoming",
	       "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}}", 422, "missing_field",
	       "firmware_registers", "incoming without firmware_registers: 422 naming it");
	expect(&c, "POST", "/v1/vms/incoming",
	       "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, \"firmware_registers\": "
	       "{\"kernel_release\": \"x\", \"registers\": [{\"id\": \"0x6030000000130000\", "
	       "\"value\": \"0x0\"}]}}",
	       422, "not_firmware_register", "firmware_registers.registers[0]",
	       "a register that is not a firmware one: 422 naming it under firmware_registers");
	prerun_bodies(regs);
	snprintf(body, sizeof(body), "{\"vcpus\": 1, \"memory_mib\": 64, \"spec\": {}, %s}",
		 regs);
	/* Valid, but this machine has no KVM to judge or run it on. */
	expect(&c, "POST", "/v1/vms/incoming", body, 503, "no_hypervisor", NULL,
	       "a valid incoming body on a host without KVM: 503 no_hypervisor");
	expect(&ct, "POST", "/v1/vms/incoming", body, 401, NULL, NULL,
	       "incoming without the bearer token: 401");
}

int main(int argc, char **argv)
{
	char state[160], state_t[160], log[160], log_t[160], listen[64], listen_t[64];
	char tokf[160];
	pid_t p = -1, pt = -1;
	int port, port_t;
	FILE *f;

	if (argc != 2 || !mkdtemp(dir))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	port = daemon_free_port();
	port_t = daemon_free_port();
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(state_t, sizeof(state_t), "%s/state-t", dir);
	snprintf(log, sizeof(log), "%s/pinvmd.log", dir);
	snprintf(log_t, sizeof(log_t), "%s/pinvmd-t.log", dir);
	snprintf(tokf, sizeof(tokf), "%s/token", dir);
	snprintf(listen, sizeof(listen), "tcp:127.0.0.1:%d", port);
	snprintf(listen_t, sizeof(listen_t), "tcp:127.0.0.1:%d", port_t);
	f = fopen(tokf, "w");
	if (f) {
		fputs(TOKEN "\n", f);
		fclose(f);
	}
	chmod(tokf, 0600);
	{
		const char *args[] = { "--listen", listen, "--state-dir", state, NULL };
		const char *args_t[] = { "--listen", listen_t, "--state-dir", state_t,
					 "--token-file", tokf, NULL };

		p = start(args, port, log, argv[1]);
		pt = start(args_t, port_t, log_t, argv[1]);
	}
	if (!check(p > 0 && pt > 0, "two pinvmd start (one with a token)", "see %s, %s", log,
		   log_t))
		goto out;
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
	snprintf(ct.base, sizeof(ct.base), "http://127.0.0.1:%d", port_t);
	source_bodies();
	incoming_bodies();
	{
		struct response r;

		client_call(&c, "GET", "/v1/vms", NULL, NULL, 0, NULL, &r);
		check(r.status == 200 &&
			      json_array_size(json_object_get(r.json, "vms")) == 0,
		      "no refused migration left a VM behind", "%ld %s", r.status, r.body);
		response_free(&r);
	}
out:
	stop(p);
	stop(pt);
	daemon_remove_dir(dir);
	curl_global_cleanup();
	return check_summary();
}
