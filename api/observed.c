/* Observed hypercall ABIs: parsing, printing, deriving bitmaps from them. */
#include "observed.h"

#include "fwreg.h"
#include "jsonutil.h"
#include "smccc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct smccc_probe_call *probe_call(const char *name)
{
	for (size_t i = 0; i < smccc_probe_ncalls; i++)
		if (strcmp(smccc_probe_calls[i].name, name) == 0)
			return &smccc_probe_calls[i];
	return NULL;
}

static int parse_call(const json_t *c, const char *field,
		      struct observed_call *out, struct api_error *err)
{
	static const char *const keys[] = { "function_id", "name", "x1", "x0",
					    NULL };
	const struct smccc_probe_call *known;
	char f[160];
	const char *name;
	uint64_t fid;
	json_t *v;
	int ret;

	if (!json_is_object(c))
		return ju_wrong_type(err, field, "an object", c);
	ret = ju_only_keys(c, field, keys, err);
	if (ret)
		return ret;

	ju_path(f, sizeof(f), "%s.name", field);
	ret = ju_get_string(c, "name", f, OBSERVED_NAME_MAX, &name, err);
	if (ret)
		return ret;
	if (!name)
		return ju_missing_field(err, f);
	if (!name[0])
		return api_fail(err, 422, "bad_value", f,
				"%s must not be empty", f);
	snprintf(out->name, sizeof(out->name), "%s", name);

	ret = ju_require_hex(c, field, "function_id", f, sizeof(f), &fid, err);
	if (ret)
		return ret;
	if (fid > UINT32_MAX)
		return api_fail(err, 422, "bad_value", f,
				"%s 0x%" PRIx64 " is wider than 32 bits", f,
				fid);
	out->function_id = (uint32_t)fid;

	ju_path(f, sizeof(f), "%s.x1", field);
	v = json_object_get(c, "x1");
	out->has_x1 = v && !json_is_null(v);
	out->x1 = 0;
	if (out->has_x1) {
		ret = ju_get_hex(v, f, &out->x1, err);
		if (ret)
			return ret;
	}

	ret = ju_require_hex(c, field, "x0", f, sizeof(f), &out->x0, err);
	if (ret)
		return ret;

	known = probe_call(out->name);
	if (known && (known->function_id != out->function_id ||
		      (out->has_x1 && known->x1 != out->x1)))
		return api_fail(err, 422, "call_mismatch", field,
				"%s: call %s is function 0x%08" PRIx32
				" with x1 0x%" PRIx64 ", not 0x%08" PRIx32
				" with x1 0x%" PRIx64,
				field, out->name, known->function_id, known->x1,
				out->function_id, out->x1);
	return 0;
}

int observed_calls_from_json(const json_t *calls, const char *field,
			     struct observed_abi *out, struct api_error *err)
{
	size_t i;
	json_t *c;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(calls))
		return ju_wrong_type(err, field, "an array", calls);
	if (json_array_size(calls) > OBSERVED_MAX_CALLS)
		return api_fail(err, 422, "too_many_calls", field,
				"%s has %zu calls; at most %d are allowed",
				field, json_array_size(calls),
				OBSERVED_MAX_CALLS);
	json_array_foreach(calls, i, c) {
		char f[160];
		int ret;

		ju_path(f, sizeof(f), "%s[%zu]", field, i);
		ret = parse_call(c, f, &out->calls[i], err);
		if (ret)
			return ret;
		for (size_t j = 0; j < i; j++)
			if (strcmp(out->calls[j].name, out->calls[i].name) == 0)
				return api_fail(err, 422, "duplicate_call", f,
						"%s: call %s is listed twice",
						f, out->calls[i].name);
		out->ncalls = i + 1;
	}
	out->present = true;
	return 0;
}

