/*
 * Snapshots moved between lab hosts with different kernels, through the
 * REST API only, as an orchestrator moves them with curl (issue 10).
 *
 *   test_lab_snapshots source URL CONTROL KERNEL FIXTURES OUTDIR
 *     on host A (pass 1): a 2-vCPU ticking Linux guest ("base") and the
 *     periodic probe guest (vmm/probe_image.S, written into the lab's
 *     /images through its control port CONTROL, "pbase") under a baseline
 *     of A and other lab kernels, one pair per baseline group (below),
 *     and the probe unpinned ("bare"); each is snapshotted while running
 *     and its archive downloaded to OUTDIR/snap-A-KIND.tar (KIND base,
 *     base-g1, ...; with .json: the record), the groups to
 *     OUTDIR/snap-A-groups.json.
 *
 *   test_lab_snapshots target URL KERNEL OUTDIR [SOURCE_KERNEL...]
 *     on host B (pass 2): the archives of OUTDIR (of every source kernel,
 *     or of those named) uploaded and judged. A snapshot restores on its
 *     own kernel. Under the baseline no firmware register may be refused
 *     but a workaround level (the guest sees its host's, whatever the pin);
 *     unpinned, the firmware verdict must be the profile matrix's for A's
 *     capture on B (GET /v1/profiles/lab-A/compatibility on B, the profile
 *     pass 2 imported): the same refused registers, the same rules. What
 *     restore-check refuses beyond them (ID registers, the vGIC's IIDR:
 *     what a kernel before 6.7 cannot be made to show) must refuse the
 *     restore with 409 naming a register, creating nothing. A baseline
 *     guest refused only under rules a caller may accept by name
 *     (api/accept_rule.h: cache geometry, EL2-only fields, a PMU-less
 *     vCPU's PMU version, the vGIC revision, a workaround level above the
 *     one the guest was told) is restored again accepting them, and must
 *     then carry on as any other (or be refused under a rule no caller can
 *     accept, which restore-check may find only then). A restored
 *     guest must carry on: its next tick is the one after the last it
 *     printed on A, no second boot, its clock has not jumped by the time it
 *     spent stopped, both CPUs run. Prints "SNAPSHOT" lines, one per cell
 *     and restore.
 *
 *   test_lab_snapshots other-gic URL OUTDIR SOURCE_KERNEL LABEL
 *     on a host of SOURCE_KERNEL whose vGIC is of the other version (a
 *     GICv2 host, PINVM_LAB_GIC=2, and a GICv3 one): each archive refused
 *     as vgic_incompatible, by the verdict and by the restore.
 *
 * A restored probe guest must answer every SMCCC call of its rounds after
 * the restore on B as its first round did on A, call for call.
 *
 * Baseline groups: every kernel B that has a baseline with A joins the
 * first group of A's whose baseline it keeps, else opens its own, and
 * A's guests are made once per group, not once per B: a baseline of A
 * and a group is one of A and B for every B in it, and fewer Linux
 * guests keep the suite inside its time. With the lab's kernels, 6.12
 * and latest need two groups ({5.10, 6.12, latest} and {6.1, 6.12,
 * latest}: 6.1 shows ID_AA64DFR0_EL1.DebugVer 6, 5.10 shows 9, and
 * neither takes a write), and 5.10 and 6.1 have no baseline together:
 * that cell restores the source's group-0 guest, which must be refused. Why the probe
 * guest unpinned and not Linux: the verdict is the registers', whatever
 * the guest, and the probe's rounds prove the ABI call for call; its
 * archive is a few KiB where Linux's is ~46 MiB, which the lab's emulated
 * network moves at 1-7 MB/s.
 */
#include "check.h"
#include "client.h"
#include "probe_rounds.h"
#include "smccc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KERNEL "debian-6.1-arm64.Image"
#define INITRD "busybox-initramfs.cpio.gz"
#define PROBE CLIENT_PROBE_IMAGE /* written into the lab's /images by source() */
#define BOOT_TIMEOUT_S 300
#define TICK_TIMEOUT_S 120

