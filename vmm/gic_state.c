#include "gic_state.h"

#include "accept_rule.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* Distributor and redistributor offsets (GIC architecture, GICv3). */
#define GICD_CTLR 0x0000
#define GICD_IIDR 0x0008
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ISACTIVER 0x0300
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR 0x0c00
#define GICD_IROUTER 0x6000
#define GICD_ITARGETSR 0x0800 /* v2 */
#define GICD_SPENDSGIR 0x0f20 /* v2 */
#define GICR_CTLR 0x0000
#define GICR_SGI 0x10000 /* the SGI/PPI frame */

/* The GICv2 CPU interface (GICC_*). */
#define GICC_CTLR 0x00
#define GICC_PMR 0x04
#define GICC_BPR 0x08
#define GICC_ABPR 0x1c
#define GICC_APR 0xd0

/* ICC system registers: op0:op1:CRn:CRm:op2 as the attr's low 16 bits. */
#define ICC(op0, op1, crn, crm, op2) \
	((uint64_t)((op0) << 14 | (op1) << 11 | (crn) << 7 | (crm) << 3 | (op2)))
#define ICC_PMR_EL1 ICC(3, 0, 4, 6, 0)
#define ICC_BPR0_EL1 ICC(3, 0, 12, 8, 3)
#define ICC_AP0R_EL1(n) ICC(3, 0, 12, 8, 4 + (n))
#define ICC_AP1R_EL1(n) ICC(3, 0, 12, 9, (n))
#define ICC_BPR1_EL1 ICC(3, 0, 12, 12, 3)
#define ICC_CTLR_EL1 ICC(3, 0, 12, 12, 4)
#define ICC_SRE_EL1 ICC(3, 0, 12, 12, 5)
#define ICC_IGRPEN0_EL1 ICC(3, 0, 12, 12, 6)
#define ICC_IGRPEN1_EL1 ICC(3, 0, 12, 12, 7)

struct saver {
	int fd;
	struct vm_state *st;
	size_t cap;
	struct vmm_error *err;
};

/* The attr's affinity: Aff3..Aff0 packed, not MPIDR_EL1's layout. */
static uint64_t affinity(uint64_t mpidr)
{
	uint64_t aff = (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24;

	return aff << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT;
}

static int push(struct saver *s, uint32_t group, uint64_t attr, uint64_t value)
{
	struct vm_state *st = s->st;

	if (st->ngic_regs == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 512;
		struct vm_state_gic_reg *r;

		if (cap > VM_STATE_MAX_GIC_REGS)
			return vmm_error_set(s->err, "snapshot", E2BIG,
					     "more vGIC registers than pinvm keeps");
		r = realloc(st->gic_regs, cap * sizeof(*r));
		if (!r)
			return vmm_error_set(s->err, "snapshot", ENOMEM, "out of memory");
		st->gic_regs = r;
		s->cap = cap;
	}
	st->gic_regs[st->ngic_regs++] = (struct vm_state_gic_reg){
		.group = group, .attr = attr, .value = value,
	};
	return 0;
}

static int get(struct saver *s, uint32_t group, uint64_t attr, uint64_t *value)
{
	uint32_t v32 = 0;
	uint64_t v64 = 0;
	struct kvm_device_attr a = {
		.group = group, .attr = attr,
		.addr = group == KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS ? (uintptr_t)&v64
								  : (uintptr_t)&v32,
	};

	if (ioctl(s->fd, KVM_GET_DEVICE_ATTR, &a) < 0)
		return vmm_error_set(s->err, "snapshot", errno,
				     "vGIC group %u attr 0x%" PRIx64 ": %s", group, attr,
				     strerror(errno));
	*value = group == KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS ? v64 : v32;
	return 0;
}

static int save(struct saver *s, uint32_t group, uint64_t attr, uint64_t *out)
{
	uint64_t v = 0;
	int ret = get(s, group, attr, &v);

	if (ret == 0 && out)
		*out = v;
	return ret < 0 ? ret : push(s, group, attr, v);
}

/* An enable bitmap: clear what was off, then set what was on. */
static int save_enable(struct saver *s, uint32_t group, uint64_t attr_set,
		       uint64_t attr_clear)
{
	uint64_t v = 0;
	int ret = get(s, group, attr_set, &v);

	if (ret == 0)
		ret = push(s, group, attr_clear, ~v & 0xffffffffu);
	return ret < 0 ? ret : push(s, group, attr_set, v);
}

static int save_redist(struct saver *s, uint64_t aff)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS;
	int ret;

	if ((ret = save(s, g, aff | GICR_CTLR, NULL)) < 0 ||
	    (ret = save(s, g, aff | (GICR_SGI + GICD_IGROUPR), NULL)) < 0 ||
	    (ret = save_enable(s, g, aff | (GICR_SGI + GICD_ISENABLER),
			       aff | (GICR_SGI + GICD_ICENABLER))) < 0 ||
	    (ret = save(s, g, aff | (GICR_SGI + GICD_ICFGR), NULL)) < 0 ||
	    (ret = save(s, g, aff | (GICR_SGI + GICD_ICFGR + 4), NULL)) < 0 ||
	    (ret = save(s, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
			aff | (VGIC_LEVEL_INFO_LINE_LEVEL << KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT),
			NULL)) < 0 ||
	    (ret = save(s, g, aff | (GICR_SGI + GICD_ISPENDR), NULL)) < 0 ||
	    (ret = save(s, g, aff | (GICR_SGI + GICD_ISACTIVER), NULL)) < 0)
		return ret;
	for (unsigned i = 0; i < 8; i++)
		if ((ret = save(s, g, aff | (GICR_SGI + GICD_IPRIORITYR + 4 * i), NULL)) < 0)
			return ret;
	return 0;
}

