/*
 * compat_check() on the lab kernels' register sets: the matrix
 * (captures moved between 5.10, 6.1, 6.12 and 7.3), policies, derivation
 * from an observed ABI, uncatalogued registers, read-back, JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compat.h"
#include "fwreg.h"
#include "hostset.h"
#include "lab_hostsets.h"
#include "profile.h"
#include "test_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct compat_report report; /* large: not on the stack */

static struct profile *capture(const char *name, const char *host_text,
			       enum profile_policy policy)
{
	struct hostset h = load_host(host_text);
	struct api_error err = { 0 };
	struct profile *p;

	if (profile_capture(name, &h, NULL, policy, &p, &err))
		fail_msg("capture: %s %s", err.code, err.detail);
	return p;
}

static const struct compat_entry *entry(const struct compat_report *r,
					uint64_t id)
{
	for (size_t i = 0; i < r->nentries; i++)
		if (r->entries[i].id == id)
			return &r->entries[i];
	fail_msg("no entry for 0x%llx", (unsigned long long)id);
	return NULL;
}

static void assert_verdict(const struct compat_report *r, uint64_t id,
			   enum compat_verdict verdict, const char *rule)
{
	const struct compat_entry *e = entry(r, id);

	if (e->verdict != verdict)
		fail_msg("0x%llx: verdict %s, expected %s (%s)",
			 (unsigned long long)id, compat_verdict_name(e->verdict),
			 compat_verdict_name(verdict), e->reason);
	if (rule) {
		assert_non_null(e->rule);
		assert_string_equal(e->rule, rule);
		assert_true(e->err < 0);
		assert_false(e->writes);
	} else {
		assert_null(e->rule);
		assert_int_equal(e->err, 0);
	}
	assert_true(strlen(e->reason) > 0);
}

static size_t count_refused(const struct compat_report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nentries; i++)
		n += r->entries[i].verdict == COMPAT_REFUSED;
	return n;
}

static void assert_plan(const struct compat_report *r,
			const struct fw_pin *want, size_t n)
{
	assert_int_equal(r->nwrites, n);
	for (size_t i = 0; i < n; i++) {
		assert_true(r->writes[i].id == want[i].id);
		assert_true(r->writes[i].value == want[i].value);
	}
}

/* ---- the matrix ----------------------------------------------------- */

/* A full 5.10 capture on any newer lab kernel: WORKAROUND_3 was
 * NOT_REQUIRED on 5.10 and is NOT_AVAIL there. */
static void test_5_10_capture_on_newer(void **state)
{
	const char *hosts[] = { LAB_6_1_JSON, LAB_6_12_JSON, LAB_7_3_JSON };
	struct profile *p = capture("lab-5.10", LAB_5_10_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct api_error err;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct hostset h = load_host(hosts[i]);
		const struct compat_entry *e;
		char detail[600];

		assert_int_equal(compat_check(p, &h, &report), 0);
		assert_false(report.compatible);
		assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_PINNED,
			       NULL);
		e = entry(&report, FWREG_ID_PSCI_VERSION);
		assert_true(e->writes && e->write == 0x10000);
		assert_true(e->guest_sees == 0x10000);
		assert_verdict(&report, FWREG_ID_WORKAROUND_1, COMPAT_PINNED,
			       NULL);
		assert_verdict(&report, FWREG_ID_WORKAROUND_2, COMPAT_PINNED,
			       NULL);
		assert_verdict(&report, FWREG_ID_WORKAROUND_3, COMPAT_REFUSED,
			       "workaround_level_above_host");
		e = entry(&report, FWREG_ID_WORKAROUND_3);
		assert_int_equal(e->err, -EINVAL);
		assert_true(e->pinned && e->pin == 2 && e->host == 0);
		assert_string_equal(e->reason,
				    "SMCCC_ARCH_WORKAROUND_3: wanted level "
				    "NOT_REQUIRED (0x2), host offers NOT_AVAIL "
				    "(0x0); KVM refuses to raise a workaround "
				    "level");
		/* 5.10 had no bitmaps: the new services are unmentioned. */
		assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_REFUSED,
			       "unmentioned_register");
		assert_string_equal(entry(&report, FWREG_ID_STD_BMAP)->reason,
				    "STD_BMAP: the host lists it (0x1) and the "
				    "profile does not mention it; "
				    "unknown_registers is \"refuse\"");
		assert_int_equal(entry(&report, FWREG_ID_STD_BMAP)->err, -EPERM);
		assert_verdict(&report, FWREG_ID_STD_HYP_BMAP, COMPAT_REFUSED,
			       "unmentioned_register");
		assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_REFUSED,
			       "unmentioned_register");
		/* 7.3's VENDOR_HYP_BMAP_2 is 0: nothing 5.10 lacked. */
		if (i == 2)
			assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2,
				       COMPAT_ABSENT_EQUIVALENT, NULL);
		assert_int_equal(count_refused(&report), 4);

		/* The server's answer names the first refusal. */
		assert_int_equal(compat_refusal(&report, p->name, &err), -EPERM);
		assert_int_equal(err.status, 409);
		assert_string_equal(err.code, "profile_refused");
		assert_string_equal(err.field, "registers.SMCCC_ARCH_WORKAROUND_3");
		snprintf(detail, sizeof(detail),
			 "profile lab-5.10 cannot be applied on %s: "
			 "SMCCC_ARCH_WORKAROUND_3: wanted level NOT_REQUIRED "
			 "(0x2), host offers NOT_AVAIL (0x0); KVM refuses to "
			 "raise a workaround level (rule "
			 "workaround_level_above_host)",
			 h.kernel_release);
		assert_string_equal(err.detail, detail);
	}
	profile_free(p);
}

