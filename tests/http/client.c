#include "client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	char *p = realloc(r->body, r->len + len + 1);

	if (!p)
		return 0;
	memcpy(p + r->len, data, len);
	r->body = p;
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static void keep_header(const char *line, size_t len, const char *name,
			char *out, size_t outlen)
{
	size_t n = strlen(name);

	if (len <= n + 1 || strncasecmp(line, name, n) || line[n] != ':')
		return;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	snprintf(out, outlen, "%.*s", (int)len, line);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;

	keep_header(data, len, "Content-Type", r->content_type,
		    sizeof(r->content_type));
	keep_header(data, len, "Allow", r->allow, sizeof(r->allow));
	keep_header(data, len, "X-Request-Id", r->request_id,
		    sizeof(r->request_id));
	keep_header(data, len, "ETag", r->etag, sizeof(r->etag));
	keep_header(data, len, "Idempotent-Replayed", r->replayed, sizeof(r->replayed));
	keep_header(data, len, "X-Console-Offset", r->console_offset,
		    sizeof(r->console_offset));
	keep_header(data, len, "X-Console-Next-Offset", r->console_next,
		    sizeof(r->console_next));
	return len;
}

void client_call(const struct client *c, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 const char *header, struct response *r)
{
	struct curl_slist *hdrs = NULL;
	char url[1024], ct[160];
	CURLcode rc;
	CURL *h;

	memset(r, 0, sizeof(*r));
	h = c->conn ? c->conn : curl_easy_init();
	/* A reset keeps the handle's open connection, only the options go. */
	if (c->conn)
		curl_easy_reset(h);
	if (!h) {
		snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
		return;
	}
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (c->unix_path[0])
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	if (body) {
		snprintf(ct, sizeof(ct), "Content-Type: %s",
			 content_type ? content_type : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)body_len);
	}
	/* curl would otherwise wait a second for "100 Continue". */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (header)
		hdrs = curl_slist_append(hdrs, header);
	if (c->token[0]) {
		char auth[200];

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	curl_slist_free_all(hdrs);
	if (!c->conn)
		curl_easy_cleanup(h);
}

