/*
 * Snapshot manifests, vm.json's guest ABI and the firmware check of a
 * restore (snapshot_manifest.h has the documents and the rules).
 */
#include "snapshot_manifest.h"

#include "accept_rule.h"
#include "fwreg.h"
#include "jsonutil.h"
#include "restore_rule.h"
#include "vm_spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *snapshot_digest_key(enum snapshot_file_kind k)
{
	return k == SNAPSHOT_FILE_MEM_RAW ? "sha256_pages" : "sha256";
}

const char *const snapshot_file_names[SNAPSHOT_NFILES] = {
	[SNAPSHOT_FILE_VM_JSON] = "vm.json",
	[SNAPSHOT_FILE_MEM_RAW] = "mem.raw",
	[SNAPSHOT_FILE_CONSOLE] = "console.log",
};

bool snapshot_id_valid(const char *id)
{
	if (!id || strlen(id) != SNAPSHOT_ID_LEN)
		return false;
	for (size_t i = 0; i < SNAPSHOT_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = id[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *snapshot_manifest_build(const struct snapshot_manifest_in *in)
{
	json_t *files = json_object(), *levels = json_array(), *doc;
	json_t *applied = in->applied ? json_incref((json_t *)in->applied) : json_array();
	json_t *readbacks = in->readbacks ? json_incref((json_t *)in->readbacks) : json_array();

	for (size_t i = 0; files && i < SNAPSHOT_NFILES; i++)
		if (ju_set_new(files, snapshot_file_names[i],
			       json_pack("{s:s, s:I}", snapshot_digest_key(i), in->files[i].sha256,
					 "size", (json_int_t)in->files[i].size))) {
			json_decref(files);
			files = NULL;
		}
	for (size_t i = 0; levels && i < in->nlevels; i++)
		if (ju_append_new(levels, json_pack("{s:o, s:o}", "id", ju_hex(in->levels[i].id),
						    "value", ju_hex(in->levels[i].value)))) {
			json_decref(levels);
			levels = NULL;
		}
	if (!files || !applied || !readbacks || !levels) {
		json_decref(levels);
		json_decref(files);
		json_decref(applied);
		json_decref(readbacks);
		return NULL;
	}
	/* "o" steals applied, readbacks, levels and files, even when packing fails. */
	doc = json_pack("{s:i, s:s, s:s, s:{s:s, s:i, s:I, s:o, s:o, s:o},"
			" s:{s:s, s:O}, s:{s:o, s:O, s:o, s:o, s:o}, s:o}",
			"format", SNAPSHOT_FORMAT, "id", in->id, "created", in->created,
			"vm", "id", in->vm_id ? in->vm_id : "", "vcpus", (int)in->vcpus,
			"memory_mib", (json_int_t)in->memory_mib, "cmdline",
			str_or_null(in->cmdline), "kernel", str_or_null(in->kernel), "initrd",
			str_or_null(in->initrd),
			"source", "kernel_release", in->kernel_release ? in->kernel_release : "",
			"firmware_registers",
			in->source_fwregs ? in->source_fwregs : json_null(),
			"profile", "name", str_or_null(in->profile_name), "document",
			in->profile_doc ? in->profile_doc : json_null(), "applied", applied,
			"readbacks", readbacks, "workaround_levels", levels, "files", files);
	return doc;
}

void snapshot_manifest_clear(struct snapshot_manifest *m)
{
	json_decref(m->doc);
	memset(m, 0, sizeof(*m));
}

static bool sha256_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* obj[key] as an object (required): 0 with *out, or -EINVAL. */
static int get_object(const json_t *obj, const char *key, const char *field,
		      const json_t **out, struct api_error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return ju_missing_field(err, field);
	if (!json_is_object(v))
		return ju_wrong_type(err, field, "an object", v);
	*out = v;
	return 0;
}

static int get_int(const json_t *obj, const char *key, const char *field, json_int_t min,
		   json_int_t max, json_int_t *out, struct api_error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return ju_missing_field(err, field);
	if (!json_is_integer(v))
		return ju_wrong_type(err, field, "an integer", v);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return api_fail(err, 422, "out_of_range", field, "%s is %lld; it must be %lld..%lld",
				field, (long long)*out, (long long)min, (long long)max);
	return 0;
}

static int get_required_string(const json_t *obj, const char *key, const char *field,
			       size_t max, const char **out, struct api_error *err)
{
	int ret = ju_get_string(obj, key, field, max, out, err);

	if (!ret && !*out)
		return ju_missing_field(err, field);
	return ret;
}

/*
 * Member key of where[i] (an object, checked), a required hex string:
 * *out, with field set to its path "where[i].key". 0 or -EINVAL.
 */
static int element_hex(const json_t *e, const char *where, size_t i, const char *key,
		       char *field, size_t flen, uint64_t *out, struct api_error *err)
{
	ju_path(field, flen, "%s[%zu]", where, i);
	if (!json_is_object(e))
		return ju_wrong_type(err, field, "an object", e);
	ju_path(field, flen, "%s[%zu].%s", where, i, key);
	if (!json_object_get(e, key))
		return ju_missing_field(err, field);
	return ju_get_hex(json_object_get(e, key), field, out, err) < 0 ? -EINVAL : 0;
}

/* profile.workaround_levels (optional): [{"id", "value"}], each id one of
 * SMCCC_ARCH_WORKAROUND_1..3, at most once. */
static int parse_levels(const json_t *arr, struct snapshot_manifest *m, struct api_error *err)
{
	const char *where = "manifest.profile.workaround_levels";
	char field[96];
	const json_t *e;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return ju_wrong_type(err, where, "an array", arr);
	json_array_foreach(arr, i, e) {
		uint64_t id, value;
		size_t k;

		if (element_hex(e, where, i, "id", field, sizeof(field), &id, err) < 0)
			return -EINVAL;
		if (!restore_reg_is_host_level(id))
			return api_fail(err, 422, "not_a_workaround_register", field,
					"0x%016" PRIx64 " is not SMCCC_ARCH_WORKAROUND_1..3", id);
		for (k = 0; k < m->nlevels && m->levels[k].id < id; k++)
			;
		if (k < m->nlevels && m->levels[k].id == id)
			return api_fail(err, 422, "duplicate_register", field,
					"register 0x%016" PRIx64 " is listed twice", id);
		if (element_hex(e, where, i, "value", field, sizeof(field), &value, err) < 0)
			return -EINVAL;
		/* Three ids, each once: room is certain. */
		memmove(&m->levels[k + 1], &m->levels[k], (m->nlevels - k) * sizeof(m->levels[0]));
		m->levels[k] = (struct fw_pin){ .id = id, .value = value };
		m->nlevels++;
	}
	return 0;
}

static int parse_files(const json_t *doc, struct snapshot_manifest *m, struct api_error *err)
{
	const json_t *files = NULL, *f = NULL;
	char field[96];
	json_int_t size = 0;

	if (get_object(doc, "files", "manifest.files", &files, err) < 0)
		return -EINVAL;
	for (size_t i = 0; i < SNAPSHOT_NFILES; i++) {
		const char *sum;

		ju_path(field, sizeof(field), "manifest.files.%s", snapshot_file_names[i]);
		if (get_object(files, snapshot_file_names[i], field, &f, err) < 0)
			return -EINVAL;
		ju_path(field, sizeof(field), "manifest.files.%s.%s", snapshot_file_names[i],
			snapshot_digest_key(i));
		if (get_required_string(f, snapshot_digest_key(i), field, 64, &sum, err) < 0)
			return -EINVAL;
		if (!sha256_valid(sum))
			return api_fail(err, 422, "bad_sha256", field,
					"%s must be 64 lowercase hex digits", field);
		snprintf(m->files[i].sha256, sizeof(m->files[i].sha256), "%s", sum);
		ju_path(field, sizeof(field), "manifest.files.%s.size", snapshot_file_names[i]);
		if (get_int(f, "size", field, 0, INT64_MAX, &size, err) < 0)
			return -EINVAL;
		m->files[i].size = (uint64_t)size;
	}
	return 0;
}

int snapshot_manifest_parse(const json_t *doc, struct snapshot_manifest *out,
			    struct api_error *err)
{
	struct snapshot_manifest m = { 0 };
	const json_t *vm = NULL, *source = NULL, *profile = NULL, *v;
	json_int_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return ju_wrong_type(err, "manifest", "an object", doc);
	v = json_object_get(doc, "format");
	if (!v)
		return ju_missing_field(err, "manifest.format");
	if (!json_is_integer(v))
		return ju_wrong_type(err, "manifest.format", "an integer", v);
	if (json_integer_value(v) > SNAPSHOT_FORMAT)
		return api_fail(err, 422, "unsupported_format", "manifest.format",
				"snapshot format %lld is newer than this pinvmd reads (%d)",
				(long long)json_integer_value(v), SNAPSHOT_FORMAT);
	if (json_integer_value(v) < 1)
		return api_fail(err, 422, "out_of_range", "manifest.format",
				"snapshot format must be at least 1");
	m.format = (int)json_integer_value(v);
	if (get_required_string(doc, "id", "manifest.id", SNAPSHOT_ID_LEN + 8, &m.id, err) < 0)
		return -EINVAL;
	if (!snapshot_id_valid(m.id))
		return api_fail(err, 422, "bad_snapshot_id", "manifest.id",
				"\"%s\" is not a snapshot id (a lowercase UUID)", m.id);
	if (get_required_string(doc, "created", "manifest.created", 31, &m.created, err) < 0)
		return -EINVAL;
	if (get_object(doc, "vm", "manifest.vm", &vm, err) < 0 ||
	    get_int(vm, "vcpus", "manifest.vm.vcpus", 1, VM_SPEC_MAX_VCPUS, &n, err) < 0)
		return -EINVAL;
	m.vcpus = (unsigned)n;
	if (get_int(vm, "memory_mib", "manifest.vm.memory_mib", VM_SPEC_MIN_MEMORY_MIB,
		    VM_SPEC_MAX_MEMORY_MIB, &n, err) < 0)
		return -EINVAL;
	m.memory_mib = (uint64_t)n;
	if (ju_get_string(vm, "id", "manifest.vm.id", 39, &m.vm_id, err) < 0)
		return -EINVAL;
	if (!m.vm_id)
		m.vm_id = "";
	if (get_object(doc, "source", "manifest.source", &source, err) < 0 ||
	    get_required_string(source, "kernel_release", "manifest.source.kernel_release",
				HOSTSET_RELEASE_MAX, &m.kernel_release, err) < 0)
		return -EINVAL;
	v = json_object_get(source, "firmware_registers");
	if (v && !json_is_null(v)) {
		struct hostset *h = malloc(sizeof(*h));
		int ret;

		if (!h)
			return ju_oom(err);
		ret = hostset_from_json(v, h, err);
		free(h);
		if (ret < 0) {
			if (err)
				api_error_nest(err, "manifest.source.firmware_registers");
			return -EINVAL;
		}
		m.source_fwregs = v;
	}
	if (get_object(doc, "profile", "manifest.profile", &profile, err) < 0 ||
	    ju_get_string(profile, "name", "manifest.profile.name", PROFILE_NAME_MAX,
			  &m.profile_name, err) < 0)
		return -EINVAL;
	v = json_object_get(profile, "document");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return ju_wrong_type(err, "manifest.profile.document", "an object", v);
		m.profile_doc = v;
	}
	if (parse_levels(json_object_get(profile, "workaround_levels"), &m, err) < 0 ||
	    parse_files(doc, &m, err) < 0)
		return -EINVAL;
	m.doc = json_incref((json_t *)doc);
	*out = m;
	return 0;
}

json_t *snapshot_record_json(const struct snapshot_manifest *m, const char *manifest_sha256,
			     uint64_t size_bytes, const char *state)
{
	json_t *files = json_object(), *rec;

	if (!files)
		return NULL;
	for (size_t i = 0; i < SNAPSHOT_NFILES; i++)
		if (ju_set_new(files, snapshot_file_names[i],
			       json_pack("{s:s, s:I}", snapshot_digest_key(i), m->files[i].sha256,
					 "size", (json_int_t)m->files[i].size))) {
			json_decref(files);
			return NULL;
		}
	rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:I, s:I, s:s, s:s, s:o}", "id", m->id,
			"vm", m->vm_id, "created", m->created, "source_kernel",
			m->kernel_release, "profile", str_or_null(m->profile_name), "vcpus",
			(int)m->vcpus, "memory_mib", (json_int_t)m->memory_mib, "size_bytes",
			(json_int_t)size_bytes, "sha256", manifest_sha256, "state", state,
			"files", files);
	return rec;
}

