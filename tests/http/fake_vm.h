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
/* The same with the config's cmdline (fake-vmm's "fake:..." switches). */
bool fake_vm_spawn_running_with(const char *fake, const char *dir, const char *cmdline,
				struct vmm_client *vc);

#endif
