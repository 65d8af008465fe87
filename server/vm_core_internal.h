/* struct vm_core and the create path's steps, shared by vm_core.c,
 * vm_adopt.c and vm_incoming.c only. */
#ifndef PINVM_SERVER_VM_CORE_INTERNAL_H
#define PINVM_SERVER_VM_CORE_INTERNAL_H

#include "vm_core.h"

#include <limits.h>
#include <stdatomic.h>

struct vm_names;
struct vm_registry;

struct vm_core {
	struct vm_registry *reg;          /* owned */
	struct store *store;              /* borrowed */
	const struct kvm_host_info *host; /* borrowed */
	char state_dir[PATH_MAX];
	char image_dir[PATH_MAX];         /* "" when none */
	unsigned max_vms;
	uint64_t console_limit;           /* bytes of console kept per VM; 0: all */
	bool stop_on_exit;
	struct vm_names *names;           /* owned: names in use (vm_names.h) */
	atomic_ullong seq;                /* the last vm_entry.seq given */
};

/* A new VM id (a random UUID). */
void vm_core_make_id(char out[40]);

/*
 * A new VM entry's identity: its creation order (list cursors), created_at
 * now, its profile name ("" none). Every path that makes a VM (create,
 * restore, incoming) sets them here, so none can miss one.
 */
void vm_core_entry_stamp(struct vm_core *c, struct vm_entry *e, const char *profile);

/* vcpus and memory against what this host can give: 422 naming the field. */
int vm_core_check_host(const struct kvm_host_info *info, const struct vm_spec *b,
		       struct api_error *err);

/*
 * config.json of a VM pinvm-vmm builds from saved state instead of a
 * kernel: kind "restore" (source: a snapshot's directory) or "incoming"
 * (source: the socket a migration arrives on), with its vCPUs, memory,
 * extra pins and SMCCC filter; the console in e's directory, bounded by
 * c->console_limit. 0, or 500 with err filled.
 */
int vm_core_write_state_config(const struct vm_core *c, const struct vm_entry *e,
			       const char *kind, const char *source, unsigned vcpus,
			       uint64_t memory_mib, const struct compat_write *pins, size_t npins,
			       const struct smccc_range *deny, size_t ndeny,
			       struct api_error *err);

/* Starts pinvm-vmm on e's directory (config.json written already). */
int vm_core_spawn_vmm(struct vm_entry *e, struct api_error *err);

/* The new pinvm-vmm's "created" (60 s at most), or why not; with report,
 * the read-back pins are checked and e->abi set. */
int vm_core_await_created(struct vm_entry *e, struct compat_report *report,
			  struct api_error *err);

#endif
