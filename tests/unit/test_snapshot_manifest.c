/*
 * Snapshot manifests and the firmware check of a restore, with the real
 * register sets of the lab kernels (tests/fixtures/lab-*.json): a guest
 * saw its source host's registers (an unpinned VM), and is judged against
 * each target host's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snapshot_manifest.h"
#include "accept_rule.h"
#include "fwreg.h"
#include "jsonutil.h"
#include "test_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define SUM "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct hostset fixture_host(const char *kernel)
{
	char path[512];
	struct api_error err;
	struct hostset h;
	json_t *f;

	snprintf(path, sizeof(path), "%s/lab-%s.json", PINVM_FIXTURE_DIR, kernel);
	f = json_load_file(path, 0, NULL);
	assert_non_null(f);
	if (hostset_from_json(json_object_get(f, "firmware_registers"), &h, &err))
		fail_msg("%s: %s %s", path, err.code, err.field);
	json_decref(f);
	return h;
}

/* vm.json of a 2-vCPU guest that saw host's registers, as pinvm-vmm writes
 * it (a core register first; firmware registers in id order). */
static json_t *vm_json_from(const struct hostset *h)
{
	json_t *regs = json_array();
	char id[24], v[24];

	json_array_append_new(regs, json_pack("{s:s, s:s}", "id", "0x6030000000100000",
					      "value", "0x1234"));
	for (size_t i = 0; i < h->nregs; i++) {
		snprintf(id, sizeof(id), "0x%016llx", (unsigned long long)h->regs[i].id);
		snprintf(v, sizeof(v), "0x%llx", (unsigned long long)h->regs[i].value);
		json_array_append_new(regs, json_pack("{s:s, s:s}", "id", id, "value", v));
	}
	json_array_append_new(regs, json_pack("{s:s, s:s}", "id", "0x6040000000100054",
					      "bytes", "00112233445566778899aabbccddeeff"));
	return json_pack("{s:i, s:s, s:i, s:i, s:[{s:i, s:o}, {s:i, s:[]}], s:[]}", "format", 1,
			 "kernel_release", h->kernel_release, "vcpus", 2, "memory_mib", 128,
			 "vcpu", "mp_state", 0, "regs", regs, "mp_state", 1, "regs", "pins");
}

static struct snapshot_guest guest_of(const char *kernel)
{
	struct hostset h = fixture_host(kernel);
	struct snapshot_guest g;
	struct api_error err;
	json_t *vm = vm_json_from(&h);

	if (snapshot_guest_from_vm_json(vm, &g, &err))
		fail_msg("vm.json: %s %s %s", err.code, err.field, err.detail);
	json_decref(vm);
	return g;
}

static const struct compat_entry *entry(const struct compat_report *r, uint64_t id)
{
	for (size_t i = 0; i < r->nentries; i++)
		if (r->entries[i].id == id)
			return &r->entries[i];
	return NULL;
}

/* g judged on the fixture of kernel `to`, accepting accept's rules. */
static struct compat_report *judge_guest(const struct snapshot_guest *g, const char *to,
					 unsigned accept)
{
	struct hostset target = fixture_host(to);
	struct compat_report *r = malloc(sizeof(*r));
	struct api_error err;

	assert_non_null(r);
	if (snapshot_check(g, NULL, &target, "snapshot-test", accept, r, &err))
		fail_msg("-> %s: %s %s", to, err.code, err.detail);
	return r;
}

static struct compat_report *judge(const char *from, const char *to)
{
	struct snapshot_guest g = guest_of(from);

	return judge_guest(&g, to, 0);
}

static void guest_reads_firmware_of_vcpu0(void **state)
{
	struct snapshot_guest g = guest_of("6.12");

	(void)state;
	assert_int_equal(g.vcpus, 2);
	assert_int_equal(g.memory_mib, 128);
	assert_int_equal(g.nfw, 7); /* the core and the SIMD register are not firmware */
	assert_true(g.fw[0].id == FWREG_ID_PSCI_VERSION && g.fw[0].value == 0x10001);
}

