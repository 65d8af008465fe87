/* struct vm_core, shared by vm_core.c and vm_adopt.c only. */
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

#endif
