/*
 * A VM request (POST /v1/vms): types and ranges of the body, before
 * anything looks at the host or the image directory.
 *
 *   {"vcpus": 2,                      integer, required, 1..512
 *    "memory_mib": 256,               integer, required, 32..16777216
 *    "kernel": "Image",               string, required
 *    "initrd": "initramfs.cpio.gz",   string or null, optional
 *    "cmdline": "console=ttyS0",      string, optional, <= 2047 bytes
 *    "profile": "lab-5.10",           string, optional
 *    "name": "web-1",                 string, optional (vm_meta.h)
 *    "labels": {"tier": "web"},       object of strings, optional (vm_meta.h)
 *    "cpu_features": {"pmu": true}}   object, optional (cpu_features.h)
 *
 * Only the JSON types and the ranges are checked here: whether the kernel
 * and initrd name files in the image directory, whether the host has that
 * many vCPUs and that much memory, whether its KVM can give the cpu
 * features, and whether the profile exists are the server's business.
 *
 * These limits are the only ones: pinvm-vmm's config (vmm/vmm_config.h)
 * checks against them too.
 */
#ifndef PINVM_API_VM_SPEC_H
#define PINVM_API_VM_SPEC_H

#include "api_error.h"
#include "cpu_features.h"

#include <jansson.h>

#define VM_SPEC_MAX_VCPUS 512u
#define VM_SPEC_MIN_MEMORY_MIB 32u
#define VM_SPEC_MAX_MEMORY_MIB 16777216u /* 16 TiB, 1 << 24 MiB */
#define VM_SPEC_MAX_CMDLINE 2047u        /* bytes: arm64 COMMAND_LINE_SIZE - 1 */

/*
 * The strings borrow from the body passed to vm_spec_parse(): they stay
 * valid while the body (and those members) live. Optional strings that
 * were absent (or, for initrd, null) are NULL.
 */
struct vm_spec {
	json_int_t vcpus;      /* 1..VM_SPEC_MAX_VCPUS */
	json_int_t memory_mib; /* VM_SPEC_MIN_MEMORY_MIB..VM_SPEC_MAX_MEMORY_MIB */
	const char *kernel;    /* never NULL after a successful parse */
	const char *initrd;    /* NULL: no initrd */
	const char *cmdline;   /* NULL: none given; <= VM_SPEC_MAX_CMDLINE bytes */
	const char *profile;   /* NULL: no profile */
	const char *name;      /* NULL: none; vm_name_check passed */
	const json_t *labels;  /* NULL: none; an object vm_labels_check passed */
	struct cpu_features cpu_features; /* all off when absent */
	bool has_cpu_features;            /* "cpu_features" given, not null */
};

/*
 * Parses a VM request body (borrowed, not modified). Returns 0 with *out
 * filled, or -EINVAL with *out zeroed and err (which may be NULL) filled,
 * checking in this order:
 *   400 wrong_type      field ""          body is not a JSON object
 *   422 unknown_field   field <the key>   a member other than the nine above
 *   422 missing_field   "vcpus", "memory_mib", "kernel" (in that order)
 *   400 wrong_type      "vcpus", "memory_mib"   not an integer
 *   400 wrong_type      "kernel", "initrd", "cmdline", "profile", "name"
 *                       not a string (initrd alone may be null; a null
 *                       kernel, cmdline, profile or name is a wrong_type)
 *   400 wrong_type      "labels"      not an object
 *   422 out_of_range    "vcpus"       < 1 or > VM_SPEC_MAX_VCPUS
 *   422 out_of_range    "memory_mib"  < VM_SPEC_MIN_MEMORY_MIB or
 *                                     > VM_SPEC_MAX_MEMORY_MIB
 *   422 value_too_long  "cmdline"     more than VM_SPEC_MAX_CMDLINE bytes
 *   then vm_name_check and vm_labels_check (vm_meta.h), then
 *   cpu_features_parse (cpu_features.h: fields "cpu_features...")
 * Strings are taken as C strings (up to their first NUL; a body loaded
 * without JSON_ALLOW_NUL has none). Allocates nothing.
 */
int vm_spec_parse(const json_t *body, struct vm_spec *out,
		  struct api_error *err);

/*
 * A profile that pins vCPU features (profile.h: pinned, the profile named
 * profile) over a VM request: a spec without "cpu_features" takes the
 * profile's, into *spec and into doc (the stored request, so that a
 * restart and GET show them); a spec that gives them must say exactly the
 * same, else 422 profile_conflict at "cpu_features". 0, -EINVAL, or
 * -ENOMEM (500 out_of_memory).
 */
int vm_spec_take_profile_cpu(struct vm_spec *spec, json_t *doc,
			     const struct cpu_features *pinned, const char *profile,
			     struct api_error *err);

#endif