/* A 6.12 guest saw PSCI 1.1; 5.10 offers 1.0: refused by the profiles' rule. */
static void rollback_to_5_10_refused_by_psci(void **state)
{
	struct compat_report *r = judge("6.12", "5.10");
	const struct compat_entry *e = entry(r, FWREG_ID_PSCI_VERSION);
	struct api_error err;

	(void)state;
	assert_false(r->compatible);
	assert_non_null(e);
	assert_int_equal(e->verdict, COMPAT_REFUSED);
	assert_string_equal(e->rule, "psci_version_unsupported");
	assert_int_equal(compat_refusal(r, "snapshot-test", &err), -EPERM);
	assert_int_equal(err.status, 409);
	free(r);
}

/* latest lists VENDOR_HYP_BMAP_2, which 6.12 did not: written 0. */
static void upgrade_to_latest_writes_bmap2_zero(void **state)
{
	struct snapshot_guest g = guest_of("6.12");
	struct compat_report *r = judge("6.12", "latest");
	const struct compat_entry *e = entry(r, FWREG_ID_VENDOR_HYP_BMAP_2);
	struct fw_pin extra[8];
	size_t n;

	(void)state;
	assert_non_null(e);
	assert_true(e->pinned && e->pin == 0);
	assert_true(e->verdict == COMPAT_PINNED);
	n = snapshot_extra_pins(&g, r, extra, 8);
	assert_int_equal(n, 1);
	assert_true(extra[0].id == FWREG_ID_VENDOR_HYP_BMAP_2 && extra[0].value == 0);
	/* PSCI: the guest saw 1.1 and latest (1.3) can be told 1.1. */
	e = entry(r, FWREG_ID_PSCI_VERSION);
	assert_non_null(e);
	assert_true(e->verdict == COMPAT_PINNED);
	assert_true(e->write == 0x10001);
	free(r);
}

/* Every lab kernel restores its own snapshots with nothing extra. */
static void same_kernel_compatible(void **state)
{
	static const char *const k[] = { "5.10", "6.1", "6.12", "latest" };
	struct fw_pin extra[8];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct snapshot_guest g = guest_of(k[i]);
		struct compat_report *r = judge(k[i], k[i]);

		if (!r->compatible)
			fail_msg("%s on itself refused", k[i]);
		assert_int_equal(snapshot_extra_pins(&g, r, extra, 8), 0);
		free(r);
	}
}

/* A 5.10 guest saw no bitmaps: on 6.1 they are pinned 0 (services off). */
static void upgrade_from_5_10_pins_bitmaps_zero(void **state)
{
	struct compat_report *r = judge("5.10", "6.1");
	static const uint64_t bm[] = { FWREG_ID_STD_BMAP, FWREG_ID_STD_HYP_BMAP,
				       FWREG_ID_VENDOR_HYP_BMAP };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const struct compat_entry *e = entry(r, bm[i]);

		assert_non_null(e);
		assert_true(e->pinned && e->pin == 0);
		assert_true(e->verdict == COMPAT_PINNED);
	}
	free(r);
}

static json_t *manifest(void)
{
	struct snapshot_manifest_in in = {
		.id = ID, .created = "2026-11-30T09:00:00Z", .vm_id = "vm-1", .vcpus = 2,
		.memory_mib = 128, .cmdline = "console=ttyS0", .kernel = "Image",
		.kernel_release = "6.12.117+deb13-cloud-arm64", .profile_name = NULL,
	};

	for (size_t i = 0; i < SNAPSHOT_NFILES; i++) {
		snprintf(in.files[i].sha256, sizeof(in.files[i].sha256), "%s", SUM);
		in.files[i].size = i * 4096;
	}
	return snapshot_manifest_build(&in);
}

