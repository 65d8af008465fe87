/*
 * ETags on reads of VMs and profiles: a strong validator computed from the
 * JSON answer itself, so an unchanged resource gets the same tag in any
 * pinvmd, and If-None-Match turns an unchanged read into 304.
 */
#ifndef PINVM_SERVER_ETAG_H
#define PINVM_SERVER_ETAG_H

#include <stdbool.h>
#include <stddef.h>

#define ETAG_SIZE 24 /* "\"" + 16 hex + "\"" + NUL, rounded */

/* Whether a 200 answer to method on route (a routes.def pattern) gets one. */
bool etag_applies(const char *method, const char *route);

/* The tag of body[0..len), quoted: "\"0123456789abcdef\"". */
void etag_of(const char *body, size_t len, char out[ETAG_SIZE]);

/* Whether an If-None-Match header value (NULL: absent) matches tag: "*",
 * or one of its comma-separated tags (a weak W/ prefix compares too). */
bool etag_matches(const char *if_none_match, const char *tag);

#endif
