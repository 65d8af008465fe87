/*
 * Who gets in: bearer tokens on TCP, the refusal to expose TCP without
 * one, Unix socket mode, peer uid in the logs; liveness and readiness.
 * usage: test_access_native PINVMD
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

static const char *pinvmd;
static char dir[] = "/tmp/pinvm-access-XXXXXX";

static int run_to_exit(const char *const *args, char *log, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/refused.log", dir);
	return daemon_run_to_exit(pinvmd, args, path, log, len);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

int main(int argc, char **argv)
{
	char token[128], loose[128], state[128], sock[128], logpath[128], tcp[64];
	char unixspec[160], log[4096], hdr[128];
	struct client ct = { 0 }, cu = { 0 };
	struct response r;
	struct stat st;
	int port, status;
	pid_t pid;

	if (argc != 2 || !mkdtemp(dir))
		return 2;
	pinvmd = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(token, sizeof(token), "%s/token", dir);
	snprintf(loose, sizeof(loose), "%s/loose-token", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/pinvmd.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", dir);
	write_file(token, "s3cret-token-for-tests-0123456789\n", 0600);
	write_file(loose, "s3cret-token-for-tests-0123456789\n", 0644);

	{
		char any[64];
		const char *args[] = { "--listen", any, "--state-dir", state, NULL };
		int st2;

		snprintf(any, sizeof(any), "tcp:0.0.0.0:%d", daemon_free_port());
		st2 = run_to_exit(args, log, sizeof(log));

		check(st2 == 1 && strstr(log, "not a loopback address"),
		      "TCP on a non-loopback address without a token: refuses to start",
		      "exit %d: %s", st2, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:0", "--token-file", loose,
				       "--state-dir", state, NULL };
		int st2 = run_to_exit(args, log, sizeof(log));

		check(st2 == 2 && strstr(log, "readable by others"),
		      "a token file others can read: refuses to start", "exit %d: %s", st2, log);
	}

	port = daemon_free_port();
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	snprintf(unixspec, sizeof(unixspec), "unix:%s", sock);
	{
		const char *args[] = { "--listen", tcp, "--listen", unixspec, "--token-file", token,
				       "--socket-mode", "0600", "--state-dir", state, NULL };

		pid = daemon_spawn(pinvmd, args, logpath);
	}
	/* Both: the listeners open one after the other. */
	if (!check(daemon_wait_tcp(port, pid) && daemon_wait_socket(sock, pid),
		   "pinvmd starts with a token file", "see %s", logpath))
		return check_summary();
	snprintf(ct.base, sizeof(ct.base), "http://127.0.0.1:%d", port);
	snprintf(cu.base, sizeof(cu.base), "http://localhost");
	snprintf(cu.unix_path, sizeof(cu.unix_path), "%s", sock);

	client_call(&ct, "GET", "/v1/host", NULL, NULL, 0, NULL, &r);
	check(r.status == 401 && !strcmp(response_str(&r, "code") ?: "", "unauthorized"),
	      "TCP without a token: 401 unauthorized", "%ld %s", r.status, r.body);
	response_free(&r);
	client_call(&ct, "GET", "/v1/health", NULL, NULL, 0,
		    "Authorization: Bearer s3cret-token-for-tests-012345678", &r);
	check(r.status == 401, "TCP with a token one character short: 401", "%ld", r.status);
	response_free(&r);
	client_call(&ct, "GET", "/v1/health", NULL, NULL, 0,
		    "Authorization: Bearer s3cret-token-for-tests-0123456789x", &r);
	check(r.status == 401, "TCP with a token one character long: 401", "%ld", r.status);
	response_free(&r);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer s3cret-token-for-tests-0123456789");
	client_call(&ct, "GET", "/v1/health", NULL, NULL, 0, hdr, &r);
	check(r.status == 200 && !strcmp(response_str(&r, "status") ?: "", "ok"),
	      "TCP with the token: GET /v1/health 200 ok", "%ld %s", r.status, r.body);
	response_free(&r);
	client_call(&ct, "POST", "/v1/profiles", NULL, "{\"name\": \"x\", \"registers\": {}}", 30, NULL, &r);
	check(r.status == 401, "a write without the token is refused before it is parsed", "%ld", r.status);
	response_free(&r);

	client_call(&cu, "GET", "/v1/ready", NULL, NULL, 0, NULL, &r);
	check(r.status == 200 && json_is_true(json_object_get(r.json, "ready")) &&
		      !strcmp(json_string_value(json_object_get(json_object_get(r.json, "checks"),
								"hypervisor")) ?: "", "none"),
	      "the Unix socket needs no token: GET /v1/ready 200, hypervisor none", "%ld %s",
	      r.status, r.body);
	response_free(&r);
	check(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "--socket-mode 0600 is applied", "mode %o", st.st_mode & 0777);

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	{
		FILE *f = fopen(logpath, "r");
		char needle[64];
		bool found = false;

		snprintf(needle, sizeof(needle), "\"peer_uid\":%u", (unsigned)getuid());
		while (f && fgets(log, sizeof(log), f))
			found = found || strstr(log, needle);
		if (f)
			fclose(f);
		check(found, "log lines of Unix-socket requests carry the peer's uid",
		      "no %s in %s", needle, logpath);
	}
	if (daemon_remove_dir(dir) < 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	curl_global_cleanup();
	return check_summary();
}
