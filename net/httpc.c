#include "httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BODY_LIMIT (64u << 20)

int httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

struct sink {
	struct httpc_answer *a;
	const struct httpc_call *c;
	size_t limit;
	bool too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	struct httpc_answer *a = s->a;
	size_t n = size * nmemb;
	char *grown;

	/* Returning less than n makes curl fail the transfer. */
	if (a->len + n > s->limit) {
		s->too_large = true;
		return 0;
	}
	grown = realloc(a->body, a->len + n + 1);
	if (!grown)
		return 0;
	a->body = grown;
	memcpy(a->body + a->len, data, n);
	a->len += n;
	a->body[a->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;

	s->c->on_header(data, size * nmemb, s->c->header_arg);
	return size * nmemb;
}

static enum httpc_failure classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return HTTPC_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTPC_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return HTTPC_TLS;
	default:
		return HTTPC_LOCAL;
	}
}

/* Appends line to *list; false when out of memory (the list is kept). */
static bool add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *h = curl_slist_append(*list, line);

	if (!h)
		return false;
	*list = h;
	return true;
}

int httpc_perform(const struct httpc_call *c, struct httpc_answer *a)
{
	struct sink s = { .a = a, .c = c };
	struct curl_slist *headers = NULL;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	char line[320];
	CURL *curl;

	memset(a, 0, sizeof(*a));
	s.limit = c->body_limit ? c->body_limit : DEFAULT_BODY_LIMIT;
	curl = curl_easy_init();
	if (!curl) {
		a->failure = HTTPC_LOCAL;
		snprintf(a->error, sizeof(a->error), "cannot start libcurl");
		return -1;
	}
	if (c->accept) {
		snprintf(line, sizeof(line), "Accept: %s", c->accept);
		if (!add_header(&headers, line))
			goto out;
	}
	if (c->body && c->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", c->content_type);
		if (!add_header(&headers, line))
			goto out;
	} else if (c->body && !add_header(&headers, "Content-Type: application/json")) {
		goto out;
	}
	if (c->token && c->token[0]) {
		int n = snprintf(line, sizeof(line), "Authorization: Bearer %s",
				 c->token);

		if (n < 0 || (size_t)n >= sizeof(line)) {
			rc = CURLE_BAD_FUNCTION_ARGUMENT;
			goto out;
		}
		if (!add_header(&headers, line))
			goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	if (c->on_header) {
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
	}
	if (c->connect_timeout_ms)
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
				 c->connect_timeout_ms);
	if (c->timeout_ms)
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pinvm/" PINVM_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Never follow a redirect: it would carry the token elsewhere. */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (c->unix_path)
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	if (c->ca_pem) {
		struct curl_blob blob = { .data = (void *)c->ca_pem,
					  .len = strlen(c->ca_pem),
					  .flags = CURL_BLOB_COPY };

		curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
	} else if (c->ca_file) {
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
				 (long)(c->content_type ? c->body_len : strlen(c->body)));
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		a->status = 0;
		a->failure = s.too_large ? HTTPC_TOO_LARGE : classify(rc);
		if (s.too_large)
			snprintf(a->error, sizeof(a->error),
				 "the answer is larger than %zu bytes", s.limit);
		else
			snprintf(a->error, sizeof(a->error), "%s",
				 curl_easy_strerror(rc));
		free(a->body);
		a->body = NULL;
		a->len = 0;
		return -1;
	}
	if (!a->body) {
		a->body = calloc(1, 1);
		if (!a->body) {
			a->status = 0;
			a->failure = HTTPC_LOCAL;
			snprintf(a->error, sizeof(a->error), "out of memory");
			return -1;
		}
	}
	return 0;
}

void httpc_answer_free(struct httpc_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}
