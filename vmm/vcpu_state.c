#include "vcpu_state.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#ifndef KVM_REG_ARM_PTIMER_CNT
#define KVM_REG_ARM_PTIMER_CNT ARM64_SYS_REG(3, 3, 14, 0, 1)
#endif

bool vcpu_state_is_counter(uint64_t id)
{
	/* 6.4+ ignores these once KVM_ARM_SET_COUNTER_OFFSET is used, and
	 * before that a write moves the VM-wide offset: time is vm_time.c's. */
	return id == KVM_REG_ARM_TIMER_CNT || id == KVM_REG_ARM_PTIMER_CNT;
}

static int sort_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int vcpu_state_reg_list(int fd, uint64_t **ids, size_t *n, struct vmm_error *err)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;
	size_t count;

	*ids = NULL;
	*n = 0;
	if (ioctl(fd, KVM_GET_REG_LIST, &probe) == 0 || errno != E2BIG)
		return vmm_error_sys(err, "KVM_GET_REG_LIST");
	count = probe.n;
	if (count > VM_STATE_MAX_REGS)
		return vmm_error_set(err, "KVM_GET_REG_LIST", E2BIG,
				     "KVM lists %zu registers, pinvm keeps at most %u",
				     count, VM_STATE_MAX_REGS);
	list = malloc(sizeof(*list) + count * sizeof(uint64_t));
	if (!list)
		return vmm_error_set(err, "KVM_GET_REG_LIST", ENOMEM, "out of memory");
	list->n = count;
	if (ioctl(fd, KVM_GET_REG_LIST, list) < 0) {
		int ret = vmm_error_sys(err, "KVM_GET_REG_LIST");

		free(list);
		return ret;
	}
	*ids = malloc((list->n ? list->n : 1) * sizeof(uint64_t));
	if (!*ids) {
		free(list);
		return vmm_error_set(err, "KVM_GET_REG_LIST", ENOMEM, "out of memory");
	}
	memcpy(*ids, list->reg, list->n * sizeof(uint64_t));
	*n = list->n;
	free(list);
	qsort(*ids, *n, sizeof(uint64_t), sort_u64);
	return 0;
}

int vcpu_state_save(int fd, unsigned index, struct vm_state_vcpu *out,
		    struct vmm_error *err)
{
	struct kvm_mp_state mp;
	uint64_t *ids;
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = vcpu_state_reg_list(fd, &ids, &n, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		uint8_t buf[VM_STATE_MAX_REG_BYTES];
		struct kvm_one_reg r = { .id = ids[i], .addr = (uintptr_t)buf };

		if (!vm_state_reg_size(ids[i])) {
			ret = vmm_error_set(err, "snapshot", E2BIG,
					    "vCPU %u: register 0x%016" PRIx64
					    " is wider than pinvm keeps", index, ids[i]);
			goto fail;
		}
		if (ioctl(fd, KVM_GET_ONE_REG, &r) < 0) {
			ret = vmm_error_set(err, "snapshot", errno,
					    "vCPU %u: KVM_GET_ONE_REG 0x%016" PRIx64 ": %s",
					    index, ids[i], strerror(errno));
			if (err) {
				err->has_register = true;
				err->reg = ids[i];
			}
			goto fail;
		}
		if (vm_state_vcpu_add(out, ids[i], buf) < 0) {
			ret = vmm_error_set(err, "snapshot", ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (ioctl(fd, KVM_GET_MP_STATE, &mp) < 0) {
		ret = vmm_error_sys(err, "KVM_GET_MP_STATE");
		goto fail;
	}
	out->mp_state = mp.mp_state;
	free(ids);
	return 0;
fail:
	free(ids);
	free(out->regs);
	free(out->data);
	memset(out, 0, sizeof(*out));
	return ret;
}

int vcpu_state_restore_regs(int fd, unsigned index, const struct vm_state_vcpu *v,
			    vcpu_state_refused_fn on_refused, void *opaque)
{
	for (size_t i = 0; i < v->nregs; i++) {
		uint64_t id = v->regs[i].id;
		const uint8_t *want = v->data + v->regs[i].off;
		struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)want };
		uint8_t now[VM_STATE_MAX_REG_BYTES];
		struct kvm_one_reg g = { .id = id, .addr = (uintptr_t)now };
		bool have;
		int e;

		if (vcpu_state_is_counter(id))
			continue;
		if (id == RESTORE_REG_SVE_VLS) {
			/* Set before KVM_ARM_VCPU_FINALIZE from the saved ones
			 * (vcpu_features_of_state()); KVM takes no write now
			 * (EPERM), so equal is the only way through. */
			have = ioctl(fd, KVM_GET_ONE_REG, &g) == 0;
			if (have && !memcmp(now, want, vm_state_reg_size(id)))
				continue;
			if (!on_refused(opaque, index, id, EPERM, want, have ? now : NULL, have))
				return -EINVAL;
			continue;
		}
		if (ioctl(fd, KVM_SET_ONE_REG, &r) == 0)
			continue;
		e = errno;
		have = ioctl(fd, KVM_GET_ONE_REG, &g) == 0;
		if (!on_refused(opaque, index, id, e, want, have ? now : NULL, have))
			return -EINVAL;
	}
	return 0;
}

int vcpu_state_set_mp(int fd, unsigned index, uint32_t mp_state,
		      struct vmm_error *err)
{
	struct kvm_mp_state mp = { .mp_state = mp_state };

