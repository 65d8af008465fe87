/*
 * A VM's pre-run image (vm.h vm_prerun_gather) as pinvmd handles it: read
 * from the VM's directory on the source of a migration, sent in the body
 * of POST /v1/vms/incoming, checked by the destination before the restore
 * dry run (pinvm-vmm --helper restore-check) judges it on its KVM.
 *
 * The image is a vm.json (vm_state.h, docs/snapshot-format.md section 1)
 * of one vCPU: vCPU 0 stands for all of them. Its "memory_mib" is the VM's
 * (the scratch VM's IPA size follows it).
 *
 * Pure (jansson only), builds everywhere: pinvmd, the unit tests and the
 * fuzz target use it. The image comes from another host: nothing in it is
 * trusted before prerun_image_check() accepted it. Thread-safe (no state).
 */
#ifndef PINVM_VMM_PRERUN_IMAGE_H
#define PINVM_VMM_PRERUN_IMAGE_H

#include "vmm_error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A one-vCPU image is 20-40 KB on the lab kernels (about 260 registers,
 * the distributor and one redistributor); the bound leaves room for SVE
 * and newer kernels' registers and still fits the default request body
 * limit (1 MiB) beside the rest of the incoming body. */
#define PRERUN_IMAGE_MAX_BYTES (512u * 1024u)

/*
 * Checks img as a pre-run image of a VM of memory_mib MiB: a valid
 * vm.json (vm_state_from_json), "vcpus" 1, "memory_mib" equal, and, once
 * encoded compactly, at most PRERUN_IMAGE_MAX_BYTES. 0, or -EINVAL
 * (-ENOMEM) with err (step "prerun"): detail starts with the offending
 * key's path and ": " ("vcpu[0].regs[7].id: not ascending"), or with
 * "(top level): " when the image as a whole is wrong. err may be NULL.
 */
int prerun_image_check(const json_t *img, uint64_t memory_mib, struct vmm_error *err);

/*
 * Reads the image pinvm-vmm wrote at path (at most PRERUN_IMAGE_MAX_BYTES)
 * and checks it as above; *out is a new reference. -ENOENT (no image: a VM
 * built before images existed, or whose image could not be written),
 * -EFBIG, or prerun_image_check()'s errors, with err. *out NULL on failure.
 */
int prerun_image_load(const char *path, uint64_t memory_mib, json_t **out,
		      struct vmm_error *err);

#endif
