/* The feature ID registers (id_regs.h). */
#include "id_regs.h"

#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_BASE ID_REG_ID(0, 0)

/* Architectural names by CRm (1..7) and op2; NULL: no register there. */
static const char *const names[8][8] = {
	[1] = { "ID_PFR0_EL1", "ID_PFR1_EL1", "ID_DFR0_EL1", "ID_AFR0_EL1", "ID_MMFR0_EL1",
		"ID_MMFR1_EL1", "ID_MMFR2_EL1", "ID_MMFR3_EL1" },
	[2] = { "ID_ISAR0_EL1", "ID_ISAR1_EL1", "ID_ISAR2_EL1", "ID_ISAR3_EL1", "ID_ISAR4_EL1",
		"ID_ISAR5_EL1", "ID_MMFR4_EL1", "ID_ISAR6_EL1" },
	[3] = { "MVFR0_EL1", "MVFR1_EL1", "MVFR2_EL1", NULL, "ID_PFR2_EL1", "ID_DFR1_EL1",
		"ID_MMFR5_EL1", NULL },
	[4] = { "ID_AA64PFR0_EL1", "ID_AA64PFR1_EL1", "ID_AA64PFR2_EL1", NULL,
		"ID_AA64ZFR0_EL1", "ID_AA64SMFR0_EL1", NULL, "ID_AA64FPFR0_EL1" },
	[5] = { "ID_AA64DFR0_EL1", "ID_AA64DFR1_EL1", "ID_AA64DFR2_EL1", NULL,
		"ID_AA64AFR0_EL1", "ID_AA64AFR1_EL1", NULL, NULL },
	[6] = { "ID_AA64ISAR0_EL1", "ID_AA64ISAR1_EL1", "ID_AA64ISAR2_EL1", "ID_AA64ISAR3_EL1" },
	[7] = { "ID_AA64MMFR0_EL1", "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64MMFR3_EL1",
		"ID_AA64MMFR4_EL1" },
};

/* Fields others own (see id_regs.h): never pinned. */
static const struct {
	uint64_t id, mask;
} owned[] = {
	{ ID_DFR0_EL1, ID_DFR0_PERFMON },
	{ ID_AA64DFR0_EL1, ID_AA64DFR0_PMUVER },
	{ ID_AA64PFR0_EL1, 0xfULL << 32 },                 /* SVE */
	{ ID_AA64ZFR0_EL1, ~0ULL },
	{ ID_AA64ISAR1_EL1, 0xff0000ffULL },               /* APA, API, GPA, GPI */
	{ ID_AA64ISAR2_EL1, 0xff00ULL },                   /* GPA3, APA3 */
	{ ID_AA64MMFR1_EL1, ID_MMFR1_EL2_ONLY },
};

/* Signed fields (0xf below 0), and fields without an order. */
static const struct {
	uint64_t id, mask;
	bool ordered;
} special[] = {
	{ ID_AA64PFR0_EL1, 0xffULL << 16, true },  /* FP, AdvSIMD */
	{ ID_AA64MMFR0_EL1, 0xffULL << 24, true }, /* TGran64, TGran4 */
	{ ID_AA64DFR0_EL1, 0xfULL << 36, true },   /* DoubleLock */
	{ ID_AA64MMFR0_EL1, 0xfffULL << 32, false }, /* TGran16_2, TGran64_2, TGran4_2 */
};

bool id_reg_is_feature(uint64_t id)
{
	return (id & ~0x3fULL) == ID_BASE && (id & 0x38) != 0;
}

const char *id_reg_name(uint64_t id, char *buf, size_t size)
{
	unsigned crm = (id >> 3) & 7, op2 = id & 7;

	if (names[crm][op2])
		snprintf(buf, size, "%s", names[crm][op2]);
	else
		snprintf(buf, size, "S3_0_C0_C%u_%u", crm, op2);
	return buf;
}

int id_reg_lookup(const char *name, uint64_t *id)
{
	char buf[24];

	for (unsigned crm = 1; crm < 8; crm++)
		for (unsigned op2 = 0; op2 < 8; op2++)
			if (!strcmp(name, id_reg_name(ID_REG_ID(crm, op2), buf, sizeof(buf)))) {
				*id = ID_REG_ID(crm, op2);
				return 0;
			}
	return -ENOENT;
}

uint64_t id_reg_pinnable(uint64_t id)
{
	uint64_t mask = ~0ULL;

	if (!id_reg_is_feature(id))
		return 0;
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (owned[i].id == id)
			mask &= ~owned[i].mask;
	return mask;
}

