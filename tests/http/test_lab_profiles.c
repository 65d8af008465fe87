/*
 * ABI profiles against real KVM in the lab. Two passes over the kernels:
 *
 *   test_lab_profiles capture URL KERNEL FIXTURE OUTDIR
 *     captures this host as profile lab-KERNEL (the default policy,
 *     unknown_registers "refuse", as the README's example does), checks
 *     it against the fixture captured from the same
 *     kernel, checks a hand-written "5.10 services" profile from inside the
 *     probe guest, and saves the capture to OUTDIR/profile-KERNEL.json.
 *
 *   test_lab_profiles matrix URL KERNEL OUTDIR
 *     imports every saved capture and, for each, either runs the probe
 *     guest under it and demands exactly the capturing kernel's native ABI,
 *     or demands a refusal naming the register and rule. Expected cells are
 *     written out below; a cell that differs fails. Prints "MATRIX" lines.
 */
#include "check.h"
#include "client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kernels[] = { "5.10", "6.1", "6.12", "latest" };
#define NKERNELS (sizeof(kernels) / sizeof(kernels[0]))

/*
 * What must happen when the capture of kernels[c] is applied on kernels[h]:
 * NULL = runs with the capture's native ABI; else "REGISTER rule".
 * 5.10 reports WORKAROUND_3 = 2 on the lab's CPU where later kernels
 * report 0, and KVM never raises a workaround level; PSCI 1.1 is unknown to
 * 5.10 and 1.3 to everything before 6.13.
 */
static const char *const expected[NKERNELS][NKERNELS] = {
	/* capture 5.10 on */ { NULL,
				"SMCCC_ARCH_WORKAROUND_3 workaround_level_above_host",
				"SMCCC_ARCH_WORKAROUND_3 workaround_level_above_host",
				"SMCCC_ARCH_WORKAROUND_3 workaround_level_above_host" },
	/* capture 6.1 on */ { "PSCI_VERSION psci_version_unsupported", NULL, NULL, NULL },
	/* capture 6.12 on */ { "PSCI_VERSION psci_version_unsupported", NULL, NULL, NULL },
	/* capture latest on */ { "PSCI_VERSION psci_version_unsupported",
				  "PSCI_VERSION psci_version_unsupported",
				  "PSCI_VERSION psci_version_unsupported", NULL },
};

static struct client c;

static long post_json(const char *path, json_t *doc, struct response *r)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	client_call(&c, "POST", path, NULL, text, strlen(text), NULL, r);
	free(text);
	return r->status;
}

static int kernel_index(const char *k)
{
	for (size_t i = 0; i < NKERNELS; i++)
		if (!strcmp(kernels[i], k))
			return (int)i;
	return -1;
}

/* x0 of call `name` in a calls array, or NULL. */
static const char *call_x0(json_t *calls, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(calls, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return json_string_value(json_object_get(e, "x0"));
	return NULL;
}

static bool x0_is(json_t *calls, const char *name, const char *want)
{
	const char *got = call_x0(calls, name);

	return got && !strcmp(got, want);
}

/* The hand-written rollback profile: 5.10's services on any host. */
static void five_ten_services(const char *kernel)
{
	struct response r;
	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:b}, s:s, s:s}}",
		"name", "services-5.10", "unknown_registers", "disable", "description",
		"the services Linux 5.10 offered: PSCI 1.0, no TRNG, PV time or KVM vendor calls",
		"registers", "PSCI_VERSION", "1.0", "SMCCC_ARCH_WORKAROUND_1", "host",
		"SMCCC_ARCH_WORKAROUND_2", "host", "SMCCC_ARCH_WORKAROUND_3", "host",
		"STD_BMAP", "TRNG", 0, "STD_HYP_BMAP", "0x0", "VENDOR_HYP_BMAP", "0x0");
	json_t *calls;
	char name[160];

	/* Posted first: the arguments of check() are evaluated in no set
	 * order, and r.status is one of them. */
	post_json("/v1/profiles", doc, &r);
	check(r.status == 201, "a hand-written profile is stored", "status %ld %s", r.status,
	      r.body);
	json_decref(doc);
	response_free(&r);

	client_call(&c, "GET", "/v1/profiles/services-5.10/observed-abi", NULL, NULL, 0, NULL, &r);
	snprintf(name, sizeof(name), "%s: the probe runs under 5.10's services", kernel);
	check(r.status == 200, name, "status %ld %s", r.status, r.body);
	calls = json_object_get(r.json, "calls");
	snprintf(name, sizeof(name), "%s: under it the guest sees PSCI 1.0, no TRNG, no KVM vendor calls", kernel);
	check(x0_is(calls, "PSCI_VERSION", "0x0000000000010000") &&
		      x0_is(calls, "TRNG_VERSION", "0xffffffffffffffff") &&
		      x0_is(calls, "KVM_VENDOR_UID", "0xffffffffffffffff") &&
		      x0_is(calls, "KVM_FEATURES", "0xffffffffffffffff") &&
		      x0_is(calls, "PV_TIME_FEATURES(PV_TIME_ST)", "0xffffffffffffffff") &&
		      x0_is(calls, "SMCCC_VERSION", "0x0000000000010001"),
	      name, "calls %s", r.body);
	response_free(&r);
}