/* The snapshots each source kernel takes. */
static const struct kind {
	const char *name;  /* the archive's file name part */
	const char *label; /* in SNAPSHOT lines */
	bool probe;        /* the periodic probe guest, else a ticking Linux */
	bool pinned;       /* under the baseline of a group (one guest per group) */
} kinds[] = {
	{ "base", "baseline", false, true },
	{ "pbase", "baseline probe", true, true },
	{ "bare", "unpinned probe", true, false },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const kernels[] = { "5.10", "6.1", "6.12", "latest" };
#define NKERNELS (sizeof(kernels) / sizeof(kernels[0]))

static struct client c, ctl;

static long call(const char *method, const char *path, json_t *body, struct response *r)
{
	return client_json(&c, method, path, body, r);
}

static void call_quiet(const char *method, const char *path)
{
	struct response r;

	call(method, path, NULL, &r);
	response_free(&r);
}

/* The last "pinvm-guest-clock N up=S" line of s: N (0: none) and S. */
static long last_tick(const char *s, double *up)
{
	const char *p = s, *q;
	long n = 0;

	*up = -1;
	while (s && (q = strstr(p, "pinvm-guest-clock ")) != NULL) {
		long k;
		double u;

		if (sscanf(q, "pinvm-guest-clock %ld up=%lf", &k, &u) == 2) {
			n = k;
			*up = u;
		}
		p = q + 1;
	}
	return n;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; p && (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static bool has_tick(const char *con, void *want)
{
	double up;

	return last_tick(con, &up) >= *(long *)want;
}

static bool has_round(const char *con, void *want)
{
	return probe_round_last(con, 0) >= *(unsigned *)want;
}

/* Waits until the console shows a tick of at least want; its text or
 * NULL once the console stalled for seconds. */
static char *wait_tick(const char *id, long want, int seconds)
{
	return client_wait_console(&c, id, has_tick, &want, seconds);
}

/* Waits until the probe guest's console holds round want complete; its
 * text or NULL once the console stalled for seconds. */
static char *wait_round(const char *id, unsigned want, int seconds)
{
	return client_wait_console(&c, id, has_round, &want, seconds);
}

/* Creates and starts a guest of kind k; its id or NULL. */
static char *create_guest(const struct kind *k, const char *profile)
{
	json_t *spec = k->probe
			       ? json_pack("{s:i, s:i, s:s, s:n}", "vcpus", 1, "memory_mib", 32,
					   "kernel", PROBE, "initrd")
			       : json_pack("{s:i, s:i, s:s, s:s, s:s}", "vcpus", 2, "memory_mib",
					   128, "kernel", KERNEL, "initrd", INITRD, "cmdline",
					   "console=ttyS0 pinvm.tick=1 pinvm.clock=1");
	struct response r;
	char *id = NULL;

	if (profile)
		json_object_set_new(spec, "profile", json_string(profile));
	call("POST", "/v1/vms", spec, &r);
	if (r.status == 201 && response_str(&r, "id"))
		id = strdup(response_str(&r, "id"));
	check(id != NULL, "create a guest (2-vCPU ticking Linux, or the probe)", "%s %s: %ld %s",
	      k->name, profile ? profile : "unpinned", r.status, r.body);
	response_free(&r);
	if (id) {
		char path[128];

		snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
		call("POST", path, json_pack("{s:s}", "action", "start"), &r);
		check(r.status == 200, "start it", "%ld %s", r.status, r.body);
		response_free(&r);
	}
	return id;
}

static size_t to_file(char *data, size_t size, size_t n, void *f)
{
	return fwrite(data, size, n, f) * size;
}

/* GET path into file; the HTTP status (0: transport failure). */
static long download(const char *path, const char *file)
{
	char url[512];
	long status = 0;
	FILE *f = fopen(file, "wb");
	CURL *h = curl_easy_init();

	if (!f || !h)
		goto out;
	snprintf(url, sizeof(url), "%s%s", c.base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_file);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
out:
	if (h)
		curl_easy_cleanup(h);
	if (f && fclose(f))
		status = 0;
	return status;
}

static size_t from_file(char *buf, size_t size, size_t n, void *f)
{
	return fread(buf, size, n, f) * size;
}

/* POST file to path as application/octet-stream; fills *r (body parsed). */
static void upload(const char *path, const char *file, struct response *r)
{
	char url[512];
	struct stat st;
	struct curl_slist *hdrs = NULL;
	FILE *f = fopen(file, "rb");
	CURL *h = curl_easy_init();

	memset(r, 0, sizeof(*r));
	if (!f || !h || fstat(fileno(f), &st))
		goto out;
	/* client_call() takes the body in memory; an archive is streamed. */
	snprintf(url, sizeof(url), "%s%s", c.base, path);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
	hdrs = curl_slist_append(hdrs, "Expect:");
	{
		char *body = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&body, &len);

		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, from_file);
		curl_easy_setopt(h, CURLOPT_READDATA, f);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_file);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
		if (curl_easy_perform(h) == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (mem)
			fclose(mem);
		r->body = body;
		r->len = len;
		r->json = body ? json_loads(body, 0, NULL) : NULL;
	}
out:
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	if (f)
		fclose(f);
}

/* Snapshots VM id (running), saves the archive and the record under OUTDIR. */
static void snapshot_out(const char *id, const char *outdir, const char *kernel,
			 const char *kind)
{
	char path[256], file[1024];
	struct response r;
	const char *sid;
	double t0 = client_now();
	long st;
	struct stat sb;

	snprintf(path, sizeof(path), "/v1/vms/%s/snapshot", id);
	call("POST", path, NULL, &r);
	sid = response_str(&r, "id");
	check(r.status == 201 && sid, "snapshot of the running guest", "%s %s: %ld %s",
	      kernel, kind, r.status, r.body);
	printf("BENCH snapshot %s %s: %.2f s through the API (running)\n", kernel, kind,
	       client_now() - t0);
	if (!sid) {
		response_free(&r);
		return;
	}
	snprintf(file, sizeof(file), "%s/snap-%s-%s.json", outdir, kernel, kind);
	json_dump_file(r.json, file, JSON_INDENT(1));
	{
		struct response g;

		snprintf(path, sizeof(path), "/v1/vms/%s", id);
		call("GET", path, NULL, &g);
		check(g.status == 200 && !strcmp(response_str(&g, "state") ?: "", "running"),
		      "the source VM runs again after its snapshot", "%ld %s", g.status, g.body);
		response_free(&g);
	}
	snprintf(path, sizeof(path), "/v1/snapshots/%s/archive", sid);
	snprintf(file, sizeof(file), "%s/snap-%s-%s.tar", outdir, kernel, kind);
	t0 = client_now();
	st = download(path, file);
	check(st == 200 && !stat(file, &sb) && sb.st_size > 0,
	      "the archive downloads as one file", "%s: status %ld", file, st);
	if (st == 200 && !stat(file, &sb))
		printf("BENCH snapshot %s %s: archive %.1f MiB, downloaded in %.2f s\n", kernel,
		       kind, (double)sb.st_size / (1 << 20), client_now() - t0);
	/* The file is the snapshot now; this host keeps no copy. */
	snprintf(path, sizeof(path), "/v1/snapshots/%s", sid);
	response_free(&r);
	call("DELETE", path, NULL, &r);
	check(r.status == 204, "the source deletes its copy", "%s %s: %ld", kernel, kind, r.status);
	response_free(&r);
}

/*
 * The groups of source kernel A: every other kernel B whose baseline with
 * A exists joins the first group whose baseline it keeps (each group has
 * one), else opens one; a B without one is "none", with the refusal.
 * Kernels are the fixtures' host sets, hosts[i] for kernels[i].
 */
struct groups {
	size_t n;
	struct {
		size_t nk;
		size_t k[NKERNELS]; /* indexes into kernels[], A first */
	} g[NKERNELS];
	char none[NKERNELS][512]; /* why B has no baseline with A; "" */
};

/* POST /v1/baselines NAME over kernels idx[0..n): 201 true, else false
 * with the refusal's field and detail in why. */
static bool baseline_of(const char *name, json_t *hosts, const size_t *idx, size_t n,
			char *why, size_t size)
{
	json_t *sel = json_array();
	struct response r;
	char path[128];
	bool ok;

	for (size_t i = 0; i < n; i++)
		json_array_append(sel, json_array_get(hosts, idx[i]));
	snprintf(path, sizeof(path), "/v1/profiles/%s", name);
	call_quiet("DELETE", path);
	call("POST", "/v1/baselines", json_pack("{s:s, s:o}", "name", name, "hosts", sel), &r);
	ok = r.status == 201;
	if (!ok)
		snprintf(why, size, "%ld %s at %s: %s", r.status, response_str(&r, "code") ?: "?",
			 response_str(&r, "field") ?: "?", response_str(&r, "detail") ?: r.body);
	response_free(&r);
	return ok;
}

static void find_groups(json_t *hosts, size_t a, struct groups *gr)
{
	char why[512];

	memset(gr, 0, sizeof(*gr));
	for (size_t b = 0; b < NKERNELS; b++) {
		size_t pair[2] = { a, b }, i;

		if (b == a)
			continue;
		if (!baseline_of("snap-try", hosts, pair, 2, gr->none[b], sizeof(gr->none[b])))
			continue;
		for (i = 0; i < gr->n; i++) {
			gr->g[i].k[gr->g[i].nk] = b;
			if (baseline_of("snap-try", hosts, gr->g[i].k, gr->g[i].nk + 1, why,
					sizeof(why)))
				break;
		}
		if (i == gr->n) {
			gr->g[i].k[0] = a;
			gr->g[i].k[1] = b;
			gr->g[i].nk = 2;
			gr->n++;
		} else {
			gr->g[i].nk++;
		}
	}
	if (!gr->n) {
		gr->g[0].k[0] = a;
		gr->g[0].nk = 1;
		gr->n = 1;
	}
	call_quiet("DELETE", "/v1/profiles/snap-try");
}

/* The groups as OUTDIR/snap-A-groups.json, for the target pass:
 * {"groups": [["5.10", "6.12", ...], ...], "none": {"6.1": "why"}}. */
static void save_groups(const struct groups *gr, const char *outdir, const char *kernel)
{
	json_t *doc = json_pack("{s:[], s:{}}", "groups", "none");
	char file[1024];

	for (size_t i = 0; i < gr->n; i++) {
		json_t *g = json_array();

		for (size_t j = 0; j < gr->g[i].nk; j++)
			json_array_append_new(g, json_string(kernels[gr->g[i].k[j]]));
		json_array_append_new(json_object_get(doc, "groups"), g);
	}
	for (size_t b = 0; b < NKERNELS; b++)
		if (gr->none[b][0])
			json_object_set_new(json_object_get(doc, "none"), kernels[b],
					    json_string(gr->none[b]));
	snprintf(file, sizeof(file), "%s/snap-%s-groups.json", outdir, kernel);
	check(json_dump_file(doc, file, JSON_INDENT(1)) == 0, "save the baseline groups", "%s",
	      file);
	json_decref(doc);
}

/* The archive name of kind k in group g: "base" for group 0, "base-g1"... */
static void kind_file(const struct kind *k, size_t g, char *buf, size_t size)
{
	if (g)
		snprintf(buf, size, "%s-g%zu", k->name, g);
	else
		snprintf(buf, size, "%s", k->name);
}

#define NGUESTS (NKINDS * NKERNELS)

static int source(const char *url, const char *control, const char *kernel,
		  const char *fixtures, const char *outdir)
{
	json_t *hosts = json_array();
	struct groups gr;
	struct {
		const struct kind *k;
		char file[32];
		char *vm;
	} guest[NGUESTS];
	size_t nguests = 0, self = NKERNELS;
	char *s, *out;
	char path[1024];

	snprintf(c.base, sizeof(c.base), "%s", url);
	snprintf(ctl.base, sizeof(ctl.base), "%s", control);
	for (size_t i = 0; i < NKERNELS; i++) {
		json_t *h;

		if (!strcmp(kernels[i], kernel))
			self = i;
		snprintf(path, sizeof(path), "%s/lab-%s.json", fixtures, kernels[i]);
		h = json_load_file(path, 0, NULL);
		if (!json_is_object(json_object_get(h, "firmware_registers"))) {
			check(false, "load the fixtures", "%s", path);
			json_decref(h);
			json_decref(hosts);
			return check_summary();
		}
		/* The register set the kernel reported, as a host set. */
		json_array_append(hosts, json_object_get(h, "firmware_registers"));
		json_decref(h);
	}
	if (!check(self < NKERNELS, "the source kernel is a lab kernel", "%s", kernel)) {
		json_decref(hosts);
		return check_summary();
	}
	/*
	 * The baselines a guest of this kernel is made under: one per group
	 * of kernels that share one. Where two kernels show an ID register
	 * field differently and neither takes a write (6.1 and 5.10:
	 * ID_AA64DFR0_EL1.DebugVer), they share none.
	 */
	find_groups(hosts, self, &gr);
	save_groups(&gr, outdir, kernel);
	for (size_t i = 0; i < gr.n; i++) {
		char name[64], why[512];

		printf("# baseline group %zu of %s:", i, kernel);
		for (size_t j = 0; j < gr.g[i].nk; j++)
			printf(" %s", kernels[gr.g[i].k[j]]);
		printf("\n");
		snprintf(name, sizeof(name), "snap-%s-g%zu", kernel, i);
		check(baseline_of(name, hosts, gr.g[i].k, gr.g[i].nk, why, sizeof(why)),
		      "the baseline of the group", "%s: %s", name, why);
	}
	for (size_t b = 0; b < NKERNELS; b++)
		if (gr.none[b][0])
			printf("SNAPSHOT-BASELINE %s and %s: none: %s\n", kernel, kernels[b],
			       gr.none[b]);
	json_decref(hosts);
	out = client_lab_probe_image(&ctl);
	check(!out, "the probe guest's image written into /images", "%s", out ? out : "");
	free(out);

	for (size_t k = 0; k < NKINDS; k++)
		for (size_t g = 0; g < (kinds[k].pinned ? gr.n : 1); g++) {
			char profile[64];

			snprintf(profile, sizeof(profile), "snap-%s-g%zu", kernel, g);
			guest[nguests].k = &kinds[k];
			kind_file(&kinds[k], g, guest[nguests].file, sizeof(guest[nguests].file));
			guest[nguests].vm = create_guest(&kinds[k], kinds[k].pinned ? profile : NULL);
			nguests++;
		}
	/*
	 * A few ticks or two rounds printed: snapshot in the middle of it.
	 * The probes first, each deleted once snapshotted: a probe prints its
	 * rounds on and on (an MMIO exit per byte), which in the emulated lab
	 * takes CPU the booting Linux guest needs on a loaded machine.
	 */
	for (int probes = 1; probes >= 0; probes--) {
		for (size_t i = 0; i < nguests; i++) {
			const struct kind *k = guest[i].k;

			if (!guest[i].vm || k->probe != probes)
				continue;
			s = k->probe ? wait_round(guest[i].vm, 2, BOOT_TIMEOUT_S)
				     : wait_tick(guest[i].vm, 3, BOOT_TIMEOUT_S);
			if (!s) {
				char *con = client_console(&c, guest[i].vm);
				json_t *v = client_get_vm(&c, guest[i].vm);
				size_t n = con ? strlen(con) : 0;

				check(false, "the guest runs (ticks, or probe rounds)",
				      "%s %s: state %s, its console still for %d s; it ends: %s", kernel,
				      guest[i].file,
				      json_string_value(json_object_get(v, "state")) ?: "?",
				      BOOT_TIMEOUT_S, con ? con + (n > 600 ? n - 600 : 0) : "(none)");
				json_decref(v);
				free(con);
			} else {
				check(true, "the guest runs (ticks, or probe rounds)", "%s",
				      guest[i].file);
				free(s);
				snapshot_out(guest[i].vm, outdir, kernel, guest[i].file);
			}
			snprintf(path, sizeof(path), "/v1/vms/%s", guest[i].vm);
			call_quiet("DELETE", path);
			free(guest[i].vm);
			guest[i].vm = NULL;
		}
	}
	return check_summary();
}

/*
 * The rules a restore may accept by name (api/accept_rule.h), all five:
 * a baseline guest refused only under these is restored again accepting
 * them, and must then carry on.
 */
static const char *const acceptable[] = { "cache_geometry_differs", "el2_feature_differs",
					  "pmu_id_differs", "vgic_revision_differs",
					  "workaround_level_differs" };
#define NACCEPTABLE (sizeof(acceptable) / sizeof(acceptable[0]))

static bool is_acceptable(const char *rule)
{
	for (size_t i = 0; i < NACCEPTABLE; i++)
		if (rule && !strcmp(rule, acceptable[i]))
			return true;
	return false;
}

/* Whether every "NAME rule" of list (refusals()' "; "-separated form) is
 * under an acceptable rule. */
static bool all_acceptable(const char *list)
{
	char buf[1600], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		const char *rule = strrchr(t, ' ');

		if (!rule || !is_acceptable(rule + 1))
			return false;
	}
	return *list != '\0';
}

