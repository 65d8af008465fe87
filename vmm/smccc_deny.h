/*
 * KVM's SMCCC filter (Linux 6.4+): marks ranges of SMCCC function ids
 * DENY on a VM, so the guest gets NOT_SUPPORTED there whatever the kernel
 * implements. Must run before any vCPU of the VM enters KVM_RUN (EBUSY
 * afterwards). The ranges come from api/ (smccc_filter_deny_ranges()).
 */
#ifndef PINVM_VMM_SMCCC_DENY_H
#define PINVM_VMM_SMCCC_DENY_H

#include "smccc_filter.h"

#include <stddef.h>

/*
 * KVM_SET_DEVICE_ATTR(KVM_ARM_VM_SMCCC_CTRL, KVM_ARM_VM_SMCCC_FILTER) with
 * action DENY for each of deny[0..n) on vm_fd. 0, or the negative errno of
 * the first range KVM refused, with err (errlen bytes) naming it.
 */
int vmm_smccc_deny(int vm_fd, const struct smccc_range *deny, size_t n,
		   char *err, size_t errlen);

#endif
