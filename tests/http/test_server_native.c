/*
 * pinvmd as a process on a machine without arm64 KVM (any x86 box, and the
 * sanitizer build): listeners, routing, problem+json, limits, lifecycle.
 * usage: test_server_native PATH_TO_PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/inotify.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *pinvmd;
static char tmpdir[] = "/tmp/pinvm-native-XXXXXX";

/* Exit status of a pinvmd run expected to refuse to start, or -1. */
static int run_to_exit(const char *const *args, char *log, size_t loglen)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/refused.log", tmpdir);
	return daemon_run_to_exit(pinvmd, args, path, log, loglen);
}

static void test_host(const struct client *c, const char *via)
{
	struct response r;
	char name[128];

	client_call(c, "GET", "/v1/host", NULL, NULL, 0, NULL, &r);
	snprintf(name, sizeof(name), "GET /v1/host over %s answers 200", via);
	check(r.status == 200, name, "status %ld %s", r.status, r.error);
	snprintf(name, sizeof(name), "over %s: hypervisor none with a reason", via);
	check(response_str(&r, "hypervisor") &&
		      !strcmp(response_str(&r, "hypervisor"), "none") &&
		      response_str(&r, "reason") && *response_str(&r, "reason"),
	      name, "body %s", r.body ? r.body : "(none)");
	snprintf(name, sizeof(name), "over %s: JSON content type and a request id", via);
	check(!strcmp(r.content_type, "application/json") && r.request_id[0],
	      name, "content-type '%s' request id '%s'", r.content_type,
	      r.request_id);
	response_free(&r);
}

static void expect_problem(const struct client *c, const char *method,
			   const char *path, const char *ct, const char *body,
			   size_t len, long status, const char *code,
			   const char *name)
{
	struct response r;
	const char *rid;

	client_call(c, method, path, ct, body, len, NULL, &r);
	rid = response_str(&r, "request_id");
	check(r.status == status && !strcmp(r.content_type, "application/problem+json") &&
		      response_str(&r, "code") && !strcmp(response_str(&r, "code"), code) &&
		      json_integer_value(json_object_get(r.json, "status")) == status &&
		      rid && !strcmp(rid, r.request_id) && response_str(&r, "detail"),
	      name, "status %ld, content-type '%s', body %s", r.status,
	      r.content_type, r.body ? r.body : "(none)");
	response_free(&r);
}