/* A 6.1 capture on 5.10: PSCI 1.1 is unknown there, and its nonzero
 * bitmaps have no register to go to. */
static void test_6_1_capture_on_5_10(void **state)
{
	struct profile *p = capture("lab-6.1", LAB_6_1_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct hostset h = load_host(LAB_5_10_JSON);
	const struct compat_entry *e;
	struct api_error err;

	(void)state;
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_REFUSED,
		       "psci_version_unsupported");
	assert_string_equal(entry(&report, FWREG_ID_PSCI_VERSION)->reason,
			    "PSCI_VERSION: wanted 1.1 (0x10001), host's newest "
			    "is 1.0 (0x10000); KVM accepts only the versions it "
			    "implements (0.1, and 0.2 up to its newest)");
	/* WORKAROUND_3 NOT_AVAIL on a NOT_REQUIRED host: accepted, but the
	 * guest sees NOT_REQUIRED. */
	assert_verdict(&report, FWREG_ID_WORKAROUND_3, COMPAT_GUEST_SEES_HOST,
		       NULL);
	e = entry(&report, FWREG_ID_WORKAROUND_3);
	assert_true(e->writes && e->write == 0);
	assert_true(e->has_guest_sees && e->guest_sees == 2);
	assert_string_equal(e->reason,
			    "SMCCC_ARCH_WORKAROUND_3: level NOT_AVAIL (0x0) "
			    "accepted (host offers NOT_REQUIRED (0x2)); KVM "
			    "stores nothing, the guest sees the host's level "
			    "NOT_REQUIRED (0x2)");
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_REFUSED,
		       "register_absent_on_host");
	e = entry(&report, FWREG_ID_STD_BMAP);
	assert_int_equal(e->err, -ENOENT);
	assert_false(e->host_present);
	assert_string_equal(e->reason,
			    "STD_BMAP: the host kernel does not have this "
			    "register (mainline since 5.19); writing 0x1 fails "
			    "with ENOENT; only a bitmap pinned to 0x0 (services "
			    "off) is honoured without the register");
	assert_verdict(&report, FWREG_ID_STD_HYP_BMAP, COMPAT_REFUSED,
		       "register_absent_on_host");
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_REFUSED,
		       "register_absent_on_host");
	assert_int_equal(count_refused(&report), 4);
	assert_int_equal(compat_refusal(&report, p->name, &err), -EPERM);
	assert_string_equal(err.field, "registers.PSCI_VERSION");
	profile_free(p);
}

/* A 7.3 capture on 6.12: VENDOR_HYP_BMAP_2 = 0 may be absent, PSCI 1.3
 * may not. */
static void test_7_3_capture_on_6_12(void **state)
{
	struct profile *p = capture("lab-7.3", LAB_7_3_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct hostset h = load_host(LAB_6_12_JSON);
	const struct compat_entry *e;

	(void)state;
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2, COMPAT_ABSENT_OFF,
		       NULL);
	e = entry(&report, FWREG_ID_VENDOR_HYP_BMAP_2);
	assert_false(e->writes);
	assert_string_equal(e->reason,
			    "VENDOR_HYP_BMAP_2: pinned 0x0 (every service off) "
			    "and the host does not have the register: the guest "
			    "sees the same");
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_REFUSED,
		       "psci_version_unsupported");
	assert_int_equal(count_refused(&report), 1);
	for (uint64_t id = FWREG_ID_WORKAROUND_1; id <= FWREG_ID_WORKAROUND_3;
	     id++)
		assert_verdict(&report, id, COMPAT_PINNED, NULL);
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_PINNED, NULL);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_PINNED, NULL);
	profile_free(p);
}

/*
 * A 6.12 capture on 7.3: VENDOR_HYP_BMAP_2 is new there, listed at 0,
 * which a guest cannot tell from its absence; the default policy runs it.
 */
