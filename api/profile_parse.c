/*
 * profile_from_json(): the profile document (profile.h) into a struct.
 *
 * Errors (struct api_error; status, code, typical field):
 *   400 wrong_type            any member of the wrong JSON type: "name",
 *                             "registers", "registers.STD_BMAP.TRNG", ...
 *   422 unknown_field         a member the document does not define
 *   422 missing_field         name, registers, an array entry's id/pin/value
 *   422 bad_name              name not ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
 *   422 value_too_long        description over 1024 characters
 *   422 bad_value             a NUL in a string; a string value that is not
 *                             "host", hex or a decoded form of the register
 *   422 bad_policy            unknown_registers not "refuse"/"disable"
 *   422 too_many_registers    more than 64 registers
 *   422 unknown_register      registers.FOO: not a catalogued name nor "0x.."
 *   422 not_firmware_register a raw id outside coprocessors 0x14/0x16
 *   422 duplicate_register    one register given twice (by name and id)
 *   422 bad_hex               malformed "0x.." (1 to 16 hex digits)
 *   422 unknown_bit           registers.STD_BMAP.FOO: not a bit of STD_BMAP
 *   422 unknown_level         a workaround level name KVM does not define
 *   422 unknown_psci_version  a PSCI version KVM never implemented
 *   422 bad_value_bits        workaround bits outside 0xf (WORKAROUND_2: 0x1f)
 *   422 undefined_level       WORKAROUND_2 level 4-15
 *   422 enabled_needs_avail   WORKAROUND_2 ENABLED without AVAIL
 *   422 unknown_bits          raw hex setting bits a catalogued bitmap does
 *                             not know (use "unknown_bits" to mean it)
 *   422 bad_unknown_bits      "unknown_bits" overlapping named bits / level
 *   422 name_mismatch         array entry: name contradicts id
 *   422 decoded_mismatch      array entry: decoded says another value
 *   422 bad_pin               array entry: pin not "value"/"host"
 *   422 unexpected_field      array entry: value/decoded with pin "host"
 *   observed_abi's errors (observed.h) under "observed_abi", smccc's
 *   (smccc_filter.h) under "smccc", cpu_features_parse()'s under
 *   "cpu_features", id_pins_from_json()'s under "id_registers"
 *   500 out_of_memory (-ENOMEM)
 */
#include "profile.h"

#include "fwreg.h"
#include "jsonutil.h"
#include "profile_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* "STD_BMAP" or "0x6030000000160000" -> id. */
static int resolve_key(const char *key, const char *field, uint64_t *id,
		       struct api_error *err)
{
	const struct fwreg_desc *d;

	if (key[0] == '0' && key[1] == 'x') {
		if (ju_parse_hex(key, id))
			return api_fail(err, 422, "bad_hex", field,
					"%s: a raw register id must be \"0x\" "
					"and 1 to 16 hex digits",
					field);
		if (!fwreg_id_is_firmware(*id))
			return api_fail(err, 422, "not_firmware_register",
					field,
					"%s: 0x%" PRIx64 " is not a KVM/arm64 "
					"firmware register id (64-bit, "
					"coprocessor 0x14 or 0x16)",
					field, *id);
		return 0;
	}
	d = fwreg_lookup_name(key);
	if (!d) {
		char known[256] = "";
		size_t len = 0;

		for (size_t i = 0; i < fwreg_count() && len < sizeof(known);
		     i++) {
			int n = snprintf(known + len, sizeof(known) - len,
					 "%s%s", i ? ", " : "",
					 fwreg_at(i)->name);

			if (n < 0)
				break;
			len += (size_t)n;
		}
		return api_fail(err, 422, "unknown_register", field,
				"%s: unknown register; known: %s, or a raw "
				"id \"0x6030...\"",
				field, known);
	}
	*id = d->id;
	return 0;
}

static int registers_object(struct profile *p, const json_t *regs,
			    struct api_error *err)
{
	const char *key;
	size_t key_len;
	json_t *v;

