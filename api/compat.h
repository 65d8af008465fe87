/*
 * Compatibility: what applying a profile on a host means, register by
 * register, and the KVM_SET_ONE_REG writes the VMM performs for it.
 *
 * Every judgement about a catalogued register is fwreg_check_write()'s,
 * for a fresh VM (vCPU initialised with KVM_ARM_VCPU_PSCI_0_2, not run)
 * and the host's offer from fwreg_host_from_value().
 *
 * Verdicts (compat_verdict_name()):
 *   pinned           the pin is written and the guest sees it
 *   guest_sees_host  KVM accepts the pinned workaround level but stores
 *                    nothing: the guest sees the host's level (allowed)
 *   host_value       pinned "host": nothing written
 *   absent_off       a bitmap pinned to 0 on a host without the register
 *                    (services off == register absent): nothing written
 *   absent_equivalent not pinned, policy "refuse", a bitmap (catalogued or
 *                    any register of coprocessor 0x16) the host lists at
 *                    0: every service off, which is what a host without
 *                    the register offers; nothing written. The mirror of
 *                    absent_off, decided by the register's kind and value,
 *                    never by its name, so a bitmap a future kernel adds
 *                    at reset value 0 is covered too
 *   derived          not pinned; the profile's observed ABI determines the
 *                    bitmap's value, which is written
 *   disabled         not pinned, policy "disable": the bitmap is written 0
 *   accepted         a moved guest's workaround level that the target
 *                    answers differently, kept because the caller
 *                    accepted workaround_level_differs (api/wa_levels.h):
 *                    `pinned` is the level the guest was told, `guest_sees`
 *                    the target's
 *   refused          the profile cannot be honoured (see `rule`)
 * Rules of refused entries: fwreg_rule_code()'s (workaround_level_above_host,
 * psci_version_unsupported, register_absent_on_host, register_unknown, ...),
 * plus unmentioned_register (host lists it, profile does not mention it and
 * nothing else decides it) and readback_mismatch (compat_check_readback()).
 *
 * Registers pinvm does not catalogue: a pin equal to the host's value is
 * accepted (KVM accepts what it reports), and for coprocessor 0x16 (all
 * feature bitmaps, KVM_REG_ARM_FW_FEAT_BMAP) any subset of the host's
 * value, 0 included; anything else is refused (register_unknown).
 *
 * Plain data, no allocation: struct compat_report is large (about 80 KiB),
 * so keep it off small stacks.
 */
#ifndef PINVM_API_COMPAT_H
#define PINVM_API_COMPAT_H

#include "api_error.h"
#include "cpu_features.h"
#include "fw_pin.h"
#include "fwreg.h"
#include "hostset.h"
#include "id_regs.h"
#include "profile.h"
#include "smccc_filter.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMPAT_MAX_ENTRIES (PROFILE_MAX_PINS + HOSTSET_MAX_REGS)
#define COMPAT_REASON_MAX 512

enum compat_verdict {
	COMPAT_PINNED,
	COMPAT_GUEST_SEES_HOST,
	COMPAT_HOST_VALUE,
	COMPAT_ABSENT_OFF,
	COMPAT_ABSENT_EQUIVALENT,
	COMPAT_DERIVED,
	COMPAT_DISABLED,
	COMPAT_ACCEPTED,
	COMPAT_REFUSED,
};

struct compat_entry {
	uint64_t id;
	const struct fwreg_desc *desc; /* NULL: not catalogued */
	bool pinned;                   /* the profile pins it ... */
	bool pinned_host;              /* ... as "host" */
	uint64_t pin;                  /* ... at this value */
	bool host_present;             /* the host lists it ... */
	uint64_t host;                 /* ... with this value */
	enum compat_verdict verdict;
	const char *rule;  /* static code of a refusal, else NULL */
	int err;           /* refused: the errno KVM would return (<0) or
			    * -EPERM for a policy refusal; else 0 */
	bool writes;       /* the plan writes `write` */
	uint64_t write;
	bool has_guest_sees;
	uint64_t guest_sees;
	char reason[COMPAT_REASON_MAX];
};

/*
 * What a guest can discover, as opposed to what KVM answers. Every
 * service pinvm models is found through SMCCC 1.1 calls (ARCH_FEATURES for
 * the workarounds, TRNG_VERSION, PV_TIME_FEATURES, the KVM vendor UID),
 * and a guest learns that SMCCC 1.1 is there only by PSCI_FEATURES
 * (SMCCC_VERSION), which PSCI has from 1.0 (DEN0022 and DEN0028; Linux:
 * psci_probe() runs psci_init_smccc() and kvm_init_hyp_services() only
 * for PSCI >= 1.0). Under PSCI 0.1/0.2 KVM still answers those calls, but
 * a guest following the specifications never makes them: they are
 * reported unreachable. pinvm reports this and does not refuse: such a
 * profile is a legitimate way to hide services from a guest.
 */
