#include "jsonutil.h"

#include "fwreg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ju_parse_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!s || s[0] != '0' || s[1] != 'x')
		return -EINVAL;
	for (s += 2; *s; s++, n++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (n == 16)
			return -EINVAL;
		v = (v << 4) | d;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

json_t *ju_hex(uint64_t v)
{
	char buf[19];

	fwreg_format_hex(buf, v);
	return json_string(buf);
}

void *ju_malloc(size_t size)
{
	json_malloc_t m;
	json_free_t f;
	void *p;

	json_get_alloc_funcs(&m, &f);
	p = m(size);
	if (p)
		memset(p, 0, size);
	return p;
}

void ju_free(void *p)
{
	json_malloc_t m;
	json_free_t f;

	if (!p)
		return;
	json_get_alloc_funcs(&m, &f);
	f(p);
}

size_t ju_utf8_len(const char *s, size_t bytes)
{
	size_t n = 0;

	for (size_t i = 0; i < bytes; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

const char *ju_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "real";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

void ju_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

int ju_wrong_type(struct api_error *err, const char *field,
		  const char *expected, const json_t *got)
{
	return api_fail(err, 400, "wrong_type", field, "%s must be %s, not %s",
			field[0] ? field : "the document", expected,
			got ? ju_type_name(got) : "missing");
}

int ju_unknown_field(struct api_error *err, const char *field,
		     const char *where)
{
	return api_fail(err, 422, "unknown_field", field,
			"unknown field %s in %s", field, where);
}

int ju_oom(struct api_error *err)
{
	api_fail(err, 500, "out_of_memory", NULL, "out of memory");
	return -ENOMEM;
}

int ju_missing_field(struct api_error *err, const char *field)
{
	return api_fail(err, 422, "missing_field", field,
			"%s is required", field);
}

int ju_only_keys(const json_t *obj, const char *prefix,
		 const char *const allowed[], struct api_error *err)
{
	const char *key;
	size_t key_len;
	json_t *v;

	json_object_keylen_foreach((json_t *)obj, key, key_len, v) {
		bool ok = false;
		char field[160];

		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0 &&
			    strlen(key) == key_len)
				ok = true;
		if (ok)
			continue;
		if (prefix[0])
			ju_path(field, sizeof(field), "%s.%s", prefix, key);
		else
			ju_path(field, sizeof(field), "%s", key);
		return ju_unknown_field(err, field,
					prefix[0] ? prefix : "the document");
	}
	return 0;
}

int ju_get_string(const json_t *obj, const char *key, const char *field,
		  size_t max_bytes, const char **out, struct api_error *err)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return ju_wrong_type(err, field, "a string", v);
	len = json_string_length(v);
	if (len > max_bytes)
		return api_fail(err, 422, "value_too_long", field,
				"%s is %zu bytes long; at most %zu are allowed",
				field, len, max_bytes);
	if (strlen(json_string_value(v)) != len)
		return api_fail(err, 422, "bad_value", field,
				"%s must not contain NUL characters", field);
	*out = json_string_value(v);
	return 0;
}

int ju_get_hex(const json_t *v, const char *field, uint64_t *out,
	       struct api_error *err)
{
	if (!json_is_string(v))
		return ju_wrong_type(err, field, "a hex string (\"0x...\")", v);
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    ju_parse_hex(json_string_value(v), out))
		return api_fail(err, 422, "bad_hex", field,
				"%s must be \"0x\" and 1 to 16 hex digits",
				field);
	return 0;
}

int ju_require_hex(const json_t *obj, const char *parent, const char *key,
		   char *f, size_t fsize, uint64_t *out, struct api_error *err)
{
	const json_t *v = json_object_get(obj, key);

	ju_path(f, fsize, "%s.%s", parent, key);
	if (!v)
		return ju_missing_field(err, f);
	return ju_get_hex(v, f, out, err);
}

int ju_set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return -ENOMEM;
	return json_object_set_new(obj, key, v) ? -ENOMEM : 0;
}

int ju_append_new(json_t *arr, json_t *v)
{
	if (!v)
		return -ENOMEM;
	return json_array_append_new(arr, v) ? -ENOMEM : 0;
}
