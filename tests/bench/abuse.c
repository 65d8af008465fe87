/*
 * The abuse benchmark (issue 13): a legitimate client's requests/s and
 * p99 while, from other loopback addresses, 256 slowloris connections
 * (127.0.0.2), 600 abandoned half-requests (127.0.0.3) and 250
 * unauthenticated 1 MiB uploads (127.0.0.4) hammer one pinvmd listener
 * with a token; pinvmd's RSS idle and after; how long until every attack
 * connection is gone once the attack stops.
 *
 * Bounded: ATTACK_S seconds of attack, every socket on 127.0.0.0/8, pinvmd
 * on a port in 26000-26999. It prints figures and exits 0 whatever they
 * are; it fails (1) only when it could not run: pinvmd did not start, or
 * the legitimate client could make no request at all.
 * usage: bench_abuse PINVMD
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATTACK_S 10
#define SLOWLORIS 256
#define ABANDONED 600
#define UPLOADS 250
#define UPLOAD_THREADS 10
#define MAX_SAMPLES 200000

static const char token[] = "bench-abuse-token-0123456789abcdef";
static int port;
static atomic_bool attack_on;
static atomic_uint abandoned_sent, uploads_done, uploads_401, slow_reopened;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A blocking connection from src to pinvmd, with timeouts, or -1. */
static int dial(const char *src, int timeout_ms)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = {
		.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, src, &from.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one response with a Content-Length body; its status or -1. */
static int read_response(int fd)
{
	char buf[8192];
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		char *end, *cl;

		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		if (cl && got - (size_t)(end + 4 - buf) < strtoul(cl + 17, NULL, 10))
			continue;
		return atoi(buf + 9);
	}
}

/* The legitimate client: keep-alive GET /v1/health with the token. */
struct legit {
	double *lat;
	size_t n;
	unsigned errors, reconnects;
	double t0, t1;
};

