/* Firecracker CPU templates and fingerprints as host register sets. */
#include "firecracker.h"

#include "fwreg.h"
#include "jsonutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Field paths; api_error.field holds 160 bytes. */
#define FIELD_MAX_FC 160

/* Firecracker's RegisterValueFilter<u128>, as two 64-bit halves. */
struct fc_bitmap {
	uint64_t filter_lo, filter_hi; /* 1 = the bit is given */
	uint64_t value_lo, value_hi;
};

bool firecracker_is_document(const json_t *doc)
{
	return json_is_object(doc) &&
	       (json_object_get(doc, "reg_modifiers") ||
		json_object_get(doc, "guest_cpu_config"));
}

const char *firecracker_format_name(enum fc_format f)
{
	switch (f) {
	case FC_FORMAT_TEMPLATE:
		return "firecracker_template";
	case FC_FORMAT_FINGERPRINT:
		return "firecracker_fingerprint";
	case FC_FORMAT_NONE:
		break;
	}
	return "pinvm";
}

/*
 * "0x.." or "0b.." into a u64, as Firecracker's deserialize_from_str_u64
 * reads addr (leading zeros allowed); false when malformed or too wide.
 */
static bool parse_addr(const char *s, uint64_t *out)
{
	unsigned base, shift;
	uint64_t v = 0;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'b') || !s[2])
		return false;
	base = s[1] == 'x' ? 16 : 2;
	shift = base == 16 ? 4 : 1;
	for (s += 2; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (d >= base || (v >> (64 - shift)))
			return false;
		v = (v << shift) | d;
	}
	*out = v;
	return true;
}

/* Firecracker's tri-state string; false for another character or > 128 bits. */
static bool parse_bitmap(const char *s, struct fc_bitmap *b)
{
	size_t len = strlen(s);
	unsigned i = 0;

	memset(b, 0, sizeof(*b));
	if (len >= 2 && s[0] == '0' && s[1] == 'b') {
		s += 2;
		len -= 2;
	}
	while (len--) {
		char c = s[len];
		uint64_t bit;
		bool hi;

		if (c == '_')
			continue;
		if (c != 'x' && c != '0' && c != '1')
			return false;
		if (i == 128)
			return false;
		hi = i >= 64;
		bit = UINT64_C(1) << (i % 64);
		if (c != 'x')
			*(hi ? &b->filter_hi : &b->filter_lo) |= bit;
		if (c == '1')
			*(hi ? &b->value_hi : &b->value_lo) |= bit;
		i++;
	}
	return true;
}

static void note_member(struct fc_import *info, const char *name)
{
	if (info->nignored_members < FC_MAX_IGNORED_MEMBERS)
		info->ignored_members[info->nignored_members++] = name;
}

/* One reg_modifiers entry; a firmware register is appended to ids/values. */
static int parse_modifier(const json_t *e, const char *field, uint64_t *ids,
			  uint64_t *values, size_t *n, struct fc_import *info,
			  struct api_error *err)
{
	static const char *const keys[] = { "addr", "bitmap", NULL };
	const char *addr, *bitmap;
	struct fc_bitmap b;
	uint64_t id;
	char f[FIELD_MAX_FC];
	int ret;

	if (!json_is_object(e))
		return ju_wrong_type(err, field, "an object", e);
	ret = ju_only_keys(e, field, keys, err);
	if (ret)
		return ret;
	ju_path(f, sizeof(f), "%s.addr", field);
	ret = ju_get_string(e, "addr", f, 256, &addr, err);
	if (ret)
		return ret;
	if (!addr)
		return ju_missing_field(err, f);
	if (!parse_addr(addr, &id))
		return api_fail(err, 422, "bad_value", f,
				"%s: a register id is \"0x\" hex or \"0b\" "
				"binary of at most 64 bits",
				f);
	ju_path(f, sizeof(f), "%s.bitmap", field);
	ret = ju_get_string(e, "bitmap", f, 1024, &bitmap, err);
	if (ret)
		return ret;
	if (!bitmap)
		return ju_missing_field(err, f);
	if (!parse_bitmap(bitmap, &b))
		return api_fail(err, 422, "bad_bitmap", f,
				"%s: a bitmap is \"0b\" and at most 128 of 0, 1 "
				"and x (\"_\" separates)",
				f);
	if (!fwreg_id_is_firmware(id)) {
		info->ignored++;
		return 0;
	}
	if (b.filter_lo != UINT64_MAX)
		return api_fail(err, 422, "partial_value", f,
				"%s: register 0x%" PRIx64 " leaves bits 0x%"
				PRIx64 " to the host (x or missing); a host "
				"set needs the whole value of each firmware "
				"register",
				f, id, ~b.filter_lo);
	if (b.value_hi)
		return api_fail(err, 422, "value_too_wide", f,
				"%s: register 0x%" PRIx64 " is 64 bits wide, "
				"but the bitmap sets bits above 63",
				f, id);
	ret = hostset_check_value(id, b.value_lo, f, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < *n; i++)
		if (ids[i] == id)
			return api_fail(err, 422, "duplicate_register", field,
					"%s: register 0x%" PRIx64 " is listed "
					"twice",
					field, id);
	if (*n == HOSTSET_MAX_REGS)
		return api_fail(err, 422, "too_many_registers", field,
				"more than %d firmware registers",
				HOSTSET_MAX_REGS);
	ids[*n] = id;
	values[*n] = b.value_lo;
	(*n)++;
	info->firmware++;
	return 0;
}

