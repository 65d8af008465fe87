/*
 * A live migration out of this pinvmd (issue 11, docs/migration-format.md
 * section 4), the source's half:
 *
 *   migrate_out_start()  (the request's thread) judges the guest's
 *     firmware registers against the destination's (fetched with libcurl)
 *     by the snapshot restore rules, then asks the destination for an
 *     incoming VM (POST /v1/vms/incoming, which judges again on its own
 *     host, and the rest of the vCPU and vGIC state by the restore dry run
 *     of the VM's pre-run image, sent along: migrate_precheck.h); a
 *     refusal from either is the answer, and nothing is paused.
 *     Then a thread of the migration's own runs the rest, and the request
 *     is answered 202.
 *   the thread: migrate_out to pinvm-vmm, the bytes relayed to the
 *     destination's one-shot port (migrate_relay.h); on "migrated" the
 *     destination is told to resume the guest, and only once it answered
 *     "running" does pinvm-vmm end the guest here (migrate_commit). Any
 *     failure or a cancel before that: the destination VM is deleted (it
 *     also forgets a transfer that broke by itself) and the guest resumes
 *     here (migrate_abort). The one case it cannot resolve, a destination
 *     that may have resumed the guest and cannot be reached to delete it,
 *     leaves the guest paused here, phase "failed", saying so: two copies
 *     running is worse than one waiting for an operator.
 *
 * Progress and the outcome are the entry's `mig` (vm_entry.h), shown in
 * GET /v1/vms/{id} and published as vm.migration events. Thread-safe.
 */
#ifndef PINVM_SERVER_MIGRATE_OUT_H
#define PINVM_SERVER_MIGRATE_OUT_H

#include "api_error.h"
#include "peer_ref.h"
#include "vm_entry.h"

#include <jansson.h>

struct host_view;
struct store;

struct migrate_env {
	struct host_view *host;   /* borrowed */
	struct store *store;      /* borrowed: the VM's profile document */
	const char *default_ca;   /* --peer-ca PEM text, NULL: system CAs */
};

/*
 * Starts migrating e (a reference the caller holds) to dest (borrowed; its
 * strings are copied), the destination applying the rules of
 * api/accept_rule.h in accept. 0 once the migration runs on its own
 * thread (with accept, *extra is {"accepted": the destination's report of
 * what differs}, a new reference), or
 * -errno with err: 409 illegal_transition (not running), 409
 * migration_in_progress, 409 migration_refused (register, rule, wanted,
 * offered and the compatibility report in *extra, a new reference), the
 * destination's own refusal with its status, code and field (its
 * problem+json in *extra as destination_problem; for a 409 also its
 * register, rule, wanted, offered, restore_check and compatibility at the
 * top), peer.h's 502s and 422 bad_token_file, 500.
 */
int migrate_out_start(const struct migrate_env *env, struct vm_entry *e,
		      const struct peer_ref *dest, unsigned accept, struct api_error *err,
		      json_t **extra);

/* Asks e's migration to stop and the guest to run on here. 0, or 409
 * not_migrating when none is under way (or it is past the point of no
 * return: the destination was told to run the guest). */
int migrate_out_cancel(struct vm_entry *e, struct api_error *err);

struct compat_report;

/* For a report that is not compatible: 409 migration_refused naming the
 * first refused register (field "registers.<name>") with its rule, in
 * err, and register, rule, wanted, offered and the report in *extra (a
 * new reference); where names the destination. Returns -EPERM. */
int migrate_refusal(const struct compat_report *r, const char *where, struct api_error *err,
		    json_t **extra);

#endif
