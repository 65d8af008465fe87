/*
 * KVM_SET_ONE_REG rules for the firmware pseudo-registers
 * (fwreg_check_write). Hosts are the four lab kernels of arm64-lab.md;
 * expected outcomes come from arch/arm64/kvm/hypercalls.c and from what
 * those kernels did (STD_BMAP=0 + PSCI 1.0 accepted on 6.1/6.12, EBUSY for
 * a different bitmap after the first KVM_RUN, the same value accepted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fwreg.h"

#include <errno.h>
#include <string.h>

/* What each lab kernel reported for a vCPU initialised with PSCI_0_2. */
struct lab_host {
	const char *kernel;
	uint64_t psci, wa1, wa2, wa3;
	bool bmaps;  /* STD/STD_HYP/VENDOR_HYP_BMAP listed */
	bool bmap2;  /* VENDOR_HYP_BMAP_2 listed */
	uint64_t std, std_hyp, vendor, vendor2;
};

static const struct lab_host lab_5_10 = { "5.10", 0x10000, 2, 0, 2,
					  false, false, 0, 0, 0, 0 };
static const struct lab_host lab_6_1 = { "6.1", 0x10001, 2, 0, 0,
					 true, false, 1, 1, 3, 0 };
static const struct lab_host lab_6_12 = { "6.12", 0x10001, 2, 0, 0,
					  true, false, 1, 1, 3, 0 };
static const struct lab_host lab_7_3 = { "7.3.4", 0x10003, 2, 0, 0,
					 true, true, 1, 1, 3, 0 };

static const struct lab_host *const lab_hosts[] = { &lab_5_10, &lab_6_1,
					       &lab_6_12, &lab_7_3 };
#define NLAB_HOSTS (sizeof(lab_hosts) / sizeof(lab_hosts[0]))

/* The host's offer for one register, as the lab kernel reported it. */
static struct fwreg_host host_of(const struct lab_host *h, uint64_t id)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);
	struct fwreg_host out = { 0 };
	uint64_t value = 0;
	bool present = true;

	switch (id) {
	case FWREG_ID_PSCI_VERSION: value = h->psci; break;
	case FWREG_ID_WORKAROUND_1: value = h->wa1; break;
	case FWREG_ID_WORKAROUND_2: value = h->wa2; break;
	case FWREG_ID_WORKAROUND_3: value = h->wa3; break;
	case FWREG_ID_STD_BMAP: value = h->std; present = h->bmaps; break;
	case FWREG_ID_STD_HYP_BMAP: value = h->std_hyp; present = h->bmaps; break;
	case FWREG_ID_VENDOR_HYP_BMAP: value = h->vendor; present = h->bmaps; break;
	case FWREG_ID_VENDOR_HYP_BMAP_2: value = h->vendor2; present = h->bmap2; break;
	default: fail();
	}
	if (present)
		fwreg_host_from_value(d, value, &out);
	return out;
}

/* A VM whose vCPU is initialised with PSCI_0_2, not yet run. */
static struct fwreg_vm_state fresh_vm(uint64_t current)
{
	struct fwreg_vm_state vm = {
		.vcpu_initialized = true,
		.vcpu_has_psci_0_2 = true,
		.current = current,
	};
	return vm;
}

/* Checks a write of `wanted` on lab host h to a fresh VM. */
static int write_on(const struct lab_host *h, uint64_t id, uint64_t wanted,
		    struct fwreg_verdict *v)
{
	struct fwreg_host host = host_of(h, id);
	struct fwreg_vm_state vm = fresh_vm(host.value);

	return fwreg_check_write(fwreg_lookup_id(id), &host, &vm, wanted, v);
}

static void assert_verdict(const struct fwreg_verdict *v, int err,
			   const char *code)
{
	assert_int_equal(v->err, err);
	assert_string_equal(v->code, code);
	assert_string_equal(fwreg_rule_code(v->rule), code);
	assert_true(strlen(v->reason) > 0);
}

/* ---- the lab's cases -------------------------------------------------------- */

/* 5.10 offered WORKAROUND_3 = NOT_REQUIRED, 6.1 offers NOT_AVAIL: a guest
 * pinned on 5.10 cannot have its level restored on 6.1. */
