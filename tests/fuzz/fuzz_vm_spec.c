/*
 * vm_spec_parse() on arbitrary JSON text (any JSON value, not only
 * objects). On success every field is in range, present exactly when the
 * body has it, and borrowed from the body; the spec written back as a body
 * parses to the same spec. On refusal the error is one the header lists,
 * naming a field the body has (or lacks), and *out is zeroed.
 */
#include "fuzz_common.h"

#include "cpu_features.h"
#include "vm_meta.h"
#include "vm_spec.h"

#include <stdbool.h>

static const char *const known[] = { "vcpus",   "memory_mib", "kernel", "initrd",
				     "cmdline", "profile",    "name",   "labels",
				     "cpu_features" };
#define NSTRINGS 7
#define NKNOWN (sizeof(known) / sizeof(known[0]))

static bool is_known(const char *field)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (!strcmp(field, known[i]))
			return true;
	return false;
}

static bool is_zeroed(const struct vm_spec *s)
{
	return s->vcpus == 0 && s->memory_mib == 0 && !s->kernel &&
	       !s->initrd && !s->cmdline && !s->profile && !s->name && !s->labels &&
	       !cpu_features_any(&s->cpu_features) && !s->cpu_features.sve_vector_length;
}

/* An optional string member: NULL exactly when absent (or null). */
static void check_string(const json_t *doc, const char *key, const char *got)
{
	json_t *v = json_object_get(doc, key);

	if (!v || json_is_null(v))
		FUZZ_CHECK(got == NULL);
	else
		FUZZ_CHECK(got == json_string_value(v));
}

/*
 * The first refusal vm_spec.h promises for doc, worked out independently
 * of vm_spec.c: 0 when there is none, else its status, code and field
 * (for unknown_field, the first unknown key in the document's order).
 */
static unsigned expected_refusal(const json_t *doc, const char **code,
				 const char **field)
{
	const char *key;
	json_t *v;
	size_t i;

	*field = "";
	*code = "wrong_type";
	if (!json_is_object(doc))
		return 400;
	json_object_foreach((json_t *)doc, key, v) {
		if (!is_known(key)) {
			*code = "unknown_field";
			*field = key;
			return 422;
		}
	}
	*code = "missing_field";
	for (i = 0; i < 3; i++)
		if (!json_object_get(doc, *field = known[i]))
			return 422;
	*code = "wrong_type";
	for (i = 0; i < 2; i++)
		if (!json_is_integer(json_object_get(doc, *field = known[i])))
			return 400;
	for (i = 2; i < NSTRINGS; i++) {
		v = json_object_get(doc, *field = known[i]);
		if (v && !json_is_string(v) &&
		    !(json_is_null(v) && !strcmp(known[i], "initrd")))
			return 400;
	}
	v = json_object_get(doc, *field = "labels");
	if (v && !json_is_object(v))
		return 400;
	*code = "out_of_range";
	v = json_object_get(doc, *field = "vcpus");
	if (json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)VM_SPEC_MAX_VCPUS)
		return 422;
	v = json_object_get(doc, *field = "memory_mib");
	if (json_integer_value(v) < (json_int_t)VM_SPEC_MIN_MEMORY_MIB ||
	    json_integer_value(v) > (json_int_t)VM_SPEC_MAX_MEMORY_MIB)
		return 422;
	*code = "value_too_long";
	v = json_object_get(doc, *field = "cmdline");
	if (v && strlen(json_string_value(v)) > VM_SPEC_MAX_CMDLINE)
		return 422;
	/* name and labels: vm_meta's own rules (fuzzed through here). */
	{
		struct api_error e;

		v = json_object_get(doc, "name");
		if (v && vm_name_check(json_string_value(v), &e) < 0) {
			*code = "bad_name";
			*field = "name";
			return 422;
		}
		v = json_object_get(doc, "labels");
		if (v && vm_labels_check(v, &e) < 0) {
			static char f[160], cd[48];

			memcpy(f, e.field, sizeof(f));
			memcpy(cd, e.code, sizeof(cd));
			*code = cd;
			*field = f;
			return e.status;
		}
		/* cpu_features: its own parser's rules (cpu_features.h, fuzzed
		 * through here and unit-tested on its own). */
		{
			struct cpu_features cf;

			v = json_object_get(doc, "cpu_features");
			if (cpu_features_parse(v, "cpu_features", &cf, &e) < 0) {
				static char f[160], cd[48];

				memcpy(f, e.field, sizeof(f));
				memcpy(cd, e.code, sizeof(cd));
				*code = cd;
				*field = f;
				return e.status;
			}
		}
	}
	return 0;
}

static void check_refusal(const json_t *doc, int ret,
			  const struct api_error *err, const struct vm_spec *s)
{
	const char *code, *field;
	unsigned status = expected_refusal(doc, &code, &field);

	FUZZ_CHECK(ret == -EINVAL);
	fuzz_check_error(ret, err);
	FUZZ_CHECK(is_zeroed(s));
	FUZZ_CHECK(err->status == status);
	FUZZ_CHECK(!strcmp(err->code, code));
	/* A field is cut to fit struct api_error: a long unknown key. */
	FUZZ_CHECK(strlen(err->field) ==
		   (strlen(field) < sizeof(err->field) ? strlen(field)
						       : sizeof(err->field) - 1));
	FUZZ_CHECK(!strncmp(err->field, field, sizeof(err->field) - 1));
}

