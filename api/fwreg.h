/*
 * KVM/arm64 firmware pseudo-registers: catalogue, JSON decoding and the
 * rules KVM_SET_ONE_REG applies to them.
 *
 * Pure code: no I/O, no KVM, no global state beyond constant tables, so it
 * builds and is tested on any host. Every rule below is a model of the
 * kernel; the file each rule comes from is named next to it (paths are in
 * the Linux tree):
 *
 *   arch/arm64/include/uapi/asm/kvm.h   ids, levels, bit numbers
 *   arch/arm64/kvm/hypercalls.c         kvm_arm_get_fw_reg(), kvm_arm_set_fw_reg(),
 *                                       kvm_arm_set_fw_reg_bmap(), get_kernel_wa_level(),
 *                                       kvm_arm_init_hypercalls()
 *   include/kvm/arm_psci.h              KVM_ARM_PSCI_*, KVM_ARM_PSCI_LATEST
 *   arch/arm64/kvm/guest.c              kvm_arm_set_reg() dispatch
 *   arch/arm64/kvm/arm.c                ENOEXEC before KVM_ARM_VCPU_INIT
 *   Documentation/virt/kvm/arm/fw-pseudo-registers.rst
 *
 * Ownership follows jansson: functions returning json_t * return a new
 * reference the caller must json_decref(); descriptors returned by the
 * lookups point into static tables and are never freed.
 */
#ifndef PINVM_API_FWREG_H
#define PINVM_API_FWREG_H

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Register ids (arch/arm64/include/uapi/asm/kvm.h) ------------------ */

/* KVM_REG_ARM64 | KVM_REG_SIZE_U64 */
#define FWREG_ID_BASE UINT64_C(0x6030000000000000)
#define FWREG_COPROC_FW 0x14u      /* KVM_REG_ARM_FW */
#define FWREG_COPROC_FEAT_BMAP 0x16u /* KVM_REG_ARM_FW_FEAT_BMAP */
#define FWREG_ID(coproc, index) \
	(FWREG_ID_BASE | ((uint64_t)(coproc) << 16) | (uint64_t)(index))

#define FWREG_ID_PSCI_VERSION FWREG_ID(FWREG_COPROC_FW, 0)
#define FWREG_ID_WORKAROUND_1 FWREG_ID(FWREG_COPROC_FW, 1)
#define FWREG_ID_WORKAROUND_2 FWREG_ID(FWREG_COPROC_FW, 2)
#define FWREG_ID_WORKAROUND_3 FWREG_ID(FWREG_COPROC_FW, 3)
#define FWREG_ID_STD_BMAP FWREG_ID(FWREG_COPROC_FEAT_BMAP, 0)
#define FWREG_ID_STD_HYP_BMAP FWREG_ID(FWREG_COPROC_FEAT_BMAP, 1)
#define FWREG_ID_VENDOR_HYP_BMAP FWREG_ID(FWREG_COPROC_FEAT_BMAP, 2)
#define FWREG_ID_VENDOR_HYP_BMAP_2 FWREG_ID(FWREG_COPROC_FEAT_BMAP, 3)

/* ---- Values ------------------------------------------------------------ */

/* PSCI_VERSION encoding: major in bits 31:16, minor in 15:0. */
#define FWREG_PSCI(major, minor) \
	(((uint64_t)(major) << 16) | (uint64_t)(minor))

/* SMCCC_ARCH_WORKAROUND_1 and _3 levels; higher means better protected. */
#define FWREG_WA_NOT_AVAIL 0u
#define FWREG_WA_AVAIL 1u
#define FWREG_WA_NOT_REQUIRED 2u
/* SMCCC_ARCH_WORKAROUND_2 levels and its ENABLED flag. */
#define FWREG_WA2_NOT_AVAIL 0u
#define FWREG_WA2_UNKNOWN 1u
#define FWREG_WA2_AVAIL 2u
#define FWREG_WA2_NOT_REQUIRED 3u
#define FWREG_WA2_ENABLED (1u << 4)
/* KVM_REG_FEATURE_LEVEL_MASK (hypercalls.c) */
#define FWREG_WA_LEVEL_MASK 0xfu