static void test_lab_workaround_3_from_5_10_on_6_1(void **state)
{
	struct fwreg_verdict v;

	(void)state;
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_WORKAROUND_3, 2, &v),
			 -EINVAL);
	assert_verdict(&v, -EINVAL, "workaround_level_above_host");
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_3: wanted level NOT_REQUIRED "
			    "(0x2), host offers NOT_AVAIL (0x0); KVM refuses to "
			    "raise a workaround level");
	assert_true(v.guest_sees == 0);

	assert_int_equal(write_on(&lab_6_1, FWREG_ID_WORKAROUND_3, 1, &v),
			 -EINVAL);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_3: wanted level AVAIL (0x1), "
			    "host offers NOT_AVAIL (0x0); KVM refuses to raise a "
			    "workaround level");

	/* The other way round is fine, and changes nothing for the guest. */
	assert_int_equal(write_on(&lab_5_10, FWREG_ID_WORKAROUND_3, 0, &v), 0);
	assert_verdict(&v, 0, "ok");
	assert_true(v.guest_sees == 2);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_3: level NOT_AVAIL (0x0) "
			    "accepted (host offers NOT_REQUIRED (0x2)); KVM stores "
			    "nothing, the guest sees the host's level NOT_REQUIRED "
			    "(0x2)");
	assert_null(v.note);
}

/* The lab's guest run: STD_BMAP=0 and PSCI_VERSION=1.0 before the first
 * KVM_RUN were accepted on 6.1 and 6.12 (guest then saw TRNG -1, PSCI
 * 1.0). */
static void test_lab_std_bmap_0_psci_1_0(void **state)
{
	const struct lab_host *hosts[] = { &lab_6_1, &lab_6_12 };
	struct fwreg_verdict v;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(write_on(hosts[i], FWREG_ID_STD_BMAP, 0, &v),
				 0);
		assert_verdict(&v, 0, "ok");
		assert_true(v.guest_sees == 0);
		assert_string_equal(v.reason, "STD_BMAP: 0x0 (none) accepted; "
					      "the guest will see 0x0 (none)");

		assert_int_equal(write_on(hosts[i], FWREG_ID_PSCI_VERSION,
					  0x10000, &v),
				 0);
		assert_verdict(&v, 0, "ok");
		assert_true(v.guest_sees == 0x10000);
		assert_string_equal(v.reason,
				    "PSCI_VERSION: 1.0 (0x10000) accepted "
				    "(host's newest is 1.1); the guest will "
				    "see 1.0");
	}
}

/* After the first KVM_RUN: a different bitmap is EBUSY, the same is 0. */
static void test_lab_bitmap_after_run(void **state)
{
	struct fwreg_host host = host_of(&lab_6_1, FWREG_ID_STD_BMAP);
	const struct fwreg_desc *d = fwreg_lookup_id(FWREG_ID_STD_BMAP);
	struct fwreg_vm_state vm = fresh_vm(0x1);
	struct fwreg_verdict v;

	(void)state;
	vm.has_run = true;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0, &v), -EBUSY);
	assert_verdict(&v, -EBUSY, "busy_after_run");
	assert_true(v.guest_sees == 1);
	assert_string_equal(v.reason,
			    "STD_BMAP: wanted 0x0 (none) differs from the VM's "
			    "current 0x1 (TRNG) and a vCPU has already run; KVM "
			    "refuses bitmap changes after the first KVM_RUN");

	assert_int_equal(fwreg_check_write(d, &host, &vm, 1, &v), 0);
	assert_verdict(&v, 0, "ok");
	assert_non_null(v.note);

	/* Set to 0 before the run, then 0 again after it: fine; 1 is not. */
	vm.current = 0;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0, &v), 0);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 1, &v), -EBUSY);
	assert_string_equal(v.reason,
			    "STD_BMAP: wanted 0x1 (TRNG) differs from the VM's "
			    "current 0x0 (none) and a vCPU has already run; KVM "
			    "refuses bitmap changes after the first KVM_RUN");

	/* Before the run any value within the host's bits goes. */
	vm.has_run = false;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 1, &v), 0);
	assert_null(v.note);
}

