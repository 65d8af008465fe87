/* KVM's SMCCC filter, DENY ranges. */
#include "smccc_deny.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

/* Linux 6.4 uapi (arch/arm64/include/uapi/asm/kvm.h); older headers lack it. */
#ifndef KVM_ARM_VM_SMCCC_CTRL
#define KVM_ARM_VM_SMCCC_CTRL 0
#define KVM_ARM_VM_SMCCC_FILTER 0
#endif
#define PINVM_SMCCC_FILTER_DENY 1 /* KVM_SMCCC_FILTER_DENY */

struct pinvm_smccc_filter { /* struct kvm_smccc_filter */
	__u32 base;
	__u32 nr_functions;
	__u8 action;
	__u8 pad[15];
};

int vmm_smccc_deny(int vm, const struct smccc_range *deny, size_t n,
		   char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct pinvm_smccc_filter f = {
			.base = deny[i].base,
			.nr_functions = (__u32)deny[i].count,
			.action = PINVM_SMCCC_FILTER_DENY,
		};
		struct kvm_device_attr attr = {
			.group = KVM_ARM_VM_SMCCC_CTRL,
			.attr = KVM_ARM_VM_SMCCC_FILTER,
			.addr = (uintptr_t)&f,
		};

		if (ioctl(vm, KVM_SET_DEVICE_ATTR, &attr) < 0) {
			int e = errno;

			snprintf(err, errlen,
				 "KVM_ARM_VM_SMCCC_FILTER deny 0x%08x+0x%llx: %s",
				 deny[i].base, (unsigned long long)deny[i].count,
				 strerror(e));
			return -e;
		}
	}
	return 0;
}

