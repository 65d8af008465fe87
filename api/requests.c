#include "requests.h"

#include "baseline.h"
#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 422 unknown_field for the first member of body not in allowed[0..n). */
static int only_keys(const json_t *body, const char *const *allowed, size_t n,
		     const char *what, struct api_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v) {
		size_t i;

		for (i = 0; i < n && strcmp(key, allowed[i]); i++)
			;
		if (i == n)
			return api_fail(err, 422, "unknown_field", key,
					"%s; \"%s\" is not one of them", what, key);
	}
	return 0;
}

int capture_request_parse(const json_t *body, struct capture_request *out,
			  struct api_error *err)
{
	static const char *const allowed[] = { "capture", "name", "description",
					       "unknown_registers", "smccc", "cpu_features" };
	const json_t *v;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return api_fail(err, 400, "wrong_type", "", "the body must be a JSON object");
	ret = only_keys(body, allowed, sizeof(allowed) / sizeof(allowed[0]),
			"a capture request takes capture, name, description, "
			"unknown_registers, smccc and cpu_features", err);
	if (ret)
		return ret;
	/* "smccc": "deny_unlisted" (or "deny_unlisted_degrade"): default-deny
	 * with the services this host answered allowed. */
	v = json_object_get(body, "smccc");
	if (v && (!json_is_string(v) ||
		  (strcmp(json_string_value(v), "deny_unlisted") &&
		   strcmp(json_string_value(v), "deny_unlisted_degrade"))))
		return api_fail(err, json_is_string(v) ? 422 : 400,
				json_is_string(v) ? "bad_policy" : "wrong_type", "smccc",
				"smccc in a capture is \"deny_unlisted\" or "
				"\"deny_unlisted_degrade\" (unenforceable \"degrade\")");
	out->smccc_deny = v != NULL;
	out->smccc_degrade = v && !strcmp(json_string_value(v), "deny_unlisted_degrade");
	v = json_object_get(body, "capture");
	if (!json_is_string(v) || strcmp(json_string_value(v), "host"))
		return api_fail(err, 422, "bad_value", "capture",
				"capture must be \"host\" (this host's registers)");
	v = json_object_get(body, "name");
	if (!json_is_string(v))
		return api_fail(err, v ? 400 : 422, v ? "wrong_type" : "missing_field", "name",
				"a capture needs a name (string)");
	ret = profile_check_name(json_string_value(v), err);
	if (ret)
		return ret;
	out->name = json_string_value(v);
	out->description = json_object_get(body, "description");
	out->unknown_registers = json_object_get(body, "unknown_registers");
	v = json_object_get(body, "cpu_features");
	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "host") && strcmp(json_string_value(v), "none"))
			return api_fail(err, 422, "bad_value", "cpu_features",
					"cpu_features in a capture is \"host\" (all this host "
					"offers), \"none\" or a cpu_features object");
		out->cpu_host = !strcmp(json_string_value(v), "host");
		return 0;
	}
	return cpu_features_parse(v, "cpu_features", &out->cpu_features, err);
}

int capture_request_cpu_features(const struct capture_request *cr, const struct hostset *host,
				 struct cpu_features *out, struct api_error *err)
{
	if (!host->cpu_known)
		return api_fail(err, 500, "kvm_error", "cpu_features",
				"this host's vCPU features are unknown");
	if (cr->cpu_host) {
		cpu_features_host_offer(&host->cpu, out);
		return 0;
	}
	*out = cr->cpu_features;
	return cpu_features_check_host(out, &host->cpu, "cpu_features", err);
}