static int add_fw(struct snapshot_guest *g, uint64_t id, uint64_t value, const char *field,
		  struct api_error *err)
{
	size_t i;

	for (i = 0; i < g->nfw && g->fw[i].id < id; i++)
		;
	if (i < g->nfw && g->fw[i].id == id)
		return api_fail(err, 422, "duplicate_register", field,
				"register 0x%016" PRIx64 " is listed twice", id);
	if (g->nfw == HOSTSET_MAX_REGS)
		return api_fail(err, 422, "too_many_registers", field,
				"more than %u firmware registers", HOSTSET_MAX_REGS);
	memmove(&g->fw[i + 1], &g->fw[i], (g->nfw - i) * sizeof(g->fw[0]));
	g->fw[i].id = id;
	g->fw[i].value = value;
	g->nfw++;
	return 0;
}

/* The firmware registers of one "regs" (or "pins" with readbacks) array. */
static int collect_fw(struct snapshot_guest *g, const json_t *arr, const char *where,
		      const char *value_key, struct api_error *err)
{
	char field[96];
	size_t i;
	const json_t *r;

	if (!json_is_array(arr))
		return ju_wrong_type(err, where, "an array", arr);
	json_array_foreach(arr, i, r) {
		uint64_t id, value;

		if (element_hex(r, where, i, "id", field, sizeof(field), &id, err) < 0)
			return -EINVAL;
		if (!fwreg_id_is_firmware(id))
			continue;
		if (element_hex(r, where, i, value_key, field, sizeof(field), &value, err) < 0 ||
		    add_fw(g, id, value, field, err) < 0)
			return -EINVAL;
	}
	return 0;
}

