/*
 * The VMs this pinvmd knows, by id. The registry holds one reference to
 * each listed entry (vm_entry.h); lookups hand out references of their
 * own, so an entry a handler is using stays valid while DELETE takes it
 * off the list and ends it on another thread.
 *
 * A creation reserves its place first (vm_registry_reserve), so the
 * --max-vms limit holds for concurrent POSTs; the reservation becomes the
 * entry (vm_registry_add) or is given back (vm_registry_unreserve).
 *
 * Thread-safe: one mutex guards the list, never held across VMM work or
 * the store. Callbacks of vm_registry_foreach run under it (lock order:
 * registry, then entry) and must not call back into the registry.
 */
#ifndef PINVM_SERVER_VM_REGISTRY_H
#define PINVM_SERVER_VM_REGISTRY_H

#include "vm_entry.h"

#include <stdbool.h>

struct vm_registry;

/* An empty registry that admits up to max VMs. 0 or -ENOMEM. */
int vm_registry_new(struct vm_registry **out, unsigned max);

/* Frees an empty registry (take every entry off it first). */
void vm_registry_free(struct vm_registry *r);

/* Holds a place for a VM being created. 0, or -ENOSPC with *held set to
 * the number of VMs and creations already counted. */
int vm_registry_reserve(struct vm_registry *r, unsigned *held);
void vm_registry_unreserve(struct vm_registry *r);

/* Lists e, taking over the caller's reference. reserved: it fills a place
 * vm_registry_reserve() held (false for VMs taken back at start-up, which
 * are listed whatever the limit). */
void vm_registry_add(struct vm_registry *r, struct vm_entry *e, bool reserved);

/* A new reference to the entry with that id, or NULL. */
struct vm_entry *vm_registry_find(struct vm_registry *r, const char *id);

/* Takes the entry off the list and hands the registry's reference to the
 * caller, or NULL when there is none with that id (any more). */
struct vm_entry *vm_registry_take(struct vm_registry *r, const char *id);

/* Takes the newest entry off the list (as take), or NULL when empty. */
struct vm_entry *vm_registry_pop(struct vm_registry *r);

/* Calls fn on every entry, newest first, until it returns false. */
void vm_registry_foreach(struct vm_registry *r,
			 bool (*fn)(struct vm_entry *e, void *arg), void *arg);

#endif
