/*
 * Why a document was refused, in the terms the HTTP layer answers with:
 * status (400 malformed, 422 well-formed but invalid or impossible), a
 * stable code, the field at fault ("registers.STD_BMAP.TRNG") and a detail
 * sentence. Plain data, filled by api/ parsers, owned by the caller.
 */
#ifndef PINVM_API_API_ERROR_H
#define PINVM_API_API_ERROR_H

#include <stdarg.h>

struct api_error {
	unsigned status;
	char code[48];
	char field[160];
	char detail[512];
};

/* Fills err (which may be NULL) and returns -EINVAL, for `return api_fail(...)`. */
int api_fail(struct api_error *err, unsigned status, const char *code,
	     const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Puts e's field under prefix: "registers[1].id" under "hosts[2]" becomes
 * "hosts[2].registers[1].id" (an index path is appended without a dot).
 * A result too long for the field keeps the prefix alone.
 */
void api_error_nest(struct api_error *e, const char *prefix);

#endif
