/*
 * The in-kernel interrupt controller: a GICv3 (distributor and one
 * redistributor per vCPU) through KVM_CREATE_DEVICE, or a GICv2 when KVM
 * refuses v3 (a GICv2 host; at most 8 vCPUs then), or exactly the one a
 * snapshot names. Registered as a VM
 * device, so it writes its own device-tree node.
 */
#ifndef PINVM_VMM_GIC_H
#define PINVM_VMM_GIC_H

#include "vmm_error.h"

#include <stdbool.h>

struct vm;
struct gic;

/*
 * Which vGIC to create: a new VM takes a GICv3 and falls back to a GICv2;
 * a restored VM takes exactly the one its guest was driving (its drivers
 * and the saved state are for that one), or fails with step "gic".
 */
enum gic_want { GIC_WANT_ANY, GIC_WANT_V3, GIC_WANT_V2 };

/* GIC_WANT_V2 for "v2", else GIC_WANT_V3 (a saved state's gic.version). */
enum gic_want gic_want_named(const char *version);

/* Before the vCPUs exist (KVM wants them created after the vGIC). */
int gic_create(struct vm *vm, unsigned nr_vcpus, enum gic_want want,
	       struct vmm_error *err);
/* After every vCPU is created and initialised, before any runs. */
int gic_finalize(struct vm *vm, struct vmm_error *err);
const char *gic_name(const struct gic *gic);
unsigned gic_max_vcpus(const struct gic *gic);

/* The KVM device fd (owned by the gic) and whether it is a GICv2. */
int gic_fd(const struct gic *gic);
bool gic_is_v2(const struct gic *gic);

/* Drives SPI spi (0-based) to level; 0 or -errno. Any thread. */
int gic_set_spi(struct vm *vm, unsigned spi, bool level);

#endif