int snapshot_guest_from_vm_json(const json_t *vm, struct snapshot_guest *out,
				struct api_error *err)
{
	const json_t *vcpus, *v0, *v = NULL;
	json_int_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(vm))
		return ju_wrong_type(err, "vm.json", "an object", vm);
	if (get_int(vm, "format", "vm.json.format", 1, INT32_MAX, &n, err) < 0)
		return -EINVAL;
	if (n > SNAPSHOT_FORMAT)
		return api_fail(err, 422, "unsupported_format", "vm.json.format",
				"vm.json format %lld is newer than this pinvmd reads (%d)",
				(long long)n, SNAPSHOT_FORMAT);
	out->format = (int)n;
	if (get_int(vm, "vcpus", "vm.json.vcpus", 1, VM_SPEC_MAX_VCPUS, &n, err) < 0)
		return -EINVAL;
	out->vcpus = (unsigned)n;
	if (get_int(vm, "memory_mib", "vm.json.memory_mib", VM_SPEC_MIN_MEMORY_MIB,
		    VM_SPEC_MAX_MEMORY_MIB, &n, err) < 0)
		return -EINVAL;
	out->memory_mib = (uint64_t)n;
	vcpus = json_object_get(vm, "vcpu");
	if (!vcpus)
		return ju_missing_field(err, "vm.json.vcpu");
	if (!json_is_array(vcpus))
		return ju_wrong_type(err, "vm.json.vcpu", "an array", vcpus);
	if (json_array_size(vcpus) != out->vcpus)
		return api_fail(err, 422, "out_of_range", "vm.json.vcpu",
				"vm.json has %zu vCPU states for %u vCPUs",
				json_array_size(vcpus), out->vcpus);
	v0 = json_array_get(vcpus, 0);
	if (!json_is_object(v0))
		return ju_wrong_type(err, "vm.json.vcpu[0]", "an object", v0);
	v = json_object_get(v0, "regs");
	if (!v)
		return ju_missing_field(err, "vm.json.vcpu[0].regs");
	if (collect_fw(out, v, "vm.json.vcpu[0].regs", "value", err) < 0)
		return -EINVAL;
	/* Without firmware registers in the list, what pinvm-vmm read back
	 * after pinning is what the guest saw. */
	v = json_object_get(vm, "pins");
	if (!out->nfw && v && collect_fw(out, v, "vm.json.pins", "readback", err) < 0)
		return -EINVAL;
	return 0;
}

