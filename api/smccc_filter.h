/*
 * A profile's default-deny hypercall ABI, enforced with KVM's SMCCC filter
 * (Linux 6.4+: VM device attribute KVM_ARM_VM_SMCCC_CTRL /
 * KVM_ARM_VM_SMCCC_FILTER, set before the first KVM_RUN; ranges of
 * function ids marked HANDLE, DENY or FWD_TO_USER; DENY answers
 * NOT_SUPPORTED and takes precedence over the service bitmaps).
 *
 * Profile member:
 *   "smccc": {"policy": "deny_unlisted",
 *             "allow": ["PSCI", {"base": "0x84000050", "count": 16}, ...],
 *             "unenforceable": "refuse" | "degrade"}     default "refuse"
 * Every function id outside the allowed set is denied, except the Arm
 * architecture ranges 0x80000000-0x8000FFFF and 0xC0000000-0xC000FFFF,
 * which KVM keeps for itself (the filter refuses them with EEXIST): the
 * arch calls (SMCCC_VERSION, ARCH_FEATURES, the workarounds) are always
 * answered by KVM. Named services (smccc_service_*):
 *   PSCI            0x84000000 and 0xC4000000, 32 ids each
 *   TRNG            0x84000050 and 0xC4000050, 16 ids each
 *   PV_TIME         0xC5000020, 2 ids (FEATURES, ST)
 *   KVM_VENDOR_HYP  0x86000000 and 0xC6000000, 65536 ids each (UID,
 *                   revision, KVM_FEATURES, PTP, DISCOVER_IMPL_*)
 *   SMCCC_ARCH      nothing to filter: KVM always answers the arch range
 * "unenforceable" says what happens on a host without the filter (before
 * 6.4): "refuse" (the profile is refused there) or "degrade" (it runs
 * with the registers pinned and the verdict says the rest is unenforced).
 *
 * Plain data, no allocation.
 */
#ifndef PINVM_API_SMCCC_FILTER_H
#define PINVM_API_SMCCC_FILTER_H

#include "api_error.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMCCC_ALLOW_MAX 32
/* Allowed ranges after names are expanded, and the deny plan. */
#define SMCCC_RANGES_MAX (2 * SMCCC_ALLOW_MAX + 4)

struct smccc_range {
	uint32_t base;
	uint64_t count; /* >= 1; base + count <= 2^32 */
};

struct smccc_allow {
	const char *service; /* static catalogue name, or NULL for a range */
	struct smccc_range range; /* ranges only */
};

struct smccc_filter_spec {
	bool present;          /* the profile has an "smccc" member */
	bool degrade;          /* "unenforceable": "degrade" */
	size_t nallow;
	struct smccc_allow allow[SMCCC_ALLOW_MAX]; /* document order */
};

/*
 * Parses the member (obj borrowed; field "smccc") into *out. Errors
 * (-EINVAL): 400 wrong_type; 422 unknown_field, missing_field,
 * bad_policy (policy not "deny_unlisted", unenforceable not
 * refuse/degrade), unknown_service, bad_hex, bad_range (base above 32
 * bits, count 0 or past 2^32, inside the architecture ranges),
 * duplicate_service, too_many_entries. Fields "smccc.allow[2].count".
 */
int smccc_filter_from_json(const json_t *obj, struct smccc_filter_spec *out,
			   struct api_error *err);

/* The canonical member (new reference; NULL when allocation fails or
 * !spec->present). smccc_filter_from_json() takes it back unchanged. */
json_t *smccc_filter_to_json(const struct smccc_filter_spec *spec);

bool smccc_filter_equal(const struct smccc_filter_spec *a,
			const struct smccc_filter_spec *b);

/*
 * The ranges to mark DENY, sorted and disjoint: the 32-bit function id
 * space minus the allowed ranges and the architecture ranges. Returns the
 * number written to out (at most max; the plan never needs more than
 * SMCCC_RANGES_MAX).
 */
size_t smccc_filter_deny_ranges(const struct smccc_filter_spec *spec,
				struct smccc_range *out, size_t max);

struct observed_abi;

/*
 * The default-deny member a capture records: PSCI and SMCCC_ARCH, plus
 * each named service the probe guest got an answer from on that host
 * (TRNG: TRNG_VERSION; PV_TIME: PV_TIME_FEATURES(PV_TIME_ST);
 * KVM_VENDOR_HYP: KVM_VENDOR_UID). A service the kernel adds later is
 * denied. Returns false (out untouched) when o has none of those calls.
 */
bool smccc_filter_from_observed(const struct observed_abi *o, bool degrade,
				struct smccc_filter_spec *out);

/* Is function id fid allowed (answered by KVM as without a filter)? */
bool smccc_filter_allows(const struct smccc_filter_spec *spec, uint32_t fid);

#endif