static void test_6_12_capture_on_7_3(void **state)
{
	static const struct fw_pin plan[] = {
		{ FWREG_ID_PSCI_VERSION, 0x10001 },
		{ FWREG_ID_WORKAROUND_1, 2 },
		{ FWREG_ID_WORKAROUND_2, 0 },
		{ FWREG_ID_WORKAROUND_3, 0 },
		{ FWREG_ID_STD_BMAP, 1 },
		{ FWREG_ID_STD_HYP_BMAP, 1 },
		{ FWREG_ID_VENDOR_HYP_BMAP, 3 },
		{ FWREG_ID_VENDOR_HYP_BMAP_2, 0 },
	};
	struct profile *p = capture("lab-6.12", LAB_6_12_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct hostset h = load_host(LAB_7_3_JSON);
	const struct compat_entry *e;
	struct api_error err;

	(void)state;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_int_equal(count_refused(&report), 0);
	assert_int_equal(compat_refusal(&report, "lab-6.12", &err), 0);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2,
		       COMPAT_ABSENT_EQUIVALENT, NULL);
	e = entry(&report, FWREG_ID_VENDOR_HYP_BMAP_2);
	assert_false(e->writes);
	assert_false(e->pinned);
	assert_true(e->has_guest_sees && e->guest_sees == 0);
	assert_string_equal(e->reason,
			    "VENDOR_HYP_BMAP_2: not in the profile; the host "
			    "lists it at 0x0 (every service off), which is what "
			    "a host without the register offers, so "
			    "unknown_registers \"refuse\" accepts it; nothing "
			    "is written");
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_PINNED, NULL);
	assert_plan(&report, plan, 7);

	/* "disable" writes the 0 the register already holds. */
	p->unknown_registers = PROFILE_UNKNOWN_DISABLE;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2, COMPAT_DISABLED,
		       NULL);
	e = entry(&report, FWREG_ID_VENDOR_HYP_BMAP_2);
	assert_true(e->writes && e->write == 0);
	assert_plan(&report, plan, 8);
	profile_free(p);
}

/*
 * Absent-equivalence is a rule on kind and value: an unmentioned bitmap
 * offering services still refuses, and so does an unmentioned 0x14
 * register at 0, which is not a bitmap.
 */
static void test_absent_equivalence_by_rule(void **state)
{
	struct profile *p = capture("lab-6.12", LAB_6_12_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct hostset h = load_host(LAB_7_3_JSON);
	struct hostset future = load_host(
		"{\"kernel_release\": \"future\", \"registers\": ["
		LAB_PSCI("0x10001") ","
		"{\"id\": \"0x6030000000160007\", \"value\": \"0x0\"},"
		"{\"id\": \"0x6030000000160008\", \"value\": \"0x2\"},"
		"{\"id\": \"0x6030000000140009\", \"value\": \"0x0\"}]}");
	struct api_error err;

	(void)state;
	/* Drop VENDOR_HYP_BMAP (0x3 on 7.3): the profile no longer says. */
	for (size_t i = 0; i < p->npins; i++)
		if (p->pins[i].id == FWREG_ID_VENDOR_HYP_BMAP) {
			memmove(&p->pins[i], &p->pins[i + 1],
				(p->npins - i - 1) * sizeof(p->pins[0]));
			p->npins--;
			break;
		}
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_int_equal(count_refused(&report), 1);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_REFUSED,
		       "unmentioned_register");
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2,
		       COMPAT_ABSENT_EQUIVALENT, NULL);
	assert_int_equal(compat_refusal(&report, "lab-6.12", &err), -EPERM);
	assert_string_equal(err.field, "registers.VENDOR_HYP_BMAP");
	profile_free(p);

	p = load_profile("{\"name\": \"psci\", \"registers\": "
		    "{\"PSCI_VERSION\": \"1.1\"}}");
	compat_check(p, &future, &report);
	assert_false(report.compatible);
	assert_verdict(&report, UINT64_C(0x6030000000160007),
		       COMPAT_ABSENT_EQUIVALENT, NULL);
	assert_false(entry(&report, UINT64_C(0x6030000000160007))->writes);
	assert_verdict(&report, UINT64_C(0x6030000000160008), COMPAT_REFUSED,
		       "unmentioned_register");
	assert_verdict(&report, UINT64_C(0x6030000000140009), COMPAT_REFUSED,
		       "unmentioned_register");
	assert_int_equal(count_refused(&report), 2);
	profile_free(p);
}

/* The hand-written "5.10 services" profile runs on 6.12 (and 5.10, 6.1). */
static const char *const services_5_10 =
	"{\"name\": \"services-5.10\", \"registers\": {"
	"\"PSCI_VERSION\": \"1.0\","
	"\"STD_BMAP\": \"0x0\", \"STD_HYP_BMAP\": \"0x0\","
	"\"VENDOR_HYP_BMAP\": \"0x0\","
	"\"SMCCC_ARCH_WORKAROUND_1\": \"host\","
	"\"SMCCC_ARCH_WORKAROUND_2\": \"host\","
	"\"SMCCC_ARCH_WORKAROUND_3\": \"host\"}}";

