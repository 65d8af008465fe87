/*
 * The request line as the client sent it: the method checked as an HTTP
 * token, the path and query percent-decoded strictly. Decoding must never
 * change which resource is named, so an escape that would ("%2f" making a
 * '/' inside a segment, "%00" cutting the name short) is refused, as is
 * anything that does not decode to UTF-8. Pure: no allocation, no I/O, no
 * HTTP library; the fuzz build compiles it alone.
 */
#ifndef PINVM_SERVER_URI_H
#define PINVM_SERVER_URI_H

#include <stdbool.h>
#include <stddef.h>

/* Longest method accepted; the longest we route is 6 ("DELETE"). */
#define URI_METHOD_MAX 32

/* Why a path, key or value was refused; a static phrase. */
struct uri_error {
	const char *why;
	size_t offset; /* where in the raw text */
};

/* true when method is 1..URI_METHOD_MAX characters of RFC 9110 tchar. */
bool uri_method_ok(const char *method);

/*
 * Decodes raw[0..len) into out (outlen bytes, NUL-terminated). Refuses
 * (false, *e filled): a '%' not followed by two hex digits, an escape
 * decoding to NUL, to '/' when slash_ok is false, or to a control
 * character, a raw control character or space, and a result that is not
 * UTF-8 (overlong, surrogate, truncated), or one longer than outlen - 1.
 * out is never longer than raw.
 */
bool uri_decode(const char *raw, size_t len, bool slash_ok, char *out,
		size_t outlen, struct uri_error *e);

/*
 * Writes a printable copy of raw[0..len) into out for logs and error
 * messages: bytes outside '!'..'~' become %XX. Truncates to outlen - 1.
 */
void uri_escape_for_display(const char *raw, size_t len, char *out, size_t outlen);

/* One query parameter, pointing into the raw query (not decoded). */
struct uri_param {
	const char *key, *value; /* value may be empty; "" for "k" alone */
	size_t key_len, value_len;
};

/*
 * Splits the raw query (what follows '?', may be NULL) at '&' and '='
 * into params (at most max). Empty pieces ("a&&b") are skipped. Returns
 * the number found, or -1 when there are more than max.
 */
int uri_split_query(const char *query, struct uri_param *params, size_t max);

#endif
