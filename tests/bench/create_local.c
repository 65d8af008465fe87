/*
 * The create path timed from inside the lab (issue 16, item 3): the same
 * rounds as bench_lab_create's, POST /v1/vms with "start": true -> the
 * guest's first instruction (the VM stopped by its own poweroff, told by
 * a long-poll), but sent over the lab's loopback to pinvmd, as the floor
 * it is set beside is spawned inside the lab. From the x86 side every
 * request also crosses QEMU's user-mode network, emulated, which costs
 * more than pinvmd's own work on some requests; that figure is printed
 * too (bench_lab_create), this one is what pinvm itself adds.
 *
 * Each round is paired with one spawn of the floor (kvm_floor.c, a
 * process of its own as pinvm-vmm is), and both begin once pinvmd's
 * standby pool is full again (/metrics), so neither shares the CPUs with
 * the replacement spawned after a take.
 *
 *   pinvm-bench-create-local [ROUNDS [PORT [FLOOR]]]
 *
 * The guest is /images/off.Image, which bench_lab_create writes. A plain
 * HTTP/1.1 client over one kept connection, enough for pinvmd's answers
 * (Content-Length bodies); static, like the floor. Figures only.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int port = 8080;
static int sock = -1;
static char resp[65536]; /* the last answer's body, NUL-terminated */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static bool connect_api(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;

	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return false;
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(sock);
		sock = -1;
		return false;
	}
	return true;
}

static bool send_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(sock, p, n);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* One request on the kept connection (made again if pinvmd closed it);
 * the status, 0 when there was no whole answer. The body is in resp. */
static int request(const char *method, const char *path, const char *body)
{
	static char buf[sizeof(resp) + 4096];
	char head[512];
	size_t have = 0, need = 0;
	char *end = NULL;
	bool chunked = false;
	int status = 0, hn;

	resp[0] = '\0';
	for (int attempt = 0; attempt < 2; attempt++) {
		if (sock < 0 && !connect_api())
			return 0;
		hn = snprintf(head, sizeof(head),
			      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			      "Content-Length: %zu\r\n\r\n",
			      method, path, body ? strlen(body) : 0);
		if (send_all(head, (size_t)hn) && (!body || send_all(body, strlen(body))))
			break;
		close(sock); /* a kept connection pinvmd had closed: once more */
		sock = -1;
	}
	if (sock < 0)
		return 0;
	for (;;) {
		ssize_t r;

		/* A chunked body (a long-poll's answer) ends with a chunk of
		 * size 0, which no JSON answer holds. */
		if (end && (chunked ? strstr(end + 2, "\r\n0\r\n\r\n") != NULL
				    : have >= (size_t)(end + 4 - buf) + need))
			break;
		if (have == sizeof(buf) - 1)
			goto broken;
		r = read(sock, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0)
			goto broken;
		have += (size_t)r;
		buf[have] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			char *cl = NULL;

			for (char *p = buf; p < end; p = strstr(p, "\r\n") + 2) {
				if (!strncasecmp(p, "Content-Length:", 15))
					cl = p + 15;
				if (!strncasecmp(p, "Transfer-Encoding: chunked", 26))
					chunked = true;
				if (!strstr(p, "\r\n"))
					break;
			}
			if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				goto broken;
			/* No length and not chunked: a 204, say. */
			need = cl ? strtoul(cl, NULL, 10) : 0;
			if (need >= sizeof(resp))
				goto broken;
		}
	}
	if (!chunked) {
		memcpy(resp, end + 4, need);
		resp[need] = '\0';
		return status;
	}
	/* Each chunk: its size in hex, CRLF, the bytes, CRLF. */
	need = 0;
	for (char *p = end + 4;;) {
		char *data;
		size_t len = strtoul(p, &data, 16);

		if (!len)
			break;
		data = strstr(data, "\r\n");
		if (!data || need + len >= sizeof(resp))
			goto broken;
		memcpy(resp + need, data + 2, len);
		need += len;
		p = data + 2 + len + 2;
	}
	resp[need] = '\0';
	return status;
broken:
	close(sock);
	sock = -1;
	return 0;
}

