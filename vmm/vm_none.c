/*
 * The engine on a build that is not arm64: pinvm-vmm still starts, reads
 * its config and speaks the protocol, and vm_create() says why there is
 * no VM, so pinvmd's side can be exercised anywhere.
 */
#include "vm.h"
#include "vm_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vm {
	int unused;
};

int vm_create(const struct vmm_config *cfg, int console_fd, struct vm **out,
	      struct vmm_error *err)
{
	(void)cfg;
	(void)console_fd;
	*out = NULL;
	return vmm_error_set(err, "kvm", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

const struct fw_pin *vm_pins(const struct vm *vm, size_t *npins,
			    const struct fw_pin **readback)
{
	(void)vm;
	*npins = 0;
	*readback = NULL;
	return NULL;
}

const char *vm_gic_name(const struct vm *vm)
{
	(void)vm;
	return "none";
}

unsigned vm_vcpu_count(const struct vm *vm)
{
	(void)vm;
	return 0;
}

const char *vm_build_timing(const struct vm *vm)
{
	(void)vm;
	return "";
}

int vm_start(struct vm *vm, struct vmm_error *err)
{
	(void)vm;
	return vmm_error_set(err, "start", ENODEV, "no VM");
}

int vm_pause(struct vm *vm)
{
	(void)vm;
	return -ENODEV;
}

void vm_resume(struct vm *vm)
{
	(void)vm;
}

void vm_stop(struct vm *vm)
{
	(void)vm;
}

int vm_exit_fd(const struct vm *vm)
{
	(void)vm;
	return -1;
}

bool vm_has_ended(struct vm *vm)
{
	(void)vm;
	return true;
}

enum vmm_exit_reason vm_exit_reason(struct vm *vm, char *detail, size_t len)
{
	(void)vm;
	if (detail && len)
		detail[0] = '\0';
	return VMM_EXIT_ERROR;
}

void vm_destroy(struct vm *vm)
{
	free(vm);
}

void vm_debug_dump(struct vm *vm, FILE *out)
{
	(void)vm;
	fprintf(out, "pinvm-vmm: no VM in this build\n");
}

int vm_snapshot(struct vm *vm, const char *dir, uint64_t *bytes,
		uint64_t *data_pages, struct vmm_error *err)
{
	(void)vm;
	(void)dir;
	*bytes = *data_pages = 0;
	return vmm_error_set(err, "snapshot", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

int vm_prerun_gather(struct vm *vm, struct vm_state *st, struct vmm_error *err)
{
	(void)vm;
	memset(st, 0, sizeof(*st));
	return vmm_error_set(err, "prerun", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

int vm_prerun_write(const struct vm_state *st, const char *path, uint64_t *bytes,
		    struct vmm_error *err)
{
	(void)st;
	(void)path;
	*bytes = 0;
	return vmm_error_set(err, "prerun", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

int vm_restore_check(const char *dir, unsigned accept, json_t **answer,
		     struct vmm_error *err)
{
	(void)dir;
	(void)accept;
	*answer = NULL;
	return vmm_error_set(err, "restore-check", ENODEV,
			     "this pinvm-vmm was built without arm64 KVM support");
}

void vm_power_button(struct vm *vm)
{
	(void)vm;
}

int vm_console_input(struct vm *vm, const uint8_t *data, size_t len)
{
	(void)vm, (void)data, (void)len;
	return -ENOSYS;
}

size_t vm_console_pending(struct vm *vm)
{
	(void)vm;
	return 0;
}

void vm_request_reset(struct vm *vm, const char *fmt, ...)
{
	(void)vm;
	(void)fmt;
}

bool vm_reset_pending(struct vm *vm)
{
	(void)vm;
	return false;
}

int vm_reboot(struct vm *vm, const struct vmm_config *cfg, unsigned *reboots,
	      char *detail, size_t len, struct vmm_error *err)
{
	(void)vm;
	(void)cfg;
	(void)reboots;
	if (len)
		detail[0] = '\0';
	return vmm_error_set(err, "reset", ENODEV, "no arm64 KVM in this build");
}
