/*
 * What KVM_SET_ONE_REG does with a firmware pseudo-register, as a pure
 * function of the host's offer, the VM's state and the wanted value.
 *
 * Order of the checks follows the kernel's path:
 *   arch/arm64/kvm/arm.c  kvm_arch_vcpu_ioctl(): -ENOEXEC before
 *                         KVM_ARM_VCPU_INIT
 *   arch/arm64/kvm/guest.c kvm_arm_set_reg(): coprocessors 0x14/0x16 go
 *                         to kvm_arm_set_fw_reg()
 *   arch/arm64/kvm/hypercalls.c kvm_arm_set_fw_reg(): size != 8 and ids it
 *                         does not list -> -ENOENT, then per register
 *                         (cited at each check below).
 * Modelled on mainline from 5.10 (WORKAROUND_2 changed there) to the
 * current tree (VENDOR_HYP_BMAP_2, PSCI 1.3, the pKVM PSCI floor).
 */
#include "fwreg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const rule_codes[] = {
	[FWREG_RULE_OK] = "ok",
	[FWREG_RULE_BAD_CALL] = "bad_call",
	[FWREG_RULE_VCPU_NOT_INITIALIZED] = "vcpu_not_initialized",
	[FWREG_RULE_REGISTER_UNKNOWN] = "register_unknown",
	[FWREG_RULE_REGISTER_ABSENT] = "register_absent_on_host",
	[FWREG_RULE_PSCI_UNSUPPORTED] = "psci_version_unsupported",
	[FWREG_RULE_PSCI_0_1_WITH_0_2] = "psci_0_1_with_psci_0_2",
	[FWREG_RULE_PSCI_NEEDS_0_2] = "psci_version_needs_psci_0_2",
	[FWREG_RULE_PSCI_PROTECTED_VM] = "psci_version_protected_vm",
	[FWREG_RULE_BAD_VALUE_BITS] = "bad_value_bits",
	[FWREG_RULE_WA_LEVEL_UNDEFINED] = "workaround_level_undefined",
	[FWREG_RULE_WA2_ENABLED_NEEDS_AVAIL] = "workaround_2_enabled_needs_avail",
	[FWREG_RULE_WA_LEVEL_ABOVE_HOST] = "workaround_level_above_host",
	[FWREG_RULE_BITMAP_BITS_OUTSIDE_HOST] = "bitmap_bits_outside_host",
	[FWREG_RULE_BUSY_AFTER_RUN] = "busy_after_run",
};

#define NRULES (sizeof(rule_codes) / sizeof(rule_codes[0]))

const char *fwreg_rule_code(enum fwreg_rule rule)
{
	if ((size_t)rule >= NRULES || !rule_codes[rule])
		return "unknown_rule";
	return rule_codes[rule];
}

__attribute__((format(printf, 6, 7)))
static int finish(struct fwreg_verdict *v, int err, enum fwreg_rule rule,
		  uint64_t guest_sees, const char *note, const char *fmt, ...)
{
	va_list ap;

	v->err = err;
	v->rule = rule;
	v->code = fwreg_rule_code(rule);
	v->guest_sees = guest_sees;
	v->note = note;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return err;
}

/* Appends to a NUL-terminated buffer, truncating silently. */
__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* "1.1" */
static void psci_str(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "%" PRIu64 ".%" PRIu64, v >> 16, v & 0xffff);
}

/* "AVAIL (0x1)", or "0x3 (not a level KVM defines)" */
static void wa_level_str(char *buf, size_t size, uint64_t level)
{
	static const char *const names[] = { "NOT_AVAIL", "AVAIL",
					     "NOT_REQUIRED" };

	if (level <= FWREG_WA_NOT_REQUIRED)
		snprintf(buf, size, "%s (0x%" PRIx64 ")", names[level], level);
	else
		snprintf(buf, size, "0x%" PRIx64 " (not a level KVM defines)",
			 level);
}

/* "AVAIL|ENABLED (0x12)", "0x5 (not a level KVM defines)" */
static void wa2_str(char *buf, size_t size, uint64_t v)
{
	static const char *const names[] = { "NOT_AVAIL", "UNKNOWN", "AVAIL",
					     "NOT_REQUIRED" };
	uint64_t level = v & FWREG_WA_LEVEL_MASK;

	if (level > FWREG_WA2_NOT_REQUIRED ||
	    (v & ~(uint64_t)(FWREG_WA_LEVEL_MASK | FWREG_WA2_ENABLED))) {
		snprintf(buf, size, "0x%" PRIx64 " (not a value KVM defines)",
			 v);
		return;
	}
	snprintf(buf, size, "%s%s (0x%" PRIx64 ")", names[level],
		 (v & FWREG_WA2_ENABLED) ? "|ENABLED" : "", v);
}

