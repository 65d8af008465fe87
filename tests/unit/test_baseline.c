/*
 * baseline_compute() over the lab kernels' register sets: exact values,
 * the property that a baseline is compatible with each of its hosts (every
 * subset of the lab), a single host's baseline equals its capture, and
 * the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "baseline.h"
#include "compat.h"
#include "fwreg.h"
#include "hostset.h"
#include "lab_hostsets.h"
#include "profile.h"
#include "test_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct compat_report report;

static struct hostset lab[4];

static int setup(void **state)
{
	(void)state;
	lab[0] = load_host(LAB_5_10_JSON);
	lab[1] = load_host(LAB_6_1_JSON);
	lab[2] = load_host(LAB_6_12_JSON);
	lab[3] = load_host(LAB_7_3_JSON);
	return 0;
}

static struct profile *baseline(const struct hostset *hosts, size_t n)
{
	struct api_error err = { 0 };
	struct profile *p;

	if (baseline_compute("fleet", hosts, n, &p, &err))
		fail_msg("baseline: %s %s: %s", err.code, err.field, err.detail);
	return p;
}

static void assert_pin(const struct profile *p, uint64_t id,
		       enum profile_pin_mode mode, uint64_t value)
{
	const struct profile_pin *pin = profile_find_pin(p, id);

	if (!pin)
		fail_msg("no pin for 0x%llx", (unsigned long long)id);
	assert_int_equal(pin->mode, mode);
	if (pin->value != value)
		fail_msg("0x%llx pinned 0x%llx, expected 0x%llx",
			 (unsigned long long)id, (unsigned long long)pin->value,
			 (unsigned long long)value);
}

static void assert_compatible(const struct profile *p, const struct hostset *h)
{
	struct api_error err = { 0 };

	compat_check(p, h, &report);
	if (compat_refusal(&report, p->name, &err))
		fail_msg("not compatible with %s: %s", h->kernel_release,
			 err.detail);
	assert_true(report.compatible);
}

/* ---- exact baselines ---------------------------------------------------------- */

static void test_all_four(void **state)
{
	struct profile *p = baseline(lab, 4);
	json_t *hosts;

	(void)state;
	assert_int_equal(p->npins, 8);
	assert_pin(p, FWREG_ID_PSCI_VERSION, PROFILE_PIN_VALUE, 0x10000);
	assert_pin(p, FWREG_ID_WORKAROUND_1, PROFILE_PIN_VALUE, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_2, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_WORKAROUND_3, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_STD_BMAP, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_STD_HYP_BMAP, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP_2, PROFILE_PIN_VALUE, 0);
	assert_int_equal(p->unknown_registers, PROFILE_UNKNOWN_REFUSE);
	assert_null(p->observed_abi);
	assert_false(p->observed.present);
	assert_string_equal(json_string_value(json_object_get(p->source,
							      "kind")),
			    "baseline");
	hosts = json_object_get(p->source, "hosts");
	assert_int_equal(json_array_size(hosts), 4);
	assert_string_equal(json_string_value(json_array_get(hosts, 0)),
			    "5.10.0-32-cloud-arm64");
	assert_string_equal(json_string_value(json_array_get(hosts, 3)),
			    "7.3.4+deb13-cloud-arm64");

	/* On 5.10: the bitmaps are absent (= 0) and WORKAROUND_3 stays the
	 * host's NOT_REQUIRED. */
	assert_compatible(p, &lab[0]);
	assert_int_equal(report.nwrites, 4);
	assert_int_equal(report.entries[3].verdict, COMPAT_GUEST_SEES_HOST);
	assert_int_equal(report.entries[4].verdict, COMPAT_ABSENT_OFF);
	profile_free(p);
}