/* "NAME rule" of every refused register of a compatibility report, in its
 * order, leaving out refusals under rule `skip` (NULL: none). */
static void refusals(json_t *report, char *out, size_t outlen, const char *skip)
{
	json_t *regs = json_object_get(report, "registers"), *e;
	size_t i;

	out[0] = '\0';
	json_array_foreach(regs, i, e) {
		const char *v = json_string_value(json_object_get(e, "verdict")) ?: "";
		const char *name = json_string_value(json_object_get(e, "name"));
		size_t n = strlen(out);

		if (strcmp(v, "refused") ||
		    (skip && !strcmp(json_string_value(json_object_get(e, "rule")) ?: "", skip)))
			continue;
		snprintf(out + n, outlen - n, "%s%s %s", n ? "; " : "",
			 name ? name : json_string_value(json_object_get(e, "id")) ?: "?",
			 json_string_value(json_object_get(e, "rule")) ?: "?");
	}
}

#define REFUSAL_MAX 512

/*
 * Restores snapshot sid as a new VM, which must be 201 and paused; its id
 * (caller frees) or NULL. refusal (NULL: accept nothing): accepting every
 * acceptable rule; the 201 must then list what they covered, and *level
 * says whether a workaround level is among it (the guest now sees this
 * host's). A 409 under a rule no caller can accept is then an answer, not
 * a failure: its detail goes into refusal (REFUSAL_MAX bytes).
 */