/* A kernel release as one comparable number: FWREG_KV(6, 15). */
#define FWREG_KV(major, minor) (((unsigned)(major) << 8) | (unsigned)(minor))

/* ---- Catalogue ----------------------------------------------------------- */

enum fwreg_kind {
	FWREG_KIND_PSCI_VERSION, /* PSCI version the guest is told */
	FWREG_KIND_WORKAROUND,   /* WORKAROUND_1/_3 level */
	FWREG_KIND_WORKAROUND_2, /* WORKAROUND_2 level + ENABLED flag */
	FWREG_KIND_BITMAP,       /* one bit per hypercall service */
};

enum fwreg_scope {
	/* One value per VM (struct kvm), whichever vCPU reads or writes it. */
	FWREG_SCOPE_VM,
	/*
	 * Nothing is stored: every vCPU reads the level KVM derives from the
	 * host's mitigation state (for WORKAROUND_2 since Linux 6.12 also
	 * from whether the VM's ID_AA64PFR1_EL1 shows SSBS).
	 */
	FWREG_SCOPE_HOST,
};

/* One service bit of a bitmap register. */
struct fwreg_bit {
	unsigned bit;            /* bit number */
	const char *name;        /* short stable name: "TRNG" */
	const char *kernel_name; /* "KVM_REG_ARM_STD_BIT_TRNG_V1_0" */
	const char *since;       /* first mainline release: "5.19" */
	unsigned since_kv;       /* the same as FWREG_KV() */
	const char *meaning;     /* the calls it gates, one line */
};

struct fwreg_desc {
	uint64_t id;
	const char *name;        /* short stable name: "PSCI_VERSION" */
	const char *kernel_name; /* "KVM_REG_ARM_PSCI_VERSION" */
	enum fwreg_kind kind;
	enum fwreg_scope scope;
	/*
	 * true: KVM keeps the written value and the guest sees it.
	 * false: KVM only validates the write; the guest keeps seeing the
	 * level derived from the host (fwreg_guest_value()).
	 */
	bool stores;
	const char *since;       /* first mainline release with the register */
	unsigned since_kv;       /* the same as FWREG_KV() */
	const char *since_note;  /* backports and later changes, or NULL */
	const char *meaning;     /* one line for humans */
	/* Bitmaps only (NULL / 0 otherwise). */
	const struct fwreg_bit *bits;
	size_t nbits;
	uint64_t bits_mask;      /* OR of every catalogued bit */
	/*
	 * Bitmaps only: true when the kernel resets the register to every bit
	 * it knows (so a fresh VM's value is the host's full set), false when
	 * it resets to 0 (VENDOR_HYP_BMAP_2: the host's value then says
	 * nothing about which bits it accepts).
	 */
	bool reset_is_all_known;
};

/* Number of catalogued registers; fwreg_at(i) for i < count, else NULL. */
size_t fwreg_count(void);
const struct fwreg_desc *fwreg_at(size_t i);

/*
 * True for a 64-bit arm64 register id in coprocessor 0x14 or 0x16, known or
 * not: the ids KVM routes to its firmware-register code (guest.c), i.e.
 * arch KVM_REG_ARM64, nothing else in bits 32-51, size U64.
 */
bool fwreg_id_is_firmware(uint64_t id);

/* The catalogue entry, or NULL when unknown. Never fails otherwise. */
const struct fwreg_desc *fwreg_lookup_id(uint64_t id);
/* By short name ("STD_BMAP"), exact and case-sensitive; NULL when unknown
 * or name is NULL. */
