/*
 * The configuration of one microVM, as pinvmd writes it for pinvm-vmm
 * (--config FILE). A JSON object, unknown keys rejected:
 *
 *   {"kernel": "/images/debian-6.1-arm64.Image",   arm64 Image, required
 *    "initrd": "/images/busybox-initramfs.cpio.gz", null or absent: none
 *    "cmdline": "console=ttyS0",                   at most 2047 bytes
 *    "vcpus": 2,                                    1..512
 *    "memory_mib": 256,                             32..16777216; <= host RAM
 *    "console": "/var/lib/pinvm/vms/ID/console.log", UART output appended
 *    "console_limit": 1048576,                     optional, see below
 *    "pins": [{"id": "0x6030000000140000", "value": "0x10000"}],
 *    "restore": "/abs/snapshot/dir",               optional
 *    "incoming": "/abs/migration.sock",            optional
 *    "cpu_features": {"pmu": true, "sve": {"vector_length": 512},
 *                     "pauth": true},              optional (api/cpu_features.h)
 *    "accept": ["el2_feature_differs"],           optional, with "restore" or
 *                                                  "incoming" (api/accept_rule.h)
 *    "id_registers": [{"id": "0x603000000013c028", "mask": "0xf",
 *                      "value": "0x6"}]}           optional: ID register fields
 *                                                  written at vCPU init (api/id_regs.h)
 *
 * Register ids and values are strings holding a 0x-prefixed hex 64-bit
 * number (ju_parse_hex, api/jsonutil.h: the one hex rule of the project).
 * "pins" may be absent or empty.
 *
 * "console_limit" bounds the console log's disk use: pinvm-vmm keeps at
 * least the newest console_limit bytes and punches holes in what is older
 * (console_log.h), so offsets in the file stay absolute byte counts.
 * Absent or 0: unbounded (a config written before the key existed).
 *
 * With "restore" the VM is rebuilt from that snapshot directory
 * (docs/snapshot-format.md section 2) instead of booted: "kernel",
 * "initrd" and "cmdline" are optional and ignored, "vcpus" and
 * "memory_mib" must equal the snapshot's, "pins" are extra pins written
 * after the saved registers, "smccc_deny" is applied as at creation.
 *
 * Builds everywhere (no KVM): pinvmd writes configs, pinvm-vmm reads them.
 */
#ifndef PINVM_VMM_CONFIG_H
#define PINVM_VMM_CONFIG_H

#include "cpu_features.h"
#include "fw_pin.h"
#include "id_regs.h"
#include "smccc_filter.h"
#include "vmm_error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* vcpus, memory_mib and cmdline have the limits of a VM request: one set,
 * VM_SPEC_* in api/vm_spec.h. */
#define VMM_CONFIG_MAX_PINS 64u
#define VMM_CONFIG_MAX_SMCCC_DENY SMCCC_RANGES_MAX
#define VMM_CONFIG_MAX_CONSOLE_LIMIT (UINT64_C(1) << 40)

struct vmm_config {
	char *kernel;        /* malloc'd; owned; NULL only with restore */
	char *initrd;        /* malloc'd or NULL (no initrd); owned */
	char *cmdline;       /* malloc'd, never NULL after a load; owned */
	char *console;       /* malloc'd; owned */
	uint64_t console_limit; /* bytes kept at least; 0: unbounded */
	unsigned vcpus;
	uint64_t memory_mib;
	struct fw_pin *pins;  /* malloc'd array of npins; owned */
	size_t npins;
	/*
	 * "smccc_deny": [{"base": "0x..", "count": "0x.."}]: ranges of SMCCC
	 * function ids set to DENY with KVM's SMCCC filter before the first
	 * KVM_RUN (api/smccc_filter.h makes them). malloc'd; owned.
	 */
	struct smccc_range *smccc_deny;
	size_t nsmccc_deny;
	char *restore;       /* malloc'd or NULL; owned */
	/*
	 * "incoming": "/abs/path.sock": the destination of a live migration
	 * (docs/migration-format.md). pinvm-vmm listens there, receives one
	 * stream, and builds the VM from it as "restore" does from a
	 * snapshot (same rules for the other keys). Excludes "restore".
	 */
	char *incoming;      /* malloc'd or NULL; owned */
	/* Set at KVM_ARM_VCPU_INIT on every vCPU (vcpu_features.h); pinvmd
	 * checked them against the host before spawning. */
	struct cpu_features cpu_features;
	/* Rules of api/accept_rule.h the restore may apply: a register this
	 * host will not take keeps this host's value when one covers it. */
	unsigned accept;
	/* ID register fields every vCPU shows: written after
	 * KVM_ARM_VCPU_INIT, read back, before the first KVM_RUN. */
	size_t nid_pins;
	struct id_pin id_pins[ID_REGS_MAX];
};

/*
 * Fills *cfg (zeroed first) from a parsed object; on failure nothing is
 * left allocated and err names the offending key (step "config").
 */
int vmm_config_from_json(const json_t *obj, struct vmm_config *cfg,
			 struct vmm_error *err);

/* A new reference to the JSON form of cfg, or NULL when out of memory. */
json_t *vmm_config_to_json(const struct vmm_config *cfg);

/* Reads and validates FILE. */
int vmm_config_load(const char *path, struct vmm_config *cfg,
		    struct vmm_error *err);

/*
 * Validates cfg and writes it to path, mode 0600, atomically (a temporary
 * file in the same directory renamed over path).
 */
int vmm_config_save(const struct vmm_config *cfg, const char *path,
		    struct vmm_error *err);

/*
 * Writes obj (json_dumpfd flags, then a newline) to path, mode 0600,
 * atomically: path.tmp, fsync, rename. Borrows obj. 0 or -errno with err
 * (its step is `step`).
 */
int vmm_json_save(const json_t *obj, size_t flags, const char *path,
		  const char *step, struct vmm_error *err);

/* Frees what cfg owns and zeroes it; cfg itself is the caller's. */
void vmm_config_free(struct vmm_config *cfg);


#endif