/* Unknown bits are EINVAL, checked before (and so also after) the run. */
static void test_bitmap_bits_outside_host(void **state)
{
	struct fwreg_host host = host_of(&lab_6_1, FWREG_ID_STD_BMAP);
	const struct fwreg_desc *d = fwreg_lookup_id(FWREG_ID_STD_BMAP);
	struct fwreg_vm_state vm = fresh_vm(0x1);
	struct fwreg_verdict v;

	(void)state;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x3, &v), -EINVAL);
	assert_verdict(&v, -EINVAL, "bitmap_bits_outside_host");
	assert_string_equal(v.reason,
			    "STD_BMAP: wanted 0x3 (TRNG, bit 1) sets bits the "
			    "host does not have: 0x2 (bit 1); host offers 0x1 "
			    "(TRNG); KVM refuses bits it does not know");
	vm.has_run = true;
	vm.current = 0x3; /* cannot be, but the order must not depend on it */
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x3, &v), -EINVAL);
	assert_verdict(&v, -EINVAL, "bitmap_bits_outside_host");

	/* The host's reset value counts as known even if known_bits
	 * was left 0 by a hand-built host. */
	{
		struct fwreg_host bare = { .present = true, .value = 0x1 };

		vm = fresh_vm(0x1);
		assert_int_equal(fwreg_check_write(d, &bare, &vm, 0x1, &v), 0);
		assert_int_equal(fwreg_check_write(d, &bare, &vm, 0x2, &v),
				 -EINVAL);
	}

	/* A host that lost a service: VENDOR_HYP_BMAP reset to FUNC_FEAT
	 * only cannot take PTP back. */
	d = fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP);
	fwreg_host_from_value(d, 0x1, &host);
	vm = fresh_vm(0x1);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x3, &v), -EINVAL);
	assert_string_equal(v.reason,
			    "VENDOR_HYP_BMAP: wanted 0x3 (FUNC_FEAT, PTP) sets "
			    "bits the host does not have: 0x2 (PTP); host offers "
			    "0x1 (FUNC_FEAT); KVM refuses bits it does not know");
}

/* The bitmaps did not exist on 5.10 (ENOENT), BMAP_2 not before 6.15. */
static void test_registers_absent(void **state)
{
	struct fwreg_verdict v;

	(void)state;
	assert_int_equal(write_on(&lab_5_10, FWREG_ID_STD_BMAP, 0, &v),
			 -ENOENT);
	assert_verdict(&v, -ENOENT, "register_absent_on_host");
	assert_string_equal(v.reason,
			    "STD_BMAP: the host kernel does not have this "
			    "register (mainline since 5.19); writing 0x0 fails "
			    "with ENOENT");
	assert_int_equal(write_on(&lab_5_10, FWREG_ID_VENDOR_HYP_BMAP, 3, &v),
			 -ENOENT);
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_VENDOR_HYP_BMAP_2, 0, &v),
			 -ENOENT);
	assert_int_equal(write_on(&lab_6_12, FWREG_ID_VENDOR_HYP_BMAP_2, 0,
				  &v),
			 -ENOENT);
	assert_string_equal(v.reason,
			    "VENDOR_HYP_BMAP_2: the host kernel does not have "
			    "this register (mainline since 6.15); writing 0x0 "
			    "fails with ENOENT");
}

/* VENDOR_HYP_BMAP_2 resets to 0 but accepts both of its bits. */
static void test_vendor_hyp_bmap_2(void **state)
{
	const struct fwreg_desc *d =
		fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP_2);
	struct fwreg_host host = host_of(&lab_7_3, FWREG_ID_VENDOR_HYP_BMAP_2);
	struct fwreg_verdict v;

	(void)state;
	assert_true(host.present);
	assert_true(host.value == 0);
	assert_true(host.known_bits == 0x3);
	assert_int_equal(write_on(&lab_7_3, FWREG_ID_VENDOR_HYP_BMAP_2, 0x3,
				  &v),
			 0);
	assert_true(v.guest_sees == 0x3);
	assert_int_equal(write_on(&lab_7_3, FWREG_ID_VENDOR_HYP_BMAP_2, 0x1,
				  &v),
			 0);
	assert_int_equal(write_on(&lab_7_3, FWREG_ID_VENDOR_HYP_BMAP_2, 0x4,
				  &v),
			 -EINVAL);
	assert_string_equal(v.reason,
			    "VENDOR_HYP_BMAP_2: wanted 0x4 (bit 2) sets bits the "
			    "host does not have: 0x4 (bit 2); host offers 0x3 "
			    "(DISCOVER_IMPL_VER, DISCOVER_IMPL_CPUS); KVM refuses "
			    "bits it does not know");
	/* A probed mask overrides the derived one. */
	host.known_bits = 0x7;
	{
		struct fwreg_vm_state vm = fresh_vm(0);

		assert_int_equal(fwreg_check_write(d, &host, &vm, 0x4, &v), 0);
	}
}

