/*
 * The vGIC's state through its KVM device attributes. A GICv3
 * (vgic-v3.rst): distributor, one redistributor and one CPU interface per
 * vCPU, and the line levels of level-triggered interrupts, which the
 * pending registers do not show through this interface. A GICv2
 * (vgic-v2.rst): distributor (banked per vCPU for SGIs and PPIs, pending
 * SGIs by source) and one CPU interface per vCPU; v2 has no line levels.
 *
 * Saved as an ordered list of accesses (struct vm_state_gic_reg) in the
 * order a restore must replay them: IIDR first, GICD_CTLR, each
 * redistributor (config before pending), the distributor (routing and
 * config before pending), then each CPU interface (AP0R before AP1R);
 * for v2: IIDR, GICD_CTLR, each vCPU's banked registers, the SPIs
 * (targets and config before enable and pending), the CPU interfaces.
 * An enable bitmap is preceded by its clear-enable complement, since a
 * fresh vGIC starts with the SGIs enabled.
 *
 * Only while no vCPU runs (KVM answers EBUSY otherwise). Restore after
 * KVM_DEV_ARM_VGIC_CTRL_INIT, into a vGIC of the same version.
 */
#ifndef PINVM_VMM_GIC_STATE_H
#define PINVM_VMM_GIC_STATE_H

#include "vm_state.h"
#include "vmm_error.h"

#include <stdbool.h>
#include <stdint.h>

/* v2: the vGIC is a GICv2; else mpidrs[i] is MPIDR_EL1 of vCPU i (vcpu.c
 * reads it; a GICv3 names a vCPU by its affinity). Fills st->gic_*. */
int gic_state_save(int gic_fd, bool v2, const uint64_t *mpidrs, unsigned nr_vcpus,
		   unsigned nr_irqs, struct vm_state *st, struct vmm_error *err);

/* Replays st->gic_regs in order; the first refusal (a GICD_IIDR that
 * reads back otherwise included) fails, naming it, unless it is a
 * GICD_IIDR that a rule in accept covers (api/accept_rule.h): then this
 * host's IIDR stays. */
int gic_state_restore(int gic_fd, const struct vm_state *st, unsigned accept,
		      struct vmm_error *err);

/* The vGIC's GICD_IIDR here, or 0 when KVM will not say. */
uint32_t gic_state_iidr(int gic_fd);

/* Whether st->gic_regs[index] is the GICD_IIDR. */
bool gic_state_is_iidr(const struct vm_state *st, size_t index);

/* The dry run: replays them all, calling on_refused(opaque, index, errno)
 * for each one KVM refuses; errno 0 for a GICD_IIDR KVM answered 0 to but
 * did not take (6.12 keeps its own revision). */
void gic_state_try(int gic_fd, const struct vm_state *st,
		   void (*on_refused)(void *opaque, size_t index, int errnum),
		   void *opaque);

#endif
