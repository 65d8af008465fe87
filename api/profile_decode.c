/*
 * The value forms of a profile's registers (profile.h): "host", raw hex,
 * and the decoded shapes fwreg_decode() produces, back into values.
 */
#include "profile.h"

#include "fwreg.h"
#include "jsonutil.h"
#include "profile_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const wa_names[] = { "NOT_AVAIL", "AVAIL", "NOT_REQUIRED",
					NULL };
static const char *const wa2_names[] = { "NOT_AVAIL", "UNKNOWN", "AVAIL",
					 "NOT_REQUIRED", NULL };

static int level_lookup(const char *const names[], const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* "MAJOR.MINOR", each 1-5 decimal digits and <= 0xffff. */
static bool parse_version(const char *s, uint64_t *out)
{
	uint64_t part[2] = { 0, 0 };

	for (int i = 0; i < 2; i++) {
		int n = 0;

		for (; *s >= '0' && *s <= '9'; s++, n++) {
			if (n == 5)
				return false;
			part[i] = part[i] * 10 + (uint64_t)(*s - '0');
		}
		if (n == 0 || part[i] > 0xffff)
			return false;
		if (i == 0 && *s++ != '.')
			return false;
	}
	if (*s)
		return false;
	*out = FWREG_PSCI(part[0], part[1]);
	return true;
}

/* Reads an optional "unknown_bits" member; 0 when absent. */
static int get_unknown_bits(const json_t *obj, const char *field,
			    uint64_t *out, bool *given, struct api_error *err)
{
	json_t *v = json_object_get(obj, "unknown_bits");
	char f[FIELD_MAX];

	*out = 0;
	*given = v != NULL;
	if (!v)
		return 0;
	ju_path(f, sizeof(f), "%s.unknown_bits", field);
	return ju_get_hex(v, f, out, err);
}

static int decoded_psci(const json_t *obj, const char *field, uint64_t *value,
			struct api_error *err)
{
	static const char *const keys[] = { "version", NULL };
	const char *s;
	char f[FIELD_MAX];
	int ret;

	ret = ju_only_keys(obj, field, keys, err);
	if (ret)
		return ret;
	ju_path(f, sizeof(f), "%s.version", field);
	ret = ju_get_string(obj, "version", f, SIZE_MAX, &s, err);
	if (ret)
		return ret;
	if (!s)
		return ju_missing_field(err, f);
	if (!parse_version(s, value))
		return api_fail(err, 422, "bad_value", f,
				"%s must be a version like \"1.0\"", f);
	return 0;
}

/* WORKAROUND_1/_3 {"level", "unknown_bits"}; WORKAROUND_2 adds "enabled". */
static int decoded_workaround(const struct fwreg_desc *d, const json_t *obj,
			      const char *field, uint64_t *value,
			      struct api_error *err)
{
	static const char *const keys[] = { "level", "unknown_bits", NULL };
	static const char *const keys2[] = { "level", "enabled", "unknown_bits",
					     NULL };
	bool wa2 = d->kind == FWREG_KIND_WORKAROUND_2;
	const char *const *names = wa2 ? wa2_names : wa_names;
	uint64_t field_bits = wa2 ? FWREG_WA_LEVEL_MASK | FWREG_WA2_ENABLED :
				    FWREG_WA_LEVEL_MASK;
	uint64_t ub;
	json_t *level, *enabled;
	char f[FIELD_MAX];
	bool ub_given;
	int ret, l;

	ret = ju_only_keys(obj, field, wa2 ? keys2 : keys, err);
	if (ret)
		return ret;
	ret = get_unknown_bits(obj, field, &ub, &ub_given, err);
	if (ret)
		return ret;
	*value = 0;
	if (wa2) {
		ju_path(f, sizeof(f), "%s.enabled", field);
		enabled = json_object_get(obj, "enabled");
		if (enabled && !json_is_boolean(enabled))
			return ju_wrong_type(err, f, "a boolean", enabled);
		if (json_is_true(enabled))
			*value |= FWREG_WA2_ENABLED;
	}
	ju_path(f, sizeof(f), "%s.level", field);
	level = json_object_get(obj, "level");
	if (!level)
		return ju_missing_field(err, f);
	if (json_is_null(level)) {
		/* fwreg_decode()'s form for values that are no level */
		if (!ub_given) {
			ju_path(f, sizeof(f), "%s.unknown_bits", field);
			return api_fail(err, 422, "missing_field", f,
					"%s is required when level is null", f);
		}
		*value |= ub;
		return 0;
	}
	if (!json_is_string(level))
		return ju_wrong_type(err, f, "a level name or null", level);
	l = level_lookup(names, json_string_value(level));
	if (l < 0)
		return api_fail(err, 422, "unknown_level", f,
				"%s: %s is not a level of %s (%s)", f,
				json_string_value(level), d->name,
				wa2 ? "NOT_AVAIL, UNKNOWN, AVAIL, "
				      "NOT_REQUIRED" :
				      "NOT_AVAIL, AVAIL, NOT_REQUIRED");
	if (ub & field_bits) {
		ju_path(f, sizeof(f), "%s.unknown_bits", field);
		return api_fail(err, 422, "bad_unknown_bits", f,
				"%s 0x%" PRIx64 " overlaps the level field "
				"0x%" PRIx64 " given by name",
				f, ub, field_bits);
	}
	*value |= (uint64_t)l | ub;
	return 0;
}

static int decoded_bitmap(const struct fwreg_desc *d, const json_t *obj,
			  const char *field, uint64_t *value,
			  struct api_error *err)
{
	const char *key;
	size_t key_len;
	json_t *v;

	*value = 0;
	json_object_keylen_foreach((json_t *)obj, key, key_len, v) {
		const struct fwreg_bit *bit = NULL;
		char f[FIELD_MAX];
		uint64_t ub;

		ju_path(f, sizeof(f), "%s.%s", field, key);
		if (strlen(key) != key_len)
			return api_fail(err, 422, "unknown_bit", f,
					"%s: a bit name must not contain NUL",
					field);
		if (strcmp(key, "unknown_bits") == 0) {
			int ret = ju_get_hex(v, f, &ub, err);

			if (ret)
				return ret;
			if (ub & d->bits_mask)
				return api_fail(err, 422, "bad_unknown_bits", f,
						"%s 0x%" PRIx64 " includes "
						"bits %s names (0x%" PRIx64
						"); set them by name",
						f, ub, d->name,
						ub & d->bits_mask);
			*value |= ub;
			continue;
		}
		for (size_t i = 0; i < d->nbits; i++)
			if (strcmp(d->bits[i].name, key) == 0)
				bit = &d->bits[i];
		if (!bit) {
			char known[128] = "";
			size_t len = 0;

			for (size_t i = 0; i < d->nbits && len < sizeof(known);
			     i++) {
				int n = snprintf(known + len,
						 sizeof(known) - len, "%s%s",
						 i ? ", " : "",
						 d->bits[i].name);

				if (n < 0)
					break;
				len += (size_t)n;
			}
			return api_fail(err, 422, "unknown_bit", f,
					"%s: %s has no bit %s (its bits: %s; "
					"others go in unknown_bits)",
					f, d->name, key, known);
		}
		if (!json_is_boolean(v))
			return ju_wrong_type(err, f, "a boolean", v);
		if (json_is_true(v))
			*value |= UINT64_C(1) << bit->bit;
	}
	return 0;
}

/* A decoded object (d catalogued) into its value, then checked. */
int profile_decoded_value(const struct fwreg_desc *d, const json_t *obj,
			 const char *field, uint64_t *value,
			 struct api_error *err)
{
	int ret = 0;

	switch (d->kind) {
	case FWREG_KIND_PSCI_VERSION:
		ret = decoded_psci(obj, field, value, err);
		break;
	case FWREG_KIND_WORKAROUND:
	case FWREG_KIND_WORKAROUND_2:
		ret = decoded_workaround(d, obj, field, value, err);
		break;
	case FWREG_KIND_BITMAP:
		ret = decoded_bitmap(d, obj, field, value, err);
		break;
	}
	if (ret)
		return ret;
	return profile_check_value(d->id, *value, field, err);
}

/* Raw hex for a catalogued bitmap: only the bits the catalogue knows. */
int profile_check_raw_bits(const struct fwreg_desc *d, uint64_t value,
			  const char *field, struct api_error *err)
{
	uint64_t extra;

	if (!d || d->kind != FWREG_KIND_BITMAP)
		return 0;
	extra = value & ~d->bits_mask;
	if (!extra)
		return 0;
	return api_fail(err, 422, "unknown_bits", field,
			"%s: 0x%" PRIx64 " sets bits %s does not define "
			"(0x%" PRIx64 "); if you mean them, give "
			"{\"unknown_bits\": \"0x%" PRIx64 "\"} with the "
			"named bits",
			field, value, d->name, extra, extra);
}

/* A string value of the object form: "host", "0x..", or a decoded string. */
static int string_value(const struct fwreg_desc *d, uint64_t id,
			const json_t *v, const char *field,
			struct profile_pin *pin, struct api_error *err)
{
	const char *s = json_string_value(v);
	int l;

	if (strlen(s) != json_string_length(v))
		return api_fail(err, 422, "bad_value", field,
				"%s must not contain NUL characters", field);
	pin->id = id;
	if (strcmp(s, "host") == 0) {
		pin->mode = PROFILE_PIN_HOST;
		pin->value = 0;
		return 0;
	}
	pin->mode = PROFILE_PIN_VALUE;
	if (s[0] == '0' && s[1] == 'x') {
		int ret = ju_get_hex(v, field, &pin->value, err);

		if (!ret)
			ret = profile_check_raw_bits(d, pin->value, field, err);
		if (!ret)
			ret = profile_check_value(id, pin->value, field, err);
		return ret;
	}
	if (!d)
		return api_fail(err, 422, "bad_value", field,
				"%s: register 0x%" PRIx64 " is not in the "
				"catalogue; give \"0x..\" or \"host\"",
				field, id);
	switch (d->kind) {
	case FWREG_KIND_PSCI_VERSION:
		if (!parse_version(s, &pin->value))
			break;
		return profile_check_value(id, pin->value, field, err);
	case FWREG_KIND_WORKAROUND:
	case FWREG_KIND_WORKAROUND_2:
		l = level_lookup(d->kind == FWREG_KIND_WORKAROUND ?
					 wa_names : wa2_names, s);
		if (l < 0)
			return api_fail(err, 422, "unknown_level", field,
					"%s: %s is not a level of %s (%s), "
					"\"0x..\" or \"host\"",
					field, s, d->name,
					d->kind == FWREG_KIND_WORKAROUND ?
						"NOT_AVAIL, AVAIL, "
						"NOT_REQUIRED" :
						"NOT_AVAIL, UNKNOWN, AVAIL, "
						"NOT_REQUIRED");
		pin->value = (uint64_t)l;
		return 0;
	case FWREG_KIND_BITMAP:
		break;
	}
	return api_fail(err, 422, "bad_value", field,
			"%s: \"%s\" is not a value of %s; give \"host\", "
			"\"0x..\" or %s",
			field, s, d->name,
			d->kind == FWREG_KIND_PSCI_VERSION ?
				"a version like \"1.0\"" :
				"an object of bit names");
}

/* One value of the object form. */
int profile_object_value(const struct fwreg_desc *d, uint64_t id,
			const json_t *v, const char *field,
			struct profile_pin *pin, struct api_error *err)
{
	if (json_is_string(v))
		return string_value(d, id, v, field, pin, err);
	if (!json_is_object(v))
		return ju_wrong_type(err, field, "a string or an object", v);
	if (!d)
		return ju_wrong_type(err, field,
				     "a string (\"0x..\" or \"host\": the "
				     "register is not in the catalogue)",
				     v);
	pin->id = id;
	pin->mode = PROFILE_PIN_VALUE;
	return profile_decoded_value(d, v, field, &pin->value, err);
}