static bool guest_has(const struct snapshot_guest *g, uint64_t id)
{
	for (size_t i = 0; i < g->nfw; i++)
		if (g->fw[i].id == id)
			return true;
	return false;
}

void snapshot_guest_set(struct snapshot_guest *g, const struct fw_pin *lv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < g->nfw && g->fw[k].id < lv[i].id; k++)
			;
		if (k < g->nfw && g->fw[k].id == lv[i].id) {
			g->fw[k].value = lv[i].value;
			continue;
		}
		if (g->nfw == HOSTSET_MAX_REGS)
			continue;
		memmove(&g->fw[k + 1], &g->fw[k], (g->nfw - k) * sizeof(g->fw[0]));
		g->fw[k].id = lv[i].id;
		g->fw[k].value = lv[i].value;
		g->nfw++;
	}
}

/* A bitmap the guest never saw: pinned 0 (its services were off). */
static int pin_zero(struct profile *p, const struct snapshot_guest *g, uint64_t id,
		    struct api_error *err)
{
	if (guest_has(g, id) || profile_find_pin(p, id))
		return 0;
	return profile_add_pin(p, id, PROFILE_PIN_VALUE, 0, err);
}

int snapshot_profile(const struct snapshot_guest *g, const json_t *profile_doc,
		     const struct hostset *target, const char *name, struct profile **out,
		     struct api_error *err)
{
	struct profile *p = NULL, *src = NULL;
	int ret;

