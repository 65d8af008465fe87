/*
 * The feature ID registers (op0=3, op1=0, CRn=0, CRm=1..7): what a guest
 * reads at boot to learn its CPU and keeps believing. They are part of
 * the ABI a guest sees, as the firmware registers are, and they differ
 * between kernels: measured in the lab, 6.1 shows a fresh vCPU
 * ID_AA64DFR0_EL1.DebugVer 6 where 5.10, 6.12 and latest show 9. From
 * Linux 6.7 KVM takes writes of them within per-register writable masks
 * (KVM_ARM_GET_REG_WRITABLE_MASKS), before the VM first runs; older
 * kernels take no write that changes a value.
 *
 * A host set says what a fresh vCPU made without optional features reads
 * and which bits KVM lets userspace write (struct id_regs); a profile pins
 * fields (struct id_pin), which pinvm-vmm writes at vCPU init and reads
 * back; a baseline pins each field its hosts disagree on at the lowest
 * value, where every host that shows more can be written down to it
 * (baseline.h).
 *
 * Fields are the architecture's 4-bit fields. A profile may pin any
 * field except those something else owns (id_reg_pinnable()):
 *  - CRm 0 (MIDR, MPIDR, REVIDR, ...) is not in the range at all: it
 *    identifies the CPU and the vCPU's affinity, it lists no features;
 *  - the PMU's version fields (ID_AA64DFR0_EL1.PMUVer, ID_DFR0_EL1.PerfMon),
 *    SVE's (ID_AA64PFR0_EL1.SVE, all of ID_AA64ZFR0_EL1) and pointer
 *    authentication's (ID_AA64ISAR1_EL1.APA/API/GPA/GPI,
 *    ID_AA64ISAR2_EL1.GPA3/APA3): a VM's cpu_features decide them, and a
 *    host set's values are a vCPU's without those features;
 *  - ID_AA64MMFR1_EL1's EL2-only fields: accept_rule.h's
 *    el2_feature_differs covers them when a guest moves.
 * Order: a field is "lower" when it offers less. Unsigned, except the
 * fields the architecture makes signed (0xf: not implemented, below 0):
 * ID_AA64PFR0_EL1.FP/AdvSIMD, ID_AA64MMFR0_EL1.TGran4/TGran64,
 * ID_AA64DFR0_EL1.DoubleLock; and ID_AA64MMFR0_EL1.TGran4_2/16_2/64_2
 * (0: "see TGranN", 1: none, 2: some) have no order: only equal values
 * agree. Most fields KVM makes writable are "lower is safe"; where KVM
 * refuses a lower value all the same, the write at vCPU init fails and
 * the VM is not created (the profile's verdict could not know).
 *
 * Thread-safe: no state. Plain data: no allocation, copy by assignment.
 */
#ifndef PINVM_API_ID_REGS_H
#define PINVM_API_ID_REGS_H

#include "api_error.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRm 1..7 x op2 0..7 */
#define ID_REGS_MAX 56

/* KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG, op0=3 op1=0 CRn=0. */
#define ID_REG_ID(crm, op2) (0x603000000013c000ULL | ((uint64_t)(crm) << 3) | (uint64_t)(op2))

#define ID_DFR0_EL1 ID_REG_ID(1, 2)
#define ID_AA64PFR0_EL1 ID_REG_ID(4, 0)
#define ID_AA64ZFR0_EL1 ID_REG_ID(4, 4)
#define ID_AA64DFR0_EL1 ID_REG_ID(5, 0)
#define ID_AA64ISAR1_EL1 ID_REG_ID(6, 1)
#define ID_AA64ISAR2_EL1 ID_REG_ID(6, 2)
#define ID_AA64MMFR0_EL1 ID_REG_ID(7, 0)
#define ID_AA64MMFR1_EL1 ID_REG_ID(7, 1)

/* ID_AA64MMFR1_EL1: VMIDBits [7:4], VH [11:8], XNX [31:28], HCX [43:40].
 * Not TWED: it also adds SCTLR_EL1.TWEDEn, an EL1 control. */
#define ID_MMFR1_EL2_ONLY 0x00000f00f0000ff0ULL
#define ID_DFR0_PERFMON 0x0f000000ULL /* ID_DFR0_EL1 [27:24] */
#define ID_AA64DFR0_PMUVER 0x0f00ULL  /* ID_AA64DFR0_EL1 [11:8] */

/* Whether id is a 64-bit system register in the range above. */
bool id_reg_is_feature(uint64_t id);

/*
 * The register's architectural name ("ID_AA64DFR0_EL1"), or for an
 * encoding without one the assembler's generic form ("S3_0_C0_C3_3"),
 * into buf (size >= 24). id must satisfy id_reg_is_feature().
 */
const char *id_reg_name(uint64_t id, char *buf, size_t size);

/* The id of a name id_reg_name() gives; 0 or -ENOENT. */
int id_reg_lookup(const char *name, uint64_t *id);

/* The fields of register id a profile may pin (see above); 0 for ids
 * outside the range. */
