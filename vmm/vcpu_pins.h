/*
 * Pinning firmware pseudo-registers on a vCPU: after KVM_ARM_VCPU_INIT and
 * before its first KVM_RUN.
 */
#ifndef PINVM_VMM_VCPU_PINS_H
#define PINVM_VMM_VCPU_PINS_H

#include "fw_pin.h"
#include "id_regs.h"

#include <stddef.h>

/*
 * Writes every pin (borrowed) with KVM_SET_ONE_REG, then reads each back
 * into readback[i] (the caller's array of npins: the same id, the value
 * KVM_GET_ONE_REG returned). Returns 0 when KVM accepted every write, else
 * the negative errno of the first refused write (or read) with *failed set
 * to its index. Comparing readbacks is the caller's job: for registers KVM
 * only validates (the workaround levels) a different readback is expected.
 */
int vcpu_apply_pins(int vcpu_fd, const struct fw_pin *pins, size_t npins,
		    struct fw_pin *readback, size_t *failed);

/*
 * Writes the ID register fields of pins[0..n) (borrowed) over the vCPU's
 * values where they differ, then reads each register back. Returns 0
 * when every register shows its pinned fields; else the negative errno
 * of the first refused access, or -EPERM when a register read back
 * without its pinned fields (KVM took another value), with *failed its
 * index and *got what it read back.
 */
int vcpu_apply_id_pins(int vcpu_fd, const struct id_pin *pins, size_t n, size_t *failed,
		       uint64_t *got);

#endif
