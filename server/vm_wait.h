/*
 * GET /v1/vms/{id}?wait_for=STATE&timeout=S: a bounded long-poll that
 * answers once the VM is in STATE, can no longer get there by itself
 * (stopped or failed, or created-or-later when waiting for created), or
 * the timeout passed; the answer is the VM's JSON as it is then (200; its
 * state says which). The connection is suspended meanwhile, so a waiter
 * holds no request thread; every VM state change (vm_entry_persist) and a
 * timer for the deadlines resume them.
 *
 * Thread-safe; one mutex guards the waiters, never held across anything
 * but libmicrohttpd's suspend/resume and an entry's lock (order: waiters,
 * then entry).
 */
#ifndef PINVM_SERVER_VM_WAIT_H
#define PINVM_SERVER_VM_WAIT_H

#include "api_error.h"
#include "vm_entry.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct MHD_Connection;
struct vm_waiter;

/* Starts the deadline timer. 0 or -errno. */
int vm_wait_open(void);
/* After every waiter is gone (the daemons stopped). */
void vm_wait_close(void);
/* Drain: every waiter answers now, as the VM is. */
void vm_wait_end_all(void);
/* VM id's state changed: its waiters look again (only its: 64 waiters
 * each woken by every other VM's change kept libmicrohttpd's threads
 * busy resuming and suspending them). */
void vm_wait_notify(const char *id);

/* Whether e (with e->lock held) is done being waited on for want. */
bool vm_wait_done(const struct vm_entry *e, enum vm_state want);

/* A waiter on e (a new reference is taken) for want, at most timeout_s,
 * answered on conn with vm_wait_reader/vm_wait_free. 0, or -errno with
 * err (503 shutting_down, 500). */
int vm_wait_new(struct vm_entry *e, enum vm_state want, unsigned timeout_s,
		struct MHD_Connection *conn, struct vm_waiter **out, struct api_error *err);

ssize_t vm_wait_reader(void *cls, uint64_t pos, char *buf, size_t max);
void vm_wait_free(void *cls);

#endif
