#include "migrate_request.h"

#include "accept_rule.h"
#include "hostset.h"
#include "jsonutil.h"
#include "vm_spec.h"

#include <errno.h>
#include <string.h>

int migrate_request_parse(const json_t *body, struct migrate_request *out,
			  struct api_error *err)
{
	static const char *const keys[] = { "destination", "token", "token_file", "ca", "accept",
					    NULL };
	const char *k;
	json_t *ref, *v;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return ju_wrong_type(err, "", "an object", body);
	if (ju_only_keys(body, "", keys, err) < 0)
		return -EINVAL;
	if (!json_object_get(body, "destination"))
		return ju_missing_field(err, "destination");
	/* A peer reference with "url" spelled "destination": the members are
	 * the body's own (json_object_set takes references), so what
	 * peer_ref_parse borrows outlives ref. */
	ref = json_object();
	if (!ref)
		return ju_oom(err);
	json_object_foreach((json_t *)body, k, v)
		if (strcmp(k, "accept") &&
		    json_object_set(ref, strcmp(k, "destination") ? k : "url", v)) {
			json_decref(ref);
			return ju_oom(err);
		}
	ret = peer_ref_parse(ref, &out->dest, err);
	json_decref(ref);
	if (ret < 0 && err && !strcmp(err->field, "url"))
		snprintf(err->field, sizeof(err->field), "destination");
	if (ret == 0)
		ret = accept_rules_parse(json_object_get(body, "accept"), "accept", &out->accept,
					 err);
	return ret;
}

static int get_uint(const json_t *body, const char *key, json_int_t min, json_int_t max,
		    json_int_t *out, struct api_error *err)
{
	const json_t *v = json_object_get(body, key);

	if (!v)
		return ju_missing_field(err, key);
	if (!json_is_integer(v))
		return ju_wrong_type(err, key, "an integer", v);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return api_fail(err, 422, "out_of_range", key, "%s must be %lld..%lld", key,
				(long long)min, (long long)max);
	return 0;
}

int migrate_incoming_parse(const json_t *body, struct migrate_incoming *out,
			   struct api_error *err)
{
	static const char *const keys[] = { "vcpus", "memory_mib", "firmware_registers",
					    "profile", "profile_document", "spec", "source",
					    "prerun", "accept", NULL };
	static const char *const source_keys[] = { "vm", "kernel_release", NULL };
	struct hostset *h;
	const json_t *v, *src;
	json_int_t n = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return ju_wrong_type(err, "", "an object", body);
	if (ju_only_keys(body, "", keys, err) < 0)
		return -EINVAL;
	if (get_uint(body, "vcpus", 1, VM_SPEC_MAX_VCPUS, &n, err) < 0)
		return -EINVAL;
	out->g.vcpus = (unsigned)n;
	if (get_uint(body, "memory_mib", VM_SPEC_MIN_MEMORY_MIB, VM_SPEC_MAX_MEMORY_MIB, &n,
		     err) < 0)
		return -EINVAL;
	out->g.memory_mib = (uint64_t)n;
	out->g.format = 1;
	if (ju_get_string(body, "profile", "profile", 64, &out->profile, err) < 0)
		return -EINVAL;
	v = json_object_get(body, "profile_document");
	if (v && !json_is_null(v) && !json_is_object(v))
		return ju_wrong_type(err, "profile_document", "an object or null", v);
	out->profile_doc = json_is_object(v) ? v : NULL;
	v = json_object_get(body, "spec");
	if (!v)
		return ju_missing_field(err, "spec");
	if (!json_is_object(v))
		return ju_wrong_type(err, "spec", "an object", v);
	out->spec = v;
	src = json_object_get(body, "source");
	if (src && !json_is_object(src))
		return ju_wrong_type(err, "source", "an object", src);
	if (src && (ju_only_keys(src, "source", source_keys, err) < 0 ||
		    ju_get_string(src, "vm", "source.vm", 64, &out->source_vm, err) < 0 ||
		    ju_get_string(src, "kernel_release", "source.kernel_release",
				  HOSTSET_RELEASE_MAX, &out->source_kernel, err) < 0))
		return -EINVAL;
	v = json_object_get(body, "prerun");
	if (v && !json_is_null(v) && !json_is_object(v))
		return ju_wrong_type(err, "prerun", "an object or null", v);
	out->prerun = json_is_object(v) ? v : NULL;
	if (accept_rules_parse(json_object_get(body, "accept"), "accept", &out->accept, err) < 0)
		return -EINVAL;
	v = json_object_get(body, "firmware_registers");
	if (!v)
		return ju_missing_field(err, "firmware_registers");
	h = ju_malloc(sizeof(*h));
	if (!h)
		return ju_oom(err);
	ret = hostset_from_json(v, h, err);
	if (ret < 0) {
		api_error_nest(err, "firmware_registers");
	} else {
		out->g.nfw = h->nregs;
		memcpy(out->g.fw, h->regs, h->nregs * sizeof(h->regs[0]));
	}
	ju_free(h);
	return ret;
}

json_t *migrate_incoming_build(const struct migrate_incoming *in)
{
	json_t *regs = json_array(), *doc;

	for (size_t i = 0; regs && i < in->g.nfw; i++)
		if (ju_append_new(regs, json_pack("{s:o, s:o}", "id", ju_hex(in->g.fw[i].id),
						  "value", ju_hex(in->g.fw[i].value)))) {
			json_decref(regs);
			return NULL;
		}
	doc = json_pack("{s:I, s:I, s:{s:s, s:o}, s:s?, s:O?, s:O, s:{s:s?, s:s?}, s:O*}", "vcpus",
			(json_int_t)in->g.vcpus, "memory_mib", (json_int_t)in->g.memory_mib,
			"firmware_registers", "kernel_release",
			in->source_kernel ? in->source_kernel : "unknown", "registers", regs,
			"profile", in->profile, "profile_document", in->profile_doc, "spec",
			in->spec, "source", "vm", in->source_vm, "kernel_release",
			in->source_kernel, "prerun", in->prerun);
	if (doc && in->accept &&
	    json_object_set_new(doc, "accept", accept_rules_to_json(in->accept)) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
