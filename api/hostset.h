/*
 * A host register set: the firmware pseudo-registers one host's KVM lists
 * and their values on a fresh vCPU (initialised with KVM_ARM_VCPU_PSCI_0_2,
 * not run), optionally with what a probe guest saw there. It is the body
 * of GET /v1/host/firmware-registers:
 *
 *   {"kernel_release": "6.12.117+deb13-cloud-arm64",
 *    "registers": [{"id": "0x6030000000140000", "name": "PSCI_VERSION",
 *                   "value": "0x10001", "decoded": {...}}, ...],
 *    "smccc_filter": true,                       optional: KVM has the
 *                                                SMCCC filter (Linux 6.4+)
 *    "cpu_features": {"pmu": true, ...},         optional: the vCPU
 *                                                features KVM offers
 *                                                (cpu_host_caps_to_json())
 *    "id_registers": {"writable_masks": true,    optional: a fresh vCPU's
 *                     "registers": [...]},        feature ID registers and
 *                                                what KVM takes (id_regs.h)
 *    "observed_abi": {"calls": [...]}}           optional, see observed.h
 *
 * "id" and "value" are the truth; "name" and "decoded" may be absent or
 * null ("decoded" is never read). Plain data with fixed capacity: no
 * allocation, nothing to free; copy it with plain assignment.
 */
#ifndef PINVM_API_HOSTSET_H
#define PINVM_API_HOSTSET_H

#include "api_error.h"
#include "cpu_features.h"
#include "id_regs.h"
#include "observed.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTSET_MAX_REGS 64
#define HOSTSET_RELEASE_MAX 127 /* bytes */

struct hostset_reg {
	uint64_t id;    /* a firmware register id (fwreg_id_is_firmware) */
	uint64_t value;
};

struct hostset {
	char kernel_release[HOSTSET_RELEASE_MAX + 1];
	/*
	 * Whether KVM has the SMCCC filter (KVM_HAS_DEVICE_ATTR on
	 * KVM_ARM_VM_SMCCC_CTRL / KVM_ARM_VM_SMCCC_FILTER): 1 yes, 0 no, -1
	 * unknown (a document without "smccc_filter", hostset_init()).
	 */
	int smccc_filter;
	/* The vCPU features KVM offers; cpu_known false: the document did
	 * not say (a set saved before pinvm recorded them). */
	bool cpu_known;
	struct cpu_host_caps cpu;
	/* A fresh vCPU's feature ID registers (.known false: not said). */
	struct id_regs idregs;
	size_t nregs;
	struct hostset_reg regs[HOSTSET_MAX_REGS]; /* sorted by id, unique */
	struct observed_abi observed;              /* .present false: none */
};

/*
 * Parses the document above into *out (doc borrowed). Returns 0, or
 * -EINVAL with err filled (*out unspecified):
 *   400 wrong_type             doc not an object, a member of the wrong type
 *                              (smccc_filter not a boolean)
 *   and cpu_host_caps_from_json()'s under "cpu_features",
 *   id_regs_from_json()'s under "id_registers",
 *   422 missing_field          no kernel_release/registers, an entry
 *                              without id or value
 *   422 unknown_field          a member not listed above
 *   422 value_too_long         kernel_release over HOSTSET_RELEASE_MAX bytes
 *   422 bad_value              a NUL character in a string
 *   422 bad_hex                malformed id or value
 *   422 not_firmware_register  an id outside coprocessors 0x14/0x16
 *   422 name_mismatch          a name that contradicts the catalogue (a
 *                              catalogued id under another name, or an
 *                              uncatalogued id under a catalogued name)
 *   422 duplicate_register     the same id twice
 *   422 too_many_registers     more than HOSTSET_MAX_REGS entries
 *   422 impossible_value       a value no kernel reports for that register
 *                              (hostset_check_value())
 *   and the errors of observed_abi_from_json() under "observed_abi".
 * Fields are paths like "registers[3].id" (j = the entry's index in the
 * document).
 */
int hostset_from_json(const json_t *doc, struct hostset *out,
		      struct api_error *err);

/*
 * Could a kernel have reported `value` for register id? KVM reads every
 * catalogued non-bitmap register through a mask (hypercalls.c
 * kvm_arm_get_fw_reg()), so some values never come out of it:
 *   PSCI_VERSION     bits 63:31 set (PSCI's version is a 31-bit
 *                    major.minor), 0.0, or 0.x other than 0.1 and 0.2;
 *                    unknown later versions (1.4, 2.0) are accepted
 *   WORKAROUND_1/_3  anything but NOT_AVAIL 0, AVAIL 1, NOT_REQUIRED 2
 *                    (get_kernel_wa_level() & KVM_REG_FEATURE_LEVEL_MASK)
 *   WORKAROUND_2     levels 0-3, ENABLED (0x10) only with AVAIL (the
 *                    only combination kernels before 5.10 reported)
 * Bitmaps and uncatalogued registers: any value (a later kernel may know
 * more bits). Returns 0, or -EINVAL with 422 impossible_value at `field`.
 */
int hostset_check_value(uint64_t id, uint64_t value, const char *field,
			struct api_error *err);

/*
 * hostset_check_value() on every register of h, for sets that did not
 * come through hostset_from_json(). Field "<prefix>.registers[j].value"
 * (j in id order; no prefix when it is NULL or "").
 */
int hostset_check(const struct hostset *h, const char *prefix,
		  struct api_error *err);

/*
 * Builds a set from KVM reads: n registers ids[i] = values[i] (arrays
 * borrowed; n may be 0 with NULL arrays). kernel_release NULL means "".
 * No observation (see hostset_set_observed()). Errors as above (field
 * "registers[i]"), plus 422 value_too_long for kernel_release; -EINVAL.
 */
int hostset_init(struct hostset *out, const char *kernel_release,
		 const uint64_t *ids, const uint64_t *values, size_t n,
		 struct api_error *err);

/*
 * Attaches an observation: obj is an observed-ABI object or a bare calls
 * array (borrowed). Errors of observed_abi_from_json() under
 * "observed_abi"; on error h->observed is cleared.
 */
int hostset_set_observed(struct hostset *h, const json_t *obj,
			 struct api_error *err);

/* The register, or NULL when the host does not list it. */
const struct hostset_reg *hostset_find(const struct hostset *h, uint64_t id);

/*
 * The document form, registers as fwreg_entry_json() (sorted by id),
 * "observed_abi" when present. New reference, NULL when an allocation
 * fails. hostset_from_json(hostset_to_json(h)) gives h back.
 */
json_t *hostset_to_json(const struct hostset *h);

/* Same release, registers, filter, vCPU features, ID registers and
 * observation. */
bool hostset_equal(const struct hostset *a, const struct hostset *b);

#endif