static bool allows(json_t *profile, const char *service)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(json_object_get(profile, "smccc"), "allow"), i, e)
		if (json_is_string(e) && !strcmp(json_string_value(e), service))
			return true;
	return false;
}

/*
 * A default-deny capture allows PSCI, the arch calls and exactly the named
 * services this kernel answered (the fixture says which); saved as
 * OUTDIR/profile-KERNEL-deny.json for the matrix.
 */
static void capture_deny(const char *kernel, json_t *fix, const char *outdir)
{
	json_t *calls = json_object_get(json_object_get(fix, "observed_abi"), "calls");
	bool trng = !x0_is(calls, "TRNG_VERSION", "0xffffffffffffffff");
	bool vendor = !x0_is(calls, "KVM_VENDOR_UID", "0xffffffffffffffff");
	bool pvtime = !x0_is(calls, "PV_TIME_FEATURES(PV_TIME_ST)", "0xffffffffffffffff");
	char name[64], path[512], what[256];
	struct response r;
	json_t *doc;

	snprintf(name, sizeof(name), "lab-%s-deny", kernel);
	doc = json_pack("{s:s, s:s, s:s}", "capture", "host", "name", name, "smccc",
			"deny_unlisted");
	post_json("/v1/profiles", doc, &r);
	json_decref(doc);
	snprintf(what, sizeof(what),
		 "%s: a deny_unlisted capture allows PSCI, the arch calls%s%s%s and nothing else",
		 kernel, trng ? ", TRNG" : "", pvtime ? ", PV_TIME" : "",
		 vendor ? ", KVM_VENDOR_HYP" : "");
	check(r.status == 201 && allows(r.json, "PSCI") && allows(r.json, "SMCCC_ARCH") &&
		      allows(r.json, "TRNG") == trng && allows(r.json, "KVM_VENDOR_HYP") == vendor &&
		      allows(r.json, "PV_TIME") == pvtime &&
		      json_array_size(json_object_get(json_object_get(r.json, "smccc"), "allow")) ==
			      2u + trng + vendor + pvtime,
	      what, "status %ld %s", r.status, r.body);
	snprintf(path, sizeof(path), "%s/profile-%s-deny.json", outdir, kernel);
	if (r.json && json_dump_file(r.json, path, JSON_INDENT(1)))
		check(false, "save the deny capture", "cannot write %s", path);
	response_free(&r);
}

