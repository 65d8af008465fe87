/* Host register sets: GET /v1/host/firmware-registers as a struct. */
#include "hostset.h"

#include "fwreg.h"
#include "jsonutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_reg(const void *a, const void *b)
{
	const struct hostset_reg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Appends (id, value) as entry i, refusing what is not a firmware register
 * and duplicates. `field` names the entry.
 */
static int add_reg(struct hostset *h, uint64_t id, uint64_t value,
		   const char *field, struct api_error *err)
{
	if (!fwreg_id_is_firmware(id))
		return api_fail(err, 422, "not_firmware_register", field,
				"%s: 0x%" PRIx64 " is not a KVM/arm64 "
				"firmware register id (64-bit, coprocessor "
				"0x14 or 0x16)",
				field, id);
	if (h->nregs == HOSTSET_MAX_REGS)
		return api_fail(err, 422, "too_many_registers", "registers",
				"more than %d registers", HOSTSET_MAX_REGS);
	for (size_t i = 0; i < h->nregs; i++)
		if (h->regs[i].id == id)
			return api_fail(err, 422, "duplicate_register", field,
					"%s: register 0x%" PRIx64 " is listed "
					"twice",
					field, id);
	h->regs[h->nregs].id = id;
	h->regs[h->nregs].value = value;
	h->nregs++;
	return 0;
}

static int set_release(struct hostset *h, const char *release,
		       struct api_error *err)
{
	if (!release)
		release = "";
	if (strlen(release) > HOSTSET_RELEASE_MAX)
		return api_fail(err, 422, "value_too_long", "kernel_release",
				"kernel_release is %zu bytes long; at most %d "
				"are allowed",
				strlen(release), HOSTSET_RELEASE_MAX);
	snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", release);
	return 0;
}

int hostset_init(struct hostset *out, const char *kernel_release,
		 const uint64_t *ids, const uint64_t *values, size_t n,
		 struct api_error *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->smccc_filter = -1;
	ret = set_release(out, kernel_release, err);
	if (ret)
		return ret;
	if (n > HOSTSET_MAX_REGS)
		return api_fail(err, 422, "too_many_registers", "registers",
				"%zu registers; at most %d are allowed", n,
				HOSTSET_MAX_REGS);
	for (size_t i = 0; i < n; i++) {
		char f[32];

		ju_path(f, sizeof(f), "registers[%zu]", i);
		ret = add_reg(out, ids[i], values[i], f, err);
		if (ret)
			return ret;
	}
	qsort(out->regs, out->nregs, sizeof(out->regs[0]), cmp_reg);
	return 0;
}

/* A name given with an id must not contradict the catalogue. */
static int check_name(const json_t *entry, uint64_t id, const char *field,
		      struct api_error *err)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);
	const struct fwreg_desc *named;
	const char *name;
	char f[176];
	int ret;

	ju_path(f, sizeof(f), "%s.name", field);
	ret = ju_get_string(entry, "name", f, SIZE_MAX, &name, err);
	if (ret || !name)
		return ret;
	named = fwreg_lookup_name(name);
	if (d && strcmp(d->name, name) != 0)
		return api_fail(err, 422, "name_mismatch", f,
				"%s: register 0x%" PRIx64 " is %s, not %s", f,
				id, d->name, name);
	if (!d && named)
		return api_fail(err, 422, "name_mismatch", f,
				"%s: %s is register 0x%" PRIx64
				", not 0x%" PRIx64,
				f, name, named->id, id);
	return 0;
}

/* "1.1", or the raw value when it is no major.minor at all */
static void psci_text(char *buf, size_t size, uint64_t v)
{
	if (v >> 31)
		snprintf(buf, size, "0x%" PRIx64, v);
	else
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64, v >> 16,
			 v & 0xffff);
}

