/*
 * A VM as a dead pinvmd leaves it, for the native tests of re-adoption:
 * fake-vmm (tests/vmm/fake_vmm.c, the protocol without KVM) spawned on
 * DIR's config, started, its first channel closed, listening on
 * DIR/control.sock. vc's process stays the caller's to reap.
 */
#ifndef PINVM_TESTS_FAKE_VM_H
#define PINVM_TESTS_FAKE_VM_H

#include "vmm_client.h"

#include <stdbool.h>

bool fake_vm_spawn_running(const char *fake, const char *dir, struct vmm_client *vc);
/* The same with cmdline (fake-vmm's modes, tests/vmm/fake_vmm.c). */
bool fake_vm_spawn_running_cmdline(const char *fake, const char *dir, const char *cmdline,
				   struct vmm_client *vc);

#endif