int observed_abi_from_json(const json_t *obj, const char *field,
			   struct observed_abi *out, struct api_error *err)
{
	static const char *const keys[] = { "kernel_release", "profile",
					    "calls", NULL };
	const char *release, *profile;
	char f[160];
	json_t *calls;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return ju_wrong_type(err, field, "an object", obj);
	ret = ju_only_keys(obj, field, keys, err);
	if (ret)
		return ret;
	ju_path(f, sizeof(f), "%s.kernel_release", field);
	ret = ju_get_string(obj, "kernel_release", f, OBSERVED_RELEASE_MAX,
			    &release, err);
	if (ret)
		return ret;
	ju_path(f, sizeof(f), "%s.profile", field);
	ret = ju_get_string(obj, "profile", f, SIZE_MAX, &profile, err);
	if (ret)
		return ret;
	ju_path(f, sizeof(f), "%s.calls", field);
	calls = json_object_get(obj, "calls");
	if (!calls)
		return ju_missing_field(err, f);
	ret = observed_calls_from_json(calls, f, out, err);
	if (ret)
		return ret;
	if (release)
		snprintf(out->kernel_release, sizeof(out->kernel_release), "%s",
			 release);
	return 0;
}

json_t *observed_abi_to_json(const struct observed_abi *o)
{
	json_t *obj, *calls;

	if (!o || !o->present)
		return NULL;
	obj = json_object();
	calls = json_array();
	if (!obj || !calls)
		goto fail;
	if (o->kernel_release[0] &&
	    ju_set_new(obj, "kernel_release", json_string(o->kernel_release)))
		goto fail;
	for (size_t i = 0; i < o->ncalls; i++) {
		const struct observed_call *c = &o->calls[i];
		char fid[16], x0[24];
		json_t *e;

		snprintf(fid, sizeof(fid), "0x%08" PRIx32, c->function_id);
		snprintf(x0, sizeof(x0), "0x%016" PRIx64, c->x0);
		e = json_pack("{s:s, s:s}", "function_id", fid, "name",
			      c->name);
		if (!e)
			goto fail;
		if (ju_append_new(calls, e))
			goto fail;
		if ((c->has_x1 && ju_set_new(e, "x1", ju_hex(c->x1))) ||
		    ju_set_new(e, "x0", json_string(x0)))
			goto fail;
	}
	if (ju_set_new(obj, "calls", calls)) {
		calls = NULL;
		goto fail;
	}
	return obj;
fail:
	json_decref(calls);
	json_decref(obj);
	return NULL;
}

const struct observed_call *observed_find(const struct observed_abi *o,
					  const char *name)
{
	if (!o || !o->present)
		return NULL;
	for (size_t i = 0; i < o->ncalls; i++)
		if (strcmp(o->calls[i].name, name) == 0)
			return &o->calls[i];
	return NULL;
}

/* "TRNG_VERSION answered NOT_SUPPORTED" / "... answered 0x10000" */
static void answered(char *why, size_t size, const struct observed_call *c)
{
	if (!why || !size)
		return;
	if (c->x0 == SMCCC_RET_NOT_SUPPORTED)
		snprintf(why, size, "%s answered NOT_SUPPORTED", c->name);
	else
		snprintf(why, size, "%s answered 0x%" PRIx64, c->name, c->x0);
}

bool observed_derive(const struct observed_abi *o, uint64_t id,
		     uint64_t *value, char *why, size_t why_size)
{
	const struct observed_call *c;

	switch (id) {
	case FWREG_ID_STD_BMAP:
		c = observed_find(o, "TRNG_VERSION");
		break;
	case FWREG_ID_STD_HYP_BMAP:
		c = observed_find(o, "PV_TIME_FEATURES(PV_TIME_ST)");
		break;
	case FWREG_ID_VENDOR_HYP_BMAP:
		c = observed_find(o, "KVM_FEATURES");
		break;
	default:
		return false;
	}
	if (!c)
		return false;
	if (id == FWREG_ID_VENDOR_HYP_BMAP)
		*value = c->x0 == SMCCC_RET_NOT_SUPPORTED ? 0 : c->x0;
	else
		*value = c->x0 == SMCCC_RET_NOT_SUPPORTED ? 0 : 1; /* bit 0 */
	answered(why, why_size, c);
	return true;
}