static char *restore_paused(const char *sid, const char *cell, char *refusal, bool *level)
{
	struct response r;
	json_t *body = json_pack("{s:s}", "snapshot", sid), *a, *list;
	bool ok, accept = refusal != NULL;
	char *vm;
	size_t i;

	*level = false;
	if (accept) {
		list = json_array();
		for (i = 0; i < NACCEPTABLE; i++)
			json_array_append_new(list, json_string(acceptable[i]));
		json_object_set_new(body, "accept", list);
	}
	call("POST", "/v1/vms", body, &r);
	if (accept && r.status == 409 && !is_acceptable(response_str(&r, "rule"))) {
		snprintf(refusal, REFUSAL_MAX, "%s", response_str(&r, "detail") ?: "(no detail)");
		response_free(&r);
		return NULL;
	}
	ok = r.status == 201 && !strcmp(response_str(&r, "state") ?: "", "paused");
	check(ok, "restore: 201, state paused", "%s: %ld %s", cell, r.status, r.body);
	if (ok && accept) {
		list = json_object_get(r.json, "accepted");
		check(json_array_size(list) > 0,
		      "the 201 lists what this host keeps of its own (accepted)", "%s: %s", cell,
		      r.body);
		json_array_foreach(list, i, a) {
			const char *rule = json_string_value(json_object_get(a, "rule")) ?: "";

			*level = *level || !strcmp(rule, "workaround_level_differs");
			printf("# %s accepted: %s %s: the guest had %s, keeps %s\n", cell,
			       json_string_value(json_object_get(a, "register")) ?: "?", rule,
			       json_string_value(json_object_get(a, "wanted")) ?: "?",
			       json_string_value(json_object_get(a, "kept")) ?: "nothing");
		}
	}
	vm = ok && response_str(&r, "id") ? strdup(response_str(&r, "id")) : NULL;
	response_free(&r);
	return vm;
}

