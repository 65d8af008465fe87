/*
 * What pinvmd reads from a snapshot archive that came from outside:
 * manifest.json (snapshot_manifest_parse) and vm.json
 * (snapshot_guest_from_vm_json), plus the two request bodies naming a
 * snapshot, on arbitrary JSON text. On success: the manifest gives a
 * record, and the guest's firmware registers are judged against every lab
 * kernel; a compatible verdict's extra pins are only zeroed bitmaps.
 */
#include "fuzz_common.h"

#include "compat.h"
#include "fwreg.h"
#include "accept_rule.h"
#include "snapshot_manifest.h"

static struct compat_report report;

static void judge(const struct snapshot_guest *g, const json_t *profile_doc)
{
	const struct hostset *lab = fuzz_lab_hosts();
	struct fw_pin extra[COMPAT_MAX_ENTRIES];
	struct api_error err;

	for (size_t i = 0; i < FUZZ_NLAB; i++) {
		int ret = snapshot_check(g, profile_doc, &lab[i], "fuzz", i % 2 ? ACCEPT_RULES_ALL : 0,
					 &report, &err);
		size_t n;

		if (ret) {
			fuzz_check_error(ret, &err);
			continue;
		}
		if (!report.compatible) {
			FUZZ_CHECK(compat_refusal(&report, "fuzz", &err) == -EPERM);
			continue;
		}
		n = snapshot_extra_pins(g, &report, extra, COMPAT_MAX_ENTRIES);
		for (size_t k = 0; k < n; k++) {
			FUZZ_CHECK(extra[k].value == 0);
			FUZZ_CHECK((extra[k].id & 0xffffffffffff0000ULL) ==
				   FWREG_ID(FWREG_COPROC_FEAT_BMAP, 0));
		}
	}
}

int fuzz_run(const uint8_t *data, size_t size)
{
	struct snapshot_manifest m;
	struct snapshot_guest g;
	struct hostset h;
	struct api_error err;
	const char *id;
	unsigned accept;
	json_t *doc;
	int ret;

	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return -1;
	ret = snapshot_manifest_parse(doc, &m, &err);
	if (ret) {
		fuzz_check_error(ret, &err);
	} else {
		json_t *rec = snapshot_record_json(&m, m.files[0].sha256, 1, "ready");

		FUZZ_CHECK(rec);
		FUZZ_CHECK(snapshot_id_valid(m.id));
		/* Levels: only the workaround registers, each once, in order. */
		FUZZ_CHECK(m.nlevels <= WA_LEVELS_MAX);
		for (size_t i = 0; i < m.nlevels; i++)
			FUZZ_CHECK(m.levels[i].id >= FWREG_ID_WORKAROUND_1 &&
				   m.levels[i].id <= FWREG_ID_WORKAROUND_3 &&
				   (!i || m.levels[i - 1].id < m.levels[i].id));
		json_decref(rec);
		snapshot_manifest_clear(&m);
	}
	ret = snapshot_guest_from_vm_json(doc, &g, &err);
	if (ret)
		fuzz_check_error(ret, &err);
	else
		judge(&g, json_object_get(doc, "profile_document"));
	ret = snapshot_restore_request_parse(doc, &id, &accept, &err);
	if (ret)
		fuzz_check_error(ret, &err);
	else
		FUZZ_CHECK(id && !(accept & ~ACCEPT_RULES_ALL));
	ret = snapshot_compat_request_parse(doc, &id, &h, &err);
	if (ret)
		fuzz_check_error(ret, &err);
	json_decref(doc);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