int id_field_cmp(uint64_t id, unsigned shift, uint64_t a, uint64_t b, bool *ordered)
{
	int fa = (int)((a >> shift) & 0xf), fb = (int)((b >> shift) & 0xf);

	*ordered = true;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		if (special[i].id != id || !((special[i].mask >> shift) & 1))
			continue;
		if (!special[i].ordered) {
			*ordered = false;
		} else {
			fa = fa >= 8 ? fa - 16 : fa;
			fb = fb >= 8 ? fb - 16 : fb;
		}
	}
	return (fa > fb) - (fa < fb);
}

/* ---- a host set's registers ---- */

static int cmp_reg(const void *a, const void *b)
{
	uint64_t x = ((const struct id_reg *)a)->id, y = ((const struct id_reg *)b)->id;

	return (x > y) - (x < y);
}

const struct id_reg *id_regs_find(const struct id_regs *r, uint64_t id)
{
	struct id_reg key = { .id = id };

	return r->n ? bsearch(&key, r->regs, r->n, sizeof(key), cmp_reg) : NULL;
}

/* Appends one register, refusing a second one of the same id. */
static int add_reg(struct id_regs *r, const struct id_reg *reg, const char *field,
		   struct api_error *err)
{
	char name[24];

	for (size_t i = 0; i < r->n; i++)
		if (r->regs[i].id == reg->id)
			return api_fail(err, 422, "duplicate_register", field, "%s is listed twice",
					id_reg_name(reg->id, name, sizeof(name)));
	if (r->n == ID_REGS_MAX)
		return api_fail(err, 422, "too_many_registers", field,
				"there are at most %d feature ID registers", ID_REGS_MAX);
	r->regs[r->n++] = *reg;
	return 0;
}

/* An entry's id (by "id", or "name", or both agreeing). */
static int entry_id(const json_t *e, const char *f, bool need_id, uint64_t *id,
		    struct api_error *err)
{
	const json_t *jid = json_object_get(e, "id"), *jname = json_object_get(e, "name");
	char fid[200], fname[200], name[24];
	uint64_t byname;

	ju_path(fid, sizeof(fid), "%s.id", f);
	ju_path(fname, sizeof(fname), "%s.name", f);
	if (jname && !json_is_null(jname) && !json_is_string(jname))
		return ju_wrong_type(err, fname, "a string", jname);
	if (!jid && (need_id || !jname || json_is_null(jname)))
		return ju_missing_field(err, need_id ? fid : f);
	if (jid) {
		if (ju_get_hex(jid, fid, id, err) < 0)
			return -EINVAL;
		if (!id_reg_is_feature(*id))
			return api_fail(err, 422, "not_id_register", fid,
					"0x%016llx is not a feature ID register (op0=3, op1=0, "
					"CRn=0, CRm=1..7)", (unsigned long long)*id);
	}
	if (!jname || json_is_null(jname))
		return 0;
	if (id_reg_lookup(json_string_value(jname), &byname) < 0)
		return jid ? api_fail(err, 422, "name_mismatch", fname,
				      "\"%s\" is not the name of %s", json_string_value(jname),
				      id_reg_name(*id, name, sizeof(name)))
			   : api_fail(err, 422, "unknown_register", fname,
				      "\"%s\" is no feature ID register", json_string_value(jname));
	if (jid && byname != *id)
		return api_fail(err, 422, "name_mismatch", fname, "0x%016llx is %s, not %s",
				(unsigned long long)*id, id_reg_name(*id, name, sizeof(name)),
				json_string_value(jname));
	*id = byname;
	return 0;
}

static const char *const set_keys[] = { "writable_masks", "registers", NULL };
static const char *const reg_keys[] = { "id", "name", "value", "writable", NULL };

static int reg_from_json(const json_t *e, const char *f, bool masks, struct id_reg *out,
			 struct api_error *err)
{
	const json_t *w = json_object_get(e, "writable");
	char fv[200];

	memset(out, 0, sizeof(*out));
	if (!json_is_object(e))
		return ju_wrong_type(err, f, "an object", e);
	if (ju_only_keys(e, f, reg_keys, err) < 0 || entry_id(e, f, true, &out->id, err) < 0 ||
	    ju_require_hex(e, f, "value", fv, sizeof(fv), &out->value, err) < 0)
		return -EINVAL;
	ju_path(fv, sizeof(fv), "%s.writable", f);
	if (w && ju_get_hex(w, fv, &out->writable, err) < 0)
		return -EINVAL;
	if (!masks && out->writable)
		return api_fail(err, 422, "bad_value", fv,
				"a writable mask where the set says KVM told none "
				"(writable_masks false)");
	return 0;
}