const struct fwreg_desc *fwreg_lookup_name(const char *name);
/* The catalogued bit of a bitmap register, or NULL. */
const struct fwreg_bit *fwreg_bit_lookup(const struct fwreg_desc *d,
					 unsigned bit);

/* A PSCI version KVM has implemented (include/kvm/arm_psci.h). */
struct fwreg_psci_version {
	uint64_t value;     /* FWREG_PSCI(major, minor) */
	const char *name;   /* "1.1" */
	const char *since;  /* first mainline release whose KVM offers it */
	const char *adds;   /* what a guest gains over the previous version */
};
/* The catalogued version, or NULL for one no KVM implements. */
const struct fwreg_psci_version *fwreg_psci_version_lookup(uint64_t value);
/* The i-th catalogued version, oldest first; NULL past the last. */
const struct fwreg_psci_version *fwreg_psci_version_at(size_t i);

/* ---- Formatting and decoding ---------------------------------------------- */

/* "0x" + lowercase hex without leading zeros: "0x0", "0x10001". */
void fwreg_format_hex(char out[19], uint64_t v);

/*
 * The "decoded" object for one value (new reference; NULL only when an
 * allocation fails):
 *   PSCI_VERSION   {"version": "1.1"}
 *   WORKAROUND_1/3 {"level": "NOT_AVAIL"|"AVAIL"|"NOT_REQUIRED"}; a value
 *                  that is none of them: {"level": null, "unknown_bits": v}
 *   WORKAROUND_2   {"level": "NOT_AVAIL"|"UNKNOWN"|"AVAIL"|"NOT_REQUIRED"
 *                  (null for levels 4-15), "enabled": bool}, plus
 *                  "unknown_bits" when bits outside 0x1f or an undefined
 *                  level are set
 *   bitmaps        {"<BIT NAME>": bool, ..., "unknown_bits": "0x.."}
 *                  (unknown_bits always present, "0x0" when none)
 * JSON null for a register not in the catalogue.
 */
json_t *fwreg_decode(uint64_t id, uint64_t value);

/*
 * {"id": "0x...", "name": "..."|null, "value": "0x...", "decoded": ...}
 * (new reference; NULL only when an allocation fails).
 */
json_t *fwreg_entry_json(uint64_t id, uint64_t value);

/* ---- Write rules (KVM_SET_ONE_REG, hypercalls.c kvm_arm_set_fw_reg) ------- */

/* Stable rule codes; fwreg_rule_code() gives the string. */
enum fwreg_rule {
	FWREG_RULE_OK,                        /* "ok" */
	FWREG_RULE_BAD_CALL,                  /* "bad_call": NULL host or vm (-EFAULT) */
	FWREG_RULE_VCPU_NOT_INITIALIZED,      /* "vcpu_not_initialized" (-ENOEXEC) */
	FWREG_RULE_REGISTER_UNKNOWN,          /* "register_unknown" (-ENOENT) */
	FWREG_RULE_REGISTER_ABSENT,           /* "register_absent_on_host" (-ENOENT) */
	FWREG_RULE_PSCI_UNSUPPORTED,          /* "psci_version_unsupported" (-EINVAL) */
	FWREG_RULE_PSCI_0_1_WITH_0_2,         /* "psci_0_1_with_psci_0_2" (-EINVAL) */
	FWREG_RULE_PSCI_NEEDS_0_2,            /* "psci_version_needs_psci_0_2" (-EINVAL) */
	FWREG_RULE_PSCI_PROTECTED_VM,         /* "psci_version_protected_vm" (-EINVAL) */
	FWREG_RULE_BAD_VALUE_BITS,            /* "bad_value_bits" (-EINVAL) */
	FWREG_RULE_WA_LEVEL_UNDEFINED,        /* "workaround_level_undefined" (-EINVAL) */
	FWREG_RULE_WA2_ENABLED_NEEDS_AVAIL,   /* "workaround_2_enabled_needs_avail" (-EINVAL) */
	FWREG_RULE_WA_LEVEL_ABOVE_HOST,       /* "workaround_level_above_host" (-EINVAL) */
	FWREG_RULE_BITMAP_BITS_OUTSIDE_HOST,  /* "bitmap_bits_outside_host" (-EINVAL) */
	FWREG_RULE_BUSY_AFTER_RUN,            /* "busy_after_run" (-EBUSY) */
};
const char *fwreg_rule_code(enum fwreg_rule rule);

