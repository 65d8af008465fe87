/*
 * The API's front door (issue 13): requests no well-behaved client sends.
 * The bad-request table below is sent byte for byte over raw sockets;
 * every row must get its problem+json (status, code, field, request_id)
 * and leave the server serving. Then what such requests must not do:
 * change the resource they name, break /metrics, or be counted as 5xx.
 * usage: test_front_door_native PINVMD
 */
#include "check.h"
#include "client.h"
#include "daemon.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pinvmd;
static char dir[] = "/tmp/pinvm-front-XXXXXX";
static char logpath[128], tlogpath[128];
static struct client c, ctok;
static int port, tport;
static char token[256];

struct bad_request {
	const char *name;
	const char *raw;   /* the whole request; "TOKEN" is replaced */
	size_t len;        /* 0: strlen(raw) */
	int on_token;      /* send to the listener that wants a token */
	long status;
	const char *code;
	const char *field; /* NULL: no field */
};

#define R(s) s, sizeof(s) - 1

static const struct bad_request bad_requests[] = {
	{ "%00 in a path segment", R("DELETE /v1/profiles/victim%00.bak HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "%2f in a path segment", R("GET /v1%2fhealth HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "%2F in a profile name", R("GET /v1/profiles/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "%ff in the path", R("GET /v1/health%ff HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "a raw 0xff byte in the path", R("GET /v1/\xff HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "an overlong UTF-8 '/' in the path", R("GET /v1%c0%afhealth HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "a UTF-16 surrogate in the path", R("GET /v1/profiles/%ed%a0%80 HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "a '%' without two hex digits", R("GET /v1/profiles/a%4 HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "an escaped control character", R("GET /v1/profiles/a%0a HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "a path not starting with '/'", R("GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_path", "path" },
	{ "a 0xff byte in the method", R("G\xffT /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_method", "method" },
	{ "a quote in the method", R("A\"B /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_method", "method" },
	{ "a 33-character method", R("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_method", "method" },
	{ "%ff in a query value", R("GET /v1/vms/x/console?offset=%ff HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_query", "offset" },
	{ "%00 in a query value", R("GET /v1/vms/x/console?offset=0%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_query", "offset" },
	{ "console follow=yes", R("GET /v1/vms/x/console?follow=yes HTTP/1.1\r\nHost: x\r\n\r\n"),
	  0, 400, "bad_follow", "follow" },
	{ "console input as JSON",
	  R("POST /v1/vms/x/console HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}"),
	  0, 415, "unsupported_media_type", "Content-Type" },
	{ "console input without a Content-Type",
	  R("POST /v1/vms/x/console HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nls\n"),
	  0, 415, "unsupported_media_type", "Content-Type" },
	{ "console input of no bytes",
	  R("POST /v1/vms/x/console HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/octet-stream\r\nContent-Length: 0\r\n\r\n"),
	  0, 400, "empty_input", "body" },
	{ "console input for an unknown VM",
	  R("POST /v1/vms/x/console HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/octet-stream\r\nContent-Length: 3\r\n\r\nls\n"),
	  0, 404, "vm_not_found", NULL },
	{ "two different Content-Length headers",
	  R("POST /v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\nContent-Length: 44\r\n\r\n"
	    "{}DELETE /v1/profiles/victim HTTP/1.1\r\n\r\n"),
	  0, 400, "conflicting_content_length", "Content-Length" },
	{ "Transfer-Encoding with Content-Length",
	  R("POST /v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\nDELETE /v1/profiles/victim HTTP/1.1\r\n\r\n"),
	  0, 400, "conflicting_framing", "Transfer-Encoding" },
	{ "a transfer coding other than chunked",
	  R("POST /v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
	  0, 400, "unsupported_transfer_encoding", "Transfer-Encoding" },
	{ "no token, 1 MiB announced and never sent: 401 at once",
	  R("POST /v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 1048576\r\n\r\n"),
	  1, 401, "unauthorized", NULL },
	{ "a wrong token, 1 MiB announced and never sent: 401 at once",
	  R("POST /v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	    "Authorization: Bearer not-the-token-at-all\r\nContent-Length: 1048576\r\n\r\n"),
	  1, 401, "unauthorized", NULL },
	{ "the token and a bad path: 400, so the token is checked first only for strangers",
	  R("GET /v1/health%ff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN\r\n\r\n"),
	  1, 400, "bad_path", "path" },
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

static void send_bad(const struct bad_request *b)
{
	char name[200], *raw;
	const char *at;
	struct response r;
	size_t len = b->len ? b->len : strlen(b->raw);

	/* Room for the token in place of "TOKEN". */
	raw = malloc(len + sizeof(token) + 1);
	at = memmem(b->raw, len, "TOKEN", 5);
	if (at) {
		size_t pre = (size_t)(at - b->raw), tl = strlen(token);

		memcpy(raw, b->raw, pre);
		memcpy(raw + pre, token, tl);
		memcpy(raw + pre + tl, at + 5, len - pre - 5);
		len = len - 5 + tl;
	} else {
		memcpy(raw, b->raw, len);
	}
	raw_call(b->on_token ? tport : port, raw, len, &r);
	free(raw);
	snprintf(name, sizeof(name), "%s: %ld %s", b->name, b->status, b->code);
	check(r.status == b->status && !strcmp(r.content_type, "application/problem+json") &&
		      !strcmp(response_str(&r, "code") ?: "", b->code) &&
		      (b->field ? !strcmp(response_str(&r, "field") ?: "", b->field)
				: !json_object_get(r.json, "field")) &&
		      response_str(&r, "request_id") &&
		      !strcmp(response_str(&r, "request_id"), r.request_id),
	      name, "got %ld %s (%s)", r.status, r.body ? r.body : "", r.error);
	response_free(&r);
}

static long call(const struct client *cl, const char *method, const char *path,
		 const char *body, struct response *r)
{
	client_call(cl, method, path, NULL, body, body ? strlen(body) : 0, NULL, r);
	return r->status;
}

static void test_bad_requests(void)
{
	struct response r;

	call(&c, "POST", "/v1/profiles", "{\"name\": \"victim\", \"registers\": {}}", &r);
	check(r.status == 201, "profile victim stored", "%ld %s", r.status, r.body);
	response_free(&r);
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++)
		send_bad(&bad_requests[i]);
	call(&c, "GET", "/v1/profiles/victim", NULL, &r);
	check(r.status == 200, "DELETE /v1/profiles/victim%00.bak left victim alone",
	      "GET victim: %ld", r.status);
	response_free(&r);
	call(&c, "GET", "/v1/health", NULL, &r);
	check(r.status == 200, "pinvmd still serves after the bad requests", "%ld", r.status);
	response_free(&r);
}

static void test_token(void)
{
	char hdr[300];
	struct response r;

	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
	client_call(&ctok, "GET", "/v1/health", NULL, NULL, 0, hdr, &r);
	check(r.status == 200, "the 255-character token is accepted", "%ld %s", r.status, r.body);
	response_free(&r);
	hdr[strlen(hdr) - 1] = '\0';
	client_call(&ctok, "GET", "/v1/health", NULL, NULL, 0, hdr, &r);
	check(r.status == 401, "254 of its characters are not", "%ld", r.status);
	response_free(&r);
}

/* The pinvm_http_requests_total count of one series, or -1. */
static long long series(const char *text, const char *labels)
{
	char needle[200];
	const char *p;

	snprintf(needle, sizeof(needle), "pinvm_http_requests_total{%s} ", labels);
	p = text ? strstr(text, needle) : NULL;
	return p ? atoll(p + strlen(needle)) : -1;
}

/*
 * Made-up methods can neither break the exposition nor crowd out real
 * routes: every method label is a known one, and /v1/health keeps being
 * counted after 300 of them.
 */
static void test_metrics(void)
{
	const char *health = "route=\"/v1/health\",method=\"GET\",status=\"200\"";
	struct response r;
	long long before, after;
	bool labels_ok = true;
	char raw[128];

	call(&c, "GET", "/metrics", NULL, &r);
	before = series(r.body, health);
	response_free(&r);
	for (int i = 0; i < 300; i++) {
		snprintf(raw, sizeof(raw), "M%03d /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", i);
		raw_call(port, raw, strlen(raw), &r);
		response_free(&r);
	}
	call(&c, "GET", "/v1/health", NULL, &r);
	response_free(&r);
	call(&c, "GET", "/metrics", NULL, &r);
	after = series(r.body, health);
	for (const char *p = r.body ? strstr(r.body, "method=\"") : NULL; p;
	     p = strstr(p + 1, "method=\"")) {
		static const char *const known[] = { "GET\"", "HEAD\"", "POST\"", "PUT\"",
						     "DELETE\"", "PATCH\"", "OPTIONS\"",
						     "other\"" };
		bool ok = false;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok = ok || !strncmp(p + 8, known[k], strlen(known[k]));
		labels_ok = labels_ok && ok;
	}
	check(r.status == 200 && labels_ok,
	      "after 'A\"B' and 300 made-up methods every method label is a known one",
	      "%ld %.300s", r.status, r.body ? strstr(r.body, "pinvm_http_requests_total{") : "");
	check(after == before + 1, "GET /v1/health is still counted after them",
	      "before %lld, after %lld", before, after);
	check(series(r.body, "route=\"unmatched\",method=\"other\",status=\"405\"") >= 300,
	      "the made-up methods are counted as method \"other\"", "%.200s", r.body);
	response_free(&r);
}

/* A truncated database stops pinvmd at start-up, saying where and what. */
static void test_empty_database(void)
{
	char state[160], db[200], log[4096], lp[160];
	const char *args[] = { "--listen", NULL, "--state-dir", state, NULL };
	char spec[64];
	FILE *f;
	int st;

	snprintf(state, sizeof(state), "%s/empty-state", dir);
	snprintf(db, sizeof(db), "%s/pinvm.db", state);
	snprintf(lp, sizeof(lp), "%s/empty.log", dir);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", daemon_free_port());
	args[1] = spec;
	mkdir(state, 0700);
	f = fopen(db, "w");
	if (f)
		fclose(f);
	st = daemon_run_to_exit(pinvmd, args, lp, log, sizeof(log));
	check(st == 1 && strstr(log, db) && strstr(log, "0 bytes"),
	      "a 0-byte database: pinvmd refuses to start, naming it", "exit %d: %s", st, log);
}

/* A connection to 127.0.0.1:p from source address src, or -1. */
static int connect_from(const char *src, int p)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = {
		.sin_family = AF_INET, .sin_port = htons((unsigned short)p),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, src, &from.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Slowloris from one peer (127.0.0.2): 12 connections that never finish
 * their headers but send a byte every 200 ms. With 4 per peer allowed,
 * the server closes 8 at once; with a 1 s header deadline, the other 4
 * within a few seconds though they never go idle; meanwhile 127.0.0.1 is
 * served. libmicrohttpd's idle timeout alone would have kept all 12.
 */
static void test_slowloris(int sport)
{
	enum { N = 12 };
	struct client cs = { 0 };
	struct response r;
	int fds[N], open_n = 0, closed = 0;
	double start = now_s(), all_closed = -1;

	snprintf(cs.base, sizeof(cs.base), "http://127.0.0.1:%d", sport);
	for (int i = 0; i < N; i++) {
		fds[i] = connect_from("127.0.0.2", sport);
		if (fds[i] >= 0) {
			open_n++;
			send(fds[i], "GET /v1/health HTTP/1.1\r\nHost: x\r\n", 35, MSG_NOSIGNAL);
			fcntl(fds[i], F_SETFL, O_NONBLOCK);
		}
	}
	client_call(&cs, "GET", "/v1/health", NULL, NULL, 0, NULL, &r);
	check(r.status == 200 && now_s() - start < 1.0,
	      "127.0.0.1 is served at once while 127.0.0.2 holds slow connections",
	      "%ld after %.2f s", r.status, now_s() - start);
	response_free(&r);
	/* Trickles until the server has closed every one, for at most 8 s. */
	while (closed < open_n && now_s() - start < 8) {
		for (int i = 0; i < N; i++) {
			char b[64];
			ssize_t n;

			if (fds[i] < 0)
				continue;
			n = recv(fds[i], b, sizeof(b), 0);
			if (n == 0 || (n < 0 && errno != EAGAIN) ||
			    send(fds[i], "X", 1, MSG_NOSIGNAL) < 0) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		}
		poll(NULL, 0, 200);
	}
	if (closed == open_n)
		all_closed = now_s() - start;
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	check(open_n == N && all_closed >= 0 && all_closed < 6,
	      "slow headers: all 12 closed by the per-peer cap and the 1 s header deadline",
	      "%d opened, %d closed, after %.2f s", open_n, closed, now_s() - start);
}

/* --max-profiles, and GET /v1/profiles in pages. */
static void test_profile_pages(const struct client *cp)
{
	struct response r;
	char body[128], path[128], cursor[64] = "";
	int created = 0, pages = 0, seen = 0;
	bool last_has_no_cursor = false, in_order = true;

	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "{\"name\": \"p%d\", \"registers\": {}}", i);
		client_call(cp, "POST", "/v1/profiles", NULL, body, strlen(body), NULL, &r);
		if (i < 5)
			created += r.status == 201;
		else
			check(r.status == 409 &&
				      !strcmp(response_str(&r, "code") ?: "", "too_many_profiles") &&
				      strstr(response_str(&r, "detail") ?: "", "--max-profiles 5"),
			      "the 6th profile with --max-profiles 5: 409 too_many_profiles",
			      "%ld %s", r.status, r.body);
		response_free(&r);
	}
	check(created == 5, "5 profiles stored", "%d", created);
	do {
		snprintf(path, sizeof(path), "/v1/profiles?limit=2%s%s", cursor[0] ? "&cursor=" : "",
			 cursor);
		client_call(cp, "GET", path, NULL, NULL, 0, NULL, &r);
		if (r.status != 200)
			break;
		pages++;
		for (size_t i = 0; i < json_array_size(json_object_get(r.json, "profiles")); i++) {
			char want[16];

			snprintf(want, sizeof(want), "p%d", seen++);
			in_order = in_order && !strcmp(json_string_value(json_object_get(
				json_array_get(json_object_get(r.json, "profiles"), i), "name")) ?: "", want);
		}
		snprintf(cursor, sizeof(cursor), "%s", response_str(&r, "next_cursor") ?: "");
		last_has_no_cursor = !json_object_get(r.json, "next_cursor");
		response_free(&r);
	} while (cursor[0] && pages < 10);
	check(pages == 3 && seen == 5 && in_order && last_has_no_cursor,
	      "limit=2 pages through 5 profiles in 3 pages, in order, no next_cursor at the end",
	      "%d pages, %d seen, in order %d", pages, seen, in_order);
	client_call(cp, "GET", "/v1/profiles", NULL, NULL, 0, NULL, &r);
	check(r.status == 200 && json_array_size(json_object_get(r.json, "profiles")) == 5 &&
		      !json_object_get(r.json, "next_cursor"),
	      "without limit, the profiles member still holds them all (few)", "%s", r.body);
	response_free(&r);
	client_call(cp, "DELETE", "/v1/profiles/p0", NULL, NULL, 0, NULL, &r);
	response_free(&r);
	snprintf(body, sizeof(body), "{\"name\": \"p5\", \"registers\": {}}");
	client_call(cp, "POST", "/v1/profiles", NULL, body, strlen(body), NULL, &r);
	check(r.status == 201, "after a delete there is room for one more", "%ld", r.status);
	response_free(&r);
	{
		static const struct { const char *path, *code, *field; } bad[] = {
			{ "/v1/profiles?colour=red", "unknown_parameter", "colour" },
			{ "/v1/profiles?limit=1&limit=2", "duplicate_parameter", "limit" },
			{ "/v1/profiles?limit=0", "bad_limit", "limit" },
			{ "/v1/profiles?limit=1001", "bad_limit", "limit" },
			{ "/v1/profiles?limit=-1", "bad_limit", "limit" },
			{ "/v1/profiles?cursor=zzz", "bad_cursor", "cursor" },
			{ "/v1/profiles?cursor=p%ff", "bad_query", "cursor" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char name[160];

			client_call(cp, "GET", bad[i].path, NULL, NULL, 0, NULL, &r);
			snprintf(name, sizeof(name), "GET %s: 400 %s", bad[i].path, bad[i].code);
			check(r.status == 400 && !strcmp(response_str(&r, "code") ?: "", bad[i].code) &&
				      !strcmp(response_str(&r, "field") ?: "", bad[i].field),
			      name, "%ld %s", r.status, r.body);
			response_free(&r);
		}
	}
}

static int fd_count(pid_t p)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p);
	d = opendir(path);
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/*
 * 100 clients send half a POST and close (no per-peer cap here): pinvmd
 * must let go of their connections at once, not when a timeout fires.
 * With libmicrohttpd's epoll loop they stayed in CLOSE-WAIT until then.
 */
static void test_abandoned(int aport, pid_t apid)
{
	static const char half[] = "POST /v1/profiles HTTP/1.1\r\nHost: x\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 4000\r\n\r\n{\"name\": \"half";
	int base = fd_count(apid), extra = -1, sent = 0;
	double start;

	for (int i = 0; i < 100; i++) {
		int fd = connect_from("127.0.0.3", aport);

		if (fd >= 0) {
			sent += send(fd, half, sizeof(half) - 1, MSG_NOSIGNAL) > 0;
			close(fd);
		}
	}
	start = now_s();
	/* The connections end at once or not for a minute (the body
	 * deadline): 3 s tells them apart under any load. */
	while (now_s() - start < 3 && (extra = fd_count(apid) - base) > 0)
		poll(NULL, 0, 20);
	check(sent == 100 && extra <= 0,
	      "100 abandoned half-requests: pinvmd lets go of every connection at once",
	      "%d sent, %d connections still held after %.1f s", sent, extra, now_s() - start);
}

/* Every request of the table is logged, with its path made printable. */
static void test_logged(void)
{
	FILE *f = fopen(logpath, "r");
	char line[4096];
	bool ff = false, method = false, five = false;

	while (f && fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, NULL);

		if (!j)
			continue;
		if (!strcmp(json_string_value(json_object_get(j, "path")) ?: "", "/v1/health%ff") &&
		    json_integer_value(json_object_get(j, "status")) == 400)
			ff = true;
		if (!strcmp(json_string_value(json_object_get(j, "method")) ?: "", "G%FFT"))
			method = true;
		if (json_integer_value(json_object_get(j, "status")) >= 500)
			five = true;
		json_decref(j);
	}
	if (f)
		fclose(f);
	check(ff, "the %ff request is logged with its path as sent and 400", "see %s", logpath);
	check(method, "a 0xff method is logged escaped (G%FFT)", "see %s", logpath);
	check(!five, "no bad request was answered 5xx", "see %s", logpath);
}

int main(int argc, char **argv)
{
	char state[128], tokpath[128], tcp[64], tcp2[64], tstate[128];
	pid_t pid, tpid;
	int status;

	if (argc != 2 || !mkdtemp(dir))
		return 2;
	pinvmd = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(logpath, sizeof(logpath), "%s/pinvmd.log", dir);
	snprintf(tokpath, sizeof(tokpath), "%s/token", dir);
	/* The longest token the help promises: 255 characters. */
	memset(token, 'k', 255);
	token[255] = '\0';
	{
		char line[300];

		snprintf(line, sizeof(line), "%s\n", token);
		write_file(tokpath, line, 0600);
	}
	port = daemon_free_port();
	tport = daemon_free_port();
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", port);
	snprintf(tcp2, sizeof(tcp2), "tcp:127.0.0.1:%d", tport);
	{
		const char *args[] = { "--listen", tcp, "--state-dir", state, NULL };

		pid = daemon_spawn(pinvmd, args, logpath);
	}
	/* A token applies to every TCP listener: a second pinvmd has one. */
	snprintf(tstate, sizeof(tstate), "%s/tstate", dir);
	snprintf(tlogpath, sizeof(tlogpath), "%s/pinvmd-token.log", dir);
	{
		const char *args[] = { "--listen", tcp2, "--state-dir", tstate,
				       "--token-file", tokpath, NULL };

		tpid = daemon_spawn(pinvmd, args, tlogpath);
	}
	if (!check(daemon_wait_tcp(port, pid), "pinvmd starts", "see %s", logpath) ||
	    !check(daemon_wait_tcp(tport, tpid), "pinvmd starts with a 255-character token",
		   "see %s", tlogpath)) {
		kill(pid, SIGKILL);
		kill(tpid, SIGKILL);
		waitpid(pid, NULL, 0);
		waitpid(tpid, NULL, 0);
		return check_summary();
	}
	snprintf(c.base, sizeof(c.base), "http://127.0.0.1:%d", port);
	snprintf(ctok.base, sizeof(ctok.base), "http://127.0.0.1:%d", tport);

	test_bad_requests();
	test_token();
	test_metrics();
	test_empty_database();
	{
		char pstate[160], plog[160], pspec[64];
		int pport = daemon_free_port();
		const char *args[] = { "--listen", pspec, "--state-dir", pstate,
				       "--max-profiles", "5", "--max-connections-per-peer", "0",
				       NULL };
		struct client cp = { 0 };
		pid_t ppid;

		snprintf(pstate, sizeof(pstate), "%s/pages-state", dir);
		snprintf(plog, sizeof(plog), "%s/pages.log", dir);
		snprintf(pspec, sizeof(pspec), "tcp:127.0.0.1:%d", pport);
		snprintf(cp.base, sizeof(cp.base), "http://127.0.0.1:%d", pport);
		ppid = daemon_spawn(pinvmd, args, plog);
		if (check(daemon_wait_tcp(pport, ppid), "pinvmd starts with --max-profiles 5",
			  "see %s", plog)) {
			test_profile_pages(&cp);
			test_abandoned(pport, ppid);
		}
		kill(ppid, SIGTERM);
		waitpid(ppid, NULL, 0);
	}
	{
		char sstate[160], slog[160], sspec[64];
		int sport = daemon_free_port();
		const char *args[] = { "--listen", sspec, "--state-dir", sstate,
				       "--header-timeout", "1", "--max-connections", "16",
				       "--max-connections-per-peer", "4", NULL };
		pid_t spid;

		snprintf(sstate, sizeof(sstate), "%s/slow-state", dir);
		snprintf(slog, sizeof(slog), "%s/slow.log", dir);
		snprintf(sspec, sizeof(sspec), "tcp:127.0.0.1:%d", sport);
		spid = daemon_spawn(pinvmd, args, slog);
		if (check(daemon_wait_tcp(sport, spid), "pinvmd starts with tight connection limits",
			  "see %s", slog))
			test_slowloris(sport);
		kill(spid, SIGTERM);
		waitpid(spid, NULL, 0);
	}

	kill(tpid, SIGTERM);
	waitpid(tpid, NULL, 0);
	kill(pid, SIGTERM);
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "pinvmd stops cleanly", "status 0x%x", status);
	test_logged();
	if (daemon_remove_dir(dir) < 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	curl_global_cleanup();
	return check_summary();
}
