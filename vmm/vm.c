/*
 * Building and tearing down a microVM: KVM, guest RAM, the kernel and
 * initrd, the GIC, the vCPUs, the pins, the console, the device tree and
 * the boot registers, in that order; every step undone in reverse when a
 * later one fails.
 */
#include "vm.h"

#include "boot_image.h"
#include "console_uart.h"
#include "fdt_build.h"
#include "gic.h"
#include "gpio_pl061.h"
#include "guest_mem.h"
#include "machine_layout.h"
#include "smccc_deny.h"
#include "vcpu_features.h"
#include "vcpu_pins.h"
#include "vm_internal.h"
#include "vm_state.h"
#include "vm_time.h"
#include "mono_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SZ_2M (2ULL << 20)
#define DEFAULT_IPA_BITS 40 /* what KVM gives a VM of type 0 */
#define REG_PSCI_VERSION 0x6030000000140000ULL
#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, field) / sizeof(__u32)))

static unsigned bits_for(uint64_t last_addr)
{
	return 64u - (unsigned)__builtin_clzll(last_addr);
}

static int check_cap(int fd, long cap, const char *name, struct vmm_error *err)
{
	if (ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0)
		return 0;
	return vmm_error_set(err, "kvm", ENOTSUP,
			     "this KVM lacks %s, which pinvm-vmm needs", name);
}

/* /dev/kvm and the VM, sized for the RAM asked for. */
static int kvm_open_vm(struct vm *vm, uint64_t ram_size, struct vmm_error *err)
{
	uint64_t last = MACHINE_RAM_BASE + ram_size - 1;
	unsigned need = bits_for(last), max_ipa;
	unsigned long type = 0;
	int ret, sz, ipa_cap;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vmm_error_sys(err, "open /dev/kvm");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		ret = vmm_error_set(err, "kvm", ENOTSUP, "unexpected KVM API version");
		goto err_close;
	}
	if ((ret = check_cap(vm->kvm_fd, KVM_CAP_ARM_PSCI_0_2, "PSCI 0.2", err)) < 0 ||
	    (ret = check_cap(vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT, "immediate_exit", err)) < 0 ||
	    (ret = check_cap(vm->kvm_fd, KVM_CAP_ONE_REG, "ONE_REG", err)) < 0 ||
	    (ret = check_cap(vm->kvm_fd, KVM_CAP_DEVICE_CTRL, "DEVICE_CTRL", err)) < 0)
		goto err_close;
	ipa_cap = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	max_ipa = ipa_cap > 0 ? (unsigned)ipa_cap : DEFAULT_IPA_BITS;
	if (need > max_ipa) {
		ret = vmm_error_set(err, "memory", E2BIG,
				    "RAM up to 0x%llx needs a %u-bit IPA space; "
				    "KVM offers %u bits",
				    (unsigned long long)last, need, max_ipa);
		goto err_close;
	}
	if (ipa_cap > 0)
		type = KVM_VM_TYPE_ARM_IPA_SIZE(need < 32 ? 32 : need);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, type);
	if (vm->vm_fd < 0) {
		ret = vmm_error_sys(err, "KVM_CREATE_VM");
		goto err_close;
	}
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		ret = vmm_error_sys(err, "KVM_GET_VCPU_MMAP_SIZE");
		goto err_close_vm;
	}
	vm->run_size = (size_t)sz;
	return 0;

err_close_vm:
	close(vm->vm_fd);
	vm->vm_fd = -1;
err_close:
	close(vm->kvm_fd);
	vm->kvm_fd = -1;
	return ret;
}

