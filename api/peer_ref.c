/* Peer references in requests and the meaning of a peer's answers. */
#include "peer_ref.h"

#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool peer_ref_is(const json_t *v)
{
	return json_is_object(v) && json_object_get(v, "url") != NULL;
}

/* Characters of a host, an IPv6 literal's brackets and a port. */
static bool authority_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
	       c == '[' || c == ']' || c == '_';
}

int peer_url_check(const char *url, const char *field, struct api_error *err)
{
	size_t n = strlen(url), skip, end;

	if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return api_fail(err, 422, "bad_url", field,
				"%s must start with http:// or https://",
				field);
	if (n > PEER_URL_MAX)
		return api_fail(err, 422, "bad_url", field,
				"%s is %zu bytes long; at most %d are allowed",
				field, n, PEER_URL_MAX);
	end = n;
	if (end > skip && url[end - 1] == '/')
		end--;
	if (end == skip)
		return api_fail(err, 422, "bad_url", field, "%s names no host",
				field);
	/* The peer's routes are pinvm's own: a path, a query or user info
	 * would only be a way to aim the request somewhere else. */
	for (size_t i = skip; i < end; i++)
		if (!authority_char(url[i]))
			return api_fail(err, 422, "bad_url", field,
					"%s: only scheme://host[:port] is "
					"allowed (character %zu is not part of "
					"a host or port)",
					field, i + 1);
	if (url[skip] == ':')
		return api_fail(err, 422, "bad_url", field, "%s names no host",
				field);
	return 0;
}

int peer_token_check(const char *token, size_t len, const char *field,
		     struct api_error *err)
{
	if (len < PEER_TOKEN_MIN || len > PEER_TOKEN_MAX)
		return api_fail(err, 422, "bad_token", field,
				"%s is %zu characters long; a token has %d to "
				"%d",
				field, len, PEER_TOKEN_MIN, PEER_TOKEN_MAX);
	for (size_t i = 0; i < len; i++)
		if (token[i] < 0x21 || token[i] > 0x7e)
			return api_fail(err, 422, "bad_token", field,
					"%s: character %zu is not visible ASCII "
					"(a token is sent in a header line)",
					field, i + 1);
	return 0;
}

int peer_ref_parse(const json_t *v, struct peer_ref *out,
		   struct api_error *err)
{
	static const char *const keys[] = { "url", "token", "token_file", "ca",
					    NULL };
	const char *url, *token, *token_file, *ca;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(v))
		return ju_wrong_type(err, "", "an object", v);
	ret = ju_only_keys(v, "", keys, err);
	if (ret)
		return ret;
	ret = ju_get_string(v, "url", "url", SIZE_MAX, &url, err);
	if (!ret)
		ret = ju_get_string(v, "token", "token", SIZE_MAX, &token, err);
	if (!ret)
		ret = ju_get_string(v, "token_file", "token_file", SIZE_MAX,
				    &token_file, err);
	if (!ret)
		ret = ju_get_string(v, "ca", "ca", SIZE_MAX, &ca, err);
	if (ret)
		return ret;
	if (!url)
		return ju_missing_field(err, "url");
	ret = peer_url_check(url, "url", err);
	if (ret)
		return ret;
	if (token && token_file)
		return api_fail(err, 422, "token_conflict", "token_file",
				"give token or token_file, not both");
	if (token) {
		ret = peer_token_check(token, strlen(token), "token", err);
		if (ret)
			return ret;
	}
	if (token_file && (token_file[0] != '/' || strlen(token_file) > 4095))
		return api_fail(err, 422, "bad_value", "token_file",
				"token_file must be an absolute path (under "
				"4096 bytes)");
	if (ca && (strlen(ca) > PEER_CA_MAX ||
		   !strstr(ca, "-----BEGIN CERTIFICATE-----")))
		return api_fail(err, 422, "bad_value", "ca",
				"ca must be PEM text holding a certificate "
				"(-----BEGIN CERTIFICATE-----), at most %u "
				"bytes",
				PEER_CA_MAX);
	out->url = url;
	out->token = token;
	out->token_file = token_file;
	out->ca_pem = ca;
	return 0;
}

/* s (borrowed from obj), or "" when absent or not a string. */
static const char *member(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

int peer_answer_hostset(const char *url, long status, const char *body,
			size_t len, struct hostset *out, struct api_error *err,
			json_t **problem)
{
	struct api_error inner;
	json_error_t jerr;
	json_t *doc;
	int ret;

	if (problem)
		*problem = NULL;
	doc = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)
			  : NULL;
	if (status == 401) {
		json_decref(doc);
		return api_fail(err, 502, "peer_unauthorized", "",
				"%s answered 401: it does not take the token "
				"given (or needs one)",
				url);
	}
	if (status != 200) {
		if (json_is_object(doc)) {
			api_fail(err, 502, "peer_refused", "",
				 "%s answered %ld %.40s%s%.60s%s: %.300s", url,
				 status, member(doc, "code"),
				 *member(doc, "field") ? " (" : "",
				 member(doc, "field"),
				 *member(doc, "field") ? ")" : "",
				 member(doc, "detail"));
			if (problem)
				*problem = doc;
			else
				json_decref(doc);
			return -EINVAL;
		}
		json_decref(doc);
		return api_fail(err, 502, "peer_refused", "",
				"%s answered %ld without a problem+json body",
				url, status);
	}
	if (!doc)
		return api_fail(err, 502, "peer_bad_answer", "",
				"%s answered 200 with no JSON document (%s)",
				url, len ? jerr.text : "empty body");
	ret = hostset_from_json(doc, out, &inner);
	json_decref(doc);
	if (ret)
		return api_fail(err, 502, "peer_bad_answer", "",
				"%s answered 200 with no register set: %s "
				"%.60s: %.300s",
				url, inner.code, inner.field, inner.detail);
	return 0;
}