static void test_5_10_services_on_6_12(void **state)
{
	static const struct fw_pin plan[] = {
		{ FWREG_ID_PSCI_VERSION, 0x10000 },
		{ FWREG_ID_STD_BMAP, 0 },
		{ FWREG_ID_STD_HYP_BMAP, 0 },
		{ FWREG_ID_VENDOR_HYP_BMAP, 0 },
	};
	struct profile *p = load_profile(services_5_10);
	struct hostset h = load_host(LAB_6_12_JSON);
	const struct compat_entry *e;

	(void)state;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_plan(&report, plan, 4);
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_PINNED, NULL);
	assert_string_equal(entry(&report, FWREG_ID_PSCI_VERSION)->reason,
			    "PSCI_VERSION: 1.0 (0x10000) accepted (host's newest "
			    "is 1.1); the guest will see 1.0");
	for (uint64_t id = FWREG_ID_WORKAROUND_1; id <= FWREG_ID_WORKAROUND_3;
	     id++) {
		assert_verdict(&report, id, COMPAT_HOST_VALUE, NULL);
		e = entry(&report, id);
		assert_false(e->writes);
		assert_true(e->pinned_host);
		assert_true(e->has_guest_sees && e->guest_sees == e->host);
	}
	assert_string_equal(entry(&report, FWREG_ID_WORKAROUND_3)->reason,
			    "SMCCC_ARCH_WORKAROUND_3: pinned \"host\": nothing "
			    "is written, the guest sees the host's 0x0");
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_PINNED, NULL);
	assert_string_equal(entry(&report, FWREG_ID_STD_BMAP)->reason,
			    "STD_BMAP: 0x0 (none) accepted; the guest will see "
			    "0x0 (none)");

	/* On 5.10 the bitmaps are absent, which is the same as 0. */
	h = load_host(LAB_5_10_JSON);
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_plan(&report, plan, 1);
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_ABSENT_OFF, NULL);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_ABSENT_OFF,
		       NULL);

	/* On 7.3 VENDOR_HYP_BMAP_2 is unmentioned, and 0: the same. */
	h = load_host(LAB_7_3_JSON);
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2,
		       COMPAT_ABSENT_EQUIVALENT, NULL);
	profile_free(p);
}

/* ---- observed ABI ----------------------------------------------------------- */

/* A 5.10 capture with its probe observation: TRNG and the KVM vendor
 * services answered NOT_SUPPORTED, so their bitmaps are derived (0). */
static void test_derived_from_observed(void **state)
{
	struct hostset h510 = load_host(LAB_5_10_OBSERVED_JSON);
	struct hostset h = load_host(LAB_6_12_JSON);
	struct api_error err;
	struct profile *p;
	const struct compat_entry *e;

	(void)state;
	assert_int_equal(profile_capture("lab-5.10", &h510, NULL,
					 PROFILE_UNKNOWN_REFUSE, &p, &err),
			 0);
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_DERIVED, NULL);
	e = entry(&report, FWREG_ID_STD_BMAP);
	assert_true(e->writes && e->write == 0);
	assert_false(e->pinned);
	assert_string_equal(e->reason,
			    "derived from the observed ABI: TRNG_VERSION "
			    "answered NOT_SUPPORTED; STD_BMAP: 0x0 (none) "
			    "accepted; the guest will see 0x0 (none)");
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_DERIVED, NULL);
	assert_true(entry(&report, FWREG_ID_VENDOR_HYP_BMAP)->write == 0);
	/* PV time was not observed: the policy decides. */
	assert_verdict(&report, FWREG_ID_STD_HYP_BMAP, COMPAT_REFUSED,
		       "unmentioned_register");
	assert_verdict(&report, FWREG_ID_WORKAROUND_3, COMPAT_REFUSED,
		       "workaround_level_above_host");

	/* Require no WORKAROUND_3 level and disable the rest: compatible. */
	p->pins[3].mode = PROFILE_PIN_HOST;
	assert_true(p->pins[3].id == FWREG_ID_WORKAROUND_3);
	p->unknown_registers = PROFILE_UNKNOWN_DISABLE;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_verdict(&report, FWREG_ID_STD_HYP_BMAP, COMPAT_DISABLED, NULL);
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_DERIVED, NULL);
	profile_free(p);
}

/* A derived value is checked like a pin: KVM_FEATURES showing a bit the
 * host does not have is refused. */
