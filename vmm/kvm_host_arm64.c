/*
 * Host probe on arm64: everything here goes through real /dev/kvm.
 */
#include "kvm_host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Linux 6.4 uapi; our build headers may predate it. */
#ifndef KVM_ARM_VM_SMCCC_CTRL
#define KVM_ARM_VM_SMCCC_CTRL 0
#define KVM_ARM_VM_SMCCC_FILTER 0
#endif

/* Linux 6.7 uapi (Documentation/virt/kvm/api.rst 4.139); our build
 * headers may predate it. */
#ifndef KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES
#define KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES 230
#define KVM_ARM_FEATURE_ID_RANGE 0
#define KVM_ARM_FEATURE_ID_RANGE_SIZE (3 * 8 * 8)
struct reg_mask_range {
	__u64 addr;
	__u32 range;
	__u32 reserved[13];
};
#define KVM_ARM_GET_REG_WRITABLE_MASKS _IOR(KVMIO, 0xb6, struct reg_mask_range)
#endif

#define FW_COPROC_PSEUDO 0x0014
#define FW_COPROC_FEAT_BMAP 0x0016

struct scratch_vm {
	int kvm;
	int vm;
	int vcpu;
};

static void scratch_close(struct scratch_vm *s)
{
	if (s->vcpu >= 0)
		close(s->vcpu);
	if (s->vm >= 0)
		close(s->vm);
	if (s->kvm >= 0)
		close(s->kvm);
	s->kvm = s->vm = s->vcpu = -1;
}

static int fail(const char *step, char *err, size_t errlen)
{
	int e = errno ? errno : EIO;

	snprintf(err, errlen, "%s: %s", step, strerror(e));
	return -e;
}

/* Opens KVM and creates a VM; with_vcpu adds vCPU 0, initialised. */
static int scratch_open(struct scratch_vm *s, bool with_vcpu,
			char *err, size_t errlen)
{
	struct kvm_vcpu_init init;
	int ret;

	s->kvm = s->vm = s->vcpu = -1;
	s->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (s->kvm < 0)
		return fail("open /dev/kvm", err, errlen);
	s->vm = ioctl(s->kvm, KVM_CREATE_VM, 0);
	if (s->vm < 0) {
		ret = fail("KVM_CREATE_VM", err, errlen);
		goto err_close;
	}
	if (!with_vcpu)
		return 0;
	memset(&init, 0, sizeof(init));
	if (ioctl(s->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		ret = fail("KVM_ARM_PREFERRED_TARGET", err, errlen);
		goto err_close;
	}
	s->vcpu = ioctl(s->vm, KVM_CREATE_VCPU, 0);
	if (s->vcpu < 0) {
		ret = fail("KVM_CREATE_VCPU", err, errlen);
		goto err_close;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(s->vcpu, KVM_ARM_VCPU_INIT, &init) < 0) {
		ret = fail("KVM_ARM_VCPU_INIT", err, errlen);
		goto err_close;
	}
	return 0;

err_close:
	scratch_close(s);
	return ret;
}

static const struct {
	const char *name;
	long cap;
} abi_caps[] = {
	{ "psci", KVM_CAP_ARM_PSCI },
	{ "psci_0_2", KVM_CAP_ARM_PSCI_0_2 },
	{ "max_vcpus", KVM_CAP_MAX_VCPUS },
	{ "nr_vcpus", KVM_CAP_NR_VCPUS },
	{ "ipa_size", KVM_CAP_ARM_VM_IPA_SIZE },
	{ "pmu_v3", KVM_CAP_ARM_PMU_V3 },
	{ "sve", KVM_CAP_ARM_SVE },
	{ "ptrauth_address", KVM_CAP_ARM_PTRAUTH_ADDRESS },
	{ "ptrauth_generic", KVM_CAP_ARM_PTRAUTH_GENERIC },
	{ "mte", KVM_CAP_ARM_MTE },
};

/* The vector lengths KVM offers an SVE vCPU (KVM_REG_ARM64_SVE_VLS of a
 * fresh one, before KVM_ARM_VCPU_FINALIZE); 0 when it cannot say. */
static uint32_t sve_vls(int vm)
{
	struct kvm_vcpu_init init;
	uint64_t vls[8] = { 0 };
	struct kvm_one_reg r = { .id = KVM_REG_ARM64_SVE_VLS, .addr = (uintptr_t)vls };
	int vcpu;

	memset(&init, 0, sizeof(init));
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return 0;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return 0;
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2 | 1u << KVM_ARM_VCPU_SVE;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0 || ioctl(vcpu, KVM_GET_ONE_REG, &r) < 0)
		vls[0] = 0;
	close(vcpu);
	return (uint32_t)vls[0];
}