#define COMPAT_MAX_SERVICES 32

/*
 * A profile's "smccc" member on this host (smccc_filter.h):
 *   enforced      the host has the filter: the plan's deny ranges are
 *                 installed before the first KVM_RUN
 *   degraded      no filter, "unenforceable": "degrade": the registers are
 *                 pinned, nothing else is enforced (said in reason)
 *   refused       no filter, "unenforceable": "refuse" (rule
 *                 smccc_filter_unavailable; the report is incompatible)
 *   undetermined  a host set that does not say whether it has the filter
 */
enum compat_smccc_verdict {
	COMPAT_SMCCC_NONE, /* the profile has no "smccc" member */
	COMPAT_SMCCC_ENFORCED,
	COMPAT_SMCCC_DEGRADED,
	COMPAT_SMCCC_REFUSED,
	COMPAT_SMCCC_UNDETERMINED,
};

struct compat_smccc {
	enum compat_smccc_verdict verdict;
	size_t ndeny;
	struct smccc_range deny[SMCCC_RANGES_MAX];
	char reason[COMPAT_REASON_MAX];
};

struct compat_service {
	const char *name;   /* static: a bitmap bit ("TRNG") or a workaround
			     * register ("SMCCC_ARCH_WORKAROUND_1") */
	uint64_t reg;       /* the register that gates or reports it */
	bool reachable;
	bool denied;        /* the profile's SMCCC filter denies it */
};

struct compat_discovery {
	bool psci_known;    /* false: the guest's PSCI version is unknown
			     * (the host has no PSCI_VERSION, or it was refused) */
	uint64_t psci;      /* the version the guest sees */
	bool smccc_1_1;     /* a guest can find SMCCC 1.1 (PSCI >= 1.0) */
	size_t nservices;   /* services KVM answers for this guest */
	struct compat_service services[COMPAT_MAX_SERVICES];
	char reason[COMPAT_REASON_MAX];
};

/*
 * A profile's "cpu_features" (profile.h) on this host:
 *   given         the host's KVM offers every feature the profile pins
 *   refused       one it cannot give (rule cpu_feature_unavailable, at
 *                 field "cpu_features.pmu", ".sve", ".sve.vector_length"
 *                 or ".pauth"; the report is incompatible)
 *   undetermined  a host set that does not say what it offers
 * Whatever the verdict, pmu_without_request reports what the kernel
 * shows regardless: the profile leaves the PMU off and this host's vCPUs
 * show a PMU version anyway (5.10: counters that read as zero).
 */
enum compat_cpu_verdict {
	COMPAT_CPU_NONE,     /* neither the profile nor the host set says */
	COMPAT_CPU_UNPINNED, /* the profile has no "cpu_features" */
	COMPAT_CPU_GIVEN,
	COMPAT_CPU_REFUSED,
	COMPAT_CPU_UNDETERMINED,
};

struct compat_cpu {
	enum compat_cpu_verdict verdict;
	char field[160];           /* refused: the feature's path */
	bool pmu_without_request;  /* see above */
	char reason[COMPAT_REASON_MAX];
};

/*
 * A profile's "id_registers" (id_regs.h) on this host:
 *   given         each pin shown already ("same") or written lower at
 *                 vCPU init ("written": the plan's id_writes)
 *   refused       one this host cannot show (rule id_register_differs;
 *                 the report is incompatible)
 *   undetermined  a host set that does not say its ID registers
 */
enum compat_id_verdict {
	COMPAT_ID_NONE, /* the profile pins no ID register */
	COMPAT_ID_GIVEN,
	COMPAT_ID_REFUSED,
	COMPAT_ID_UNDETERMINED,
};

struct compat_id_entry {
	struct id_pin pin;
	bool host_present;
	struct id_reg host;
	enum id_pin_verdict verdict;
	char reason[256];
};

struct compat_ids {
	enum compat_id_verdict verdict;
	size_t n;
	struct compat_id_entry entries[ID_REGS_MAX]; /* the profile's pins, by id */
	size_t nwrites;
	struct id_pin writes[ID_REGS_MAX]; /* the plan: written at vCPU init */
};

