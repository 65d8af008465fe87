/*
 * One supervised microVM (internal to server/vms.c and vm_record.c). A struct vm is
 * shared by HTTP threads and its supervisor thread; `lock` guards every
 * mutable field, and nobody holds it across waiting on the VMM.
 *
 * Its record (vm_record_json) is kept in the store and rewritten at every
 * change of state, by whoever changed it, after dropping the lock.
 */
#ifndef PINVM_SERVER_VM_RECORD_H
#define PINVM_SERVER_VM_RECORD_H

#include "store.h"
#include "vmm_client.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_STOPPED, VM_FAILED };

struct vm {
	char id[40];
	char created_at[32];
	char dir[PATH_MAX];     /* state-dir/vms/ID: config.json, console.log,
				 * vmm.log, control.sock, exit.json */
	char console[PATH_MAX + 16];
	json_t *spec;           /* the accepted request, owned */
	json_t *abi;            /* the register report, owned; NULL: no profile */
	char profile[72];       /* "" when none */
	struct store *store;    /* where the record lives; borrowed */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vm_state state;
	char reason[512];       /* why it ended, when stopped or failed */
	struct vmm_client client;
	pthread_t supervisor;
	bool has_supervisor;
	int wake_fd;            /* eventfd: an op is queued, or delete */
	bool deleting;          /* DELETE: end the VM, then forget it */
	bool detaching;         /* pinvmd is stopping: let go, leave it running */
	/* The op in flight: queued by an HTTP thread, sent and answered by
	 * the supervisor. */
	bool op_queued, op_sent, op_done;
	enum vmm_op op;
	int op_result;          /* 0, or -errno with op_detail */
	char op_detail[512];

	struct vm *next;
};

const char *vm_state_name(enum vm_state s);

/* The VM's public JSON (caller owns); call with vm->lock held. */
json_t *vm_to_json(const struct vm *vm);

/*
 * The durable record (caller owns): id, created_at, spec, abi, profile,
 * state (state_override when not NULL), reason, pid. Call with vm->lock.
 */
json_t *vm_record_json(const struct vm *vm, const char *state_override);

/* Writes the record to vm->store; a failure is logged (the VM goes on,
 * the record is rewritten at its next change). Call without vm->lock. */
void vm_persist(struct vm *vm);

/*
 * Why a VM whose pinvm-vmm is gone ended, from its exit file when it left
 * one: fills state (VM_STOPPED or VM_FAILED) and reason. Returns false
 * when there is no exit file.
 */
bool vm_read_exit(const struct vm *vm, enum vm_state *state, char *reason,
		  size_t len);

/* Starts the supervisor thread for a created VM. 0 or -errno. */
int vm_supervise(struct vm *vm);

/*
 * Queues op and waits (up to timeout_ms) for the VMM's answer. Returns 0,
 * or -errno with detail filled. Call without vm->lock.
 */
int vm_request(struct vm *vm, enum vmm_op op, int timeout_ms, char *detail,
	       size_t detail_len);

/* Ends the VM (SIGKILL if needed), joins its supervisor, removes its
 * directory and its record, and frees it. The VM must be off the
 * manager's list. */
void vm_destroy(struct vm *vm);

/* Lets go of the VM without ending it: joins the supervisor, closes the
 * channel and frees the memory; process, directory and record stay for
 * the next pinvmd. */
void vm_detach(struct vm *vm);

#endif