int id_regs_from_json(const json_t *v, const char *field, struct id_regs *out,
		      struct api_error *err)
{
	const json_t *masks, *regs, *e;
	char f[200];
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return ju_wrong_type(err, field, "an object", v);
	if (ju_only_keys(v, field, set_keys, err) < 0)
		return -EINVAL;
	masks = json_object_get(v, "writable_masks");
	regs = json_object_get(v, "registers");
	ju_path(f, sizeof(f), "%s.writable_masks", field);
	if (!masks)
		return ju_missing_field(err, f);
	if (!json_is_boolean(masks))
		return ju_wrong_type(err, f, "a boolean", masks);
	ju_path(f, sizeof(f), "%s.registers", field);
	if (!regs)
		return ju_missing_field(err, f);
	if (!json_is_array(regs))
		return ju_wrong_type(err, f, "an array", regs);
	out->masks_known = json_is_true(masks);
	json_array_foreach(regs, i, e) {
		struct id_reg r;

		ju_path(f, sizeof(f), "%s.registers[%zu]", field, i);
		if (reg_from_json(e, f, out->masks_known, &r, err) < 0 || add_reg(out, &r, f, err) < 0)
			return -EINVAL;
	}
	qsort(out->regs, out->n, sizeof(out->regs[0]), cmp_reg);
	out->known = true;
	return 0;
}

json_t *id_regs_to_json(const struct id_regs *r)
{
	json_t *arr = json_array(), *o;
	char name[24];

	for (size_t i = 0; arr && i < r->n; i++)
		if (ju_append_new(arr, json_pack("{s:o, s:s, s:o, s:o}", "id", ju_hex(r->regs[i].id),
						 "name",
						 id_reg_name(r->regs[i].id, name, sizeof(name)),
						 "value", ju_hex(r->regs[i].value), "writable",
						 ju_hex(r->regs[i].writable))) < 0) {
			json_decref(arr);
			return NULL;
		}
	o = arr ? json_pack("{s:b, s:o}", "writable_masks", r->masks_known, "registers", arr)
		: NULL;
	return o;
}

int id_regs_init(struct id_regs *out, const uint64_t *ids, const uint64_t *values,
		 const uint64_t *writable, size_t n, bool masks_known, struct api_error *err)
{
	char f[40];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		struct id_reg r = { .id = ids[i], .value = values[i],
				    .writable = writable ? writable[i] : 0 };

		if (!id_reg_is_feature(r.id))
			continue;
		snprintf(f, sizeof(f), "id_registers[%zu]", i);
		if (add_reg(out, &r, f, err) < 0)
			return -EINVAL;
	}
	qsort(out->regs, out->n, sizeof(out->regs[0]), cmp_reg);
	out->known = true;
	out->masks_known = masks_known;
	return 0;
}

bool id_regs_equal(const struct id_regs *a, const struct id_regs *b)
{
	if (a->known != b->known || a->masks_known != b->masks_known || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->regs[i].id != b->regs[i].id || a->regs[i].value != b->regs[i].value ||
		    a->regs[i].writable != b->regs[i].writable)
			return false;
	return true;
}

/* ---- a profile's pins ---- */

static const char *const pin_keys[] = { "id", "name", "mask", "value", NULL };

static int cmp_pin(const void *a, const void *b)
{
	uint64_t x = ((const struct id_pin *)a)->id, y = ((const struct id_pin *)b)->id;

	return (x > y) - (x < y);
}

/* "[7:4]" for the lowest set field of mask into buf. */
static const char *field_bits(uint64_t mask, char *buf, size_t size)
{
	unsigned lo = mask ? (unsigned)__builtin_ctzll(mask) & ~3u : 0;

	snprintf(buf, size, "[%u:%u]", lo + 3, lo);
	return buf;
}

static int check_mask(const struct id_pin *p, const char *f, struct api_error *err)
{
	uint64_t mask = p->mask, owned_bits = p->mask & ~id_reg_pinnable(p->id);
	char name[24], bits[16];

	if (!mask)
		return api_fail(err, 422, "bad_mask", f, "a pin's mask selects at least one field");
	for (unsigned s = 0; s < 64; s += 4)
		if (((mask >> s) & 0xf) && ((mask >> s) & 0xf) != 0xf)
			return api_fail(err, 422, "bad_mask", f,
					"ID register fields are 4 bits wide: the mask takes whole "
					"fields (bits %s are partly selected)",
					field_bits(0xfULL << s, bits, sizeof(bits)));
	if (owned_bits)
		return api_fail(err, 422, "bad_mask", f,
				"%s%s is not a profile's to pin: the VM's cpu_features or a "
				"move's accept rules decide it",
				id_reg_name(p->id, name, sizeof(name)),
				field_bits(owned_bits, bits, sizeof(bits)));
	return 0;
}