/* A custom CPU template at `prefix` ("" or "guest_cpu_config"). */
static int parse_template(const json_t *t, const char *prefix,
			  struct hostset *out, const char *release,
			  struct fc_import *info, struct api_error *err)
{
	static const char *const keys[] = { "reg_modifiers", "kvm_capabilities",
					    "vcpu_features", NULL };
	static const char *const x86[] = { "cpuid_modifiers", "msr_modifiers",
					   NULL };
	uint64_t ids[HOSTSET_MAX_REGS], values[HOSTSET_MAX_REGS];
	json_t *mods, *e;
	char f[FIELD_MAX_FC];
	size_t n = 0, i;
	int ret;

	if (!json_is_object(t))
		return ju_wrong_type(err, prefix, "an object", t);
	for (i = 0; x86[i]; i++) {
		if (!json_object_get(t, x86[i]))
			continue;
		ju_path(f, sizeof(f), "%s%s%s", prefix, prefix[0] ? "." : "",
			x86[i]);
		return api_fail(err, 422, "wrong_architecture", f,
				"%s: an x86_64 Firecracker document; only "
				"aarch64 ones carry arm64 firmware registers",
				f);
	}
	ret = ju_only_keys(t, prefix, keys, err);
	if (ret)
		return ret;
	for (i = 1; keys[i]; i++)
		if (json_object_get(t, keys[i]))
			note_member(info, keys[i]);
	ju_path(f, sizeof(f), "%s%sreg_modifiers", prefix,
		prefix[0] ? "." : "");
	mods = json_object_get(t, "reg_modifiers");
	if (!mods)
		return ju_missing_field(err, f);
	if (!json_is_array(mods))
		return ju_wrong_type(err, f, "an array", mods);
	json_array_foreach(mods, i, e) {
		char ef[FIELD_MAX_FC];

		ju_path(ef, sizeof(ef), "%s[%zu]", f, i);
		ret = parse_modifier(e, ef, ids, values, &n, info, err);
		if (ret)
			return ret;
	}
	return hostset_init(out, release, ids, values, n, err);
}

int firecracker_to_hostset(const json_t *doc, struct hostset *out,
			   struct fc_import *info, struct api_error *err)
{
	static const char *const keys[] = { "firecracker_version",
					    "kernel_version",
					    "microcode_version",
					    "bios_version", "bios_revision",
					    "guest_cpu_config", NULL };
	struct fc_import scratch;
	const char *release;
	int ret;

	if (!info)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return ju_wrong_type(err, "", "an object", doc);
	if (!json_object_get(doc, "guest_cpu_config")) {
		info->format = FC_FORMAT_TEMPLATE;
		return parse_template(doc, "", out, "", info, err);
	}
	info->format = FC_FORMAT_FINGERPRINT;
	ret = ju_only_keys(doc, "", keys, err);
	if (ret)
		return ret;
	ret = ju_get_string(doc, "kernel_version", "kernel_version",
			    HOSTSET_RELEASE_MAX, &release, err);
	if (ret)
		return ret;
	if (!release)
		return ju_missing_field(err, "kernel_version");
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(keys[i], "kernel_version") &&
		    strcmp(keys[i], "guest_cpu_config") &&
		    json_object_get(doc, keys[i]))
			note_member(info, keys[i]);
	return parse_template(json_object_get(doc, "guest_cpu_config"),
			      "guest_cpu_config", out, release, info, err);
}

int hostset_from_any_json(const json_t *doc, struct hostset *out,
			  struct fc_import *info, struct api_error *err)
{
	if (firecracker_is_document(doc))
		return firecracker_to_hostset(doc, out, info, err);
	if (info)
		memset(info, 0, sizeof(*info));
	return hostset_from_json(doc, out, err);
}

json_t *firecracker_import_json(const struct fc_import *info)
{
	json_t *members = json_array(), *o;
	char note[256];

	snprintf(note, sizeof(note),
		 "%zu firmware register%s taken from the %s; %zu other "
		 "register%s and the members listed ignored: they do not "
		 "shape the hypercall ABI",
		 info->firmware, info->firmware == 1 ? "" : "s",
		 info->format == FC_FORMAT_FINGERPRINT ?
			 "Firecracker fingerprint" :
			 "Firecracker CPU template",
		 info->ignored, info->ignored == 1 ? "" : "s");
	/* "o" steals members, also when json_pack() fails. */
	o = json_pack("{s:s, s:I, s:I, s:o, s:s}", "format",
		      firecracker_format_name(info->format),
		      "firmware_registers", (json_int_t)info->firmware,
		      "ignored_registers", (json_int_t)info->ignored,
		      "ignored_members", members, "note", note);
	if (!o)
		return NULL;
	for (size_t i = 0; i < info->nignored_members; i++)
		if (ju_append_new(members,
				  json_string(info->ignored_members[i]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}
