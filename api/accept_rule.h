/*
 * Differences in a moved guest's vCPU state that a caller may accept by
 * name (issue 11: a guest moved 6.12 -> 5.10 -> 6.12). Pure: no KVM, no
 * I/O, unit-tested natively. pinvm-vmm applies the same verdicts in the
 * restore dry run (vm_restore_check.c) and in the restore (vcpu_state.c,
 * vm_snapshot.c), so what pinvmd reports is what the guest gets.
 *
 * By default a restore or migration gives the guest exactly the state it
 * had, or is refused (409 naming register and rule). Between kernels that
 * are years apart that is impossible for a few registers no userspace
 * can write on one of the kernels (measured, docs/snapshot-design.md
 * section 10: 6.12 shows ID_AA64MMFR1_EL1.HCX=1 and will not take 0, 5.10
 * shows 0 and takes nothing else). Each such difference has a rule of its
 * own, narrow enough that the guest cannot depend on what changes:
 *
 *  - cache_geometry_differs: CLIDR_EL1 and the CCSIDR_EL1 values
 *    (KVM_REG_ARM_DEMUX): the cache levels and sets reported for set/way
 *    maintenance, which the architecture says not to use for coherency
 *    (a guest at EL1 under KVM cannot rely on set/way: KVM traps it);
 *  - el2_feature_differs: ID_AA64MMFR1_EL1 fields that describe EL2 and
 *    only EL2 (VMIDBits, VH, XNX: stage 2; HCX: HCRX_EL2): a guest
 *    without nested virtualisation (pinvm never gives one) runs at EL1
 *    and cannot use them. 6.12 shows the host's HCX and will not take
 *    another (writable from 6.18); 5.10 shows 0;
 *  - pmu_id_differs: the PMU version fields (ID_DFR0_EL1.PerfMon,
 *    ID_AA64DFR0_EL1.PMUVer) of a vCPU created without a PMU: 5.10 shows
 *    PMUv3p1 with registers that read as zero and ignore writes, 6.x
 *    shows none and makes them UNDEF. Without a PMU pinvm's device tree
 *    has no PMU node, so no driver in the guest uses one either way;
 *  - vgic_revision_differs: the GICD_IIDR implementation revision alone
 *    (2 on 5.10, 3 on 6.x, the same implementer and product): besides the
 *    field itself, revision 3 adds only GICR_CTLR.{IR,CES}, which are
 *    about LPIs, and pinvm's vGIC has no ITS, so a guest has no LPI;
 *  - workaround_level_differs: an SMCCC_ARCH_WORKAROUND_n level the
 *    target would answer above the one the guest was told (5.10 answers
 *    WORKAROUND_3 "not required" where 6.x answers "not available"). KVM
 *    stores no level: a guest is always answered its host's, so no pin
 *    can hold it. A guest asks at boot and acts on that answer; only a
 *    guest that asks again sees the new one. Only upwards: a target
 *    below the guest's level stays workaround_level_above_host, never
 *    acceptable (KVM will not take the guest's level, and a guest told
 *    "not required" would not protect itself where it must). Judged by
 *    pinvmd (api/wa_levels.h), not pinvm-vmm: a restore never replays
 *    these registers.
 *
 * Anything else that differs (another field of an ID register, a
 * register the target does not list, a value KVM refuses for another
 * reason) keeps its plain rule (id_register_differs,
 * register_absent_on_target, register_refused, vgic_incompatible) and is
 * never acceptable. With a rule accepted, the target's own value stays
 * and is reported as "accepted" (register, rule, wanted, kept).
 *
 * Thread-safe: no state.
 */
#ifndef PINVM_API_ACCEPT_RULE_H
#define PINVM_API_ACCEPT_RULE_H

#include "api_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum accept_rule {
	ACCEPT_CACHE_GEOMETRY = 1u << 0,
	ACCEPT_EL2_FEATURES = 1u << 1,
	ACCEPT_PMU_ID = 1u << 2,
	ACCEPT_VGIC_REVISION = 1u << 3,
	ACCEPT_WA_LEVEL = 1u << 4,
};
#define ACCEPT_RULES_ALL 0x1fu

/* CLIDR_EL1 or a CCSIDR_EL1 value (KVM_REG_ARM_DEMUX_ID_CCSIDR). */
bool accept_reg_is_cache_geometry(uint64_t id);

/*
 * The rule that covers vCPU register id when the target refuses the
 * saved value `wanted` while holding `offered` (listed: the target lists
 * id; when it does not, offered is meaningless). has_pmu: the vCPU was
 * created with a PMU. 0 when no rule covers it: a plain refusal.
 */
unsigned accept_rule_for_reg(uint64_t id, uint64_t wanted, uint64_t offered, bool listed,
			     bool has_pmu);

/* The rule for a GICD_IIDR the target refuses (wanted) while holding offered. */
unsigned accept_rule_for_gic_iidr(uint32_t wanted, uint32_t offered);

/*
 * The rule a refusal of vCPU register id is reported under, in the dry
 * run and the restore alike: the name of rule (accept_rule_for_reg()'s
 * answer) when one covers it, else register_absent_on_target (the target
 * does not list it), id_register_differs (an ID register),
 * sve_lengths_differ (the SVE vector lengths, RESTORE_REG_SVE_VLS) or
 * register_refused.
 */
const char *accept_refusal_rule(uint64_t id, unsigned rule, bool listed);

/* "cache_geometry_differs", ...; NULL for anything but one rule bit. */
const char *accept_rule_name(unsigned rule);

/*
 * Parses "accept": an array of rule names, no duplicates (absent or NULL:
 * 0). 0, or -EINVAL with err: 400 wrong_type (field, or "field[i]" for a
 * member that is not a string), 422 unknown_rule "field[i]" naming the
 * known ones, 422 duplicate_rule "field[i]".
 */
int accept_rules_parse(const json_t *arr, const char *field, unsigned *mask,
		       struct api_error *err);

/* The names of mask's rules, in bit order (a new reference), or NULL
 * without memory. */
json_t *accept_rules_to_json(unsigned mask);

#endif
