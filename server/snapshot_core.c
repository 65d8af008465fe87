#include "snapshot_core.h"

#include "console_log.h"

#include "host_view.h"
#include "jsonutil.h"
#include "log.h"
#include "snapshot_archive.h"
#include "snapshot_store.h"
#include "store.h"
#include "test_hold.h"
#include "uuid.h"
#include "vm_dir.h"
#include "vm_events.h"
#include "vm_spec.h"
#include "vm_supervisor.h"
#include "restore_refusal.h"
#include "vmm_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writing 1 GiB of guest RAM on an emulated, loaded lab takes a while. */
#define SNAPSHOT_OP_TIMEOUT_MS 300000
#define PAUSE_TIMEOUT_MS 15000
#define RESTORE_CHECK_TIMEOUT_MS 30000

static pthread_mutex_t taking = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(SNAPSHOT_ID_LEN == UUID_LEN, "a snapshot id is a UUID");

static int not_found(const char *id, struct api_error *err)
{
	api_fail(err, 404, "snapshot_not_found", "", "no snapshot with id %s", id);
	return -ENOENT;
}

/* The VM's console so far, into the snapshot (the guest's history). */
static int copy_console(const struct vm_entry *e, const char *dir, struct api_error *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	snprintf(to, sizeof(to), "%s/console.log", dir);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return api_fail(err, 500, "state_error", "", "cannot create %s: %s", to,
				strerror(errno));
	in = vm_dir_file(e->dir, VM_FILE_CONSOLE, from, sizeof(from)) == 0
		     ? open(from, O_RDONLY | O_CLOEXEC)
		     : -1;
	/* What the bound dropped stays a hole in the copy too. */
	if (in >= 0 && console_log_copy_start(in, out) < 0) {
		close(in);
		in = -1;
	}
	while (in >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			ret = api_fail(err, errno == ENOSPC ? 507 : 500,
				       errno == ENOSPC ? "insufficient_storage" : "state_error", "",
				       "writing %s: %s", to, strerror(errno));
			break;
		}
	if (in >= 0)
		close(in);
	close(out);
	return ret;
}

/* The profile's writes as they were applied ({"id", "value"}), from the
 * VM's register report. */
static json_t *applied_of(const json_t *abi)
{
	json_t *out = json_array(), *r;
	size_t i;

	json_array_foreach(abi, i, r) {
		json_t *w = json_object_get(r, "write");

		if (w && out)
			json_array_append_new(out, json_pack("{s:O, s:O}", "id",
							     json_object_get(r, "id"), "value", w));
	}
	return out;
}

static const char *spec_str(const json_t *spec, const char *key)
{
	return json_string_value(json_object_get(spec, key));
}

