#include "vm_time.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

/* 6.4 uapi, absent from the 6.1 headers pinvm builds against. */
#ifndef KVM_CAP_COUNTER_OFFSET
#define KVM_CAP_COUNTER_OFFSET 227
#endif
#ifndef KVM_ARM_SET_COUNTER_OFFSET
struct kvm_arm_counter_offset {
	__u64 counter_offset;
	__u64 reserved;
};
#define KVM_ARM_SET_COUNTER_OFFSET _IOW(KVMIO, 0xb5, struct kvm_arm_counter_offset)
#endif

int vm_time_read(int vcpu_fd, uint64_t *cnt, struct vmm_error *err)
{
	struct kvm_one_reg r = { .id = KVM_REG_ARM_TIMER_CNT, .addr = (uintptr_t)cnt };

	if (ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0)
		return vmm_error_sys(err, "KVM_GET_ONE_REG TIMER_CNT");
	return 0;
}

uint64_t vm_time_host_frequency(void)
{
#ifdef __aarch64__
	uint64_t f;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
#else
	return 0;
#endif
}

static int set_offset(int vm_fd, uint64_t off, struct vmm_error *err)
{
	struct kvm_arm_counter_offset o = { .counter_offset = off };

	if (ioctl(vm_fd, KVM_ARM_SET_COUNTER_OFFSET, &o) < 0)
		return vmm_error_sys(err, "KVM_ARM_SET_COUNTER_OFFSET");
	return 0;
}

int vm_time_restore(int kvm_fd, int vm_fd, const int *vcpu_fds, unsigned n,
		    uint64_t cnt, bool *used_offset_ioctl, struct vmm_error *err)
{
	uint64_t phys;
	int ret;

	*used_offset_ioctl = false;
	if (!n)
		return 0;
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COUNTER_OFFSET) > 0 ||
	    ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COUNTER_OFFSET) > 0) {
		/* With offset 0 the guest counter is the host's: read it through
		 * KVM (no host mrs needed), then move it back to cnt. The ticks
		 * between the read and the second call are lost, a few µs. */
		if ((ret = set_offset(vm_fd, 0, err)) < 0 ||
		    (ret = vm_time_read(vcpu_fds[0], &phys, err)) < 0 ||
		    (ret = set_offset(vm_fd, phys - cnt, err)) < 0)
			return ret;
		*used_offset_ioctl = true;
		return 0;
	}
	/* Each write recomputes the VM-wide offset; the last one counts. */
	for (unsigned i = 0; i < n; i++) {
		struct kvm_one_reg r = { .id = KVM_REG_ARM_TIMER_CNT,
					 .addr = (uintptr_t)&cnt };

		if (ioctl(vcpu_fds[i], KVM_SET_ONE_REG, &r) < 0)
			return vmm_error_set(err, "restore", errno,
					     "vCPU %u: KVM_SET_ONE_REG TIMER_CNT: %s", i,
					     strerror(errno));
	}
	return 0;
}
