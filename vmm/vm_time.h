/*
 * Guest time across a snapshot, semantics "paused": the guest's virtual
 * counter goes on from the value it had when the VM was paused, so its
 * CLOCK_MONOTONIC shows no gap for the time the VM spent saved.
 *
 * The counter offset is per VM. Kernels with KVM_CAP_COUNTER_OFFSET (6.4+)
 * take it through KVM_ARM_SET_COUNTER_OFFSET; older ones through a write
 * of TIMER_CNT (which 6.4+ ignores once the offset ioctl was used).
 * Both only before any vCPU has run.
 */
#ifndef PINVM_VMM_VM_TIME_H
#define PINVM_VMM_VM_TIME_H

#include "vmm_error.h"

#include <stdbool.h>
#include <stdint.h>

/* The guest's virtual counter, read from a vCPU out of KVM_RUN. */
int vm_time_read(int vcpu_fd, uint64_t *cnt, struct vmm_error *err);

/* CNTFRQ_EL0 of this host (0 where there is none: not arm64). */
uint64_t vm_time_host_frequency(void);

/*
 * Sets the counter of every vCPU of the VM so that it reads cnt now.
 * *used_offset_ioctl says which mechanism it was. Before the first KVM_RUN.
 */
int vm_time_restore(int kvm_fd, int vm_fd, const int *vcpu_fds, unsigned n,
		    uint64_t cnt, bool *used_offset_ioctl, struct vmm_error *err);

#endif