/* The manifest of the directory pinvm-vmm filled, written into it. */
static int finish_dir(const struct snapshot_env *env, struct vm_entry *e, const char *tmp,
		      const char *id, struct api_error *err)
{
	struct snapshot_manifest_in in = { .id = id, .vm_id = e->id };
	const struct kvm_host_info *info = host_view_info(env->host);
	struct snapshot_guest *g = malloc(sizeof(*g));
	struct snapshot_file msum;
	struct fw_pin levels[WA_LEVELS_MAX];
	struct hostset *host = malloc(sizeof(*host));
	struct api_error ignored;
	json_t *vm = NULL, *fwregs = NULL, *profile = NULL, *applied = NULL, *doc = NULL;
	char created[32], serr[256];
	time_t now = time(NULL);
	struct tm tm;
	int ret;

	if (!g || !host) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto out;
	}
	ret = copy_console(e, tmp, err);
	for (size_t i = 0; !ret && i < SNAPSHOT_NFILES; i++)
		ret = snapshot_kind_sum(tmp, (enum snapshot_file_kind)i, &in.files[i], err);
	if (!ret)
		ret = snapshot_read_vm_json(tmp, &vm, err);
	if (!ret && snapshot_guest_from_vm_json(vm, g, err) < 0) {
		/* pinvm-vmm's own file: a mismatch is ours to fix, not the user's. */
		err->status = 500;
		ret = -EPROTO;
	}
	if (ret < 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (host_view_read(env->host, false, host, &ignored) == 0)
		fwregs = hostset_to_json(host);
	if (e->profile[0] &&
	    store_profile_get(env->store, e->profile, &profile, serr, sizeof(serr)) < 0)
		profile = NULL; /* deleted since: the guest's registers still say it all */
	pthread_mutex_lock(&e->lock);
	applied = applied_of(e->abi);
	in.nlevels = wa_levels_told(e->abi, levels, WA_LEVELS_MAX);
	pthread_mutex_unlock(&e->lock);
	in.levels = levels;
	in.created = created;
	in.vcpus = g->vcpus;
	in.memory_mib = g->memory_mib;
	in.cmdline = spec_str(e->spec, "cmdline");
	in.kernel = spec_str(e->spec, "kernel");
	in.initrd = spec_str(e->spec, "initrd");
	in.kernel_release = info->kernel_release;
	in.source_fwregs = fwregs;
	in.profile_name = e->profile[0] ? e->profile : NULL;
	in.profile_doc = profile;
	in.applied = applied;
	in.readbacks = json_object_get(vm, "pins");
	doc = snapshot_manifest_build(&in);
	if (!doc) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto out;
	}
	ret = snapshot_write_manifest(tmp, doc, &msum, err);
out:
	json_decref(doc);
	json_decref(vm);
	json_decref(fwregs);
	json_decref(profile);
	json_decref(applied);
	free(g);
	free(host);
	return ret;
}

/* Renames tmp into place and lists it: the record, or nothing at all. */
static int publish(const struct snapshot_env *env, const char *tmp, const char *id,
		   json_t **record, struct api_error *err)
{
	char final[PATH_MAX], msum[65], serr[256];
	struct snapshot_manifest m;
	uint64_t size;
	int ret;

	if (snapshot_dir(env->state_dir, id, final, sizeof(final)) < 0)
		return api_fail(err, 500, "state_error", "", "state directory path too long");
	ret = snapshot_load(tmp, false, &m, msum, &size, err);
	if (ret < 0)
		return ret;
	*record = snapshot_record_json(&m, msum, size, "ready");
	snapshot_manifest_clear(&m);
	if (!*record)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	ret = snapshot_commit(tmp, final, err);
	if (ret == 0)
		test_hold("snapshot-renamed");
	if (ret == 0) {
		ret = store_snapshot_insert(env->store, id, *record, serr, sizeof(serr));
		if (ret < 0) {
			snapshot_dir_remove(final);
			if (ret == -EEXIST)
				api_fail(err, 409, "snapshot_exists", "id",
					 "a snapshot with id %s is stored already", id);
			else
				api_fail(err, 500, "state_error", "", "cannot store the snapshot: %s",
					 serr);
		}
	}
	if (ret < 0) {
		json_decref(*record);
		*record = NULL;
	}
	return ret;
}

int snapshot_take(const struct snapshot_env *env, struct vm_entry *e, json_t **record,
		  struct api_error *err)
{
	char tmp[PATH_MAX], id[SNAPSHOT_ID_LEN + 1], detail[512];
	enum vm_state state;
	bool unstarted, was_running;
	unsigned long long bytes = 0;
	int ret;