static void test_host_from_value(void **state)
{
	struct fwreg_host h;

	(void)state;
	fwreg_host_from_value(fwreg_lookup_id(FWREG_ID_STD_BMAP), 0x1, &h);
	assert_true(h.present && h.value == 0x1 && h.known_bits == 0x1);
	fwreg_host_from_value(fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP), 0x3,
			      &h);
	assert_true(h.known_bits == 0x3);
	/* A newer kernel with a bit this build does not know keeps it. */
	fwreg_host_from_value(fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP), 0x7,
			      &h);
	assert_true(h.known_bits == 0x7);
	fwreg_host_from_value(fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP_2), 0,
			      &h);
	assert_true(h.known_bits == 0x3);
	fwreg_host_from_value(fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP_2), 0x1,
			      &h);
	assert_true(h.value == 0x1 && h.known_bits == 0x3);
	fwreg_host_from_value(fwreg_lookup_id(FWREG_ID_PSCI_VERSION), 0x10003,
			      &h);
	assert_true(h.present && h.value == 0x10003 && h.known_bits == 0);
	fwreg_host_from_value(NULL, 5, &h);
	assert_true(h.present && h.value == 5 && h.known_bits == 0);
}

/* Writing back what the host reported is always accepted, before and
 * after the run (what QEMU's save/restore relies on). */
static void test_lab_write_back_defaults(void **state)
{
	(void)state;
	for (size_t i = 0; i < NLAB_HOSTS; i++) {
		for (size_t r = 0; r < fwreg_count(); r++) {
			const struct fwreg_desc *d = fwreg_at(r);
			struct fwreg_host host = host_of(lab_hosts[i], d->id);
			struct fwreg_vm_state vm = fresh_vm(host.value);
			struct fwreg_verdict v;
			int want = host.present ? 0 : -ENOENT;

			assert_int_equal(fwreg_check_write(d, &host, &vm,
							   host.value, &v),
					 want);
			vm.has_run = true;
			assert_int_equal(fwreg_check_write(d, &host, &vm,
							   host.value, &v),
					 want);
			if (want == 0)
				assert_true(v.guest_sees == host.value);
		}
	}
}

/* ---- PSCI_VERSION ---------------------------------------------------------- */

struct psci_case {
	const struct lab_host *host;
	bool psci_0_2;
	bool protected_vm;
	uint64_t wanted;
	int err;
	const char *code;
};