	if (ioctl(fd, KVM_SET_MP_STATE, &mp) < 0)
		return vmm_error_set(err, "restore", errno,
				     "vCPU %u: KVM_SET_MP_STATE %u: %s", index, mp_state,
				     strerror(errno));
	return 0;
}

#define SYSREG_MASK 0x000000000000ffffULL
#define PTIMER_CTL 0x603000000013df11ULL
#define OSLSR_EL1 0x603000000013808cULL
#define OSLSR_UNLOCKED 0x8ULL
/* KVM's reset_unknown() value: a register no one has written. */
#define KVM_RESET_UNKNOWN 0x1de7ec7edbadc0deULL

/* TCR2_EL1, PIRE0_EL1, PIR_EL1: listed by some kernels (6.12) whether or
 * not the CPU has the feature; at reset they hold nothing a guest wrote. */
static const uint64_t reset_tolerated[] = {
	0x603000000013c103ULL, 0x603000000013c512ULL, 0x603000000013c513ULL,
};

static uint64_t low64(const uint8_t *p, uint64_t id)
{
	size_t size = vm_state_reg_size(id);
	uint64_t v = 0;

	memcpy(&v, p, size < sizeof(v) ? size : sizeof(v));
	return v;
}

static bool is_ptimer(uint64_t id)
{
	return id == 0x603000000013df11ULL || id == 0x603000000013df12ULL ||
	       id == 0x603000000013df01ULL;
}

/* PMU system registers: PM* in CRn 9 (CRm 12-14) and the event counters
 * and types in CRn 14 (CRm 8-15). */
static bool is_pmu(uint64_t id)
{
	unsigned crn = (unsigned)(id >> 7) & 0xf, crm = (unsigned)(id >> 3) & 0xf;

	if ((id & ~SYSREG_MASK) != 0x6030000000130000ULL || ((id >> 14) & 3) != 3)
		return false;
	return (crn == 9 && crm >= 12 && crm <= 14) || (crn == 14 && crm >= 8);
}

bool vcpu_state_absent_tolerated(uint64_t features, const struct vm_state_vcpu *v,
				 uint64_t id, const uint8_t *value)
{
	/* 5.10 lists the PMU registers even for a vCPU without a PMU, whose
	 * guest reads zeros and writes nothing there (RAZ/WI): no state. */
	if (is_pmu(id) && !(features & (1u << KVM_ARM_VCPU_PMU_V3)))
		return true;
	/* Kernels before 5.18 do not list OSLSR_EL1 and answer every read
	 * with 0x8 (OS lock implemented, not locked): a guest that read 0x8
	 * reads the same there. A locked one (OSLK) would not. */
	if (id == OSLSR_EL1)
		return low64(value, id) == OSLSR_UNLOCKED;
	/* A service bitmap (coproc 0x16) at 0 offered the guest nothing;
	 * a target without it offers nothing there either (7.3's
	 * VENDOR_HYP_BMAP_2 on 6.12). pinvmd judges the rest by api/ rules. */
	if ((id & 0x000000000fff0000ULL) == 0x0000000000160000ULL)
		return low64(value, id) == 0;
	if (is_ptimer(id)) {
		const uint8_t *ctl = vm_state_vcpu_find(v, PTIMER_CTL);

		/* A disabled physical timer: nothing to rebuild (Linux guests
		 * at EL1 use the virtual one). */
		return !ctl || !(low64(ctl, PTIMER_CTL) & 1);
	}
	for (size_t i = 0; i < sizeof(reset_tolerated) / sizeof(reset_tolerated[0]); i++)
		if (id == reset_tolerated[i])
			return low64(value, id) == 0 || low64(value, id) == KVM_RESET_UNKNOWN;
	return false;
}

int vcpu_state_restore_extra(int fd, unsigned index, const uint64_t *ids, size_t n,
			     const struct vm_state_vcpu *v, vcpu_state_extra_fn on_extra,
			     void *opaque, struct vmm_error *err)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t now[VM_STATE_MAX_REG_BYTES] = { 0 };
		uint64_t id = ids[i], zero = 0, reset = 0;
		struct kvm_one_reg get = { .id = id, .addr = (uintptr_t)now };
		struct kvm_one_reg set = { .id = id, .addr = (uintptr_t)&zero };
		enum restore_extra rule;
		int e = 0;

