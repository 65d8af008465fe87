/*
 * The VM and profile events pinvmd publishes (events.h), built in one
 * place so their fields stay the same wherever they happen:
 *   vm.created      {state, profile}
 *   vm.state        {state, previous, reason?, cause?, signal?, while_pinvmd_down?,
 *                    reboots?, detail?}
 *   vm.deleted      {}
 *   vm.migration    {phase, destination, destination_vm?, rounds, bytes_sent,
 *                    ..., error?}  (the VM's "migration", at each round and
 *                    each change of phase)
 *   vm.snapshot     {phase: started|completed|failed, snapshot?, size_bytes?,
 *                    code?, detail?}  (a snapshot of the VM being taken)
 *   profile.refused {profile, code, register, rule, detail}
 * cause is poweroff, reboot, stopped, error, signal, crash or
 * pinvmd_restart (the VM was created when pinvmd stopped, and is ended).
 * Each call is thread-safe and never blocks on subscribers.
 */
#ifndef PINVM_SERVER_VM_EVENTS_H
#define PINVM_SERVER_VM_EVENTS_H

#include "api_error.h"
#include "vm_entry.h"

#include <jansson.h>
#include <stdbool.h>

/* Call without e->lock. */
void vm_events_created(struct vm_entry *e);
void vm_events_state(const char *id, enum vm_state previous, enum vm_state now,
		     const char *reason);
void vm_events_deleted(const char *id);
/* vm.state {state: running, previous, reason: "reboot", cause: "reboot",
 * reboots, detail}: the guest was reset and boots again in the same
 * pinvm-vmm (the state may stay "running"). */
void vm_events_rebooted(const char *id, enum vm_state previous, unsigned reboots,
			const char *detail);

/* vm.migration from e's migration as it stands; call without e->lock. */
void vm_events_migration(struct vm_entry *e);

/* vm.snapshot: phase "started"; "completed" with record (the snapshot's,
 * borrowed: its id and size_bytes); "failed" with err's code and detail. */
void vm_events_snapshot(const char *vm_id, const char *phase, const json_t *record,
			const struct api_error *err);

/* The observer vm_entry_persist() calls (vm_entry_set_observer): a changed
 * state is published, and long-polls (vm_wait.h) look again. */
void vm_events_observe(const char *id, enum vm_state previous, enum vm_state now,
		       const char *reason, bool changed);

/* A 409 problem body (borrowed) refusing a VM for its profile or KVM's
 * answer: published when its code is profile_refused or kvm_refused. */
void vm_events_refused(const char *profile, const json_t *problem);

#endif