static void resume(const char *vm, const char *cell)
{
	char path[160];
	struct response r;

	snprintf(path, sizeof(path), "/v1/vms/%s/actions", vm);
	call("POST", path, json_pack("{s:s}", "action", "resume"), &r);
	check(r.status == 200, "resume the restored guest", "%s: %ld %s", cell, r.status, r.body);
	response_free(&r);
}

/* Restores a snapshot (refusal: accepting, restore_paused()) and proves
 * the guest carries on. */
static bool restore_and_run(const char *sid, const char *cell, double stopped_s, char *refusal)
{
	char path[160], *vm, *before, *after;
	bool ok, level, accept = refusal != NULL;
	double up0, up1;
	long n0, n1;

	vm = restore_paused(sid, cell, refusal, &level);
	if (!vm)
		return false;
	before = client_console(&c, vm);
	n0 = last_tick(before, &up0);
	check(n0 >= 3 && count(before, "Linux version") == 1,
	      "the restored console holds the source's boot and ticks", "%s: tick %ld", cell, n0);
	resume(vm, cell);
	after = wait_tick(vm, n0 + 2, TICK_TIMEOUT_S);
	ok = after != NULL;
	check(ok, "the tick counter goes on", "%s: stuck after tick %ld", cell, n0);
	if (ok) {
		char want[64], *line;

		snprintf(want, sizeof(want), "pinvm-guest-clock %ld ", n0 + 1);
		line = strstr(after, want);
		n1 = last_tick(after, &up1);
		check(line != NULL, "the next tick is the one after the last on the source",
		      "%s: no \"%s\"", cell, want);
		check(count(after, "Linux version") == 1, "no second boot", "%s", cell);
		check(!strstr(after + strlen(before), "rcu: INFO") &&
			      !strstr(after + strlen(before), "soft lockup"),
		      "no RCU stall or lockup report after restore", "%s", cell);
		if (line) {
			double u;
			char cpus[32] = "", on[16] = "";

			sscanf(line, "pinvm-guest-clock %*d up=%lf online=%31s ran-on=%15s", &u, cpus, on);
			check(u - up0 < 20, "the guest's clock carried on from where it stopped",
			      "%s: uptime %.2f -> %.2f s while it was stopped for %.0f s", cell,
			      up0, u, stopped_s);
			check(!strcmp(cpus, "0-1") && !strcmp(on, "1"),
			      "both CPUs online, a task runs on CPU 1", "%s: cpus=%s ran-on=%s",
			      cell, cpus, on);
			printf("SNAPSHOT %s: %stick %ld -> %ld, guest uptime %.2f -> %.2f s "
			       "(stopped %.0f s)\n",
			       cell, accept ? "accepting: " : "", n0, n1, up0, u, stopped_s);
		}
	}
	free(before);
	free(after);
	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	call_quiet("DELETE", path);
	free(vm);
	return ok;
}