		if (vm_state_vcpu_find(v, id) || vm_state_reg_size(id) > sizeof(now))
			continue;
		if (ioctl(fd, KVM_GET_ONE_REG, &get) == 0)
			reset = low64(now, id);
		rule = restore_extra_rule(id, reset);
		if (rule == RESTORE_EXTRA_WRITE_ZERO && ioctl(fd, KVM_SET_ONE_REG, &set) < 0)
			e = errno;
		if (on_extra) {
			on_extra(opaque, id, rule, reset, e);
		} else if (e) {
			vmm_error_set(err, "restore", e,
				      "id_register_differs: vCPU %u: ID register 0x%016" PRIx64
				      " reads 0x%" PRIx64 " here, the snapshot's guest read 0, and "
				      "KVM will not take 0: %s", index, id, reset, strerror(e));
			if (err) {
				err->has_register = true;
				err->reg = id;
			}
			return -e;
		}
	}
	return 0;
}

unsigned vcpu_state_accept_rule(uint64_t features, uint64_t id, const uint8_t *wanted,
				const uint8_t *offered, bool listed)
{
	return accept_rule_for_reg(id, low64(wanted, id), listed ? low64(offered, id) : 0,
				   listed, features & (1u << KVM_ARM_VCPU_PMU_V3));
}

struct restoring {
	uint64_t features;
	unsigned accept;
	int errnum;     /* KVM's answer to the refused write that stopped it */
	struct vmm_error *err;
};

static bool refused_unless_accepted(void *opaque, unsigned index, uint64_t id, int errnum,
				    const uint8_t *wanted, const uint8_t *offered,
				    bool have_offered)
{
	struct restoring *r = opaque;
	unsigned rule = vcpu_state_accept_rule(r->features, id, wanted, offered, have_offered);

	if (rule & r->accept)
		return true; /* this host's value stays (accept_rule.h) */
	r->errnum = errnum;
	vmm_error_set(r->err, "restore", errnum,
		      "%s: vCPU %u: KVM refused register 0x%016" PRIx64 "%s: %s",
		      accept_refusal_rule(id, rule, have_offered), index, id,
		      have_offered ? "" : " (not listed here)", strerror(errnum));
	if (r->err) {
		r->err->has_register = true;
		r->err->reg = id;
	}
	return false;
}

int vcpu_state_restore(int fd, unsigned index, uint64_t features, unsigned accept,
		       const struct vm_state_vcpu *v, struct vmm_error *err)
{
	struct restoring r = { .features = features, .accept = accept, .err = err };
	struct vm_state_vcpu sub = { 0 };
	uint64_t *ids;
	size_t n;
	int ret = vcpu_state_reg_list(fd, &ids, &n, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < v->nregs && ret == 0; i++) {
		uint64_t id = v->regs[i].id;
		const uint8_t *p = v->data + v->regs[i].off;
		unsigned rule;

		if (restore_reg_is_host_level(id))
			continue; /* the source host's level, not VM state */
		if (!bsearch(&id, ids, n, sizeof(*ids), sort_u64)) {
			if (vcpu_state_absent_tolerated(features, v, id, p))
				continue;
			rule = vcpu_state_accept_rule(features, id, p, NULL, false);
			if (rule & accept)
				continue;
			ret = vmm_error_set(err, "restore", ENOENT,
					    "%s: vCPU %u: register 0x%016" PRIx64
					    " is not listed by this host's KVM",
					    accept_refusal_rule(id, rule, false), index, id);
			if (err) {
				err->has_register = true;
				err->reg = id;
			}
			break;
		}
		if (vm_state_vcpu_add(&sub, id, p) < 0)
			ret = vmm_error_set(err, "restore", ENOMEM, "out of memory");
	}
	if (ret == 0 && vcpu_state_restore_regs(fd, index, &sub, refused_unless_accepted, &r) < 0)
		ret = r.errnum ? -r.errnum : -EINVAL;
	if (ret == 0)
		ret = vcpu_state_restore_extra(fd, index, ids, n, v, NULL, NULL, err);
	free(sub.regs);
	free(sub.data);
	free(ids);
	return ret;
}