/* The SPIs' pending, active and priority registers, both versions' last
 * distributor accesses (after the config and enables they depend on). */
static int save_spi_state(struct saver *s, unsigned nr_irqs)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
	unsigned i;
	int ret;

	for (i = 1; i < nr_irqs / 32; i++)
		if ((ret = save(s, g, GICD_ISPENDR + 4 * i, NULL)) < 0 ||
		    (ret = save(s, g, GICD_ISACTIVER + 4 * i, NULL)) < 0)
			return ret;
	for (i = 8; i < nr_irqs / 4; i++)
		if ((ret = save(s, g, GICD_IPRIORITYR + 4 * i, NULL)) < 0)
			return ret;
	return 0;
}

static int save_dist(struct saver *s, uint64_t aff0, unsigned nr_irqs)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
	unsigned words = nr_irqs / 32, i;
	int ret;

	for (i = 1; i < words; i++)
		if ((ret = save(s, g, GICD_IGROUPR + 4 * i, NULL)) < 0 ||
		    (ret = save_enable(s, g, GICD_ISENABLER + 4 * i,
				       GICD_ICENABLER + 4 * i)) < 0)
			return ret;
	for (i = 32; i < nr_irqs; i++)
		if ((ret = save(s, g, GICD_IROUTER + 8 * i, NULL)) < 0 ||
		    (ret = save(s, g, GICD_IROUTER + 8 * i + 4, NULL)) < 0)
			return ret;
	for (i = 2; i < nr_irqs / 16; i++)
		if ((ret = save(s, g, GICD_ICFGR + 4 * i, NULL)) < 0)
			return ret;
	for (i = 1; i < words; i++)
		if ((ret = save(s, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
				aff0 | (VGIC_LEVEL_INFO_LINE_LEVEL
					<< KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT) | (32 * i),
				NULL)) < 0)
			return ret;
	return save_spi_state(s, nr_irqs);
}