static int capture(const char *kernel, const char *fixture_path, const char *outdir)
{
	struct response r, g;
	json_error_t jerr;
	json_t *fix = json_load_file(fixture_path, 0, &jerr), *doc, *regs, *want;
	char path[512], name[160], profile[64];
	size_t i;
	json_t *e;

	if (!fix) {
		fprintf(stderr, "%s: %s\n", fixture_path, jerr.text);
		return 2;
	}
	snprintf(profile, sizeof(profile), "lab-%s", kernel);
	doc = json_pack("{s:s, s:s, s:s}", "capture", "host", "name", profile,
			"description", "captured by the lab tests");
	post_json("/v1/profiles", doc, &r);
	json_decref(doc);
	check(r.status == 201, "capture this host as a profile", "status %ld %s",
	      r.status, r.body);

	/* Every register the kernel listed, pinned at the captured value. */
	regs = json_object_get(r.json, "registers");
	want = json_object_get(json_object_get(fix, "firmware_registers"), "registers");
	check(json_array_size(regs) == json_array_size(want),
	      "the capture pins every register the host lists", "%zu pins, host lists %zu",
	      json_array_size(regs), json_array_size(want));
	json_array_foreach(want, i, e) {
		json_t *pin = json_array_get(regs, i);
		const char *mode = json_string_value(json_object_get(pin, "pin"));

		snprintf(name, sizeof(name), "%s capture pins %s at %s", kernel,
			 json_string_value(json_object_get(e, "name")),
			 json_string_value(json_object_get(e, "value")));
		check(pin && json_equal(json_object_get(pin, "id"), json_object_get(e, "id")) &&
			      json_equal(json_object_get(pin, "value"), json_object_get(e, "value")) &&
			      mode && !strcmp(mode, "value"),
		      name, "pin %s = %s", json_string_value(json_object_get(pin, "id")),
		      json_string_value(json_object_get(pin, "value")));
	}
	check(json_equal(json_object_get(json_object_get(r.json, "observed_abi"), "calls"),
			 json_object_get(json_object_get(fix, "observed_abi"), "calls")),
	      "the capture holds the ABI the probe guest observed", "body %s", r.body);
	check(!strcmp(json_string_value(json_object_get(json_object_get(r.json, "source"), "kind")) ?: "", "capture"),
	      "its source says capture", "body %s", r.body);

	snprintf(path, sizeof(path), "/v1/profiles/lab-%s", kernel);
	client_call(&c, "GET", path, NULL, NULL, 0, NULL, &g);
	check(g.status == 200 && json_equal(g.json, r.json),
	      "GET returns the stored capture unchanged", "status %ld", g.status);
	snprintf(path, sizeof(path), "%s/profile-%s.json", outdir, kernel);
	if (json_dump_file(g.json, path, JSON_INDENT(1)))
		check(false, "save the capture", "cannot write %s", path);
	response_free(&g);

	doc = json_pack("{s:s, s:s}", "capture", "host", "name", profile);
	post_json("/v1/profiles", doc, &g);
	json_decref(doc);
	check(g.status == 409 && !strcmp(response_str(&g, "code") ?: "", "profile_exists"),
	      "profiles are immutable: the same name again is 409", "status %ld", g.status);
	response_free(&g);
	response_free(&r);

	five_ten_services(kernel);
	capture_deny(kernel, fix, outdir);
	json_decref(fix);
	return 0;
}

