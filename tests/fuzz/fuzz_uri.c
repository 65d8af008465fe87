/*
 * The request-target decoder (server/uri.c) on arbitrary bytes: the
 * input is a request target as sent (path, then an optional '?query').
 * Checked against a second decoder written differently (a table of what
 * each escape may become): the same verdict; an accepted path is UTF-8,
 * has no NUL and no '/' the client did not send as '/', and is never
 * longer than what was sent. Query pieces tile the query. The display
 * copy is printable ASCII. fuzz_run: 1 accepted, 0 refused.
 */
#include "fuzz.h"

#include "uri.h"

#include <stdbool.h>
#include <string.h>

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Accepts the same language as uri_decode, byte by byte, then UTF-8 by a
 * table of lead-byte ranges (RFC 3629 section 4). */
static bool ref_ok(const unsigned char *s, size_t n, bool slash_ok)
{
	unsigned char out[4096];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '%') {
			char h[3] = { 0 };

			if (n - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return false;
			h[0] = (char)s[i + 1];
			h[1] = (char)s[i + 2];
			c = (unsigned char)strtoul(h, NULL, 16);
			if (c < 0x20 || c == 0x7f || (c == '/' && !slash_ok))
				return false;
			i += 2;
		} else if (c <= 0x20 || c == 0x7f) {
			return false;
		}
		if (o == sizeof(out))
			return false;
		out[o++] = c;
	}
	for (size_t i = 0; i < o;) {
		unsigned char c = out[i];
		size_t len;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
		if (o - i < len || out[i + 1] < lo || out[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if (out[i + k] < 0x80 || out[i + k] > 0xbf)
				return false;
		i += len;
	}
	return true;
}

int fuzz_run(const uint8_t *data, size_t size)
{
	static char out[4096 + 1], disp[3 * 4096 + 1];
	const uint8_t *q = memchr(data, '?', size);
	size_t plen = q ? (size_t)(q - data) : size;
	struct uri_param params[8];
	struct uri_error e = { 0 };
	bool ok, slashes = memchr(data, '/', plen) != NULL;
	char *query;
	int n;

	if (size > 4096)
		return 0;
	ok = uri_decode((const char *)data, plen, false, out, sizeof(out), &e);
	FUZZ_CHECK(ok == ref_ok(data, plen, false));
	if (ok) {
		FUZZ_CHECK(strlen(out) <= plen);
		FUZZ_CHECK(slashes || !strchr(out, '/'));
		/* Without escapes, decoding is the identity. */
		if (!memchr(data, '%', plen))
			FUZZ_CHECK(strlen(out) == plen && !memcmp(out, data, plen));
	} else {
		FUZZ_CHECK(e.why && e.offset <= plen);
	}
	uri_escape_for_display((const char *)data, plen, disp, sizeof(disp));
	for (const char *p = disp; *p; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
	FUZZ_CHECK(uri_method_ok((const char *)"GET") && !uri_method_ok(""));

	query = q ? strndup((const char *)q + 1, size - plen - 1) : NULL;
	n = uri_split_query(query, params, 8);
	if (query && n >= 0) {
		const char *end = query;

		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(params[i].key >= end);
			FUZZ_CHECK(params[i].key_len <= strlen(params[i].key));
			FUZZ_CHECK(!memchr(params[i].key, '&', params[i].key_len));
			FUZZ_CHECK(!memchr(params[i].key, '=', params[i].key_len));
			FUZZ_CHECK(!memchr(params[i].value, '&', params[i].value_len));
			end = params[i].value + params[i].value_len;
		}
	}
	free(query);
	return ok ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
