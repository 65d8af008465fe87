/*
 * cpu_features: the "cpu_features" object of a VM request and of
 * pinvm-vmm's config, and whether a host can give it (cpu_features.h).
 */
#include "cpu_features.h"

#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const keys[] = { "pmu", "sve", "pauth", NULL };
static const char *const sve_keys[] = { "vector_length", NULL };

static int get_bool(const json_t *obj, const char *key, const char *field, bool *out,
		    struct api_error *err)
{
	const json_t *v = json_object_get(obj, key);
	char f[160];

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		ju_path(f, sizeof(f), "%s.%s", field, key);
		return ju_wrong_type(err, f, "a boolean", v);
	}
	*out = json_is_true(v);
	return 0;
}

static int get_sve(const json_t *obj, const char *field, struct cpu_features *out,
		   struct api_error *err)
{
	const json_t *v = json_object_get(obj, "sve"), *vl;
	char f[160], fvl[160];
	json_int_t n;

	ju_path(f, sizeof(f), "%s.sve", field);
	if (!v || json_is_boolean(v)) {
		out->sve = v && json_is_true(v);
		return 0;
	}
	if (!json_is_object(v))
		return ju_wrong_type(err, f, "a boolean or {\"vector_length\": N}", v);
	if (ju_only_keys(v, f, sve_keys, err) < 0)
		return -EINVAL;
	ju_path(fvl, sizeof(fvl), "%s.vector_length", f);
	vl = json_object_get(v, "vector_length");
	if (!vl)
		return ju_missing_field(err, fvl);
	if (!json_is_integer(vl))
		return ju_wrong_type(err, fvl, "an integer (bits)", vl);
	n = json_integer_value(vl);
	if (n < CPU_SVE_VL_MIN || n > CPU_SVE_VL_MAX || n % CPU_SVE_VL_STEP)
		return api_fail(err, 422, "out_of_range", fvl,
				"an SVE vector length is %u to %u bits in steps of %u; "
				"%lld is not one", CPU_SVE_VL_MIN, CPU_SVE_VL_MAX,
				CPU_SVE_VL_STEP, (long long)n);
	out->sve = true;
	out->sve_vector_length = (unsigned)n;
	return 0;
}

int cpu_features_parse(const json_t *v, const char *field, struct cpu_features *out,
		       struct api_error *err)
{
	struct cpu_features f = { 0 };

	memset(out, 0, sizeof(*out));
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return ju_wrong_type(err, field, "an object", v);
	if (ju_only_keys(v, field, keys, err) < 0 ||
	    get_bool(v, "pmu", field, &f.pmu, err) < 0 ||
	    get_bool(v, "pauth", field, &f.pauth, err) < 0 ||
	    get_sve(v, field, &f, err) < 0)
		return -EINVAL;
	*out = f;
	return 0;
}

bool cpu_features_any(const struct cpu_features *f)
{
	return f->pmu || f->sve || f->pauth;
}

json_t *cpu_features_to_json(const struct cpu_features *f)
{
	json_t *sve = f->sve_vector_length
			      ? json_pack("{s:I}", "vector_length",
					  (json_int_t)f->sve_vector_length)
			      : json_boolean(f->sve);

	if (!sve)
		return NULL;
	return json_pack("{s:b, s:o, s:b}", "pmu", f->pmu, "sve", sve, "pauth", f->pauth);
}

uint32_t cpu_sve_vls_upto(uint32_t host_vls, unsigned max_bits)
{
	unsigned vq = max_bits / CPU_SVE_VL_STEP;

	if (max_bits % CPU_SVE_VL_STEP || vq < 1 || vq > 32 || !(host_vls >> (vq - 1) & 1))
		return 0;
	return vq == 32 ? host_vls : host_vls & ((UINT32_C(1) << vq) - 1);
}

void cpu_sve_vls_format(uint32_t vls, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned vq = 1; vq <= 32 && n < size; vq++)
		if (vls >> (vq - 1) & 1)
			n += (size_t)snprintf(buf + n, size - n, "%s%u", n ? ", " : "",
					      vq * CPU_SVE_VL_STEP);
	if (!vls)
		snprintf(buf, size, "none");
}

int cpu_features_check_host(const struct cpu_features *f, const struct cpu_host_caps *host,
			    const char *field, struct api_error *err)
{
	char fld[160], lens[160];

	if (f->pmu && !host->pmu) {
		ju_path(fld, sizeof(fld), "%s.pmu", field);
		return api_fail(err, 422, "unsupported_by_host", fld,
				"this host's KVM cannot give a guest a PMU "
				"(no KVM_CAP_ARM_PMU_V3)");
	}
	if (f->sve && !host->sve) {
		ju_path(fld, sizeof(fld), "%s.sve", field);
		return api_fail(err, 422, "unsupported_by_host", fld,
				"this host's KVM cannot give a guest SVE (no KVM_CAP_ARM_SVE)");
	}
	if (f->sve && f->sve_vector_length && host->sve_vls &&
	    !cpu_sve_vls_upto(host->sve_vls, f->sve_vector_length)) {
		ju_path(fld, sizeof(fld), "%s.sve.vector_length", field);
		cpu_sve_vls_format(host->sve_vls, lens, sizeof(lens));
		return api_fail(err, 422, "unsupported_by_host", fld,
				"this host offers SVE vector lengths %s bits; not %u",
				lens, f->sve_vector_length);
	}
	if (f->pauth && !(host->pauth_address && host->pauth_generic)) {
		ju_path(fld, sizeof(fld), "%s.pauth", field);
		return api_fail(err, 422, "unsupported_by_host", fld,
				"this host's KVM cannot give a guest pointer authentication "
				"(%s)", !host->pauth_address && !host->pauth_generic
						? "no KVM_CAP_ARM_PTRAUTH_ADDRESS nor _GENERIC"
					: !host->pauth_address ? "no KVM_CAP_ARM_PTRAUTH_ADDRESS"
							       : "no KVM_CAP_ARM_PTRAUTH_GENERIC");
	}
	return 0;
}

