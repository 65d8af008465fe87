/*
 * The live side of a VM entry (vm_entry.h): one supervisor thread per VM
 * owns its pinvm-vmm channel, so an HTTP thread never blocks on KVM work:
 * it queues an op with vm_request() and waits for the answer. Every
 * change of state the VMM reports is written to the entry's record.
 */
#ifndef PINVM_SERVER_VM_SUPERVISOR_H
#define PINVM_SERVER_VM_SUPERVISOR_H

#include "vm_entry.h"

/* Starts the supervisor thread for a VM whose channel is open. 0 or -errno. */
int vm_supervise(struct vm_entry *e);

/*
 * Queues op and waits (up to timeout_ms) for the VMM's answer. Returns 0,
 * or -errno with detail filled: -EBUSY (another op still running),
 * -ETIMEDOUT, -ESRCH (the VM ended or is being deleted), -EINVAL (pinvm-vmm
 * rejected it), -EPIPE. Call without e->lock, holding a reference.
 */
int vm_request(struct vm_entry *e, enum vmm_op op, int timeout_ms, char *detail,
	       size_t detail_len);

/* vm_request() for an op with a "path" (snapshot); *bytes gets the
 * "snapshotted" answer's bytes (may be NULL). */
int vm_request_path(struct vm_entry *e, enum vmm_op op, const char *path, int timeout_ms,
		    unsigned long long *bytes, char *detail, size_t detail_len);

/* vm_request() for "shutdown" with its timeout_s; the answer is pinvm-vmm's
 * "shutting_down" (the button is pressed), not the end of the VM. */
int vm_request_shutdown(struct vm_entry *e, unsigned timeout_s, int timeout_ms, char *detail,
			size_t detail_len);

/* vm_request() for "console_input" with 1..VMM_PROTO_MAX_INPUT bytes;
 * -EAGAIN when the guest has not read enough of the input before. */
int vm_request_input(struct vm_entry *e, const void *data, size_t len, int timeout_ms,
		     char *detail, size_t detail_len);

/*
 * Ends the VM for good: an op waiting on it is answered -ESRCH at once,
 * pinvm-vmm is SIGKILLed and reaped, the supervisor joined, the directory
 * and the record removed. Call once, by whoever took e off the registry,
 * without e->lock; the references stay (vm_entry_put frees).
 */
void vm_end(struct vm_entry *e);

/*
 * After the VM ended (stopped or failed) and before it is booted again
 * (vm_core_restart): joins the supervisor that saw it end, makes sure its
 * pinvm-vmm is gone (SIGKILL, reap), and leaves the live side as a new
 * entry's, ready for another spawn. Call without e->lock.
 */
void vm_supervisor_reset(struct vm_entry *e);

/* Lets go of the VM without ending it: joins the supervisor and closes the
 * channel; process, directory and record stay for the next pinvmd. Same
 * calling rules as vm_end(). */
void vm_detach(struct vm_entry *e);

#endif
