/*
 * The vCPU and vGIC half of a live migration's check before the guest is
 * paused (issue 11). The firmware registers are judged by the snapshot
 * restore rules (migrate_out.c, handlers_migrate.c); everything else KVM
 * holds for a vCPU (the KVM_GET_REG_LIST registers: ID registers, CCSIDR,
 * CLIDR, OSLSR_EL1, ...) and the vGIC's GICD_IIDR only the destination's
 * KVM can judge. So the source sends its VM's pre-run image (vm.h
 * vm_prerun_gather, vmm/prerun_image.h), and the destination runs the
 * snapshot restore's exact dry run on it (`pinvm-vmm --helper
 * restore-check`, docs/snapshot-format.md section 3) before it creates
 * anything or opens a port; a refusal is 409 migration_refused naming the
 * register and rule as a snapshot restore's refusal does
 * (restore_refusal.h). The replay after the pause still judges what the
 * guest changed since (a physical timer it enabled, ...).
 *
 * Thread-safe: no shared state; each dry run is its own process and its
 * own temporary directory.
 */
#ifndef PINVM_SERVER_MIGRATE_PRECHECK_H
#define PINVM_SERVER_MIGRATE_PRECHECK_H

#include "api_error.h"
#include "vm_entry.h"

#include <jansson.h>
#include <stdint.h>

/*
 * The source's half: e's pre-run image (VMDIR/prerun.json, a new
 * reference) for a VM of memory_mib MiB, or NULL when e has none or it is
 * unusable (logged, with the reason: the migration is then judged after
 * the pause, by the destination's replay, as before images existed).
 */
json_t *migrate_precheck_image(const struct vm_entry *e, uint64_t memory_mib);

/* The destination's check of the body's image (borrowed) for a VM of
 * memory_mib MiB: 0, or -EINVAL with 422 bad_prerun_image naming the
 * field ("prerun" or "prerun.<key>", e.g. "prerun.vcpu[0].regs[7].id"). */
int migrate_precheck_validate(const json_t *img, uint64_t memory_mib, struct api_error *err);

/*
 * The destination's dry run of img (checked, borrowed) on this host, in
 * STATE/snapshots/.tmp-* (removed after; a leftover goes at the next
 * start-up's sweep), applying the rules of api/accept_rule.h in accept
 * (*accepted: the differences they cover, a new reference to the dry
 * run's "accepted" array, or NULL). 0 when this host's KVM takes the
 * state; -EPERM with
 * 409 migration_refused (field "registers.<id>", and register, rule,
 * wanted, offered and restore_check in *extra, a new reference); other
 * -errno with 500 restore_check_failed or state_error. host names this
 * host in the detail (its kernel release).
 */
int migrate_precheck_run(const char *state_dir, const json_t *img, unsigned accept,
			 const char *host, json_t **accepted, struct api_error *err,
			 json_t **extra);

#endif
