/*
 * Snapshots as pinvmd sees them (issue 10; docs/snapshot-format.md is the
 * contract with pinvm-vmm): the manifest pinvmd writes beside pinvm-vmm's
 * vm.json and mem.raw, what vm.json says about the guest's ABI, and the
 * firmware check of a restore, all without I/O or KVM.
 *
 * manifest.json (format 1), written by pinvmd last, after every other file
 * is synced; readers take unknown keys (either side may add some):
 *
 *   {"format": 1,
 *    "id": "6f1c...-...",                      the snapshot's id (36 chars)
 *    "created": "2026-11-30T09:00:00Z",
 *    "vm": {"id": "<source VM id>", "vcpus": 2, "memory_mib": 128,
 *           "cmdline": "..."|null, "kernel": "name"|null, "initrd": "name"|null},
 *    "source": {"kernel_release": "6.12.117+deb13-cloud-arm64",
 *               "firmware_registers": <hostset document>|null},
 *    "profile": {"name": "lab-6.12"|null, "document": {...}|null,
 *                "applied": [{"id": "0x..", "value": "0x.."}],
 *                "readbacks": [{"id": "0x..", "value": "0x..", "readback": "0x.."}],
 *                "workaround_levels": [{"id": "0x..", "value": "0x.."}]},
 *    "files": {"vm.json": {"sha256": "<64 hex>", "size": N},
 *              "mem.raw": {"sha256_pages": "<64 hex>", "size": N},
 *              "console.log": {"sha256": ..., "size": N}}}
 *
 * mem.raw's digest is over its pages, not its bytes, so that holes cost
 * nothing to check (a 1 GiB guest is mostly holes, and SHA-256 over
 * zeros takes seconds natively, minutes emulated): SHA-256 of, for every
 * 4 KiB page that is not all zero, in order, the page number (8 bytes,
 * little-endian) then the page. A zero page reads the same whether it is
 * a hole or written zeros, so the digest does not depend on how a file
 * system stores it.
 *
 * source.firmware_registers is the source host's whole set as pinvmd saw it
 * (null when it could not read one); profile.document is the stored profile
 * the VM was created under; applied are the pins written, readbacks what
 * pinvm-vmm read back (vm.json's "pins"); workaround_levels the
 * SMCCC_ARCH_WORKAROUND_n levels the guest was told (api/wa_levels.h:
 * KVM stores none, so vm.json's values are only the source host's), and
 * when present they stand in for vm.json's. Snapshots written before
 * pinvm recorded them have none: vm.json's values, what the guest was
 * answered on the source, stand.
 *
 * The firmware check: the guest must see on the target what it saw on the
 * source. The snapshot becomes a synthetic profile in which every firmware
 * register vCPU 0 had (vm.json, coprocessors 0x14 and 0x16; vm.json's pin
 * readbacks when it lists none) is pinned to its saved value, and every
 * feature bitmap (0x16) the source did not list, whether the target lists
 * it or pinvm catalogues it, is pinned 0: the guest saw no such services.
 * The profile's "smccc" member comes from profile.document. compat_check()
 * then judges it against the target's set, so verdicts and rule names are
 * the profiles' own (psci_version_unsupported, workaround_level_above_host,
 * register_absent_on_host, ...), and a workaround level the target would
 * answer differently is a move's own rule (wa_levels_judge_move():
 * workaround_level_differs, unless accepted).
 */
#ifndef PINVM_API_SNAPSHOT_MANIFEST_H
#define PINVM_API_SNAPSHOT_MANIFEST_H

#include "api_error.h"
#include "compat.h"
#include "hostset.h"
#include "profile.h"
#include "wa_levels.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_FORMAT 1
#define SNAPSHOT_ID_LEN 36

enum snapshot_file_kind {
	SNAPSHOT_FILE_VM_JSON,
	SNAPSHOT_FILE_MEM_RAW,
	SNAPSHOT_FILE_CONSOLE,
	SNAPSHOT_NFILES,
};

/* "vm.json", "mem.raw", "console.log"; the manifest is "manifest.json". */
extern const char *const snapshot_file_names[SNAPSHOT_NFILES];
#define SNAPSHOT_MANIFEST_NAME "manifest.json"

/* "sha256_pages" for mem.raw (the page digest above), else "sha256". */
const char *snapshot_digest_key(enum snapshot_file_kind k);

struct snapshot_file {
	char sha256[65]; /* lowercase hex: snapshot_digest_key()'s digest */
	uint64_t size;   /* bytes (apparent size: mem.raw's holes count) */
};

/*
 * A parsed manifest. Strings point into doc, which the manifest owns (one
 * reference); snapshot_manifest_clear() drops it.
 */
struct snapshot_manifest {
	json_t *doc;
	int format;
	const char *id;
	const char *created;
	const char *vm_id;            /* "" when the document has none */
	unsigned vcpus;
	uint64_t memory_mib;
	const char *kernel_release;   /* the source's */
	const char *profile_name;     /* NULL: none */
	const json_t *profile_doc;    /* borrowed from doc; NULL: none */
	const json_t *source_fwregs;  /* borrowed from doc; NULL: none */
	size_t nlevels;               /* profile.workaround_levels, sorted by id */
	struct fw_pin levels[WA_LEVELS_MAX];
	struct snapshot_file files[SNAPSHOT_NFILES];
};