static int save_cpuif(struct saver *s, uint64_t aff)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS;
	uint64_t ctlr = 0;
	unsigned pribits, nap, i;
	int ret;

	if ((ret = save(s, g, aff | ICC_SRE_EL1, NULL)) < 0 ||
	    (ret = save(s, g, aff | ICC_CTLR_EL1, &ctlr)) < 0 ||
	    (ret = save(s, g, aff | ICC_IGRPEN0_EL1, NULL)) < 0 ||
	    (ret = save(s, g, aff | ICC_IGRPEN1_EL1, NULL)) < 0 ||
	    (ret = save(s, g, aff | ICC_PMR_EL1, NULL)) < 0 ||
	    (ret = save(s, g, aff | ICC_BPR0_EL1, NULL)) < 0 ||
	    (ret = save(s, g, aff | ICC_BPR1_EL1, NULL)) < 0)
		return ret;
	/* Active-priority registers exist as the priority bits say. */
	pribits = (unsigned)((ctlr >> 8) & 7) + 1;
	nap = pribits >= 7 ? 4 : pribits == 6 ? 2 : 1;
	for (i = 0; i < nap; i++)
		if ((ret = save(s, g, aff | ICC_AP0R_EL1(i), NULL)) < 0)
			return ret;
	for (i = 0; i < nap; i++)
		if ((ret = save(s, g, aff | ICC_AP1R_EL1(i), NULL)) < 0)
			return ret;
	return 0;
}

/*
 * A GICv2 (vgic-v2.rst): the vCPU index selects the banked copy of a
 * distributor register and the CPU interface. No line levels: v2 has no
 * such group; a level interrupt's line reads as pending and comes back
 * latched, which costs at most one spurious interrupt, and pinvm's UART
 * drives its line again after a restore.
 */
static int save_banked_v2(struct saver *s, uint64_t cpu)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
	unsigned i;
	int ret;

	if ((ret = save(s, g, cpu | GICD_IGROUPR, NULL)) < 0 ||
	    (ret = save_enable(s, g, cpu | GICD_ISENABLER, cpu | GICD_ICENABLER)) < 0 ||
	    (ret = save(s, g, cpu | GICD_ISPENDR, NULL)) < 0 ||
	    (ret = save(s, g, cpu | GICD_ISACTIVER, NULL)) < 0)
		return ret;
	for (i = 0; i < 8; i++)
		if ((ret = save(s, g, cpu | (GICD_IPRIORITYR + 4 * i), NULL)) < 0)
			return ret;
	/* Pending SGIs, by source CPU: ISPENDR ignores writes for SGIs. */
	for (i = 0; i < 4; i++)
		if ((ret = save(s, g, cpu | (GICD_SPENDSGIR + 4 * i), NULL)) < 0)
			return ret;
	return 0;
}

static int save_dist_v2(struct saver *s, unsigned nr_irqs)
{
	const uint32_t g = KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
	unsigned words = nr_irqs / 32, i;
	int ret;

	for (i = 1; i < words; i++)
		if ((ret = save(s, g, GICD_IGROUPR + 4 * i, NULL)) < 0)
			return ret;
	for (i = 8; i < nr_irqs / 4; i++)
		if ((ret = save(s, g, GICD_ITARGETSR + 4 * i, NULL)) < 0)
			return ret;
	for (i = 2; i < nr_irqs / 16; i++)
		if ((ret = save(s, g, GICD_ICFGR + 4 * i, NULL)) < 0)
			return ret;
	for (i = 1; i < words; i++)
		if ((ret = save_enable(s, g, GICD_ISENABLER + 4 * i,
				       GICD_ICENABLER + 4 * i)) < 0)
			return ret;
	return save_spi_state(s, nr_irqs);
}

/* KVM shows the active priorities combined, as GICH_APR, in APR0-3. */
static int save_cpuif_v2(struct saver *s, uint64_t cpu)
{
	static const uint32_t regs[] = { GICC_CTLR, GICC_PMR, GICC_BPR, GICC_ABPR,
					 GICC_APR, GICC_APR + 4, GICC_APR + 8,
					 GICC_APR + 12 };
	int ret;

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if ((ret = save(s, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, cpu | regs[i], NULL)) < 0)
			return ret;
	return 0;
}

static int save_v2(struct saver *s, unsigned nr_vcpus, unsigned nr_irqs)
{
	unsigned i;
	int ret;

	for (i = 0; i < nr_vcpus; i++)
		if ((ret = save_banked_v2(s, (uint64_t)i << KVM_DEV_ARM_VGIC_CPUID_SHIFT)) < 0)
			return ret;
	if ((ret = save_dist_v2(s, nr_irqs)) < 0)
		return ret;
	for (i = 0; i < nr_vcpus; i++)
		if ((ret = save_cpuif_v2(s, (uint64_t)i << KVM_DEV_ARM_VGIC_CPUID_SHIFT)) < 0)
			return ret;
	return 0;
}

