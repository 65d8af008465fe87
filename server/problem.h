/*
 * RFC 9457 problem details: every error pinvmd answers is one of these,
 * with a stable machine-readable `code` and, for bad input, the `field`.
 */
#ifndef PINVM_SERVER_PROBLEM_H
#define PINVM_SERVER_PROBLEM_H

#include <jansson.h>

/*
 * Returns a new problem object (caller owns it), or NULL on allocation
 * failure. field may be NULL; detail is printf-formatted.
 */
json_t *problem_new(unsigned status, const char *code, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The standard reason phrase for an HTTP status ("Not Found"). */
const char *problem_status_title(unsigned status);

#endif
