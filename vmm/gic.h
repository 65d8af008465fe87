/*
 * The in-kernel interrupt controller: a GICv3 (distributor and one
 * redistributor per vCPU) through KVM_CREATE_DEVICE, or a GICv2 when KVM
 * refuses v3 (a GICv2 host; at most 8 vCPUs then). Registered as a VM
 * device, so it writes its own device-tree node.
 */
#ifndef PINVM_VMM_GIC_H
#define PINVM_VMM_GIC_H

#include "vmm_error.h"

#include <stdbool.h>

struct vm;
struct gic;

/* Before the vCPUs exist (KVM wants them created after the vGIC). */
int gic_create(struct vm *vm, unsigned nr_vcpus, struct vmm_error *err);
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