/*
 * Restores a probe guest's snapshot (refusal: accepting, restore_paused())
 * and proves its ABI did not move: the rounds go on after the
 * last one the console shows, and every call of a round made after the
 * restore answers what round 1 answered on the source (the console came
 * with the snapshot), but ARCH_FEATURES of a workaround where the 201
 * listed its level as accepted (the guest now sees this host's).
 */
static bool restore_probe_and_run(const char *sid, const char *cell, char *refusal)
{
	uint64_t first[PROBE_ROUNDS_MAX_CALLS], x0[PROBE_ROUNDS_MAX_CALLS];
	char path[160], *vm, *before, *after;
	unsigned n0, n1, differ = 0, levels = 0;
	bool ok, level, accept = refusal != NULL;
	size_t n;

	vm = restore_paused(sid, cell, refusal, &level);
	if (!vm)
		return false;
	before = client_console(&c, vm);
	n0 = probe_round_last(before, 0);
	check(n0 >= 2 && probe_round(before, 1, first, &n) && n == smccc_probe_ncalls,
	      "the restored console holds the source's rounds", "%s: last round %u", cell, n0);
	resume(vm, cell);
	/* Round n0 + 1 may have begun on the source; n0 + 2 is all B's. */
	after = wait_round(vm, n0 + 2, TICK_TIMEOUT_S);
	ok = after != NULL && n0 >= 2;
	check(ok, "the probe's rounds go on", "%s: stuck after round %u", cell, n0);
	if (ok) {
		n1 = probe_round_last(after, n0);
		for (unsigned k = n0 + 2; k <= n1; k++) {
			probe_round(after, k, x0, &n);
			for (size_t i = 0; i < n; i++)
				if (x0[i] != first[i]) {
					bool lv = level && strstr(smccc_probe_calls[i].name,
								  "FEATURES(WORKAROUND_");

					differ += !lv;
					levels += lv;
					printf("# %s: round %u call %zu (%s): 0x%llx, round 1 on the "
					       "source: 0x%llx%s\n",
					       cell, k, i, smccc_probe_calls[i].name,
					       (unsigned long long)x0[i], (unsigned long long)first[i],
					       lv ? " (an accepted workaround level)" : "");
				}
		}
		ok = differ == 0;
		check(ok, "every SMCCC call answers after the restore as before it (but a "
			  "workaround level the 201 listed as accepted)",
		      "%s: %u answers differ", cell, differ);
		printf("SNAPSHOT %s: %sprobe rounds %u -> %u, %zu calls each, %u answers differ%s\n",
		       cell, accept ? "accepting: " : "", n0, n1, smccc_probe_ncalls,
		       differ + levels, levels ? " (accepted workaround levels)" : "");
	}
	free(before);
	free(after);
	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	call_quiet("DELETE", path);
	free(vm);
	return ok;
}

/*
 * Whether every refused firmware register of a report is a workaround
 * level. A baseline pins the lowest level, but KVM only checks a
 * workaround level and never lowers it: the guest is told its host's
 * (5.10 reports WORKAROUND_3 = 2 on the lab's CPU, later kernels 0), the
 * snapshot records what it was told, and a host answering another level
 * is refused: below it, workaround_level_above_host (never acceptable);
 * above it, workaround_level_differs (acceptable by name).
 */
static bool only_workaround_levels(json_t *report)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(report, "registers"), i, e) {
		const char *rule = json_string_value(json_object_get(e, "rule")) ?: "";

		if (!strcmp(json_string_value(json_object_get(e, "verdict")) ?: "", "refused") &&
		    strcmp(rule, "workaround_level_above_host") &&
		    strcmp(rule, "workaround_level_differs"))
			return false;
	}
	return true;
}

/* "REGISTER rule" of every refusal of restore-check's answer. */
static void helper_refusals(json_t *rc, char *out, size_t outlen)
{
	json_t *e;
	size_t i;

	out[0] = '\0';
	json_array_foreach(json_object_get(rc, "refused"), i, e) {
		size_t n = strlen(out);

		snprintf(out + n, outlen - n, "%s%s %s", n ? "; " : "",
			 json_string_value(json_object_get(e, "register")) ?: "?",
			 json_string_value(json_object_get(e, "rule")) ?: "?");
	}
}

/* A refused restore: 409 naming a refused register, and nothing made. */
static void expect_refusal(const char *sid, const char *cell, const char *refused)
{
	struct response before, after, r;
	const char *field, *dot;

	call("GET", "/v1/vms", NULL, &before);
	call("POST", "/v1/vms", json_pack("{s:s}", "snapshot", sid), &r);
	field = response_str(&r, "field");
	dot = field ? strchr(field, '.') : NULL;
	call("GET", "/v1/vms", NULL, &after);
	check(r.status == 409 && !strcmp(response_str(&r, "code") ?: "", "snapshot_refused") &&
		      dot && strstr(refused, dot + 1),
	      "restore is refused with 409 naming a refused register", "%s: %ld %s (refused: %s)",
	      cell, r.status, r.body, refused);
	check(before.json && json_equal(before.json, after.json), "nothing was created",
	      "%s: %s -> %s", cell, before.body, after.body);
	printf("SNAPSHOT %s: refused: %s\n", cell, response_str(&r, "detail") ?: "(no detail)");
	response_free(&before);
	response_free(&after);
	response_free(&r);
}

