/*
 * A look inside a running guest for whoever debugs a hang: every vCPU's
 * PC, PSTATE, stack pointers, link and exception registers and power
 * state, taken while the VM is briefly paused. pinvm-vmm prints it on
 * SIGQUIT; it is not part of the control protocol.
 */
#include "vm_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, field) / sizeof(__u32)))
#define SYS_REG(...) ARM64_SYS_REG(__VA_ARGS__)

static const struct {
	const char *name;
	uint64_t id;
} regs[] = {
	{ "pc", CORE_REG(regs.pc) },
	{ "pstate", CORE_REG(regs.pstate) },
	{ "lr", CORE_REG(regs.regs[30]) },
	{ "sp_el1", CORE_REG(sp_el1) },
	{ "elr_el1", CORE_REG(elr_el1) },
	{ "esr_el1", SYS_REG(3, 0, 5, 2, 0) },
	{ "far_el1", SYS_REG(3, 0, 6, 0, 0) },
	/* KVM's own ids: its TIMER_CNT and TIMER_CVAL encodings are swapped
	 * relative to CNTVCT_EL0 and CNTV_CVAL_EL0, an ABI kept as it was. */
	{ "cntv_ctl", KVM_REG_ARM_TIMER_CTL },
	{ "cntv_cval", KVM_REG_ARM_TIMER_CVAL },
	{ "cntvct", KVM_REG_ARM_TIMER_CNT },
};

void vm_debug_dump(struct vm *vm, FILE *out)
{
	bool was_paused, paused;
	unsigned i;
	size_t r;

	pthread_mutex_lock(&vm->lock);
	was_paused = vm->pause;
	pthread_mutex_unlock(&vm->lock);
	paused = was_paused || vm_pause(vm) == 0;

	fprintf(out, "pinvm-vmm: debug dump (%s)\n",
		paused ? "vCPUs held" : "the VM has ended");
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_mp_state mp = { 0 };

		fprintf(out, "  vcpu%u:", i);
		if (ioctl(vm->vcpus[i].fd, KVM_GET_MP_STATE, &mp) == 0)
			fprintf(out, " %s", mp.mp_state == KVM_MP_STATE_STOPPED ? "off" :
				mp.mp_state == KVM_MP_STATE_RUNNABLE ? "on" : "?");
		for (r = 0; r < sizeof(regs) / sizeof(regs[0]); r++) {
			uint64_t v = 0;
			struct kvm_one_reg one = { .id = regs[r].id, .addr = (uintptr_t)&v };

			if (ioctl(vm->vcpus[i].fd, KVM_GET_ONE_REG, &one) == 0)
				fprintf(out, " %s=0x%llx", regs[r].name, (unsigned long long)v);
		}
		fputc('\n', out);
	}
	fflush(out);
	if (paused && !was_paused)
		vm_resume(vm);
}
