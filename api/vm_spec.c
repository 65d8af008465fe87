/*
 * vm_spec_parse(): the POST /v1/vms body into a struct vm_spec (see
 * vm_spec.h for the document and the errors, in checking order).
 */
#include "vm_spec.h"

#include "cpu_features.h"
#include "jsonutil.h"
#include "vm_meta.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Required ones first (missing_field reports them in this order), then by
 * type: integers, then strings. */
static const char *const keys[] = { "vcpus",   "memory_mib", "kernel", "initrd",
				    "cmdline", "profile",    "name",   "labels",
				    "cpu_features" };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define NREQUIRED 3
#define NINTEGERS 2
#define INITRD 3
#define NSTRINGS 7 /* keys[NINTEGERS..NSTRINGS) are strings; then labels, cpu_features */

static bool known_key(const char *key, size_t key_len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(key, keys[i]) && strlen(key) == key_len)
			return true;
	return false;
}

int vm_spec_parse(const json_t *body, struct vm_spec *out,
		  struct api_error *err)
{
	struct vm_spec s = { 0 };
	const char *key;
	size_t key_len, i;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return ju_wrong_type(err, "", "an object", body);
	json_object_keylen_foreach((json_t *)body, key, key_len, v) {
		if (!known_key(key, key_len))
			return api_fail(err, 422, "unknown_field", key,
					"a VM takes vcpus, memory_mib, kernel, "
					"initrd, cmdline, profile, name, labels and "
					"cpu_features (and a create, start); "
					"\"%s\" is not one of them", key);
	}
	for (i = 0; i < NREQUIRED; i++)
		if (!json_object_get(body, keys[i]))
			return api_fail(err, 422, "missing_field", keys[i],
					"%s is required", keys[i]);
	for (i = 0; i < NINTEGERS; i++)
		if (!json_is_integer(json_object_get(body, keys[i])))
			return api_fail(err, 400, "wrong_type", keys[i],
					"%s must be an integer", keys[i]);
	for (i = NINTEGERS; i < NSTRINGS; i++) {
		v = json_object_get(body, keys[i]);
		if (v && !json_is_string(v) && !(i == INITRD && json_is_null(v)))
			return api_fail(err, 400, "wrong_type", keys[i],
					"%s must be a string", keys[i]);
	}

	s.vcpus = json_integer_value(json_object_get(body, "vcpus"));
	s.memory_mib = json_integer_value(json_object_get(body, "memory_mib"));
	s.kernel = json_string_value(json_object_get(body, "kernel"));
	s.initrd = json_string_value(json_object_get(body, "initrd"));
	s.cmdline = json_string_value(json_object_get(body, "cmdline"));
	s.profile = json_string_value(json_object_get(body, "profile"));
	s.name = json_string_value(json_object_get(body, "name"));
	s.labels = json_object_get(body, "labels");
	if (s.labels && !json_is_object(s.labels))
		return api_fail(err, 400, "wrong_type", "labels",
				"labels must be an object of strings");

	if (s.vcpus < 1)
		return api_fail(err, 422, "out_of_range", "vcpus",
				"vcpus must be at least 1");
	if (s.vcpus > VM_SPEC_MAX_VCPUS)
		return api_fail(err, 422, "out_of_range", "vcpus",
				"vcpus is %lld; at most %u", (long long)s.vcpus,
				VM_SPEC_MAX_VCPUS);
	if (s.memory_mib < VM_SPEC_MIN_MEMORY_MIB)
		return api_fail(err, 422, "out_of_range", "memory_mib",
				"memory_mib must be at least %u",
				VM_SPEC_MIN_MEMORY_MIB);
	if (s.memory_mib > VM_SPEC_MAX_MEMORY_MIB)
		return api_fail(err, 422, "out_of_range", "memory_mib",
				"memory_mib is %lld; at most %u (16 TiB)",
				(long long)s.memory_mib, VM_SPEC_MAX_MEMORY_MIB);
	if (s.cmdline && strlen(s.cmdline) > VM_SPEC_MAX_CMDLINE)
		return api_fail(err, 422, "value_too_long", "cmdline",
				"cmdline is %zu bytes; at most %u",
				strlen(s.cmdline), VM_SPEC_MAX_CMDLINE);
	if (s.name && vm_name_check(s.name, err) < 0)
		return -EINVAL;
	if (s.labels && vm_labels_check(s.labels, err) < 0)
		return -EINVAL;
	if (cpu_features_parse(json_object_get(body, "cpu_features"), "cpu_features",
			       &s.cpu_features, err) < 0)
		return -EINVAL;
	s.has_cpu_features = !json_is_null(json_object_get(body, "cpu_features")) &&
			     json_object_get(body, "cpu_features");
	*out = s;
	return 0;
}

int vm_spec_take_profile_cpu(struct vm_spec *spec, json_t *doc,
			     const struct cpu_features *pinned, const char *profile,
			     struct api_error *err)
{
	char want[160];
	json_t *j;

	if (spec->has_cpu_features) {
		if (cpu_features_equal(&spec->cpu_features, pinned))
			return 0;
		size_t n;

		j = cpu_features_to_json(pinned);
		n = j ? json_dumpb(j, want, sizeof(want) - 1, JSON_COMPACT) : 0;
		json_decref(j);
		if (n == 0 || n >= sizeof(want))
			snprintf(want, sizeof(want), "of its own");
		else
			want[n] = '\0';
		return api_fail(err, 422, "profile_conflict", "cpu_features",
				"profile %s pins the vCPU features %s; leave cpu_features out "
				"or give the same", profile, want);
	}
	j = cpu_features_to_json(pinned);
	if (!j || json_object_set_new(doc, "cpu_features", j) < 0)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	spec->cpu_features = *pinned;
	spec->has_cpu_features = true;
	return 0;
}
