/*
 * A graceful stop: on SIGTERM pinvmd refuses new connections at once, lets
 * a request whose body is still arriving finish with a full response, does
 * not wait for idle kept-alive connections, then exits 0; --drain-seconds
 * bounds the wait and a second signal cuts it short.
 * usage: test_drain_native PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *pinvmd;
static char dir[] = "/tmp/pinvm-drain-XXXXXX";
static char state[96], sock[96];
static int port;

static const char *profile =
	"{\"name\": \"drained\", \"description\": \"sent slowly\","
	" \"unknown_registers\": \"disable\", \"registers\": {"
	" \"PSCI_VERSION\": \"1.0\", \"STD_BMAP\": {\"TRNG\": false},"
	" \"STD_HYP_BMAP\": \"0x0\", \"VENDOR_HYP_BMAP\": \"0x0\","
	" \"SMCCC_ARCH_WORKAROUND_1\": \"host\", \"SMCCC_ARCH_WORKAROUND_2\": \"host\","
	" \"SMCCC_ARCH_WORKAROUND_3\": \"host\"}}";

static pid_t start(const char *logpath, const char *drain_seconds)
{
	char tcp[64], unixspec[160];
	const char *args[] = { "--listen", tcp, "--listen", unixspec, "--state-dir", state,
			       "--drain-seconds", drain_seconds, NULL };
	pid_t pid;

	port = daemon_free_port();
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	snprintf(unixspec, sizeof(unixspec), "unix:%s", sock);
	pid = daemon_spawn(pinvmd, args, logpath);
	if (!daemon_wait_tcp(port, pid) || !daemon_wait_socket(sock, pid))
		return -1;
	return pid;
}

/* A connect()ed socket, or -errno. */
static int connect_tcp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd < 0 ? -errno : fd;
	e = errno;
	close(fd);
	return -e;
}

static int connect_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd < 0 ? -errno : fd;
	e = errno;
	close(fd);
	return -e;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Reads into buf (NUL-terminated) until it holds until, the peer closes or
 * an error, or secs pass. Returns the bytes read; *closed tells whether the
 * peer closed (EOF or reset).
 */
static size_t read_until(int fd, char *buf, size_t cap, const char *until,
			 double secs, bool *closed)
{
	double end = client_now() + secs;
	size_t len = 0;

	*closed = false;
	buf[0] = '\0';
	while (len + 1 < cap && !(until && strstr(buf, until))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - client_now();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0) {
			*closed = true;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
	}
	return len;
}

/* Opens a POST /v1/profiles whose headers promise the body but whose body is
 * not sent: "100 Continue" proves pinvmd has begun the request. */
static int begin_slow_post(const char *body)
{
	char head[512], buf[256];
	bool closed;
	int fd = connect_tcp();

	if (fd < 0)
		return -1;
	snprintf(head, sizeof(head),
		 "POST /v1/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Expect: 100-continue\r\n\r\n", strlen(body));
	if (!send_all(fd, head, strlen(head)) ||
	    !read_until(fd, buf, sizeof(buf), "\r\n\r\n", 30, &closed) ||
	    strncmp(buf, "HTTP/1.1 100", 12)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool log_has(const char *logpath, const char *needle, double secs)
{
	double end = client_now() + secs;
	char line[2048];

	do {
		FILE *f = fopen(logpath, "r");
		bool found = false;

		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, needle) != NULL;
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(20000);
	} while (client_now() < end);
	return false;
}

/*
 * Waits for a line holding "draining N requests" and returns N, or -1 after
 * secs. One wait for whichever number comes: the count depends on how far
 * libmicrohttpd's threads got, and waiting out one number before looking
 * for the other outlasted the drain deadline on a loaded machine.
 */
static int draining_count(const char *logpath, double secs)
{
	double end = client_now() + secs;
	char line[2048];
	int n = -1;

	do {
		FILE *f = fopen(logpath, "r");

		while (f && n < 0 && fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, "draining ");

			if (p && sscanf(p, "draining %d requests", &n) != 1)
				n = -1;
		}
		if (f)
			fclose(f);
		if (n >= 0)
			return n;
		usleep(20000);
	} while (client_now() < end);
	return -1;
}

