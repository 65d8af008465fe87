/*
 * firecracker_to_hostset() (through hostset_from_any_json()) on arbitrary
 * JSON text. On success: only firmware registers, all of them values a
 * kernel reports, the counts add up, the set survives pinvm's own document
 * round trip, and a verdict against it can be made and answered.
 */
#include "fuzz_common.h"

#include "compat.h"
#include "firecracker.h"
#include "fwreg.h"
#include "profile.h"

static struct compat_report report;

int fuzz_run(const uint8_t *data, size_t size)
{
	struct hostset h, again;
	struct fc_import info;
	struct api_error err;
	struct profile *p;
	json_t *doc;
	int ret;

	doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return -1;
	ret = hostset_from_any_json(doc, &h, &info, &err);
	FUZZ_CHECK((info.format != FC_FORMAT_NONE) ==
		   firecracker_is_document(doc));
	json_decref(doc);
	if (ret) {
		fuzz_check_error(ret, &err);
		return 0;
	}
	FUZZ_CHECK(hostset_check(&h, NULL, &err) == 0);
	for (size_t i = 0; i < h.nregs; i++)
		FUZZ_CHECK(fwreg_id_is_firmware(h.regs[i].id));
	if (info.format != FC_FORMAT_NONE) {
		FUZZ_CHECK(info.firmware == h.nregs);
		doc = firecracker_import_json(&info);
		FUZZ_CHECK(doc);
		json_decref(doc);
	}
	doc = hostset_to_json(&h);
	FUZZ_CHECK(doc);
	FUZZ_CHECK(hostset_from_json(doc, &again, &err) == 0);
	FUZZ_CHECK(hostset_equal(&h, &again));
	json_decref(doc);

	/* The lab 6.12 capture judged against the imported host. */
	ret = profile_capture("fuzz", &fuzz_lab_hosts()[2], NULL,
			      PROFILE_UNKNOWN_REFUSE, &p, &err);
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(compat_check(p, &h, &report) == 0);
	doc = compat_report_to_json(&report);
	FUZZ_CHECK(doc);
	json_decref(doc);
	profile_free(p);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
