/*
 * The guest's device tree, written with libfdt's sequential-write API:
 * root, memory, cpus (enable-method "psci"), psci (method "hvc"), the
 * architected timer, then every registered device's own node (the GIC,
 * the UART, the GPIO power button, ...), then /chosen (bootargs, initrd,
 * stdout-path, and pinvm,resets after a guest reset) and
 * /aliases. Devices see the builder through struct fdt_ctx.
 */
#ifndef PINVM_VMM_FDT_BUILD_H
#define PINVM_VMM_FDT_BUILD_H

#include "vmm_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define FDT_PHANDLE_GIC 1
#define FDT_PHANDLE_APB_PCLK 2 /* the fixed clock AMBA devices name */
#define FDT_PHANDLE_GPIO 3

/* Interrupt specifier flags (dt-bindings/interrupt-controller). */
#define FDT_IRQ_TYPE_EDGE_RISING 1
#define FDT_IRQ_TYPE_LEVEL_HIGH 4
#define FDT_IRQ_TYPE_LEVEL_LOW 8

struct fdt_ctx {
	void *fdt;              /* libfdt sequential-write buffer */
	struct vm *vm;
	bool gic_v2;            /* set by the GIC node: PPIs carry a CPU mask */
	char stdout_path[64];   /* set by the console's node */
};

/* "interrupts" = <GIC_SPI spi flags>; a libfdt error or 0. */
int fdt_ctx_irq_spi(struct fdt_ctx *ctx, unsigned spi, uint32_t flags);

/*
 * Builds the tree into dst (at most dst_size bytes, packed). The GIC must
 * be registered as a device, and every vCPU initialised (their MPIDRs name
 * the cpu nodes).
 */
int fdt_build(struct vm *vm, const char *cmdline, void *dst, size_t dst_size,
	      struct vmm_error *err);

#endif
