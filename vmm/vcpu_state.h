/*
 * A vCPU's architectural state as KVM exposes it: every register
 * KVM_GET_REG_LIST lists (any size) and the power state (mp_state).
 *
 * Only while the vCPU is out of KVM_RUN (a paused VM, or one that has not
 * run yet); the caller guarantees it. Errors: -errno with err naming the
 * vCPU and, for a refused register, err->reg.
 */
#ifndef PINVM_VMM_VCPU_STATE_H
#define PINVM_VMM_VCPU_STATE_H

#include "accept_rule.h"
#include "restore_rule.h"
#include "vm_state.h"
#include "vmm_error.h"

#include <stdbool.h>
#include <stdint.h>

/* Fills *out (zeroed first; the caller frees it with its vm_state). */
int vcpu_state_save(int fd, unsigned index, struct vm_state_vcpu *out,
		    struct vmm_error *err);

/*
 * Called for each register the target refuses; return false to stop (the
 * callback keeps what it needs to say why). errnum is positive; offered
 * is what the target holds now (valid when have_offered).
 */
typedef bool (*vcpu_state_refused_fn)(void *opaque, unsigned index, uint64_t id,
				      int errnum, const uint8_t *wanted,
				      const uint8_t *offered, bool have_offered);

/*
 * Writes every saved register in ascending id order, except the counters
 * (vm_time.c sets the time); not the mp_state. Every refusal goes to
 * on_refused (required); 0, or -EINVAL once on_refused said stop.
 */
int vcpu_state_restore_regs(int fd, unsigned index, const struct vm_state_vcpu *v,
			    vcpu_state_refused_fn on_refused, void *opaque);

/*
 * A register the snapshot has and this host's KVM does not list, that the
 * guest cannot have depended on (features: the vCPU's init features):
 * PMU registers without a PMU, a disabled physical timer, TCR2_EL1 /
 * PIRE0_EL1 / PIR_EL1 still at reset, a firmware service bitmap at 0,
 * OSLSR_EL1 unlocked (0x8, what kernels that do not list it answer).
 * Restore skips those.
 */
bool vcpu_state_absent_tolerated(uint64_t features, const struct vm_state_vcpu *v,
				 uint64_t id, const uint8_t *value);

/*
 * The rule of api/accept_rule.h that covers register id of a vCPU with
 * init features `features` (listed: this host lists it; offered: its
 * value here), or 0.
 */
unsigned vcpu_state_accept_rule(uint64_t features, uint64_t id, const uint8_t *wanted,
				const uint8_t *offered, bool listed);

/*
 * The restore of one vCPU's registers: those this host does not list are
 * skipped when tolerated or covered by a rule in accept (api/accept_rule.h),
 * else refused (-ENOENT, err->reg); the rest are written, and a value KVM
 * refuses fails the call (err->reg; the detail starts with the rule)
 * unless a rule in accept covers it: then this host's value stays.
 */
int vcpu_state_restore(int fd, unsigned index, uint64_t features, unsigned accept,
		       const struct vm_state_vcpu *v, struct vmm_error *err);

/*
 * Called for each register the target lists (ids) and the snapshot (v)
 * lacks, with its rule (api/restore_rule.h), the value it holds after
 * reset, and errnum > 0 when the rule wanted 0 written and KVM refused.
 */
typedef void (*vcpu_state_extra_fn)(void *opaque, uint64_t id, enum restore_extra rule,
				    uint64_t reset, int errnum);

/*
 * Applies restore_extra_rule() to every register ids (ascending, n)
 * lists and v lacks: an ID register the guest read as 0 is written 0.
 * Without on_extra a 0 KVM refuses fails the call (-errno, err->reg,
 * "id_register_differs"); with it every register is reported there and
 * the call returns 0.
 */
int vcpu_state_restore_extra(int fd, unsigned index, const uint64_t *ids, size_t n,
			     const struct vm_state_vcpu *v, vcpu_state_extra_fn on_extra,
			     void *opaque, struct vmm_error *err);

/* Registers the target lists: a malloc'd ascending array (caller frees). */
int vcpu_state_reg_list(int fd, uint64_t **ids, size_t *n, struct vmm_error *err);

int vcpu_state_set_mp(int fd, unsigned index, uint32_t mp_state,
		      struct vmm_error *err);

/* True for the registers the generic loop must not write (the counters). */
bool vcpu_state_is_counter(uint64_t id);

#endif