static void *legit_main(void *arg)
{
	struct legit *lg = arg;
	char req[256];
	int fd = -1, len;

	len = snprintf(req, sizeof(req), "GET /v1/health HTTP/1.1\r\nHost: bench\r\n"
		       "Authorization: Bearer %s\r\n\r\n", token);
	lg->t0 = now_s();
	while (atomic_load(&attack_on) && lg->n < MAX_SAMPLES) {
		double t = now_s();
		int st;

		if (fd < 0) {
			fd = dial("127.0.0.1", 2000);
			lg->reconnects++;
		}
		if (fd < 0 || send(fd, req, (size_t)len, MSG_NOSIGNAL) != len ||
		    (st = read_response(fd)) != 200) {
			lg->errors++;
			if (fd >= 0)
				close(fd);
			fd = -1;
			continue;
		}
		lg->lat[lg->n++] = now_s() - t;
	}
	lg->t1 = now_s();
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* 256 connections that never finish their headers; reopened when cut. */
static void *slowloris_main(void *arg)
{
	int fds[SLOWLORIS];
	static const char head[] = "GET /v1/health HTTP/1.1\r\nHost: bench\r\n";

	(void)arg;
	for (int i = 0; i < SLOWLORIS; i++) {
		fds[i] = dial("127.0.0.2", 1000);
		if (fds[i] >= 0) {
			send(fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL);
			fcntl(fds[i], F_SETFL, O_NONBLOCK);
		}
	}
	while (atomic_load(&attack_on)) {
		for (int i = 0; i < SLOWLORIS && atomic_load(&attack_on); i++) {
			char b[256];
			ssize_t n;

			if (fds[i] >= 0) {
				n = recv(fds[i], b, sizeof(b), 0);
				if (n == 0 || (n < 0 && errno != EAGAIN) ||
				    send(fds[i], "X-a: b\r\n", 8, MSG_NOSIGNAL) < 0) {
					close(fds[i]);
					fds[i] = -1;
				}
			}
			if (fds[i] < 0) {
				fds[i] = dial("127.0.0.2", 200);
				if (fds[i] >= 0) {
					atomic_fetch_add(&slow_reopened, 1);
					send(fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL);
					fcntl(fds[i], F_SETFL, O_NONBLOCK);
				}
			}
		}
		poll(NULL, 0, 1000);
	}
	for (int i = 0; i < SLOWLORIS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* 600 clients that send half a POST and close, spread over the attack. */
static void *abandoned_main(void *arg)
{
	static const char half[] = "POST /v1/profiles HTTP/1.1\r\nHost: bench\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 4000\r\n\r\n{\"name\": \"half";
	double start = now_s();

	(void)arg;
	for (int i = 0; i < ABANDONED && atomic_load(&attack_on); i++) {
		int fd = dial("127.0.0.3", 500);
		double due = start + (double)ATTACK_S * 0.8 * (i + 1) / ABANDONED;

		if (fd >= 0) {
			send(fd, half, sizeof(half) - 1, MSG_NOSIGNAL);
			close(fd);
			atomic_fetch_add(&abandoned_sent, 1);
		}
		while (now_s() < due && atomic_load(&attack_on))
			poll(NULL, 0, 2);
	}
	return NULL;
}

/* Unauthenticated 1 MiB uploads, UPLOADS / UPLOAD_THREADS per thread. */
static void *uploads_main(void *arg)
{
	static char chunk[64 * 1024];
	static const char head[] = "POST /v1/profiles HTTP/1.1\r\nHost: bench\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 1048576\r\n\r\n";

	(void)arg;
	memset(chunk, ' ', sizeof(chunk));
	for (int i = 0; i < UPLOADS / UPLOAD_THREADS && atomic_load(&attack_on); i++) {
		int fd = dial("127.0.0.4", 2000), st;

		if (fd < 0)
			continue;
		send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL);
		for (size_t sent = 0; sent < 1048576;) {
			ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

			if (n <= 0)
				break;
			sent += (size_t)n;
		}
		st = read_response(fd);
		close(fd);
		atomic_fetch_add(&uploads_done, 1);
		if (st == 401)
			atomic_fetch_add(&uploads_401, 1);
	}
	return NULL;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

static int open_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool serves(void)
{
	char req[256];
	int fd = dial("127.0.0.1", 1000), len, st = -1;

	if (fd < 0)
		return false;
	len = snprintf(req, sizeof(req), "GET /v1/health HTTP/1.1\r\nHost: bench\r\n"
		       "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", token);
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) == len)
		st = read_response(fd);
	close(fd);
	return st == 200;
}

/* The legitimate client alone for secs: warms pinvmd up, gives a baseline. */
static void baseline(double secs, struct legit *lg)
{
	pthread_t t;

	atomic_store(&attack_on, true);
	pthread_create(&t, NULL, legit_main, lg);
	poll(NULL, 0, (int)(secs * 1000));
	atomic_store(&attack_on, false);
	pthread_join(t, NULL);
}

static void report(const char *what, struct legit *lg)
{
	double p50 = 0, p99 = 0, max = 0;

	if (lg->n) {
		qsort(lg->lat, lg->n, sizeof(double), cmp_double);
		p50 = lg->lat[lg->n / 2];
		p99 = lg->lat[(size_t)((double)lg->n * 0.99)];
		max = lg->lat[lg->n - 1];
	}
	printf("abuse %-22s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  "
	       "errors %u of %zu\n", what, (double)lg->n / (lg->t1 - lg->t0), p50 * 1e3,
	       p99 * 1e3, max * 1e3, lg->errors, lg->n + lg->errors);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/pinvm-abuse-XXXXXX", tok[128], state[128], logp[128], spec[64];
	struct legit calm = { 0 }, under = { 0 };
	pthread_t slow, aband, up[UPLOAD_THREADS], lt;
	long rss_idle, rss_peak = 0, rss_after;
	int fds_idle, status;
	double attack_end, recovered = -1;
	pid_t pid;
	FILE *f;

	if (argc != 2 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench_abuse PINVMD\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(tok, sizeof(tok), "%s/token", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(logp, sizeof(logp), "%s/pinvmd.log", dir);
	f = fopen(tok, "w");
	if (!f)
		return 1;
	fprintf(f, "%s\n", token);
	fclose(f);
	chmod(tok, 0600);
	for (int tries = 0; tries < 50; tries++) {
		unsigned short r = 0;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (unsigned short)(getpid() + tries);
		port = 26000 + r % 1000;
		snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
		pid = fork();
		if (pid == 0) {
			if (!freopen(logp, "w", stderr))
				_exit(127);
			execl(argv[1], argv[1], "--listen", spec, "--state-dir", state,
			      "--token-file", tok, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 250 && !serves(); i++) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				pid = -1;
				break;
			}
			poll(NULL, 0, 20);
		}
		if (pid > 0 && serves())
			break;
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
	}
	if (pid < 0) {
		fprintf(stderr, "bench_abuse: pinvmd did not start; see %s\n", logp);
		return 1;
	}
	calm.lat = calloc(MAX_SAMPLES, sizeof(double));
	under.lat = calloc(MAX_SAMPLES, sizeof(double));
	if (!calm.lat || !under.lat)
		return 1;
	printf("abuse: pinvmd on 127.0.0.1:%d with a token (defaults otherwise); %lds of "
	       "attack; %ld CPUs shared with the attackers\n", port, (long)ATTACK_S,
	       sysconf(_SC_NPROCESSORS_ONLN));
	baseline(2, &calm);
	report("alone", &calm);
	poll(NULL, 0, 500);
	rss_idle = rss_kib(pid);
	fds_idle = open_fds(pid);

	atomic_store(&attack_on, true);
	pthread_create(&slow, NULL, slowloris_main, NULL);
	pthread_create(&aband, NULL, abandoned_main, NULL);
	for (int i = 0; i < UPLOAD_THREADS; i++)
		pthread_create(&up[i], NULL, uploads_main, NULL);
	poll(NULL, 0, 300); /* the slow connections are in place first */
	pthread_create(&lt, NULL, legit_main, &under);
	for (double end = now_s() + ATTACK_S; now_s() < end;) {
		long r = rss_kib(pid);

		if (r > rss_peak)
			rss_peak = r;
		poll(NULL, 0, 100);
	}
	atomic_store(&attack_on, false);
	pthread_join(lt, NULL);
	pthread_join(slow, NULL);
	pthread_join(aband, NULL);
	for (int i = 0; i < UPLOAD_THREADS; i++)
		pthread_join(up[i], NULL);
	attack_end = now_s();
	/* Recovered: every attack connection gone and a fresh request served. */
	while (now_s() - attack_end < 60) {
		if (open_fds(pid) <= fds_idle && serves()) {
			recovered = now_s() - attack_end;
			break;
		}
		poll(NULL, 0, 10);
	}
	rss_after = rss_kib(pid);

	report("under attack", &under);
	printf("abuse attackers: %d slowloris (127.0.0.2, reopened %u times), %u abandoned "
	       "half-requests (127.0.0.3), %u unauthenticated 1 MiB uploads (127.0.0.4, "
	       "%u answered 401)\n", SLOWLORIS, atomic_load(&slow_reopened),
	       atomic_load(&abandoned_sent), atomic_load(&uploads_done),
	       atomic_load(&uploads_401));
	printf("abuse rss: idle %ld KiB, peak %ld KiB (%.2fx), after %ld KiB (%.2fx)\n",
	       rss_idle, rss_peak, (double)rss_peak / (double)rss_idle, rss_after,
	       (double)rss_after / (double)rss_idle);
	if (recovered >= 0)
		printf("abuse recovery: %.3f s from the end of the attack to no attack "
		       "connection left and a fresh request served\n", recovered);
	else
		printf("abuse recovery: not within 60 s\n");
	printf("abuse targets: p99 < 100 ms: %s; errors 0: %s; RSS within 2x idle: %s\n",
	       under.n && under.lat[(size_t)((double)under.n * 0.99)] < 0.1 ? "met" : "MISSED",
	       under.errors == 0 ? "met" : "MISSED",
	       rss_peak <= 2 * rss_idle && rss_after <= 2 * rss_idle ? "met" : "MISSED");

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	free(calm.lat);
	free(under.lat);
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	/* Correctness only: the client could talk to pinvmd at all. */
	return calm.n && under.n + under.errors ? 0 : 1;
}