static void kvm_close_vm(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

/*
 * Anonymous RAM, 2 MiB aligned (transparent huge pages can back it), or
 * with restore_dir its mem.raw mapped privately (guest_mem.h).
 */
struct ram_given {
	void *alloc;
	size_t alloc_size;
	void *ram;
};

static int ram_create(struct vm *vm, uint64_t size, const char *restore_dir,
		      const struct ram_given *given, struct vmm_error *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = MACHINE_RAM_BASE, .memory_size = size,
	};
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t host = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
	uintptr_t aligned;

	if (host && size > host)
		return vmm_error_set(err, "memory", ENOMEM,
				     "%llu MiB asked for, the host has %llu MiB",
				     (unsigned long long)(size >> 20),
				     (unsigned long long)(host >> 20));
	if (given) {
		vm->ram_alloc = given->alloc;
		vm->ram_alloc_size = given->alloc_size;
		aligned = (uintptr_t)given->ram;
	} else if (restore_dir) {
		void *m;
		int ret = guest_mem_map(restore_dir, size, SZ_2M, &vm->ram_alloc,
					&vm->ram_alloc_size, &m, err);

		if (ret < 0)
			return ret;
		aligned = (uintptr_t)m;
	} else {
		vm->ram_alloc_size = (size_t)size + SZ_2M;
		vm->ram_alloc = mmap(NULL, vm->ram_alloc_size, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (vm->ram_alloc == MAP_FAILED) {
			vm->ram_alloc = NULL;
			return vmm_error_sys(err, "mmap guest RAM");
		}
		aligned = ((uintptr_t)vm->ram_alloc + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1);
	}
	vm->ram = (void *)aligned;
	vm->ram_base = MACHINE_RAM_BASE;
	vm->ram_size = size;
	if (!restore_dir && !given)
		madvise(vm->ram, size, MADV_HUGEPAGE); /* a hint; fine if refused */
	region.userspace_addr = aligned;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		int ret = vmm_error_sys(err, "KVM_SET_USER_MEMORY_REGION");

		munmap(vm->ram_alloc, vm->ram_alloc_size);
		vm->ram_alloc = vm->ram = NULL;
		return ret;
	}
	return 0;
}

static void ram_destroy(struct vm *vm)
{
	if (vm->ram_alloc)
		munmap(vm->ram_alloc, vm->ram_alloc_size);
	vm->ram_alloc = vm->ram = NULL;
}

