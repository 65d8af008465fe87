/*
 * JSON views of firmware pseudo-register values, for
 * GET /v1/host/firmware-registers.
 *
 * Level names are the suffixes of the uapi constants
 * (KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_{1,2,3}_*, arch/arm64/include/uapi/asm/kvm.h).
 *
 * jansson's *_set_new and *_append_new steal the value even when they fail,
 * so every error path only has to drop the container being built.
 */
#include "fwreg.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const wa_levels[] = {
	[FWREG_WA_NOT_AVAIL] = "NOT_AVAIL",
	[FWREG_WA_AVAIL] = "AVAIL",
	[FWREG_WA_NOT_REQUIRED] = "NOT_REQUIRED",
};

static const char *const wa2_levels[] = {
	[FWREG_WA2_NOT_AVAIL] = "NOT_AVAIL",
	[FWREG_WA2_UNKNOWN] = "UNKNOWN",
	[FWREG_WA2_AVAIL] = "AVAIL",
	[FWREG_WA2_NOT_REQUIRED] = "NOT_REQUIRED",
};

static json_t *hex_string(uint64_t v)
{
	char buf[19];

	fwreg_format_hex(buf, v);
	return json_string(buf);
}

/* Sets key to v, stealing it; a NULL v (failed allocation) fails. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(obj, key, v);
}

static json_t *decode_psci(uint64_t value)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%" PRIu64 ".%" PRIu64, value >> 16,
		 value & 0xffff);
	return json_pack("{s:s}", "version", buf);
}

/* WORKAROUND_1 and _3: the whole value must be one of the three levels. */
static json_t *decode_workaround(uint64_t value)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (value <= FWREG_WA_NOT_REQUIRED) {
		if (set_new(o, "level", json_string(wa_levels[value])))
			goto fail;
		return o;
	}
	if (set_new(o, "level", json_null()) ||
	    set_new(o, "unknown_bits", hex_string(value)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* WORKAROUND_2: level in bits 3:0, ENABLED in bit 4. */
static json_t *decode_workaround_2(uint64_t value)
{
	uint64_t level = value & FWREG_WA_LEVEL_MASK;
	uint64_t unknown = value & ~(uint64_t)(FWREG_WA_LEVEL_MASK |
					       FWREG_WA2_ENABLED);
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (level <= FWREG_WA2_NOT_REQUIRED) {
		if (set_new(o, "level", json_string(wa2_levels[level])))
			goto fail;
	} else {
		unknown |= level;
		if (set_new(o, "level", json_null()))
			goto fail;
	}
	if (set_new(o, "enabled",
		    json_boolean((value & FWREG_WA2_ENABLED) != 0)))
		goto fail;
	if (unknown && set_new(o, "unknown_bits", hex_string(unknown)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *decode_bitmap(const struct fwreg_desc *d, uint64_t value)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < d->nbits; i++) {
		uint64_t bit = UINT64_C(1) << d->bits[i].bit;

		if (set_new(o, d->bits[i].name, json_boolean(value & bit)))
			goto fail;
	}
	if (set_new(o, "unknown_bits", hex_string(value & ~d->bits_mask)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *fwreg_decode(uint64_t id, uint64_t value)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);

	if (!d)
		return json_null();
	switch (d->kind) {
	case FWREG_KIND_PSCI_VERSION:
		return decode_psci(value);
	case FWREG_KIND_WORKAROUND:
		return decode_workaround(value);
	case FWREG_KIND_WORKAROUND_2:
		return decode_workaround_2(value);
	case FWREG_KIND_BITMAP:
		return decode_bitmap(d, value);
	}
	return json_null();
}

json_t *fwreg_entry_json(uint64_t id, uint64_t value)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (set_new(o, "id", hex_string(id)) ||
	    set_new(o, "name", d ? json_string(d->name) : json_null()) ||
	    set_new(o, "value", hex_string(value)) ||
	    set_new(o, "decoded", fwreg_decode(id, value))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