/*
 * Whether a vCPU made without a PMU shows one anyway: ID_AA64DFR0_EL1.PMUVer
 * (bits 11:8; 0 none, 0xf an IMPLEMENTATION DEFINED PMU) of a fresh vCPU
 * initialised without KVM_ARM_VCPU_PMU_V3. 5.10 shows PMUv3p1 there, whose
 * counters read as zero; 6.x shows none. A VM of its own: newer kernels
 * refuse a VM's vCPUs different features, and the SVE probe's has SVE.
 */
static bool pmu_without_request(void)
{
	struct scratch_vm s;
	uint64_t dfr0 = 0, pmuver;
	struct kvm_one_reg r = { .id = ARM64_SYS_REG(3, 0, 0, 5, 0), .addr = (uintptr_t)&dfr0 };
	char err[128];
	bool ok;

	if (scratch_open(&s, true, err, sizeof(err)) < 0)
		return false;
	ok = ioctl(s.vcpu, KVM_GET_ONE_REG, &r) == 0;
	scratch_close(&s);
	pmuver = dfr0 >> 8 & 0xf;
	return ok && pmuver && pmuver != 0xf;
}

static void cpu_caps(int vm, struct kvm_host_info *info)
{
	struct cpu_host_caps *c = &info->cpu;

	c->pmu = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PMU_V3) > 0;
	c->sve = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_SVE) > 0;
	c->pauth_address = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PTRAUTH_ADDRESS) > 0;
	c->pauth_generic = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PTRAUTH_GENERIC) > 0;
	c->sve_vls = c->sve ? sve_vls(vm) : 0;
	c->pmu_without_request = pmu_without_request();
}

void kvm_host_probe(struct kvm_host_info *info)
{
	struct kvm_device_attr attr;
	struct scratch_vm s;
	struct utsname u;
	size_t i;

	memset(info, 0, sizeof(*info));
	if (uname(&u) == 0) {
		snprintf(info->arch, sizeof(info->arch), "%s", u.machine);
		snprintf(info->kernel_release, sizeof(info->kernel_release),
			 "%s", u.release);
	}
	if (scratch_open(&s, false, info->reason, sizeof(info->reason)) < 0)
		return;
	info->api_version = ioctl(s.kvm, KVM_GET_API_VERSION, 0);
	if (info->api_version != KVM_API_VERSION) {
		snprintf(info->reason, sizeof(info->reason),
			 "KVM API version %d, pinvmd needs %d",
			 info->api_version, KVM_API_VERSION);
		scratch_close(&s);
		return;
	}
	for (i = 0; i < sizeof(abi_caps) / sizeof(abi_caps[0]); i++) {
		long v = ioctl(s.vm, KVM_CHECK_EXTENSION, abi_caps[i].cap);

		info->caps[info->ncaps].name = abi_caps[i].name;
		info->caps[info->ncaps].value = v < 0 ? 0 : v;
		info->ncaps++;
	}
	/* The SMCCC filter has no capability number: probe the attribute. */
	memset(&attr, 0, sizeof(attr));
	attr.group = KVM_ARM_VM_SMCCC_CTRL;
	attr.attr = KVM_ARM_VM_SMCCC_FILTER;
	info->caps[info->ncaps].name = "smccc_filter";
	info->caps[info->ncaps].value =
		ioctl(s.vm, KVM_HAS_DEVICE_ATTR, &attr) == 0;
	info->ncaps++;
	/* Last: the SVE probe adds a vCPU to the scratch VM. */
	cpu_caps(s.vm, info);
	scratch_close(&s);
	info->hypervisor = true;
	info->reason[0] = '\0';
}

static bool is_fw_reg(uint64_t id)
{
	uint64_t coproc = (id & KVM_REG_ARM_COPROC_MASK) >> KVM_REG_ARM_COPROC_SHIFT;

	return (id & KVM_REG_ARCH_MASK) == KVM_REG_ARM64 &&
	       (coproc == FW_COPROC_PSEUDO || coproc == FW_COPROC_FEAT_BMAP);
}

/* KVM_GET_REG_LIST: ask for the count first, then the list. */
static int get_reg_list(int vcpu, struct kvm_reg_list **out,
			char *err, size_t errlen)
{
	struct kvm_reg_list probe = { .n = 0 };
	struct kvm_reg_list *list;

	*out = NULL;
	if (ioctl(vcpu, KVM_GET_REG_LIST, &probe) == 0)
		errno = EPROTO; /* an empty list cannot hold the core registers */
	if (errno != E2BIG)
		return fail("KVM_GET_REG_LIST (count)", err, errlen);
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	if (!list) {
		snprintf(err, errlen, "out of memory for %llu register ids",
			 (unsigned long long)probe.n);
		return -ENOMEM;
	}
	list->n = probe.n;
	if (ioctl(vcpu, KVM_GET_REG_LIST, list) < 0) {
		int ret = fail("KVM_GET_REG_LIST", err, errlen);

		free(list);
		return ret;
	}
	*out = list;
	return 0;
}

