/*
 * vCPUs: creation and KVM_ARM_VCPU_INIT, boot registers, and the thread
 * that runs KVM_RUN and dispatches its exits. Run control (pause, stop,
 * the end of the VM) is vm_run.c's; this loop only obeys it.
 */
#include "test_hold.h"
#include "vcpu_features.h"
#include "vm_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define REG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)

/* After a failed call: "<what> <index>: <strerror>", errno kept. */
static int vcpu_fail(struct vmm_error *err, const char *what, unsigned index)
{
	int e = errno > 0 ? errno : EIO;
	char step[64];

	snprintf(step, sizeof(step), "%s %u", what, index);
	return vmm_error_set(err, step, e, "%s: %s", step, strerror(e));
}

int vcpu_init(struct vcpu *v, const struct kvm_vcpu_init *init, struct vmm_error *err)
{
	struct kvm_vcpu_init vi = *init;

	/* PSCI 0.2+ in KVM; secondaries wait powered off for CPU_ON. The same
	 * features every time: KVM refuses others on a second init. */
	vi.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->index > 0)
		vi.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &vi) < 0)
		return vcpu_fail(err, "KVM_ARM_VCPU_INIT", v->index);
	return 0;
}

int vcpu_create(struct vm *vm, unsigned index, const struct kvm_vcpu_init *init,
		struct vcpu *v, struct vmm_error *err)
{
	struct kvm_one_reg mpidr = { .id = REG_MPIDR_EL1,
				     .addr = (uintptr_t)&v->mpidr };
	int ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return vcpu_fail(err, "KVM_CREATE_VCPU", index);
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = vcpu_fail(err, "mmap kvm_run of vCPU", index);
		goto err_close;
	}
	if (index == 0)
		vm->vcpu_features = init->features[0] | 1u << KVM_ARM_VCPU_PSCI_0_2;
	ret = vcpu_init(v, init, err);
	if (ret < 0)
		goto err_unmap;
	ret = vcpu_features_finalize(v, &vm->cpu_features, err);
	if (ret < 0)
		goto err_unmap;
	if (ioctl(v->fd, KVM_GET_ONE_REG, &mpidr) < 0) {
		ret = vcpu_fail(err, "KVM_GET_ONE_REG MPIDR_EL1 of vCPU", index);
		goto err_unmap;
	}
	return 0;

err_unmap:
	munmap(v->run, vm->run_size);
	v->run = NULL;
err_close:
	close(v->fd);
	v->fd = -1;
	return ret;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int vcpu_set_core_reg(struct vcpu *v, uint64_t id, uint64_t value,
		      struct vmm_error *err)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&value };

	if (ioctl(v->fd, KVM_SET_ONE_REG, &r) < 0)
		return vmm_error_set(err, "boot registers", errno,
				     "KVM_SET_ONE_REG 0x%llx on vCPU %u: %s",
				     (unsigned long long)id, v->index, strerror(errno));
	return 0;
}

static void note_unclaimed_mmio(struct vcpu *v)
{
	static atomic_uint logged;
	struct kvm_run *run = v->run;

	/* A few lines help whoever adds the next device; then stay quiet. */
	if (atomic_fetch_add(&logged, 1) < 8)
		fprintf(stderr,
			"pinvm-vmm: vCPU %u: %u-byte MMIO %s at 0x%llx: no device there\n",
			v->index, run->mmio.len, run->mmio.is_write ? "write" : "read",
			(unsigned long long)run->mmio.phys_addr);
}

/* KVM says which PSCI call it was only since Linux 5.18 (ndata, flags). */
static bool reset_was_reset2(const struct kvm_run *run)
{
#ifdef KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2
	return run->system_event.ndata > 0 &&
	       (run->system_event.data[0] & KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2);
#else
	(void)run;
	return false;
#endif
}

