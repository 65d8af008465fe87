/*
 * What the engine's files share about a VM. Not for users of vm.h.
 *
 * Devices: each device is a struct vm_device embedded in the device's own
 * struct, handed to vm_add_device() once built. The VM then owns it: the
 * device tree is the walk over the registered devices (each writes its
 * own node), and vm_destroy() destroys them in reverse order. Adding a
 * device never edits a central list.
 */
#ifndef PINVM_VMM_VM_INTERNAL_H
#define PINVM_VMM_VM_INTERNAL_H

#include "boot_image.h"
#include "gic.h"
#include "mmio_bus.h"
#include "vm.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct console_uart;
struct gpio_pl061;
struct fdt_ctx;
struct gic;
struct vm_state;

struct vm_device {
	const char *name;
	/* Writes the device's node(s) under the root node (libfdt sequential
	 * write); 0 or a negative libfdt error. May be NULL. */
	int (*fdt_node)(struct vm_device *dev, struct fdt_ctx *ctx);
	void (*destroy)(struct vm_device *dev); /* frees the device */
	/* Back to power-on state for a guest reset, every vCPU stopped. May
	 * be NULL (nothing to reset). */
	void (*reset)(struct vm_device *dev);
	struct vm_device *next;
};

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run; /* mmap of fd, vm->run_size bytes */
	uint64_t mpidr;      /* MPIDR_EL1 as KVM set it */
	pthread_t thread;
	bool thread_started; /* thread is valid until joined */
	bool joined;
	bool exited;         /* under vm->lock: the thread left its loop */
	bool parked;         /* under vm->lock: held by a pause */
	/* Own thread only: the last exit was MMIO, which KVM completes (loads
	 * the register, advances the PC) on the next KVM_RUN only. */
	bool mmio_pending;
};

struct vm {
	/* Where vm_create's time went, "kvm 1.2 ram 0.1 ..." in ms (issue 16). */
	char build_timing[160];
	int kvm_fd;
	int vm_fd;
	size_t run_size;

	void *ram;            /* host mapping of guest RAM, 2 MiB aligned */
	uint64_t ram_base;    /* guest physical */
	uint64_t ram_size;
	void *ram_alloc;      /* what mmap returned */
	size_t ram_alloc_size;

	struct boot_layout boot;
	struct mmio_bus bus;
	struct vm_device *devices; /* registration order */
	struct gic *gic;
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	struct fw_pin *pins;       /* written on every vCPU, config order */
	struct fw_pin *readback;   /* vCPU 0's, pins' order */
	size_t npins;
	uint64_t psci_version;     /* after the pins; for the device tree */
	uint32_t vcpu_features;    /* KVM_ARM_VCPU_INIT features[0] of vCPU 0 */
	struct cpu_features cpu_features; /* the config's (vcpu_features.h) */
	unsigned accept;           /* the config's: rules a restore may apply */
	struct kvm_vcpu_init vcpu_init; /* the preferred target, for a reset */
	struct console_uart *console;
	struct gpio_pl061 *gpio;   /* the power button; NULL in a scratch VM */
	struct smccc_range *smccc_deny; /* copy of the config's, for snapshots */
	size_t nsmccc_deny;
	/* The guest's virtual counter when the last pause took hold: a
	 * snapshot keeps that ("paused" time), not the later value. */
	uint64_t paused_cnt;
	bool have_paused_cnt;

	/* Run control, guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;
	bool pause;
	bool stop;
	bool ended;
	unsigned parked;  /* threads held by a pause */
	unsigned live;    /* threads not yet out of their loop */
	enum vmm_exit_reason reason;
	char exit_detail[sizeof(((struct vmm_error *)0)->detail)];
	int exit_efd;
	/* A guest reset under way (vm_reset.c): the vCPU threads are
	 * leaving, exit_efd is readable, and the controller reboots. */
	bool reset_pending;
	char reset_detail[160];
	unsigned reboots;
};

void vm_add_device(struct vm *vm, struct vm_device *dev);
/* Destroys every registered device, the last registered first. */
void vm_devices_destroy(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned index, const struct kvm_vcpu_init *init,
		struct vcpu *v, struct vmm_error *err);
void vcpu_destroy(struct vcpu *v);
/* KVM_ARM_VCPU_INIT (at creation and again at a guest reset). */
int vcpu_init(struct vcpu *v, const struct kvm_vcpu_init *init, struct vmm_error *err);
int vcpu_set_core_reg(struct vcpu *v, uint64_t id, uint64_t value,
		      struct vmm_error *err);
void *vcpu_thread(void *arg);

/* vm_run.c: the vCPU threads report the end of the VM here. */
void vm_end(struct vm *vm, enum vmm_exit_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* vm.c: the device tree into its slot, vCPU 0 to the kernel entry. */
int vm_boot_finish(struct vm *vm, const char *cmdline, struct vmm_error *err);
/* Under vm->lock: take every running vCPU thread out of KVM_RUN. */
void vm_kick_all_locked(struct vm *vm);
void vm_run_destroy(struct vm *vm);
/* Under vm->lock: every live vCPU thread is parked (or none was started). */
bool vm_all_parked_locked(struct vm *vm);

/*
 * vm_snapshot.c: the restore half of vm_create(), once the vCPUs and the
 * vGIC exist. vm_restore_regs() writes every saved register (before the
 * extra pins and the SMCCC filter); vm_restore_finish() then sets the
 * time, the mp_states and the vGIC (after KVM_DEV_ARM_VGIC_CTRL_INIT),
 * and makes vm->pins the snapshot's pins plus the extra ones.
 */
/*
 * vm.c: a VM with vCPUs (with features, NULL: none) and vGIC as
 * vm_create() makes them, but no RAM, devices or pins, never to run:
 * restore-check tries registers on it.
 * Free it with vm_destroy().
 */
int vm_create_scratch(unsigned vcpus, uint64_t memory_mib, enum gic_want want,
		      const struct cpu_features *features, struct vm **out,
		      struct vmm_error *err);

/*
 * vm_snapshot.c: the whole state of a paused VM (registers, time, vGIC,
 * UART, pins) into *st, which the caller frees with vm_state_free() even
 * on failure. -EBUSY when the VM is not paused. The migration sender
 * calls it from its own thread while the controller leaves the VM alone.
 */
int vm_save_state(struct vm *vm, struct vm_state *st, struct vmm_error *err);

int vm_restore_regs(struct vm *vm, const struct vm_state *st,
		    struct vmm_error *err);
int vm_restore_finish(struct vm *vm, const struct vm_state *st,
		      struct vmm_error *err);

#endif
