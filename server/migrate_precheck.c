#include "migrate_precheck.h"

#include "log.h"
#include "mono_clock.h"
#include "prerun_image.h"
#include "restore_refusal.h"
#include "snapshot_store.h"
#include "vm_dir.h"
#include "vmm_config.h"
#include "vmm_helper.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* A scratch VM and a few hundred KVM_SET_ONE_REG: seconds in the
 * emulated lab under load. The helper's deadline is this plus its 20 s
 * margin (vmm_helper_client.c), inside the 30 s the source gives the
 * whole request (peer.h), so a stuck dry run is this side's 500, not the
 * source's timeout with a VM made here after it gave up. */
#define PRECHECK_TIMEOUT_MS 5000

json_t *migrate_precheck_image(const struct vm_entry *e, uint64_t memory_mib)
{
	char path[PATH_MAX];
	struct vmm_error verr;
	json_t *img = NULL;

	if (vm_dir_file(e->dir, VM_FILE_PRERUN, path, sizeof(path)) < 0)
		return NULL;
	if (prerun_image_load(path, memory_mib, &img, &verr) < 0)
		log_msg(LOG_WARN, "vm %s: no usable pre-run image (%s): its vCPU state is judged "
			"only when the destination rebuilds it, after the pause", e->id,
			verr.detail);
	return img;
}

int migrate_precheck_validate(const json_t *img, uint64_t memory_mib, struct api_error *err)
{
	struct vmm_error verr;
	char field[128];
	const char *colon;
	size_t n;

	if (prerun_image_check(img, memory_mib, &verr) == 0)
		return 0;
	if (verr.errnum == ENOMEM)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	/* The detail starts with the key's path: the field under "prerun". */
	colon = strstr(verr.detail, ": ");
	n = colon ? (size_t)(colon - verr.detail) : 0;
	if (!n || !strncmp(verr.detail, "(top level)", n) || n + 8 >= sizeof(field))
		snprintf(field, sizeof(field), "prerun");
	else
		snprintf(field, sizeof(field), "prerun.%.*s", (int)n, verr.detail);
	return api_fail(err, 422, "bad_prerun_image", field,
			"the pre-run image is not one this pinvmd can judge: %s", verr.detail);
}

int migrate_precheck_run(const char *state_dir, const json_t *img, unsigned accept,
			 const char *host, json_t **accepted, struct api_error *err,
			 json_t **extra)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], herr[256];
	struct vmm_error verr;
	json_t *answer = NULL;
	const char *from;
	double t0 = mono_ms_exact();
	int ret;

	*extra = NULL;
	*accepted = NULL;
	ret = snapshot_tmp_dir(state_dir, dir, sizeof(dir), err);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/vm.json", dir);
	ret = vmm_json_save(img, JSON_COMPACT, path, "prerun", &verr);
	if (ret < 0) {
		api_fail(err, ret == -ENOSPC ? 507 : 500,
			 ret == -ENOSPC ? "insufficient_storage" : "state_error", "",
			 "cannot write the pre-run image: %s", verr.detail);
		goto out;
	}
	ret = vmm_helper_restore_check(dir, accept, PRECHECK_TIMEOUT_MS, &answer, herr,
				       sizeof(herr));
	if (ret < 0) {
		api_fail(err, 500, "restore_check_failed", "",
			 "pinvm-vmm --helper restore-check of the pre-run image: %s", herr);
		goto out;
	}
	from = json_string_value(json_object_get(answer, "source_kernel"));
	log_msg(LOG_INFO, "migration check: the pre-run image from %s judged in %.0f ms: %s",
		from ? from : "?", mono_ms_exact() - t0,
		json_is_true(json_object_get(answer, "compatible")) ? "compatible" : "refused");
	if (!json_is_true(json_object_get(answer, "compatible")))
		ret = restore_check_refusal(answer, "migration_refused",
					    "the guest's vCPU state cannot move", host, err, extra);
	else
		*accepted = json_incref(json_object_get(answer, "accepted"));
out:
	json_decref(answer);
	if (snapshot_dir_remove(dir) < 0)
		log_msg(LOG_WARN, "cannot remove %s (the next start-up's sweep will)", dir);
	return ret;
}
