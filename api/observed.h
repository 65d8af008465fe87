/*
 * An observed hypercall ABI: what a probe guest saw through `hvc #0` (x0
 * after each SMCCC call of smccc_probe_calls[], api/smccc.h), as the body
 * of GET /v1/host/observed-abi:
 *
 *   {"kernel_release": "6.12.117+deb13-cloud-arm64",   optional
 *    "profile": "host defaults",                       optional, ignored
 *    "calls": [{"function_id": "0x84000000", "name": "PSCI_VERSION",
 *               "x1": "0x...",                         optional
 *               "x0": "0x0000000000010001"}, ...]}
 *
 * Plain data with fixed capacity: no allocation, nothing to free.
 */
#ifndef PINVM_API_OBSERVED_H
#define PINVM_API_OBSERVED_H

#include "api_error.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OBSERVED_MAX_CALLS 64
#define OBSERVED_NAME_MAX 63     /* bytes of a call name */
#define OBSERVED_RELEASE_MAX 127 /* bytes of a kernel release */

struct observed_call {
	char name[OBSERVED_NAME_MAX + 1]; /* "TRNG_VERSION" */
	uint32_t function_id;
	bool has_x1;
	uint64_t x1;
	uint64_t x0;                       /* SMCCC_RET_NOT_SUPPORTED = -1 */
};

struct observed_abi {
	bool present;                      /* false: no observation */
	char kernel_release[OBSERVED_RELEASE_MAX + 1]; /* "" when not given */
	size_t ncalls;
	struct observed_call calls[OBSERVED_MAX_CALLS]; /* document order */
};

/*
 * Parses an observed-ABI object (above) into *out; `field` is its path in
 * the enclosing document ("observed_abi"), used in errors. obj is
 * borrowed. Returns 0, or -EINVAL with err filled and *out unspecified:
 *   400 wrong_type     a member of the wrong JSON type
 *   422 missing_field  no "calls", or a call without function_id/name/x0
 *   422 unknown_field  a member not listed above
 *   422 bad_hex        malformed hex ("0x" + 1..16 digits)
 *   422 bad_value      function_id above 32 bits, an empty name, a NUL
 *                      character in a string
 *   422 value_too_long a name longer than OBSERVED_NAME_MAX bytes, a
 *                      kernel_release longer than OBSERVED_RELEASE_MAX
 *   422 call_mismatch  a call named like one of smccc_probe_calls[] whose
 *                      function_id or x1 differs from it
 *   422 duplicate_call the same name twice
 *   422 too_many_calls more than OBSERVED_MAX_CALLS calls
 */
int observed_abi_from_json(const json_t *obj, const char *field,
			   struct observed_abi *out, struct api_error *err);

/*
 * The same for a bare "calls" array; out->kernel_release is left "".
 * `field` names the array ("observed_abi.calls").
 */
int observed_calls_from_json(const json_t *calls, const char *field,
			     struct observed_abi *out, struct api_error *err);

/*
 * The object form above (no "profile"; "kernel_release" only when not
 * empty; x0 as 16 hex digits, function_id as 8). New reference, NULL when
 * an allocation fails or o is not present.
 */
json_t *observed_abi_to_json(const struct observed_abi *o);

/* The call named `name`, or NULL. */
const struct observed_call *observed_find(const struct observed_abi *o,
					  const char *name);

/*
 * The value of bitmap register `id` the observation determines, if it
 * does: STD_BMAP (TRNG bit <=> TRNG_VERSION answered),
 * STD_HYP_BMAP (PV_TIME bit <=> PV_TIME_FEATURES(PV_TIME_ST) answered),
 * VENDOR_HYP_BMAP (0 when KVM_FEATURES answered NOT_SUPPORTED, else
 * KVM_FEATURES' x0, which is the bitmap the guest was given). Nothing else
 * can be derived (VENDOR_HYP_BMAP_2's calls are not KVM's own).
 * Returns true and sets *value and `why` ("TRNG_VERSION answered
 * NOT_SUPPORTED", always NUL-terminated, may be NULL), or false.
 */
bool observed_derive(const struct observed_abi *o, uint64_t id,
		     uint64_t *value, char *why, size_t why_size);

#endif