bool cpu_features_equal(const struct cpu_features *a, const struct cpu_features *b)
{
	return a->pmu == b->pmu && a->sve == b->sve && a->pauth == b->pauth &&
	       (!a->sve || a->sve_vector_length == b->sve_vector_length);
}

void cpu_features_host_offer(const struct cpu_host_caps *host, struct cpu_features *out)
{
	memset(out, 0, sizeof(*out));
	out->pmu = host->pmu;
	out->pauth = host->pauth_address && host->pauth_generic;
	out->sve = host->sve;
	for (unsigned vq = 32; out->sve && vq >= 1; vq--)
		if (host->sve_vls >> (vq - 1) & 1) {
			out->sve_vector_length = vq * CPU_SVE_VL_STEP;
			break;
		}
}

json_t *cpu_host_caps_to_json(const struct cpu_host_caps *c)
{
	json_t *lens = json_array();

	for (unsigned vq = 1; lens && vq <= 32; vq++)
		if (c->sve_vls >> (vq - 1) & 1 &&
		    json_array_append_new(lens, json_integer(vq * CPU_SVE_VL_STEP)) < 0) {
			json_decref(lens);
			return NULL;
		}
	if (!lens)
		return NULL;
	return json_pack("{s:b, s:b, s:b, s:o, s:b}", "pmu", c->pmu, "sve", c->sve, "pauth",
			 c->pauth_address && c->pauth_generic, "sve_vector_lengths", lens,
			 "pmu_without_request", c->pmu_without_request);
}

static int host_lengths(const json_t *lens, const char *field, struct cpu_host_caps *out,
			struct api_error *err)
{
	char f[160];
	unsigned last = 0;
	size_t i;
	json_t *v;

	ju_path(f, sizeof(f), "%s.sve_vector_lengths", field);
	if (!json_is_array(lens))
		return ju_wrong_type(err, f, "an array of integers (bits)", lens);
	if (json_array_size(lens) && !out->sve)
		return api_fail(err, 422, "bad_value", f,
				"SVE vector lengths for a host without SVE (\"sve\": false)");
	json_array_foreach(lens, i, v) {
		json_int_t n;

		ju_path(f, sizeof(f), "%s.sve_vector_lengths[%zu]", field, i);
		if (!json_is_integer(v))
			return ju_wrong_type(err, f, "an integer (bits)", v);
		n = json_integer_value(v);
		if (n < CPU_SVE_VL_MIN || n > CPU_SVE_VL_MAX || n % CPU_SVE_VL_STEP)
			return api_fail(err, 422, "out_of_range", f,
					"an SVE vector length is %u to %u bits in steps of %u; "
					"%lld is not one", CPU_SVE_VL_MIN, CPU_SVE_VL_MAX,
					CPU_SVE_VL_STEP, (long long)n);
		if ((unsigned)n <= last) {
			ju_path(f, sizeof(f), "%s.sve_vector_lengths", field);
			return api_fail(err, 422, "bad_value", f,
					"the lengths must ascend, each once; %lld follows %u",
					(long long)n, last);
		}
		last = (unsigned)n;
		out->sve_vls |= UINT32_C(1) << (n / CPU_SVE_VL_STEP - 1);
	}
	return 0;
}

int cpu_host_caps_from_json(const json_t *v, const char *field, struct cpu_host_caps *out,
			    struct api_error *err)
{
	static const char *const host_keys[] = { "pmu", "sve", "pauth", "sve_vector_lengths",
						  "pmu_without_request", NULL };
	static const char *const required[] = { "pmu", "sve", "pauth", "sve_vector_lengths" };
	struct cpu_host_caps c = { 0 };
	bool pauth;
	char f[160];

	memset(out, 0, sizeof(*out));
	if (!json_is_object(v))
		return ju_wrong_type(err, field, "an object", v);
	if (ju_only_keys(v, field, host_keys, err) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!json_object_get(v, required[i])) {
			ju_path(f, sizeof(f), "%s.%s", field, required[i]);
			return ju_missing_field(err, f);
		}
	if (get_bool(v, "pmu", field, &c.pmu, err) < 0 ||
	    get_bool(v, "sve", field, &c.sve, err) < 0 ||
	    get_bool(v, "pauth", field, &pauth, err) < 0 ||
	    get_bool(v, "pmu_without_request", field, &c.pmu_without_request, err) < 0 ||
	    host_lengths(json_object_get(v, "sve_vector_lengths"), field, &c, err) < 0)
		return -EINVAL;
	c.pauth_address = c.pauth_generic = pauth;
	*out = c;
	return 0;
}

bool cpu_host_caps_equal(const struct cpu_host_caps *a, const struct cpu_host_caps *b)
{
	return a->pmu == b->pmu && a->sve == b->sve && a->pauth_address == b->pauth_address &&
	       a->pauth_generic == b->pauth_generic && a->sve_vls == b->sve_vls &&
	       a->pmu_without_request == b->pmu_without_request;
}