static void cell(int ci, int hi)
{
	char path[512], name[256];
	struct response comp, obs;
	const char *want = expected[ci][hi];

	snprintf(path, sizeof(path), "/v1/profiles/lab-%s/compatibility", kernels[ci]);
	client_call(&c, "GET", path, NULL, NULL, 0, NULL, &comp);
	snprintf(path, sizeof(path), "/v1/profiles/lab-%s/observed-abi", kernels[ci]);
	client_call(&c, "GET", path, NULL, NULL, 0, NULL, &obs);

	snprintf(name, sizeof(name), "capture %s on %s: %s", kernels[ci], kernels[hi],
		 want ? want : "runs with the native ABI");
	if (!want) {
		json_t *got = json_object_get(obs.json, "calls");
		json_t *native = NULL;

		snprintf(path, sizeof(path), "/v1/profiles/lab-%s", kernels[ci]);
		{
			struct response p;

			client_call(&c, "GET", path, NULL, NULL, 0, NULL, &p);
			native = json_incref(json_object_get(json_object_get(p.json, "observed_abi"), "calls"));
			response_free(&p);
		}
		check(comp.status == 200 && json_is_true(json_object_get(comp.json, "compatible")) &&
			      obs.status == 200 && native && json_equal(got, native),
		      name, "compatibility %ld %s; observed %ld %s", comp.status,
		      comp.body ? comp.body : "", obs.status, obs.body ? obs.body : "");
		printf("MATRIX capture %-6s on %-6s : runs, guest ABI identical to %s's (%zu calls)\n",
		       kernels[ci], kernels[hi], kernels[ci], json_array_size(got));
		json_decref(native);
	} else {
		char reg[64], rule[64];
		const char *field = response_str(&obs, "field");
		const char *detail = response_str(&obs, "detail");
		json_t *entries = json_object_get(json_object_get(obs.json, "compatibility"), "registers");
		const char *got_rule = NULL;
		size_t i;
		json_t *e;

		sscanf(want, "%63s %63s", reg, rule);
		json_array_foreach(entries, i, e)
			if (!strcmp(json_string_value(json_object_get(e, "name")) ?: "", reg))
				got_rule = json_string_value(json_object_get(e, "rule"));
		check(comp.status == 200 && json_is_false(json_object_get(comp.json, "compatible")) &&
			      obs.status == 409 &&
			      !strcmp(response_str(&obs, "code") ?: "", "profile_refused") &&
			      field && strstr(field, reg) && detail && strstr(detail, reg) &&
			      got_rule && !strcmp(got_rule, rule),
		      name, "compatibility %ld; observed-abi %ld %s", comp.status,
		      obs.status, obs.body ? obs.body : "");
		printf("MATRIX capture %-6s on %-6s : refused: %s\n", kernels[ci],
		       kernels[hi], detail ? detail : "(no detail)");
	}
	response_free(&comp);
	response_free(&obs);
}

/* Every call of a probe answer, NOT_SUPPORTED or not. */
static bool all_not_supported(json_t *calls, const char *prefix, size_t *n)
{
	size_t i;
	json_t *e;

	*n = 0;
	json_array_foreach(calls, i, e) {
		const char *name = json_string_value(json_object_get(e, "name")) ?: "";

		if (strncmp(name, prefix, strlen(prefix)))
			continue;
		(*n)++;
		if (strcmp(json_string_value(json_object_get(e, "x0")) ?: "",
			   "0xffffffffffffffff"))
			return false;
	}
	return *n > 0;
}

/*
 * Default-deny with the SMCCC filter: a profile allowing only PSCI and the
 * arch calls. Where KVM has the filter (6.4+) the probe guest must see every
 * other service and every unallocated id as NOT_SUPPORTED; elsewhere the
 * verdict must say it cannot be enforced, and "degrade" runs unfiltered.
 */
