#include "fdt_build.h"

#include "vm_internal.h"

#include <endian.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define FDT_GIC_SPI 0
#define FDT_GIC_PPI 1
#define MPIDR_HWID_MASK 0xff00ffffffULL

/* Timer PPIs (INTID - 16): secure phys, non-secure phys, virtual, hyp. */
static const unsigned timer_ppis[] = { 13, 14, 11, 10 };

/* Every libfdt call in this file goes through here. */
#define FDT_TRY(expr)                          \
	do {                                   \
		int fdt_try_ret_ = (expr);     \
		if (fdt_try_ret_ < 0)          \
			return fdt_try_ret_;   \
	} while (0)

int fdt_ctx_irq_spi(struct fdt_ctx *ctx, unsigned spi, uint32_t flags)
{
	uint32_t cells[3] = { cpu_to_fdt32(FDT_GIC_SPI), cpu_to_fdt32(spi),
			      cpu_to_fdt32(flags) };

	return fdt_property(ctx->fdt, "interrupts", cells, sizeof(cells));
}

static int reg_prop(void *fdt, uint64_t base, uint64_t size)
{
	uint64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int cpus_node(struct fdt_ctx *ctx)
{
	struct vm *vm = ctx->vm;
	unsigned i;

	FDT_TRY(fdt_begin_node(ctx->fdt, "cpus"));
	FDT_TRY(fdt_property_cell(ctx->fdt, "#address-cells", 2));
	FDT_TRY(fdt_property_cell(ctx->fdt, "#size-cells", 0));
	for (i = 0; i < vm->nr_vcpus; i++) {
		uint64_t hwid = vm->vcpus[i].mpidr & MPIDR_HWID_MASK;
		uint64_t reg = cpu_to_fdt64(hwid);
		char name[32];

		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)hwid);
		FDT_TRY(fdt_begin_node(ctx->fdt, name));
		FDT_TRY(fdt_property_string(ctx->fdt, "device_type", "cpu"));
		FDT_TRY(fdt_property_string(ctx->fdt, "compatible", "arm,arm-v8"));
		FDT_TRY(fdt_property_string(ctx->fdt, "enable-method", "psci"));
		FDT_TRY(fdt_property(ctx->fdt, "reg", &reg, sizeof(reg)));
		FDT_TRY(fdt_end_node(ctx->fdt));
	}
	return fdt_end_node(ctx->fdt);
}

/*
 * PSCI 0.2+ through HVC, KVM's in-kernel implementation. "arm,psci-1.0"
 * only when the vCPUs really report 1.0 or later (a PSCI_VERSION pin may
 * have lowered it); the function ids are the standard ones.
 */
static int psci_node(struct fdt_ctx *ctx)
{
	static const char v1[] = "arm,psci-1.0\0arm,psci-0.2";
	static const char v02[] = "arm,psci-0.2";
	bool is_v1 = (ctx->vm->psci_version >> 16) >= 1;

	FDT_TRY(fdt_begin_node(ctx->fdt, "psci"));
	FDT_TRY(fdt_property(ctx->fdt, "compatible", is_v1 ? v1 : v02,
			     is_v1 ? sizeof(v1) : sizeof(v02)));
	FDT_TRY(fdt_property_string(ctx->fdt, "method", "hvc"));
	return fdt_end_node(ctx->fdt);
}

static int timer_node(struct fdt_ctx *ctx)
{
	uint32_t cells[3 * 4];
	uint32_t flags = FDT_IRQ_TYPE_LEVEL_HIGH;
	unsigned i, n = ctx->vm->nr_vcpus;

	/* GICv2 PPI specifiers name the CPUs they reach (bits 8-15). */
	if (ctx->gic_v2)
		flags |= (n >= 8 ? 0xffu : ((1u << n) - 1)) << 8;
	for (i = 0; i < 4; i++) {
		cells[3 * i] = cpu_to_fdt32(FDT_GIC_PPI);
		cells[3 * i + 1] = cpu_to_fdt32(timer_ppis[i]);
		cells[3 * i + 2] = cpu_to_fdt32(flags);
	}
	FDT_TRY(fdt_begin_node(ctx->fdt, "timer"));
	FDT_TRY(fdt_property_string(ctx->fdt, "compatible", "arm,armv8-timer"));
	FDT_TRY(fdt_property(ctx->fdt, "interrupts", cells, sizeof(cells)));
	FDT_TRY(fdt_property(ctx->fdt, "always-on", NULL, 0));
	return fdt_end_node(ctx->fdt);
}