/* The spec as a body again: it must parse to the same values. */
static void check_round_trip(const struct vm_spec *s)
{
	struct api_error err;
	struct vm_spec again;
	json_t *doc;

	doc = json_pack("{s:I, s:I, s:s}", "vcpus", s->vcpus, "memory_mib",
			s->memory_mib, "kernel", s->kernel);
	FUZZ_CHECK(doc);
	if (s->initrd)
		FUZZ_CHECK(!json_object_set_new(doc, "initrd",
						json_string(s->initrd)));
	if (s->cmdline)
		FUZZ_CHECK(!json_object_set_new(doc, "cmdline",
						json_string(s->cmdline)));
	if (s->profile)
		FUZZ_CHECK(!json_object_set_new(doc, "profile",
						json_string(s->profile)));
	if (cpu_features_any(&s->cpu_features))
		FUZZ_CHECK(!json_object_set_new(doc, "cpu_features",
						cpu_features_to_json(&s->cpu_features)));
	FUZZ_CHECK(vm_spec_parse(doc, &again, &err) == 0);
	FUZZ_CHECK(!memcmp(&again.cpu_features, &s->cpu_features, sizeof(s->cpu_features)));
	FUZZ_CHECK(again.vcpus == s->vcpus);
	FUZZ_CHECK(again.memory_mib == s->memory_mib);
	FUZZ_CHECK(!strcmp(again.kernel, s->kernel));
	FUZZ_CHECK(!s->initrd == !again.initrd);
	FUZZ_CHECK(!s->initrd || !strcmp(again.initrd, s->initrd));
	FUZZ_CHECK(!s->cmdline == !again.cmdline);
	FUZZ_CHECK(!s->cmdline || !strcmp(again.cmdline, s->cmdline));
	FUZZ_CHECK(!s->profile == !again.profile);
	FUZZ_CHECK(!s->profile || !strcmp(again.profile, s->profile));
	json_decref(doc);
}

int fuzz_run(const uint8_t *data, size_t size)
{
	struct api_error err;
	const char *code, *field;
	struct vm_spec s;
	json_t *doc;
	int ret;

	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!doc)
		return -1;
	memset(&s, 0xa5, sizeof(s));
	memset(&err, 0xa5, sizeof(err));
	ret = vm_spec_parse(doc, &s, &err);
	if (ret) {
		check_refusal(doc, ret, &err, &s);
		/* Without an error struct: the same answer. */
		FUZZ_CHECK(vm_spec_parse(doc, &s, NULL) == ret);
		json_decref(doc);
		return 0;
	}

	FUZZ_CHECK(expected_refusal(doc, &code, &field) == 0);
	FUZZ_CHECK(s.vcpus >= 1 && s.vcpus <= VM_SPEC_MAX_VCPUS);
	FUZZ_CHECK(s.memory_mib >= VM_SPEC_MIN_MEMORY_MIB &&
		   s.memory_mib <= VM_SPEC_MAX_MEMORY_MIB);
	FUZZ_CHECK(s.vcpus == json_integer_value(json_object_get(doc, "vcpus")));
	FUZZ_CHECK(s.memory_mib ==
		   json_integer_value(json_object_get(doc, "memory_mib")));
	FUZZ_CHECK(s.kernel != NULL);
	FUZZ_CHECK(s.kernel == json_string_value(json_object_get(doc, "kernel")));
	check_string(doc, "initrd", s.initrd);
	check_string(doc, "cmdline", s.cmdline);
	check_string(doc, "profile", s.profile);
	check_string(doc, "name", s.name);
	FUZZ_CHECK(s.labels == json_object_get(doc, "labels"));
	/* Each feature on exactly when the body says true (or an SVE object). */
	{
		const json_t *cf = json_object_get(doc, "cpu_features");
		const json_t *sve = json_object_get(cf, "sve");

		FUZZ_CHECK(s.cpu_features.pmu == json_is_true(json_object_get(cf, "pmu")));
		FUZZ_CHECK(s.cpu_features.pauth == json_is_true(json_object_get(cf, "pauth")));
		FUZZ_CHECK(s.cpu_features.sve == (json_is_true(sve) || json_is_object(sve)));
		FUZZ_CHECK(s.cpu_features.sve_vector_length ==
			   (json_is_object(sve) ? (unsigned)json_integer_value(
							  json_object_get(sve, "vector_length"))
						: 0u));
		FUZZ_CHECK(!s.cpu_features.sve_vector_length ||
			   (s.cpu_features.sve_vector_length % CPU_SVE_VL_STEP == 0 &&
			    s.cpu_features.sve_vector_length <= CPU_SVE_VL_MAX));
	}
	/* Only initrd may be null. */
	FUZZ_CHECK(!json_is_null(json_object_get(doc, "cmdline")));
	FUZZ_CHECK(!json_is_null(json_object_get(doc, "profile")));
	FUZZ_CHECK(!s.cmdline || strlen(s.cmdline) <= VM_SPEC_MAX_CMDLINE);
	check_round_trip(&s);
	json_decref(doc);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