static void test_errors(const struct client *c)
{
	struct response r;
	char *big;

	expect_problem(c, "GET", "/v1/host/firmware-registers", NULL, NULL, 0,
		       503, "no_hypervisor", "firmware registers without KVM: 503 no_hypervisor");
	expect_problem(c, "GET", "/v1/host/observed-abi", NULL, NULL, 0,
		       503, "no_hypervisor", "observed ABI without KVM: 503 no_hypervisor");
	expect_problem(c, "GET", "/v1/nope", NULL, NULL, 0, 404, "not_found",
		       "unknown path: 404 not_found");
	expect_problem(c, "GET", "/v1/host/", NULL, NULL, 0, 404, "not_found",
		       "trailing slash is another path: 404");
	expect_problem(c, "DELETE", "/v1/host", NULL, NULL, 0, 405,
		       "method_not_allowed", "wrong method: 405 method_not_allowed");

	/* Every route: an unknown query parameter is named, never ignored. */
	{
		static const char *const paths[] = { "/v1/health?verbose=1", "/v1/host?x=1",
						     "/v1/vms?colour=red", "/v1/images?x=",
						     "/v1/profiles?limit=2&sort=name",
						     "/metrics?x=1" };

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			const char *want = strrchr(paths[i], '&') ? "sort" :
					   strchr(paths[i], '?') + 1;
			size_t n = strcspn(want, "=");

			client_call(c, "GET", paths[i], NULL, NULL, 0, NULL, &r);
			check(r.status == 400 &&
				      !strcmp(response_str(&r, "code") ?: "", "unknown_parameter") &&
				      !strncmp(response_str(&r, "field") ?: "", want, n),
			      "an unknown query parameter: 400 naming it", "%s: %ld %s", paths[i],
			      r.status, r.body ? r.body : "");
			response_free(&r);
		}
	}

	client_call(c, "POST", "/v1/host", NULL, "{}", 2, NULL, &r);
	check(r.status == 405 && !strcmp(r.allow, "GET"), "405 carries Allow: GET",
	      "status %ld allow '%s'", r.status, r.allow);
	response_free(&r);

	expect_problem(c, "POST", "/v1/host", "text/plain", "hello", 5, 415,
		       "unsupported_media_type", "non-JSON body: 415");

	big = malloc(2 * 1024 * 1024);
	memset(big, ' ', 2 * 1024 * 1024);
	expect_problem(c, "POST", "/v1/host", NULL, big, 2 * 1024 * 1024, 413,
		       "body_too_large", "2 MiB body: 413 body_too_large");
	free(big);

	client_call(c, "GET", "/v1/host", NULL, NULL, 0, "X-Request-Id: trace-42.a_b", &r);
	check(!strcmp(r.request_id, "trace-42.a_b"), "a safe X-Request-Id is echoed",
	      "got '%s'", r.request_id);
	response_free(&r);
	client_call(c, "GET", "/v1/host", NULL, NULL, 0, "X-Request-Id: <script>", &r);
	check(r.request_id[0] && !strchr(r.request_id, '<'),
	      "an unsafe X-Request-Id is replaced", "got '%s'", r.request_id);
	response_free(&r);

	client_call(c, "HEAD", "/v1/host", NULL, NULL, 0, NULL, &r);
	check(r.status == 200 && r.len == 0, "HEAD /v1/host: 200 without a body",
	      "status %ld len %zu", r.status, r.len);
	response_free(&r);
}

static void test_refusals(const char *sock, const char *state_in_use)
{
	char state[300], longpath[200], log[4096], spec[256];
	int st;

	{
		const char *args[] = { "--listen", NULL, "--state-dir", NULL, NULL };

		snprintf(spec, sizeof(spec), "unix:%s", sock);
		snprintf(state, sizeof(state), "%s/state2", tmpdir);
		args[1] = spec;
		args[3] = state;
		st = run_to_exit(args, log, sizeof(log));
		check(st == 1 && strstr(log, "another server answers"),
		      "a second pinvmd on a live socket refuses to start",
		      "exit %d, log: %s", st, log);
	}
	{
		char other[300];
		const char *args[] = { "--listen", NULL, "--state-dir", state_in_use, NULL };

		snprintf(other, sizeof(other), "unix:%s/other.sock", tmpdir);
		args[1] = other;
		st = run_to_exit(args, log, sizeof(log));
		check(st == 1 && strstr(log, "another pinvmd uses this state directory"),
		      "a second pinvmd on a state directory in use refuses to start",
		      "exit %d, log: %s", st, log);
	}
	{
		/* Every run names its state directory: the default is the
		 * machine's own (/var/lib/pinvm as root), not this test's. */
		const char *args[] = { "--listen", spec, "--state-dir", state, NULL };

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		longpath[0] = '/';
		snprintf(spec, sizeof(spec), "unix:%s", longpath);
		st = run_to_exit(args, log, sizeof(log));
		check(st == 1 && strstr(log, "the limit is"),
		      "an over-long unix socket path is refused, not truncated",
		      "exit %d, log: %s", st, log);
	}
	{
		const char *args[] = { "--listen", "tcp:127.0.0.1:99999", "--state-dir", state,
				       NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 1 && strstr(log, "bad tcp address"),
		      "a bad TCP port is refused", "exit %d, log: %s", st, log);
	}
	{
		const char *args[] = { "--bogus", NULL };

		st = run_to_exit(args, log, sizeof(log));
		check(st == 2, "an unknown flag exits 2", "exit %d", st);
	}
}

/*
 * Under umask 000 the socket file must never be seen with more than the
 * mode asked for: inotify reports every file that appears in its
 * directory (created, moved in, chmod-ed) and each is stat-ed at once.
 * The old bind-then-chmod showed 0777 for a moment.
 */
