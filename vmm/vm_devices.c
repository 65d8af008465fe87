/*
 * The VM's device list (vm_internal.h, "Devices"), apart from vm.c: the
 * devices register themselves here, and vm.c, which builds them, depends
 * on them, not the other way round.
 */
#include "vm_internal.h"

#include <stddef.h>

void vm_add_device(struct vm *vm, struct vm_device *dev)
{
	struct vm_device **p = &vm->devices;

	while (*p)
		p = &(*p)->next;
	dev->next = NULL;
	*p = dev;
}

void vm_devices_destroy(struct vm *vm)
{
	/* Reverse order of registration. */
	while (vm->devices) {
		struct vm_device **p = &vm->devices, *last;

		while ((*p)->next)
			p = &(*p)->next;
		last = *p;
		*p = NULL;
		last->destroy(last);
	}
}