/* "0x3 (TRNG, bit 1)", "0x0 (none)" */
static void bits_str(char *buf, size_t size, const struct fwreg_desc *d,
		     uint64_t v)
{
	bool first = true;

	snprintf(buf, size, "0x%" PRIx64 " (", v);
	if (!v)
		append(buf, size, "none");
	for (unsigned bit = 0; bit < 64; bit++) {
		const struct fwreg_bit *b;

		if (!(v & (UINT64_C(1) << bit)))
			continue;
		b = fwreg_bit_lookup(d, bit);
		if (b)
			append(buf, size, "%s%s", first ? "" : ", ", b->name);
		else
			append(buf, size, "%sbit %u", first ? "" : ", ", bit);
		first = false;
	}
	append(buf, size, ")");
}

/*
 * Does a host whose newest PSCI version is `newest` implement `v`?
 * include/kvm/arm_psci.h + kvm_arm_set_fw_reg(): every kernel with the
 * register accepts exactly 0.1 and the KVM_ARM_PSCI_* from 0.2 up to
 * KVM_ARM_PSCI_LATEST, its default: {0.2, 1.0} up to 5.17, + 1.1 from
 * 5.18, + 1.2 and 1.3 from 6.13. So 1.2 is settable on a 1.3 kernel. The
 * host's own newest is accepted even when this catalogue does not know it.
 */
static bool psci_host_implements(uint64_t newest, uint64_t v)
{
	if (v == FWREG_PSCI(0, 1) || v == newest)
		return true;
	return fwreg_psci_version_lookup(v) && v < newest;
}

static int check_psci(const struct fwreg_desc *d, const struct fwreg_host *host,
		      const struct fwreg_vm_state *vm, uint64_t wanted,
		      struct fwreg_verdict *v)
{
	char w[32], n[32];
	const char *note = NULL;

	psci_str(w, sizeof(w), wanted);
	psci_str(n, sizeof(n), host->value);

	/*
	 * hypercalls.c, before the version switch: a protected VM's EL2
	 * implements PSCI 1.1, so nothing older is accepted
	 * (fw-pseudo-registers.rst: "-EINVAL for a version below v1.1 on a
	 * protected VM").
	 */
	if (vm->protected_vm && wanted < FWREG_PSCI(1, 1))
		return finish(v, -EINVAL, FWREG_RULE_PSCI_PROTECTED_VM,
			      vm->current, NULL,
			      "%s: wanted %s (0x%" PRIx64 "), but the VM is "
			      "protected (pKVM); KVM refuses PSCI versions "
			      "below 1.1 for protected VMs",
			      d->name, w, wanted);

	/* hypercalls.c: a value outside the switch falls to -EINVAL. */
	if (!psci_host_implements(host->value, wanted))
		return finish(v, -EINVAL, FWREG_RULE_PSCI_UNSUPPORTED,
			      vm->current, NULL,
			      "%s: wanted %s (0x%" PRIx64 "), host's newest "
			      "is %s (0x%" PRIx64 "); KVM accepts only the "
			      "versions it implements (0.1, and 0.2 up to its "
			      "newest)",
			      d->name, w, wanted, n, host->value);

	/* hypercalls.c: 0.1 only without KVM_ARM_VCPU_PSCI_0_2 ... */
	if (wanted == FWREG_PSCI(0, 1) && vm->vcpu_has_psci_0_2)
		return finish(v, -EINVAL, FWREG_RULE_PSCI_0_1_WITH_0_2,
			      vm->current, NULL,
			      "%s: wanted 0.1 (0x1), but the vCPU was "
			      "initialised with KVM_ARM_VCPU_PSCI_0_2; KVM "
			      "accepts 0.1 only without that feature",
			      d->name);
	/* ... and 0.2 onwards only with it. */
	if (wanted != FWREG_PSCI(0, 1) && !vm->vcpu_has_psci_0_2)
		return finish(v, -EINVAL, FWREG_RULE_PSCI_NEEDS_0_2,
			      vm->current, NULL,
			      "%s: wanted %s (0x%" PRIx64 "), but the vCPU "
			      "was initialised without KVM_ARM_VCPU_PSCI_0_2; "
			      "KVM accepts 0.2 and later only with that "
			      "feature",
			      d->name, w, wanted);