static void test_6_1_and_7_3(void **state)
{
	const struct hostset hosts[] = { lab[1], lab[3] };
	struct profile *p = baseline(hosts, 2);

	(void)state;
	assert_pin(p, FWREG_ID_PSCI_VERSION, PROFILE_PIN_VALUE, 0x10001);
	assert_pin(p, FWREG_ID_WORKAROUND_3, PROFILE_PIN_VALUE, 0);
	assert_pin(p, FWREG_ID_STD_BMAP, PROFILE_PIN_VALUE, 1);
	assert_pin(p, FWREG_ID_STD_HYP_BMAP, PROFILE_PIN_VALUE, 1);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP, PROFILE_PIN_VALUE, 3);
	/* absent on 6.1 counts as 0 */
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP_2, PROFILE_PIN_VALUE, 0);
	assert_compatible(p, &lab[1]);
	assert_int_equal(report.entries[7].verdict, COMPAT_ABSENT_OFF);
	assert_compatible(p, &lab[3]);
	assert_int_equal(report.nwrites, 8);
	profile_free(p);
}

/* ---- properties ----------------------------------------------------------------- */

/* Every non-empty subset of the lab: compatible with each member, and it
 * survives the canonical JSON round trip. */
static void test_every_subset(void **state)
{
	(void)state;
	for (unsigned mask = 1; mask < 16; mask++) {
		struct hostset hosts[4];
		struct api_error err;
		struct profile *p, *q;
		size_t n = 0;
		json_t *doc;

		for (unsigned i = 0; i < 4; i++)
			if (mask & (1u << i))
				hosts[n++] = lab[i];
		p = baseline(hosts, n);
		for (size_t i = 0; i < n; i++)
			assert_compatible(p, &hosts[i]);
		doc = profile_to_json(p);
		assert_int_equal(profile_from_json(doc, &q, &err), 0);
		assert_true(profile_equal(p, q));
		json_decref(doc);
		profile_free(p);
		profile_free(q);
	}
}

/* One host's baseline pins what its capture pins. */
static void test_single_host_is_capture(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct api_error err;
		struct profile *b = baseline(&lab[i], 1), *c;

		assert_int_equal(profile_capture("fleet", &lab[i], NULL,
						 PROFILE_UNKNOWN_REFUSE, &c,
						 &err),
				 0);
		assert_int_equal(b->npins, c->npins);
		for (size_t k = 0; k < b->npins; k++) {
			assert_true(b->pins[k].id == c->pins[k].id);
			assert_int_equal(b->pins[k].mode, c->pins[k].mode);
			assert_true(b->pins[k].value == c->pins[k].value);
		}
		assert_int_equal(b->unknown_registers, c->unknown_registers);
		profile_free(b);
		profile_free(c);
	}
}

/* ---- mixed hosts ------------------------------------------------------------------ */

/* A host whose probe guest saw no TRNG counts without it. */
static void test_observed_host(void **state)
{
	struct hostset hosts[2] = { load_host(LAB_6_12_OBSERVED_JSON), lab[3] };
	struct profile *p = baseline(hosts, 2);

	(void)state;
	assert_pin(p, FWREG_ID_STD_BMAP, PROFILE_PIN_VALUE, 1);
	assert_pin(p, FWREG_ID_VENDOR_HYP_BMAP, PROFILE_PIN_VALUE, 3);
	profile_free(p);

	hosts[0].observed.calls[2].x0 = UINT64_MAX; /* TRNG_VERSION */
	assert_string_equal(hosts[0].observed.calls[2].name, "TRNG_VERSION");
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_STD_BMAP, PROFILE_PIN_VALUE, 0);
	assert_compatible(p, &hosts[0]);
	assert_compatible(p, &hosts[1]);
	profile_free(p);
}

