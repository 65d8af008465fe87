/*
 * The verdict of `pinvm-vmm --helper restore-check` (vmm_helper.h, the
 * answer of docs/snapshot-format.md section 3) as a refusal: one place for
 * the problem a snapshot restore and a live migration answer when this
 * host's KVM will not take the vCPU or vGIC state, so both name the
 * register and the rule alike. Pure (jansson, api_error); thread-safe.
 */
#ifndef PINVM_SERVER_RESTORE_REFUSAL_H
#define PINVM_SERVER_RESTORE_REFUSAL_H

#include "api_error.h"

#include <jansson.h>

/*
 * For an answer rc whose "compatible" is false: 409 `code` with field
 * "registers.<register>" of its first refusal and a detail that reads
 * "<subject> on <host>: register R wanted W, offered O (rule X): ...";
 * *extra (a new reference, or NULL without memory) gets "register",
 * "rule", "wanted", "offered" (as the answer has them; offered is absent
 * or null for a register this host does not list) and "restore_check"
 * (rc itself). Returns -EPERM. rc is borrowed.
 */
int restore_check_refusal(const json_t *rc, const char *code, const char *subject,
			  const char *host, struct api_error *err, json_t **extra);

#endif