static int pin_from_json(const json_t *e, const char *f, struct id_pin *out,
			 struct api_error *err)
{
	char fm[200], fv[200];

	memset(out, 0, sizeof(*out));
	if (!json_is_object(e))
		return ju_wrong_type(err, f, "an object", e);
	if (ju_only_keys(e, f, pin_keys, err) < 0 || entry_id(e, f, false, &out->id, err) < 0 ||
	    ju_require_hex(e, f, "mask", fm, sizeof(fm), &out->mask, err) < 0 ||
	    ju_require_hex(e, f, "value", fv, sizeof(fv), &out->value, err) < 0 ||
	    check_mask(out, fm, err) < 0)
		return -EINVAL;
	if (out->value & ~out->mask)
		return api_fail(err, 422, "bad_value", fv,
				"value 0x%llx has bits outside mask 0x%llx",
				(unsigned long long)out->value, (unsigned long long)out->mask);
	return 0;
}

int id_pins_from_json(const json_t *v, const char *field, struct id_pin *out, size_t *n,
		      struct api_error *err)
{
	const json_t *e;
	char f[200], name[24];
	size_t i;

	*n = 0;
	if (!json_is_array(v))
		return ju_wrong_type(err, field, "an array", v);
	json_array_foreach(v, i, e) {
		ju_path(f, sizeof(f), "%s[%zu]", field, i);
		if (*n == ID_REGS_MAX)
			return api_fail(err, 422, "too_many_registers", f,
					"there are at most %d feature ID registers", ID_REGS_MAX);
		if (pin_from_json(e, f, &out[*n], err) < 0)
			return -EINVAL;
		for (size_t j = 0; j < *n; j++)
			if (out[j].id == out[*n].id)
				return api_fail(err, 422, "duplicate_register", f,
						"%s is pinned twice: put its fields in one mask",
						id_reg_name(out[j].id, name, sizeof(name)));
		(*n)++;
	}
	qsort(out, *n, sizeof(out[0]), cmp_pin);
	return 0;
}

json_t *id_pins_to_json(const struct id_pin *pins, size_t n)
{
	json_t *arr = json_array();
	char name[24];

	for (size_t i = 0; arr && i < n; i++)
		if (ju_append_new(arr, json_pack("{s:o, s:s, s:o, s:o}", "id", ju_hex(pins[i].id),
						 "name", id_reg_name(pins[i].id, name, sizeof(name)),
						 "mask", ju_hex(pins[i].mask), "value",
						 ju_hex(pins[i].value))) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

enum id_pin_verdict id_pin_judge(const struct id_pin *p, const struct id_reg *host,
				 char *reason, size_t size)
{
	char name[24], bits[16];
	bool writes = false;

	id_reg_name(p->id, name, sizeof(name));
	if (!host) {
		snprintf(reason, size, "%s: this host's KVM does not list it", name);
		return ID_PIN_REFUSED;
	}
	for (unsigned s = 0; s < 64; s += 4) {
		uint64_t fm = 0xfULL << s;
		unsigned want = (unsigned)((p->value >> s) & 0xf), have;
		bool ordered;
		int c;

		if (!(p->mask & fm))
			continue;
		have = (unsigned)((host->value >> s) & 0xf);
		c = id_field_cmp(p->id, s, p->value, host->value, &ordered);
		if (!c)
			continue;
		field_bits(fm, bits, sizeof(bits));
		if (!ordered || c > 0) {
			snprintf(reason, size,
				 "%s%s: the profile pins %u, this host's vCPUs show %u%s", name, bits,
				 want, have,
				 !ordered ? " (a field without an order: only the same value will do)"
					  : ", and a guest may not be shown more than the host has");
			return ID_PIN_REFUSED;
		}
		if ((host->writable & fm) != fm) {
			snprintf(reason, size,
				 "%s%s: the profile pins %u, this host's vCPUs show %u and its KVM "
				 "takes no write of the field%s",
				 name, bits, want, have,
				 host->writable ? "" : " (Linux before 6.7 takes no write of an ID "
						       "register)");
			return ID_PIN_REFUSED;
		}
		writes = true;
	}
	snprintf(reason, size, writes ? "%s: written lower than this host's at vCPU init"
				       : "%s: this host's vCPUs show the pinned fields already",
		 name);
	return writes ? ID_PIN_WRITE : ID_PIN_SAME;
}