static int vcpus_create(struct vm *vm, unsigned n, struct vmm_error *err)
{
	struct kvm_vcpu_init init;
	int max = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	unsigned i;
	int ret;

	if (max > 0 && n > (unsigned)max)
		return vmm_error_set(err, "vcpus", EINVAL,
				     "%u vCPUs asked for, KVM allows %d", n, max);
	if (n > gic_max_vcpus(vm->gic))
		return vmm_error_set(err, "vcpus", EINVAL,
				     "%u vCPUs asked for, a GIC%s takes %u", n,
				     gic_name(vm->gic), gic_max_vcpus(vm->gic));
	memset(&init, 0, sizeof(init));
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return vmm_error_sys(err, "KVM_ARM_PREFERRED_TARGET");
	vcpu_features_init_bits(&vm->cpu_features, &init);
	vm->vcpu_init = init; /* a guest reset initialises them again */
	vm->vcpus = calloc(n, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vmm_error_set(err, "vcpus", ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		ret = vcpu_create(vm, i, &init, &vm->vcpus[i], err);
		if (ret < 0)
			goto err_unwind;
		vm->nr_vcpus = i + 1;
	}
	return 0;

err_unwind:
	while (i-- > 0)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	return ret;
}

static void vcpus_destroy(struct vm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
}

static void devices_destroy(struct vm *vm)
{
	vm_devices_destroy(vm);
	vm->gic = NULL;
	mmio_bus_free(&vm->bus);
}

/*
 * The pins on every vCPU, after all of them are initialised and before any
 * runs. vCPU 0's readbacks are the ones reported.
 */
static int pins_apply(struct vm *vm, const struct vmm_config *cfg,
		      struct vmm_error *err)
{
	struct kvm_one_reg psci = { .id = REG_PSCI_VERSION,
				    .addr = (uintptr_t)&vm->psci_version };
	struct fw_pin *scratch;
	size_t n = cfg->npins;
	unsigned i;

	if (n) {
		vm->pins = malloc(n * sizeof(*vm->pins));
		vm->readback = calloc(n, sizeof(*vm->readback));
		scratch = calloc(n, sizeof(*scratch));
		if (!vm->pins || !vm->readback || !scratch) {
			free(scratch);
			return vmm_error_set(err, "pin", ENOMEM, "out of memory");
		}
		memcpy(vm->pins, cfg->pins, n * sizeof(*vm->pins));
		vm->npins = n;
		for (i = 0; i < vm->nr_vcpus; i++) {
			/* vCPU 0's readbacks are kept, the others' only checked
			 * for KVM's consent. */
			struct fw_pin *back = i == 0 ? vm->readback : scratch;
			size_t failed = 0;
			int ret;

			ret = vcpu_apply_pins(vm->vcpus[i].fd, cfg->pins, n, back, &failed);
			if (ret < 0) {
				free(scratch);
				vmm_error_set(err, "pin", -ret,
					      "KVM refused firmware register 0x%016llx = 0x%llx "
					      "on vCPU %u: %s",
					      (unsigned long long)cfg->pins[failed].id,
					      (unsigned long long)cfg->pins[failed].value, i,
					      strerror(-ret));
				if (err) {
					err->has_register = true;
					err->reg = cfg->pins[failed].id;
				}
				return ret;
			}
		}
		free(scratch);
	}
	for (i = 0; i < vm->nr_vcpus && cfg->nid_pins; i++) {
		size_t failed = 0;
		uint64_t got = 0;
		int ret = vcpu_apply_id_pins(vm->vcpus[i].fd, cfg->id_pins, cfg->nid_pins, &failed,
					     &got);

		if (ret < 0) {
			const struct id_pin *p = &cfg->id_pins[failed];
			char name[24];

			vmm_error_set(err, "pin", -ret,
				      "KVM refused ID register %s fields 0x%llx = 0x%llx on vCPU "
				      "%u: %s",
				      id_reg_name(p->id, name, sizeof(name)),
				      (unsigned long long)p->mask, (unsigned long long)p->value, i,
				      ret == -EPERM ? "it reads back another value" : strerror(-ret));
			if (err) {
				err->has_register = true;
				err->reg = p->id;
			}
			return ret;
		}
	}
	/* What the guest will find, for the psci node's compatible. */
	if (ioctl(vm->vcpus[0].fd, KVM_GET_ONE_REG, &psci) < 0)
		vm->psci_version = 0x10000;
	return 0;
}

/* Device tree into its slot; vCPU 0 to the kernel entry with x0 = dtb. */
int vm_boot_finish(struct vm *vm, const char *cmdline, struct vmm_error *err)
{
	uint64_t off = vm->boot.dtb_addr - vm->ram_base;
	int ret;

	ret = fdt_build(vm, cmdline, (char *)vm->ram + off, BOOT_DTB_MAX, err);
	if (ret < 0)
		return ret;
	ret = vcpu_set_core_reg(&vm->vcpus[0], CORE_REG(regs.pc),
				vm->boot.kernel_addr, err);
	if (ret < 0)
		return ret;
	return vcpu_set_core_reg(&vm->vcpus[0], CORE_REG(regs.regs[0]),
				 vm->boot.dtb_addr, err);
}

/* The snapshot must describe the VM the config asks for, on this host. */
static int restore_check_shape(const struct vmm_config *cfg, const struct vm_state *st,
			       struct vmm_error *err)
{
	uint64_t freq = vm_time_host_frequency();

	if (st->vcpus != cfg->vcpus || st->memory_mib != cfg->memory_mib)
		return vmm_error_set(err, "restore", EINVAL,
				     "the snapshot has %u vCPUs and %llu MiB; the config "
				     "asks for %u and %llu", st->vcpus,
				     (unsigned long long)st->memory_mib, cfg->vcpus,
				     (unsigned long long)cfg->memory_mib);
	if (st->ram_base != MACHINE_RAM_BASE)
		return vmm_error_set(err, "restore", EINVAL,
				     "vm.json: ram_base 0x%llx, pinvm's RAM is at 0x%llx",
				     (unsigned long long)st->ram_base, MACHINE_RAM_BASE);
	if (st->gic_nr_irqs != MACHINE_GIC_NR_IRQS)
		return vmm_error_set(err, "restore", EINVAL,
				     "vm.json: gic.nr_irqs %u, pinvm's vGIC has %u",
				     st->gic_nr_irqs, MACHINE_GIC_NR_IRQS);
	if (freq && st->cntfrq != freq)
		return vmm_error_set(err, "restore", EINVAL,
				     "counter_frequency_differs: the snapshot's counter "
				     "runs at %llu Hz, this host's at %llu Hz",
				     (unsigned long long)st->cntfrq,
				     (unsigned long long)freq);
	return 0;
}

static int restore_check_built(struct vm *vm, const struct vm_state *st,
			       struct vmm_error *err)
{
	/* The GIC is the snapshot's by construction (gic_create's want);
	 * vcpu_features_of_state() reproduces only the features pinvm knows,
	 * so a saved bit it does not (a 32-bit EL1, say) differs here. */
	if (vm->vcpu_features != st->vcpu_features)
		return vmm_error_set(err, "restore", EINVAL,
				     "vCPU features 0x%x here, 0x%llx in the snapshot",
				     vm->vcpu_features,
				     (unsigned long long)st->vcpu_features);
	return 0;
}

static int smccc_copy(struct vm *vm, const struct vmm_config *cfg,
		      struct vmm_error *err)
{
	if (!cfg->nsmccc_deny)
		return 0;
	vm->smccc_deny = malloc(cfg->nsmccc_deny * sizeof(*vm->smccc_deny));
	if (!vm->smccc_deny)
		return vmm_error_set(err, "vm", ENOMEM, "out of memory");
	memcpy(vm->smccc_deny, cfg->smccc_deny, cfg->nsmccc_deny * sizeof(*vm->smccc_deny));
	vm->nsmccc_deny = cfg->nsmccc_deny;
	return 0;
}

/* Appends "name MS " (the time since *last) to vm->build_timing. */
static void step_done(struct vm *vm, const char *name, double *last)
{
	double now = mono_ms_exact();
	size_t n = strlen(vm->build_timing);

	snprintf(vm->build_timing + n, sizeof(vm->build_timing) - n, "%s%s %.1f", n ? " " : "",
		 name, now - *last);
	*last = now;
}

/*
 * Builds the VM: booted from cfg, or with snap rebuilt from a saved state
 * whose RAM is cfg->restore's mem.raw or, with given, RAM already filled
 * (a migration). given's mapping is the VM's from the start, freed with
 * it whatever happens.
 */
static int vm_build(const struct vmm_config *cfg, int console_fd,
		    const struct vm_state *snap, const struct ram_given *given,
		    struct vm **out, struct vmm_error *err)
{
	double t = mono_ms_exact();
	uint64_t ram_size = cfg->memory_mib << 20;
	struct vm *vm;
	int ret;

	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		if (given)
			munmap(given->alloc, given->alloc_size);
		return vmm_error_set(err, "vm", ENOMEM, "out of memory");
	}
	vm->kvm_fd = vm->vm_fd = vm->exit_efd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	mmio_bus_init(&vm->bus);

	if (given) {
		vm->ram_alloc = given->alloc; /* ours now, even on failure */
		vm->ram_alloc_size = given->alloc_size;
	}
	ret = smccc_copy(vm, cfg, err);
	if (ret < 0)
		goto err_free;
	ret = kvm_open_vm(vm, ram_size, err);
	if (ret < 0)
		goto err_free;
	/* A saved guest's vCPUs are made as its source's were. */
	vm->cpu_features = cfg->cpu_features;
	if (snap && (ret = vcpu_features_of_state(snap, &vm->cpu_features, err)) < 0)
		goto err_close_vm;
	vm->accept = cfg->accept;
	ret = vcpu_features_check(vm->vm_fd, &vm->cpu_features, err);
	if (ret < 0)
		goto err_close_vm;
	step_done(vm, "kvm", &t);
	ret = ram_create(vm, ram_size, given ? NULL : cfg->restore, given, err);
	if (ret < 0)
		goto err_close_vm;
	if (!snap) {
		ret = boot_load(cfg->kernel, cfg->initrd, vm->ram, vm->ram_base,
				vm->ram_size, &vm->boot, err);
		if (ret < 0)
			goto err_ram;
	}
	step_done(vm, "ram+load", &t);
	ret = gic_create(vm, cfg->vcpus,
			 snap ? gic_want_named(snap->gic_version) : GIC_WANT_ANY, err);
	if (ret < 0)
		goto err_ram;
	step_done(vm, "gic", &t);
	ret = vcpus_create(vm, cfg->vcpus, err);
	if (ret < 0)
		goto err_devices;
	step_done(vm, "vcpus", &t);
	ret = gic_finalize(vm, err);
	if (ret < 0)
		goto err_vcpus;
	/* The PMU's interrupt needs the initialised vGIC. */
	if (vm->cpu_features.pmu && (ret = vcpu_features_pmu(vm, err)) < 0)
		goto err_vcpus;
	step_done(vm, "gic_init", &t);
	/* The saved registers first: the extra pins and the filter may
	 * only add to what the guest saw. */
	if (snap && ((ret = restore_check_built(vm, snap, err)) < 0 ||
		     (ret = vm_restore_regs(vm, snap, err)) < 0))
		goto err_vcpus;
	ret = pins_apply(vm, cfg, err);
	if (ret < 0)
		goto err_pins;
	step_done(vm, "pins", &t);
	/* Default-deny hypercalls: like the pins, before any vCPU runs. */
	if (cfg->nsmccc_deny) {
		char why[256];

		ret = vmm_smccc_deny(vm->vm_fd, cfg->smccc_deny, cfg->nsmccc_deny,
				     why, sizeof(why));
		if (ret < 0) {
			vmm_error_set(err, "smccc_filter", -ret, "%s", why);
			goto err_pins;
		}
	}
	if (snap && (ret = vm_restore_finish(vm, snap, err)) < 0)
		goto err_pins;
	ret = console_uart_create(vm, MACHINE_UART_BASE, MACHINE_UART_SPI,
				  console_fd, cfg->console_limit, err);
	if (ret < 0)
		goto err_pins;
	ret = gpio_pl061_create(vm, MACHINE_GPIO_BASE, MACHINE_GPIO_SPI, err);
	if (ret < 0)
		goto err_pins;
	step_done(vm, "devices", &t);
	if (snap) {
		ret = console_uart_restore(vm, &snap->uart);
		if (ret < 0)
			ret = vmm_error_set(err, "restore", -ret,
					    "console interrupt level: %s", strerror(-ret));
	} else {
		ret = vm_boot_finish(vm, cfg->cmdline, err);
	}
	if (ret < 0)
		goto err_pins;
	vm->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_efd < 0) {
		ret = vmm_error_sys(err, "eventfd");
		goto err_pins;
	}
	step_done(vm, snap ? "uart" : "fdt", &t);
	*out = vm;
	return 0;