uint64_t id_reg_pinnable(uint64_t id);

/*
 * The 4-bit field at bit `shift` of register id in a and b compared by
 * the field's order: < 0 when a's offers less, 0 when equal, > 0 when
 * more. *ordered is set false for a field without an order (then only 0
 * means anything).
 */
int id_field_cmp(uint64_t id, unsigned shift, uint64_t a, uint64_t b, bool *ordered);

/* One host's register: a fresh vCPU's value and the bits KVM takes. */
struct id_reg {
	uint64_t id;
	uint64_t value;
	uint64_t writable; /* KVM_ARM_GET_REG_WRITABLE_MASKS; 0 before 6.7 */
};

/*
 * A host set's "id_registers":
 *   {"writable_masks": true,   false: the kernel has no masks to tell (before
 *                              Linux 6.7), so every "writable" is 0x0
 *    "registers": [{"id": "0x603000000013c028", "name": "ID_AA64DFR0_EL1",
 *                   "value": "0x...", "writable": "0x..."}, ...]}  by id
 * "name" is optional (checked when given). known false: the set does not
 * say (a set saved before pinvm recorded them).
 */
struct id_regs {
	bool known;
	bool masks_known;
	size_t n;
	struct id_reg regs[ID_REGS_MAX]; /* sorted by id, unique */
};

/*
 * Parses that object (v borrowed; NULL: known false) into *out. field is
 * v's path for errors:
 *   400 wrong_type        <field>, .writable_masks, .registers, an entry
 *   422 unknown_field     <field>.<key>, <field>.registers[i].<key>
 *   422 missing_field     writable_masks, registers, an entry's id/value
 *   422 bad_hex           an id, value or writable
 *   422 not_id_register   an id outside the range
 *   422 name_mismatch     a name that is not the id's
 *   422 duplicate_register, too_many_registers
 *   422 bad_value         a writable mask while writable_masks is false
 * 0 or -EINVAL.
 */
int id_regs_from_json(const json_t *v, const char *field, struct id_regs *out,
		      struct api_error *err);

/* The object above (new reference; NULL when out of memory). */
json_t *id_regs_to_json(const struct id_regs *r);

/*
 * Builds *out from KVM reads (arrays borrowed, n entries in any order):
 * ids outside the range are skipped. Errors: 422 duplicate_register,
 * too_many_registers; -EINVAL.
 */
int id_regs_init(struct id_regs *out, const uint64_t *ids, const uint64_t *values,
		 const uint64_t *writable, size_t n, bool masks_known, struct api_error *err);

/* The register, or NULL. */
const struct id_reg *id_regs_find(const struct id_regs *r, uint64_t id);

bool id_regs_equal(const struct id_regs *a, const struct id_regs *b);

/*
 * A profile's pin: the guest sees value in the bits of mask (whole
 * pinnable fields; value has no bit outside mask). Document form, in a
 * profile's "id_registers" array sorted by id:
 *   {"id": "0x603000000013c028" or "name": "ID_AA64DFR0_EL1" (one or both,
 *    agreeing), "mask": "0xf", "value": "0x6"}
 */
struct id_pin {
	uint64_t id;
	uint64_t mask;
	uint64_t value;
};

/*
 * Parses a profile's "id_registers" (v borrowed, an array) into out
 * (ID_REGS_MAX entries), sorted by id; *n their count. Errors, field
 * "<field>[i]...":
 *   400 wrong_type        not an array, an entry not an object
 *   422 unknown_field, missing_field (id or name; mask; value), bad_hex
 *   422 unknown_register  a name that is no ID register's
 *   422 not_id_register   an id outside the range
 *   422 name_mismatch     id and name that disagree
 *   422 bad_mask          mask 0, not whole 4-bit fields, or a field no
 *                         profile may pin (id_reg_pinnable(); detail says
 *                         which)
 *   422 bad_value         value with bits outside mask
 *   422 duplicate_register, too_many_registers
 * 0 or -EINVAL.
 */
int id_pins_from_json(const json_t *v, const char *field, struct id_pin *out, size_t *n,
		      struct api_error *err);

/* The canonical array (with names; new reference, NULL when out of memory). */
json_t *id_pins_to_json(const struct id_pin *pins, size_t n);

enum id_pin_verdict {
	ID_PIN_SAME,    /* the host's vCPU shows the pinned fields already */
	ID_PIN_WRITE,   /* lower on the host's, in bits KVM takes: written */
	ID_PIN_REFUSED, /* the host cannot show it (reason says why) */
};

/*
 * Pin p on a host whose register is host (NULL: the host does not list
 * it, refused). reason (size bytes) says why, naming the first field
 * that decides, as "ID_AA64DFR0_EL1[3:0]".
 */
enum id_pin_verdict id_pin_judge(const struct id_pin *p, const struct id_reg *host,
				 char *reason, size_t size);

/* The register's value after pin p is written over value. */
static inline uint64_t id_pin_apply(const struct id_pin *p, uint64_t value)
{
	return (value & ~p->mask) | p->value;
}

#endif
