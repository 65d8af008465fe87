/*
 * HTTPS on TCP listeners (--tls-cert, --tls-key): a certificate made by the
 * openssl CLI at test time is served and verified by libcurl, it composes
 * with the bearer token, plain HTTP and untrusted certificates fail, the
 * Unix socket stays plain HTTP, and every bad pair of files is refused at
 * start-up with the flag named.
 * usage: test_tls_native PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "s3cret-token-for-tests-0123456789"

static const char *pinvmd;
static char dir[] = "/tmp/pinvm-tls-XXXXXX";

static int run_to_exit(const char *const *args, char *log, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/refused.log", dir);
	return daemon_run_to_exit(pinvmd, args, path, log, len);
}

static bool copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[8192];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;
	bool ok = in && out;

	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out)
		ok = fclose(out) == 0 && ok;
	return ok && chmod(to, mode) == 0;
}

static size_t keep_body(char *data, size_t size, size_t n, void *arg)
{
	char *body = arg;
	size_t have = strlen(body), len = size * n;

	if (have + len < 256) {
		memcpy(body + have, data, len);
		body[have + len] = '\0';
	}
	return len;
}

/*
 * GET url trusting only cafile (NULL: curl's default store); resolve, if
 * given, is a CURLOPT_RESOLVE entry. Returns curl's result; *status is the
 * HTTP status or 0, body gets the first 255 bytes.
 */
static CURLcode get(const char *url, const char *cafile, const char *header,
		    const char *resolve, long *status, char body[256])
{
	struct curl_slist *hdrs = NULL, *res = NULL;
	CURLcode rc;
	CURL *h = curl_easy_init();

	*status = 0;
	body[0] = '\0';
	if (!h)
		return CURLE_FAILED_INIT;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (cafile) {
		curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (header) {
		hdrs = curl_slist_append(hdrs, header);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	}
	if (resolve) {
		res = curl_slist_append(res, resolve);
		curl_easy_setopt(h, CURLOPT_RESOLVE, res);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(res);
	curl_easy_cleanup(h);
	return rc;
}

static void test_refusals(const char *cert, const char *key, const char *cert2,
			  const char *key2, const char *state, const char *token)
{
	char loose[128], group[128], missing[128], certkey[128], log[4096], any[64];
	int st;

	snprintf(loose, sizeof(loose), "%s/loose-key.pem", dir);
	snprintf(group, sizeof(group), "%s/group-key.pem", dir);
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
	copy_file(key, loose, 0644);
	copy_file(key, group, 0640);
	snprintf(certkey, sizeof(certkey), "%s/cert-as-key.pem", dir);
	copy_file(cert2, certkey, 0600);
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", cert, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-key"),
		      "--tls-cert without --tls-key: refused, naming --tls-key", "exit %d: %s",
		      st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-key", key, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-cert"),
		      "--tls-key without --tls-cert: refused, naming --tls-cert", "exit %d: %s",
		      st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", missing, "--tls-key", key, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-cert") && strstr(log, "No such file"),
		      "a missing certificate file: refused, naming --tls-cert", "exit %d: %s",
		      st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", cert, "--tls-key", missing, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-key") && strstr(log, "No such file"),
		      "a missing key file: refused, naming --tls-key", "exit %d: %s", st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", cert, "--tls-key", key2, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-key") && strstr(log, "do not match"),
		      "a key that is not the certificate's: refused, saying they do not match",
		      "exit %d: %s", st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", key2, "--tls-key", key2, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-cert") && strstr(log, "no PEM certificate"),
		      "a key given as the certificate: refused, naming --tls-cert", "exit %d: %s",
		      st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", cert2, "--tls-key", certkey, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-key") && strstr(log, "no PEM private key"),
		      "a certificate given as the key: refused, naming --tls-key", "exit %d: %s",
		      st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", cert, "--tls-key", loose, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-key") && strstr(log, "group or others"),
		      "a world-readable key (0644): refused", "exit %d: %s", st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--state-dir", state,
				       "--tls-cert", cert, "--tls-key", group, NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "--tls-key") && strstr(log, "group or others"),
		      "a group-readable key (0640): refused", "exit %d: %s", st, log);
	}
	{
		const char *args[] = { "--listen", any, "--state-dir", state, "--tls-cert", cert,
				       "--tls-key", key, NULL };

		/* TLS encrypts but does not authenticate clients. */
		snprintf(any, sizeof(any), "tcp:0.0.0.0:%d", daemon_free_port());
		st = run_to_exit(args, log, sizeof(log));
		check(st == 1 && strstr(log, "not a loopback address"),
		      "TLS on a non-loopback address still needs a token", "exit %d: %s", st,
		      log);
	}
	{
		const char *args[] = { "--listen", any, "--state-dir", state, "--tls-cert", cert,
				       "--tls-key", key, "--token-file", token, "--tls-cert",
				       cert2, NULL };

		/* The last --tls-cert wins, and it does not go with key. */
		snprintf(any, sizeof(any), "tcp:127.0.0.1:%d", daemon_free_port());
		st = run_to_exit(args, log, sizeof(log));
		check(st == 2 && strstr(log, "do not match"),
		      "a repeated --tls-cert: the last one counts", "exit %d: %s", st, log);
	}
}