struct compat_report {
	bool compatible;   /* no entry is refused */
	char kernel_release[HOSTSET_RELEASE_MAX + 1];
	size_t nentries;
	struct compat_entry entries[COMPAT_MAX_ENTRIES]; /* sorted by id */
	/* The plan: KVM_SET_ONE_REG writes in order, before the first
	 * KVM_RUN. PSCI_VERSION (lowest id) comes first; it is per VM, so
	 * writing it on one vCPU is enough, and never after the guest ran. */
	size_t nwrites;
	struct fw_pin writes[COMPAT_MAX_ENTRIES];
	/*
	 * Whether the VMM gives the guest a PV time (stolen time) area. PV
	 * time reaches a guest only through that area, so the VMM enforces
	 * STD_HYP_BMAP's PV_TIME bit itself: on a host without the register
	 * (5.10) that is the only switch. The bit the guest is meant to see:
	 * what the plan writes, else the pin, else the host's, else (no
	 * register on either side) the old default, on.
	 */
	bool pvtime;
	struct compat_discovery discovery;
	struct compat_smccc smccc;
	int host_filter;   /* the host set's smccc_filter (-1 unknown) */
	struct compat_cpu cpu;
	bool host_cpu_known;           /* the host set's vCPU features ... */
	struct cpu_host_caps host_cpu; /* ... as it gives them */
	struct cpu_features cpu_pinned; /* the profile's, when it has them */
	struct compat_ids ids;
};

/*
 * The verdict of applying p on h (both borrowed) into *out. Returns 0, or
 * -EINVAL for NULL arguments. A refused register does not make the call
 * fail: it makes out->compatible false.
 */
int compat_check(const struct profile *p, const struct hostset *h,
		 struct compat_report *out);

/*
 * After the plan was executed: readback[0..n) are the values
 * KVM_GET_ONE_REG returned (any order, borrowed). For each planned write,
 * a register KVM stores that reads back differently (or is missing) turns
 * the entry "refused" with rule readback_mismatch; a validate-only
 * register reading back differently becomes "guest_sees_host". Returns 0,
 * -EIO when a mismatch made the report incompatible, -EINVAL for NULL
 * arguments.
 */
int compat_check_readback(struct compat_report *r,
			  const struct fw_pin *readback, size_t n);

/* "pinned", "guest_sees_host", ... */
const char *compat_verdict_name(enum compat_verdict v);

/*
 * {"compatible": bool, "kernel_release": "...",
 *  "registers": [{"name": "..."|null, "id": "0x..",
 *                 "pinned": "0x.."|"host"|null, "host": "0x.."|null,
 *                 "verdict": "...", "rule"?: "...", "reason": "...",
 *                 "write"?: "0x..", "guest_sees"?: "0x.."}],
 *  "discovery": {"psci_version": "1.0"|null, "smccc_1_1": bool,
 *                "services": [{"name", "register", "reachable"}],
 *                "unreachable": ["TRNG", ...], "reason": "..."},
 *  "smccc"?: {"policy": "deny_unlisted", "host_filter": bool|null,
 *             "verdict": "enforced"|"degraded"|"refused"|"undetermined",
 *             "rule"?: "smccc_filter_unavailable",
 *             "deny": [{"base": "0x..", "count": n}], "reason": "..."},
 *  "cpu_features"?: {"pinned": {cpu_features}|null, "host": {host's
 *             offer, cpu_host_caps_to_json()}|null,
 *             "verdict": "unpinned"|"given"|"refused"|"undetermined",
 *             "rule"?: "cpu_feature_unavailable", "field"?: "...",
 *             "pmu_without_request": bool, "reason": "..."},
 *  "id_registers"?: {"verdict": "given"|"refused"|"undetermined",
 *             "rule"?: "id_register_differs",
 *             "registers": [{"id", "name", "mask", "pinned", "host"|null,
 *                            "writable"|null, "verdict": "same"|"written"|
 *                            "refused", "reason"}]}}
 * "cpu_features" is there when the profile pins vCPU features or the host
 * set says what it offers ("unpinned": the profile does not, each VM's
 * spec decides); "id_registers" when the profile pins ID registers.
 * A service the filter denies is listed with "reachable": false and
 * "denied": true.
 * New reference, NULL when an allocation fails.
 */
json_t *compat_report_to_json(const struct compat_report *r);

/*
 * When r is not compatible, fills err with the first refusal: 409
 * profile_refused, field "registers.<name or id>" (or "smccc" for
 * smccc_filter_unavailable, "cpu_features..." for
 * cpu_feature_unavailable, "id_registers.<name>" for id_register_differs),
 * detail naming the
 * register, the wanted value, the host's offer and the rule; returns
 * -EPERM. Returns 0 (err untouched) when r is compatible.
 */
int compat_refusal(const struct compat_report *r, const char *profile_name,
		   struct api_error *err);

#endif