static void test_psci_acceptance(void **state)
{
	static const struct psci_case c[] = {
		/* 5.10: newest 1.0, so {0.2, 1.0} (+0.1 without PSCI_0_2). */
		{ &lab_5_10, true, false, 0x2, 0, "ok" },
		{ &lab_5_10, true, false, 0x10000, 0, "ok" },
		{ &lab_5_10, true, false, 0x10001, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_5_10, true, false, 0x10003, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_5_10, false, false, 0x1, 0, "ok" },
		{ &lab_5_10, true, false, 0x1, -EINVAL,
		  "psci_0_1_with_psci_0_2" },
		{ &lab_5_10, false, false, 0x10000, -EINVAL,
		  "psci_version_needs_psci_0_2" },
		{ &lab_5_10, false, false, 0x2, -EINVAL,
		  "psci_version_needs_psci_0_2" },
		/* 6.1 / 6.12: newest 1.1. */
		{ &lab_6_1, true, false, 0x10001, 0, "ok" },
		{ &lab_6_1, true, false, 0x10000, 0, "ok" },
		{ &lab_6_1, true, false, 0x2, 0, "ok" },
		{ &lab_6_12, true, false, 0x10002, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_6_12, true, false, 0x10003, -EINVAL,
		  "psci_version_unsupported" },
		/* 7.3: newest 1.3, and 1.2 is settable too. */
		{ &lab_7_3, true, false, 0x10002, 0, "ok" },
		{ &lab_7_3, true, false, 0x10003, 0, "ok" },
		{ &lab_7_3, true, false, 0x10001, 0, "ok" },
		{ &lab_7_3, true, false, 0x2, 0, "ok" },
		{ &lab_7_3, false, false, 0x1, 0, "ok" },
		/* Versions no KVM implements, whatever the features. */
		{ &lab_7_3, true, false, 0x10004, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_7_3, false, false, 0x10004, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_7_3, true, false, 0x3, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_7_3, true, false, 0x20000, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_7_3, true, false, 0x0, -EINVAL,
		  "psci_version_unsupported" },
		{ &lab_7_3, true, false, 0x100010003, -EINVAL,
		  "psci_version_unsupported" },
		/* Protected VMs: nothing below 1.1, checked first. */
		{ &lab_7_3, true, true, 0x10000, -EINVAL,
		  "psci_version_protected_vm" },
		{ &lab_7_3, true, true, 0x1, -EINVAL,
		  "psci_version_protected_vm" },
		{ &lab_7_3, true, true, 0x10001, 0, "ok" },
		{ &lab_7_3, true, true, 0x10003, 0, "ok" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fwreg_host host = host_of(c[i].host,
						 FWREG_ID_PSCI_VERSION);
		struct fwreg_vm_state vm = fresh_vm(host.value);
		struct fwreg_verdict v;
		int err;

		vm.vcpu_has_psci_0_2 = c[i].psci_0_2;
		vm.protected_vm = c[i].protected_vm;
		err = fwreg_check_write(
			fwreg_lookup_id(FWREG_ID_PSCI_VERSION), &host, &vm,
			c[i].wanted, &v);
		if (err != c[i].err || strcmp(v.code, c[i].code) != 0)
			fail_msg("case %zu (%s, 0x%llx): got %d %s: %s", i,
				 c[i].host->kernel,
				 (unsigned long long)c[i].wanted, err, v.code,
				 v.reason);
		assert_true(v.guest_sees == (err ? vm.current : c[i].wanted));
	}
}

static void test_psci_reasons(void **state)
{
	struct fwreg_host host = host_of(&lab_6_12, FWREG_ID_PSCI_VERSION);
	const struct fwreg_desc *d = fwreg_lookup_id(FWREG_ID_PSCI_VERSION);
	struct fwreg_vm_state vm = fresh_vm(0x10001);
	struct fwreg_verdict v;

	(void)state;
	fwreg_check_write(d, &host, &vm, 0x10002, &v);
	assert_string_equal(v.reason,
			    "PSCI_VERSION: wanted 1.2 (0x10002), host's newest "
			    "is 1.1 (0x10001); KVM accepts only the versions it "
			    "implements (0.1, and 0.2 up to its newest)");
	fwreg_check_write(d, &host, &vm, 0x1, &v);
	assert_string_equal(v.reason,
			    "PSCI_VERSION: wanted 0.1 (0x1), but the vCPU was "
			    "initialised with KVM_ARM_VCPU_PSCI_0_2; KVM accepts "
			    "0.1 only without that feature");
	vm.vcpu_has_psci_0_2 = false;
	vm.current = 0x1;
	fwreg_check_write(d, &host, &vm, 0x10000, &v);
	assert_string_equal(v.reason,
			    "PSCI_VERSION: wanted 1.0 (0x10000), but the vCPU "
			    "was initialised without KVM_ARM_VCPU_PSCI_0_2; KVM "
			    "accepts 0.2 and later only with that feature");
	vm = fresh_vm(0x10001);
	vm.protected_vm = true;
	fwreg_check_write(d, &host, &vm, 0x10000, &v);
	assert_string_equal(v.reason,
			    "PSCI_VERSION: wanted 1.0 (0x10000), but the VM is "
			    "protected (pKVM); KVM refuses PSCI versions below "
			    "1.1 for protected VMs");
}

/* A kernel newer than this catalogue: its own newest is still settable. */
static void test_psci_future_host(void **state)
{
	const struct fwreg_desc *d = fwreg_lookup_id(FWREG_ID_PSCI_VERSION);
	struct fwreg_host host;
	struct fwreg_vm_state vm = fresh_vm(0x10004);
	struct fwreg_verdict v;

	(void)state;
	fwreg_host_from_value(d, 0x10004, &host);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x10004, &v), 0);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x10003, &v), 0);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x10002, &v), 0);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x10005, &v),
			 -EINVAL);
}

/* No EBUSY guard on PSCI_VERSION: KVM takes a change after the run. */
static void test_psci_after_run(void **state)
{
	const struct fwreg_desc *d = fwreg_lookup_id(FWREG_ID_PSCI_VERSION);
	struct fwreg_host host = host_of(&lab_6_1, FWREG_ID_PSCI_VERSION);
	struct fwreg_vm_state vm = fresh_vm(0x10000);
	struct fwreg_verdict v;

	(void)state;
	vm.has_run = true;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x10000, &v), 0);
	assert_null(v.note);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0x10001, &v), 0);
	assert_non_null(v.note);
	assert_true(v.guest_sees == 0x10001);
}

/* ---- workarounds ------------------------------------------------------------ */

struct wa_case {
	uint64_t id;
	uint64_t host;
	uint64_t wanted;
	int err;
	const char *code;
};

static void run_wa_cases(const struct wa_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct fwreg_desc *d = fwreg_lookup_id(c[i].id);
		struct fwreg_host host;
		struct fwreg_vm_state vm = fresh_vm(c[i].host);
		struct fwreg_verdict v;
		int err;

		fwreg_host_from_value(d, c[i].host, &host);
		err = fwreg_check_write(d, &host, &vm, c[i].wanted, &v);
		if (err != c[i].err || strcmp(v.code, c[i].code) != 0)
			fail_msg("case %zu (%s host 0x%llx wanted 0x%llx): got "
				 "%d %s: %s",
				 i, d->name, (unsigned long long)c[i].host,
				 (unsigned long long)c[i].wanted, err, v.code,
				 v.reason);
		/* Validate-only: the guest keeps the host's level. */
		assert_true(v.guest_sees == c[i].host);
	}
}