/*
 * A restore accepting the acceptable rules: a 201 and a guest that
 * carries on, or a 409 under a rule no caller can accept (found only now:
 * restore-check runs once the firmware passes), with nothing created.
 */
static void accepting(const char *sid, const char *cell, const struct kind *k, double stopped_s)
{
	struct response before, after;
	char refusal[REFUSAL_MAX] = "";
	bool ran;

	call("GET", "/v1/vms", NULL, &before);
	ran = k->probe ? restore_probe_and_run(sid, cell, refusal)
		       : restore_and_run(sid, cell, stopped_s, refusal);
	if (*refusal) {
		call("GET", "/v1/vms", NULL, &after);
		check(before.json && json_equal(before.json, after.json),
		      "refused under a rule no caller can accept: nothing was created",
		      "%s: %s -> %s", cell, before.body, after.body);
		printf("SNAPSHOT %s: refused accepting: %s\n", cell, refusal);
		response_free(&after);
	} else if (!ran) {
		printf("SNAPSHOT %s: FAILED accepting\n", cell);
	}
	response_free(&before);
}

/*
 * One cell. The firmware registers are judged by the profiles' rules: under
 * the baseline nothing may be refused there, and unpinned the verdict must
 * be the profile matrix's for the source's capture. The other registers
 * are restore-check's (ID registers, the vGIC's IIDR: what KVM before 6.7
 * cannot be made to show): where it refuses, the restore must be refused
 * with the register named; everywhere else the guest must carry on. A
 * snapshot always restores on its own kernel.
 */
static void target_cell(const char *kernel, const char *src, const struct kind *k,
			const char *outdir, const char *kfile, const char *nobase)
{
	char file[1024], cell[128], path[256], want[512] = "", got[512] = "", helper[1024];
	char all[1600];
	struct response up, comp, expect, r;
	const char *sid;
	struct stat sb;
	double stopped_s;
	bool base = k->pinned && !nobase, compatible, ran;

	snprintf(cell, sizeof(cell), "%-6s -> %-6s %s", src, kernel, k->label);
	snprintf(file, sizeof(file), "%s/snap-%s-%s.tar", outdir, src, kfile);
	if (nobase)
		printf("SNAPSHOT %s: no baseline of %s and %s: %s\n", cell, src, kernel, nobase);
	if (stat(file, &sb)) {
		check(false, "the source pass saved an archive", "%s: none (%s)", cell, file);
		printf("SNAPSHOT %s: no archive from the source pass\n", cell);
		return;
	}
	stopped_s = difftime(time(NULL), sb.st_mtime);
	upload("/v1/snapshots", file, &up);
	sid = response_str(&up, "id");
	check(up.status == 201 && sid, "upload the archive", "%s: %ld %s", cell, up.status,
	      up.body ? up.body : "");
	if (!sid) {
		response_free(&up);
		return;
	}
	snprintf(path, sizeof(path), "/v1/snapshots/%s/compatibility", sid);
	call("GET", path, NULL, &comp);
	/* restore-check runs once the firmware registers pass (null before). */
	check(comp.status == 200 && json_is_boolean(json_object_get(comp.json, "compatible")) &&
		      (json_is_object(json_object_get(comp.json, "restore_check")) ||
		       (json_is_null(json_object_get(comp.json, "restore_check")) &&
			json_is_false(json_object_get(comp.json, "compatible")))),
	      "the snapshot's verdict on this host, restore-check included", "%s: %ld %s", cell,
	      comp.status, comp.body);
	refusals(comp.json, got, sizeof(got), NULL);
	helper_refusals(json_object_get(comp.json, "restore_check"), helper, sizeof(helper));
	compatible = json_is_true(json_object_get(comp.json, "compatible"));
	snprintf(all, sizeof(all), "%s%s%s", got, *got && *helper ? "; " : "", helper);

	if (nobase) {
		/* Made under a baseline this kernel is not in, because none
		 * has both: this host must refuse what the guest saw. */
		check(!compatible, "no baseline has both kernels: the restore is refused", "%s: %s",
		      cell, comp.body);
	} else if (base) {
		check(only_workaround_levels(comp.json),
		      "under a baseline of both kernels no firmware register is refused "
		      "but a workaround level the guest saw above the pin",
		      "%s: %s", cell, got);
	} else {
		/* A move's own rule (a level the guest was told differs
		 * here) is no profile's: compared without it. */
		char moved[512];

		snprintf(path, sizeof(path), "/v1/profiles/lab-%s/compatibility", src);
		call("GET", path, NULL, &expect);
		refusals(expect.json, want, sizeof(want), NULL);
		refusals(comp.json, moved, sizeof(moved), "workaround_level_differs");
		check(expect.status == 200 && !strcmp(want, moved),
		      "the firmware registers are judged as the profile matrix judges the capture",
		      "%s: capture refused [%s], snapshot refused [%s]", cell, want, got);
		response_free(&expect);
	}
	if (!strcmp(src, kernel))
		check(compatible, "a snapshot restores on the kernel it was taken on", "%s: %s",
		      cell, all);
	if (compatible) {
		ran = k->probe ? restore_probe_and_run(sid, cell, NULL)
			       : restore_and_run(sid, cell, stopped_s, NULL);
		if (!ran)
			printf("SNAPSHOT %s: FAILED\n", cell);
	} else {
		check(*all != '\0', "an incompatible verdict names what it refuses", "%s: %s", cell,
		      comp.body);
		expect_refusal(sid, cell, all);
		/* The baseline guest refused only for what a caller may accept
		 * by name: restored accepting it, it must carry on. */
		if (base && all_acceptable(all))
			accepting(sid, cell, k, stopped_s);
		else if (base)
			printf("# %s: not restored accepting: not every refusal is one a caller may "
			       "accept: %s\n", cell, all);
	}
	snprintf(path, sizeof(path), "/v1/snapshots/%s", sid);
	call("DELETE", path, NULL, &r);
	check(r.status == 204 || r.status == 200, "delete the imported snapshot", "%s: %ld", cell,
	      r.status);
	response_free(&r);
	response_free(&comp);
	response_free(&up);
}