/* Waits up to secs for pid; returns its wait status, or -1 if it is still
 * running (then it is killed). */
static int wait_exit(pid_t pid, double secs)
{
	double end = client_now() + secs;
	int status;

	do {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	} while (client_now() < end);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void test_drain(void)
{
	char logpath[160], buf[8192];
	size_t half = strlen(profile) / 2;
	double t0;
	bool closed, refused_tcp = false, refused_unix = false;
	int slow, idle, fd, status;
	pid_t pid;

	snprintf(logpath, sizeof(logpath), "%s/drain.log", dir);
	/* A deadline far beyond every wait below: a stop before it can only
	 * come from the drain seeing the request answered. */
	pid = start(logpath, "600");
	if (!check(pid > 0, "pinvmd starts with --drain-seconds 600", "see %s", logpath))
		return;

	/* An idle kept-alive connection must not hold up the stop. */
	idle = connect_tcp();
	{
		const char *get = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

		send_all(idle, get, strlen(get));
	}
	read_until(idle, buf, sizeof(buf), "\"ok\"", 30, &closed);
	check(!strncmp(buf, "HTTP/1.1 200", 12) && !closed,
	      "a kept-alive connection got its answer and stays open", "%s", buf);

	slow = begin_slow_post(profile);
	if (!check(slow >= 0, "a POST with its body held back gets 100 Continue",
		   "no 100 Continue"))
		goto out;
	t0 = client_now();
	kill(pid, SIGTERM);

	/* New connections are refused while the request is still open. */
	while (client_now() - t0 < 30 && !(refused_tcp && refused_unix)) {
		if (!refused_tcp) {
			fd = connect_tcp();
			refused_tcp = fd == -ECONNREFUSED;
			if (fd >= 0)
				close(fd);
		}
		if (!refused_unix) {
			fd = connect_unix();
			refused_unix = fd == -ECONNREFUSED;
			if (fd >= 0)
				close(fd);
		}
		usleep(10000);
	}
	check(refused_tcp, "after SIGTERM a new TCP connection is refused", "still accepted");
	check(refused_unix, "after SIGTERM a new Unix socket connection is refused",
	      "still accepted");
	/* 1, or 2 when the keep-alive connection's GET has been answered but
	 * its completion callback has not run yet (seen under load). */
	{
		int n = draining_count(logpath, 60);

		check(n == 1 || n == 2, "pinvmd logs \"draining 1 requests\" (or 2)",
		      "%d; see %s", n, logpath);
	}
	check(waitpid(pid, NULL, WNOHANG) == 0, "pinvmd waits while a request is in flight",
	      "it has exited");

	/* The body, slowly. */
	send_all(slow, profile, half);
	usleep(300000);
	send_all(slow, profile + half, strlen(profile) - half);
	read_until(slow, buf, sizeof(buf), NULL, 60, &closed);
	check(!strncmp(buf, "HTTP/1.1 201", 12) && strstr(buf, "\"name\":\"drained\"") &&
		      closed,
	      "the request begun before SIGTERM gets its whole 201 response, then EOF",
	      "%s", buf);
	check(strstr(buf, "\r\nConnection: close\r\n") != NULL,
	      "the response while draining says Connection: close", "%s", buf);
	close(slow);

	status = wait_exit(pid, 60);
	check(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "pinvmd exits 0 once the request is answered, long before --drain-seconds",
	      "status %#x after %.1f s", status, client_now() - t0);
	check(log_has(logpath, "\"drained\"", 0) && !log_has(logpath, "drain timed out", 0),
	      "pinvmd logs \"drained\", not a timeout", "see %s", logpath);
	read_until(idle, buf, sizeof(buf), NULL, 2, &closed);
	check(closed, "the idle kept-alive connection is closed by the stop", "%s", buf);
	close(idle);

	/* What the drained request wrote is there for the next pinvmd. */
	snprintf(logpath, sizeof(logpath), "%s/after.log", dir);
	pid = start(logpath, "600");
	if (check(pid > 0, "pinvmd starts again on the same state", "see %s", logpath)) {
		struct client c = { 0 };
		struct response r;

		snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
		client_call(&c, "GET", "/v1/profiles/drained", NULL, NULL, 0, NULL, &r);
		check(r.status == 200, "the profile POSTed during the drain was stored",
		      "%ld %s", r.status, r.body ?: "");
		response_free(&r);
		t0 = client_now();
		kill(pid, SIGTERM);
		/* The GET above may still count for the moment between its
		 * answer and its completion callback: "drained", not a wait
		 * for the 600 s deadline, is what proves the stop. */
		status = wait_exit(pid, 60);
		check(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
			      log_has(logpath, "\"drained\"", 0) &&
			      !log_has(logpath, "drain timed out", 0),
		      "with nothing in flight SIGTERM stops at once, exit 0",
		      "status %#x after %.1f s", status, client_now() - t0);
	}
	return;
out:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_drain_timeout(void)
{
	char logpath[160], buf[1024];
	double t0, took;
	bool closed;
	int slow, status;
	pid_t pid;

	snprintf(logpath, sizeof(logpath), "%s/timeout.log", dir);
	pid = start(logpath, "1");
	if (!check(pid > 0, "pinvmd starts with --drain-seconds 1", "see %s", logpath))
		return;
	slow = begin_slow_post(profile);
	t0 = client_now();
	kill(pid, SIGTERM);
	status = wait_exit(pid, 60);
	took = client_now() - t0;
	/* No upper bound on time: the log line below says it was the deadline. */
	check(slow >= 0 && status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		      took >= 0.9,
	      "a body that never comes: pinvmd gives up after --drain-seconds 1, exit 0",
	      "status %#x after %.2f s", status, took);
	check(log_has(logpath, "drain timed out after 1 s, cutting off 1 requests", 0),
	      "the log says the drain timed out", "see %s", logpath);
	read_until(slow, buf, sizeof(buf), NULL, 30, &closed);
	check(closed && !strstr(buf, "HTTP/1.1 2"), "the cut-off request's connection is closed",
	      "%s", buf);
	if (slow >= 0)
		close(slow);
}

static void test_second_signal(void)
{
	char logpath[160];
	double t0;
	int slow, status;
	pid_t pid;

	snprintf(logpath, sizeof(logpath), "%s/twice.log", dir);
	pid = start(logpath, "600");
	if (!check(pid > 0, "pinvmd starts with --drain-seconds 600", "see %s", logpath))
		return;
	slow = begin_slow_post(profile);
	t0 = client_now();
	kill(pid, SIGTERM);
	draining_count(logpath, 60);
	kill(pid, SIGINT);
	status = wait_exit(pid, 60);
	check(slow >= 0 && status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		      log_has(logpath, "while draining", 0),
	      "a second signal ends the drain at once, exit 0", "status %#x after %.1f s",
	      status, client_now() - t0);
	if (slow >= 0)
		close(slow);
}

int main(int argc, char **argv)
{
	char log[1024], path[160];

	if (argc != 2 || !mkdtemp(dir))
		return 2;
	pinvmd = argv[1];
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/pinvmd.sock", dir);
	snprintf(path, sizeof(path), "%s/refused.log", dir);
	{
		const char *args[] = { "--drain-seconds", "-1", "--state-dir", state, NULL };
		int st = daemon_run_to_exit(pinvmd, args, path, log, sizeof(log));

		check(st == 2 && strstr(log, "--drain-seconds"),
		      "--drain-seconds -1 is refused", "exit %d: %s", st, log);
	}
	test_drain();
	test_drain_timeout();
	test_second_signal();
	if (daemon_remove_dir(dir) < 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	curl_global_cleanup();
	return check_summary();
}
