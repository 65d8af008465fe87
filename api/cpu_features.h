/*
 * The vCPU features a VM asks for beyond the base architecture (issue 16):
 *
 *   "cpu_features": {"pmu": true,                      PMUv3 with its PPI
 *                    "sve": true | {"vector_length": 512},
 *                    "pauth": true}                    address + generic
 *
 * Every member is optional; an absent one, or false, leaves the feature
 * off (what KVM gives a vCPU initialised without it). "sve": true gives
 * the guest every vector length KVM offers; {"vector_length": N} makes N
 * bits the longest, N one of the host's lengths (KVM can only cap the
 * set: every host length up to N stays, see cpu_features_check_host).
 * Pointer authentication is one switch: KVM takes the address and the
 * generic keys only together.
 *
 * The same object is the "cpu_features" of pinvm-vmm's config
 * (vmm/vmm_config.h), so one parser serves both. Pure: no I/O, no KVM.
 */
#ifndef PINVM_API_CPU_FEATURES_H
#define PINVM_API_CPU_FEATURES_H

#include "api_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* SVE vector lengths in bits: 128 (VQ 1) to 2048 (VQ 16), in steps of 128. */
#define CPU_SVE_VL_MIN 128u
#define CPU_SVE_VL_MAX 2048u
#define CPU_SVE_VL_STEP 128u

struct cpu_features {
	bool pmu;
	bool sve;
	unsigned sve_vector_length; /* bits; 0: every length the host has */
	bool pauth;
};

/*
 * What the host's KVM can give, as KVM_CHECK_EXTENSION and a scratch SVE
 * vCPU's KVM_REG_ARM64_SVE_VLS answered (vmm/kvm_host.h fills it).
 */
struct cpu_host_caps {
	bool pmu;             /* KVM_CAP_ARM_PMU_V3 */
	bool sve;             /* KVM_CAP_ARM_SVE */
	bool pauth_address;   /* KVM_CAP_ARM_PTRAUTH_ADDRESS */
	bool pauth_generic;   /* KVM_CAP_ARM_PTRAUTH_GENERIC */
	uint32_t sve_vls;     /* bit VQ-1 set: VQ*128 bits offered; 0 unknown */
	/*
	 * A vCPU made without a PMU still shows one: ID_AA64DFR0_EL1.PMUVer
	 * of such a vCPU is a PMU version (5.10 shows PMUv3p1 with counters
	 * that read as zero; 6.x shows none). Not a feature anyone can ask
	 * for: what the kernel gives regardless, reported by compatibility.
	 */
	bool pmu_without_request;
};

/*
 * Parses v (borrowed; the value of "cpu_features", NULL or JSON null for
 * none) into *out, zeroed first. field is v's path ("cpu_features") for
 * errors, in this order:
 *   400 wrong_type     <field>                not an object
 *   422 unknown_field  <field>.<key>          not pmu, sve or pauth
 *   400 wrong_type     <field>.pmu / .pauth   not a boolean
 *   400 wrong_type     <field>.sve            not a boolean or an object
 *   422 unknown_field  <field>.sve.<key>      not vector_length
 *   422 missing_field  <field>.sve.vector_length
 *   400 wrong_type     <field>.sve.vector_length  not an integer
 *   422 out_of_range   <field>.sve.vector_length  not 128..2048 in steps of 128
 * 0 or -EINVAL. Allocates nothing.
 */
int cpu_features_parse(const json_t *v, const char *field, struct cpu_features *out,
		       struct api_error *err);

/* Whether any feature is on (an all-off request is the same as none). */
bool cpu_features_any(const struct cpu_features *f);

/* Whether a and b ask for the same thing. */
bool cpu_features_equal(const struct cpu_features *a, const struct cpu_features *b);

/*
 * Everything host can give, in a form another host can be held to: the
 * PMU, pointer authentication (address and generic both), SVE with its
 * longest vector length named ({"vector_length": N}; plain "sve": true
 * when the host did not say its lengths).
 */
void cpu_features_host_offer(const struct cpu_host_caps *host, struct cpu_features *out);

/*
 * A new reference to f as the canonical object ({"pmu": b, "sve": b or
 * {"vector_length": N}, "pauth": b}, every member present), or NULL when
 * out of memory. cpu_features_parse() reads it back to *f.
 */
json_t *cpu_features_to_json(const struct cpu_features *f);

/*
 * Whether this host can give f, before anything is spawned: 422
 * unsupported_by_host naming "<field>.pmu", "<field>.sve", "<field>.pauth"
 * (with which capability is missing) or "<field>.sve.vector_length" (with
 * the host's lengths). 0 or -EINVAL.
 */
int cpu_features_check_host(const struct cpu_features *f, const struct cpu_host_caps *host,
			    const char *field, struct api_error *err);

/*
 * The vector lengths of a KVM_REG_ARM64_SVE_VLS bitmap (bit VQ-1) that
 * KVM must be given for a longest length of max_bits: every host length
 * up to it. 0 when max_bits is not one of the host's.
 */
uint32_t cpu_sve_vls_upto(uint32_t host_vls, unsigned max_bits);

/*
 * The host's offer as GET /v1/host and host register sets show it:
 *   {"pmu": b, "sve": b, "pauth": b, "sve_vector_lengths": [128, ...],
 *    "pmu_without_request": b}
 * ("pauth" is address and generic together). New reference, NULL when out
 * of memory.
 */
json_t *cpu_host_caps_to_json(const struct cpu_host_caps *c);

/*
 * Reads that object back (v borrowed) into *out, zeroed first; field is
 * its path for errors:
 *   400 wrong_type     <field>, <field>.<key>, <field>.sve_vector_lengths[i]
 *   422 unknown_field  <field>.<key>
 *   422 missing_field  <field>.pmu/.sve/.pauth/.sve_vector_lengths
 *                      ("pmu_without_request" is optional: false)
 *   422 out_of_range   <field>.sve_vector_lengths[i]  not 128..2048 by 128
 *   422 bad_value      <field>.sve_vector_lengths  not ascending, or
 *                      lengths without "sve"
 * 0 or -EINVAL.
 */
int cpu_host_caps_from_json(const json_t *v, const char *field, struct cpu_host_caps *out,
			    struct api_error *err);

/* Whether a and b offer the same (address and generic pauth apart). */
bool cpu_host_caps_equal(const struct cpu_host_caps *a, const struct cpu_host_caps *b);

/* "128, 256, 512" for a bitmap into buf (size bytes); "none" for 0. */
void cpu_sve_vls_format(uint32_t vls, char *buf, size_t size);

#endif