static void test_derived_refused(void **state)
{
	struct profile *p = load_profile(
		"{\"name\": \"d\", \"unknown_registers\": \"disable\", "
		"\"registers\": {}, \"observed_abi\": {\"calls\": ["
		"{\"function_id\": \"0x86000000\", \"name\": \"KVM_FEATURES\", "
		"\"x0\": \"0x0000000000000007\"},"
		"{\"function_id\": \"0x84000050\", \"name\": \"TRNG_VERSION\", "
		"\"x0\": \"0x0000000000010000\"}]}}");
	struct hostset h = load_host(LAB_6_12_JSON);

	(void)state;
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP, COMPAT_REFUSED,
		       "bitmap_bits_outside_host");
	assert_string_equal(entry(&report, FWREG_ID_VENDOR_HYP_BMAP)->reason,
			    "derived from the observed ABI: KVM_FEATURES "
			    "answered 0x7; VENDOR_HYP_BMAP: wanted 0x7 "
			    "(FUNC_FEAT, PTP, bit 2) sets bits the host does "
			    "not have: 0x4 (bit 2); host offers 0x3 (FUNC_FEAT, "
			    "PTP); KVM refuses bits it does not know");
	assert_verdict(&report, FWREG_ID_STD_BMAP, COMPAT_DERIVED, NULL);
	assert_true(entry(&report, FWREG_ID_STD_BMAP)->write == 1);
	/* Not derivable, so the policy: */
	assert_verdict(&report, FWREG_ID_STD_HYP_BMAP, COMPAT_DISABLED, NULL);
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_REFUSED,
		       "unmentioned_register");
	assert_string_equal(entry(&report, FWREG_ID_PSCI_VERSION)->reason,
			    "PSCI_VERSION: the host lists it (0x10001) and the "
			    "profile does not mention it; unknown_registers is "
			    "\"disable\", but only bitmaps can be disabled");
	profile_free(p);
}

/* ---- WORKAROUND_2, host pins, uncatalogued registers ------------------------ */

static void test_workaround_2(void **state)
{
	struct profile *p = load_profile(
		"{\"name\": \"w\", \"unknown_registers\": \"disable\", "
		"\"registers\": {\"PSCI_VERSION\": \"host\", "
		"\"SMCCC_ARCH_WORKAROUND_1\": \"host\", "
		"\"SMCCC_ARCH_WORKAROUND_3\": \"host\", "
		"\"SMCCC_ARCH_WORKAROUND_2\": {\"level\": \"AVAIL\", "
		"\"enabled\": true}}}");
	struct hostset h = load_host(LAB_6_12_JSON);

	(void)state;
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, FWREG_ID_WORKAROUND_2, COMPAT_REFUSED,
		       "workaround_level_above_host");
	/* A host that reports NOT_REQUIRED takes NOT_AVAIL (guest sees 3). */
	h.regs[2].value = FWREG_WA2_NOT_REQUIRED;
	p->pins[2].value = FWREG_WA2_NOT_AVAIL;
	assert_true(p->pins[2].id == FWREG_ID_WORKAROUND_2);
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_verdict(&report, FWREG_ID_WORKAROUND_2, COMPAT_GUEST_SEES_HOST,
		       NULL);
	assert_true(entry(&report, FWREG_ID_WORKAROUND_2)->guest_sees == 3);
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_HOST_VALUE, NULL);
	profile_free(p);
}

static void test_host_pin_absent(void **state)
{
	struct profile *p = load_profile(
		"{\"name\": \"h\", \"registers\": {\"PSCI_VERSION\": \"host\", "
		"\"SMCCC_ARCH_WORKAROUND_1\": \"host\", "
		"\"SMCCC_ARCH_WORKAROUND_2\": \"host\", "
		"\"SMCCC_ARCH_WORKAROUND_3\": \"host\", "
		"\"VENDOR_HYP_BMAP_2\": \"host\"}}");
	struct hostset h = load_host(LAB_5_10_JSON);
	const struct compat_entry *e;

	(void)state;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_int_equal(report.nwrites, 0);
	assert_verdict(&report, FWREG_ID_VENDOR_HYP_BMAP_2, COMPAT_HOST_VALUE,
		       NULL);
	e = entry(&report, FWREG_ID_VENDOR_HYP_BMAP_2);
	assert_false(e->host_present);
	assert_false(e->has_guest_sees);
	assert_string_equal(e->reason,
			    "VENDOR_HYP_BMAP_2: pinned \"host\"; the host does "
			    "not have the register, so the guest sees none");
	profile_free(p);
}

#define UNCAT_BMAP UINT64_C(0x6030000000160007)
#define UNCAT_FW UINT64_C(0x6030000000140009)

