/*
 * What a restore does with a register the target's KVM lists and the
 * snapshot does not have (issue 10, "registers B lists that A did not"),
 * decided from the register's id alone: pure, no KVM, unit-tested
 * natively. pinvm-vmm applies it in the dry run (vm_restore_check.c) and
 * in the restore itself (vcpu_state.c), so the verdict and the restored
 * VM agree.
 *
 * The rule (docs/snapshot-design.md section 6, "Registers the target
 * lists and the snapshot lacks"):
 *  - firmware registers (coprocessor 0x14, 0x16) are not judged here:
 *    pinvmd judges them by the profile rules (a service bitmap the
 *    source lacked is written 0, api/compat.c);
 *  - an ID register (op0=3, op1=0, CRn=0, CRm=0..7) the source did not
 *    list gave the guest nothing there: KVM lists the ID space it
 *    emulates, so an unlisted encoding read as 0 (or did not exist at
 *    all). The guest caches its feature registers at boot and keeps
 *    believing them, so it must read 0 on the target too: left alone when the target's reset value is 0, written
 *    0 when it is not (6.7+ takes writes within its writable masks), and
 *    the restore is refused (id_register_differs) when KVM will not take
 *    the 0;
 *  - everything else is left at KVM's reset value and reported: the
 *    guest never used it on the source (a feature register said the
 *    feature was absent, or it is time state pinvm rebuilds).
 */
#ifndef PINVM_API_RESTORE_RULE_H
#define PINVM_API_RESTORE_RULE_H

#include <stdbool.h>
#include <stdint.h>

enum restore_extra {
	RESTORE_EXTRA_FIRMWARE,     /* not judged here (api/compat.c) */
	RESTORE_EXTRA_LEFT_AT_RESET, /* reported; the reset value stays */
	RESTORE_EXTRA_WRITE_ZERO,   /* an ID register the guest read as 0 */
};

/* Firmware pseudo-registers: KVM_REG_ARM_FW (0x14), KVM_REG_ARM_FW_FEAT_BMAP (0x16). */
bool restore_reg_is_firmware(uint64_t id);

/*
 * SMCCC_ARCH_WORKAROUND_1/2/3 (0x14, 1..3): KVM stores nothing for them.
 * A read gives the host's level, a write only checks it against the
 * host's, and the guest is always answered the host's level
 * (arch/arm64/kvm/hypercalls.c). So a saved value describes the source
 * host, not the VM: a restore does not replay it (the target would
 * refuse a higher level), and pinvmd judges the levels by the profile
 * rules before anything is created.
 */
bool restore_reg_is_host_level(uint64_t id);

/* The feature ID registers: 64-bit sysregs op0=3, op1=0, CRn=0, CRm=0..7. */
bool restore_reg_is_id(uint64_t id);

/*
 * KVM_REG_ARM64_SVE_VLS: the SVE vector lengths a vCPU offers its guest,
 * written before KVM_ARM_VCPU_FINALIZE and never after. A restore makes
 * the vCPU with the saved ones (capped at the longest) and compares.
 */
#define RESTORE_REG_SVE_VLS 0x606000000015ffffULL

/*
 * The rule above for register id, which the target lists and the
 * snapshot lacks, whose value on the target after KVM_ARM_VCPU_INIT is
 * reset. WRITE_ZERO only for an ID register whose reset value is not 0.
 */
enum restore_extra restore_extra_rule(uint64_t id, uint64_t reset);

/* The rule's name as verdicts report it: "firmware", "left_at_reset",
 * "id_register_raz". */
const char *restore_extra_name(enum restore_extra r);

#endif