	json_object_keylen_foreach((json_t *)regs, key, key_len, v) {
		struct profile_pin pin = { 0 };
		char f[FIELD_MAX];
		uint64_t id;
		int ret;

		ju_path(f, sizeof(f), "registers.%s", key);
		if (strlen(key) != key_len)
			return api_fail(err, 422, "unknown_register", f,
					"%s: a register name must not contain "
					"NUL",
					f);
		ret = resolve_key(key, f, &id, err);
		if (!ret)
			ret = profile_object_value(fwreg_lookup_id(id), id,
						   v, f, &pin, err);
		if (!ret)
			ret = profile_insert_pin(p, &pin, f, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* One entry of the canonical array form. */
static int array_entry(struct profile *p, const json_t *e, const char *field,
		       struct api_error *err)
{
	static const char *const keys[] = { "id", "name", "pin", "value",
					    "decoded", NULL };
	const struct fwreg_desc *d, *named;
	struct profile_pin pin = { 0 };
	json_t *v, *decoded;
	const char *name, *mode;
	char f[FIELD_MAX];
	int ret;

	if (!json_is_object(e))
		return ju_wrong_type(err, field, "an object", e);
	ret = ju_only_keys(e, field, keys, err);
	if (ret)
		return ret;

	ret = ju_require_hex(e, field, "id", f, sizeof(f), &pin.id, err);
	if (ret)
		return ret;
	if (!fwreg_id_is_firmware(pin.id))
		return api_fail(err, 422, "not_firmware_register", f,
				"%s: 0x%" PRIx64 " is not a KVM/arm64 firmware "
				"register id (64-bit, coprocessor 0x14 or "
				"0x16)",
				f, pin.id);
	d = fwreg_lookup_id(pin.id);

	ju_path(f, sizeof(f), "%s.name", field);
	ret = ju_get_string(e, "name", f, SIZE_MAX, &name, err);
	if (ret)
		return ret;
	named = fwreg_lookup_name(name);
	if (name && ((d && strcmp(d->name, name) != 0) || (!d && named)))
		return api_fail(err, 422, "name_mismatch", f,
				"%s: register 0x%" PRIx64 " is %s, not %s", f,
				pin.id, d ? d->name : "not in the catalogue",
				name);

	ju_path(f, sizeof(f), "%s.pin", field);
	ret = ju_get_string(e, "pin", f, SIZE_MAX, &mode, err);
	if (ret)
		return ret;
	if (!mode)
		return ju_missing_field(err, f);
	v = json_object_get(e, "value");
	decoded = json_object_get(e, "decoded");
	if (json_is_null(v))
		v = NULL;
	if (json_is_null(decoded))
		decoded = NULL;
	if (strcmp(mode, "host") == 0) {
		if (v || decoded) {
			ju_path(f, sizeof(f), "%s.%s", field,
				v ? "value" : "decoded");
			return api_fail(err, 422, "unexpected_field", f,
					"%s: a \"host\" pin has no value", f);
		}
		pin.mode = PROFILE_PIN_HOST;
		return profile_insert_pin(p, &pin, field, err);
	}
	if (strcmp(mode, "value") != 0)
		return api_fail(err, 422, "bad_pin", f,
				"%s must be \"value\" or \"host\"", f);

	pin.mode = PROFILE_PIN_VALUE;
	ju_path(f, sizeof(f), "%s.value", field);
	if (!v)
		return ju_missing_field(err, f);
	ret = ju_get_hex(v, f, &pin.value, err);
	if (!ret)
		ret = profile_check_value(pin.id, pin.value, f, err);
	if (ret)
		return ret;

	ju_path(f, sizeof(f), "%s.decoded", field);
	if (decoded && !d)
		return api_fail(err, 422, "decoded_mismatch", f,
				"%s must be null: register 0x%" PRIx64 " is "
				"not in the catalogue",
				f, pin.id);
	if (decoded) {
		uint64_t dv;

		if (!json_is_object(decoded))
			return ju_wrong_type(err, f, "an object or null",
					     decoded);
		ret = profile_decoded_value(d, decoded, f, &dv, err);
		if (ret)
			return ret;
		if (dv != pin.value)
			return api_fail(err, 422, "decoded_mismatch", f,
					"%s describes 0x%" PRIx64 ", but value "
					"is 0x%" PRIx64,
					f, dv, pin.value);
	} else {
		/* Unknown bits need decoded.unknown_bits to vouch for them. */
		char vf[FIELD_MAX];

		ju_path(vf, sizeof(vf), "%s.value", field);
		ret = profile_check_raw_bits(d, pin.value, vf, err);
		if (ret)
			return ret;
	}
	return profile_insert_pin(p, &pin, field, err);
}

static int registers_array(struct profile *p, const json_t *regs,
			   struct api_error *err)
{
	size_t i;
	json_t *e;

	json_array_foreach(regs, i, e) {
		char f[32];
		int ret;

		ju_path(f, sizeof(f), "registers[%zu]", i);
		ret = array_entry(p, e, f, err);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_description(struct profile *p, const json_t *doc,
			     struct api_error *err)
{
	const char *s;
	size_t len;
	int ret;

	ret = ju_get_string(doc, "description", "description",
			    PROFILE_DESCRIPTION_MAX * 4, &s, err);
	if (ret == -EINVAL && err && strcmp(err->code, "value_too_long") == 0)
		goto too_long;
	if (ret || !s)
		return ret;
	len = strlen(s);
	if (ju_utf8_len(s, len) > PROFILE_DESCRIPTION_MAX)
		goto too_long;
	memcpy(p->description, s, len + 1);
	p->has_description = true;
	return 0;
too_long:
	return api_fail(err, 422, "value_too_long", "description",
			"description is longer than %d characters",
			PROFILE_DESCRIPTION_MAX);
}

static int parse_policy(struct profile *p, const json_t *doc,
			struct api_error *err)
{
	const char *s;
	int ret;

	ret = ju_get_string(doc, "unknown_registers", "unknown_registers",
			    SIZE_MAX, &s, err);
	if (ret || !s)
		return ret;
	if (strcmp(s, "refuse") == 0)
		p->unknown_registers = PROFILE_UNKNOWN_REFUSE;
	else if (strcmp(s, "disable") == 0)
		p->unknown_registers = PROFILE_UNKNOWN_DISABLE;
	else
		return api_fail(err, 422, "bad_policy", "unknown_registers",
				"unknown_registers must be \"refuse\" or "
				"\"disable\"");
	return 0;
}

int profile_set_options(struct profile *p, const json_t *obj,
			struct api_error *err)
{
	int ret = parse_description(p, obj, err);

	return ret ? ret : parse_policy(p, obj, err);
}

static int parse_registers(struct profile *p, const json_t *doc,
			   struct api_error *err)
{
	json_t *regs = json_object_get(doc, "registers");
	size_t n;

	if (!regs)
		return ju_missing_field(err, "registers");
	if (json_is_object(regs))
		n = json_object_size(regs);
	else if (json_is_array(regs))
		n = json_array_size(regs);
	else
		return ju_wrong_type(err, "registers", "an object or an array",
				     regs);
	if (n > PROFILE_MAX_PINS)
		return api_fail(err, 422, "too_many_registers", "registers",
				"registers has %zu entries; at most %d are "
				"allowed",
				n, PROFILE_MAX_PINS);
	return json_is_object(regs) ? registers_object(p, regs, err) :
				      registers_array(p, regs, err);
}

static int parse_extras(struct profile *p, const json_t *doc,
			struct api_error *err)
{
	json_t *obs = json_object_get(doc, "observed_abi");
	json_t *src = json_object_get(doc, "source");
	json_t *smccc = json_object_get(doc, "smccc");
	json_t *cpu = json_object_get(doc, "cpu_features");
	json_t *idr = json_object_get(doc, "id_registers");
	int ret;

	if (idr && !json_is_null(idr)) {
		ret = id_pins_from_json(idr, "id_registers", p->id_pins, &p->nid_pins, err);
		if (ret)
			return ret;
	}

	if (cpu && !json_is_null(cpu)) {
		ret = cpu_features_parse(cpu, "cpu_features", &p->cpu_features, err);
		if (ret)
			return ret;
		p->has_cpu_features = true;
	}

	if (smccc && !json_is_null(smccc)) {
		ret = smccc_filter_from_json(smccc, &p->smccc, err);
		if (ret)
			return ret;
	}

	if (obs && !json_is_null(obs)) {
		ret = observed_abi_from_json(obs, "observed_abi", &p->observed,
					     err);
		if (ret)
			return ret;
		p->observed_abi = json_deep_copy(obs);
		if (!p->observed_abi)
			return ju_oom(err);
	}
	if (src && !json_is_null(src)) {
		if (!json_is_object(src))
			return ju_wrong_type(err, "source", "an object", src);
		p->source = json_deep_copy(src);
		if (!p->source)
			return ju_oom(err);
	}
	return 0;
}

int profile_from_json(const json_t *doc, struct profile **out,
		      struct api_error *err)
{
	static const char *const keys[] = { "name", "description",
					    "unknown_registers", "registers",
					    "observed_abi", "smccc", "cpu_features",
					    "id_registers", "source", "created_at", NULL };
	struct profile *p = NULL;
	const char *name;
	int ret;

	*out = NULL;
	if (!json_is_object(doc))
		return ju_wrong_type(err, "", "an object", doc);
	ret = ju_only_keys(doc, "", keys, err);
	if (ret)
		return ret;
	ret = ju_get_string(doc, "name", "name", SIZE_MAX, &name, err);
	if (ret)
		return ret;
	if (!name)
		return ju_missing_field(err, "name");
	ret = profile_new(name, &p, err);
	if (!ret)
		ret = parse_description(p, doc, err);
	if (!ret)
		ret = parse_policy(p, doc, err);
	if (!ret)
		ret = parse_registers(p, doc, err);
	if (!ret)
		ret = parse_extras(p, doc, err);
	if (ret) {
		profile_free(p);
		return ret;
	}
	*out = p;
	return 0;
}
