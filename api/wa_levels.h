/*
 * The SMCCC_ARCH_WORKAROUND_n levels a guest was told, and what a move
 * (a snapshot restore, a migration) does when its target would tell it
 * another. Pure: no KVM, no I/O, unit-tested natively.
 *
 * KVM stores no level (api/restore_rule.h): whatever userspace writes, a
 * guest is answered its host's. So the level a guest was told is not in
 * its vCPU state; it is in its ABI report (a VM's "abi",
 * compat_report_to_json()'s "registers"): the entry's guest_sees, or, for
 * an entry a move accepted (verdict "accepted"), its pin, the level the
 * guest had before that move. A guest moved 6.12 -> 5.10 -> 6.12 is told
 * 6.12's level at boot, is answered 5.10's on 5.10 by the caller's leave,
 * and is judged on the way back by 6.12's level again: it comes home to
 * the answers it started with.
 *
 * A move pins each level at what the guest was told (snapshot_profile());
 * compat_check() refuses a target below it (workaround_level_above_host)
 * and answers guest_sees_host for a target above it, which a move turns
 * into a refusal (workaround_level_differs) unless the caller accepts
 * that rule (api/accept_rule.h, ACCEPT_WA_LEVEL).
 *
 * Thread-safe: no state.
 */
#ifndef PINVM_API_WA_LEVELS_H
#define PINVM_API_WA_LEVELS_H

#include "compat.h"
#include "fw_pin.h"

#include <jansson.h>
#include <stddef.h>

#define WA_LEVELS_MAX 3 /* SMCCC_ARCH_WORKAROUND_1..3 */

/*
 * The levels abi (borrowed; a VM's ABI report "registers" array, may be
 * NULL) says its guest was told, one per workaround register it lists,
 * into out (at most max, sorted by id). Entries without a usable value
 * are skipped: the caller's default (the host's level) then stands.
 * Returns the count.
 */
size_t wa_levels_told(const json_t *abi, struct fw_pin *out, size_t max);

/*
 * A move's verdict: every guest_sees_host entry of r (a target above the
 * level the guest was told) becomes "accepted" when accept has
 * ACCEPT_WA_LEVEL, else "refused" with rule workaround_level_differs and
 * r->compatible false.
 */
void wa_levels_judge_move(struct compat_report *r, unsigned accept);

/*
 * A move's whole "accepted" list (new reference; NULL without memory):
 * a copy of vcpu (the vCPU state's, from restore-check or the pre-run
 * check; borrowed, NULL: none), then r's accepted entries as
 * AcceptedDifference objects ({"register": KVM id "0x...", "rule",
 * "wanted", "kept", "detail"}).
 */
json_t *wa_levels_accepted(const json_t *vcpu, const struct compat_report *r);

#endif
