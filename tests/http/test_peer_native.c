/*
 * Fleet checks over the network (issue 11 item 3): POST /v1/baselines and
 * POST /v1/compatibility with hosts named by URL. pinvmd A asks
 *   - pinvmd B (another process, HTTPS with a certificate the openssl CLI
 *     makes at test time, bearer token): on this KVM-less machine B
 *     answers 503 no_hypervisor, which A passes on as peer_refused, so B
 *     proves the token and TLS paths and each of their failures;
 *   - a fake peer in this process (libmicrohttpd) serving a lab kernel's
 *     register set (tests/fixtures), so the answers with a peer can be
 *     compared with the same requests given the set inline, plus answers
 *     that are no register set;
 *   - a port nobody listens on.
 * Every failure must name the host (field hosts[i], the URL, the "peers"
 * list). The certificates and keys are made in a temporary directory and
 * removed at the end (test-only, never committed).
 * usage: test_peer_native PINVMD FIXTURES
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN_B "peer-b-token-0123456789abcdef"
#define TOKEN_FAKE "fake-peer-token-0123456789"
#define TOKEN_JUNK "fake-peer-junk-0123456789"
#define TOKEN_HUGE "fake-peer-huge-0123456789"

static const char *pinvmd, *fixtures;
static char dir[] = "/tmp/pinvm-peer-XXXXXX";
static struct client ca; /* pinvmd A */
static char *set_510, *set_612; /* register sets, JSON text */
static char *cert_pem;
static char url_b[64], url_fake[64], url_down[64];
static char *huge;

/* ------------------------------------------------------------ helpers */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The "firmware_registers" member of a lab fixture, as JSON text. */
static char *fixture_set(const char *kernel)
{
	char path[512];
	json_t *doc;
	char *s = NULL;

	snprintf(path, sizeof(path), "%s/lab-%s.json", fixtures, kernel);
	doc = json_load_file(path, 0, NULL);
	if (doc)
		s = json_dumps(json_object_get(doc, "firmware_registers"), JSON_COMPACT);
	json_decref(doc);
	return s;
}

static bool write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f)
		ok = fclose(f) == 0 && ok;
	return ok && chmod(path, mode) == 0;
}

