/*
 * hostset_from_json() on arbitrary JSON text. On success: the set holds
 * only values a kernel reports (hostset_check()), the document round
 * trip, a capture of the host is compatible with that host, and a
 * baseline with a lab kernel is compatible with both and pins only values
 * a kernel reports.
 */
#include "fuzz_common.h"

#include "baseline.h"
#include "compat.h"
#include "fwreg.h"
#include "profile.h"

#include <stdbool.h>

static struct compat_report report;

static void check_compatible(const struct profile *p, const struct hostset *h)
{
	struct api_error err;

	FUZZ_CHECK(compat_check(p, h, &report) == 0);
	if (!report.compatible) {
		compat_refusal(&report, p->name, &err);
		fprintf(stderr, "%s\n", err.detail);
	}
	FUZZ_CHECK(report.compatible);
}

/*
 * A capture runs on its own host, except for values no Linux 5.10+ host
 * reports, which fwreg_check_write() (modelling 5.10+) refuses to write
 * back: PSCI 0.1 (a vCPU without PSCI_0_2; pinvm always sets it) and
 * WORKAROUND_2 = AVAIL (0x2; KVM maps AVAIL to NOT_REQUIRED, and 5.10+
 * reports only NOT_AVAIL or NOT_REQUIRED). Returns whether it is
 * compatible.
 */
static bool check_capture(const struct hostset *h, struct profile **out)
{
	const struct hostset_reg *psci = hostset_find(h, FWREG_ID_PSCI_VERSION);
	const struct hostset_reg *wa2 = hostset_find(h, FWREG_ID_WORKAROUND_2);
	struct api_error err;
	int ret;

	*out = NULL;
	ret = profile_capture("fuzz", h, NULL, PROFILE_UNKNOWN_REFUSE, out,
			      &err);
	if (ret) {
		fuzz_check_error(ret, &err);
		return false;
	}
	if ((psci && psci->value == FWREG_PSCI(0, 1)) ||
	    (wa2 && wa2->value == FWREG_WA2_AVAIL)) {
		FUZZ_CHECK(compat_check(*out, h, &report) == 0);
		return report.compatible;
	}
	check_compatible(*out, h);
	return true;
}

/* A baseline never pins what no kernel reports (so none would accept). */
static void check_pins_possible(const struct profile *b)
{
	struct api_error err;

	for (size_t i = 0; i < b->npins; i++)
		if (b->pins[i].mode == PROFILE_PIN_VALUE)
			FUZZ_CHECK(hostset_check_value(b->pins[i].id,
						       b->pins[i].value, "pin",
						       &err) == 0);
}

static void check_baseline(const struct hostset *h,
			   const struct profile *capture)
{
	const struct hostset *lab = fuzz_lab_hosts();
	struct hostset pair[2] = { *h, lab[2] };
	struct api_error err;
	struct profile *b;
	int ret;

	ret = baseline_compute("fuzz", pair, 2, &b, &err);
	if (ret) {
		fuzz_check_error(ret, &err);
	} else {
		check_compatible(b, &pair[0]);
		check_compatible(b, &pair[1]);
		check_pins_possible(b);
		profile_free(b);
	}

	ret = baseline_compute("fuzz", h, 1, &b, &err);
	if (ret) {
		fuzz_check_error(ret, &err);
		return;
	}
	check_compatible(b, h);
	check_pins_possible(b);
	/* Without an observation, one host's baseline is its capture. */
	if (capture && !h->observed.present) {
		FUZZ_CHECK(b->npins == capture->npins);
		for (size_t i = 0; i < b->npins; i++) {
			FUZZ_CHECK(b->pins[i].id == capture->pins[i].id);
			FUZZ_CHECK(b->pins[i].mode == capture->pins[i].mode);
			FUZZ_CHECK(b->pins[i].value == capture->pins[i].value);
		}
	}
	profile_free(b);
}

int fuzz_run(const uint8_t *data, size_t size)
{
	struct hostset h, again;
	struct api_error err;
	struct profile *capture;
	json_t *doc;
	int ret;

	doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return -1;
	ret = hostset_from_json(doc, &h, &err);
	json_decref(doc);
	if (ret) {
		fuzz_check_error(ret, &err);
		return 0;
	}
	FUZZ_CHECK(hostset_check(&h, NULL, &err) == 0);
	doc = hostset_to_json(&h);
	FUZZ_CHECK(doc);
	FUZZ_CHECK(hostset_from_json(doc, &again, &err) == 0);
	FUZZ_CHECK(hostset_equal(&h, &again));
	json_decref(doc);

	if (!check_capture(&h, &capture)) {
		profile_free(capture);
		capture = NULL;
	}
	check_baseline(&h, capture);
	profile_free(capture);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