static void manifest_round_trip(void **state)
{
	struct snapshot_manifest m;
	struct api_error err;
	json_t *doc = manifest(), *rec;

	(void)state;
	assert_non_null(doc);
	assert_int_equal(snapshot_manifest_parse(doc, &m, &err), 0);
	assert_string_equal(m.id, ID);
	assert_int_equal(m.vcpus, 2);
	assert_int_equal(m.memory_mib, 128);
	assert_null(m.profile_name);
	assert_int_equal(m.files[SNAPSHOT_FILE_MEM_RAW].size, 4096);
	rec = snapshot_record_json(&m, SUM, 12288, "ready");
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "source_kernel")),
			    "6.12.117+deb13-cloud-arm64");
	assert_true(json_is_null(json_object_get(rec, "profile")));
	json_decref(rec);
	snapshot_manifest_clear(&m);
	json_decref(doc);
}

/* Each bad manifest is refused naming its field. */
static void manifest_refusals(void **state)
{
	static const struct {
		const char *path, *value; /* JSON */
		unsigned status;
		const char *code, *field;
	} cases[] = {
		{ "format", "2", 422, "unsupported_format", "manifest.format" },
		{ "format", "\"1\"", 400, "wrong_type", "manifest.format" },
		{ "id", "\"../../etc\"", 422, "bad_snapshot_id", "manifest.id" },
		{ "id", "\"0F8FAD5B-D9CB-469F-A165-70867728950E\"", 422, "bad_snapshot_id",
		  "manifest.id" },
		{ "vm", "{\"vcpus\": 0, \"memory_mib\": 128}", 422, "out_of_range",
		  "manifest.vm.vcpus" },
		{ "files", "{}", 422, "missing_field", "manifest.files.vm.json" },
		{ "files", "{\"vm.json\": {\"sha256\": \"xyz\", \"size\": 1}}", 422, "bad_sha256",
		  "manifest.files.vm.json.sha256" },
		{ "source", "{\"kernel_release\": \"x\", \"firmware_registers\": {\"registers\": []}}",
		  422, "missing_field", "manifest.source.firmware_registers.kernel_release" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot_manifest m;
		struct api_error err = { 0 };
		json_t *doc = manifest();

		json_object_set_new(doc, cases[i].path, load_json(cases[i].value));
		if (snapshot_manifest_parse(doc, &m, &err) != -EINVAL || err.status != cases[i].status ||
		    strcmp(err.code, cases[i].code) || strcmp(err.field, cases[i].field))
			fail_msg("case %zu: %u %s %s", i, err.status, err.code, err.field);
		json_decref(doc);
	}
}

static void vm_json_refusals(void **state)
{
	static const struct {
		const char *doc, *code, *field;
	} cases[] = {
		{ "[]", "wrong_type", "vm.json" },
		{ "{\"format\": 9, \"vcpus\": 1, \"memory_mib\": 64, \"vcpu\": []}",
		  "unsupported_format", "vm.json.format" },
		{ "{\"format\": 1, \"vcpus\": 2, \"memory_mib\": 64, \"vcpu\": [{\"regs\": []}]}",
		  "out_of_range", "vm.json.vcpu" },
		{ "{\"format\": 1, \"vcpus\": 1, \"memory_mib\": 64, \"vcpu\": [{}]}",
		  "missing_field", "vm.json.vcpu[0].regs" },
		{ "{\"format\": 1, \"vcpus\": 1, \"memory_mib\": 64, \"vcpu\": [{\"regs\": "
		  "[{\"id\": \"0x6030000000140000\"}]}]}",
		  "missing_field", "vm.json.vcpu[0].regs[0].value" },
		{ "{\"format\": 1, \"vcpus\": 1, \"memory_mib\": 64, \"vcpu\": [{\"regs\": "
		  "[{\"id\": \"0x6030000000140000\", \"value\": \"0x1\"},"
		  " {\"id\": \"0x6030000000140000\", \"value\": \"0x1\"}]}]}",
		  "duplicate_register", "vm.json.vcpu[0].regs[1].value" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot_guest g;
		struct api_error err = { 0 };
		json_t *doc = load_json(cases[i].doc);

		if (snapshot_guest_from_vm_json(doc, &g, &err) != -EINVAL ||
		    strcmp(err.code, cases[i].code) || strcmp(err.field, cases[i].field))
			fail_msg("case %zu: %s %s", i, err.code, err.field);
		json_decref(doc);
	}
}

/* Without firmware registers in the list, the pins' readbacks count. */
static void vm_json_readbacks_fallback(void **state)
{
	struct snapshot_guest g;
	struct api_error err;
	json_t *doc = load_json("{\"format\": 1, \"vcpus\": 1, \"memory_mib\": 64, \"vcpu\": "
				"[{\"regs\": []}], \"pins\": [{\"id\": \"0x6030000000140000\", "
				"\"value\": \"0x10000\", \"readback\": \"0x10000\"}]}");

	(void)state;
	assert_int_equal(snapshot_guest_from_vm_json(doc, &g, &err), 0);
	assert_int_equal(g.nfw, 1);
	assert_true(g.fw[0].value == 0x10000);
	json_decref(doc);
}

static void set_fw(struct snapshot_guest *g, uint64_t id, uint64_t value)
{
	struct fw_pin p = { .id = id, .value = value };

	snapshot_guest_set(g, &p, 1);
}

/*
 * A 6.12 guest as a baseline of 6.12 and 5.10 leaves it (PSCI 1.0, no
 * services): what 5.10 can honour but for WORKAROUND_3, which the guest
 * was told at 6.12's level 0 (NOT_AVAIL) and 5.10 answers 2 (NOT_REQUIRED).
 */
static struct snapshot_guest baseline_guest_6_12(void)
{
	struct snapshot_guest g = guest_of("6.12");

	set_fw(&g, FWREG_ID_PSCI_VERSION, 0x10000);
	set_fw(&g, FWREG_ID_STD_BMAP, 0);
	set_fw(&g, FWREG_ID_STD_HYP_BMAP, 0);
	set_fw(&g, FWREG_ID_VENDOR_HYP_BMAP, 0);
	return g;
}

/* Moving it to 5.10 changes the answer to ARCH_FEATURES(WORKAROUND_3):
 * refused by default under the move's own rule, naming the register. */
static void rollback_level_differs_refused(void **state)
{
	struct snapshot_guest g = baseline_guest_6_12();
	struct compat_report *r = judge_guest(&g, "5.10", 0);
	const struct compat_entry *e = entry(r, FWREG_ID_WORKAROUND_3);
	struct api_error err;

	(void)state;
	assert_false(r->compatible);
	assert_non_null(e);
	assert_int_equal(e->verdict, COMPAT_REFUSED);
	assert_string_equal(e->rule, "workaround_level_differs");
	assert_true(e->pin == 0 && e->guest_sees == 2);
	/* The only refusal: everything else 5.10 honours. */
	for (size_t i = 0; i < r->nentries; i++)
		if (r->entries[i].verdict == COMPAT_REFUSED && r->entries[i].id != e->id)
			fail_msg("also refused: 0x%llx %s", (unsigned long long)r->entries[i].id,
				 r->entries[i].rule);
	assert_int_equal(compat_refusal(r, "snapshot-test", &err), -EPERM);
	assert_string_equal(err.field, "registers.SMCCC_ARCH_WORKAROUND_3");
	free(r);
}

/* Accepted by name: compatible, the entry says so, and the 201's
 * "accepted" list names register, rule, wanted and kept. */
static void rollback_level_differs_accepted(void **state)
{
	struct snapshot_guest g = baseline_guest_6_12();
	struct compat_report *r = judge_guest(&g, "5.10", ACCEPT_WA_LEVEL);
	const struct compat_entry *e = entry(r, FWREG_ID_WORKAROUND_3);
	json_t *acc, *a, *doc;

	(void)state;
	assert_true(r->compatible);
	assert_int_equal(e->verdict, COMPAT_ACCEPTED);
	acc = wa_levels_accepted(NULL, r);
	assert_non_null(acc);
	assert_int_equal(json_array_size(acc), 1);
	a = json_array_get(acc, 0);
	assert_string_equal(json_string_value(json_object_get(a, "register")),
			    "0x6030000000140003");
	assert_string_equal(json_string_value(json_object_get(a, "rule")),
			    "workaround_level_differs");
	assert_string_equal(json_string_value(json_object_get(a, "wanted")), "0x0");
	assert_string_equal(json_string_value(json_object_get(a, "kept")), "0x2");
	/* The restored VM's ABI says what the guest was told: the next move
	 * judges it by the pin (wa_levels_told()), so it comes home to 0. */
	doc = compat_report_to_json(r);
	{
		struct fw_pin told[WA_LEVELS_MAX];
		size_t n = wa_levels_told(json_object_get(doc, "registers"), told,
					  WA_LEVELS_MAX);
		size_t k;

		for (k = 0; k < n && told[k].id != FWREG_ID_WORKAROUND_3; k++)
			;
		assert_true(k < n && told[k].value == 0);
	}
	json_decref(doc);
	json_decref(acc);
	free(r);
}

/* A level below what the guest was told is never acceptable: a 5.10
 * guest told "not required" is refused on 6.12 even accepting all. */
static void level_above_target_never_accepted(void **state)
{
	struct snapshot_guest g = guest_of("5.10");
	struct compat_report *r = judge_guest(&g, "6.12", ACCEPT_RULES_ALL);
	const struct compat_entry *e = entry(r, FWREG_ID_WORKAROUND_3);

	(void)state;
	assert_false(r->compatible);
	assert_int_equal(e->verdict, COMPAT_REFUSED);
	assert_string_equal(e->rule, "workaround_level_above_host");
	free(r);
}

/* What the guest was told (the manifest's levels) stands in for the
 * source host's: a guest told 0 on its way back from 5.10 goes home. */
static void told_level_stands_in(void **state)
{
	struct snapshot_guest g = guest_of("5.10");
	struct fw_pin told = { .id = FWREG_ID_WORKAROUND_3, .value = 0 };
	struct compat_report *r;

	(void)state;
	set_fw(&g, FWREG_ID_PSCI_VERSION, 0x10000);
	snapshot_guest_set(&g, &told, 1);
	r = judge_guest(&g, "6.12", 0);
	assert_int_equal(entry(r, FWREG_ID_WORKAROUND_3)->verdict, COMPAT_PINNED);
	assert_true(r->compatible);
	free(r);
}

/* What a VM's ABI says its guest was told: guest_sees, but the pin of an
 * entry a move accepted; other registers and entries without a value are
 * not levels. */
static void told_levels_from_abi(void **state)
{
	json_t *abi = load_json(
		"[{\"id\": \"0x6030000000140000\", \"verdict\": \"pinned\", \"pinned\": \"0x10000\","
		"  \"guest_sees\": \"0x10000\"},"
		" {\"id\": \"0x6030000000140003\", \"verdict\": \"guest_sees_host\","
		"  \"pinned\": \"0x0\", \"guest_sees\": \"0x2\"},"
		" {\"id\": \"0x6030000000140002\", \"verdict\": \"accepted\", \"pinned\": \"0x0\","
		"  \"guest_sees\": \"0x3\"},"
		" {\"id\": \"0x6030000000140001\", \"verdict\": \"host_value\", \"pinned\": \"host\"}]");
	struct fw_pin told[WA_LEVELS_MAX];
	size_t n;

	(void)state;
	n = wa_levels_told(abi, told, WA_LEVELS_MAX);
	assert_int_equal(n, 2);
	assert_true(told[0].id == FWREG_ID_WORKAROUND_2 && told[0].value == 0);
	assert_true(told[1].id == FWREG_ID_WORKAROUND_3 && told[1].value == 2);
	assert_int_equal(wa_levels_told(NULL, told, WA_LEVELS_MAX), 0);
	json_decref(abi);
}

static void manifest_levels_round_trip(void **state)
{
	static const struct fw_pin lv[] = { { FWREG_ID_WORKAROUND_1, 2 },
					    { FWREG_ID_WORKAROUND_3, 0 } };
	struct snapshot_manifest_in in = {
		.id = ID, .created = "2026-11-30T09:00:00Z", .vm_id = "vm-1", .vcpus = 1,
		.memory_mib = 128, .kernel_release = "6.12", .levels = lv, .nlevels = 2,
	};
	struct snapshot_manifest m;
	struct api_error err;
	json_t *doc;

	(void)state;
	for (size_t i = 0; i < SNAPSHOT_NFILES; i++)
		snprintf(in.files[i].sha256, sizeof(in.files[i].sha256), "%s", SUM);
	doc = snapshot_manifest_build(&in);
	assert_non_null(doc);
	assert_int_equal(snapshot_manifest_parse(doc, &m, &err), 0);
	assert_int_equal(m.nlevels, 2);
	assert_true(m.levels[1].id == FWREG_ID_WORKAROUND_3 && m.levels[1].value == 0);
	snapshot_manifest_clear(&m);
	json_decref(doc);
}

static void manifest_levels_refusals(void **state)
{
	static const struct {
		const char *levels, *code, *field;
	} cases[] = {
		{ "{}", "wrong_type", "manifest.profile.workaround_levels" },
		{ "[{\"id\": \"0x6030000000140000\", \"value\": \"0x10000\"}]",
		  "not_a_workaround_register", "manifest.profile.workaround_levels[0].id" },
		{ "[{\"id\": \"0x6030000000140003\", \"value\": \"0x0\"},"
		  " {\"id\": \"0x6030000000140003\", \"value\": \"0x2\"}]",
		  "duplicate_register", "manifest.profile.workaround_levels[1].id" },
		{ "[{\"id\": \"0x6030000000140003\"}]", "missing_field",
		  "manifest.profile.workaround_levels[0].value" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot_manifest m;
		struct api_error err = { 0 };
		json_t *doc = manifest();

		json_object_set_new(json_object_get(doc, "profile"), "workaround_levels",
				    load_json(cases[i].levels));
		if (snapshot_manifest_parse(doc, &m, &err) != -EINVAL ||
		    strcmp(err.code, cases[i].code) || strcmp(err.field, cases[i].field))
			fail_msg("case %zu: %u %s %s", i, err.status, err.code, err.field);
		json_decref(doc);
	}
}

static void ids(void **state)
{
	(void)state;
	assert_true(snapshot_id_valid(ID));
	assert_false(snapshot_id_valid(".tmp-" ID));
	assert_false(snapshot_id_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
	assert_false(snapshot_id_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_reads_firmware_of_vcpu0),
		cmocka_unit_test(rollback_to_5_10_refused_by_psci),
		cmocka_unit_test(upgrade_to_latest_writes_bmap2_zero),
		cmocka_unit_test(same_kernel_compatible),
		cmocka_unit_test(upgrade_from_5_10_pins_bitmaps_zero),
		cmocka_unit_test(manifest_round_trip),
		cmocka_unit_test(manifest_refusals),
		cmocka_unit_test(vm_json_refusals),
		cmocka_unit_test(vm_json_readbacks_fallback),
		cmocka_unit_test(rollback_level_differs_refused),
		cmocka_unit_test(rollback_level_differs_accepted),
		cmocka_unit_test(level_above_target_never_accepted),
		cmocka_unit_test(told_level_stands_in),
		cmocka_unit_test(told_levels_from_abi),
		cmocka_unit_test(manifest_levels_round_trip),
		cmocka_unit_test(manifest_levels_refusals),
		cmocka_unit_test(ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