/* Handles one exit; false when this thread must leave its loop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		v->mmio_pending = true;
		if (!mmio_bus_access(&vm->bus, run->mmio.phys_addr, run->mmio.data,
				     run->mmio.len, run->mmio.is_write))
			note_unclaimed_mmio(v);
		/* The access is done here, not yet in KVM (the next KVM_RUN
		 * completes it): where a reset or pause may find it. */
		test_hold("vmm-mmio-exit");
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_end(vm, VMM_EXIT_POWEROFF,
			       "the guest powered off (PSCI SYSTEM_OFF on vCPU %u)",
			       v->index);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			/* pinvm-vmm's controlling thread boots it again (vm_reset.c). */
			vm_request_reset(vm, "the guest asked for a reset (PSCI %s on vCPU %u)",
					 reset_was_reset2(run) ? "SYSTEM_RESET2" : "SYSTEM_RESET",
					 v->index);
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vm_end(vm, VMM_EXIT_ERROR, "the guest reported a crash (vCPU %u)",
			       v->index);
			break;
		default:
			vm_end(vm, VMM_EXIT_ERROR,
			       "unhandled system event %u on vCPU %u",
			       run->system_event.type, v->index);
			break;
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_end(vm, VMM_EXIT_ERROR, "KVM_EXIT_FAIL_ENTRY on vCPU %u (reason 0x%llx)",
		       v->index,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_end(vm, VMM_EXIT_ERROR, "KVM internal error %u on vCPU %u",
		       run->internal.suberror, v->index);
		return false;
	default:
		vm_end(vm, VMM_EXIT_ERROR, "unhandled KVM exit %u on vCPU %u",
		       run->exit_reason, v->index);
		return false;
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		int ret, done_errno;

		if ((vm->pause || vm->stop) && v->mmio_pending) {
			/* Complete the MMIO access before parking or leaving:
			 * KVM finishes it (a read's register, the PC past the
			 * access) at the start of KVM_RUN, and immediate_exit
			 * returns before any guest code runs. Left to KVM, a
			 * snapshot would hold half of one, and after a reset
			 * the new boot's first KVM_RUN would finish it there,
			 * stepping over the image's first instruction. */
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
			v->mmio_pending = false;
			pthread_mutex_unlock(&vm->lock);
			ret = ioctl(v->fd, KVM_RUN, 0);
			done_errno = ret < 0 ? errno : 0;
			pthread_mutex_lock(&vm->lock);
			if (done_errno != EINTR && done_errno != EAGAIN)
				fprintf(stderr, "pinvm-vmm: vCPU %u: completing MMIO: %s\n",
					v->index,
					done_errno ? strerror(done_errno) : "KVM_RUN ran");
			continue;
		}
		if (vm->stop)
			break;
		if (vm->pause) {
			v->parked = true;
			vm->parked++;
			pthread_cond_broadcast(&vm->cond);
			while (vm->pause && !vm->stop)
				pthread_cond_wait(&vm->cond, &vm->lock);
			vm->parked--;
			v->parked = false;
			continue;
		}
		/* vm_kick_all_locked() sets it again, under the lock, to make
		 * KVM_RUN return at once if the kick lands before the ioctl. */
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		v->mmio_pending = false; /* this KVM_RUN completes it */
		pthread_mutex_unlock(&vm->lock);

		ret = ioctl(v->fd, KVM_RUN, 0);
		if (ret < 0 && (errno == EINTR || errno == EAGAIN)) {
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		if (ret < 0) {
			int e = errno;

			if (e == ENOSYS)
				vm_end(vm, VMM_EXIT_ERROR,
				       "KVM_RUN on vCPU %u: the guest made an access KVM "
				       "cannot decode (ENOSYS)", v->index);
			else
				vm_end(vm, VMM_EXIT_ERROR, "KVM_RUN on vCPU %u: %s",
				       v->index, strerror(e));
			pthread_mutex_lock(&vm->lock);
			break;
		}
		if (!handle_exit(v)) {
			pthread_mutex_lock(&vm->lock);
			break;
		}
		pthread_mutex_lock(&vm->lock);
	}
	v->exited = true;
	vm->live--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}
