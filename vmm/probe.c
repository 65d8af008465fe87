#include "probe.h"

#include "machine_layout.h"
#include "probe_layout.h"
#include "smccc.h"
#include "smccc_deny.h"
#include "vcpu_pins.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

extern const char probe_guest_start[], probe_guest_end[];
extern const char probe_image_start[], probe_image_end[], probe_image_table[];

#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, field) / sizeof(__u32)))

struct probe_vm {
	int kvm, vm, vcpu;
	void *ram;
	struct kvm_run *run;
	size_t run_size;
};

/* Watchdog: kicks the vCPU thread out of KVM_RUN with a signal. */
struct watchdog {
	pthread_t runner, thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kvm_run *run;
	unsigned timeout_ms;
	bool done, fired;
};

static void on_kick(int sig)
{
	(void)sig; /* only here so the signal interrupts KVM_RUN */
}

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += w->timeout_ms / 1000;
	until.tv_nsec += (long)(w->timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&w->cond, &w->lock, &until);
	if (!w->done) {
		w->fired = true;
		w->run->immediate_exit = 1;
		pthread_kill(w->runner, SIGUSR1);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int fail(const char *step, char *err, size_t errlen)
{
	int e = errno ? errno : EIO;

	snprintf(err, errlen, "%s: %s", step, strerror(e));
	return -e;
}

static void probe_vm_close(struct probe_vm *p)
{
	if (p->run)
		munmap(p->run, p->run_size);
	if (p->vcpu >= 0)
		close(p->vcpu);
	if (p->vm >= 0)
		close(p->vm);
	if (p->kvm >= 0)
		close(p->kvm);
	if (p->ram)
		munmap(p->ram, PROBE_RAM_SIZE);
}

/* Guest code at RAM start, the call table at PROBE_TABLE_OFFSET. */
static void load_guest(void *ram)
{
	uint64_t *table = (uint64_t *)((char *)ram + PROBE_TABLE_OFFSET);
	size_t i;

	memcpy(ram, probe_guest_start, (size_t)(probe_guest_end - probe_guest_start));
	table[0] = smccc_probe_ncalls;
	for (i = 0; i < smccc_probe_ncalls; i++) {
		table[1 + 2 * i] = smccc_probe_calls[i].function_id;
		table[2 + 2 * i] = smccc_probe_calls[i].x1;
	}
}

static int build_vm(struct probe_vm *p, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region mem = {
		.slot = 0, .guest_phys_addr = PROBE_RAM_BASE,
		.memory_size = PROBE_RAM_SIZE,
	};
	struct kvm_vcpu_init init;
	int sz;

	p->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm < 0)
		return fail("open /dev/kvm", err, errlen);
	p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
	if (p->vm < 0)
		return fail("KVM_CREATE_VM", err, errlen);
	p->ram = mmap(NULL, PROBE_RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->ram == MAP_FAILED) {
		p->ram = NULL;
		return fail("mmap guest RAM", err, errlen);
	}
	load_guest(p->ram);
	mem.userspace_addr = (uintptr_t)p->ram;
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &mem) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION", err, errlen);
	memset(&init, 0, sizeof(init));
	if (ioctl(p->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return fail("KVM_ARM_PREFERRED_TARGET", err, errlen);
	p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
	if (p->vcpu < 0)
		return fail("KVM_CREATE_VCPU", err, errlen);
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(p->vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return fail("KVM_ARM_VCPU_INIT", err, errlen);
	sz = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE", err, errlen);
	p->run_size = (size_t)sz;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->vcpu, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		return fail("mmap kvm_run", err, errlen);
	}
	return 0;
}

/* PV time answers only with a stolen-time IPA set; set one when KVM can. */
static bool setup_pvtime(int vcpu)
{
	uint64_t ipa = PROBE_RAM_BASE + PROBE_PVTIME_OFFSET;
	struct kvm_device_attr attr = {
		.group = KVM_ARM_VCPU_PVTIME_CTRL,
		.attr = KVM_ARM_VCPU_PVTIME_IPA,
		.addr = (uintptr_t)&ipa,
	};

	return ioctl(vcpu, KVM_HAS_DEVICE_ATTR, &attr) == 0 &&
	       ioctl(vcpu, KVM_SET_DEVICE_ATTR, &attr) == 0;
}

static int run_guest(struct probe_vm *p, struct probe_result *res,
		     struct watchdog *w, char *err, size_t errlen)
{
	uint64_t seen = 0;

	for (;;) {
		if (ioctl(p->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR && w->fired) {
				snprintf(err, errlen, "probe guest did not finish in %u ms",
					 w->timeout_ms);
				return -ETIMEDOUT;
			}
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN", err, errlen);
		}
		switch (p->run->exit_reason) {
		case KVM_EXIT_MMIO: {
			uint64_t off = p->run->mmio.phys_addr - PROBE_REPORT_BASE;
			uint64_t v;

			if (!p->run->mmio.is_write || p->run->mmio.len != 8 ||
			    p->run->mmio.phys_addr < PROBE_REPORT_BASE ||
			    off / 8 >= smccc_probe_ncalls || off % 8) {
				snprintf(err, errlen, "unexpected MMIO %s at 0x%llx",
					 p->run->mmio.is_write ? "write" : "read",
					 (unsigned long long)p->run->mmio.phys_addr);
				return -EPROTO;
			}
			memcpy(&v, p->run->mmio.data, sizeof(v));
			res->x0[off / 8] = v;
			seen |= 1ull << (off / 8);
			break;
		}
		case KVM_EXIT_SYSTEM_EVENT:
			if (seen != (1ull << smccc_probe_ncalls) - 1) {
				snprintf(err, errlen, "guest stopped after %d of %zu calls",
					 __builtin_popcountll(seen), smccc_probe_ncalls);
				return -EPROTO;
			}
			res->ncalls = smccc_probe_ncalls;
			return 0;
		default:
			snprintf(err, errlen, "unexpected KVM exit %u",
				 p->run->exit_reason);
			return -EPROTO;
		}
	}
}

int probe_run(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
	      bool pvtime, unsigned timeout_ms,
	      struct probe_result *res, size_t *failed_pin,
	      char *err, size_t errlen)
{
	return probe_run_filtered(pins, readback, npins, pvtime, NULL, 0, timeout_ms,
				  res, failed_pin, err, errlen);
}

int probe_run_filtered(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
		       bool pvtime,
		       const struct smccc_range *deny, size_t ndeny,
		       unsigned timeout_ms, struct probe_result *res,
		       size_t *failed_pin, char *err, size_t errlen)
{
	struct probe_vm p = { .kvm = -1, .vm = -1, .vcpu = -1 };
	struct watchdog w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER,
			      .timeout_ms = timeout_ms };
	struct sigaction sa = { .sa_handler = on_kick };
	struct kvm_one_reg pc;
	uint64_t entry = PROBE_RAM_BASE;
	int ret;

	_Static_assert(PROBE_MAX_CALLS < 64, "call bitmap is 64 bits");
	memset(res, 0, sizeof(*res));
	*failed_pin = SIZE_MAX;
	if (smccc_probe_ncalls > PROBE_MAX_CALLS) {
		snprintf(err, errlen, "too many probe calls");
		return -E2BIG;
	}
	ret = build_vm(&p, err, errlen);
	if (ret < 0)
		goto out;
	if (npins) {
		ret = vcpu_apply_pins(p.vcpu, pins, npins, readback, failed_pin);
		if (ret < 0) {
			snprintf(err, errlen, "KVM refused register 0x%016llx: %s",
				 (unsigned long long)pins[*failed_pin].id,
				 strerror(-ret));
			goto out;
		}
	}
	ret = vmm_smccc_deny(p.vm, deny, ndeny, err, errlen);
	if (ret < 0)
		goto out;
	res->pvtime_ipa_set = pvtime && setup_pvtime(p.vcpu);
	pc.id = CORE_REG(regs.pc);
	pc.addr = (uintptr_t)&entry;
	if (ioctl(p.vcpu, KVM_SET_ONE_REG, &pc) < 0) {
		ret = fail("set PC", err, errlen);
		goto out;
	}

	/* SIGUSR1 interrupts KVM_RUN; a no-op handler keeps the process. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	w.runner = pthread_self();
	w.run = p.run;
	if (pthread_create(&w.thread, NULL, watchdog_main, &w)) {
		snprintf(err, errlen, "cannot start the probe watchdog");
		ret = -EAGAIN;
		goto out;
	}
	ret = run_guest(&p, res, &w, err, errlen);
	pthread_mutex_lock(&w.lock);
	w.done = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
out:
	probe_vm_close(&p);
	return ret;
}

_Static_assert(MACHINE_UART_BASE == 0x01000000ULL, "probe_image.S prints there");
_Static_assert(MACHINE_GIC_DIST_BASE == 0x3fff0000ULL && MACHINE_GIC_REDIST_SIZE == 0x20000ULL,
	       "probe_image.S finds vCPU 0's redistributor below the distributor");

static int image_write(const char *path, uint64_t write_bytes, uint64_t period_us,
		       uint64_t rounds, char *err, size_t errlen);

int probe_image_write(const char *path, char *err, size_t errlen)
{
	return image_write(path, 0, 0, 0, err, errlen);
}

int probe_image_write_writer(const char *path, uint64_t write_bytes, char *err,
			     size_t errlen)
{
	return image_write(path, write_bytes, 0, 0, err, errlen);
}

int probe_image_write_timer(const char *path, uint64_t period_us, uint64_t rounds, char *err,
			    size_t errlen)
{
	return image_write(path, 0, period_us, rounds, err, errlen);
}

/* The image with its knobs set: the u64s right before the call table are
 * probe_image_tlat_us, probe_image_tlat_rounds, probe_image_wmem. */
static int image_write(const char *path, uint64_t write_bytes, uint64_t period_us,
		       uint64_t rounds, char *err, size_t errlen)
{
	size_t size = (size_t)(probe_image_end - probe_image_start);
	size_t toff = (size_t)(probe_image_table - probe_image_start);
	char tmp[4200];
	uint64_t *table;
	char *img;
	int fd, ret = 0;

	if (smccc_probe_ncalls > PROBE_MAX_CALLS) {
		snprintf(err, errlen, "too many probe calls");
		return -E2BIG;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		return -ENAMETOOLONG;
	}
	img = malloc(size);
	if (!img) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(img, probe_image_start, size);
	table = (uint64_t *)(void *)(img + toff);
	table[-3] = period_us;
	table[-2] = rounds;
	table[-1] = write_bytes;
	table[0] = smccc_probe_ncalls;
	for (size_t i = 0; i < smccc_probe_ncalls; i++) {
		table[1 + 2 * i] = smccc_probe_calls[i].function_id;
		table[2 + 2 * i] = smccc_probe_calls[i].x1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, img, size) != (ssize_t)size || fsync(fd) < 0)
		ret = fail("write probe image", err, errlen);
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = fail("close probe image", err, errlen);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = fail("rename probe image", err, errlen);
	if (ret < 0)
		unlink(tmp);
	free(img);
	return ret;
}