err_pins:
	free(vm->pins);
	free(vm->readback);
	vm->pins = vm->readback = NULL;
err_vcpus:
	vcpus_destroy(vm);
err_devices:
	devices_destroy(vm);
err_ram:
	ram_destroy(vm);
err_close_vm:
	kvm_close_vm(vm);
err_free:
	ram_destroy(vm); /* given RAM not mapped into KVM yet */
	free(vm->smccc_deny);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
	return ret;
}

int vm_create(const struct vmm_config *cfg, int console_fd, struct vm **out,
	      struct vmm_error *err)
{
	struct vm_state st;
	int ret;

	*out = NULL;
	if (!cfg->restore)
		return vm_build(cfg, console_fd, NULL, NULL, out, err);
	ret = vm_state_load(cfg->restore, &st, err);
	if (ret < 0)
		return ret;
	ret = restore_check_shape(cfg, &st, err);
	if (ret == 0)
		ret = vm_build(cfg, console_fd, &st, NULL, out, err);
	vm_state_free(&st);
	return ret;
}

int vm_create_incoming(const struct vmm_config *cfg, int console_fd, void *ram_alloc,
		       size_t ram_alloc_size, void *ram, const struct vm_state *st,
		       struct vm **out, struct vmm_error *err)
{
	struct ram_given given = { .alloc = ram_alloc, .alloc_size = ram_alloc_size,
				   .ram = ram };
	int ret;