/*
 * What the host offers for one register, read from a scratch VM whose
 * vCPU was initialised with KVM_ARM_VCPU_PSCI_0_2 and, for WORKAROUND_2,
 * the same ID_AA64PFR1_EL1.SSBS as the target VM.
 */
struct fwreg_host {
	bool present;        /* KVM_GET_REG_LIST lists the register */
	uint64_t value;      /* KVM_GET_ONE_REG on that fresh vCPU: for
			      * PSCI_VERSION the newest version KVM has, for
			      * workarounds the host's level, for bitmaps the
			      * reset value */
	uint64_t known_bits; /* bitmaps: every bit the host kernel accepts */
};

/*
 * Fills *out for a register the host lists with value `value`, deriving
 * known_bits for bitmaps: the value itself where the kernel resets to all
 * it knows, value | every catalogued bit for VENDOR_HYP_BMAP_2 (it resets
 * to 0; both its bits came with the register in 6.15). A caller that
 * probed the host's bits by writing them may overwrite known_bits.
 */
void fwreg_host_from_value(const struct fwreg_desc *d, uint64_t value,
			   struct fwreg_host *out);

/* The VM and vCPU the write would go to. */
struct fwreg_vm_state {
	bool vcpu_initialized;  /* KVM_ARM_VCPU_INIT done (else -ENOEXEC) */
	bool vcpu_has_psci_0_2; /* initialised with KVM_ARM_VCPU_PSCI_0_2 */
	bool protected_vm;      /* pKVM protected VM */
	bool has_run;           /* a vCPU of the VM has entered KVM_RUN */
	uint64_t current;       /* the register's value in this VM now */
};

#define FWREG_REASON_MAX 384

struct fwreg_verdict {
	int err;                 /* what fwreg_check_write() returned */
	enum fwreg_rule rule;
	const char *code;        /* fwreg_rule_code(rule), static */
	/*
	 * What the guest sees after the call: for an accepted write
	 * fwreg_guest_value(); for a refused one what it saw before.
	 */
	uint64_t guest_sees;
	/* Static remark about an accepted write, or NULL. */
	const char *note;
	/* One line naming the register, the wanted value and what the host
	 * offers; always NUL-terminated. */
	char reason[FWREG_REASON_MAX];
};

/*
 * Would KVM_SET_ONE_REG(d->id, wanted) succeed? Returns 0 when the kernel
 * accepts the write, otherwise the negative errno it returns: -ENOEXEC,
 * -ENOENT, -EINVAL or -EBUSY (-EFAULT only for a NULL host or vm). d may be
 * NULL (a register pinvm does not know: -ENOENT). v may be NULL; when
 * given it is always filled. Pure: nothing is written anywhere else.
 *
 * Models Linux 5.10 and later (the WORKAROUND_2 rules changed in 5.10);
 * see fwreg_rules.c for the source of each check.
 */
int fwreg_check_write(const struct fwreg_desc *d, const struct fwreg_host *host,
		      const struct fwreg_vm_state *vm, uint64_t wanted,
		      struct fwreg_verdict *v);

/*
 * The value the guest observes after `written` was accepted: `written` for
 * registers KVM stores (PSCI_VERSION, bitmaps), host_value for the
 * workaround registers, which KVM only validates. NULL d: written.
 */
uint64_t fwreg_guest_value(const struct fwreg_desc *d, uint64_t host_value,
			   uint64_t written);

#endif
