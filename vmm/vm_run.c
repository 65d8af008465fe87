/*
 * Running a VM: the vCPU threads, pause/resume, and the VM's end.
 *
 * One mutex (vm->lock) guards the run state. A thread is taken out of
 * KVM_RUN by a kick: kvm_run.immediate_exit = 1 (so a KVM_RUN about to
 * start returns at once) and SIGUSR1 to the thread (so one already inside
 * returns with EINTR). Both happen under the lock, and the thread clears
 * immediate_exit under the lock before each KVM_RUN, so no kick is lost.
 */
#include "vm_internal.h"
#include "vm_time.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_kick(int sig)
{
	(void)sig; /* only here so the signal interrupts KVM_RUN */
}

void vm_kick_all_locked(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->thread_started || v->exited)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, SIGUSR1);
	}
}

static void notify_end(struct vm *vm)
{
	uint64_t one = 1;

	if (write(vm->exit_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "pinvm-vmm: eventfd write: %s\n", strerror(errno));
}

void vm_end(struct vm *vm, enum vmm_exit_reason reason, const char *fmt, ...)
{
	bool first;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	first = !vm->ended;
	if (first) {
		vm->ended = true;
		vm->reason = reason;
		va_start(ap, fmt);
		vsnprintf(vm->exit_detail, sizeof(vm->exit_detail), fmt, ap);
		va_end(ap);
	}
	vm->stop = true;
	vm_kick_all_locked(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (first)
		notify_end(vm);
}

int vm_start(struct vm *vm, struct vmm_error *err)
{
	struct sigaction sa = { .sa_handler = on_kick }; /* no SA_RESTART */
	sigset_t all, old;
	unsigned i;
	int ret = 0;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return vmm_error_sys(err, "sigaction SIGUSR1");
	/* vCPU threads take SIGUSR1 only; other signals go to the others. */
	sigfillset(&all);
	sigdelset(&all, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &all, &old);

	pthread_mutex_lock(&vm->lock);
	if (vm->started) {
		ret = vmm_error_set(err, "start", EALREADY, "the VM was started already");
		goto out;
	}
	vm->started = true;
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int e = pthread_create(&v->thread, NULL, vcpu_thread, v);

		if (e) {
			ret = vmm_error_set(err, "start", e, "pthread_create vCPU %u: %s",
					    i, strerror(e));
			vm->ended = true;
			vm->reason = VMM_EXIT_ERROR;
			snprintf(vm->exit_detail, sizeof(vm->exit_detail), "%s",
				 err ? err->detail : "cannot start a vCPU thread");
			vm->stop = true;
			vm_kick_all_locked(vm);
			pthread_cond_broadcast(&vm->cond);
			break;
		}
		v->thread_started = true;
		vm->live++;
	}
out:
	pthread_mutex_unlock(&vm->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

int vm_pause(struct vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->lock);
	vm->pause = true;
	vm_kick_all_locked(vm);
	while (vm->parked < vm->live && !vm->stop)
		pthread_cond_wait(&vm->cond, &vm->lock);
	ret = vm->stop ? -ESHUTDOWN : 0;
	/* The counter runs on in KVM while paused; a snapshot keeps this. */
	if (ret == 0 && vm->nr_vcpus)
		vm->have_paused_cnt =
			vm_time_read(vm->vcpus[0].fd, &vm->paused_cnt, NULL) == 0;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

bool vm_all_parked_locked(struct vm *vm)
{
	return vm->pause && !vm->stop && vm->parked == vm->live;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause = false;
	vm->have_paused_cnt = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vm_stop(struct vm *vm)
{
	unsigned i;

	pthread_mutex_lock(&vm->lock);
	if (!vm->ended) {
		vm->ended = true;
		vm->reason = VMM_EXIT_STOPPED;
		snprintf(vm->exit_detail, sizeof(vm->exit_detail), "stopped by request");
	}
	vm->stop = true;
	vm->pause = false;
	vm_kick_all_locked(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->thread_started && !v->joined) {
			pthread_join(v->thread, NULL);
			v->joined = true;
		}
	}
}

int vm_exit_fd(const struct vm *vm)
{
	return vm->exit_efd;
}

bool vm_has_ended(struct vm *vm)
{
	bool ended;

	pthread_mutex_lock(&vm->lock);
	ended = vm->ended;
	pthread_mutex_unlock(&vm->lock);
	return ended;
}

enum vmm_exit_reason vm_exit_reason(struct vm *vm, char *detail, size_t len)
{
	enum vmm_exit_reason r;

	pthread_mutex_lock(&vm->lock);
	r = vm->reason;
	if (detail && len)
		snprintf(detail, len, "%s", vm->exit_detail);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void vm_run_destroy(struct vm *vm)
{
	vm_stop(vm);
}