int hostset_check_value(uint64_t id, uint64_t value, const char *field,
			struct api_error *err)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);
	const uint64_t wa2_bits = FWREG_WA_LEVEL_MASK | FWREG_WA2_ENABLED;
	uint64_t level = value & FWREG_WA_LEVEL_MASK;
	char v[32];

	if (!d)
		return 0;
	switch (d->kind) {
	case FWREG_KIND_PSCI_VERSION:
		psci_text(v, sizeof(v), value);
		/* PSCI (DEN0022) 5.1.1: bit 31 of the version is zero. */
		if (value >> 31)
			return api_fail(err, 422, "impossible_value", field,
					"%s: PSCI_VERSION 0x%" PRIx64 " sets "
					"bits above 30; a PSCI version is "
					"major (bits 30:16) . minor (15:0), "
					"so no kernel reports it",
					field, value);
		if (value >> 16 == 0 && value != FWREG_PSCI(0, 1) &&
		    value != FWREG_PSCI(0, 2))
			return api_fail(err, 422, "impossible_value", field,
					"%s: PSCI_VERSION %s (0x%" PRIx64 ") "
					"does not exist; the only 0.x versions "
					"are 0.1 and 0.2",
					field, v, value);
		return 0;
	case FWREG_KIND_WORKAROUND:
		if (value > FWREG_WA_NOT_REQUIRED)
			return api_fail(err, 422, "impossible_value", field,
					"%s: %s 0x%" PRIx64 " is not a level a "
					"kernel reports (it masks the value to "
					"0xf and reports NOT_AVAIL 0x0, AVAIL "
					"0x1 or NOT_REQUIRED 0x2)",
					field, d->name, value);
		return 0;
	case FWREG_KIND_WORKAROUND_2:
		if ((value & ~wa2_bits) || level > FWREG_WA2_NOT_REQUIRED ||
		    ((value & FWREG_WA2_ENABLED) && level != FWREG_WA2_AVAIL))
			return api_fail(err, 422, "impossible_value", field,
					"%s: %s 0x%" PRIx64 " is not a value a "
					"kernel reports (levels NOT_AVAIL 0x0, "
					"UNKNOWN 0x1, AVAIL 0x2, NOT_REQUIRED "
					"0x3; ENABLED 0x10 only with AVAIL)",
					field, d->name, value);
		return 0;
	case FWREG_KIND_BITMAP:
		return 0;
	}
	return 0;
}

