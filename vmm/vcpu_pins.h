/*
 * Pinning firmware pseudo-registers on a vCPU: after KVM_ARM_VCPU_INIT and
 * before its first KVM_RUN.
 */
#ifndef PINVM_VMM_VCPU_PINS_H
#define PINVM_VMM_VCPU_PINS_H

#include <stddef.h>
#include <stdint.h>

struct vmm_pin {
	uint64_t id;       /* KVM register id */
	uint64_t value;    /* what to write */
	uint64_t readback; /* filled: what KVM_GET_ONE_REG returned after */
};

/*
 * Writes every pin with KVM_SET_ONE_REG, then reads each back into
 * pin->readback. Returns 0 when KVM accepted every write, else the negative
 * errno of the first refused write (or read) with *failed set to its index.
 * Comparing readbacks is the caller's job: for registers KVM only validates
 * (the workaround levels) a different readback is expected.
 */
int vcpu_apply_pins(int vcpu_fd, struct vmm_pin *pins, size_t npins,
		    size_t *failed);

#endif
