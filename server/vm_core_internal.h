/* struct vm_core and the create path's steps, shared by vm_core.c,
 * vm_begin.c, vm_adopt.c and vm_incoming.c only. */
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
	struct vmm_standby *standby;      /* owned; NULL: none (no KVM, or 0 asked for) */
};

/*
 * What one new VM's start differs in: create, restore and incoming each
 * give theirs to vm_core_begin().
 */
struct vm_core_begin_args {
	/* The VM's spec: a new reference, stolen (also on failure); NULL
	 * stands for out of memory. Its "name", when it has one, is claimed:
	 * names are unique, and vm_core_delete() gives it back. */
	json_t *spec;
	const struct vm_spec *fit;   /* vcpus, memory_mib, cpu_features: held against the host */
	const char *profile;         /* NULL or "": none */
	/* The caller's own checks (NULL: none), each 0 or -errno with err:
	 * check_before_host once the name is held, check_after_host once the
	 * host has the room. Nothing exists yet when they run. */
	int (*check_before_host)(void *arg, struct api_error *err);
	int (*check_after_host)(void *arg, struct api_error *err);
	void *arg;
};

/*
 * The start every new VM shares: a place under --max-vms (409
 * too_many_vms), its name (409 name_taken), the caller's checks around the
 * host's (vm_core_check_host), an entry stamped with its id, creation order,
 * created_at and profile, its directory, and its "creating" record in the
 * store (so a pinvmd that dies from here on leaves its successor something
 * to find). 0 with *out the entry (the caller's one reference, not listed
 * yet), or -errno with err and nothing left behind. From then on the caller
 * either lists the entry (vm_registry_add, reserved) or gives everything
 * back with vm_core_abandon().
 */
int vm_core_begin(struct vm_core *c, const struct vm_core_begin_args *a,
		  struct vm_entry **out, struct api_error *err);

/* Undoes a vm_core_begin() whose entry is not listed: ends its pinvm-vmm
 * if one was started, removes its directory and record, gives back its
 * name and place, and drops the caller's reference. */
void vm_core_abandon(struct vm_core *c, struct vm_entry *e);

/* vcpus, memory and cpu features against what this host has (as probed
 * at start-up): 422 naming the field, 503 without KVM. */
int vm_core_check_host(const struct kvm_host_info *info, const struct vm_spec *b,
		       struct api_error *err);

/*
 * config.json of a VM pinvm-vmm builds from saved state instead of a
 * kernel: kind "restore" (source: a snapshot's directory) or "incoming"
 * (source: the socket a migration arrives on), with its vCPUs, memory,
 * extra pins and SMCCC filter, and the rules of api/accept_rule.h its
 * restore may apply (accept); the console in e's directory, bounded by
 * c->console_limit. 0, or 500 with err filled.
 */
int vm_core_write_state_config(const struct vm_core *c, const struct vm_entry *e,
			       const char *kind, const char *source, unsigned vcpus,
			       uint64_t memory_mib, const struct fw_pin *pins, size_t npins,
			       const struct smccc_range *deny, size_t ndeny, unsigned accept,
			       struct api_error *err);

/* Starts pinvm-vmm on e's directory (config.json written already). */
int vm_core_spawn_vmm(const struct vm_core *c, struct vm_entry *e, struct api_error *err);

/* The new pinvm-vmm's "created" (60 s at most), or why not; with report,
 * the read-back pins are checked and e->abi set. */
int vm_core_await_created(struct vm_entry *e, struct compat_report *report,
			  struct api_error *err);

#endif