int hostset_check(const struct hostset *h, const char *prefix,
		  struct api_error *err)
{
	for (size_t j = 0; j < h->nregs; j++) {
		char f[96];
		int ret;

		if (prefix && prefix[0])
			ju_path(f, sizeof(f), "%s.registers[%zu].value",
				prefix, j);
		else
			ju_path(f, sizeof(f), "registers[%zu].value", j);
		ret = hostset_check_value(h->regs[j].id, h->regs[j].value, f,
					  err);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_entry(struct hostset *h, const json_t *e, const char *field,
		       struct api_error *err)
{
	static const char *const keys[] = { "id", "name", "value", "decoded",
					    NULL };
	uint64_t id, value;
	char f[176];
	int ret;

	if (!json_is_object(e))
		return ju_wrong_type(err, field, "an object", e);
	ret = ju_only_keys(e, field, keys, err);
	if (ret)
		return ret;
	ret = ju_require_hex(e, field, "id", f, sizeof(f), &id, err);
	if (ret)
		return ret;
	ret = ju_require_hex(e, field, "value", f, sizeof(f), &value, err);
	if (ret)
		return ret;
	ret = check_name(e, id, field, err);
	if (ret)
		return ret;
	ju_path(f, sizeof(f), "%s.value", field);
	ret = hostset_check_value(id, value, f, err);
	if (ret)
		return ret;
	return add_reg(h, id, value, field, err);
}

int hostset_set_observed(struct hostset *h, const json_t *obj,
			 struct api_error *err)
{
	int ret;

	if (json_is_array(obj))
		ret = observed_calls_from_json(obj, "observed_abi.calls",
					       &h->observed, err);
	else
		ret = observed_abi_from_json(obj, "observed_abi", &h->observed,
					     err);
	if (ret)
		memset(&h->observed, 0, sizeof(h->observed));
	return ret;
}

int hostset_from_json(const json_t *doc, struct hostset *out,
		      struct api_error *err)
{
	static const char *const keys[] = { "kernel_release", "registers",
					    "smccc_filter", "cpu_features",
					    "id_registers", "observed_abi", NULL };
	const char *release;
	json_t *regs, *e, *obs, *filter, *cpu;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	out->smccc_filter = -1;
	if (!json_is_object(doc))
		return ju_wrong_type(err, "", "an object", doc);
	ret = ju_only_keys(doc, "", keys, err);
	if (ret)
		return ret;
	ret = ju_get_string(doc, "kernel_release", "kernel_release",
			    HOSTSET_RELEASE_MAX, &release, err);
	if (ret)
		return ret;
	if (!release)
		return ju_missing_field(err, "kernel_release");
	snprintf(out->kernel_release, sizeof(out->kernel_release), "%s",
		 release);

	regs = json_object_get(doc, "registers");
	if (!regs)
		return ju_missing_field(err, "registers");
	if (!json_is_array(regs))
		return ju_wrong_type(err, "registers", "an array", regs);
	if (json_array_size(regs) > HOSTSET_MAX_REGS)
		return api_fail(err, 422, "too_many_registers", "registers",
				"registers has %zu entries; at most %d are "
				"allowed",
				json_array_size(regs), HOSTSET_MAX_REGS);
	json_array_foreach(regs, i, e) {
		char f[32];

		ju_path(f, sizeof(f), "registers[%zu]", i);
		ret = parse_entry(out, e, f, err);
		if (ret)
			return ret;
	}
	qsort(out->regs, out->nregs, sizeof(out->regs[0]), cmp_reg);

	filter = json_object_get(doc, "smccc_filter");
	if (filter && !json_is_null(filter)) {
		if (!json_is_boolean(filter))
			return ju_wrong_type(err, "smccc_filter", "a boolean",
					     filter);
		out->smccc_filter = json_is_true(filter);
	}

	cpu = json_object_get(doc, "cpu_features");
	if (cpu && !json_is_null(cpu)) {
		ret = cpu_host_caps_from_json(cpu, "cpu_features", &out->cpu, err);
		if (ret)
			return ret;
		out->cpu_known = true;
	}

	ret = id_regs_from_json(json_object_get(doc, "id_registers"), "id_registers",
				&out->idregs, err);
	if (ret)
		return ret;

	obs = json_object_get(doc, "observed_abi");
	if (obs && !json_is_null(obs)) {
		ret = observed_abi_from_json(obs, "observed_abi",
					     &out->observed, err);
		if (ret)
			return ret;
	}
	return 0;
}

const struct hostset_reg *hostset_find(const struct hostset *h, uint64_t id)
{
	size_t lo = 0, hi = h->nregs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->regs[mid].id == id)
			return &h->regs[mid];
		if (h->regs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

json_t *hostset_to_json(const struct hostset *h)
{
	json_t *doc = json_object(), *regs = json_array();

	if (!doc || !regs) {
		json_decref(doc);
		json_decref(regs);
		return NULL;
	}
	/* regs belongs to doc from here on, even when this fails. */
	if (ju_set_new(doc, "registers", regs) ||
	    ju_set_new(doc, "kernel_release", json_string(h->kernel_release)))
		goto fail;
	for (size_t i = 0; i < h->nregs; i++)
		if (ju_append_new(regs, fwreg_entry_json(h->regs[i].id,
							 h->regs[i].value)))
			goto fail;
	if (h->smccc_filter >= 0 &&
	    ju_set_new(doc, "smccc_filter", json_boolean(h->smccc_filter)))
		goto fail;
	if (h->cpu_known && ju_set_new(doc, "cpu_features", cpu_host_caps_to_json(&h->cpu)))
		goto fail;
	if (h->idregs.known && ju_set_new(doc, "id_registers", id_regs_to_json(&h->idregs)))
		goto fail;
	if (h->observed.present &&
	    ju_set_new(doc, "observed_abi", observed_abi_to_json(&h->observed)))
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

static bool call_equal(const struct observed_call *a,
		       const struct observed_call *b)
{
	return strcmp(a->name, b->name) == 0 &&
	       a->function_id == b->function_id && a->has_x1 == b->has_x1 &&
	       a->x1 == b->x1 && a->x0 == b->x0;
}

bool hostset_equal(const struct hostset *a, const struct hostset *b)
{
	if (strcmp(a->kernel_release, b->kernel_release) != 0 ||
	    a->nregs != b->nregs || a->smccc_filter != b->smccc_filter ||
	    a->observed.present != b->observed.present || a->cpu_known != b->cpu_known ||
	    (a->cpu_known && !cpu_host_caps_equal(&a->cpu, &b->cpu)) ||
	    !id_regs_equal(&a->idregs, &b->idregs))
		return false;
	for (size_t i = 0; i < a->nregs; i++)
		if (a->regs[i].id != b->regs[i].id ||
		    a->regs[i].value != b->regs[i].value)
			return false;
	if (!a->observed.present)
		return true;
	if (strcmp(a->observed.kernel_release, b->observed.kernel_release) ||
	    a->observed.ncalls != b->observed.ncalls)
		return false;
	for (size_t i = 0; i < a->observed.ncalls; i++)
		if (!call_equal(&a->observed.calls[i], &b->observed.calls[i]))
			return false;
	return true;
}
