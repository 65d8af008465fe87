/*
 * The VM names in use, so two creations can never take the same one: a
 * name is claimed before anything is created and released when the VM is
 * deleted or its creation fails. Thread-safe (one mutex, held only here).
 */
#ifndef PINVM_SERVER_VM_NAMES_H
#define PINVM_SERVER_VM_NAMES_H

struct vm_names;

/* 0 with *out, or -ENOMEM. */
int vm_names_new(struct vm_names **out);
void vm_names_free(struct vm_names *n);

/* Claims name (copied) for id (copied). 0, -EEXIST with owner (40 bytes)
 * set to the id holding it, or -ENOMEM. */
int vm_names_claim(struct vm_names *n, const char *name, const char *id, char owner[40]);

/* Releases name if id holds it (a no-op otherwise). */
void vm_names_release(struct vm_names *n, const char *name, const char *id);

#endif