int main(int argc, char **argv)
{
	char cert[128], key[128], cert2[128], key2[128], token[128], state[128];
	char sock[128], logpath[128], tcp[64], unixspec[160], url[128], plain[128];
	char resolve[64], local[128], body[256], line[1024];
	struct client cu = { 0 };
	struct response r;
	long status;
	CURLcode rc;
	int port, st;
	pid_t pid;
	FILE *f;

	if (argc != 2 || !mkdtemp(dir))
		return 2;
	pinvmd = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/other-cert.pem", dir);
	snprintf(key2, sizeof(key2), "%s/other-key.pem", dir);
	snprintf(token, sizeof(token), "%s/token", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/pinvmd.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", dir);
	f = fopen(token, "w");
	if (f) {
		fputs(TOKEN "\n", f);
		fclose(f);
	}
	chmod(token, 0600);

	if (!check(daemon_make_cert(dir, cert, key, "127.0.0.1") &&
		   daemon_make_cert(dir, cert2, key2, "other"),
		   "the openssl CLI makes two self-signed certificates",
		   "see %s/openssl.log (is openssl installed?)", dir))
		return check_summary();
	test_refusals(cert, key, cert2, key2, state, token);

	port = daemon_free_port();
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	snprintf(unixspec, sizeof(unixspec), "unix:%s", sock);
	{
		const char *args[] = { "--listen", tcp, "--listen", unixspec, "--tls-cert", cert,
				       "--tls-key", key, "--token-file", token,
				       "--state-dir", state, NULL };

		pid = daemon_spawn(pinvmd, args, logpath);
	}
	if (!check(daemon_wait_tcp(port, pid) && daemon_wait_socket(sock, pid),
		   "pinvmd starts with --tls-cert, --tls-key and --token-file", "see %s",
		   logpath))
		return check_summary();
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/v1/health", port);
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%d/v1/health", port);
	snprintf(local, sizeof(local), "https://localhost:%d/v1/health", port);
	snprintf(resolve, sizeof(resolve), "localhost:%d:127.0.0.1", port);

	rc = get(url, cert, "Authorization: Bearer " TOKEN, NULL, &status, body);
	check(rc == CURLE_OK && status == 200 && strstr(body, "\"ok\""),
	      "HTTPS with the token, trusting the certificate: GET /v1/health 200",
	      "curl %s, status %ld %s", curl_easy_strerror(rc), status, body);
	rc = get(url, cert, NULL, NULL, &status, body);
	check(rc == CURLE_OK && status == 401 && strstr(body, "unauthorized"),
	      "HTTPS without the token: 401", "curl %s, status %ld %s",
	      curl_easy_strerror(rc), status, body);
	rc = get(url, cert, "Authorization: Bearer not-" TOKEN, NULL, &status, body);
	check(rc == CURLE_OK && status == 401, "HTTPS with a wrong token: 401",
	      "curl %s, status %ld", curl_easy_strerror(rc), status);
	rc = get(plain, NULL, "Authorization: Bearer " TOKEN, NULL, &status, body);
	check(rc != CURLE_OK && status == 0,
	      "plain HTTP to the TLS port gets no HTTP answer", "curl %s, status %ld %s",
	      curl_easy_strerror(rc), status, body);
	rc = get(url, cert2, "Authorization: Bearer " TOKEN, NULL, &status, body);
	check(rc == CURLE_PEER_FAILED_VERIFICATION && status == 0,
	      "a client trusting another certificate fails verification", "curl %s, status %ld",
	      curl_easy_strerror(rc), status);
	rc = get(local, cert, "Authorization: Bearer " TOKEN, resolve, &status, body);
	check(rc == CURLE_PEER_FAILED_VERIFICATION && status == 0,
	      "a name the certificate does not carry (localhost) fails verification",
	      "curl %s, status %ld", curl_easy_strerror(rc), status);
	rc = get(url, cert, "Authorization: Bearer " TOKEN, NULL, &status, body);
	check(rc == CURLE_OK && status == 200,
	      "the daemon still serves HTTPS after the failed handshakes",
	      "curl %s, status %ld", curl_easy_strerror(rc), status);

	snprintf(cu.base, sizeof(cu.base), "http://localhost");
	snprintf(cu.unix_path, sizeof(cu.unix_path), "%s", sock);
	client_call(&cu, "GET", "/v1/health", NULL, NULL, 0, NULL, &r);
	check(r.status == 200, "the Unix socket stays plain HTTP without a token",
	      "%ld %s %s", r.status, r.error, r.body ?: "");
	response_free(&r);

	kill(pid, SIGTERM);
	check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "pinvmd serving TLS exits 0 on SIGTERM", "status %#x", st);
	{
		bool https = false, unix_plain = false;
		char want_tcp[128], want_unix[192];

		snprintf(want_tcp, sizeof(want_tcp), "listening on %s (https)", tcp);
		snprintf(want_unix, sizeof(want_unix), "listening on %s\"", unixspec);
		f = fopen(logpath, "r");
		while (f && fgets(line, sizeof(line), f)) {
			https = https || strstr(line, want_tcp);
			unix_plain = unix_plain || strstr(line, want_unix);
		}
		if (f)
			fclose(f);
		check(https && unix_plain, "the log says which listener speaks HTTPS",
		      "see %s", logpath);
	}
	if (daemon_remove_dir(dir) < 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	curl_global_cleanup();
	return check_summary();
}