static void deny_unlisted(const char *kernel, bool has_filter)
{
	static const char *const denied[] = {
		"TRNG_VERSION", "TRNG_FEATURES(TRNG_RND64)", "TRNG_GET_UUID",
		"PV_TIME_FEATURES(PV_TIME_ST)", "KVM_VENDOR_UID", "KVM_FEATURES",
		"KVM_PTP", "KVM_DISCOVER_IMPL_VER", NULL,
	};
	const char *modes[] = { "refuse", "degrade" };
	char name[192], path[256];

	for (size_t m = 0; m < 2; m++) {
		struct response r;
		json_t *doc = json_pack(
			"{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s},"
			" s:{s:s, s:[s, s], s:s}}",
			"name", m ? "psci-only-degrade" : "psci-only", "registers",
			"PSCI_VERSION", "host", "SMCCC_ARCH_WORKAROUND_1", "host",
			"SMCCC_ARCH_WORKAROUND_2", "host", "SMCCC_ARCH_WORKAROUND_3",
			"host", "STD_BMAP", "host", "STD_HYP_BMAP", "host",
			"VENDOR_HYP_BMAP", "host", "smccc", "policy", "deny_unlisted",
			"allow", "PSCI", "SMCCC_ARCH", "unenforceable", modes[m]);
		json_t *calls, *smccc;
		const char *verdict;
		size_t n = 0;

		post_json("/v1/profiles", doc, &r);
		check(r.status == 201, "a deny_unlisted profile is stored", "status %ld %s",
		      r.status, r.body);
		json_decref(doc);
		response_free(&r);
		snprintf(path, sizeof(path), "/v1/profiles/%s/observed-abi",
			 m ? "psci-only-degrade" : "psci-only");
		client_call(&c, "GET", path, NULL, NULL, 0, NULL, &r);
		calls = json_object_get(r.json, "calls");
		smccc = json_object_get(r.json, "smccc");
		verdict = json_string_value(json_object_get(smccc, "verdict")) ?: "";
		if (has_filter) {
			bool ok = r.status == 200 && !strcmp(verdict, "enforced");

			for (size_t i = 0; ok && denied[i]; i++)
				ok = x0_is(calls, denied[i], "0xffffffffffffffff");
			ok = ok && all_not_supported(calls, "UNALLOCATED", &n);
			snprintf(name, sizeof(name),
				 "%s, unenforceable %s: the filter is installed; TRNG, PV time, "
				 "the KVM vendor calls and %zu unallocated ids answer NOT_SUPPORTED",
				 kernel, modes[m], n);
			check(ok && x0_is(calls, "SMCCC_VERSION", "0x0000000000010001") &&
				      x0_is(calls, "PSCI_FEATURES(SMCCC_VERSION)",
					    "0x0000000000000000") &&
				      !x0_is(calls, "PSCI_VERSION", "0xffffffffffffffff"),
			      name, "status %ld %s", r.status, r.body);
			if (m == 0)
				printf("DENY %s: %s\n", kernel, r.body);
		} else if (m == 0) {
			snprintf(name, sizeof(name),
				 "%s (no SMCCC filter): refused, naming smccc and why", kernel);
			check(r.status == 409 && !strcmp(response_str(&r, "field") ?: "", "smccc") &&
				      strstr(r.body, "smccc_filter_unavailable"),
			      name, "status %ld %s", r.status, r.body);
			printf("DENY %s: %s\n", kernel, response_str(&r, "detail") ?: r.body);
		} else {
			snprintf(name, sizeof(name),
				 "%s (no SMCCC filter), unenforceable degrade: runs unfiltered and "
				 "says so", kernel);
			check(r.status == 200 && !strcmp(verdict, "degraded") &&
				      json_is_false(json_object_get(smccc, "host_filter")),
			      name, "status %ld %s", r.status, r.body);
			printf("DENY %s degrade: %s\n", kernel,
			       json_string_value(json_object_get(smccc, "reason")) ?: "");
		}
		response_free(&r);
	}

	/* A Linux VM from the profile: refused where the filter cannot be
	 * installed; elsewhere pinvm-vmm installs it before the first KVM_RUN,
	 * and the guest's dmesg shows no hypervisor services and no TRNG. */
	{
		struct response r;
		json_t *doc = json_pack("{s:i, s:i, s:s, s:s, s:s, s:s}", "vcpus", 1,
					"memory_mib", 128, "kernel", "debian-6.1-arm64.Image",
					"initrd", "busybox-initramfs.cpio.gz", "cmdline",
					"console=ttyS0 pinvm.poweroff=1", "profile", "psci-only");
		char id[64] = "";

		post_json("/v1/vms", doc, &r);
		json_decref(doc);
		if (!has_filter) {
			snprintf(name, sizeof(name), "%s: a VM from a deny_unlisted profile is "
				 "refused (409, rule smccc_filter_unavailable)", kernel);
			check(r.status == 409 && strstr(r.body, "smccc_filter_unavailable"), name,
			      "status %ld %s", r.status, r.body);
			response_free(&r);
			return;
		}
		snprintf(name, sizeof(name), "%s: a VM from a deny_unlisted profile is created",
			 kernel);
		if (check(r.status == 201 && response_str(&r, "id"), name, "status %ld %s",
			  r.status, r.body))
			snprintf(id, sizeof(id), "%s", response_str(&r, "id"));
		response_free(&r);
		if (id[0]) {
			char *con = NULL;
			bool off = false;

			snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
			client_call(&c, "POST", path, NULL, "{\"action\": \"start\"}", 19, NULL, &r);
			response_free(&r);
			/* It powers off after its marker; a stopped VM has said all. */
			snprintf(path, sizeof(path), "/v1/vms/%s", id);
			for (int i = 0; i < 2400 && !off; i++) {
				client_call(&c, "GET", path, NULL, NULL, 0, NULL, &r);
				off = !strcmp(response_str(&r, "state") ?: "", "stopped") ||
				      !strcmp(response_str(&r, "state") ?: "", "failed");
				response_free(&r);
				if (!off)
					usleep(100000);
			}
			snprintf(path, sizeof(path), "/v1/vms/%s/console?offset=0", id);
			client_call(&c, "GET", path, NULL, NULL, 0, NULL, &r);
			con = r.body ? strdup(r.body) : NULL;
			response_free(&r);
			snprintf(name, sizeof(name), "%s: under the filter the Linux guest finds "
				 "no hypervisor services and no TRNG", kernel);
			check(off && con && strstr(con, "pinvm-guest-ready 1") &&
				      strstr(con, "pinvm-guest-trng: no") &&
				      !strstr(con, "hypervisor services detected"),
			      name, "%s", con ? (strstr(con, "psci:") ?: con) : "(no console)");
			free(con);
			snprintf(path, sizeof(path), "/v1/vms/%s", id);
			client_call(&c, "DELETE", path, NULL, NULL, 0, NULL, &r);
			response_free(&r);
		}
	}
}