static void test_workaround_1_and_3(void **state)
{
	static const struct wa_case c[] = {
		/* Host NOT_REQUIRED (lab WORKAROUND_1 everywhere): any
		 * defined level at or below it. */
		{ FWREG_ID_WORKAROUND_1, 2, 0, 0, "ok" },
		{ FWREG_ID_WORKAROUND_1, 2, 1, 0, "ok" },
		{ FWREG_ID_WORKAROUND_1, 2, 2, 0, "ok" },
		{ FWREG_ID_WORKAROUND_1, 2, 3, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_1, 2, 0xf, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_1, 2, 0x10, -EINVAL, "bad_value_bits" },
		{ FWREG_ID_WORKAROUND_1, 2, 0x12, -EINVAL, "bad_value_bits" },
		{ FWREG_ID_WORKAROUND_1, 2, 1ULL << 63, -EINVAL,
		  "bad_value_bits" },
		/* Host AVAIL. */
		{ FWREG_ID_WORKAROUND_1, 1, 2, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_1, 1, 1, 0, "ok" },
		{ FWREG_ID_WORKAROUND_1, 1, 0, 0, "ok" },
		/* Host NOT_AVAIL (lab WORKAROUND_3 from 6.1). */
		{ FWREG_ID_WORKAROUND_3, 0, 0, 0, "ok" },
		{ FWREG_ID_WORKAROUND_3, 0, 1, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_3, 0, 2, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_3, 2, 1, 0, "ok" },
		{ FWREG_ID_WORKAROUND_3, 2, 0x20, -EINVAL, "bad_value_bits" },
	};

	(void)state;
	run_wa_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_workaround_2(void **state)
{
	static const struct wa_case c[] = {
		/* Host NOT_AVAIL (every lab kernel). {0,1} -> NOT_AVAIL. */
		{ FWREG_ID_WORKAROUND_2, 0, 0x0, 0, "ok" },
		{ FWREG_ID_WORKAROUND_2, 0, 0x1, 0, "ok" },
		/* {2,3} -> NOT_REQUIRED, above NOT_AVAIL. */
		{ FWREG_ID_WORKAROUND_2, 0, 0x2, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_2, 0, 0x3, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_2, 0, 0x12, -EINVAL,
		  "workaround_level_above_host" },
		/* ENABLED only with AVAIL, checked before the level. */
		{ FWREG_ID_WORKAROUND_2, 0, 0x10, -EINVAL,
		  "workaround_2_enabled_needs_avail" },
		{ FWREG_ID_WORKAROUND_2, 0, 0x11, -EINVAL,
		  "workaround_2_enabled_needs_avail" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x13, -EINVAL,
		  "workaround_2_enabled_needs_avail" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x14, -EINVAL,
		  "workaround_2_enabled_needs_avail" },
		/* Levels 4-15 are not defined. */
		{ FWREG_ID_WORKAROUND_2, 3, 0x4, -EINVAL,
		  "workaround_level_undefined" },
		{ FWREG_ID_WORKAROUND_2, 3, 0xf, -EINVAL,
		  "workaround_level_undefined" },
		/* Bits beyond 0x1f. */
		{ FWREG_ID_WORKAROUND_2, 3, 0x20, -EINVAL, "bad_value_bits" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x32, -EINVAL, "bad_value_bits" },
		/* Host NOT_REQUIRED takes everything defined. */
		{ FWREG_ID_WORKAROUND_2, 3, 0x0, 0, "ok" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x1, 0, "ok" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x2, 0, "ok" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x3, 0, "ok" },
		{ FWREG_ID_WORKAROUND_2, 3, 0x12, 0, "ok" },
		/* Host levels 1/2 (reported before 5.10 only) pin the mapping:
		 * AVAIL counts as NOT_REQUIRED (3) and so exceeds AVAIL (2);
		 * UNKNOWN counts as NOT_AVAIL (0). */
		{ FWREG_ID_WORKAROUND_2, 2, 0x2, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_2, 2, 0x12, -EINVAL,
		  "workaround_level_above_host" },
		{ FWREG_ID_WORKAROUND_2, 2, 0x1, 0, "ok" },
		{ FWREG_ID_WORKAROUND_2, 1, 0x1, 0, "ok" },
	};

	(void)state;
	run_wa_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_workaround_reasons(void **state)
{
	const struct fwreg_desc *d1 = fwreg_lookup_id(FWREG_ID_WORKAROUND_1);
	const struct fwreg_desc *d2 = fwreg_lookup_id(FWREG_ID_WORKAROUND_2);
	struct fwreg_host host;
	struct fwreg_vm_state vm = fresh_vm(0);
	struct fwreg_verdict v;

	(void)state;
	fwreg_host_from_value(d1, 2, &host);
	fwreg_check_write(d1, &host, &vm, 0x12, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_1: wanted 0x12 sets bits "
			    "outside the level field 0xf (0x10); KVM refuses "
			    "them");
	fwreg_check_write(d1, &host, &vm, 0x3, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_1: wanted level 0x3 (not a "
			    "level KVM defines), host offers NOT_REQUIRED (0x2); "
			    "KVM refuses to raise a workaround level");

	fwreg_host_from_value(d2, 0, &host);
	fwreg_check_write(d2, &host, &vm, 0x12, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_2: wanted AVAIL|ENABLED "
			    "(0x12), which KVM counts as NOT_REQUIRED (0x3), "
			    "host offers NOT_AVAIL (0x0); KVM refuses to raise a "
			    "workaround level");
	fwreg_check_write(d2, &host, &vm, 0x13, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_2: wanted 0x13 sets ENABLED "
			    "(0x10) with level 0x3; KVM accepts ENABLED only with "
			    "level AVAIL (0x2)");
	fwreg_check_write(d2, &host, &vm, 0x5, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_2: wanted level 0x5 is not "
			    "one KVM defines (NOT_AVAIL 0x0, UNKNOWN 0x1, AVAIL "
			    "0x2, NOT_REQUIRED 0x3)");
	fwreg_check_write(d2, &host, &vm, 0x40, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_2: wanted 0x40 sets bits "
			    "outside 0x1f (0x40); KVM refuses them");
	fwreg_check_write(d2, &host, &vm, 0x1, &v);
	assert_string_equal(v.reason,
			    "SMCCC_ARCH_WORKAROUND_2: UNKNOWN (0x1) accepted "
			    "(host offers NOT_AVAIL (0x0)); KVM stores nothing, "
			    "the guest sees the host's level NOT_AVAIL (0x0)");
}

/* ---- generic paths ---------------------------------------------------------- */

static void test_generic_refusals(void **state)
{
	const struct fwreg_desc *d = fwreg_lookup_id(FWREG_ID_STD_BMAP);
	struct fwreg_host host = host_of(&lab_7_3, FWREG_ID_STD_BMAP);
	struct fwreg_vm_state vm = fresh_vm(0x1);
	struct fwreg_verdict v;

	(void)state;
	/* Before KVM_ARM_VCPU_INIT every access is ENOEXEC, even for a
	 * register the host lacks. */
	vm.vcpu_initialized = false;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0, &v), -ENOEXEC);
	assert_verdict(&v, -ENOEXEC, "vcpu_not_initialized");
	assert_string_equal(v.reason,
			    "STD_BMAP: the vCPU is not initialised "
			    "(KVM_ARM_VCPU_INIT); KVM refuses every register "
			    "access with ENOEXEC");
	host.present = false;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0, &v), -ENOEXEC);
	vm.vcpu_initialized = true;

	/* A register pinvm does not know. */
	assert_int_equal(fwreg_check_write(NULL, &host, &vm, 7, &v), -ENOENT);
	assert_verdict(&v, -ENOENT, "register_unknown");
	assert_string_equal(v.reason,
			    "register not in pinvm's catalogue: pinvm cannot "
			    "tell what KVM does with 0x7");

	/* Missing arguments. */
	assert_int_equal(fwreg_check_write(d, NULL, &vm, 0, &v), -EFAULT);
	assert_verdict(&v, -EFAULT, "bad_call");
	assert_int_equal(fwreg_check_write(d, &host, NULL, 0, &v), -EFAULT);

	/* No verdict wanted. */
	host.present = true;
	assert_int_equal(fwreg_check_write(d, &host, &vm, 0, NULL), 0);
	assert_int_equal(fwreg_check_write(d, &host, &vm, 2, NULL), -EINVAL);
}

