/*
 * The per-VM directory, STATE/vms/ID: the one place that knows its layout.
 * pinvmd creates it before pinvm-vmm exists and removes it on DELETE;
 * pinvm-vmm writes the console, its log, its control socket, a
 * migration's incoming socket and its exit record there. Pure path arithmetic plus mkdir/unlink: no locking, any
 * thread.
 */
#ifndef PINVM_SERVER_VM_DIR_H
#define PINVM_SERVER_VM_DIR_H

#include <stddef.h>

enum vm_file {
	VM_FILE_CONFIG,  /* config.json: what pinvm-vmm builds (pinvmd writes) */
	VM_FILE_CONSOLE, /* console.log: the guest's UART output */
	VM_FILE_VMM_LOG, /* vmm.log: pinvm-vmm's stdout and stderr */
	VM_FILE_CONTROL, /* control.sock: where a restarted pinvmd attaches */
	VM_FILE_EXIT,    /* exit.json: why pinvm-vmm ended */
	/* incoming.sock: where a migration's destination pinvm-vmm takes the
	 * stream (pinvmd relays it there); left behind when pinvm-vmm is
	 * killed while it listens */
	VM_FILE_INCOMING,
	VM_FILE_PRERUN,  /* prerun.json: the pre-run image a migration's dry
			  * run judges (pinvm-vmm writes it, vm.h) */
	VM_FILE_COUNT
};

/* STATE/vms/ID into out. 0, or -ENAMETOOLONG. */
int vm_dir_path(const char *state_dir, const char *id, char *out, size_t len);

/* One file of the VM directory dir into out. 0, or -ENAMETOOLONG. */
int vm_dir_file(const char *dir, enum vm_file f, char *out, size_t len);

/* Creates dir (mode 0700) and its parent STATE/vms if needed. 0, or
 * -errno (-EEXIST when dir exists: it is then not ours). */
int vm_dir_create(const char *dir);

/* Removes every file the layout names (and their atomic-write
 * temporaries), then dir itself; what cannot be removed is logged. */
void vm_dir_remove(const char *dir);

#endif