static void test_workarounds(void **state)
{
	struct hostset hosts[2] = { lab[2], lab[3] };
	struct profile *p;

	(void)state;
	/* WORKAROUND_2: NOT_AVAIL and NOT_REQUIRED hosts -> NOT_AVAIL ... */
	hosts[1].regs[2].value = FWREG_WA2_NOT_REQUIRED;
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_2, PROFILE_PIN_VALUE, 0);
	profile_free(p);
	/* ... both NOT_REQUIRED -> NOT_REQUIRED ... */
	hosts[0].regs[2].value = FWREG_WA2_NOT_REQUIRED;
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_2, PROFILE_PIN_VALUE, 3);
	profile_free(p);
	/* ... AVAIL (a pre-5.10 report) with NOT_REQUIRED: KVM maps AVAIL
	 * and NOT_REQUIRED alike, but AVAIL (2) < NOT_REQUIRED (3) on the
	 * first host, so only NOT_AVAIL is accepted everywhere. */
	hosts[0].regs[2].value = FWREG_WA2_AVAIL;
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_2, PROFILE_PIN_VALUE, 0);
	assert_compatible(p, &hosts[0]);
	assert_compatible(p, &hosts[1]);
	profile_free(p);

	/* A host without WORKAROUND_3: nothing common to require. */
	{
		const uint64_t ids[] = { FWREG_ID_PSCI_VERSION,
					 FWREG_ID_WORKAROUND_1 };
		const uint64_t vals[] = { 0x10001, 2 };

		assert_int_equal(hostset_init(&hosts[0], "no-wa3", ids, vals, 2,
					      NULL),
				 0);
	}
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_1, PROFILE_PIN_VALUE, 2);
	assert_pin(p, FWREG_ID_WORKAROUND_3, PROFILE_PIN_HOST, 0);
	assert_pin(p, FWREG_ID_WORKAROUND_2, PROFILE_PIN_HOST, 0);
	assert_pin(p, FWREG_ID_STD_BMAP, PROFILE_PIN_VALUE, 0);
	assert_compatible(p, &hosts[0]);
	assert_compatible(p, &hosts[1]);
	profile_free(p);
}

static void test_uncatalogued(void **state)
{
	const uint64_t ids[] = { FWREG_ID_PSCI_VERSION,
				 UINT64_C(0x6030000000140009),
				 UINT64_C(0x6030000000160007) };
	const uint64_t a[] = { 0x10001, 7, 0x5 };
	const uint64_t b[] = { 0x10003, 7, 0x6 };
	const uint64_t c[] = { 0x10003, 8, 0x6 };
	struct hostset hosts[2];
	struct api_error err;
	struct profile *p;

	(void)state;
	hostset_init(&hosts[0], "a", ids, a, 3, NULL);
	hostset_init(&hosts[1], "b", ids, b, 3, NULL);
	p = baseline(hosts, 2);
	assert_pin(p, UINT64_C(0x6030000000140009), PROFILE_PIN_VALUE, 7);
	assert_pin(p, UINT64_C(0x6030000000160007), PROFILE_PIN_VALUE, 4);
	assert_compatible(p, &hosts[0]);
	assert_compatible(p, &hosts[1]);
	profile_free(p);

	hostset_init(&hosts[1], "c", ids, c, 3, NULL);
	assert_int_equal(baseline_compute("x", hosts, 2, &p, &err), -EINVAL);
	assert_null(p);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "baseline_conflict");
	assert_string_equal(err.field, "registers.0x6030000000140009");
	assert_string_equal(err.detail,
			    "register 0x6030000000140009 is not in pinvm's "
			    "catalogue and the hosts disagree on its value; "
			    "pinvm cannot tell which value every host accepts");

	hostset_init(&hosts[1], "d", ids, c, 1, NULL);
	assert_int_equal(baseline_compute("x", hosts, 2, &p, &err), -EINVAL);
	assert_string_equal(err.code, "baseline_conflict");
	assert_true(strstr(err.detail, "only some hosts list it") != NULL);
}