static void test_uncatalogued(void **state)
{
	struct hostset h = load_host(
		"{\"kernel_release\": \"future\", \"registers\": ["
		LAB_PSCI("0x10003") ","
		"{\"id\": \"0x6030000000160007\", \"value\": \"0x5\"},"
		"{\"id\": \"0x6030000000140009\", \"value\": \"0x7\"}]}");
	struct profile *p = load_profile(
		"{\"name\": \"u\", \"registers\": {\"PSCI_VERSION\": \"1.3\", "
		"\"0x6030000000160007\": \"0x4\", "
		"\"0x6030000000140009\": \"0x7\", "
		"\"0x6030000000160008\": \"0x0\"}}");
	const struct compat_entry *e;

	(void)state;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_verdict(&report, UNCAT_BMAP, COMPAT_PINNED, NULL);
	e = entry(&report, UNCAT_BMAP);
	assert_null(e->desc);
	assert_true(e->writes && e->write == 4);
	assert_string_equal(e->reason,
			    "register 0x6030000000160007 (not in pinvm's "
			    "catalogue): a feature bitmap; 0x4 is within the "
			    "host's 0x5, which KVM accepts");
	assert_verdict(&report, UNCAT_FW, COMPAT_PINNED, NULL);
	assert_string_equal(entry(&report, UNCAT_FW)->reason,
			    "register 0x6030000000140009 (not in pinvm's "
			    "catalogue): 0x7 is the host's own value, which KVM "
			    "accepts back");
	assert_verdict(&report, UINT64_C(0x6030000000160008), COMPAT_ABSENT_OFF,
		       NULL);

	p->pins[1].value = 0x6; /* 0x140009 */
	p->pins[2].value = 0x8; /* 0x160007 */
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, UNCAT_FW, COMPAT_REFUSED, "register_unknown");
	assert_int_equal(entry(&report, UNCAT_FW)->err, -ENOENT);
	assert_string_equal(entry(&report, UNCAT_FW)->reason,
			    "register 0x6030000000140009: wanted 0x6, host has "
			    "0x7; register not in pinvm's catalogue: pinvm "
			    "cannot tell what KVM does with 0x6");
	assert_verdict(&report, UNCAT_BMAP, COMPAT_REFUSED, "register_unknown");

	/* Unmentioned: a bitmap can be disabled, the other cannot. */
	p->npins = 1;
	p->unknown_registers = PROFILE_UNKNOWN_DISABLE;
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_verdict(&report, UNCAT_BMAP, COMPAT_DISABLED, NULL);
	assert_true(entry(&report, UNCAT_BMAP)->write == 0);
	assert_verdict(&report, UNCAT_FW, COMPAT_REFUSED,
		       "unmentioned_register");
	assert_string_equal(entry(&report, UNCAT_FW)->reason,
			    "register 0x6030000000140009: the host lists it "
			    "(0x7) and the profile does not mention it; "
			    "unknown_registers is \"disable\", but only bitmaps "
			    "can be disabled");

	/* A non-bitmap uncatalogued pin on a host without it. */
	p->npins = 0;
	profile_add_pin(p, UINT64_C(0x6030000000140010), PROFILE_PIN_VALUE, 0,
			NULL);
	compat_check(p, &h, &report);
	assert_verdict(&report, UINT64_C(0x6030000000140010), COMPAT_REFUSED,
		       "register_absent_on_host");
	profile_free(p);
}

/* ---- discoverability --------------------------------------------------------- */

static void assert_services(const struct compat_report *r, const char *want,
			    bool reachable)
{
	char got[256] = "";

	for (size_t i = 0; i < r->discovery.nservices; i++) {
		const struct compat_service *sv = &r->discovery.services[i];

		assert_int_equal(sv->reachable, reachable);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			 i ? "," : "", sv->name);
	}
	assert_string_equal(got, want);
}

/*
 * A 6.12 capture sees SMCCC 1.1 (PSCI 1.1) and with it every service;
 * pinned down to PSCI 0.2 the same services are still answered by KVM but
 * unreachable, and the profile stays compatible (reported, not refused).
 */