	*out = NULL;
	ret = profile_new(name, &p, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < g->nfw && !ret; i++)
		ret = profile_add_pin(p, g->fw[i].id, PROFILE_PIN_VALUE, g->fw[i].value, err);
	for (size_t i = 0; target && i < target->nregs && !ret; i++)
		if (FWREG_ID(FWREG_COPROC_FEAT_BMAP, 0) <= target->regs[i].id &&
		    target->regs[i].id <= (FWREG_ID(FWREG_COPROC_FEAT_BMAP, 0) | 0xffff))
			ret = pin_zero(p, g, target->regs[i].id, err);
	for (size_t i = 0; i < fwreg_count() && !ret; i++)
		if (fwreg_at(i)->kind == FWREG_KIND_BITMAP)
			ret = pin_zero(p, g, fwreg_at(i)->id, err);
	if (ret < 0) {
		if (err) {
			api_error_nest(err, "vm.json");
			if (err->status != 500) {
				err->status = 422;
				snprintf(err->code, sizeof(err->code), "bad_snapshot");
			}
		}
		profile_free(p);
		return ret;
	}
	if (profile_doc) {
		ret = profile_from_json(profile_doc, &src, err);
		if (ret < 0) {
			if (err && err->status != 500) {
				api_error_nest(err, "manifest.profile.document");
				err->status = 422;
				snprintf(err->code, sizeof(err->code), "bad_snapshot");
			}
			profile_free(p);
			return ret;
		}
		p->smccc = src->smccc;
		profile_free(src);
	}
	*out = p;
	return 0;
}

int snapshot_check(const struct snapshot_guest *g, const json_t *profile_doc,
		   const struct hostset *target, const char *name, unsigned accept,
		   struct compat_report *out, struct api_error *err)
{
	struct profile *p;
	int ret = snapshot_profile(g, profile_doc, target, name, &p, err);

	if (ret < 0)
		return ret;
	ret = compat_check(p, target, out);
	profile_free(p);
	if (ret < 0)
		return api_fail(err, 500, "internal_error", "", "compat_check: %s",
				strerror(-ret));
	wa_levels_judge_move(out, accept);
	return 0;
}

size_t snapshot_extra_pins(const struct snapshot_guest *g, const struct compat_report *r,
			   struct fw_pin *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nwrites && n < max; i++)
		if (!guest_has(g, r->writes[i].id))
			out[n++] = r->writes[i];
	return n;
}

int snapshot_restore_request_parse(const json_t *body, const char **id, unsigned *accept,
				   struct api_error *err)
{
	const char *key;
	json_t *v;

	*id = NULL;
	*accept = 0;
	if (!json_is_object(body))
		return ju_wrong_type(err, "", "an object", body);
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "snapshot") && strcmp(key, "accept"))
			return api_fail(err, 422, "unknown_field", key,
					"a restore takes only \"snapshot\" and \"accept\": vcpus, "
					"memory, kernel and profile come from the snapshot; \"%s\" "
					"is not taken", key);
	}
	if (ju_get_string(body, "snapshot", "snapshot", SNAPSHOT_ID_LEN + 64, id, err) < 0)
		return -EINVAL;
	if (!*id)
		return ju_missing_field(err, "snapshot");
	return accept_rules_parse(json_object_get(body, "accept"), "accept", accept, err);
}

int snapshot_compat_request_parse(const json_t *body, const char **id, struct hostset *host,
				  struct api_error *err)
{
	static const char *const keys[] = { "snapshot", "host", NULL };
	const json_t *h;

	*id = NULL;
	if (!json_is_object(body))
		return ju_wrong_type(err, "", "an object", body);
	if (ju_only_keys(body, "", keys, err) < 0)
		return -EINVAL;
	if (ju_get_string(body, "snapshot", "snapshot", SNAPSHOT_ID_LEN + 64, id, err) < 0)
		return -EINVAL;
	if (!*id)
		return ju_missing_field(err, "snapshot");
	h = json_object_get(body, "host");
	if (!h)
		return ju_missing_field(err, "host");
	if (hostset_from_json(h, host, err) < 0) {
		if (err)
			api_error_nest(err, "host");
		return -EINVAL;
	}
	return 0;
}
