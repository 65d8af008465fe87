/*
 * Profiles: pinned values for KVM/arm64 firmware pseudo-registers, i.e. a
 * guest's hypercall ABI frozen across host kernels.
 *
 * Input document (POST /v1/profiles):
 *   {"name": "lab-5.10",                   ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
 *    "description": "...",                     optional, <= 1024 characters
 *    "unknown_registers": "refuse"|"disable",  optional, default "refuse"
 *    "registers": {<register>: <value>, ...} or the canonical array below,
 *    "observed_abi": {...},                    optional, see observed.h
 *    "smccc": {...},                           optional, see smccc_filter.h
 *    "cpu_features": {...},                    optional, see cpu_features.h
 *    "id_registers": [...],                    optional, see id_regs.h
 *    "source": {...},                          optional, kept verbatim
 *    "created_at": ...}                        optional, ignored (server-set)
 * <register> is a catalogued name ("STD_BMAP") or a raw firmware id
 * ("0x6030000000160003"). <value> is "host" (leave the host's value), raw
 * hex "0x.." (<= 64 bits), or the decoded forms fwreg_decode() produces:
 *   PSCI_VERSION     "1.0" or {"version": "1.0"}
 *   WORKAROUND_1/_3  "AVAIL" or {"level": "AVAIL"}
 *   WORKAROUND_2     "AVAIL" or {"level": "AVAIL", "enabled": true}
 *   bitmaps          {"TRNG": false, "unknown_bits": "0x0"}; bits not
 *                    named are off
 * Raw hex for a catalogued bitmap may only set catalogued bits; other
 * bits go through "unknown_bits" (raw hex for uncatalogued registers is
 * free).
 *
 * Canonical output (profile_to_json), which profile_from_json() accepts
 * back unchanged:
 *   {"name", "description"?, "unknown_registers",
 *    "registers": [{"id": "0x6030000000140000", "name": "PSCI_VERSION"|null,
 *                   "pin": "value", "value": "0x10000",
 *                   "decoded": {...}|null},
 *                  {"id": "...", "name": ..., "pin": "host"}, ...],  by id
 *    "observed_abi"?, "smccc"?, "cpu_features"?, "id_registers"?, "source"?}
 * In the array form "value" is the truth; "decoded", when given and not
 * null, must describe the same value (and is how unknown bits of a
 * catalogued bitmap are acknowledged).
 *
 * Ownership: a struct profile comes from profile_from_json(),
 * profile_new() or profile_capture(), is allocated with jansson's
 * allocator (json_get_alloc_funcs) and is released with profile_free(),
 * which also drops the JSON values it owns (observed_abi, source). Every
 * pinned value satisfies the checks of profile_check_value().
 *
 * Sharing: a profile is reference-counted. It starts with one reference;
 * profile_ref() adds one and profile_free() drops one, the last freeing
 * it. A profile that has been shared (profile_ref) is immutable: threads
 * may read it concurrently, nobody writes it (this is how pinvmd parses a
 * stored profile once and hands it to every request).
 */
#ifndef PINVM_API_PROFILE_H
#define PINVM_API_PROFILE_H

#include "api_error.h"
#include "cpu_features.h"
#include "hostset.h"
#include "id_regs.h"
#include "observed.h"
#include "smccc_filter.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_PINS 64
#define PROFILE_NAME_MAX 64          /* bytes */
#define PROFILE_DESCRIPTION_MAX 1024 /* Unicode code points */

enum profile_policy {
	PROFILE_UNKNOWN_REFUSE,  /* "refuse": a register the host lists and
				  * the profile does not mention refuses */
	PROFILE_UNKNOWN_DISABLE, /* "disable": such a bitmap is written 0 */
};

enum profile_pin_mode {
	PROFILE_PIN_VALUE, /* write this value */
	PROFILE_PIN_HOST,  /* leave the host's value, on purpose */
};

struct profile_pin {
	uint64_t id;                /* a firmware register id */
	enum profile_pin_mode mode;
	uint64_t value;             /* PROFILE_PIN_VALUE only, else 0 */
};

struct profile {
	char name[PROFILE_NAME_MAX + 1];
	bool has_description;
	char description[PROFILE_DESCRIPTION_MAX * 4 + 1]; /* UTF-8 */
	enum profile_policy unknown_registers;
	size_t npins;
	struct profile_pin pins[PROFILE_MAX_PINS]; /* sorted by id, unique */
	/*
	 * The observation the profile was made from: owned reference (NULL
	 * when none) and its parsed form; observed.present == (observed_abi
	 * != NULL). Replace both together, or neither.
	 */
	json_t *observed_abi;
	struct observed_abi observed;
	/* Provenance, kept verbatim: owned reference to an object, or NULL.
	 * The caller may swap it (json_decref the old one). */
	json_t *source;
	/* Default-deny hypercalls (smccc_filter.h); .present false: none. */
	struct smccc_filter_spec smccc;
	/*
	 * The vCPU features of every VM made with the profile (cpu_features.h,
	 * all off included): pinned like the registers, so a VM's spec may
	 * only repeat them. has_cpu_features false: the profile says nothing
	 * and each VM's spec decides.
	 */
	bool has_cpu_features;
	struct cpu_features cpu_features;
	/*
	 * Fields of the feature ID registers every VM made with the profile
	 * shows (id_regs.h), sorted by id; none when nid_pins is 0 (each
	 * host's own values).
	 */
	size_t nid_pins;
	struct id_pin id_pins[ID_REGS_MAX];
	/* References (atomic; see "Sharing" above). profile_new() sets 1. */
	unsigned refs;
};