void response_free(struct response *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *response_str(const struct response *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

/* Whether buf holds one whole response (headers and Content-Length). */
static bool raw_complete(const char *buf, size_t len)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;

	if (!end)
		return false;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (!cl || cl > end)
		return false;
	return len - (size_t)(end + 4 - buf) >= strtoul(cl + 17, NULL, 10);
}

long raw_call(int port, const char *req, size_t len, struct response *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 10 };
	size_t cap = 1 << 16, got = 0;
	char *buf, *p, *end;
	int fd;

	memset(r, 0, sizeof(*r));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	buf = malloc(cap + 1);
	if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(r->error, sizeof(r->error), "connect: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, len, MSG_NOSIGNAL) < 0)
		snprintf(r->error, sizeof(r->error), "send: %s", strerror(errno));
	for (;;) {
		ssize_t n = recv(fd, buf + got, cap - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (got == cap || raw_complete(buf, got))
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %ld", &r->status) != 1)
		r->status = 0;
	end = strstr(buf, "\r\n\r\n");
	for (p = strstr(buf, "\r\n"); p && end && p < end; p = strstr(p + 2, "\r\n")) {
		size_t l = (size_t)(strstr(p + 2, "\r\n") - (p + 2));

		keep_header(p + 2, l, "Content-Type", r->content_type, sizeof(r->content_type));
		keep_header(p + 2, l, "Allow", r->allow, sizeof(r->allow));
		keep_header(p + 2, l, "X-Request-Id", r->request_id, sizeof(r->request_id));
	}
	if (end) {
		r->body = strdup(end + 4);
		r->len = r->body ? strlen(r->body) : 0;
		/* The first JSON value only: a second response may follow. */
		if (r->body)
			r->json = json_loads(r->body, JSON_DISABLE_EOF_CHECK, NULL);
	}
	free(buf);
	return (long)got;
}

double client_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long client_json(const struct client *c, const char *method, const char *path, json_t *body,
		 struct response *r)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	client_call(c, method, path, NULL, text, text ? strlen(text) : 0, NULL, r);
	free(text);
	json_decref(body);
	return r->status;
}

char *client_post_text(const struct client *c, const char *path, const char *text)
{
	struct response r;
	char *out;

	client_call(c, "POST", path, "text/plain", text, strlen(text), NULL, &r);
	out = r.status == 200 && r.body ? strdup(r.body) : NULL;
	response_free(&r);
	return out;
}

char *client_console(const struct client *c, const char *vm_id)
{
	char path[160];
	struct response r;
	char *all = NULL;

	snprintf(path, sizeof(path), "/v1/vms/%s/console?offset=0", vm_id);
	client_call(c, "GET", path, NULL, NULL, 0, NULL, &r);
	if (r.status == 200)
		all = strdup(r.body ? r.body : "");
	response_free(&r);
	return all;
}

char *client_wait_console(const struct client *c, const char *vm_id,
			  bool (*done)(const char *console, void *arg), void *arg, int stall_s)
{
	double t0 = client_now(), grew = t0;
	size_t len = 0;

	while (client_now() - grew < stall_s && client_now() - t0 < 4.0 * stall_s) {
		char *s = client_console(c, vm_id);

		if (s && done(s, arg))
			return s;
		if (s && strlen(s) > len) {
			len = strlen(s);
			grew = client_now();
		}
		free(s);
		usleep(500000);
	}
	return NULL;
}

json_t *client_get_json(const struct client *c, const char *path)
{
	struct response r;
	json_t *o;

	client_call(c, "GET", path, NULL, NULL, 0, NULL, &r);
	o = r.status == 200 ? json_incref(r.json) : NULL;
	response_free(&r);
	return o;
}

json_t *client_get_vm(const struct client *c, const char *vm_id)
{
	char path[160];

	snprintf(path, sizeof(path), "/v1/vms/%s", vm_id);
	return client_get_json(c, path);
}

char *client_lab_sh(const struct client *ctl, const char *cmd)
{
	struct response r;
	char *out;

	client_call(ctl, "POST", "/cgi-bin/run", "text/plain", cmd, strlen(cmd), NULL, &r);
	out = r.status == 200 && r.body ? strdup(r.body) : NULL;
	response_free(&r);
	return out;
}

long client_metric(const struct client *c, const char *name)
{
	struct response r;
	char line[128];
	const char *p;
	long v = -1;

	snprintf(line, sizeof(line), "\n%s ", name);
	client_call(c, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
	p = r.status == 200 && r.body ? strstr(r.body, line) : NULL;
	if (p)
		v = strtol(p + strlen(line), NULL, 10);
	response_free(&r);
	return v;
}

bool client_api_up(const struct client *c, int seconds)
{
	for (int i = 0; i < seconds * 4; i++) {
		struct response r;
		bool up;

		client_call(c, "GET", "/v1/health", NULL, NULL, 0, NULL, &r);
		up = r.status == 200;
		response_free(&r);
		if (up)
			return true;
		usleep(250000);
	}
	return false;
}

bool client_lab_pinvmd_end(const struct client *ctl, int sig)
{
	char cmd[256], *out;
	bool gone;

	snprintf(cmd, sizeof(cmd),
		 "touch /run/lab-hold; p=$(pidof pinvmd) && kill -%d $p; "
		 "for i in $(seq 1 600); do [ -e /proc/$p ] || break; usleep 100000; done; "
		 "[ -e /proc/$p ] && echo still-there; echo done", sig);
	out = client_lab_sh(ctl, cmd);
	gone = out && strstr(out, "done") && !strstr(out, "still-there");
	free(out);
	return gone;
}

char *client_lab_probe_image(const struct client *ctl)
{
	char *out = client_post_text(ctl, "/cgi-bin/run",
				     "echo '{\"path\": \"/images/" CLIENT_PROBE_IMAGE "\"}' |"
				     " pinvm-vmm --helper probe-image");

	if (out && strstr(out, "\"ok\"")) {
		free(out);
		return NULL;
	}
	return out ? out : strdup("(no answer from the control port)");
}
