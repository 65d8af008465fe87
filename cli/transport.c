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

int token_file_read(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	char line[512];
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
	if (n - start >= len) {
		snprintf(err, errlen, "token file %s: the token is longer than %zu characters",
			 path, len - 1);
		return -1;
	}
	memcpy(out, line + start, n - start + 1);
	return 0;
}

int endpoint_read_token(struct endpoint *ep, const char *path, char *err,
			size_t errlen)
{
	return token_file_read(path, ep->token, sizeof(ep->token), err, errlen);
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

static size_t on_transfer_header(char *data, size_t size, size_t nmemb, void *arg)
{
	on_header(data, size * nmemb, arg);
	return size * nmemb;
}

/* "http://host:8080/" + "/v1/..." must not become "//v1/...". */
static int make_url(const struct endpoint *ep, const char *path, char *url, size_t len,
		    struct response *r)
{
	const char *base = ep->unix_path ? "http://localhost" : ep->url;
	size_t blen = strlen(base);
	int n;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	n = snprintf(url, len, "%.*s%s", (int)blen, base, path);
	if (n < 0 || (size_t)n >= len) {
		snprintf(r->error, sizeof(r->error), "URL too long");
		return -1;
	}
	return 0;
}

static int request(const struct endpoint *ep, const char *method, const char *path,
		   const char *content_type, const char *body, size_t len, struct response *r)
{
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

	memset(r, 0, sizeof(*r));
	r->next_offset = r->start_offset = -1;
	if (make_url(ep, path, url, sizeof(url), r) < 0)
		return -1;
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

struct exchange {
	struct response *r;
	CURL *curl;
	const struct transfer *t;
	bool stopped;
};

static size_t on_transfer_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct exchange *x = arg;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300 || !x->t->on_data)
		return on_body(data, size, nmemb, x->r);
	if (x->t->on_data(data, size * nmemb, x->t->data_arg)) {
		x->stopped = true;
		return 0;
	}
	return size * nmemb;
}

static size_t on_transfer_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct exchange *x = arg;
	long n = x->t->on_read(buf, size * nitems, x->t->read_arg);

	return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

/* Called about once a second even while nothing comes: a signal's stop
 * is seen on a stalled server too. */
static int on_transfer_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
				curl_off_t ultotal, curl_off_t ulnow)
{
	const struct exchange *x = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return *x->t->stop != 0;
}

/* Appends "Name: value" when value is non-NULL; false when out of memory
 * or too long. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *h;
	char line[320];
	int n;

	if (!value)
		return true;
	n = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (n < 0 || (size_t)n >= sizeof(line) || !(h = curl_slist_append(*list, line)))
		return false;
	*list = h;
	return true;
}

static struct curl_slist *transfer_headers(const struct endpoint *ep, const struct transfer *t)
{
	struct curl_slist *h = NULL;
	char bearer[sizeof(ep->token) + 8];
	bool ok;

	snprintf(bearer, sizeof(bearer), "Bearer %s", ep->token);
	ok = add_header(&h, "Accept", t->accept) &&
	     add_header(&h, "Authorization", ep->token[0] ? bearer : NULL);
	if (ok && t->header) {
		struct curl_slist *more = curl_slist_append(h, t->header);

		ok = more != NULL;
		h = more ? more : h;
	}
	/* Unknown length: chunked, which curl does for a POST only when told. */
	if (ok && t->on_read)
		ok = add_header(&h, "Content-Type", t->content_type) &&
		     (t->size >= 0 || add_header(&h, "Transfer-Encoding", "chunked"));
	if (!ok) {
		curl_slist_free_all(h);
		return NULL;
	}
	return h;
}

int transport_transfer(const struct endpoint *ep, const char *path, const struct transfer *t,
		       struct response *r)
{
	struct exchange x = { .r = r, .t = t };
	struct curl_slist *headers = NULL;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	char url[2048];

	memset(r, 0, sizeof(*r));
	r->next_offset = r->start_offset = -1;
	if (make_url(ep, path, url, sizeof(url), r) < 0)
		return -1;
	x.curl = curl_easy_init();
	if (!x.curl) {
		snprintf(r->error, sizeof(r->error), "cannot start libcurl");
		return -1;
	}
	if (!(headers = transfer_headers(ep, t)))
		goto out;
	curl_easy_setopt(x.curl, CURLOPT_URL, url);
	curl_easy_setopt(x.curl, CURLOPT_CUSTOMREQUEST, t->method);
	curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, on_transfer_body);
	curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.curl, CURLOPT_HEADERFUNCTION, on_transfer_header);
	curl_easy_setopt(x.curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(x.curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(x.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x.curl, CURLOPT_USERAGENT, "pinvm/" PINVM_VERSION);
	curl_easy_setopt(x.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ep->unix_path)
		curl_easy_setopt(x.curl, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	if (ep->cacert)
		curl_easy_setopt(x.curl, CURLOPT_CAINFO, ep->cacert);
	if (t->on_read) {
		curl_easy_setopt(x.curl, CURLOPT_POST, 1L);
		curl_easy_setopt(x.curl, CURLOPT_READFUNCTION, on_transfer_read);
		curl_easy_setopt(x.curl, CURLOPT_READDATA, &x);
		if (t->size >= 0)
			curl_easy_setopt(x.curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->size);
	}
	if (t->stop) {
		curl_easy_setopt(x.curl, CURLOPT_XFERINFOFUNCTION, on_transfer_progress);
		curl_easy_setopt(x.curl, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(x.curl, CURLOPT_NOPROGRESS, 0L);
	}
	rc = curl_easy_perform(x.curl);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x.stopped)) {
		curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &r->status);
		rc = CURLE_OK;
	}
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(x.curl);
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

int transport_stream(const struct endpoint *ep, const char *path, const char *header,
		     int (*on_data)(const char *data, size_t n, void *arg), void *arg,
		     struct response *r)
{
	const struct transfer t = { .method = "GET",
				    .accept = "text/event-stream, application/problem+json",
				    .header = header, .on_data = on_data, .data_arg = arg };

	return transport_transfer(ep, path, &t, r);
}

void response_free(struct response *r)
{
	free(r->body);
	json_decref(r->json);
	r->body = NULL;
	r->json = NULL;
}
