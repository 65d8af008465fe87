/*
 * KVM work pinvmd needs outside any VM's life, done in a short-lived
 * pinvm-vmm so that a KVM fault, a crash or a hang there cannot take
 * pinvmd down: reading the host's firmware registers from a scratch vCPU
 * and running the probe guest.
 *
 *   pinvm-vmm --helper fwregs|probe|restore-check|probe-image
 *
 * (restore-check: {"path": "/abs/snapshot/dir"}, the dry run of
 * docs/snapshot-format.md section 3, vm.h vm_restore_check();
 * probe-image: {"path": "/abs/file"} writes the periodic probe guest
 * there, probe.h probe_image_write(), and answers {"ok", "calls"})
 * reads one request (JSON) on stdin, writes one answer (JSON) on stdout
 * and exits 0; the answer carries the errno and message of a failure.
 *
 * The client functions keep the contracts of kvm_host_read_fwregs() and
 * probe_run() (kvm_host.h, probe.h): same outputs, same errors, plus
 * -ECHILD when the helper died or answered nonsense and -ETIMEDOUT when it
 * was killed after its deadline. They spawn with posix_spawn, so any
 * thread may call them; each call is its own process.
 */
#ifndef PINVM_VMM_HELPER_H
#define PINVM_VMM_HELPER_H

#include "fw_pin.h"
#include "kvm_host.h"
#include "probe.h"
#include "smccc_filter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* kvm_host_read_fwregs() and kvm_host_read_idregs() in one helper;
 * *regs is malloc'd, caller frees. */
int vmm_helper_fwregs(struct kvm_fwreg **regs, size_t *nregs, struct id_regs *idregs,
		      char *err, size_t errlen);

/* probe_run_filtered() in a helper (readback is filled as there, also on
 * failure; deny may be NULL with ndeny 0: no SMCCC filter). */
int vmm_helper_probe(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
		     bool pvtime,
		     const struct smccc_range *deny, size_t ndeny, unsigned timeout_ms,
		     struct probe_result *res, size_t *failed_pin, char *err, size_t errlen);

/*
 * `pinvm-vmm --helper restore-check` on snapshot directory path (the dry
 * run of docs/snapshot-format.md section 3; the verb is the snapvmm
 * branch's), or on a directory holding only a migration's pre-run image
 * as vm.json (server/migrate_precheck.c), applying the rules of
 * api/accept_rule.h in accept (a mask of them). *answer is the helper's
 * JSON ({"compatible", "refused", "accepted", "left_at_reset"}; new
 * reference, caller drops it). 0, or -errno with
 * err: the helper's own failure ("errno"/"error" in its answer), -ECHILD,
 * -ETIMEDOUT, or -EPROTO for an answer without "compatible".
 */
int vmm_helper_restore_check(const char *path, unsigned accept, unsigned timeout_ms,
			     json_t **answer, char *err, size_t errlen);

/* pinvm-vmm's side: serves one request of kind `what` from in to out.
 * Returns the process's exit status (0 answered, 2 bad usage). */
int vmm_helper_serve(const char *what, FILE *in, FILE *out);

#endif