/*
 * The archives of src in outdir were taken under the other GIC version
 * (a GICv2 host's against a GICv3 host's, or the reverse), on this
 * kernel: the firmware passes, and restore-check and the restore refuse
 * them as vgic_incompatible, creating nothing. label: "GICv3 -> GICv2".
 */
static int other_gic(const char *url, const char *outdir, const char *src, const char *label)
{
	snprintf(c.base, sizeof(c.base), "%s", url);
	for (size_t k = 0; k < NKINDS; k++) {
		char file[1024], cell[128], path[256], helper[1024];
		struct response up, comp, r;
		const char *sid;

		snprintf(cell, sizeof(cell), "%s %s %s", src, label, kinds[k].label);
		snprintf(file, sizeof(file), "%s/snap-%s-%s.tar", outdir, src, kinds[k].name);
		upload("/v1/snapshots", file, &up);
		sid = response_str(&up, "id");
		check(up.status == 201 && sid, "upload the archive", "%s: %s: %ld %s", cell, file,
		      up.status, up.body ? up.body : "");
		if (!sid) {
			response_free(&up);
			continue;
		}
		snprintf(path, sizeof(path), "/v1/snapshots/%s/compatibility", sid);
		call("GET", path, NULL, &comp);
		helper_refusals(json_object_get(comp.json, "restore_check"), helper, sizeof(helper));
		check(comp.status == 200 && json_is_false(json_object_get(comp.json, "compatible")) &&
			      strstr(helper, "vgic vgic_incompatible"),
		      "a snapshot of the other GIC version is refused, naming the vGIC",
		      "%s: %ld %s", cell, comp.status, comp.body);
		expect_refusal(sid, cell, helper);
		snprintf(path, sizeof(path), "/v1/snapshots/%s", sid);
		call("DELETE", path, NULL, &r);
		check(r.status == 204 || r.status == 200, "delete the imported snapshot", "%s: %ld",
		      cell, r.status);
		response_free(&r);
		response_free(&comp);
		response_free(&up);
	}
	return check_summary();
}

/*
 * Which archive of src's kind k this kernel restores (kfile, size
 * bytes): the one made under the baseline of src's group this kernel is
 * in; group 0's when it is in none, with *nobase the refusal of the
 * pair's baseline (NULL otherwise; it points into doc).
 */
static void pick_archive(const json_t *doc, const char *kernel, const struct kind *k,
			 char *kfile, size_t size, const char **nobase)
{
	const json_t *g, *name;
	size_t i, j;

	*nobase = NULL;
	kind_file(k, 0, kfile, size);
	if (!k->pinned)
		return;
	json_array_foreach(json_object_get(doc, "groups"), i, g)
		json_array_foreach(g, j, name)
			if (!strcmp(json_string_value(name) ?: "", kernel)) {
				kind_file(k, i, kfile, size);
				return;
			}
	*nobase = json_string_value(json_object_get(json_object_get(doc, "none"), kernel));
}

/* srcs: the source kernels to restore from (all four when n is 0). */
static int target(const char *url, const char *kernel, const char *outdir,
		  char **srcs, int n)
{
	snprintf(c.base, sizeof(c.base), "%s", url);
	for (size_t i = 0; i < (n ? (size_t)n : NKERNELS); i++) {
		const char *src = n ? srcs[i] : kernels[i];
		char file[1024], kfile[32];
		const char *nobase;
		json_t *doc;

		snprintf(file, sizeof(file), "%s/snap-%s-groups.json", outdir, src);
		doc = json_load_file(file, 0, NULL);
		check(doc != NULL, "the source pass saved its baseline groups", "%s", file);
		for (size_t k = 0; k < NKINDS; k++) {
			pick_archive(doc, kernel, &kinds[k], kfile, sizeof(kfile), &nobase);
			target_cell(kernel, src, &kinds[k], outdir, kfile, nobase);
		}
		json_decref(doc);
	}
	return check_summary();
}

int main(int argc, char **argv)
{
	int rc = 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 7 && !strcmp(argv[1], "source"))
		rc = source(argv[2], argv[3], argv[4], argv[5], argv[6]);
	else if (argc >= 5 && !strcmp(argv[1], "target"))
		rc = target(argv[2], argv[3], argv[4], argv + 5, argc - 5);
	else if (argc == 6 && !strcmp(argv[1], "other-gic"))
		rc = other_gic(argv[2], argv[3], argv[4], argv[5]);
	else
		fprintf(stderr, "usage: %s source URL CONTROL KERNEL FIXTURES OUTDIR\n"
				"       %s target URL KERNEL OUTDIR [SOURCE_KERNEL...]\n"
				"       %s other-gic URL OUTDIR SOURCE_KERNEL LABEL\n",
			argv[0], argv[0], argv[0]);
	curl_global_cleanup();
	return rc;
}
