/*
 * A guest reset in the same pinvm-vmm process: the ABI the VM was created
 * with (its pinned registers) must hold after every reboot, and the
 * process, its control channel and its console stay what they were.
 */
#include "vm.h"

#include "boot_image.h"
#include "gpio_pl061.h"
#include "vcpu_pins.h"
#include "vm_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vm_power_button(struct vm *vm)
{
	if (vm->gpio)
		gpio_pl061_press_power(vm->gpio);
}

void vm_request_reset(struct vm *vm, const char *fmt, ...)
{
	uint64_t one = 1;
	bool first;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	first = !vm->ended && !vm->reset_pending;
	if (first) {
		vm->reset_pending = true;
		va_start(ap, fmt);
		vsnprintf(vm->reset_detail, sizeof(vm->reset_detail), fmt, ap);
		va_end(ap);
		vm->stop = true;
		vm_kick_all_locked(vm);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	if (first && write(vm->exit_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "pinvm-vmm: eventfd write: %s\n", strerror(errno));
}

bool vm_reset_pending(struct vm *vm)
{
	bool pending;

	pthread_mutex_lock(&vm->lock);
	pending = vm->reset_pending && !vm->ended;
	pthread_mutex_unlock(&vm->lock);
	return pending;
}

/* Ends the VM for a reset that cannot go on; returns ret. */
static int reset_failed(struct vm *vm, enum vmm_exit_reason reason, int ret,
			const char *detail)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->ended) {
		vm->ended = true;
		vm->reason = reason;
		snprintf(vm->exit_detail, sizeof(vm->exit_detail), "%s", detail);
	}
	vm->reset_pending = false;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* Every vCPU thread out of its loop and joined; their flags as new. */
static void join_vcpus(struct vm *vm)
{
	uint64_t n;
	unsigned i;

	pthread_mutex_lock(&vm->lock);
	vm->stop = true;
	vm_kick_all_locked(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->thread_started && !v->joined)
			pthread_join(v->thread, NULL);
		/* mmio_pending is false: a vCPU completes its access before
		 * it leaves (vcpu.c). */
		v->thread_started = v->joined = v->exited = v->parked = false;
	}
	/* The reset's wake-up is consumed; a later end writes it again. */
	if (read(vm->exit_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		fprintf(stderr, "pinvm-vmm: eventfd read: %s\n", strerror(errno));
}

/* The pins again on every vCPU; each readback as at creation. */
static int pins_again(struct vm *vm, const struct vmm_config *cfg, struct vmm_error *err)
{
	struct fw_pin *back;
	unsigned i;
	size_t k;
	int ret = 0;

	if (!vm->npins)
		return 0;
	if (cfg->npins != vm->npins)
		return vmm_error_set(err, "reset", EINVAL,
				     "%zu pins in the config, %zu at creation", cfg->npins,
				     vm->npins);
	back = calloc(vm->npins, sizeof(*back));
	if (!back)
		return vmm_error_set(err, "reset", ENOMEM, "out of memory");
	for (i = 0; i < vm->nr_vcpus && !ret; i++) {
		size_t failed = 0;

		ret = vcpu_apply_pins(vm->vcpus[i].fd, cfg->pins, vm->npins, back, &failed);
		if (ret < 0) {
			vmm_error_set(err, "pin", -ret,
				      "after the reset KVM refused firmware register "
				      "0x%016llx = 0x%llx on vCPU %u: %s",
				      (unsigned long long)cfg->pins[failed].id,
				      (unsigned long long)cfg->pins[failed].value, i,
				      strerror(-ret));
			if (err) {
				err->has_register = true;
				err->reg = cfg->pins[failed].id;
			}
			break;
		}
		for (k = 0; k < vm->npins; k++) {
			if (back[k].value == vm->readback[k].value)
				continue;
			ret = vmm_error_set(err, "pin", EIO,
					    "firmware register 0x%016llx reads 0x%llx on vCPU "
					    "%u after the reset, 0x%llx before: the ABI changed",
					    (unsigned long long)back[k].id,
					    (unsigned long long)back[k].value, i,
					    (unsigned long long)vm->readback[k].value);
			if (err) {
				err->has_register = true;
				err->reg = back[k].id;
			}
			break;
		}
	}
	free(back);
	return ret;
}

int vm_reboot(struct vm *vm, const struct vmm_config *cfg, unsigned *reboots,
	      char *detail, size_t len, struct vmm_error *err)
{
	struct vm_device *dev;
	unsigned i;
	int ret;

	join_vcpus(vm);
	pthread_mutex_lock(&vm->lock);
	snprintf(detail, len, "%s", vm->reset_detail);
	if (vm->ended || !vm->reset_pending) {
		pthread_mutex_unlock(&vm->lock);
		return vmm_error_set(err, "reset", ESHUTDOWN, "the VM ended meanwhile");
	}
	pthread_mutex_unlock(&vm->lock);
	if (!cfg->kernel) {
		char why[sizeof(vm->exit_detail)];

		snprintf(why, sizeof(why), "%.160s; no kernel to boot again "
			 "(a VM restored from a snapshot)", vm->reset_detail);
		vmm_error_set(err, "reset", ENOEXEC, "%s", why);
		return reset_failed(vm, VMM_EXIT_RESET, -ENOEXEC, why);
	}
	for (i = 0, ret = 0; i < vm->nr_vcpus && !ret; i++)
		ret = vcpu_init(&vm->vcpus[i], &vm->vcpu_init, err);
	if (!ret)
		ret = pins_again(vm, cfg, err);
	if (!ret) {
		vm->reboots++; /* the device tree tells the guest (fdt_build.c) */
		for (dev = vm->devices; dev; dev = dev->next)
			if (dev->reset)
				dev->reset(dev);
		ret = boot_load(cfg->kernel, cfg->initrd, vm->ram, vm->ram_base,
				vm->ram_size, &vm->boot, err);
	}
	if (!ret)
		ret = vm_boot_finish(vm, cfg->cmdline, err);
	if (ret < 0)
		return reset_failed(vm, VMM_EXIT_ERROR, ret, err ? err->detail : "reset failed");
	*reboots = vm->reboots;

	pthread_mutex_lock(&vm->lock);
	vm->started = vm->stop = vm->pause = vm->reset_pending = false;
	vm->have_paused_cnt = false;
	vm->parked = vm->live = 0;
	pthread_mutex_unlock(&vm->lock);
	ret = vm_start(vm, err);
	if (ret < 0) /* vm_start ended the VM and said why */
		return ret;
	return 0;
}