static void test_guest_value(void **state)
{
	(void)state;
	/* Validate-only: the guest sees the host. */
	assert_true(fwreg_guest_value(fwreg_lookup_id(FWREG_ID_WORKAROUND_1),
				      2, 0) == 2);
	assert_true(fwreg_guest_value(fwreg_lookup_id(FWREG_ID_WORKAROUND_2),
				      3, 0x12) == 3);
	assert_true(fwreg_guest_value(fwreg_lookup_id(FWREG_ID_WORKAROUND_3),
				      0, 0) == 0);
	/* Stored: the guest sees what was written. */
	assert_true(fwreg_guest_value(fwreg_lookup_id(FWREG_ID_PSCI_VERSION),
				      0x10003, 0x10000) == 0x10000);
	assert_true(fwreg_guest_value(fwreg_lookup_id(FWREG_ID_STD_BMAP), 1,
				      0) == 0);
	assert_true(fwreg_guest_value(
			    fwreg_lookup_id(FWREG_ID_VENDOR_HYP_BMAP_2), 0,
			    3) == 3);
	assert_true(fwreg_guest_value(NULL, 1, 9) == 9);
}

static void test_rule_codes(void **state)
{
	static const char *const want[] = {
		"ok",
		"bad_call",
		"vcpu_not_initialized",
		"register_unknown",
		"register_absent_on_host",
		"psci_version_unsupported",
		"psci_0_1_with_psci_0_2",
		"psci_version_needs_psci_0_2",
		"psci_version_protected_vm",
		"bad_value_bits",
		"workaround_level_undefined",
		"workaround_2_enabled_needs_avail",
		"workaround_level_above_host",
		"bitmap_bits_outside_host",
		"busy_after_run",
	};
	size_t n = sizeof(want) / sizeof(want[0]);

	(void)state;
	assert_int_equal(FWREG_RULE_BUSY_AFTER_RUN + 1, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(fwreg_rule_code((enum fwreg_rule)i),
				    want[i]);
	assert_string_equal(fwreg_rule_code((enum fwreg_rule)n),
			    "unknown_rule");
}

/* A profile recorded on one lab kernel, replayed on another. */
static void test_profile_replay(void **state)
{
	struct fwreg_verdict v;

	(void)state;
	/* 5.10's ABI on 6.1: only WORKAROUND_3 cannot be honoured. */
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_PSCI_VERSION, 0x10000, &v),
			 0);
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_WORKAROUND_1, 2, &v), 0);
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_WORKAROUND_2, 0, &v), 0);
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_WORKAROUND_3, 2, &v),
			 -EINVAL);
	/* ... and its missing services can be switched off. */
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_STD_BMAP, 0, &v), 0);
	assert_int_equal(write_on(&lab_6_1, FWREG_ID_VENDOR_HYP_BMAP, 0, &v),
			 0);

	/* 7.3's ABI on 6.12: PSCI 1.3 and BMAP_2 are not there. */
	assert_int_equal(write_on(&lab_6_12, FWREG_ID_PSCI_VERSION, 0x10003,
				  &v),
			 -EINVAL);
	assert_int_equal(write_on(&lab_6_12, FWREG_ID_VENDOR_HYP_BMAP_2, 0,
				  &v),
			 -ENOENT);
	assert_int_equal(write_on(&lab_6_12, FWREG_ID_VENDOR_HYP_BMAP, 3, &v),
			 0);

	/* 6.12's ABI on 7.3: all of it. */
	assert_int_equal(write_on(&lab_7_3, FWREG_ID_PSCI_VERSION, 0x10001, &v),
			 0);
	assert_int_equal(write_on(&lab_7_3, FWREG_ID_STD_BMAP, 1, &v), 0);
	assert_int_equal(write_on(&lab_7_3, FWREG_ID_WORKAROUND_3, 0, &v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lab_workaround_3_from_5_10_on_6_1),
		cmocka_unit_test(test_lab_std_bmap_0_psci_1_0),
		cmocka_unit_test(test_lab_bitmap_after_run),
		cmocka_unit_test(test_bitmap_bits_outside_host),
		cmocka_unit_test(test_registers_absent),
		cmocka_unit_test(test_vendor_hyp_bmap_2),
		cmocka_unit_test(test_host_from_value),
		cmocka_unit_test(test_lab_write_back_defaults),
		cmocka_unit_test(test_psci_acceptance),
		cmocka_unit_test(test_psci_reasons),
		cmocka_unit_test(test_psci_future_host),
		cmocka_unit_test(test_psci_after_run),
		cmocka_unit_test(test_workaround_1_and_3),
		cmocka_unit_test(test_workaround_2),
		cmocka_unit_test(test_workaround_reasons),
		cmocka_unit_test(test_generic_refusals),
		cmocka_unit_test(test_guest_value),
		cmocka_unit_test(test_rule_codes),
		cmocka_unit_test(test_profile_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