	/* Stored in kvm->arch.psci_version with no has-run guard. */
	if (vm->has_run && wanted != vm->current)
		note = "KVM does not refuse changing PSCI_VERSION after the "
		       "VM has run: the running guest sees the new version "
		       "from its next PSCI call";
	return finish(v, 0, FWREG_RULE_OK, wanted, note,
		      "%s: %s (0x%" PRIx64 ") accepted (host's newest is %s); "
		      "the guest will see %s",
		      d->name, w, wanted, n, w);
}

/* WORKAROUND_1 and _3 (hypercalls.c, shared case). */
static int check_workaround(const struct fwreg_desc *d,
			    const struct fwreg_host *host, uint64_t wanted,
			    struct fwreg_verdict *v)
{
	char w[64], h[64];

	wa_level_str(h, sizeof(h), host->value);
	if (wanted & ~(uint64_t)FWREG_WA_LEVEL_MASK)
		return finish(v, -EINVAL, FWREG_RULE_BAD_VALUE_BITS,
			      host->value, NULL,
			      "%s: wanted 0x%" PRIx64 " sets bits outside the "
			      "level field 0xf (0x%" PRIx64 "); KVM refuses "
			      "them",
			      d->name, wanted,
			      wanted & ~(uint64_t)FWREG_WA_LEVEL_MASK);

	wa_level_str(w, sizeof(w), wanted);
	/* get_kernel_wa_level(regid) < val -> -EINVAL */
	if (host->value < wanted)
		return finish(v, -EINVAL, FWREG_RULE_WA_LEVEL_ABOVE_HOST,
			      host->value, NULL,
			      "%s: wanted level %s, host offers %s; KVM "
			      "refuses to raise a workaround level",
			      d->name, w, h);

	return finish(v, 0, FWREG_RULE_OK, host->value, NULL,
		      "%s: level %s accepted (host offers %s); KVM stores "
		      "nothing, the guest sees the host's level %s",
		      d->name, w, h, h);
}

/* WORKAROUND_2 (hypercalls.c, since 5.10). */
static int check_workaround_2(const struct fwreg_desc *d,
			      const struct fwreg_host *host, uint64_t wanted,
			      struct fwreg_verdict *v)
{
	const uint64_t valid = FWREG_WA_LEVEL_MASK | FWREG_WA2_ENABLED;
	uint64_t level = wanted & FWREG_WA_LEVEL_MASK;
	uint64_t mapped;
	char w[64], h[64];

	wa2_str(h, sizeof(h), host->value);
	if (wanted & ~valid)
		return finish(v, -EINVAL, FWREG_RULE_BAD_VALUE_BITS,
			      host->value, NULL,
			      "%s: wanted 0x%" PRIx64 " sets bits outside "
			      "0x1f (0x%" PRIx64 "); KVM refuses them",
			      d->name, wanted, wanted & ~valid);

	/* "The enabled bit must not be set unless the level is AVAIL." */
	if ((wanted & FWREG_WA2_ENABLED) && level != FWREG_WA2_AVAIL)
		return finish(v, -EINVAL, FWREG_RULE_WA2_ENABLED_NEEDS_AVAIL,
			      host->value, NULL,
			      "%s: wanted 0x%" PRIx64 " sets ENABLED (0x10) "
			      "with level 0x%" PRIx64 "; KVM accepts ENABLED "
			      "only with level AVAIL (0x2)",
			      d->name, wanted, level);

	/* {NOT_AVAIL, UNKNOWN} -> NOT_AVAIL, {AVAIL, NOT_REQUIRED} ->
	 * NOT_REQUIRED, anything else -> -EINVAL. */
	switch (level) {
	case FWREG_WA2_NOT_AVAIL:
	case FWREG_WA2_UNKNOWN:
		mapped = FWREG_WA2_NOT_AVAIL;
		break;
	case FWREG_WA2_AVAIL:
	case FWREG_WA2_NOT_REQUIRED:
		mapped = FWREG_WA2_NOT_REQUIRED;
		break;
	default:
		return finish(v, -EINVAL, FWREG_RULE_WA_LEVEL_UNDEFINED,
			      host->value, NULL,
			      "%s: wanted level 0x%" PRIx64 " is not one KVM "
			      "defines (NOT_AVAIL 0x0, UNKNOWN 0x1, AVAIL 0x2, "
			      "NOT_REQUIRED 0x3)",
			      d->name, level);
	}

	wa2_str(w, sizeof(w), wanted);
	/* "We can deal with NOT_AVAIL on NOT_REQUIRED, but not the other
	 * way around": get_kernel_wa_level(regid) < wa_level -> -EINVAL. */
	if (host->value < mapped)
		return finish(v, -EINVAL, FWREG_RULE_WA_LEVEL_ABOVE_HOST,
			      host->value, NULL,
			      "%s: wanted %s, which KVM counts as NOT_REQUIRED "
			      "(0x3), host offers %s; KVM refuses to raise a "
			      "workaround level",
			      d->name, w, h);