static pid_t start(const char *const *args, int port, const char *log)
{
	pid_t pid = daemon_spawn(pinvmd, args, log);

	return daemon_wait_tcp(port, pid) ? pid : -1;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* POST body (stolen) to A. */
static long post(const char *path, json_t *body, struct response *r)
{
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	client_call(&ca, "POST", path, NULL, text, text ? strlen(text) : 0, NULL, r);
	free(text);
	return r->status;
}

/* {"url": url, "token": token?, "ca": ca?} */
static json_t *peer(const char *url, const char *token, const char *cap)
{
	json_t *o = json_pack("{s:s}", "url", url);

	if (token)
		json_object_set_new(o, "token", json_string(token));
	if (cap)
		json_object_set_new(o, "ca", json_string(cap));
	return o;
}

static json_t *inline_set(const char *text)
{
	return json_loads(text, 0, NULL);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A string member of the answer, "" when absent. */
static const char *rs(const struct response *r, const char *key)
{
	const char *s = response_str(r, key);

	return s ? s : "";
}

/* The answer is a 502 naming `code` for `field` with url, and its peers
 * list says the same. */
static void expect_failure(const char *what, struct response *r, unsigned status,
			   const char *code, const char *field, const char *url)
{
	json_t *peers = json_object_get(r->json, "peers"), *p0 = json_array_get(peers, 0);

	check(r->status == status && !strcmp(rs(r, "code"), code) &&
	      !strcmp(rs(r, "field"), field) &&
	      strstr(rs(r, "detail"), url) &&
	      json_array_size(peers) == 1 && !strcmp(str(p0, "field"), field) &&
	      !strcmp(str(p0, "url"), url) && !strcmp(str(p0, "code"), code),
	      what, "%ld %s", r->status, r->body);
}

/* ------------------------------------------------------- the fake peer */

static enum MHD_Result fake_answer(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload, size_t *upload_size, void **state)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Authorization");
	struct MHD_Response *resp;
	const char *body = "{\"code\": \"not_found\"}";
	unsigned status = 404;
	enum MHD_Result ret;

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)state;
	if (strcmp(method, "GET") || strcmp(url, "/v1/host/firmware-registers")) {
	} else if (auth && !strcmp(auth, "Bearer " TOKEN_FAKE)) {
		status = 200;
		body = set_510;
	} else if (auth && !strcmp(auth, "Bearer " TOKEN_JUNK)) {
		status = 200;
		body = "{\"kernel_release\": \"x\", \"registers\": [{\"id\": \"nonsense\"}]}";
	} else if (auth && !strcmp(auth, "Bearer " TOKEN_HUGE)) {
		status = 200;
		body = huge;
	} else {
		status = 401;
		body = "{\"type\": \"about:blank\", \"code\": \"unauthorized\"}";
	}
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --------------------------------------------------------------- tests */

/* A baseline and a verdict with a peer equal the same with its set inline. */
static void test_same_as_inline(void)
{
	struct response r1, r2;
	json_t *b1, *b2;

	post("/v1/baselines",
	     json_pack("{s:s, s:[o, o]}", "name", "by-peer", "hosts",
		       peer(url_fake, TOKEN_FAKE, NULL), inline_set(set_612)),
	     &r1);
	post("/v1/baselines",
	     json_pack("{s:s, s:[o, o]}", "name", "by-value", "hosts",
		       inline_set(set_510), inline_set(set_612)),
	     &r2);
	b1 = json_deep_copy(r1.json);
	b2 = json_deep_copy(r2.json);
	json_object_del(b1, "name");
	json_object_del(b2, "name");
	json_object_del(b1, "created_at");
	json_object_del(b2, "created_at");
	check(r1.status == 201 && r2.status == 201 && json_equal(b1, b2),
	      "a baseline with one host given by URL is the baseline of the same sets inline",
	      "%ld %s\nvs %ld %s", r1.status, r1.body, r2.status, r2.body);
	json_decref(b1);
	json_decref(b2);
	response_free(&r1);
	response_free(&r2);

	post("/v1/compatibility",
	     json_pack("{s:s, s:o}", "profile", "by-value", "host",
		       peer(url_fake, TOKEN_FAKE, NULL)),
	     &r1);
	post("/v1/compatibility",
	     json_pack("{s:s, s:o}", "profile", "by-value", "host", inline_set(set_510)),
	     &r2);
	check(r1.status == 200 && r2.status == 200 && json_equal(r1.json, r2.json),
	      "a verdict on a host given by URL is the verdict on its set inline",
	      "%ld %s\nvs %ld %s", r1.status, r1.body, r2.status, r2.body);
	response_free(&r1);
	response_free(&r2);
}

static void test_failures(const char *token_path, const char *loose_token)
{
	struct response r;
	json_t *peers;

	post("/v1/baselines",
	     json_pack("{s:s, s:[o, o]}", "name", "x", "hosts", inline_set(set_612),
		       peer(url_b, "wrong-token-0123456789", cert_pem)),
	     &r);
	expect_failure("a wrong token: 502 peer_unauthorized for hosts[1], naming its URL",
		       &r, 502, "peer_unauthorized", "hosts[1]", url_b);
	response_free(&r);

	/* The right token and CA: B answers, with its own refusal. */
	post("/v1/baselines",
	     json_pack("{s:s, s:[o]}", "name", "x", "hosts", peer(url_b, TOKEN_B, cert_pem)),
	     &r);
	peers = json_object_get(r.json, "peers");
	expect_failure("B over TLS with its token: its refusal passed on as peer_refused",
		       &r, 502, "peer_refused", "hosts[0]", url_b);
	check(!strcmp(str(json_object_get(json_array_get(peers, 0), "problem"), "code"),
		      "no_hypervisor") &&
	      strstr(rs(&r, "detail"), "no_hypervisor"),
	      "... with B's own problem+json (no_hypervisor) quoted and attached", "%s", r.body);
	response_free(&r);

	/* A's --peer-ca is another certificate: verification fails. */
	post("/v1/compatibility",
	     json_pack("{s:s, s:o}", "profile", "by-value", "host", peer(url_b, TOKEN_B, NULL)),
	     &r);
	expect_failure("a certificate --peer-ca did not sign: 502 peer_tls for host",
		       &r, 502, "peer_tls", "host", url_b);
	response_free(&r);

	post("/v1/compatibility",
	     json_pack("{s:s, s:o}", "profile", "by-value", "host", peer(url_down, NULL, NULL)),
	     &r);
	expect_failure("a port nobody listens on: 502 peer_unreachable for host",
		       &r, 502, "peer_unreachable", "host", url_down);
	response_free(&r);

	post("/v1/compatibility",
	     json_pack("{s:s, s:o}", "profile", "by-value", "host",
		       peer(url_fake, TOKEN_JUNK, NULL)),
	     &r);
	expect_failure("a 200 that is no register set: 502 peer_bad_answer",
		       &r, 502, "peer_bad_answer", "host", url_fake);
	response_free(&r);

	post("/v1/compatibility",
	     json_pack("{s:s, s:o}", "profile", "by-value", "host",
		       peer(url_fake, TOKEN_HUGE, NULL)),
	     &r);
	expect_failure("an answer over the size limit: 502 peer_bad_answer",
		       &r, 502, "peer_bad_answer", "host", url_fake);
	response_free(&r);

	/* Every failing host is named, in order, the good ones are not. */
	post("/v1/baselines",
	     json_pack("{s:s, s:[o, o, o, o]}", "name", "x", "hosts",
		       peer(url_down, NULL, NULL), peer(url_fake, TOKEN_FAKE, NULL),
		       inline_set(set_612), peer(url_b, "wrong-token-0123456789", cert_pem)),
	     &r);
	peers = json_object_get(r.json, "peers");
	check(r.status == 502 && !strcmp(rs(&r, "code"), "peer_unreachable") &&
	      !strcmp(rs(&r, "field"), "hosts[0]") && json_array_size(peers) == 2 &&
	      !strcmp(str(json_array_get(peers, 0), "field"), "hosts[0]") &&
	      !strcmp(str(json_array_get(peers, 1), "field"), "hosts[3]") &&
	      !strcmp(str(json_array_get(peers, 1), "code"), "peer_unauthorized") &&
	      strstr(rs(&r, "detail"), "2 of 3 peers failed"),
	      "two failing peers of four hosts: one 502, both named (hosts[0], hosts[3])",
	      "%ld %s", r.status, r.body);
	response_free(&r);

	/* A token file of the right kind works; others are refused. */
	post("/v1/baselines",
	     json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "name", "x", "hosts", "url", url_b,
		       "token_file", token_path, "ca", cert_pem),
	     &r);
	check(r.status == 502 && !strcmp(rs(&r, "code"), "peer_refused"),
	      "token_file (mode 600, pinvmd's user): B takes the token", "%ld %s", r.status,
	      r.body);
	response_free(&r);
	post("/v1/baselines",
	     json_pack("{s:s, s:[{s:s, s:s}]}", "name", "x", "hosts", "url", url_b,
		       "token_file", loose_token),
	     &r);
	check(r.status == 422 && !strcmp(rs(&r, "code"), "bad_token_file") &&
	      !strcmp(rs(&r, "field"), "hosts[0].token_file"),
	      "a token file others may read: 422 bad_token_file at hosts[0].token_file",
	      "%ld %s", r.status, r.body);
	response_free(&r);
}