	*record = NULL;
	pthread_mutex_lock(&e->lock);
	state = e->state;
	unstarted = e->unstarted_restore;
	pthread_mutex_unlock(&e->lock);
	if ((state != VM_RUNNING && state != VM_PAUSED) || unstarted)
		return api_fail(err, 409, "illegal_transition", "",
				"cannot snapshot a VM that is %s%s", vm_state_name(state),
				unstarted ? " and has not run since its restore (its snapshot "
					    "is the one it came from)" : "");
	pthread_mutex_lock(&taking);
	vm_events_snapshot(e->id, "started", NULL, NULL);
	was_running = state == VM_RUNNING;
	if (was_running) {
		ret = vm_request(e, VMM_OP_PAUSE, PAUSE_TIMEOUT_MS, detail, sizeof(detail));
		if (ret < 0) {
			api_fail(err, ret == -EBUSY || ret == -EINVAL || ret == -ESRCH ? 409 : 500,
				 "snapshot_failed", "", "pausing the VM: %s", detail);
			goto out;
		}
	}
	ret = snapshot_tmp_dir(env->state_dir, tmp, sizeof(tmp), err);
	if (ret < 0)
		goto out;
	ret = vm_request_path(e, VMM_OP_SNAPSHOT, tmp, SNAPSHOT_OP_TIMEOUT_MS, &bytes, detail,
			      sizeof(detail));
	if (ret < 0) {
		bool full = strstr(detail, "ENOSPC") || strstr(detail, strerror(ENOSPC)) ||
			    strstr(detail, "errno 28");

		api_fail(err, full ? 507 : ret == -EINVAL || ret == -EBUSY ? 409 : 500,
			 full ? "insufficient_storage" : "snapshot_failed", "",
			 "pinvm-vmm could not snapshot the VM: %s (the VM stays paused)", detail);
	}
	uuid_v4(id);
	if (!ret)
		test_hold("snapshot-written");
	if (!ret)
		ret = finish_dir(env, e, tmp, id, err);
	if (!ret)
		ret = publish(env, tmp, id, record, err);
	if (ret < 0) {
		snapshot_dir_remove(tmp);
		goto out;
	}
	log_msg(LOG_INFO, "vm %s: snapshot %s taken (%llu bytes of state)", e->id, id, bytes);
	/* A failure leaves it paused, on purpose: resumable, and the caller
	 * decides. Success puts a running VM back. */
	if (was_running && vm_request(e, VMM_OP_RESUME, PAUSE_TIMEOUT_MS, detail,
				      sizeof(detail)) < 0)
		log_msg(LOG_WARN, "vm %s: resume after snapshot %s: %s", e->id, id, detail);
out:
	pthread_mutex_unlock(&taking);
	vm_events_snapshot(e->id, ret < 0 ? "failed" : "completed", ret < 0 ? NULL : *record,
			   ret < 0 ? err : NULL);
	return ret;
}

int snapshot_import(const struct snapshot_env *env, int fd, json_t **record,
		    struct api_error *err)
{
	char tmp[PATH_MAX], msum[65], id[SNAPSHOT_ID_LEN + 1];
	struct snapshot_manifest m;
	struct snapshot_guest *g = NULL;
	json_t *vm = NULL;
	int ret;

	*record = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return api_fail(err, 500, "state_error", "", "upload: %s", strerror(errno));
	ret = snapshot_tmp_dir(env->state_dir, tmp, sizeof(tmp), err);
	if (ret < 0)
		return ret;
	ret = snapshot_archive_read(fd, tmp, (uint64_t)VM_SPEC_MAX_MEMORY_MIB << 20, err);
	if (!ret)
		ret = snapshot_load(tmp, true, &m, msum, NULL, err);
	if (ret < 0)
		goto out;
	snprintf(id, sizeof(id), "%s", m.id);
	g = malloc(sizeof(*g));
	if (!g)
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
	if (!ret)
		ret = snapshot_read_vm_json(tmp, &vm, err);
	if (!ret)
		ret = snapshot_guest_from_vm_json(vm, g, err);
	if (!ret && (g->vcpus != m.vcpus || g->memory_mib != m.memory_mib))
		ret = api_fail(err, 422, "bad_snapshot", "vm.json",
			       "vm.json has %u vCPUs and %" PRIu64 " MiB; the manifest says %u "
			       "and %" PRIu64, g->vcpus, g->memory_mib, m.vcpus, m.memory_mib);
	if (!ret && m.files[SNAPSHOT_FILE_MEM_RAW].size != m.memory_mib << 20)
		ret = api_fail(err, 422, "bad_snapshot", "files.mem.raw",
			       "mem.raw is %" PRIu64 " bytes for %" PRIu64 " MiB of RAM",
			       m.files[SNAPSHOT_FILE_MEM_RAW].size, m.memory_mib);
	snapshot_manifest_clear(&m);
	if (!ret)
		ret = publish(env, tmp, id, record, err);
out:
	if (ret < 0)
		snapshot_dir_remove(tmp);
	else
		log_msg(LOG_INFO, "snapshot %s imported", id);
	json_decref(vm);
	free(g);
	return ret;
}