static void test_errors(void **state)
{
	const uint64_t ids[] = { FWREG_ID_WORKAROUND_1 };
	const uint64_t vals[] = { 2 };
	struct hostset hosts[2] = { lab[2], lab[3] };
	struct api_error err;
	struct profile *p;

	(void)state;
	assert_int_equal(baseline_compute("x", lab, 0, &p, &err), -EINVAL);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "no_hosts");
	assert_int_equal(baseline_compute("no good", lab, 4, &p, &err),
			 -EINVAL);
	assert_string_equal(err.code, "bad_name");

	hostset_init(&hosts[1], "no-psci", ids, vals, 1, NULL);
	assert_int_equal(baseline_compute("x", hosts, 2, &p, &err), -EINVAL);
	assert_string_equal(err.code, "psci_version_missing");
	assert_string_equal(err.field, "hosts[1]");
	assert_string_equal(err.detail,
			    "host 1 (no-psci) does not list PSCI_VERSION; pinvm "
			    "cannot tell which PSCI versions it accepts");

	/*
	 * A host value no kernel reports is refused at its own path, not
	 * pinned: the WORKAROUND_3 = 7 would have been the minimum.
	 */
	hosts[0] = lab[2];
	hosts[1] = lab[3];
	hosts[1].regs[3].value = 7;
	assert_int_equal(baseline_compute("x", hosts, 2, &p, &err), -EINVAL);
	assert_null(p);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "impossible_value");
	assert_string_equal(err.field, "hosts[1].registers[3].value");
	hosts[1] = lab[3];
	hosts[1].regs[0].value = UINT64_C(0x100010001);
	assert_int_equal(baseline_compute("x", hosts, 2, &p, &err), -EINVAL);
	assert_string_equal(err.field, "hosts[1].registers[0].value");
	assert_true(strstr(err.detail, "0x100010001") != NULL);

	/* Only 0.1 in common: pinvm never sets it, so no version is. */
	hosts[1] = lab[3];
	hosts[1].regs[0].value = FWREG_PSCI(0, 1);
	assert_int_equal(baseline_compute("x", hosts, 2, &p, &err), -EINVAL);
	assert_string_equal(err.code, "baseline_conflict");
	assert_string_equal(err.field, "registers.PSCI_VERSION");
}

/*
 * PSCI versions this build does not know (a future kernel): the baseline
 * pins the newest catalogued version below them, which KVM accepts as it
 * accepts every version from 0.2 up to its newest.
 */
static void test_future_psci(void **state)
{
	struct hostset hosts[2] = { lab[3], lab[3] };
	struct profile *p;

	(void)state;
	hosts[0].regs[0].value = 0x10004;
	hosts[1].regs[0].value = 0x20000;
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_PSCI_VERSION, PROFILE_PIN_VALUE, 0x10003);
	assert_compatible(p, &hosts[0]);
	assert_compatible(p, &hosts[1]);
	profile_free(p);

	hosts[1] = lab[1]; /* 6.1: 1.1 */
	p = baseline(hosts, 2);
	assert_pin(p, FWREG_ID_PSCI_VERSION, PROFILE_PIN_VALUE, 0x10001);
	profile_free(p);
}

static void test_errors_limits(void **state)
{
	static struct hostset many[BASELINE_MAX_HOSTS + 1];
	struct api_error err;
	struct profile *p;

	(void)state;

	for (size_t i = 0; i < BASELINE_MAX_HOSTS + 1; i++)
		many[i] = lab[2];
	assert_int_equal(baseline_compute("x", many, BASELINE_MAX_HOSTS, &p,
					  &err),
			 0);
	profile_free(p);
	assert_int_equal(baseline_compute("x", many, BASELINE_MAX_HOSTS + 1, &p,
					  &err),
			 -EINVAL);
	assert_string_equal(err.code, "too_many_hosts");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_four),
		cmocka_unit_test(test_6_1_and_7_3),
		cmocka_unit_test(test_every_subset),
		cmocka_unit_test(test_single_host_is_capture),
		cmocka_unit_test(test_observed_host),
		cmocka_unit_test(test_workarounds),
		cmocka_unit_test(test_uncatalogued),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_future_psci),
		cmocka_unit_test(test_errors_limits),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
