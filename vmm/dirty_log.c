#include "dirty_log.h"

#include "vm_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static int set_slot_flags(struct vm *vm, uint32_t flags)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = flags,
		.guest_phys_addr = vm->ram_base,
		.memory_size = vm->ram_size,
		.userspace_addr = (uintptr_t)vm->ram,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

int dirty_log_start(struct vm *vm, struct dirty_log *dl, struct vmm_error *err)
{
	int ret;

	memset(dl, 0, sizeof(*dl));
	dl->vm = vm;
	dl->pages = vm->ram_size / 4096;
	dl->words = (size_t)((dl->pages + 63) / 64);
	dl->bitmap = calloc(dl->words, sizeof(*dl->bitmap));
	if (!dl->bitmap)
		return vmm_error_set(err, "dirty_log", ENOMEM, "out of memory");
	/* Manual protect first: then enabling the log write-protects every
	 * page at once (no KVM_DIRTY_LOG_INITIALLY_SET), as without it. */
	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
			.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
		};

		dl->manual = ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	ret = set_slot_flags(vm, KVM_MEM_LOG_DIRTY_PAGES);
	if (ret < 0) {
		free(dl->bitmap);
		dl->bitmap = NULL;
		return vmm_error_set(err, "dirty_log", -ret,
				     "KVM_SET_USER_MEMORY_REGION with KVM_MEM_LOG_DIRTY_PAGES: %s",
				     strerror(-ret));
	}
	dl->on = true;
	return 0;
}

int dirty_log_fetch(struct dirty_log *dl, uint64_t *count, struct vmm_error *err)
{
	struct kvm_dirty_log get = { .slot = 0, .dirty_bitmap = dl->bitmap };
	uint64_t n = 0;

	*count = 0;
	memset(dl->bitmap, 0, dl->words * sizeof(*dl->bitmap));
	if (ioctl(dl->vm->vm_fd, KVM_GET_DIRTY_LOG, &get) < 0)
		return vmm_error_sys(err, "KVM_GET_DIRTY_LOG");
	for (size_t i = 0; i < dl->words; i++)
		n += (uint64_t)__builtin_popcountll(dl->bitmap[i]);
	if (dl->manual && n) {
		struct kvm_clear_dirty_log clear = {
			.slot = 0, .first_page = 0, .num_pages = (uint32_t)dl->pages,
			.dirty_bitmap = dl->bitmap,
		};

		if (ioctl(dl->vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
			return vmm_error_sys(err, "KVM_CLEAR_DIRTY_LOG");
	}
	*count = n;
	return 0;
}

void dirty_log_stop(struct dirty_log *dl)
{
	if (dl->on)
		set_slot_flags(dl->vm, 0);
	dl->on = false;
	free(dl->bitmap);
	dl->bitmap = NULL;
}