/* Whether kernels[ci] is among srcs (all kernels when n is 0). */
static bool wanted(size_t ci, char **srcs, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(srcs[i], kernels[ci]))
			return true;
	return n == 0;
}

/* srcs: the captures to apply (of all four kernels when n is 0). */
static int matrix(const char *kernel, const char *outdir, char **srcs, int n)
{
	int hi = kernel_index(kernel);
	struct response r;
	char path[512], name[128];

	if (hi < 0)
		return 2;
	for (size_t ci = 0; ci < NKERNELS; ci++) {
		json_error_t jerr;
		json_t *doc;

		if (!wanted(ci, srcs, n))
			continue;

		snprintf(path, sizeof(path), "%s/profile-%s.json", outdir, kernels[ci]);
		doc = json_load_file(path, 0, &jerr);
		snprintf(name, sizeof(name), "import the %s capture (GET document POSTed back)",
			 kernels[ci]);
		if (!check(doc != NULL, name, "%s: %s", path, jerr.text))
			continue;
		post_json("/v1/profiles", doc, &r);
		check(r.status == 201 && json_equal(json_object_get(r.json, "registers"),
						    json_object_get(doc, "registers")),
		      name, "status %ld %s", r.status, r.body);
		response_free(&r);
		json_decref(doc);
	}
	for (size_t ci = 0; ci < NKERNELS; ci++)
		if (wanted(ci, srcs, n))
			cell((int)ci, hi);
	/* The SMCCC filter came with Linux 6.4: 6.12 and latest have it. */
	deny_unlisted(kernel, hi >= 2);

	/*
	 * The 6.12 deny_unlisted capture (the services 6.12 answered allowed,
	 * everything else denied) runs on latest with 6.12's whole answer set.
	 * Both cells below need 6.12's pass 1: not in a run narrowed without it.
	 */
	if (!strcmp(kernel, "latest") && !wanted((size_t)kernel_index("6.12"), srcs, n))
		printf("# the 6.12 captures' cells on latest skipped: 6.12 is not among the "
		       "kernels of this run\n");
	else if (!strcmp(kernel, "latest")) {
		json_t *doc, *native = NULL;

		snprintf(path, sizeof(path), "%s/profile-6.12-deny.json", outdir);
		doc = json_load_file(path, 0, NULL);
		if (doc) {
			native = json_incref(json_object_get(json_object_get(doc, "observed_abi"),
							     "calls"));
			post_json("/v1/profiles", doc, &r);
			response_free(&r);
			json_decref(doc);
		}
		client_call(&c, "GET", "/v1/profiles/lab-6.12-deny/observed-abi", NULL, NULL, 0,
			    NULL, &r);
		check(r.status == 200 && native &&
			      !strcmp(json_string_value(json_object_get(json_object_get(r.json, "smccc"),
									"verdict")) ?: "",
				      "enforced") &&
			      json_equal(json_object_get(r.json, "calls"), native),
		      "the 6.12 capture with deny_unlisted runs on latest: filter enforced, all "
		      "answers identical to 6.12's",
		      "status %ld %s", r.status, r.body);
		printf("MATRIX capture 6.12+deny on latest : %s (%zu calls)\n",
		       r.status == 200 ? "runs under the SMCCC filter" : "FAILED",
		       json_array_size(json_object_get(r.json, "calls")));
		response_free(&r);
		json_decref(native);
	}

	/*
	 * The capture policy is "refuse": the 6.12 capture ran above because
	 * latest's VENDOR_HYP_BMAP_2 is 0 (absent_equivalent). A bitmap the
	 * profile does not mention that offers services still stops it.
	 */
	if (!strcmp(kernel, "latest") && wanted((size_t)kernel_index("6.12"), srcs, n)) {
		json_t *doc, *regs, *kept, *e;
		size_t i;

		snprintf(path, sizeof(path), "%s/profile-6.12.json", outdir);
		doc = json_load_file(path, 0, NULL);
		if (doc) {
			regs = json_object_get(doc, "registers");
			kept = json_array();
			json_array_foreach(regs, i, e)
				if (strcmp(json_string_value(json_object_get(e, "name")) ?: "",
					   "VENDOR_HYP_BMAP"))
					json_array_append(kept, e);
			json_object_set_new(doc, "registers", kept);
			json_object_set_new(doc, "name", json_string("lab-6.12-no-vendor"));
			/* Without it VENDOR_HYP_BMAP would be derived from KVM_FEATURES. */
			json_object_del(doc, "observed_abi");
			post_json("/v1/profiles", doc, &r);
			response_free(&r);
			json_decref(doc);
		}
		client_call(&c, "GET", "/v1/profiles/lab-6.12/compatibility", NULL, NULL, 0, NULL,
			    &r);
		{
			json_t *entries = json_object_get(r.json, "registers");
			const char *verdict = NULL;

			json_array_foreach(entries, i, e)
				if (!strcmp(json_string_value(json_object_get(e, "name")) ?: "",
					    "VENDOR_HYP_BMAP_2"))
					verdict = json_string_value(json_object_get(e, "verdict"));
			check(r.status == 200 && verdict && !strcmp(verdict, "absent_equivalent"),
			      "6.12 capture on latest: VENDOR_HYP_BMAP_2 = 0 is absent_equivalent",
			      "status %ld %s", r.status, r.body);
		}
		response_free(&r);
		client_call(&c, "GET", "/v1/profiles/lab-6.12-no-vendor/observed-abi", NULL, NULL, 0,
			    NULL, &r);
		check(r.status == 409 && response_str(&r, "field") &&
			      !strcmp(response_str(&r, "field"), "registers.VENDOR_HYP_BMAP") &&
			      strstr(r.body, "unmentioned_register"),
		      "6.12 capture without VENDOR_HYP_BMAP on latest: refused on it (0x3 unmentioned)",
		      "status %ld %s", r.status, r.body);
		response_free(&r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc == 6 && !strcmp(argv[1], "capture")) {
		snprintf(c.base, sizeof(c.base), "%s", argv[2]);
		ret = capture(argv[3], argv[4], argv[5]);
	} else if (argc >= 5 && !strcmp(argv[1], "matrix")) {
		snprintf(c.base, sizeof(c.base), "%s", argv[2]);
		ret = matrix(argv[3], argv[4], argv + 5, argc - 5);
	} else {
		fprintf(stderr, "usage: %s capture URL KERNEL FIXTURE OUTDIR\n"
				"       %s matrix URL KERNEL OUTDIR [SOURCE_KERNEL...]\n", argv[0], argv[0]);
	}
	curl_global_cleanup();
	return ret == 2 ? 2 : check_summary();
}
