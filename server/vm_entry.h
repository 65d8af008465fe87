/*
 * pinvmd's entry for one microVM: its durable record (id, spec, profile,
 * ABI report, state, reason) and its live side (the pinvm-vmm channel, the
 * supervisor thread, the operation in flight).
 *
 * Lifetime (reference counted):
 *   - vm_entry_new() returns an entry holding one reference, the caller's.
 *   - The registry (vm_registry.h) holds one reference while it lists the
 *     entry; vm_registry_find() hands out a new one to each user.
 *   - Whoever takes an entry off the registry ends its live side first
 *     (vm_end() or vm_detach(), vm_supervisor.h), which joins the
 *     supervisor thread: that thread never outlives the references.
 *   - vm_entry_put() drops one reference; the last one frees the memory.
 *     An HTTP thread that still holds an ended entry may read it (its
 *     state says what happened) and must not expect its files to exist.
 *
 * Locking: `lock` guards every mutable field below it; nobody holds it
 * across waiting on the VMM or the store. Lock order: registry, then entry.
 */
#ifndef PINVM_SERVER_VM_ENTRY_H
#define PINVM_SERVER_VM_ENTRY_H

#include "store.h"
#include "vmm_client.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* VM_CREATING: accepted by an asynchronous create, pinvm-vmm not yet
 * reporting it built (last, so the others keep their numbers). */
/*
 * A live migration out of this VM (issue 11; server/migrate_out.h runs it),
 * guarded by the entry's lock. phase "" when none ever ran; "checking"
 * (the request's checks), "precopy" (pinvm-vmm sends while the guest
 * runs), "handover" (all sent, the guest paused here, the destination
 * building it), "resuming" (the destination told to run it: no cancel
 * from here), then one of
 * "completed" (the guest runs there; this VM ends), "failed", "cancelled"
 * (the guest runs on here). rounds/bytes come from migrate_progress.
 */
struct vm_migration {
	char phase[16];
	char destination[260];
	char dest_vm[40];
	unsigned rounds;
	unsigned long long bytes, data_pages, dirty_pages, paused_ms, downtime_ms;
	char error[512];
	char started_at[32], ended_at[32];
	bool cancel;          /* DELETE /v1/vms/{id}/migrate asked for it */
	int cancel_fd;        /* the running job's eventfd, -1 when none */
};

enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_STOPPED, VM_FAILED, VM_CREATING };
#define VM_STATE_COUNT 6

struct vm_entry {
	atomic_uint refs;
	/* Set before the entry is shared, constant after. */
	char id[40];
	char created_at[32];
	char dir[PATH_MAX];     /* STATE/vms/ID (vm_dir.h); "" when none was made */
	json_t *spec;           /* the accepted request, owned */
	char profile[72];       /* "" when none */
	unsigned long long seq; /* creation order in this pinvmd (list cursors) */
	struct store *store;    /* where the record lives; borrowed */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *abi;            /* the register report, owned; NULL: no profile */
	enum vm_state state;
	char reason[512];       /* why it ended, when stopped or failed */
	unsigned reboots;       /* guest resets its pinvm-vmm booted again */
	unsigned char announced; /* the state last published (vm.state) + 1;
				  * 0: none yet, the first is not an event */
	/* When the state last changed, last started running from created or
	 * stopped, last ended; "" when never (RFC 3339, UTC). */
	char updated_at[32], started_at[32], exited_at[32];
	struct vmm_client client;
	pthread_t supervisor;
	bool has_supervisor;
	int wake_fd;            /* eventfd: an op is queued, or the end */
	bool ending;            /* DELETE: end the VM, then forget it */
	bool deleting;          /* DELETE took it: no new start of a stopped VM */
	bool detaching;         /* pinvmd is stopping: let go, leave it running */
	bool restarting;        /* vm_core_restart is booting it again */
	pthread_t creator;      /* an asynchronous create's thread (vm_core.c) */
	bool has_creator;       /* not yet joined */
	/* The op in flight: queued by an HTTP thread, sent and answered by
	 * the supervisor. */
	bool op_queued, op_sent, op_done;
	enum vmm_op op;
	int op_result;          /* 0, or -errno with op_detail */
	char op_detail[512];
	char op_path[PATH_MAX]; /* the op's "path" ("" when none) */
	unsigned long long op_bytes; /* "snapshotted": bytes written */
	unsigned op_timeout_s;  /* the op's "timeout_s" (shutdown; 0: none) */
	uint8_t op_input[VMM_PROTO_MAX_INPUT]; /* console_input's bytes */
	size_t op_input_len;
	/* Restored from a snapshot and never run: shown paused, and its
	 * first resume is pinvm-vmm's "start". */
	bool unstarted_restore;
	struct vm_migration mig;

	struct vm_entry *next;  /* the registry's list; only it touches this */
};

const char *vm_state_name(enum vm_state s);

/* A new entry (one reference, the caller's), or NULL without memory. */
struct vm_entry *vm_entry_new(void);

/* Another reference to e; returns e. */
struct vm_entry *vm_entry_get(struct vm_entry *e);

/* Drops a reference; the last one frees e. NULL is ignored. */
void vm_entry_put(struct vm_entry *e);

/* Whether a migration out of e is under way (checking to resuming). Call
 * with e->lock. */
bool vm_migration_active(const struct vm_entry *e);

/* The VM's public JSON (caller owns); call with e->lock held. "migration"
 * is there once a migration was started. */
json_t *vm_entry_to_json(const struct vm_entry *e);

/*
 * The durable record (caller owns): id, created_at, spec, abi, profile,
 * state (state_override when not NULL), reason, pid. Call with e->lock.
 */
json_t *vm_entry_record_json(const struct vm_entry *e, const char *state_override);

/* Now as RFC 3339 UTC with milliseconds ("2026-11-30T09:00:00.123Z"). */
void vm_entry_now(char out[32]);

/* Writes the record to e->store; a failure is logged (the VM goes on,
 * the record is rewritten at its next change). Call without e->lock. */
void vm_entry_persist(struct vm_entry *e);

/*
 * Who hears of persisted states: called by vm_entry_persist() without
 * e->lock, after the record is stored, with changed true when the state
 * differs from the one last announced (previous is that one). Set once at
 * start-up, before any VM exists (pinvmd sets vm_events_observe); NULL:
 * nobody. The entry knows no listener by name, so the events and the
 * long-polls can depend on it and not the other way round.
 */
typedef void (*vm_entry_observer)(const char *id, enum vm_state previous,
				  enum vm_state now, const char *reason, bool changed);
void vm_entry_set_observer(vm_entry_observer fn);

/* A stopped or failed VM's reason (as vm_entry.reason has it) as one word:
 * poweroff, shutdown (powered off after the shutdown action's button),
 * shutdown_timeout (did not, and was stopped), reboot (a reset pinvm-vmm
 * could not boot again), stopped, error, signal, crash, pinvmd_restart,
 * or unknown. Static string. */
const char *vm_exit_cause(const char *reason);

/*
 * Why a VM whose pinvm-vmm is gone ended, from its exit file when it left
 * one: fills state (VM_STOPPED or VM_FAILED) and reason. Returns false
 * when there is no exit file.
 */
bool vm_entry_read_exit(const struct vm_entry *e, enum vm_state *state,
			char *reason, size_t len);

#endif
