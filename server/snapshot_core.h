/*
 * Snapshots without HTTP (issue 10): taking one of a VM, importing an
 * archive, reading and deleting records, and judging a restore on this
 * host. handlers_snapshots.c turns requests into these calls and the
 * struct api_error they fill into problem+json.
 *
 * Records: the row in the store is the API record (snapshot_record_json,
 * state "ready"); it exists only for a complete, synced directory
 * (snapshot_store.h). Thread-safe: taking snapshots is serialised per
 * pinvmd (one at a time: a second waits), everything else is
 * independent.
 */
#ifndef PINVM_SERVER_SNAPSHOT_CORE_H
#define PINVM_SERVER_SNAPSHOT_CORE_H

#include "api_error.h"
#include "compat.h"
#include "snapshot_manifest.h"
#include "vm_entry.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct host_view;
struct store;

struct snapshot_env {
	const char *state_dir;
	struct store *store;          /* borrowed */
	struct host_view *host;       /* borrowed */
};

/*
 * Snapshots VM e (a reference the caller holds): a running VM is paused
 * and resumed after; a paused one stays paused. *record is the new
 * record (new reference). On failure the VM is left paused (resumable),
 * with no row and no directory: 409 illegal_transition (not running or
 * paused, or never run), 409 snapshot_failed (pinvm-vmm refused), 507
 * insufficient_storage (ENOSPC), 500.
 */
int snapshot_take(const struct snapshot_env *env, struct vm_entry *e, json_t **record,
		  struct api_error *err);

/*
 * Imports the tar in file fd (read from its start): unpacks, checks and
 * stores it under its manifest's id. *record as above. Errors:
 * snapshot_archive_read()'s, snapshot_manifest_parse()'s, 422
 * checksum_mismatch / size_mismatch / bad_snapshot, 409 snapshot_exists.
 * Nothing is left behind on failure.
 */
int snapshot_import(const struct snapshot_env *env, int fd, json_t **record,
		    struct api_error *err);

/* The record of id (new reference), or 404 snapshot_not_found. */
int snapshot_record(const struct snapshot_env *env, const char *id, json_t **record,
		    struct api_error *err);

/* Forgets id: the row first (nothing lists it after), then the directory.
 * A VM restored from it keeps running: its memory is mapped, and an
 * unlinked file lives as long as the mapping. 404 snapshot_not_found. */
int snapshot_delete(const struct snapshot_env *env, const char *id, struct api_error *err);

/* A stored snapshot judged for a restore. */
struct snapshot_verdict {
	char dir[PATH_MAX];
	struct snapshot_manifest m;
	struct snapshot_guest g;
	struct compat_report *report;   /* malloc'd; the firmware verdict */
	json_t *restore_check;          /* the helper's answer, or NULL (not run) */
};

/*
 * Loads snapshot id and judges its firmware registers against target
 * (NULL: this host's view, 503 no_hypervisor without KVM). With
 * run_helper, pinvm-vmm --helper restore-check judges the rest (only
 * when the firmware is compatible), applying the rules of
 * api/accept_rule.h in accept. 0 with *v filled (clear it with
 * snapshot_verdict_clear) whatever the verdict; -errno with err for a
 * snapshot that cannot be judged (404 snapshot_not_found, 422, 500, 503).
 */
int snapshot_judge(const struct snapshot_env *env, const char *id,
		   const struct hostset *target, bool run_helper, unsigned accept,
		   struct snapshot_verdict *v, struct api_error *err);

void snapshot_verdict_clear(struct snapshot_verdict *v);

/*
 * When v refuses: 409 snapshot_refused naming the first refused register
 * (field "registers.<name or id>") with its rule, wanted and offered
 * values in detail, and returns -EPERM; *extra gets the members to add to
 * the problem (register, rule, wanted, offered, compatibility,
 * restore_check; new reference). 0 when v allows the restore.
 */
int snapshot_refusal(const struct snapshot_verdict *v, struct api_error *err,
		     json_t **extra);

/* The verdict as GET /v1/snapshots/{id}/compatibility answers it: the
 * compatibility report of the synthetic profile plus "snapshot",
 * "source_kernel" and "restore_check" (null when not run). */
json_t *snapshot_verdict_json(const struct snapshot_verdict *v);

#endif