	*out = NULL;
	ret = restore_check_shape(cfg, st, err);
	if (ret < 0) {
		munmap(ram_alloc, ram_alloc_size);
		return ret;
	}
	return vm_build(cfg, console_fd, st, &given, out, err);
}

int vm_create_scratch(unsigned vcpus, uint64_t memory_mib, enum gic_want want,
		      const struct cpu_features *features, struct vm **out,
		      struct vmm_error *err)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	*out = NULL;
	if (!vm)
		return vmm_error_set(err, "vm", ENOMEM, "out of memory");
	vm->kvm_fd = vm->vm_fd = vm->exit_efd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	mmio_bus_init(&vm->bus);
	if (features)
		vm->cpu_features = *features;
	/* Same IPA size as the real one; no RAM: nothing will run. */
	if ((ret = kvm_open_vm(vm, memory_mib << 20, err)) < 0 ||
	    (ret = vcpu_features_check(vm->vm_fd, &vm->cpu_features, err)) < 0 ||
	    (ret = gic_create(vm, vcpus, want, err)) < 0 ||
	    (ret = vcpus_create(vm, vcpus, err)) < 0 ||
	    (ret = gic_finalize(vm, err)) < 0 ||
	    (vm->cpu_features.pmu && (ret = vcpu_features_pmu(vm, err)) < 0)) {
		vm_destroy(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	vm_run_destroy(vm);
	if (vm->exit_efd >= 0)
		close(vm->exit_efd);
	free(vm->pins);
	free(vm->readback);
	free(vm->smccc_deny);
	vcpus_destroy(vm);
	devices_destroy(vm);
	ram_destroy(vm);
	kvm_close_vm(vm);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

const struct fw_pin *vm_pins(const struct vm *vm, size_t *npins,
			    const struct fw_pin **readback)
{
	*npins = vm->npins;
	*readback = vm->readback;
	return vm->pins;
}

const char *vm_gic_name(const struct vm *vm)
{
	return gic_name(vm->gic);
}

unsigned vm_vcpu_count(const struct vm *vm)
{
	return vm->nr_vcpus;
}

const char *vm_build_timing(const struct vm *vm)
{
	return vm->build_timing;
}
