/*
 * The optional vCPU features of a VM (api/cpu_features.h) on KVM: PMUv3,
 * SVE and pointer authentication, each checked against KVM first.
 *
 * Order, as KVM requires (Documentation/virt/kvm/api.rst, devices/vcpu.rst):
 *   vcpu_features_check()      before the VM's vCPUs exist
 *   vcpu_features_init_bits()  into KVM_ARM_VCPU_INIT's features
 *   vcpu_features_finalize()   after each vCPU's KVM_ARM_VCPU_INIT: the SVE
 *                              vector lengths, then KVM_ARM_VCPU_FINALIZE
 *   vcpu_features_pmu()        after the vGIC's KVM_DEV_ARM_VGIC_CTRL_INIT:
 *                              the PMU's PPI and its init on every vCPU,
 *                              and the "arm,armv8-pmuv3" device-tree node
 *                              (a VM device, so the VM owns and frees it)
 * A guest reset initialises the vCPUs again with the same features; KVM
 * keeps the finalised SVE and the PMU across it, so none is redone.
 *
 * Errors: 0 or -errno with err filled (step "cpu_features"). Controlling
 * thread only.
 */
#ifndef PINVM_VMM_VCPU_FEATURES_H
#define PINVM_VMM_VCPU_FEATURES_H

#include "cpu_features.h"
#include "vm_state.h"
#include "vmm_error.h"

#include <linux/kvm.h>

struct vm;
struct vcpu;

/* The PMU overflow interrupt: PPI 7 (INTID 23), as QEMU's virt and kvmtool. */
#define VCPU_PMU_PPI 7u

int vcpu_features_check(int vm_fd, const struct cpu_features *f, struct vmm_error *err);
/*
 * The features a saved VM's vCPUs were made with: st->vcpu_features (the
 * KVM_ARM_VCPU_INIT bits), SVE capped at the longest length vCPU 0 had
 * (its KVM_REG_ARM64_SVE_VLS). A restored or migrated VM is made as its
 * source was, whatever its config says; whether this host gives the same
 * lengths is the restore's check (vcpu_state.c). Errors: step "vm.json".
 */
int vcpu_features_of_state(const struct vm_state *st, struct cpu_features *out,
			   struct vmm_error *err);
void vcpu_features_init_bits(const struct cpu_features *f, struct kvm_vcpu_init *init);
int vcpu_features_finalize(struct vcpu *v, const struct cpu_features *f,
			   struct vmm_error *err);
int vcpu_features_pmu(struct vm *vm, struct vmm_error *err);

#endif