int snapshot_record(const struct snapshot_env *env, const char *id, json_t **record,
		    struct api_error *err)
{
	char serr[256];
	int ret;

	*record = NULL;
	if (!snapshot_id_valid(id))
		return not_found(id, err);
	ret = store_snapshot_get(env->store, id, record, serr, sizeof(serr));
	if (ret == -ENOENT)
		return not_found(id, err);
	if (ret < 0)
		return api_fail(err, 500, "state_error", "", "%s", serr);
	return 0;
}

int snapshot_delete(const struct snapshot_env *env, const char *id, struct api_error *err)
{
	char dir[PATH_MAX], serr[256];
	int ret;

	if (!snapshot_id_valid(id))
		return not_found(id, err);
	ret = store_snapshot_delete(env->store, id, serr, sizeof(serr));
	if (ret == -ENOENT)
		return not_found(id, err);
	if (ret < 0)
		return api_fail(err, 500, "state_error", "", "%s", serr);
	/* Unlisted now; a crash before the files go leaves a directory the
	 * next start-up sweeps. */
	if (snapshot_dir(env->state_dir, id, dir, sizeof(dir)) == 0 &&
	    snapshot_dir_remove(dir) < 0)
		log_msg(LOG_WARN, "snapshot %s: cannot remove %s", id, dir);
	return 0;
}

void snapshot_verdict_clear(struct snapshot_verdict *v)
{
	snapshot_manifest_clear(&v->m);
	free(v->report);
	json_decref(v->restore_check);
	memset(v, 0, sizeof(*v));
}

int snapshot_judge(const struct snapshot_env *env, const char *id,
		   const struct hostset *target, bool run_helper, unsigned accept,
		   struct snapshot_verdict *v, struct api_error *err)
{
	struct hostset *here = NULL;
	char msum[65], name[PROFILE_NAME_MAX + 1], herr[256];
	json_t *rec = NULL, *vm = NULL;
	int ret;

	memset(v, 0, sizeof(*v));
	ret = snapshot_record(env, id, &rec, err);
	json_decref(rec);
	if (ret < 0)
		return ret;
	if (snapshot_dir(env->state_dir, id, v->dir, sizeof(v->dir)) < 0)
		return api_fail(err, 500, "state_error", "", "state directory path too long");
	/* Listed means complete and never rewritten: no checksums per restore. */
	ret = snapshot_load(v->dir, false, &v->m, msum, NULL, err);
	if (!ret)
		ret = snapshot_read_vm_json(v->dir, &vm, err);
	if (!ret)
		ret = snapshot_guest_from_vm_json(vm, &v->g, err);
	json_decref(vm);
	if (ret < 0)
		goto fail;
	if (!target) {
		here = malloc(sizeof(*here));
		if (!here) {
			ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
			goto fail;
		}
		ret = host_view_read(env->host, false, here, err);
		if (ret < 0)
			goto fail;
		target = here;
	}
	v->report = malloc(sizeof(*v->report));
	if (!v->report) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto fail;
	}
	snprintf(name, sizeof(name), "snapshot-%s", id);
	/* What the guest was told, where the manifest says (wa_levels.h). */
	snapshot_guest_set(&v->g, v->m.levels, v->m.nlevels);
	ret = snapshot_check(&v->g, v->m.profile_doc, target, name, accept, v->report, err);
	if (ret < 0)
		goto fail;
	/* The rest only matters for a restore the firmware allows. */
	if (run_helper && v->report->compatible) {
		ret = vmm_helper_restore_check(v->dir, accept, RESTORE_CHECK_TIMEOUT_MS,
					       &v->restore_check, herr, sizeof(herr));
		if (ret < 0) {
			api_fail(err, 500, "restore_check_failed", "",
				 "pinvm-vmm --helper restore-check: %s", herr);
			goto fail;
		}
	}
	free(here);
	return 0;