static int chosen_node(struct fdt_ctx *ctx, const char *cmdline)
{
	struct vm *vm = ctx->vm;
	unsigned char seed[32];

	FDT_TRY(fdt_begin_node(ctx->fdt, "chosen"));
	FDT_TRY(fdt_property_string(ctx->fdt, "bootargs", cmdline ? cmdline : ""));
	/* Only after a reset (vm_reset.c), so a first boot's tree is as ever:
	 * lets a guest tell a reboot from a cold boot. */
	if (vm->reboots)
		FDT_TRY(fdt_property_u32(ctx->fdt, "pinvm,resets", vm->reboots));
	if (ctx->stdout_path[0])
		FDT_TRY(fdt_property_string(ctx->fdt, "stdout-path", ctx->stdout_path));
	if (vm->boot.initrd_size) {
		FDT_TRY(fdt_property_u64(ctx->fdt, "linux,initrd-start",
					 vm->boot.initrd_addr));
		FDT_TRY(fdt_property_u64(ctx->fdt, "linux,initrd-end",
					 vm->boot.initrd_addr + vm->boot.initrd_size));
	}
	/* Entropy for KASLR and the early RNG; without it the guest boots too. */
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
		uint64_t kaslr;

		memcpy(&kaslr, seed, sizeof(kaslr));
		FDT_TRY(fdt_property_u64(ctx->fdt, "kaslr-seed", kaslr));
		FDT_TRY(fdt_property(ctx->fdt, "rng-seed", seed, sizeof(seed)));
	}
	FDT_TRY(fdt_end_node(ctx->fdt));
	if (ctx->stdout_path[0]) {
		FDT_TRY(fdt_begin_node(ctx->fdt, "aliases"));
		FDT_TRY(fdt_property_string(ctx->fdt, "serial0", ctx->stdout_path));
		FDT_TRY(fdt_end_node(ctx->fdt));
	}
	return 0;
}

static int write_tree(struct fdt_ctx *ctx, const char *cmdline)
{
	struct vm *vm = ctx->vm;
	struct vm_device *dev;
	char name[32];

	FDT_TRY(fdt_finish_reservemap(ctx->fdt));
	FDT_TRY(fdt_begin_node(ctx->fdt, ""));
	FDT_TRY(fdt_property_string(ctx->fdt, "compatible", "linux,dummy-virt"));
	FDT_TRY(fdt_property_string(ctx->fdt, "model", "pinvm microVM"));
	FDT_TRY(fdt_property_cell(ctx->fdt, "#address-cells", 2));
	FDT_TRY(fdt_property_cell(ctx->fdt, "#size-cells", 2));
	FDT_TRY(fdt_property_cell(ctx->fdt, "interrupt-parent", FDT_PHANDLE_GIC));

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)vm->ram_base);
	FDT_TRY(fdt_begin_node(ctx->fdt, name));
	FDT_TRY(fdt_property_string(ctx->fdt, "device_type", "memory"));
	FDT_TRY(reg_prop(ctx->fdt, vm->ram_base, vm->ram_size));
	FDT_TRY(fdt_end_node(ctx->fdt));

	FDT_TRY(cpus_node(ctx));
	FDT_TRY(psci_node(ctx));
	/* Devices in registration order: the GIC first, so the timer below
	 * knows which GIC it is. */
	for (dev = vm->devices; dev; dev = dev->next)
		if (dev->fdt_node)
			FDT_TRY(dev->fdt_node(dev, ctx));
	FDT_TRY(timer_node(ctx));
	FDT_TRY(chosen_node(ctx, cmdline));
	FDT_TRY(fdt_end_node(ctx->fdt));
	return fdt_finish(ctx->fdt);
}

int fdt_build(struct vm *vm, const char *cmdline, void *dst, size_t dst_size,
	      struct vmm_error *err)
{
	size_t size = 64 * 1024 + (size_t)vm->nr_vcpus * 256;
	struct fdt_ctx ctx = { .vm = vm };
	int ret;

	if (size > dst_size)
		size = dst_size;
	ctx.fdt = calloc(1, size);
	if (!ctx.fdt)
		return vmm_error_set(err, "device tree", ENOMEM, "out of memory");
	ret = fdt_create(ctx.fdt, (int)size);
	if (ret == 0)
		ret = write_tree(&ctx, cmdline);
	if (ret == 0)
		ret = fdt_open_into(ctx.fdt, dst, (int)dst_size);
	if (ret == 0)
		ret = fdt_pack(dst);
	free(ctx.fdt);
	if (ret < 0)
		return vmm_error_set(err, "device tree", ret == -FDT_ERR_NOSPACE ?
				     ENOSPC : EINVAL, "libfdt: %s", fdt_strerror(ret));
	return 0;
}