/* The string value of "key" in the answer (compact or not), or "". */
static const char *field(const char *key, char *out, size_t n)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	out[0] = '\0';
	p = strstr(resp, pat);
	if (!p)
		return out;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"' || !(q = strchr(p, '"')) || (size_t)(q - p) >= n)
		return out;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return out;
}

/* Until a standby is ready (pinvm_standby_vmms_ready > 0), at most 10 s. */
static bool settled(void)
{
	double t0 = now_ms();

	do {
		const char *p;

		if (request("GET", "/metrics", NULL) == 200 &&
		    (p = strstr(resp, "\npinvm_standby_vmms_ready ")) &&
		    atoi(p + strlen("\npinvm_standby_vmms_ready ")) > 0)
			return true;
		usleep(20000);
	} while (now_ms() - t0 < 10000);
	return false;
}

/* One spawn of the floor to its exit, in ms; -1 when it failed. */
static double floor_once(const char *floor)
{
	char *argv[] = { (char *)floor, NULL };
	posix_spawn_file_actions_t quiet;
	double t0, t;
	pid_t pid;
	int st;

	if (posix_spawn_file_actions_init(&quiet) ||
	    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0))
		return -1;
	t0 = now_ms();
	if (posix_spawn(&pid, floor, &quiet, NULL, argv, environ) ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		t = -1;
	else
		t = now_ms() - t0;
	posix_spawn_file_actions_destroy(&quiet);
	return t;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double quantile(double *v, size_t n, double q)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

int main(int argc, char **argv)
{
	static const char spec[] = "{\"vcpus\": 1, \"memory_mib\": 32, "
				   "\"kernel\": \"off.Image\", \"start\": true}";
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	const char *floor = argc > 3 ? argv[3] : "/usr/bin/pinvm-bench-floor";
	double *post, *first, *floors, *ratio;
	size_t n = 0, nf = 0;
	int failed = 0, unsettled = 0;

	if (argc > 2)
		port = atoi(argv[2]);
	if (rounds < 1 || port < 1 || port > 65535) {
		fprintf(stderr, "usage: %s [ROUNDS [PORT [FLOOR]]]\n", argv[0]);
		return 2;
	}
	post = calloc((size_t)rounds, sizeof(double));
	first = calloc((size_t)rounds, sizeof(double));
	floors = calloc((size_t)rounds, sizeof(double));
	ratio = calloc((size_t)rounds, sizeof(double));
	for (int i = 0; i < rounds && post && first && floors && ratio; i++) {
		char id[64], path[160], state[32], reason[32];
		double t0, tp, f, tf = -1;
		int st;

		unsettled += !settled();
		t0 = now_ms();
		st = request("POST", "/v1/vms", spec);
		tp = now_ms() - t0;
		field("id", id, sizeof(id));
		if (st != 201 || !id[0]) {
			fprintf(stderr, "create_local: POST answered %d: %.300s\n", st, resp);
			failed++;
			continue;
		}
		snprintf(path, sizeof(path), "/v1/vms/%s?wait_for=stopped&timeout=60", id);
		st = request("GET", path, NULL);
		field("state", state, sizeof(state));
		field("exit_reason", reason, sizeof(reason));
		if (st == 200 && !strcmp(state, "stopped") && !strcmp(reason, "poweroff")) {
			tf = now_ms() - t0;
			post[n] = tp;
			first[n++] = tf;
		} else {
			failed++;
		}
		snprintf(path, sizeof(path), "/v1/vms/%s", id);
		request("DELETE", path, NULL);
		unsettled += !settled();
		f = floor_once(floor);
		if (f > 0 && tf > 0) {
			floors[nf] = f;
			ratio[nf++] = tf / f;
		}
	}
	printf("create_local: %zu rounds, %d failed%s: POST /v1/vms with \"start\": true "
	       "answered: median %.1f ms; -> first guest instruction median %.1f ms, p90 %.1f ms; "
	       "floor median %.1f ms; pinvm / floor, round by round: median %.1fx\n",
	       n, failed, unsettled ? " (some began without a standby ready)" : "",
	       quantile(post, n, 0.5), quantile(first, n, 0.5), quantile(first, n, 0.9),
	       quantile(floors, nf, 0.5), quantile(ratio, nf, 0.5));
	free(post);
	free(first);
	free(floors);
	free(ratio);
	if (sock >= 0)
		close(sock);
	return n ? 0 : 1;
}
