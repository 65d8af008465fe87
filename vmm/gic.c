#include "gic.h"

#include "fdt_build.h"
#include "machine_layout.h"
#include "vm_internal.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define GIC_SPI_BASE 32

struct gic {
	struct vm_device dev;
	int fd;
	bool v2;
	uint64_t dist_base;
	uint64_t redist_base, redist_size; /* v3 */
	uint64_t cpuif_base;               /* v2 */
};

static int set_attr(int fd, uint32_t group, uint64_t attr, void *addr)
{
	struct kvm_device_attr a = { .group = group, .attr = attr,
				     .addr = (uintptr_t)addr };

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

static int gic_fdt_node(struct vm_device *dev, struct fdt_ctx *ctx)
{
	struct gic *gic = (struct gic *)dev;
	uint64_t reg[4];
	char name[32];
	int ret;

	reg[0] = cpu_to_fdt64(gic->dist_base);
	reg[1] = cpu_to_fdt64(MACHINE_GIC_DIST_SIZE);
	reg[2] = cpu_to_fdt64(gic->v2 ? gic->cpuif_base : gic->redist_base);
	reg[3] = cpu_to_fdt64(gic->v2 ? MACHINE_GIC_CPUIF_SIZE : gic->redist_size);
	ctx->gic_v2 = gic->v2;
	snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)gic->dist_base);
	if ((ret = fdt_begin_node(ctx->fdt, name)) < 0 ||
	    (ret = fdt_property_string(ctx->fdt, "compatible",
				       gic->v2 ? "arm,cortex-a15-gic" : "arm,gic-v3")) < 0 ||
	    (ret = fdt_property_cell(ctx->fdt, "#interrupt-cells", 3)) < 0 ||
	    (ret = fdt_property(ctx->fdt, "interrupt-controller", NULL, 0)) < 0 ||
	    (ret = fdt_property(ctx->fdt, "reg", reg, sizeof(reg))) < 0 ||
	    (ret = fdt_property_cell(ctx->fdt, "phandle", FDT_PHANDLE_GIC)) < 0)
		return ret;
	return fdt_end_node(ctx->fdt);
}

static void gic_destroy(struct vm_device *dev)
{
	struct gic *gic = (struct gic *)dev;

	if (gic->fd >= 0)
		close(gic->fd);
	free(gic);
}

/* 0, or -errno with *step naming the refused call. */
static int try_create(struct vm *vm, struct gic *gic, bool v2, unsigned nr_vcpus,
		      const char **step)
{
	struct kvm_create_device cd = {
		.type = v2 ? KVM_DEV_TYPE_ARM_VGIC_V2 : KVM_DEV_TYPE_ARM_VGIC_V3,
	};
	uint32_t nr_irqs = MACHINE_GIC_NR_IRQS;
	int ret;

	gic->v2 = v2;
	gic->dist_base = MACHINE_GIC_DIST_BASE;
	gic->cpuif_base = MACHINE_GIC_DIST_BASE - MACHINE_GIC_CPUIF_SIZE;
	gic->redist_size = (uint64_t)nr_vcpus * MACHINE_GIC_REDIST_SIZE;
	gic->redist_base = MACHINE_GIC_DIST_BASE - gic->redist_size;
	*step = "KVM_CREATE_DEVICE";
	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	gic->fd = (int)cd.fd;
	*step = "KVM_SET_DEVICE_ATTR (GIC addresses)";
	if (v2)
		ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V2_ADDR_TYPE_CPU, &gic->cpuif_base);
	else
		ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V3_ADDR_TYPE_REDIST, &gic->redist_base);
	if (ret == 0)
		ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       v2 ? KVM_VGIC_V2_ADDR_TYPE_DIST : KVM_VGIC_V3_ADDR_TYPE_DIST,
			       &gic->dist_base);
	if (ret == 0) {
		*step = "KVM_SET_DEVICE_ATTR (GIC interrupts)";
		ret = set_attr(gic->fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	}
	if (ret < 0) {
		close(gic->fd);
		gic->fd = -1;
	}
	return ret;
}

enum gic_want gic_want_named(const char *version)
{
	return strcmp(version, "v2") == 0 ? GIC_WANT_V2 : GIC_WANT_V3;
}

int gic_create(struct vm *vm, unsigned nr_vcpus, enum gic_want want,
	       struct vmm_error *err)
{
	struct gic *gic = calloc(1, sizeof(*gic));
	const char *step3 = "", *step2 = "";
	int ret3 = -ENODEV, ret2;

	if (!gic)
		return vmm_error_set(err, "gic", ENOMEM, "out of memory");
	gic->fd = -1;
	if (want != GIC_WANT_V2)
		ret3 = try_create(vm, gic, false, nr_vcpus, &step3);
	if (ret3 < 0 && want == GIC_WANT_V3) {
		free(gic);
		return vmm_error_set(err, "gic", -ret3, "GICv3 (the snapshot's): %s: %s",
				     step3, strerror(-ret3));
	}
	if (ret3 < 0) {
		if (nr_vcpus > MACHINE_GICV2_MAX_VCPUS) {
			free(gic);
			if (want == GIC_WANT_V2)
				return vmm_error_set(err, "gic", EINVAL,
						     "GICv2 (the snapshot's): at most %u vCPUs, "
						     "not %u", MACHINE_GICV2_MAX_VCPUS, nr_vcpus);
			return vmm_error_set(err, "gic", -ret3,
					     "GICv3: %s: %s (a GICv2 takes at most %u vCPUs)",
					     step3, strerror(-ret3), MACHINE_GICV2_MAX_VCPUS);
		}
		ret2 = try_create(vm, gic, true, nr_vcpus, &step2);
		if (ret2 < 0) {
			free(gic);
			if (want == GIC_WANT_V2)
				return vmm_error_set(err, "gic", -ret2,
						     "GICv2 (the snapshot's): %s: %s", step2,
						     strerror(-ret2));
			return vmm_error_set(err, "gic", -ret2,
					     "GICv3: %s: %s; GICv2: %s: %s", step3,
					     strerror(-ret3), step2, strerror(-ret2));
		}
		if (want == GIC_WANT_ANY)
			fprintf(stderr, "pinvm-vmm: GICv3 refused (%s: %s), using GICv2\n",
				step3, strerror(-ret3));
	}
	gic->dev.name = "gic";
	gic->dev.fdt_node = gic_fdt_node;
	gic->dev.destroy = gic_destroy;
	vm->gic = gic;
	vm_add_device(vm, &gic->dev);
	return 0;
}

int gic_finalize(struct vm *vm, struct vmm_error *err)
{
	int ret = set_attr(vm->gic->fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			   KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);

	if (ret < 0)
		return vmm_error_set(err, "gic", -ret,
				     "KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(-ret));
	return 0;
}

int gic_fd(const struct gic *gic)
{
	return gic->fd;
}

bool gic_is_v2(const struct gic *gic)
{
	return gic->v2;
}

const char *gic_name(const struct gic *gic)
{
	return gic->v2 ? "v2" : "v3";
}

unsigned gic_max_vcpus(const struct gic *gic)
{
	return gic->v2 ? MACHINE_GICV2_MAX_VCPUS : MACHINE_MAX_VCPUS;
}

int gic_set_spi(struct vm *vm, unsigned spi, bool level)
{
	struct kvm_irq_level irq = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       ((GIC_SPI_BASE + spi) & KVM_ARM_IRQ_NUM_MASK),
		.level = level,
	};

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}
