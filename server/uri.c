#include "uri.h"

#include <string.h>

bool uri_method_ok(const char *method)
{
	size_t n;

	for (n = 0; method[n]; n++) {
		unsigned char c = (unsigned char)method[n];

		if (n >= URI_METHOD_MAX)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (!c || !strchr("!#$%&'*+-.^_`|~", c))
			return false;
	}
	return n > 0;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Length of the UTF-8 sequence at s[0..n), or 0 when it is not one:
 * shortest form only, no surrogates, nothing above U+10FFFF.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool refuse(struct uri_error *e, const char *why, size_t offset)
{
	e->why = why;
	e->offset = offset;
	return false;
}

bool uri_decode(const char *raw, size_t len, bool slash_ok, char *out,
		size_t outlen, struct uri_error *e)
{
	size_t i = 0, o = 0, k;

	if (!outlen)
		return refuse(e, "no room", 0);
	while (i < len) {
		unsigned char c = (unsigned char)raw[i];
		size_t at = i;

		if (c == '%') {
			if (len - i < 3 || hex(raw[i + 1]) < 0 || hex(raw[i + 2]) < 0)
				return refuse(e, "'%' must be followed by two hex digits", at);
			c = (unsigned char)(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
			if (c == 0)
				return refuse(e, "%00 would cut the name short", at);
			if (c == '/' && !slash_ok)
				return refuse(e, "%2F would put a '/' inside a path segment", at);
			if (c < 0x20 || c == 0x7f)
				return refuse(e, "an escape decodes to a control character", at);
			i += 3;
		} else {
			if (c <= 0x20 || c == 0x7f)
				return refuse(e, "a control character or space", at);
			i++;
		}
		if (o + 1 >= outlen)
			return refuse(e, "too long", at);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	for (k = 0; k < o;) {
		size_t n = utf8_len((const unsigned char *)out + k, o - k);

		if (!n)
			return refuse(e, "it does not decode to UTF-8", k);
		k += n;
	}
	return true;
}

void uri_escape_for_display(const char *raw, size_t len, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c > 0x20 && c < 0x7f) {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outlen)
				break;
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	out[o] = '\0';
}

int uri_split_query(const char *query, struct uri_param *params, size_t max)
{
	size_t n = 0;

	while (query && *query) {
		const char *end = strchr(query, '&');
		size_t len = end ? (size_t)(end - query) : strlen(query);
		const char *eq = memchr(query, '=', len);

		if (len) {
			if (n == max)
				return -1;
			params[n].key = query;
			params[n].key_len = eq ? (size_t)(eq - query) : len;
			params[n].value = eq ? eq + 1 : query + len;
			params[n].value_len = eq ? len - (size_t)(eq - query) - 1 : 0;
			n++;
		}
		query += len + (end ? 1 : 0);
	}
	return (int)n;
}