	return finish(v, 0, FWREG_RULE_OK, host->value, NULL,
		      "%s: %s accepted (host offers %s); KVM stores nothing, "
		      "the guest sees the host's level %s",
		      d->name, w, h, h);
}

/* hypercalls.c kvm_arm_set_fw_reg_bmap() */
static int check_bitmap(const struct fwreg_desc *d,
			const struct fwreg_host *host,
			const struct fwreg_vm_state *vm, uint64_t wanted,
			struct fwreg_verdict *v)
{
	/* The reset value is a subset of what the kernel accepts. */
	uint64_t known = host->known_bits | host->value;
	uint64_t extra = wanted & ~known;
	char w[128], x[128];
	const char *note = NULL;

	bits_str(w, sizeof(w), d, wanted);

	/* "Check for unsupported bit": before, and regardless of, has-run. */
	if (extra) {
		char k[128];

		bits_str(x, sizeof(x), d, extra);
		bits_str(k, sizeof(k), d, known);
		return finish(v, -EINVAL, FWREG_RULE_BITMAP_BITS_OUTSIDE_HOST,
			      vm->current, NULL,
			      "%s: wanted %s sets bits the host does not "
			      "have: %s; host offers %s; KVM refuses bits it "
			      "does not know",
			      d->name, w, x, k);
	}

	/* kvm_vm_has_ran_once(kvm) && val != *fw_reg_bmap -> -EBUSY */
	if (vm->has_run && wanted != vm->current) {
		bits_str(x, sizeof(x), d, vm->current);
		return finish(v, -EBUSY, FWREG_RULE_BUSY_AFTER_RUN,
			      vm->current, NULL,
			      "%s: wanted %s differs from the VM's current %s "
			      "and a vCPU has already run; KVM refuses bitmap "
			      "changes after the first KVM_RUN",
			      d->name, w, x);
	}

	if (vm->has_run)
		note = "the VM has run; KVM accepts writing the value it "
		       "already has";
	return finish(v, 0, FWREG_RULE_OK, wanted, note,
		      "%s: %s accepted; the guest will see %s", d->name, w, w);
}

int fwreg_check_write(const struct fwreg_desc *d, const struct fwreg_host *host,
		      const struct fwreg_vm_state *vm, uint64_t wanted,
		      struct fwreg_verdict *v)
{
	struct fwreg_verdict scratch;
	char hex[19];

	if (!v)
		v = &scratch;
	memset(v, 0, sizeof(*v));
	if (!host || !vm)
		return finish(v, -EFAULT, FWREG_RULE_BAD_CALL, 0, NULL,
			      "fwreg_check_write: host and vm are required");

	fwreg_format_hex(hex, wanted);
	/* arm.c: KVM_SET_ONE_REG on a vCPU before KVM_ARM_VCPU_INIT */
	if (!vm->vcpu_initialized)
		return finish(v, -ENOEXEC, FWREG_RULE_VCPU_NOT_INITIALIZED,
			      vm->current, NULL,
			      "%s: the vCPU is not initialised "
			      "(KVM_ARM_VCPU_INIT); KVM refuses every register "
			      "access with ENOEXEC",
			      d ? d->name : "register");
	if (!d)
		return finish(v, -ENOENT, FWREG_RULE_REGISTER_UNKNOWN,
			      vm->current, NULL,
			      "register not in pinvm's catalogue: pinvm cannot "
			      "tell what KVM does with %s",
			      hex);
	/* hypercalls.c: an id the kernel does not list -> -ENOENT */
	if (!host->present)
		return finish(v, -ENOENT, FWREG_RULE_REGISTER_ABSENT,
			      vm->current, NULL,
			      "%s: the host kernel does not have this register "
			      "(mainline since %s); writing %s fails with "
			      "ENOENT",
			      d->name, d->since, hex);

	switch (d->kind) {
	case FWREG_KIND_PSCI_VERSION:
		return check_psci(d, host, vm, wanted, v);
	case FWREG_KIND_WORKAROUND:
		return check_workaround(d, host, wanted, v);
	case FWREG_KIND_WORKAROUND_2:
		return check_workaround_2(d, host, wanted, v);
	case FWREG_KIND_BITMAP:
		return check_bitmap(d, host, vm, wanted, v);
	}
	return finish(v, -ENOENT, FWREG_RULE_REGISTER_UNKNOWN, vm->current,
		      NULL, "%s: no rules for this kind of register", d->name);
}
