/*
 * A running VM as a dead pinvmd left it, record and process both, for the
 * native tests of the console and the lifecycle: a "running" record for id
 * seeded into the store s, and fake-vmm (fake_vm.h) running on
 * STATE/vms/ID with cmdline. The seeding is a check of its own ("seed a
 * record"). vc's process stays the caller's to reap.
 */
#ifndef PINVM_TESTS_FAKE_VM_RECORD_H
#define PINVM_TESTS_FAKE_VM_RECORD_H

#include "store.h"
#include "vmm_client.h"

#include <stdbool.h>

bool fake_vm_left_running(const char *fake, const char *state, const char *id,
			  const char *cmdline, struct store *s, struct vmm_client *vc);

#endif
