/*
 * The "smccc" profile member and the SMCCC filter plan it makes. Function
 * id ranges: Arm SMCCC (DEN0028) owner numbers, PSCI (DEN0022), TRNG
 * (DEN0098), PV time (DEN0057), KVM's vendor hypervisor service
 * (Documentation/virt/kvm/arm/hypercalls.rst). Filter rules:
 * arch/arm64/kvm/hypercalls.c kvm_smccc_set_filter() (architecture ranges
 * reserved, EEXIST on overlap).
 */
#include "smccc_filter.h"

#include "jsonutil.h"
#include "observed.h"
#include "smccc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_SPACE (UINT64_C(1) << 32)

struct service {
	const char *name;
	size_t n;
	struct smccc_range r[2];
};

static const struct service services[] = {
	{ "PSCI", 2, { { 0x84000000, 32 }, { 0xc4000000, 32 } } },
	{ "TRNG", 2, { { 0x84000050, 16 }, { 0xc4000050, 16 } } },
	{ "PV_TIME", 1, { { 0xc5000020, 2 } } },
	{ "KVM_VENDOR_HYP", 2, { { 0x86000000, 0x10000 },
				 { 0xc6000000, 0x10000 } } },
	{ "SMCCC_ARCH", 0, { { 0 } } },
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

/* KVM answers these itself; the filter cannot cover them. */
static const struct smccc_range arch[] = { { 0x80000000, 0x10000 },
					   { 0xc0000000, 0x10000 } };

static const struct service *service_lookup(const char *name)
{
	for (size_t i = 0; i < NSERVICES; i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

static bool overlaps(const struct smccc_range *a, const struct smccc_range *b)
{
	return a->base < b->base + b->count && b->base < a->base + a->count;
}

static int parse_range(const json_t *e, const char *field,
		       struct smccc_range *r, struct api_error *err)
{
	static const char *const keys[] = { "base", "count", NULL };
	json_t *count;
	uint64_t base;
	char f[160];
	int ret;

	ret = ju_only_keys(e, field, keys, err);
	if (!ret)
		ret = ju_require_hex(e, field, "base", f, sizeof(f), &base,
				     err);
	if (ret)
		return ret;
	if (base >= ID_SPACE)
		return api_fail(err, 422, "bad_range", f,
				"%s: a function id is 32 bits", f);
	ju_path(f, sizeof(f), "%s.count", field);
	count = json_object_get(e, "count");
	if (!count)
		return ju_missing_field(err, f);
	if (!json_is_integer(count))
		return ju_wrong_type(err, f, "an integer", count);
	if (json_integer_value(count) < 1 ||
	    (uint64_t)json_integer_value(count) > ID_SPACE - base)
		return api_fail(err, 422, "bad_range", f,
				"%s: count must be 1 or more and end at or "
				"below 0x100000000",
				f);
	r->base = (uint32_t)base;
	r->count = (uint64_t)json_integer_value(count);
	for (size_t i = 0; i < 2; i++)
		if (overlaps(r, &arch[i]))
			return api_fail(err, 422, "bad_range", field,
					"%s: 0x%" PRIx32 "-0x%" PRIx64 " reaches "
					"into the Arm architecture range "
					"0x%" PRIx32 "-0x%" PRIx64 ", which KVM "
					"always answers itself; the filter "
					"cannot allow or deny it",
					field, r->base,
					r->base + r->count - 1, arch[i].base,
					arch[i].base + arch[i].count - 1);
	return 0;
}

int smccc_filter_from_json(const json_t *obj, struct smccc_filter_spec *out,
			   struct api_error *err)
{
	static const char *const keys[] = { "policy", "allow", "unenforceable",
					    NULL };
	const char *policy, *unenf;
	json_t *allow, *e;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return ju_wrong_type(err, "smccc", "an object", obj);
	ret = ju_only_keys(obj, "smccc", keys, err);
	if (!ret)
		ret = ju_get_string(obj, "policy", "smccc.policy", 64, &policy,
				    err);
	if (ret)
		return ret;
	if (!policy)
		return ju_missing_field(err, "smccc.policy");
	if (strcmp(policy, "deny_unlisted") != 0)
		return api_fail(err, 422, "bad_policy", "smccc.policy",
				"smccc.policy must be \"deny_unlisted\"");
	ret = ju_get_string(obj, "unenforceable", "smccc.unenforceable", 64,
			    &unenf, err);
	if (ret)
		return ret;
	if (unenf && strcmp(unenf, "refuse") && strcmp(unenf, "degrade"))
		return api_fail(err, 422, "bad_policy", "smccc.unenforceable",
				"smccc.unenforceable must be \"refuse\" or "
				"\"degrade\"");
	out->degrade = unenf && strcmp(unenf, "degrade") == 0;
	allow = json_object_get(obj, "allow");
	if (!allow)
		return ju_missing_field(err, "smccc.allow");
	if (!json_is_array(allow))
		return ju_wrong_type(err, "smccc.allow", "an array", allow);
	if (json_array_size(allow) > SMCCC_ALLOW_MAX)
		return api_fail(err, 422, "too_many_entries", "smccc.allow",
				"smccc.allow has %zu entries; at most %d are "
				"allowed",
				json_array_size(allow), SMCCC_ALLOW_MAX);
	json_array_foreach(allow, i, e) {
		struct smccc_allow *a = &out->allow[out->nallow];
		char f[48];

		ju_path(f, sizeof(f), "smccc.allow[%zu]", i);
		if (json_is_string(e)) {
			const struct service *s =
				service_lookup(json_string_value(e));

			if (!s)
				return api_fail(err, 422, "unknown_service", f,
						"%s: not a service pinvm "
						"names (PSCI, TRNG, PV_TIME, "
						"KVM_VENDOR_HYP, SMCCC_ARCH); "
						"give a range {\"base\", "
						"\"count\"} instead",
						f);
			for (size_t k = 0; k < out->nallow; k++)
				if (out->allow[k].service == s->name)
					return api_fail(err, 422,
							"duplicate_service", f,
							"%s: %s is listed twice",
							f, s->name);
			a->service = s->name;
		} else if (json_is_object(e)) {
			ret = parse_range(e, f, &a->range, err);
			if (ret)
				return ret;
		} else {
			return ju_wrong_type(err, f, "a service name or a range",
					     e);
		}
		out->nallow++;
	}
	out->present = true;
	return 0;
}

json_t *smccc_filter_to_json(const struct smccc_filter_spec *spec)
{
	json_t *o, *allow = json_array();

	if (!spec->present) {
		json_decref(allow);
		return NULL;
	}
	/* "o" steals allow, also when json_pack() fails. */
	o = json_pack("{s:s, s:o, s:s}", "policy", "deny_unlisted", "allow",
		      allow, "unenforceable",
		      spec->degrade ? "degrade" : "refuse");
	if (!o)
		return NULL;
	for (size_t i = 0; i < spec->nallow; i++) {
		const struct smccc_allow *a = &spec->allow[i];
		json_t *v;

		if (a->service)
			v = json_string(a->service);
		else
			v = json_pack("{s:o, s:I}", "base",
				      ju_hex(a->range.base), "count",
				      (json_int_t)a->range.count);
		if (ju_append_new(allow, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

bool smccc_filter_equal(const struct smccc_filter_spec *a,
			const struct smccc_filter_spec *b)
{
	if (a->present != b->present || a->degrade != b->degrade ||
	    a->nallow != b->nallow)
		return false;
	for (size_t i = 0; i < a->nallow; i++) {
		const struct smccc_allow *x = &a->allow[i], *y = &b->allow[i];

		if (x->service != y->service ||
		    (!x->service && (x->range.base != y->range.base ||
				     x->range.count != y->range.count)))
			return false;
	}
	return true;
}

static int cmp_range(const void *a, const void *b)
{
	const struct smccc_range *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

/* Allowed and architecture ranges, sorted; returns how many. */
static size_t kept_ranges(const struct smccc_filter_spec *spec,
			  struct smccc_range *r)
{
	size_t n = 0;

	r[n++] = arch[0];
	r[n++] = arch[1];
	for (size_t i = 0; i < spec->nallow; i++) {
		const struct smccc_allow *a = &spec->allow[i];
		const struct service *s =
			a->service ? service_lookup(a->service) : NULL;

		if (!a->service) {
			r[n++] = a->range;
			continue;
		}
		for (size_t k = 0; s && k < s->n; k++)
			r[n++] = s->r[k];
	}
	qsort(r, n, sizeof(r[0]), cmp_range);
	return n;
}

size_t smccc_filter_deny_ranges(const struct smccc_filter_spec *spec,
				struct smccc_range *out, size_t max)
{
	struct smccc_range kept[2 * SMCCC_ALLOW_MAX + 2];
	size_t n = kept_ranges(spec, kept), nout = 0;
	uint64_t next = 0; /* first id not yet covered */

	for (size_t i = 0; i <= n; i++) {
		uint64_t start = i < n ? kept[i].base : ID_SPACE;
		uint64_t end = i < n ? kept[i].base + kept[i].count : ID_SPACE;

		if (start > next && nout < max) {
			out[nout].base = (uint32_t)next;
			out[nout].count = start - next;
			nout++;
		}
		if (end > next)
			next = end;
	}
	return nout;
}

bool smccc_filter_allows(const struct smccc_filter_spec *spec, uint32_t fid)
{
	struct smccc_range kept[2 * SMCCC_ALLOW_MAX + 2];
	size_t n;

	if (!spec->present)
		return true;
	n = kept_ranges(spec, kept);
	for (size_t i = 0; i < n; i++)
		if (fid >= kept[i].base && fid - kept[i].base < kept[i].count)
			return true;
	return false;
}

bool smccc_filter_from_observed(const struct observed_abi *o, bool degrade,
				struct smccc_filter_spec *out)
{
	static const struct {
		const char *call, *service;
	} probes[] = {
		{ "TRNG_VERSION", "TRNG" },
		{ "PV_TIME_FEATURES(PV_TIME_ST)", "PV_TIME" },
		{ "KVM_VENDOR_UID", "KVM_VENDOR_HYP" },
	};
	struct smccc_filter_spec s = { .present = true, .degrade = degrade };
	bool seen = false;

	s.allow[s.nallow++].service = service_lookup("PSCI")->name;
	s.allow[s.nallow++].service = service_lookup("SMCCC_ARCH")->name;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct observed_call *c = observed_find(o, probes[i].call);

		if (!c)
			continue;
		seen = true;
		if (c->x0 != SMCCC_RET_NOT_SUPPORTED)
			s.allow[s.nallow++].service =
				service_lookup(probes[i].service)->name;
	}
	if (!seen)
		return false;
	*out = s;
	return true;
}