fail:
	free(here);
	snapshot_verdict_clear(v);
	return ret < 0 ? ret : -EIO;
}

int snapshot_refusal(const struct snapshot_verdict *v, struct api_error *err,
		     json_t **extra)
{
	char wanted[24], offered[24], subject[128];

	*extra = NULL;
	if (!v->report->compatible) {
		for (size_t i = 0; i < v->report->nentries; i++) {
			const struct compat_entry *e = &v->report->entries[i];

			if (e->verdict != COMPAT_REFUSED)
				continue;
			snprintf(wanted, sizeof(wanted), "0x%" PRIx64, e->pin);
			snprintf(offered, sizeof(offered), "0x%" PRIx64, e->host);
			{
				char field[64];

				if (e->desc)
					snprintf(field, sizeof(field), "registers.%s", e->desc->name);
				else
					snprintf(field, sizeof(field), "registers.0x%" PRIx64, e->id);
				api_fail(err, 409, "snapshot_refused", field,
					 "snapshot %s cannot be restored on %.128s: %s wanted %s, "
					 "offered %s (rule %s): %.200s", v->m.id,
					 v->report->kernel_release,
					 e->desc ? e->desc->name : "register", wanted,
					 e->host_present ? offered : "nothing",
					 e->rule ? e->rule : "unknown", e->reason);
			}
			*extra = json_pack("{s:s, s:s, s:s, s:o, s:o}", "register",
					   e->desc ? e->desc->name : wanted, "rule",
					   e->rule ? e->rule : "unknown", "wanted", wanted, "offered",
					   e->host_present ? json_string(offered) : json_null(),
					   "compatibility", compat_report_to_json(v->report));
			return -EPERM;
		}
		/* Only the SMCCC filter refused. */
		compat_refusal(v->report, NULL, err);
		snprintf(err->code, sizeof(err->code), "snapshot_refused");
		*extra = json_pack("{s:s, s:s, s:o}", "register", "smccc", "rule",
				   "smccc_filter_unavailable", "compatibility",
				   compat_report_to_json(v->report));
		return -EPERM;
	}
	if (!v->restore_check || json_is_true(json_object_get(v->restore_check, "compatible")))
		return 0;
	snprintf(subject, sizeof(subject), "snapshot %s cannot be restored", v->m.id);
	restore_check_refusal(v->restore_check, "snapshot_refused", subject,
			      v->report->kernel_release, err, extra);
	if (*extra)
		json_object_set_new(*extra, "compatibility", compat_report_to_json(v->report));
	return -EPERM;
}

json_t *snapshot_verdict_json(const struct snapshot_verdict *v)
{
	json_t *doc = compat_report_to_json(v->report);
	bool ok = v->report->compatible;

	if (!doc)
		return NULL;
	if (v->restore_check)
		ok = ok && json_is_true(json_object_get(v->restore_check, "compatible"));
	if (ju_set_new(doc, "snapshot", json_string(v->m.id)) ||
	    ju_set_new(doc, "source_kernel", json_string(v->m.kernel_release)) ||
	    json_object_set_new(doc, "restore_check",
				v->restore_check ? json_incref(v->restore_check) : json_null()) ||
	    json_object_set_new(doc, "compatible", json_boolean(ok))) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