int kvm_host_read_fwregs(struct kvm_fwreg **regs, size_t *nregs,
			 char *err, size_t errlen)
{
	struct kvm_reg_list *list = NULL;
	struct kvm_fwreg *out = NULL;
	struct scratch_vm s;
	size_t n = 0;
	uint64_t i;
	int ret;

	*regs = NULL;
	*nregs = 0;
	ret = scratch_open(&s, true, err, errlen);
	if (ret < 0)
		return ret;
	ret = get_reg_list(s.vcpu, &list, err, errlen);
	if (ret < 0)
		goto out;
	out = calloc(list->n ? list->n : 1, sizeof(*out));
	if (!out) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < list->n; i++) {
		uint64_t id = list->reg[i], value = 0;
		struct kvm_one_reg one = { .id = id, .addr = (uintptr_t)&value };

		if (!is_fw_reg(id))
			continue;
		/* Firmware registers are 64-bit; a wider one would not fit. */
		if ((id & KVM_REG_SIZE_MASK) != KVM_REG_SIZE_U64) {
			snprintf(err, errlen,
				 "firmware register 0x%016llx is not 64-bit",
				 (unsigned long long)id);
			ret = -EPROTO;
			goto out;
		}
		if (ioctl(s.vcpu, KVM_GET_ONE_REG, &one) < 0) {
			char step[64];

			snprintf(step, sizeof(step), "KVM_GET_ONE_REG 0x%016llx",
				 (unsigned long long)id);
			ret = fail(step, err, errlen);
			goto out;
		}
		out[n].id = id;
		out[n].value = value;
		n++;
	}
	*regs = out;
	*nregs = n;
	out = NULL;
	ret = 0;
out:
	free(out);
	free(list);
	scratch_close(&s);
	return ret;
}

/*
 * KVM's writable masks of the feature ID range, indexed by
 * (op1 << 6 | CRm << 3 | op2) for op1 0 (KVM_ARM_FEATURE_ID_RANGE_IDX):
 * true when the kernel tells them (6.7+), false (all 0) when it cannot.
 */
static int writable_masks(int vm, uint64_t masks[KVM_ARM_FEATURE_ID_RANGE_SIZE], bool *known,
			  char *err, size_t errlen)
{
	int ranges = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES);
	struct reg_mask_range r = { .addr = (uintptr_t)masks,
				    .range = KVM_ARM_FEATURE_ID_RANGE };

	memset(masks, 0, KVM_ARM_FEATURE_ID_RANGE_SIZE * sizeof(masks[0]));
	*known = ranges > 0 && (ranges & (1 << KVM_ARM_FEATURE_ID_RANGE));
	if (*known && ioctl(vm, KVM_ARM_GET_REG_WRITABLE_MASKS, &r) < 0)
		return fail("KVM_ARM_GET_REG_WRITABLE_MASKS", err, errlen);
	return 0;
}

int kvm_host_read_idregs(struct id_regs *out, char *err, size_t errlen)
{
	uint64_t ids[ID_REGS_MAX], values[ID_REGS_MAX], writable[ID_REGS_MAX];
	uint64_t masks[KVM_ARM_FEATURE_ID_RANGE_SIZE];
	struct kvm_reg_list *list = NULL;
	struct api_error aerr;
	struct scratch_vm s;
	bool known = false;
	size_t n = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = scratch_open(&s, true, err, errlen);
	if (ret < 0)
		return ret;
	ret = get_reg_list(s.vcpu, &list, err, errlen);
	if (ret == 0)
		ret = writable_masks(s.vm, masks, &known, err, errlen);
	for (uint64_t i = 0; ret == 0 && list && i < list->n && n < ID_REGS_MAX; i++) {
		uint64_t id = list->reg[i];
		struct kvm_one_reg one = { .id = id, .addr = (uintptr_t)&values[n] };

		if (!id_reg_is_feature(id))
			continue;
		if (ioctl(s.vcpu, KVM_GET_ONE_REG, &one) < 0) {
			char step[64];

			snprintf(step, sizeof(step), "KVM_GET_ONE_REG 0x%016llx",
				 (unsigned long long)id);
			ret = fail(step, err, errlen);
			break;
		}
		ids[n] = id;
		writable[n] = masks[id & 0x3f];
		n++;
	}
	if (ret == 0 && id_regs_init(out, ids, values, writable, n, known, &aerr) < 0) {
		snprintf(err, errlen, "KVM's ID registers: %s", aerr.detail);
		ret = -EPROTO;
	}
	free(list);
	scratch_close(&s);
	return ret;
}
