/*
 * PMUv3, SVE and pointer authentication on the vCPUs (vcpu_features.h).
 */
#include "vcpu_features.h"

#include "fdt_build.h"
#include "gic.h"
#include "vm_internal.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define GIC_PPI_BASE 16u
#define FDT_GIC_PPI 1

static int fail(struct vmm_error *err, int e, const char *what, unsigned index)
{
	return vmm_error_set(err, "cpu_features", e, "%s on vCPU %u: %s", what, index,
			     strerror(e));
}

static bool has_cap(int vm_fd, long cap)
{
	return ioctl(vm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

int vcpu_features_check(int vm_fd, const struct cpu_features *f, struct vmm_error *err)
{
	/* pinvmd checked the same before spawning; this is for a config
	 * written by hand, or a host that changed under a restore. */
	if (f->pmu && !has_cap(vm_fd, KVM_CAP_ARM_PMU_V3))
		return vmm_error_set(err, "cpu_features", ENOTSUP,
				     "cpu_features.pmu: KVM lacks KVM_CAP_ARM_PMU_V3");
	if (f->sve && !has_cap(vm_fd, KVM_CAP_ARM_SVE))
		return vmm_error_set(err, "cpu_features", ENOTSUP,
				     "cpu_features.sve: KVM lacks KVM_CAP_ARM_SVE");
	if (f->pauth && !(has_cap(vm_fd, KVM_CAP_ARM_PTRAUTH_ADDRESS) &&
			  has_cap(vm_fd, KVM_CAP_ARM_PTRAUTH_GENERIC)))
		return vmm_error_set(err, "cpu_features", ENOTSUP,
				     "cpu_features.pauth: KVM lacks "
				     "KVM_CAP_ARM_PTRAUTH_ADDRESS/_GENERIC");
	return 0;
}

int vcpu_features_of_state(const struct vm_state *st, struct cpu_features *out,
			   struct vmm_error *err)
{
	uint64_t bits = st->vcpu_features, vls[8];
	const uint8_t *p;
	unsigned vq = 0;

	memset(out, 0, sizeof(*out));
	out->pmu = bits & (1u << KVM_ARM_VCPU_PMU_V3);
	out->sve = bits & (1u << KVM_ARM_VCPU_SVE);
	out->pauth = bits & (1u << KVM_ARM_VCPU_PTRAUTH_ADDRESS);
	if (out->pauth != !!(bits & (1u << KVM_ARM_VCPU_PTRAUTH_GENERIC)))
		return vmm_error_set(err, "vm.json", EINVAL,
				     "vcpu_features 0x%llx: address and generic pointer "
				     "authentication come together", (unsigned long long)bits);
	if (!out->sve)
		return 0;
	p = st->vcpus ? vm_state_vcpu_find(&st->vcpu[0], KVM_REG_ARM64_SVE_VLS) : NULL;
	if (!p)
		return vmm_error_set(err, "vm.json", EINVAL,
				     "vcpu[0]: SVE without its vector lengths "
				     "(KVM_REG_ARM64_SVE_VLS)");
	memcpy(vls, p, sizeof(vls));
	for (unsigned i = 0; i < 512; i++)
		if (vls[i / 64] >> (i % 64) & 1)
			vq = i + 1;
	if (!vq || vq * CPU_SVE_VL_STEP > CPU_SVE_VL_MAX)
		return vmm_error_set(err, "vm.json", EINVAL,
				     "vcpu[0]: SVE vector lengths up to VQ %u, pinvm knows "
				     "1 to %u", vq, CPU_SVE_VL_MAX / CPU_SVE_VL_STEP);
	out->sve_vector_length = vq * CPU_SVE_VL_STEP;
	return 0;
}

void vcpu_features_init_bits(const struct cpu_features *f, struct kvm_vcpu_init *init)
{
	if (f->pmu)
		init->features[0] |= 1u << KVM_ARM_VCPU_PMU_V3;
	if (f->sve)
		init->features[0] |= 1u << KVM_ARM_VCPU_SVE;
	/* KVM refuses one of the two without the other. */
	if (f->pauth)
		init->features[0] |= 1u << KVM_ARM_VCPU_PTRAUTH_ADDRESS |
				     1u << KVM_ARM_VCPU_PTRAUTH_GENERIC;
}

/* Caps the vector lengths at f's: KVM takes only "every host length up to
 * a maximum" (it can hide lengths only through ZCR_EL2.LEN). */
static int sve_set_vls(struct vcpu *v, unsigned max_bits, struct vmm_error *err)
{
	uint64_t vls[8] = { 0 };
	struct kvm_one_reg r = { .id = KVM_REG_ARM64_SVE_VLS, .addr = (uintptr_t)vls };
	uint32_t want;
	char lens[160];

	if (ioctl(v->fd, KVM_GET_ONE_REG, &r) < 0)
		return fail(err, errno, "KVM_GET_ONE_REG KVM_REG_ARM64_SVE_VLS", v->index);
	want = cpu_sve_vls_upto((uint32_t)vls[0], max_bits);
	if (!want) {
		cpu_sve_vls_format((uint32_t)vls[0], lens, sizeof(lens));
		return vmm_error_set(err, "cpu_features", EINVAL,
				     "cpu_features.sve.vector_length: %u bits; KVM offers "
				     "%s", max_bits, lens);
	}
	memset(vls, 0, sizeof(vls));
	vls[0] = want;
	if (ioctl(v->fd, KVM_SET_ONE_REG, &r) < 0)
		return fail(err, errno, "KVM_SET_ONE_REG KVM_REG_ARM64_SVE_VLS", v->index);
	return 0;
}

int vcpu_features_finalize(struct vcpu *v, const struct cpu_features *f,
			   struct vmm_error *err)
{
	int what = KVM_ARM_VCPU_SVE;
	int ret;

	if (!f->sve)
		return 0;
	if (f->sve_vector_length && (ret = sve_set_vls(v, f->sve_vector_length, err)) < 0)
		return ret;
	/* Until this, KVM refuses the SVE registers and KVM_RUN (EPERM). */
	if (ioctl(v->fd, KVM_ARM_VCPU_FINALIZE, &what) < 0)
		return fail(err, errno, "KVM_ARM_VCPU_FINALIZE(SVE)", v->index);
	return 0;
}

struct pmu_dev {
	struct vm_device dev;
};

static int pmu_fdt_node(struct vm_device *dev, struct fdt_ctx *ctx)
{
	uint32_t flags = FDT_IRQ_TYPE_LEVEL_HIGH;
	unsigned n = ctx->vm->nr_vcpus;
	uint32_t cells[3];
	int ret;

	(void)dev;
	/* GICv2 PPI specifiers name the CPUs they reach (bits 8-15). */
	if (ctx->gic_v2)
		flags |= (n >= 8 ? 0xffu : ((1u << n) - 1)) << 8;
	cells[0] = cpu_to_fdt32(FDT_GIC_PPI);
	cells[1] = cpu_to_fdt32(VCPU_PMU_PPI);
	cells[2] = cpu_to_fdt32(flags);
	if ((ret = fdt_begin_node(ctx->fdt, "pmu")) < 0 ||
	    (ret = fdt_property_string(ctx->fdt, "compatible", "arm,armv8-pmuv3")) < 0 ||
	    (ret = fdt_property(ctx->fdt, "interrupts", cells, sizeof(cells))) < 0)
		return ret;
	return fdt_end_node(ctx->fdt);
}

static void pmu_destroy(struct vm_device *dev)
{
	free(dev);
}

int vcpu_features_pmu(struct vm *vm, struct vmm_error *err)
{
	int irq = (int)(GIC_PPI_BASE + VCPU_PMU_PPI);
	struct kvm_device_attr a = { .group = KVM_ARM_VCPU_PMU_V3_CTRL };
	struct pmu_dev *pmu;
	unsigned i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		int fd = vm->vcpus[i].fd;

		a.attr = KVM_ARM_VCPU_PMU_V3_IRQ;
		a.addr = (uintptr_t)&irq;
		if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0)
			return fail(err, errno, "KVM_ARM_VCPU_PMU_V3_IRQ", i);
		a.attr = KVM_ARM_VCPU_PMU_V3_INIT;
		a.addr = 0;
		if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0)
			return fail(err, errno, "KVM_ARM_VCPU_PMU_V3_INIT", i);
	}
	pmu = calloc(1, sizeof(*pmu));
	if (!pmu)
		return vmm_error_set(err, "cpu_features", ENOMEM, "out of memory");
	pmu->dev.name = "pmu";
	pmu->dev.fdt_node = pmu_fdt_node;
	pmu->dev.destroy = pmu_destroy;
	vm_add_device(vm, &pmu->dev);
	return 0;
}
