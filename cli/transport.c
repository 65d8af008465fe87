#include "transport.h"

#include "httpc.h"

#include <ctype.h>
#include <stdbool.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A console follow asks again and again, but one answer is at most 1 MiB;
 * a capture runs the probe guest, which takes seconds in the lab. */
#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 600L
#define BODY_LIMIT (64u << 20)

int endpoint_read_token(struct endpoint *ep, const char *path, char *err,
			size_t errlen)
{
	char line[sizeof(ep->token) + 2];
	size_t n, start = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	n = strlen(line);
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	while (isspace((unsigned char)line[start]))
		start++;
	if (n == start) {
		snprintf(err, errlen, "token file %s is empty", path);
		return -1;
	}
	if (n - start >= sizeof(ep->token)) {
		snprintf(err, errlen, "token file %s: the token is longer than %zu characters",
			 path, sizeof(ep->token) - 1);
		return -1;
	}
	memcpy(ep->token, line + start, n - start + 1);
	return 0;
}

int endpoint_default_socket(char *out, size_t len)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(out, len, "/run/pinvm/pinvmd.sock");
	else if (run && *run)
		n = snprintf(out, len, "%s/pinvm/pinvmd.sock", run);
	else
		n = snprintf(out, len, "/tmp/pinvm-%u/pinvmd.sock", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct response *r = arg;
	size_t n = size * nmemb;
	char *grown;

	/* Returning less than n makes curl fail the transfer. */
	if (r->len + n > BODY_LIMIT)
		return 0;
	grown = realloc(r->body, r->len + n + 1);
	if (!grown)
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* X-Console-Next-Offset: the offset to ask for next. */
/* "Name: 123" (name with its colon) into *out when data is that header. */
static void header_offset(const char *data, size_t n, const char *name, long long *out)
{
	size_t nl = strlen(name);
	char value[32];

	if (n > nl && n - nl < sizeof(value) && strncasecmp(data, name, nl) == 0) {
		char *end;
		long long v;

		memcpy(value, data + nl, n - nl);
		value[n - nl] = '\0';
		errno = 0;
		v = strtoll(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (errno == 0 && *end == '\0' && v >= 0)
			*out = v;
	}
}

static void on_header(const char *data, size_t n, void *arg)
{
	struct response *r = arg;

	header_offset(data, n, "X-Console-Next-Offset:", &r->next_offset);
	header_offset(data, n, "X-Console-Offset:", &r->start_offset);
}

static int request(const struct endpoint *ep, const char *method, const char *path,
		   const char *content_type, const char *body, size_t len, struct response *r);

static size_t on_stream_header(char *data, size_t size, size_t nmemb, void *arg)
{
	on_header(data, size * nmemb, arg);
	return size * nmemb;
}

int transport_request(const struct endpoint *ep, const char *method,
		      const char *path, const char *body, struct response *r)
{
	return request(ep, method, path, NULL, body, body ? strlen(body) : 0, r);
}

int transport_request_raw(const struct endpoint *ep, const char *method, const char *path,
			  const char *content_type, const void *body, size_t len,
			  struct response *r)
{
	return request(ep, method, path, content_type, body, len, r);
}

static int request(const struct endpoint *ep, const char *method, const char *path,
		   const char *content_type, const char *body, size_t len, struct response *r)
{
	const char *base = ep->unix_path ? "http://localhost" : ep->url;
	size_t blen = strlen(base);
	struct httpc_call call = {
		.method = method,
		.unix_path = ep->unix_path,
		.ca_file = ep->cacert,
		.token = ep->token,
		.accept = "application/json, application/problem+json, text/plain",
		.body = body,
		.content_type = content_type,
		.body_len = len,
		.connect_timeout_ms = CONNECT_TIMEOUT_S * 1000,
		.timeout_ms = REQUEST_TIMEOUT_S * 1000,
		.body_limit = BODY_LIMIT,
		.on_header = on_header,
		.header_arg = r,
	};
	struct httpc_answer a;
	char url[2048];
	int n;

	memset(r, 0, sizeof(*r));
	r->next_offset = r->start_offset = -1;
	/* "http://host:8080/" + "/v1/..." must not become "//v1/...". */
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	n = snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(r->error, sizeof(r->error), "URL too long");
		return -1;
	}
	call.url = url;
	if (httpc_perform(&call, &a) < 0) {
		snprintf(r->error, sizeof(r->error), "%s", a.error);
		return -1;
	}
	r->status = a.status;
	r->body = a.body;
	r->len = a.len;
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	return 0;
}

struct stream {
	struct response *r;
	CURL *curl;
	int (*on_data)(const char *data, size_t n, void *arg);
	void *arg;
	bool stopped;
};

static size_t on_stream(char *data, size_t size, size_t nmemb, void *arg)
{
	struct stream *s = arg;
	long status = 0;

	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300)
		return on_body(data, size, nmemb, s->r);
	if (s->on_data(data, size * nmemb, s->arg)) {
		s->stopped = true;
		return 0;
	}
	return size * nmemb;
}

int transport_stream(const struct endpoint *ep, const char *path, const char *header,
		     int (*on_data)(const char *data, size_t n, void *arg), void *arg,
		     struct response *r)
{
	struct stream s = { .r = r, .on_data = on_data, .arg = arg };
	struct curl_slist *headers = NULL, *h;
	const char *base = ep->unix_path ? "http://localhost" : ep->url;
	size_t blen = strlen(base);
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	char url[2048], auth[300];
	int n;

	memset(r, 0, sizeof(*r));
	r->next_offset = r->start_offset = -1;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	n = snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(r->error, sizeof(r->error), "URL too long");
		return -1;
	}
	s.curl = curl_easy_init();
	if (!s.curl) {
		snprintf(r->error, sizeof(r->error), "cannot start libcurl");
		return -1;
	}
	if (!(h = curl_slist_append(headers, "Accept: text/event-stream, application/problem+json")))
		goto out;
	headers = h;
	if (header) {
		if (!(h = curl_slist_append(headers, header)))
			goto out;
		headers = h;
	}
	if (ep->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ep->token);
		if (!(h = curl_slist_append(headers, auth)))
			goto out;
		headers = h;
	}
	curl_easy_setopt(s.curl, CURLOPT_URL, url);
	curl_easy_setopt(s.curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.curl, CURLOPT_HEADERFUNCTION, on_stream_header);
	curl_easy_setopt(s.curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(s.curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s.curl, CURLOPT_USERAGENT, "pinvm/" PINVM_VERSION);
	curl_easy_setopt(s.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ep->unix_path)
		curl_easy_setopt(s.curl, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	if (ep->cacert)
		curl_easy_setopt(s.curl, CURLOPT_CAINFO, ep->cacert);
	rc = curl_easy_perform(s.curl);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && s.stopped)) {
		curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &r->status);
		rc = CURLE_OK;
	}
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(s.curl);
	if (rc != CURLE_OK) {
		r->status = 0;
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	if (!r->body && !(r->body = calloc(1, 1))) {
		r->status = 0;
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -1;
	}
	return 0;
}

void response_free(struct response *r)
{
	free(r->body);
	json_decref(r->json);
	r->body = NULL;
	r->json = NULL;
}