int gic_state_save(int gic_fd, bool v2, const uint64_t *mpidrs, unsigned nr_vcpus,
		   unsigned nr_irqs, struct vm_state *st, struct vmm_error *err)
{
	struct saver s = { .fd = gic_fd, .st = st, .err = err };
	unsigned i;
	int ret;

	snprintf(st->gic_version, sizeof(st->gic_version), v2 ? "v2" : "v3");
	st->gic_nr_irqs = nr_irqs;
	if ((ret = save(&s, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IIDR, NULL)) < 0 ||
	    (ret = save(&s, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_CTLR, NULL)) < 0)
		return ret;
	if (v2)
		return save_v2(&s, nr_vcpus, nr_irqs);
	for (i = 0; i < nr_vcpus; i++)
		if ((ret = save_redist(&s, affinity(mpidrs[i]))) < 0)
			return ret;
	if ((ret = save_dist(&s, affinity(mpidrs[0]), nr_irqs)) < 0)
		return ret;
	for (i = 0; i < nr_vcpus; i++)
		if ((ret = save_cpuif(&s, affinity(mpidrs[i]))) < 0)
			return ret;
	return 0;
}

static int put(int gic_fd, const struct vm_state_gic_reg *r)
{
	uint32_t v32 = (uint32_t)r->value;
	uint64_t v64 = r->value;
	struct kvm_device_attr a = {
		.group = r->group, .attr = r->attr,
		.addr = r->group == KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS
				? (uintptr_t)&v64 : (uintptr_t)&v32,
	};

	return ioctl(gic_fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/*
 * put() of access i, and for the IIDR a read-back: 6.12 before the fix
 * a0e6ae45af17 answers 0 to an IIDR of another revision and keeps its
 * own, so a success that did not take is a refusal too (-EILSEQ: no
 * errno of KVM's; the callers report it as "kept its own").
 */
static int put_checked(int gic_fd, const struct vm_state *st, size_t i)
{
	int ret = put(gic_fd, &st->gic_regs[i]);

	if (ret == 0 && gic_state_is_iidr(st, i) &&
	    gic_state_iidr(gic_fd) != (uint32_t)st->gic_regs[i].value)
		return -EILSEQ;
	return ret;
}

void gic_state_try(int gic_fd, const struct vm_state *st,
		   void (*on_refused)(void *opaque, size_t index, int errnum),
		   void *opaque)
{
	for (size_t i = 0; i < st->ngic_regs; i++) {
		int ret = put_checked(gic_fd, st, i);

		if (ret < 0)
			on_refused(opaque, i, ret == -EILSEQ ? 0 : -ret);
	}
}

uint32_t gic_state_iidr(int gic_fd)
{
	uint32_t v = 0;
	struct kvm_device_attr a = { .group = KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
				     .attr = GICD_IIDR, .addr = (uintptr_t)&v };

	return ioctl(gic_fd, KVM_GET_DEVICE_ATTR, &a) < 0 ? 0 : v;
}

bool gic_state_is_iidr(const struct vm_state *st, size_t index)
{
	return st->gic_regs[index].group == KVM_DEV_ARM_VGIC_GRP_DIST_REGS &&
	       st->gic_regs[index].attr == GICD_IIDR;
}

int gic_state_restore(int gic_fd, const struct vm_state *st, unsigned accept,
		      struct vmm_error *err)
{
	for (size_t i = 0; i < st->ngic_regs; i++) {
		const struct vm_state_gic_reg *r = &st->gic_regs[i];
		int ret = put_checked(gic_fd, st, i);

		if (ret < 0 && gic_state_is_iidr(st, i) &&
		    (accept_rule_for_gic_iidr((uint32_t)r->value, gic_state_iidr(gic_fd)) &
		     accept))
			continue; /* this host's revision stays (accept_rule.h) */
		if (ret < 0)
			return vmm_error_set(err, "restore", -ret,
					     "vGIC group %u attr 0x%" PRIx64 " = 0x%" PRIx64
					     " (gic.regs[%zu]): %s", r->group, r->attr,
					     r->value, i, strerror(-ret));
	}
	return 0;
}