/* What the server gathered, for snapshot_manifest_build(); all borrowed. */
struct snapshot_manifest_in {
	const char *id, *created, *vm_id;
	unsigned vcpus;
	uint64_t memory_mib;
	const char *cmdline, *kernel, *initrd; /* NULL: none */
	const char *kernel_release;
	const json_t *source_fwregs;           /* NULL: none */
	const char *profile_name;              /* NULL: none */
	const json_t *profile_doc, *applied, *readbacks; /* NULL: none / [] */
	const struct fw_pin *levels;           /* wa_levels_told()'s, nlevels */
	size_t nlevels;
	struct snapshot_file files[SNAPSHOT_NFILES];
};

/* The manifest document (new reference), or NULL without memory. */
json_t *snapshot_manifest_build(const struct snapshot_manifest_in *in);

/*
 * Validates doc (borrowed; a reference is taken) into *m. 0, or -EINVAL
 * with err filled (field "manifest.<path>"):
 *   400 wrong_type          not an object, a member of the wrong type
 *   422 unsupported_format  format newer than SNAPSHOT_FORMAT
 *   422 missing_field, bad_snapshot_id, out_of_range, value_too_long,
 *       bad_sha256, bad_value, bad_hex, duplicate_register (workaround_levels),
 *       not_a_workaround_register (workaround_levels: an id other than
 *       SMCCC_ARCH_WORKAROUND_1..3)
 * and, for source.firmware_registers, hostset_from_json()'s errors.
 * On failure *m holds nothing.
 */
int snapshot_manifest_parse(const json_t *doc, struct snapshot_manifest *m,
			    struct api_error *err);

/* Drops what m holds and zeroes it. */
void snapshot_manifest_clear(struct snapshot_manifest *m);

/* Whether id has the shape of a snapshot id (a UUID, lowercase hex):
 * only such ids ever name a directory. */
bool snapshot_id_valid(const char *id);

/*
 * The API record of a stored snapshot (new reference):
 *   {"id", "vm", "created", "source_kernel", "profile": name|null, "vcpus",
 *    "memory_mib", "size_bytes", "sha256", "state", "files": {name: {sha256,
 *    size}}}
 * sha256 is the manifest.json's (which holds every other file's);
 * size_bytes the apparent sizes of the four files together.
 */
json_t *snapshot_record_json(const struct snapshot_manifest *m, const char *manifest_sha256,
			     uint64_t size_bytes, const char *state);

/* What a vm.json says about the guest, as far as pinvmd needs it. */
struct snapshot_guest {
	int format;
	unsigned vcpus;
	uint64_t memory_mib;
	size_t nfw;                              /* firmware registers of vCPU 0 */
	struct hostset_reg fw[HOSTSET_MAX_REGS]; /* sorted by id, unique */
};

/*
 * Reads vm.json (borrowed) into *out. 0, or -EINVAL with err (field
 * "vm.json.<path>"): 400 wrong_type, 422 unsupported_format,
 * missing_field, out_of_range, bad_hex, duplicate_register,
 * too_many_registers. Registers other than firmware ones are not judged
 * here (pinvm-vmm --helper restore-check does).
 */
int snapshot_guest_from_vm_json(const json_t *vm, struct snapshot_guest *out,
				struct api_error *err);

/*
 * Sets the value of each register of lv[0..n) in g (inserted in id order
 * when g lacks it and has room): what a guest was told (a pin written,
 * a workaround level, wa_levels.h) standing in for what KVM read on its
 * host.
 */
void snapshot_guest_set(struct snapshot_guest *g, const struct fw_pin *lv, size_t n);

/*
 * The synthetic profile of the comment above (*out new, caller frees with
 * profile_free), named `name`. profile_doc (borrowed, may be NULL) gives
 * "smccc"; target (may be NULL) adds its bitmaps. 0, or -EINVAL/-ENOMEM
 * with err: 422 bad_snapshot (a saved value no profile may pin, a profile
 * document that does not parse), 500 out_of_memory.
 */
int snapshot_profile(const struct snapshot_guest *g, const json_t *profile_doc,
		     const struct hostset *target, const char *name, struct profile **out,
		     struct api_error *err);

/*
 * snapshot_profile() judged by compat_check() against target into *out,
 * then as a move (wa_levels_judge_move(), accept: api/accept_rule.h's
 * mask).
 */
int snapshot_check(const struct snapshot_guest *g, const json_t *profile_doc,
		   const struct hostset *target, const char *name, unsigned accept,
		   struct compat_report *out, struct api_error *err);

/*
 * The writes of a compatible report r that restore must add after the
 * saved registers: those of registers the guest's snapshot does not hold
 * (the zero-pinned bitmaps). Copies up to max into out; returns the count.
 */
size_t snapshot_extra_pins(const struct snapshot_guest *g, const struct compat_report *r,
			   struct fw_pin *out, size_t max);

/*
 * The bodies that name a snapshot (borrowed strings point into body):
 *   POST /v1/vms          {"snapshot": ID, "accept": [rule, ...]} nothing
 *                         else: the kernel, the profile, vcpus and memory
 *                         come from the snapshot; "accept" (optional) names
 *                         the differences the restore may keep this host's
 *                         value for (api/accept_rule.h; *accept, a mask)
 *   POST /v1/compatibility {"snapshot": ID, "host": {register set}}
 * Errors: 400 wrong_type; 422 unknown_field (the key), missing_field;
 * hostset_from_json()'s under "host"; accept_rules_parse()'s.
 */
int snapshot_restore_request_parse(const json_t *body, const char **id, unsigned *accept,
				   struct api_error *err);
int snapshot_compat_request_parse(const json_t *body, const char **id, struct hostset *host,
				  struct api_error *err);

#endif