static void test_discovery(void **state)
{
	struct profile *p = capture("lab-6.12", LAB_6_12_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct hostset h = load_host(LAB_6_12_JSON);
	json_t *doc;
	char *text;

	(void)state;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_true(report.discovery.psci_known);
	assert_true(report.discovery.psci == 0x10001);
	assert_true(report.discovery.smccc_1_1);
	assert_services(&report,
			"SMCCC_ARCH_WORKAROUND_1,TRNG,PV_TIME,FUNC_FEAT,PTP",
			true);

	p->pins[0].value = FWREG_PSCI(0, 2);
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_false(report.discovery.smccc_1_1);
	assert_services(&report,
			"SMCCC_ARCH_WORKAROUND_1,TRNG,PV_TIME,FUNC_FEAT,PTP",
			false);
	doc = compat_report_to_json(&report);
	text = json_dumps(json_object_get(doc, "discovery"), JSON_COMPACT);
	assert_string_equal(
		text,
		"{\"psci_version\":\"0.2\",\"smccc_1_1\":false,\"services\":["
		"{\"name\":\"SMCCC_ARCH_WORKAROUND_1\",\"register\":"
		"\"SMCCC_ARCH_WORKAROUND_1\",\"reachable\":false,\"denied\":false},"
		"{\"name\":\"TRNG\",\"register\":\"STD_BMAP\",\"reachable\":"
		"false,\"denied\":false},{\"name\":\"PV_TIME\",\"register\":\"STD_HYP_BMAP\","
		"\"reachable\":false,\"denied\":false},{\"name\":\"FUNC_FEAT\",\"register\":"
		"\"VENDOR_HYP_BMAP\",\"reachable\":false,\"denied\":false},{\"name\":\"PTP\","
		"\"register\":\"VENDOR_HYP_BMAP\",\"reachable\":false,\"denied\":false}],"
		"\"unreachable\":[\"SMCCC_ARCH_WORKAROUND_1\",\"TRNG\","
		"\"PV_TIME\",\"FUNC_FEAT\",\"PTP\"],\"reason\":\"PSCI 0.2 has "
		"no PSCI_FEATURES (it came with 1.0), so a guest cannot learn "
		"that SMCCC 1.1 is there and assumes 1.0; KVM still answers the "
		"services listed, but a guest following the specifications "
		"(Linux among them) never calls them: unreachable, not "
		"refused\"}");
	free(text);
	json_decref(doc);
	profile_free(p);

	/* 5.10 has no bitmaps: PV time is the VMM's switch, reachable. */
	p = capture("lab-5.10", LAB_5_10_JSON, PROFILE_UNKNOWN_REFUSE);
	h = load_host(LAB_5_10_JSON);
	compat_check(p, &h, &report);
	assert_true(report.discovery.smccc_1_1);
	assert_services(&report,
			"SMCCC_ARCH_WORKAROUND_1,SMCCC_ARCH_WORKAROUND_3,"
			"PV_TIME",
			true);
	profile_free(p);

	/* The 5.10 services profile on 6.12: only the workaround is left. */
	p = load_profile(services_5_10);
	h = load_host(LAB_6_12_JSON);
	compat_check(p, &h, &report);
	assert_true(report.discovery.smccc_1_1);
	assert_services(&report, "SMCCC_ARCH_WORKAROUND_1", true);
	profile_free(p);

	/* A refused PSCI_VERSION: the guest's version is not known. */
	p = capture("lab-7.3", LAB_7_3_JSON, PROFILE_UNKNOWN_REFUSE);
	compat_check(p, &h, &report);
	assert_false(report.compatible);
	assert_false(report.discovery.psci_known);
	assert_false(report.discovery.smccc_1_1);
	doc = compat_report_to_json(&report);
	assert_true(json_is_null(json_object_get(
		json_object_get(doc, "discovery"), "psci_version")));
	json_decref(doc);
	profile_free(p);
}

/* ---- read-back -------------------------------------------------------------- */

static void test_readback(void **state)
{
	struct profile *p = capture("lab-6.12", LAB_6_12_JSON,
				    PROFILE_UNKNOWN_DISABLE);
	struct hostset h = load_host(LAB_7_3_JSON);
	struct fw_pin rb[8];

	(void)state;
	compat_check(p, &h, &report);
	assert_true(report.compatible);
	assert_int_equal(report.nwrites, 8);
	memcpy(rb, report.writes, sizeof(rb));
	assert_int_equal(compat_check_readback(&report, rb, 8), 0);
	assert_true(report.compatible);

	/* A validate-only register reading back the host's level. */
	rb[1].value = 1; /* WORKAROUND_1 */
	assert_int_equal(compat_check_readback(&report, rb, 8), 0);
	assert_true(report.compatible);
	assert_verdict(&report, FWREG_ID_WORKAROUND_1, COMPAT_GUEST_SEES_HOST,
		       NULL);
	assert_true(entry(&report, FWREG_ID_WORKAROUND_1)->guest_sees == 1);

	/* A stored register that does not read back what was written. */
	rb[0].value = 0x10003; /* PSCI_VERSION */
	assert_int_equal(compat_check_readback(&report, rb, 8), -EIO);
	assert_false(report.compatible);
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_REFUSED,
		       "readback_mismatch");
	assert_string_equal(entry(&report, FWREG_ID_PSCI_VERSION)->reason,
			    "PSCI_VERSION: wrote 0x10001, KVM_GET_ONE_REG reads "
			    "back 0x10003; KVM stores this register, so the "
			    "guest would not see the pinned value");

	/* A register missing from the read-back. */
	compat_check(p, &h, &report);
	assert_int_equal(compat_check_readback(&report, rb + 1, 7), -EIO);
	assert_verdict(&report, FWREG_ID_PSCI_VERSION, COMPAT_REFUSED,
		       "readback_mismatch");
	assert_int_equal(compat_check_readback(NULL, rb, 1), -EINVAL);
	assert_int_equal(compat_check(NULL, &h, &report), -EINVAL);
	profile_free(p);
}

/* ---- JSON ----------------------------------------------------------------------- */