/*
 * Parses a profile document (doc borrowed; observed_abi and source are
 * deep-copied). Returns 0 and sets *out to a new profile, or a negative
 * errno with err filled and *out set to NULL:
 *   -EINVAL, 400 wrong_type     doc or a member of the wrong JSON type
 *   -EINVAL, 422 ...            see the table atop profile_parse.c
 *                               (unknown_field, missing_field, bad_name,
 *                               bad_policy, value_too_long, unknown_register,
 *                               not_firmware_register, duplicate_register,
 *                               too_many_registers, unknown_bit, bad_hex,
 *                               bad_value, unknown_level,
 *                               unknown_psci_version, bad_value_bits,
 *                               undefined_level, enabled_needs_avail,
 *                               unknown_bits, bad_unknown_bits,
 *                               name_mismatch, decoded_mismatch, bad_pin,
 *                               unexpected_field, and observed_abi's,
 *                               smccc's and cpu_features')
 *   -ENOMEM, 500 out_of_memory
 * Fields: "registers.STD_BMAP.TRNG", "registers[2].value", "name", ...
 */
int profile_from_json(const json_t *doc, struct profile **out,
		      struct api_error *err);

/*
 * Takes "description" and "unknown_registers" from obj (borrowed; either
 * may be absent, other members are not looked at) into p, by the
 * document's own rules: a capture or a baseline gets its options checked
 * exactly as a posted profile, without a trip through JSON. 0, or -EINVAL
 * with err (400 wrong_type, 422 value_too_long, 422 bad_policy); on
 * failure p may hold the description already.
 */
int profile_set_options(struct profile *p, const json_t *obj,
			struct api_error *err);

/* The canonical document (new reference; NULL when an allocation fails). */
json_t *profile_to_json(const struct profile *p);

/* Drops one reference; the last frees p and the JSON it owns. NULL is
 * fine. */
void profile_free(struct profile *p);

/* Takes one more reference to p (which must not be written any more);
 * returns p. Any thread. */
struct profile *profile_ref(struct profile *p);

/*
 * An empty profile named `name` (policy "refuse", no pins, no
 * observation, no source). Errors: 422 bad_name (-EINVAL), 500
 * out_of_memory (-ENOMEM); *out NULL on error.
 */
int profile_new(const char *name, struct profile **out,
		struct api_error *err);

/*
 * Pins register id (a firmware id) in p, keeping pins sorted. value is
 * ignored for PROFILE_PIN_HOST. Values of catalogued registers must pass
 * profile_check_value(). Errors (-EINVAL, p unchanged): 422
 * not_firmware_register, duplicate_register, too_many_registers and
 * profile_check_value()'s, with field "registers.<name or id>".
 */
int profile_add_pin(struct profile *p, uint64_t id,
		    enum profile_pin_mode mode, uint64_t value,
		    struct api_error *err);

/*
 * Is `value` one a profile may pin for register id? Refuses what no KVM
 * accepts whatever the host: a PSCI version KVM never implemented (422
 * unknown_psci_version), WORKAROUND_1/_3 bits outside 0xf and
 * WORKAROUND_2 bits outside 0x1f (bad_value_bits), WORKAROUND_2 levels
 * 4-15 (undefined_level), ENABLED without level AVAIL
 * (enabled_needs_avail). Anything goes for uncatalogued registers and
 * bitmaps. Returns 0 or -EINVAL; `field` names the value in errors.
 */
int profile_check_value(uint64_t id, uint64_t value, const char *field,
			struct api_error *err);

/*
 * Could pinvm ever apply p? Checked before a profile is stored, so that a
 * profile no host can run is refused at once rather than at every use:
 *   422 psci_0_1_unsupported  PSCI_VERSION pinned 0.1: pinvm initialises
 *                             every vCPU with KVM_ARM_VCPU_PSCI_0_2, and
 *                             KVM accepts 0.1 only without it
 *   422 unanswered_service    VENDOR_HYP_BMAP_2 pinned with bits set: KVM
 *                             only advertises those calls (KVM_FEATURES
 *                             x2) and forwards them to the VMM, which
 *                             pinvm-vmm does not answer, so the guest would
 *                             be told of services that say NOT_SUPPORTED
 * Field "registers.<name>". Returns 0 or -EINVAL.
 */
int profile_check_applicable(const struct profile *p, struct api_error *err);

/* 0 when name matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, else 422 bad_name. */
int profile_check_name(const char *name, struct api_error *err);

/*
 * A profile pinning every register of `host` at its value. The
 * observation is observed_calls (a calls array or observed-ABI object,
 * borrowed, validated as observed_abi_from_json()) when given, else the
 * host's own when it has one, else none; kernel_release defaults to the
 * host's. source = {"kind": "capture", "kernel_release": "<host's>"}.
 * Errors: bad_name, a host value no profile may pin
 * (profile_check_value()), the observation's errors, out_of_memory.
 */
int profile_capture(const char *name, const struct hostset *host,
		    const json_t *observed_calls, enum profile_policy policy,
		    struct profile **out, struct api_error *err);

/* The pin for id, or NULL. */
const struct profile_pin *profile_find_pin(const struct profile *p,
					   uint64_t id);

/* "refuse" / "disable" */
const char *profile_policy_name(enum profile_policy policy);

/* Same name, description, policy, pins, observation, filter, vCPU features
 * and source. */
bool profile_equal(const struct profile *a, const struct profile *b);

#endif
