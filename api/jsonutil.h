/*
 * Small helpers shared by the document parsers of api/ (observed, hostset,
 * profile, compat, baseline). Internal to api/: not part of any HTTP or
 * VMM interface.
 */
#ifndef PINVM_API_JSONUTIL_H
#define PINVM_API_JSONUTIL_H

#include "api_error.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * "0x" followed by 1 to 16 hex digits (either case), nothing else. Returns
 * 0 and sets *out, or -EINVAL (s NULL or malformed; *out untouched).
 */
int ju_parse_hex(const char *s, uint64_t *out);

/* "0x" + lowercase hex, as fwreg_format_hex(): new reference, NULL when an
 * allocation fails. */
json_t *ju_hex(uint64_t v);

/*
 * Allocation through jansson's allocator (json_get_alloc_funcs), so that
 * a custom allocator or an allocation-failure test covers api/'s own
 * structs too. ju_malloc zeroes the block. Memory from ju_malloc must be
 * released with ju_free (under the same allocator).
 */
void *ju_malloc(size_t size);
void ju_free(void *p);

/* Number of Unicode code points in a valid UTF-8 string of `bytes` bytes. */
size_t ju_utf8_len(const char *s, size_t bytes);

/* "object", "array", "string", "integer", "real", "boolean", "null" */
const char *ju_type_name(const json_t *v);

/*
 * Formats a field path ("registers.STD_BMAP.TRNG") into buf, truncating
 * silently (paths are for humans; keys come from the client).
 */
void ju_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 400 wrong_type: "<field> must be <expected>, not <type>". Returns -EINVAL. */
int ju_wrong_type(struct api_error *err, const char *field,
		  const char *expected, const json_t *got);

/* 422 unknown_field naming `field`. Returns -EINVAL. */
int ju_unknown_field(struct api_error *err, const char *field,
		     const char *where);

/* 500 out_of_memory. Returns -ENOMEM. */
int ju_oom(struct api_error *err);

/* 422 missing_field. Returns -EINVAL. */
int ju_missing_field(struct api_error *err, const char *field);

/*
 * Fails with 422 unknown_field for the first key of obj not in `allowed`
 * (a NULL-terminated list); the field is "<prefix>.<key>" ("<key>" for an
 * empty prefix). Returns 0 or -EINVAL.
 */
int ju_only_keys(const json_t *obj, const char *prefix,
		 const char *const allowed[], struct api_error *err);

/*
 * Reads obj[key] as a string of at most max_bytes bytes without NUL
 * characters. A missing key or JSON null: *out = NULL and 0 (the caller
 * decides whether it is required). Errors: 400 wrong_type, 422
 * value_too_long / bad_value (NUL). *out borrows from obj.
 */
int ju_get_string(const json_t *obj, const char *key, const char *field,
		  size_t max_bytes, const char **out, struct api_error *err);

/* Reads a hex string value (see ju_parse_hex): 400 wrong_type, 422 bad_hex. */
int ju_get_hex(const json_t *v, const char *field, uint64_t *out,
	       struct api_error *err);

/*
 * The required hex member key of obj: writes its path ("parent.key") into
 * f (fsize bytes, for the caller's later errors) and parses it as
 * ju_get_hex does; 422 missing_field when it is absent.
 */
int ju_require_hex(const json_t *obj, const char *parent, const char *key,
		   char *f, size_t fsize, uint64_t *out, struct api_error *err);

/* Sets obj[key] = v, stealing v; fails (-ENOMEM) when v is NULL. */
int ju_set_new(json_t *obj, const char *key, json_t *v);
/* Appends v to arr, stealing v; fails (-ENOMEM) when v is NULL. */
int ju_append_new(json_t *arr, json_t *v);

#endif