static void test_report_json(void **state)
{
	struct profile *p = capture("lab-6.1", LAB_6_1_JSON,
				    PROFILE_UNKNOWN_REFUSE);
	struct hostset h = load_host(LAB_5_10_JSON);
	json_t *doc, *regs;
	char *text;

	(void)state;
	compat_check(p, &h, &report);
	doc = compat_report_to_json(&report);
	assert_non_null(doc);
	assert_true(json_is_false(json_object_get(doc, "compatible")));
	assert_string_equal(json_string_value(json_object_get(doc,
							      "kernel_release")),
			    "5.10.0-32-cloud-arm64");
	regs = json_object_get(doc, "registers");
	assert_int_equal(json_array_size(regs), 7);
	text = json_dumps(json_array_get(regs, 3), JSON_COMPACT);
	assert_string_equal(
		text,
		"{\"name\":\"SMCCC_ARCH_WORKAROUND_3\",\"id\":"
		"\"0x6030000000140003\",\"pinned\":\"0x0\",\"host\":\"0x2\","
		"\"verdict\":\"guest_sees_host\",\"reason\":"
		"\"SMCCC_ARCH_WORKAROUND_3: level NOT_AVAIL (0x0) accepted "
		"(host offers NOT_REQUIRED (0x2)); KVM stores nothing, the "
		"guest sees the host's level NOT_REQUIRED (0x2)\",\"write\":"
		"\"0x0\",\"guest_sees\":\"0x2\"}");
	free(text);
	text = json_dumps(json_array_get(regs, 6), JSON_COMPACT);
	assert_string_equal(
		text,
		"{\"name\":\"VENDOR_HYP_BMAP\",\"id\":\"0x6030000000160002\","
		"\"pinned\":\"0x3\",\"host\":null,\"verdict\":\"refused\","
		"\"rule\":\"register_absent_on_host\",\"reason\":"
		"\"VENDOR_HYP_BMAP: the host kernel does not have this register "
		"(mainline since 5.19); writing 0x3 fails with ENOENT; only a "
		"bitmap pinned to 0x0 (services off) is honoured without the "
		"register\"}");
	free(text);
	json_decref(doc);
	profile_free(p);

	/* An unpinned register: "pinned": null. */
	p = capture("lab-6.12", LAB_6_12_JSON, PROFILE_UNKNOWN_DISABLE);
	h = load_host(LAB_7_3_JSON);
	compat_check(p, &h, &report);
	doc = compat_report_to_json(&report);
	text = json_dumps(json_array_get(json_object_get(doc, "registers"), 7),
			  JSON_COMPACT);
	assert_string_equal(
		text,
		"{\"name\":\"VENDOR_HYP_BMAP_2\",\"id\":\"0x6030000000160003\","
		"\"pinned\":null,\"host\":\"0x0\",\"verdict\":\"disabled\","
		"\"reason\":\"not in the profile, unknown_registers is "
		"\\\"disable\\\": VENDOR_HYP_BMAP_2: 0x0 (none) accepted; the "
		"guest will see 0x0 (none)\",\"write\":\"0x0\",\"guest_sees\":"
		"\"0x0\"}");
	assert_true(json_is_true(json_object_get(doc, "compatible")));
	free(text);
	json_decref(doc);
	profile_free(p);
}

/* The VMM gives PV time exactly when the guest is meant to see PV_TIME. */
static void test_pvtime_follows_std_hyp_bmap(void **state)
{
	struct hostset h510 = load_host(LAB_5_10_JSON), h612 = load_host(LAB_6_12_JSON);
	struct profile *off = load_profile(
		"{\"name\": \"off\", \"unknown_registers\": \"disable\", \"registers\": "
		"{\"STD_HYP_BMAP\": \"0x0\"}}");
	struct profile *on = load_profile(
		"{\"name\": \"on\", \"registers\": {\"STD_HYP_BMAP\": \"0x1\"}}");
	struct profile *leave = load_profile(
		"{\"name\": \"leave\", \"registers\": {\"STD_HYP_BMAP\": \"host\"}}");
	struct profile *none = load_profile("{\"name\": \"none\", \"registers\": {}}");

	(void)state;
	/* 5.10 has no STD_HYP_BMAP: the pin to 0 is honoured by the VMM alone. */
	assert_int_equal(compat_check(off, &h510, &report), 0);
	assert_false(report.pvtime);
	assert_int_equal(compat_check(none, &h510, &report), 0);
	assert_true(report.pvtime);
	/* 6.12 lists it at 0x1: the plan's write decides. */
	assert_int_equal(compat_check(off, &h612, &report), 0);
	assert_false(report.pvtime);
	assert_int_equal(compat_check(on, &h612, &report), 0);
	assert_true(report.pvtime);
	assert_int_equal(compat_check(leave, &h612, &report), 0);
	assert_true(report.pvtime);
	profile_free(off);
	profile_free(on);
	profile_free(leave);
	profile_free(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5_10_capture_on_newer),
		cmocka_unit_test(test_pvtime_follows_std_hyp_bmap),
		cmocka_unit_test(test_6_1_capture_on_5_10),
		cmocka_unit_test(test_7_3_capture_on_6_12),
		cmocka_unit_test(test_6_12_capture_on_7_3),
		cmocka_unit_test(test_absent_equivalence_by_rule),
		cmocka_unit_test(test_5_10_services_on_6_12),
		cmocka_unit_test(test_derived_from_observed),
		cmocka_unit_test(test_derived_refused),
		cmocka_unit_test(test_workaround_2),
		cmocka_unit_test(test_host_pin_absent),
		cmocka_unit_test(test_uncatalogued),
		cmocka_unit_test(test_readback),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_discovery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