/* Peer references are checked member by member before anything is sent. */
static void test_bad_references(void)
{
	static const struct {
		const char *json, *code, *field;
	} cases[] = {
		{ "{\"url\": \"ftp://127.0.0.1:1\"}", "bad_url", "hosts[0].url" },
		{ "{\"url\": \"http://127.0.0.1:1/v1/vms\"}", "bad_url", "hosts[0].url" },
		{ "{\"url\": \"http://user@127.0.0.1:1\"}", "bad_url", "hosts[0].url" },
		{ "{\"url\": \"http://\"}", "bad_url", "hosts[0].url" },
		{ "{\"url\": 7}", "wrong_type", "hosts[0].url" },
		{ "{\"url\": \"http://a\", \"token\": \"short\"}", "bad_token", "hosts[0].token" },
		{ "{\"url\": \"http://a\", \"token\": \"has a space in it 0123\"}", "bad_token",
		  "hosts[0].token" },
		{ "{\"url\": \"http://a\", \"token\": \"0123456789abcdef\", \"token_file\": \"/t\"}",
		  "token_conflict", "hosts[0].token_file" },
		{ "{\"url\": \"http://a\", \"token_file\": \"relative\"}", "bad_value",
		  "hosts[0].token_file" },
		{ "{\"url\": \"http://a\", \"ca\": \"not pem\"}", "bad_value", "hosts[0].ca" },
		{ "{\"url\": \"http://a\", \"port\": 1}", "unknown_field", "hosts[0].port" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct response r;
		json_t *ref = json_loads(cases[i].json, 0, NULL);
		long want = strcmp(cases[i].code, "wrong_type") ? 422 : 400;

		post("/v1/baselines", json_pack("{s:s, s:[o]}", "name", "x", "hosts", ref), &r);
		check(r.status == want && !strcmp(rs(&r, "code"), cases[i].code) &&
		      !strcmp(rs(&r, "field"), cases[i].field),
		      "a bad peer reference is refused naming the member", "%s -> %ld %s",
		      cases[i].json, r.status, r.body);
		response_free(&r);
	}
}

int main(int argc, char **argv)
{
	char cert[128], key[128], cert2[128], key2[128], tokb[128], tokp[128], loose[128];
	char stb[128], sta[128], logb[128], loga[128], listen_a[64], listen_b[64], log[2048];
	struct MHD_Daemon *fake = NULL;
	pid_t pa = -1, pb = -1;
	int port_a, port_b, port_down, st;

	if (argc != 3 || !mkdtemp(dir))
		return 2;
	pinvmd = argv[1];
	fixtures = argv[2];
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/other-cert.pem", dir);
	snprintf(key2, sizeof(key2), "%s/other-key.pem", dir);
	snprintf(tokb, sizeof(tokb), "%s/token-b", dir);
	snprintf(tokp, sizeof(tokp), "%s/token-peer", dir);
	snprintf(loose, sizeof(loose), "%s/token-loose", dir);
	snprintf(sta, sizeof(sta), "%s/state-a", dir);
	snprintf(stb, sizeof(stb), "%s/state-b", dir);
	snprintf(loga, sizeof(loga), "%s/a.log", dir);
	snprintf(logb, sizeof(logb), "%s/b.log", dir);
	set_510 = fixture_set("5.10");
	set_612 = fixture_set("6.12");
	huge = calloc(1, (5u << 20) + 1);
	if (huge)
		memset(huge, ' ', 5u << 20);
	if (!check(set_510 && set_612 && huge, "the lab fixtures' register sets load", "%s",
		   fixtures) ||
	    !check(daemon_make_cert(dir, cert, key, "127.0.0.1") &&
		   daemon_make_cert(dir, cert2, key2, "other"),
		   "the openssl CLI makes two self-signed certificates",
		   "see %s/openssl.log (is openssl installed?)", dir))
		goto out;
	cert_pem = read_text(cert);
	write_file(tokb, TOKEN_B "\n", 0600);
	write_file(tokp, TOKEN_B "\n", 0600);
	write_file(loose, TOKEN_B "\n", 0644);

	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", sta,
				       "--peer-ca", loose, NULL };

		char path[160];

		snprintf(path, sizeof(path), "%s/refused.log", dir);
		st = daemon_run_to_exit(pinvmd, args, path, log, sizeof(log));
		check(st == 2 && strstr(log, "--peer-ca"),
		      "--peer-ca naming no PEM file: pinvmd refuses to start, naming the flag",
		      "exit %d: %s", st, log);
	}

	fake = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
				NULL, NULL, fake_answer, NULL, MHD_OPTION_END);
	port_b = daemon_free_port();
	port_a = daemon_free_port();
	port_down = daemon_free_port();
	if (!check(fake && port_a > 0 && port_b > 0 && port_down > 0 && port_a != port_b &&
		   port_down != port_a && port_down != port_b,
		   "a fake peer and three loopback ports", "fake %p", (void *)fake))
		goto out;
	snprintf(url_fake, sizeof(url_fake), "http://127.0.0.1:%u",
		 (unsigned)MHD_get_daemon_info(fake, MHD_DAEMON_INFO_BIND_PORT)->port);
	snprintf(url_b, sizeof(url_b), "https://127.0.0.1:%d", port_b);
	snprintf(url_down, sizeof(url_down), "http://127.0.0.1:%d", port_down);
	snprintf(listen_a, sizeof(listen_a), "tcp:127.0.0.1:%d", port_a);
	snprintf(listen_b, sizeof(listen_b), "tcp:127.0.0.1:%d", port_b);
	{
		const char *args_b[] = { "--listen", listen_b, "--state-dir", stb,
					 "--token-file", tokb, "--tls-cert", cert,
					 "--tls-key", key, NULL };
		const char *args_a[] = { "--listen", listen_a, "--state-dir", sta,
					 "--peer-ca", cert2, NULL };

		pb = start(args_b, port_b, logb);
		pa = start(args_a, port_a, loga);
	}
	if (!check(pa > 0 && pb > 0, "pinvmd A (plain HTTP) and B (HTTPS, token) start",
		   "see %s and %s", loga, logb))
		goto out;
	snprintf(ca.base, sizeof(ca.base), "http://127.0.0.1:%d", port_a);

	test_same_as_inline();
	test_failures(tokp, loose);
	test_bad_references();
out:
	stop(pa);
	stop(pb);
	if (fake)
		MHD_stop_daemon(fake);
	free(set_510);
	free(set_612);
	free(cert_pem);
	free(huge);
	curl_global_cleanup();
	daemon_remove_dir(dir);
	return check_summary();
}
