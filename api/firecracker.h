/*
 * Firecracker's CPU documents as host register sets, so that fleet data
 * kept in Firecracker's format needs no hand conversion.
 *
 * Two aarch64 documents (Firecracker src/vmm/src/cpu_config and
 * src/cpu-template-helper):
 *   a custom CPU template
 *     {"reg_modifiers": [{"addr": "0x6030000000140000",
 *                         "bitmap": "0b<up to 128 of 0 1 x _>"}, ...],
 *      "kvm_capabilities": [...], "vcpu_features": [...]}
 *   a fingerprint (cpu-template-helper fingerprint dump)
 *     {"firecracker_version", "kernel_version", "microcode_version",
 *      "bios_version", "bios_revision",
 *      "guest_cpu_config": {<a custom CPU template>}}
 * "addr" is a KVM register id ("0x" hex or "0b" binary); "bitmap" is
 * Firecracker's tri-state string, most significant bit first: 0 and 1
 * set a bit, x leaves it alone, _ separates, "0b" is optional.
 *
 * Only firmware registers (coprocessors 0x14 and 0x16) are taken, and each
 * must be a whole value: every one of bits 63:0 given (no x, which would
 * mean "whatever the host has") and none of bits 127:64 set. Every other
 * register and member is ignored, and the import says so.
 * kernel_release is the fingerprint's kernel_version ("" for a template).
 *
 * Plain data, no allocation except firecracker_import_json()'s result.
 */
#ifndef PINVM_API_FIRECRACKER_H
#define PINVM_API_FIRECRACKER_H

#include "api_error.h"
#include "hostset.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

enum fc_format {
	FC_FORMAT_NONE,        /* pinvm's own host set */
	FC_FORMAT_TEMPLATE,    /* a custom CPU template */
	FC_FORMAT_FINGERPRINT, /* a cpu-template-helper fingerprint */
};

#define FC_MAX_IGNORED_MEMBERS 8

struct fc_import {
	enum fc_format format;
	size_t firmware;   /* firmware registers taken */
	size_t ignored;    /* other reg_modifiers entries, ignored */
	/* Members present but meaningless for the hypercall ABI (static
	 * strings): "kvm_capabilities", "microcode_version", ... */
	size_t nignored_members;
	const char *ignored_members[FC_MAX_IGNORED_MEMBERS];
};

/*
 * Is doc (borrowed) a Firecracker document rather than pinvm's host set?
 * True for an object with "reg_modifiers" or "guest_cpu_config".
 */
bool firecracker_is_document(const json_t *doc);

/*
 * Parses a Firecracker template or fingerprint into *out (and *info, which
 * may be NULL). Returns 0, or -EINVAL with err filled (*out unspecified):
 *   400 wrong_type             a member of the wrong JSON type
 *   422 missing_field          no reg_modifiers, an entry without addr or
 *                              bitmap, a fingerprint without
 *                              guest_cpu_config or kernel_version
 *   422 unknown_field          a member neither format defines
 *   422 wrong_architecture     x86_64 members (cpuid_modifiers,
 *                              msr_modifiers): no arm64 firmware registers
 *   422 bad_value              addr without a 0x/0b prefix or over 64 bits
 *   422 bad_bitmap             a bitmap with another character or over 128
 *                              bits
 *   422 partial_value          a firmware register with bits left x
 *   422 value_too_wide         a firmware register with bits 127:64 set
 *   422 duplicate_register     the same firmware register twice
 *   422 too_many_registers     more than HOSTSET_MAX_REGS firmware registers
 *   422 value_too_long         kernel_version over HOSTSET_RELEASE_MAX bytes
 *   422 impossible_value       hostset_check_value()
 * Fields: "reg_modifiers[3].bitmap", "guest_cpu_config.reg_modifiers[3]".
 */
int firecracker_to_hostset(const json_t *doc, struct hostset *out,
			   struct fc_import *info, struct api_error *err);

/*
 * pinvm's host set or a Firecracker document, whichever doc is: the errors
 * of hostset_from_json() or firecracker_to_hostset(). info (may be NULL)
 * says which (format FC_FORMAT_NONE for pinvm's own).
 */
int hostset_from_any_json(const json_t *doc, struct hostset *out,
			  struct fc_import *info, struct api_error *err);

/* "firecracker_template", "firecracker_fingerprint", "pinvm" */
const char *firecracker_format_name(enum fc_format f);

/*
 * {"format": "...", "firmware_registers": n, "ignored_registers": m,
 *  "ignored_members": [...], "note": "..."}. New reference, NULL when an
 * allocation fails.
 */
json_t *firecracker_import_json(const struct fc_import *info);

#endif