int compat_request_parse(const json_t *body, struct compat_request *out,
			 struct api_error *err)
{
	static const char *const allowed[] = { "profile", "host" };
	const json_t *jp, *jh;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return api_fail(err, 400, "wrong_type", "", "the body must be a JSON object");
	ret = only_keys(body, allowed, 2, "takes \"profile\" and \"host\"", err);
	if (ret)
		return ret;
	jp = json_object_get(body, "profile");
	jh = json_object_get(body, "host");
	if (!jp || !jh)
		return api_fail(err, 422, "missing_field", jp ? "host" : "profile",
				"needs a profile (document or stored name) and a host "
				"(a GET /v1/host/firmware-registers body)");
	if (json_is_string(jp)) {
		out->profile_name = json_string_value(jp);
	} else if (json_is_object(jp)) {
		ret = profile_from_json(jp, &out->profile, err);
		if (ret) {
			api_error_nest(err, "profile");
			return ret;
		}
	} else {
		return api_fail(err, 400, "wrong_type", "profile",
				"profile must be a document (object) or a stored name (string)");
	}
	/* Another pinvmd to ask, pinvm's host set, or a Firecracker
	 * template or fingerprint. */
	if (peer_ref_is(jh))
		ret = peer_ref_parse(jh, &out->peer, err);
	else
		ret = hostset_from_any_json(jh, &out->host, &out->import, err);
	if (ret) {
		api_error_nest(err, "host");
		compat_request_clear(out);
		return ret;
	}
	return 0;
}

void compat_request_clear(struct compat_request *r)
{
	profile_free(r->profile);
	r->profile = NULL;
}

int baseline_request_parse(const json_t *body, struct baseline_request *out,
			   struct api_error *err)
{
	static const char *const allowed[] = { "name", "hosts", "description", "cpu_features" };
	const json_t *list, *name, *h, *cpu;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return api_fail(err, 400, "wrong_type", "", "the body must be a JSON object");
	ret = only_keys(body, allowed, 4, "takes name, hosts, description and cpu_features",
			err);
	if (ret)
		return ret;
	cpu = json_object_get(body, "cpu_features");
	if (cpu && !json_is_string(cpu))
		return ju_wrong_type(err, "cpu_features", "\"none\" or \"common\"", cpu);
	if (cpu && strcmp(json_string_value(cpu), "none") &&
	    strcmp(json_string_value(cpu), "common"))
		return api_fail(err, 422, "bad_value", "cpu_features",
				"cpu_features in a baseline is \"none\" (every optional vCPU "
				"feature off, the default) or \"common\" (what every host offers)");
	out->cpu = cpu && !strcmp(json_string_value(cpu), "common") ? BASELINE_CPU_COMMON
								     : BASELINE_CPU_NONE;
	name = json_object_get(body, "name");
	list = json_object_get(body, "hosts");
	if (!json_is_string(name) || !json_is_array(list)) {
		const char *f = json_is_string(name) ? "hosts" : "name";
		const json_t *v = json_object_get(body, f);

		return api_fail(err, v ? 400 : 422, v ? "wrong_type" : "missing_field", f,
				"needs name (string) and hosts (array of register sets)");
	}
	if (json_array_size(list) > BASELINE_MAX_HOSTS)
		return api_fail(err, 422, "too_many_hosts", "hosts", "at most %d hosts",
				BASELINE_MAX_HOSTS);
	out->nhosts = json_array_size(list);
	out->hosts = calloc(out->nhosts + 1, sizeof(*out->hosts));
	out->imports = calloc(out->nhosts + 1, sizeof(*out->imports));
	out->peers = calloc(out->nhosts + 1, sizeof(*out->peers));
	if (!out->hosts || !out->imports || !out->peers) {
		baseline_request_clear(out);
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	}
	json_array_foreach(list, i, h) {
		if (peer_ref_is(h))
			ret = peer_ref_parse(h, &out->peers[i], err);
		else
			ret = hostset_from_any_json(h, &out->hosts[i],
						    &out->imports[i], err);
		if (ret) {
			char prefix[32];

			snprintf(prefix, sizeof(prefix), "hosts[%zu]", i);
			api_error_nest(err, prefix);
			baseline_request_clear(out);
			return ret;
		}
	}
	out->name = json_string_value(name);
	out->description = json_object_get(body, "description");
	return 0;
}

void baseline_request_clear(struct baseline_request *r)
{
	free(r->hosts);
	free(r->imports);
	free(r->peers);
	r->hosts = NULL;
	r->imports = NULL;
	r->peers = NULL;
	r->nhosts = 0;
}