static void test_socket_mode_under_umask(void)
{
	char rundir[80], sock[100], spec[120], state[100], logp[100];
	unsigned widest = 0, seen = 0;
	mode_t old = umask(0);
	char evbuf[4096];

	snprintf(rundir, sizeof(rundir), "%s/umask", tmpdir);
	snprintf(sock, sizeof(sock), "%s/pinvmd.sock", rundir);
	snprintf(spec, sizeof(spec), "unix:%s", sock);
	snprintf(state, sizeof(state), "%s/umask-state", tmpdir);
	snprintf(logp, sizeof(logp), "%s/umask.log", tmpdir);
	mkdir(rundir, 0755);
	for (int round = 0; round < 20; round++) {
		const char *args[] = { "--listen", spec, "--state-dir", state, NULL };
		int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		struct stat st;
		bool up = false;
		pid_t pid;

		inotify_add_watch(in, rundir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
		pid = daemon_spawn(pinvmd, args, logp);
		/* Until the socket answers, every event is looked at at once. */
		for (int spin = 0; spin < 2000000 && !up; spin++) {
			ssize_t n = read(in, evbuf, sizeof(evbuf));

			for (ssize_t off = 0; n > 0 && off < n;) {
				struct inotify_event *ev = (struct inotify_event *)(evbuf + off);

				if (ev->len && lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
					seen++;
					if ((st.st_mode & 0777) > widest)
						widest = st.st_mode & 0777;
				}
				off += (ssize_t)(sizeof(*ev) + ev->len);
			}
			if (n <= 0 && spin % 100 == 99) {
				struct sockaddr_un sa = { .sun_family = AF_UNIX };
				int fd = socket(AF_UNIX, SOCK_STREAM, 0);

				snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
				up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
				close(fd);
				if (waitpid(pid, NULL, WNOHANG) == pid)
					break;
			}
		}
		close(in);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	umask(old);
	check(seen > 0 && (widest & ~0660u) == 0,
	      "under umask 000 the socket never shows more than mode 0660",
	      "widest mode seen %o in %u looks", widest, seen);
}

int main(int argc, char **argv)
{
	char sock[100], state[100], tcp[64], logpath[100];
	struct client cu = { 0 }, ct = { 0 };
	struct stat st;
	int port, status;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PINVMD\n", argv[0]);
		return 2;
	}
	pinvmd = argv[1];
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(sock, sizeof(sock), "%s/run/pinvmd.sock", tmpdir);
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", tmpdir);
	port = daemon_free_port();
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	{
		char spec[128];
		const char *args[] = { "--listen", spec, "--listen", tcp,
				       "--state-dir", state, NULL };

		snprintf(spec, sizeof(spec), "unix:%s", sock);
		pid = daemon_spawn(pinvmd, args, logpath);
	}
	/* Both: the listeners come up one after the other. */
	if (!check(daemon_wait_socket(sock, pid) && daemon_wait_tcp(port, pid),
		   "pinvmd starts and listens on its unix socket and its TCP port",
		   "see %s", logpath))
		return check_summary();
	check(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0660,
	      "the unix socket has mode 0660", "mode %o", st.st_mode & 0777);
	check(stat(state, &st) == 0 && S_ISDIR(st.st_mode),
	      "the state directory is created", "%s", state);

	snprintf(cu.base, sizeof(cu.base), "http://localhost");
	snprintf(cu.unix_path, sizeof(cu.unix_path), "%s", sock);
	snprintf(ct.base, sizeof(ct.base), "http://127.0.0.1:%d", port);
	test_host(&cu, "unix socket");
	test_host(&ct, "tcp");
	test_errors(&cu);
	test_refusals(sock, state);
	test_socket_mode_under_umask();

	kill(pid, SIGTERM);
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "SIGTERM stops pinvmd with status 0", "status 0x%x", status);
	check(access(sock, F_OK) != 0, "the unix socket is removed on exit",
	      "%s still exists", sock);
	if (daemon_remove_dir(tmpdir) < 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	curl_global_cleanup();
	return check_summary();
}
