/*
 * Two labs on one --link (issue 11, items 3 and 4): lab A's pinvmd asks
 * lab B's over the emulated link, and every answer must equal the same
 * request with B's register set given inline.
 *
 *   test_lab_link pair URL_A URL_B LINK_B
 *     URL_A, URL_B: the labs' APIs on this machine's loopback; LINK_B:
 *     B's pinvmd as A reaches it (http://169.254.X.Y:8080, the lab's
 *     "pinvm lab link:" line). A baseline of A and B (B by URL vs inline),
 *     the verdict of that baseline and of A's own capture on B (same
 *     comparison), a wrong scheme refused before anything is sent. Prints
 *     the time of each request by URL beside the same one inline.
 *
 *   test_lab_link migrate URL_A URL_B LINK_A LINK_B CTL_A CTL_B
 *     Live migration over the link (issue 11 item 2): the periodic probe
 *     guest (vmm/probe_image.S) created on A under the baseline of A and B
 *     moves A -> B -> A; on every leg its SMCCC answers must equal, call
 *     for call, what its round 1 answered on A, and its round counter goes
 *     on (the guest's memory came along). Prints each leg's rounds, bytes,
 *     pause and downtime beside the same host's KVM floor (a probe VM
 *     created, run and ended: GET /v1/host/observed-abi). Then the same
 *     guest unpinned on the host offering the newer PSCI must be refused
 *     with 409 naming PSCI_VERSION before anything is paused (still
 *     running, no VM on the other side). Last, the faults, on one ticking
 *     Linux guest (256 MiB) migrating A -> B, each mid-copy: a cancel,
 *     B's link cut, B's pinvmd killed (-9); after each the guest must tick
 *     on on A, B's pinvm-vmm must end by itself and B list no VM and keep
 *     no VM directory. B's pinvmd, started again with a bearer token,
 *     refuses a wrong token before anything moves, and the right one moves
 *     the guest. CTL_A, CTL_B:
 *     the labs' control ports (the probe image is written into each lab's
 *     /images; B's pinvmd is killed and restarted through it).
 *     With "refused" (a pair whose vCPU state does not move, e.g. 6.12 and
 *     5.10): the probe guest under the baseline of both is refused on each
 *     way, A -> B and B -> A, before anything is paused, with 409
 *     migration_refused naming the register and rule of the destination's
 *     restore dry run; it runs on at the source, whose event history shows
 *     no pause and no migration, and the destination lists nothing new.
 *     Then the PSCI refusal as above; the fault is skipped.
 *
 *   test_lab_link down URL_A LINK_DOWN
 *     LINK_DOWN: a link address whose lab is down: a baseline naming it is
 *     one 502 peer_unreachable naming hosts[1] and the URL, within the
 *     peer client's bounds (5 s to connect, 30 s in all; printed).
 */
#include "check.h"
#include "client.h"
#include "probe_rounds.h"
#include "smccc.h"
#include "sse.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct client ca, cb;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* POST body (stolen) to c; returns the seconds it took. */
static double post(const struct client *c, const char *path, json_t *body, struct response *r)
{
	char *text = json_dumps(body, JSON_COMPACT);
	double t0 = now_s();

	json_decref(body);
	client_call(c, "POST", path, NULL, text, text ? strlen(text) : 0, NULL, r);
	free(text);
	return now_s() - t0;
}

static const char *rs(const struct response *r, const char *key)
{
	const char *s = response_str(r, key);

	return s ? s : "";
}

/* GET /v1/host/firmware-registers of c, or NULL. */
static json_t *registers(const struct client *c)
{
	struct response r;
	json_t *doc = NULL;

	client_call(c, "GET", "/v1/host/firmware-registers", NULL, NULL, 0, NULL, &r);
	if (r.status == 200)
		doc = json_incref(r.json);
	response_free(&r);
	return doc;
}

/* A stored profile without what differs by name and time. */
static json_t *comparable(const json_t *doc)
{
	json_t *c = json_deep_copy(doc);

	json_object_del(c, "name");
	json_object_del(c, "created_at");
	return c;
}

static void del_profile(const char *name)
{
	struct response r;
	char path[128];

	snprintf(path, sizeof(path), "/v1/profiles/%s", name);
	client_call(&ca, "DELETE", path, NULL, NULL, 0, NULL, &r);
	response_free(&r);
}

static void verdict(const char *profile, const char *link_b, const json_t *set_b)
{
	struct response by_url, inl;
	double t_url, t_inl;

	t_url = post(&ca, "/v1/compatibility",
		     json_pack("{s:s, s:{s:s}}", "profile", profile, "host", "url", link_b),
		     &by_url);
	t_inl = post(&ca, "/v1/compatibility",
		     json_pack("{s:s, s:O}", "profile", profile, "host", set_b), &inl);
	check(by_url.status == 200 && inl.status == 200 && json_equal(by_url.json, inl.json),
	      "the verdict on B by URL over the link is the verdict on B's set inline",
	      "profile %s: %ld %s\nvs %ld %s", profile, by_url.status, by_url.body, inl.status,
	      inl.body);
	printf("# verdict of %s on B: by URL %.3f s, inline %.3f s (compatible: %s)\n", profile,
	       t_url, t_inl, json_is_true(json_object_get(inl.json, "compatible")) ? "yes" : "no");
	response_free(&by_url);
	response_free(&inl);
}

static int pair(const char *link_b)
{
	struct response by_url, inl, cap;
	json_t *set_a = registers(&ca), *set_b = registers(&cb), *x, *y;
	double t_url, t_inl;

	if (!check(set_a && set_b, "both labs give their register sets", "A %p B %p",
		   (void *)set_a, (void *)set_b))
		return check_summary();
	printf("# A: %s, B: %s, B over the link: %s\n",
	       json_string_value(json_object_get(set_a, "kernel_release")),
	       json_string_value(json_object_get(set_b, "kernel_release")), link_b);
	del_profile("link-by-url");
	del_profile("link-inline");
	del_profile("link-capture-a");

	t_url = post(&ca, "/v1/baselines",
		     json_pack("{s:s, s:[O, {s:s}]}", "name", "link-by-url", "hosts", set_a,
			       "url", link_b),
		     &by_url);
	t_inl = post(&ca, "/v1/baselines",
		     json_pack("{s:s, s:[O, O]}", "name", "link-inline", "hosts", set_a, set_b),
		     &inl);
	x = comparable(by_url.json);
	y = comparable(inl.json);
	check(by_url.status == 201 && inl.status == 201 && json_equal(x, y),
	      "the baseline of A and B by URL over the link is the baseline of both sets inline",
	      "%ld %s\nvs %ld %s", by_url.status, by_url.body, inl.status, inl.body);
	printf("# baseline of A and B: by URL %.3f s, inline %.3f s\n", t_url, t_inl);
	json_decref(x);
	json_decref(y);
	response_free(&by_url);
	response_free(&inl);

	verdict("link-inline", link_b, set_b);
	post(&ca, "/v1/profiles", json_pack("{s:s, s:s}", "capture", "host", "name",
					    "link-capture-a"), &cap);
	if (check(cap.status == 201, "A captures its own host as a profile", "%ld %s",
		  cap.status, cap.body))
		verdict("link-capture-a", link_b, set_b);
	response_free(&cap);

	post(&ca, "/v1/baselines",
	     json_pack("{s:s, s:[O, {s:s}]}", "name", "link-bad", "hosts", set_a, "url",
		       "ftp://169.254.1.1"),
	     &by_url);
	check(by_url.status == 422 && !strcmp(rs(&by_url, "code"), "bad_url") &&
	      !strcmp(rs(&by_url, "field"), "hosts[1].url"),
	      "a peer URL that is not http(s): 422 bad_url at hosts[1].url", "%ld %s",
	      by_url.status, by_url.body);
	response_free(&by_url);

	del_profile("link-by-url");
	del_profile("link-inline");
	del_profile("link-capture-a");
	json_decref(set_a);
	json_decref(set_b);
	return check_summary();
}

static int down(const char *link_down)
{
	struct response r;
	json_t *set_a = registers(&ca), *p0;
	double t;

	if (!check(set_a != NULL, "lab A gives its register set", "no set"))
		return check_summary();
	t = post(&ca, "/v1/baselines",
		 json_pack("{s:s, s:[O, {s:s}]}", "name", "link-down", "hosts", set_a, "url",
			   link_down),
		 &r);
	p0 = json_array_get(json_object_get(r.json, "peers"), 0);
	check(r.status == 502 && !strcmp(rs(&r, "code"), "peer_unreachable") &&
	      !strcmp(rs(&r, "field"), "hosts[1]") && strstr(rs(&r, "detail"), link_down) &&
	      json_array_size(json_object_get(r.json, "peers")) == 1 &&
	      json_is_string(json_object_get(p0, "url")) &&
	      !strcmp(json_string_value(json_object_get(p0, "url")), link_down),
	      "a lab that is down on the link: 502 peer_unreachable naming hosts[1] and its URL",
	      "%ld %s", r.status, r.body);
	/* The bound, not a timing assertion: the request ends on its own. */
	printf("# the down peer was given up after %.3f s (connect bound 5 s)\n", t);
	response_free(&r);
	json_decref(set_a);
	return check_summary();
}

/* ------------------------------------------------------- migration */

#define LEG_TIMEOUT_S 600
#define ROUND_TIMEOUT_S 180

static long call_json(const struct client *cl, const char *method, const char *path,
		      json_t *body, struct response *r)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	client_call(cl, method, path, NULL, text, text ? strlen(text) : 0, NULL, r);
	free(text);
	return r->status;
}

static const char *js(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Creates and starts the probe guest on cl (profile NULL: unpinned); its
 * id (caller frees) or NULL. */
static char *probe_guest(const struct client *cl, const char *profile)
{
	json_t *spec = json_pack("{s:i, s:i, s:s, s:n}", "vcpus", 1, "memory_mib", 64, "kernel",
				 CLIENT_PROBE_IMAGE, "initrd");
	struct response r;
	char path[128], *id = NULL;

	if (profile)
		json_object_set_new(spec, "profile", json_string(profile));
	call_json(cl, "POST", "/v1/vms", spec, &r);
	if (r.status == 201 && response_str(&r, "id"))
		id = strdup(response_str(&r, "id"));
	check(id != NULL, "create the probe guest", "%s: %ld %s",
	      profile ? profile : "unpinned", r.status, r.body);
	response_free(&r);
	if (!id)
		return NULL;
	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	call_json(cl, "POST", path, json_pack("{s:s}", "action", "start"), &r);
	check(r.status == 200, "start it", "%ld %s", r.status, r.body);
	response_free(&r);
	return id;
}

/* The console of id on cl once round want (counting on from `after`) is
 * complete, or NULL after ROUND_TIMEOUT_S. */
static char *wait_round(const struct client *cl, const char *id, unsigned after,
			unsigned want)
{
	double t0 = client_now();

	while (client_now() - t0 < ROUND_TIMEOUT_S) {
		char *s = client_console(cl, id);

		if (s && probe_round_last(s, after) >= want)
			return s;
		free(s);
		usleep(300000);
	}
	return NULL;
}

/* Waits for the migration of id on cl to end; the VM's JSON (new). */
static json_t *wait_migration(const struct client *cl, const char *id)
{
	double t0 = client_now();
	json_t *vm = NULL;

	while (client_now() - t0 < LEG_TIMEOUT_S) {
		const char *phase;

		json_decref(vm);
		vm = client_get_vm(cl, id);
		phase = js(json_object_get(vm, "migration"), "phase");
		if (!strcmp(phase, "completed") || !strcmp(phase, "failed") ||
		    !strcmp(phase, "cancelled"))
			return vm;
		usleep(200000);
	}
	return vm;
}

static json_t *migrate_body(const char *link_to, const json_t *accept)
{
	json_t *b = json_pack("{s:s}", "destination", link_to);

	if (accept)
		json_object_set_new(b, "accept", json_deep_copy(accept));
	return b;
}

/* The differences a move's 202 says the destination keeps its own value
 * for (accept_rule.h): must be a list of register, rule, wanted and kept;
 * printed. Returns whether a workaround level is among them. */
static bool print_accepted(const char *name, const json_t *answer)
{
	const json_t *acc = json_object_get(answer, "accepted"), *a;
	bool whole = json_is_array(acc), level = false;
	size_t i;

	json_array_foreach(acc, i, a) {
		whole = whole && *js(a, "register") && *js(a, "rule") && *js(a, "wanted");
		level = level || !strcmp(js(a, "rule"), "workaround_level_differs");
		printf("# %s accepted: %s %s: the guest had %s, keeps %s\n", name, js(a, "register"),
		       js(a, "rule"), js(a, "wanted"), *js(a, "kept") ? js(a, "kept") : "nothing");
	}
	check(whole, "the 202 lists what the destination keeps of its own (accepted)",
	      "%s: %s with %zu entries", name, acc ? "an array" : "nothing", json_array_size(acc));
	return level;
}

/* The KVM floor of host cl: a probe VM built, run and ended (s). */
static double kvm_floor(const struct client *cl)
{
	struct response r;
	double t0 = client_now();

	client_call(cl, "GET", "/v1/host/observed-abi", NULL, NULL, 0, NULL, &r);
	response_free(&r);
	return client_now() - t0;
}

/*
 * One leg: id on `from` moves to `to` (its pinvmd at link_to). Checks the
 * guest's rounds go on there with round 1's answers (first, from the
 * guest's first host). *last: on entry the last round known on `from`
 * (its console may start after round 1: the guest came from elsewhere),
 * on return the last seen on `to`. accept (borrowed, NULL: none): the
 * rules of api/accept_rule.h the move may apply; the 202 must then report
 * what they covered. Returns the new id (caller frees) or NULL.
 */
static char *leg(const char *name, const struct client *from, const struct client *to,
		 const char *link_to, const char *id, const uint64_t *first, size_t nfirst,
		 unsigned *last, const json_t *accept)
{
	uint64_t x0[PROBE_ROUNDS_MAX_CALLS];
	struct response r;
	char path[160], *src_console = NULL, *dst_console = NULL, *dest = NULL;
	json_t *vm, *mig;
	unsigned n0, n1, differ = 0, host_level = 0;
	double t0 = client_now(), floor_s;
	bool level_accepted = false;
	size_t n;

	snprintf(path, sizeof(path), "/v1/vms/%s/migrate", id);
	call_json(from, "POST", path, migrate_body(link_to, accept), &r);
	check(r.status == 202 && json_object_get(r.json, "migration"),
	      "POST /v1/vms/{id}/migrate: 202 with the migration under way", "%s: %ld %s", name,
	      r.status, r.body);
	if (accept)
		level_accepted = print_accepted(name, r.json);
	response_free(&r);
	vm = wait_migration(from, id);
	mig = json_object_get(vm, "migration");
	if (!check(!strcmp(js(mig, "phase"), "completed"),
		   "the migration completes; the source VM ends", "%s: phase %s, error %s",
		   name, js(mig, "phase"), js(mig, "error"))) {
		json_decref(vm);
		return NULL;
	}
	check(!strcmp(js(vm, "state"), "stopped"), "the source VM is stopped after the move",
	      "%s: %s", name, js(vm, "state"));
	dest = strdup(js(mig, "destination_vm"));
	floor_s = kvm_floor(to);
	printf("MIGRATE %s: %lld rounds, %lld bytes, paused %lld ms, downtime %lld ms, total "
	       "%.1f s; KVM floor on the destination %.0f ms (probe VM built, run, ended)\n",
	       name, (long long)json_integer_value(json_object_get(mig, "rounds")),
	       (long long)json_integer_value(json_object_get(mig, "bytes_sent")),
	       (long long)json_integer_value(json_object_get(mig, "paused_ms")),
	       (long long)json_integer_value(json_object_get(mig, "downtime_ms")),
	       client_now() - t0, floor_s * 1000);
	json_decref(vm);
	vm = client_get_vm(to, dest);
	check(vm && !strcmp(js(vm, "state"), "running"), "the guest runs on the destination",
	      "%s: %s", name, vm ? js(vm, "state") : "no VM");
	json_decref(vm);
	src_console = client_console(from, id);
	n0 = src_console ? probe_round_last(src_console, *last) : 0;
	/* Round n0 + 1 may have begun on the source; n0 + 2 on is all here. */
	dst_console = wait_round(to, dest, n0 + 1, n0 + 3);
	if (!dst_console) {
		/* The round the pause cut may be whole here after all. */
		dst_console = wait_round(to, dest, n0, n0 + 3);
	}
	if (check(dst_console != NULL, "the probe's rounds go on from where they were",
		  "%s: nothing after round %u", name, n0)) {
		unsigned from_r = probe_round(dst_console, n0 + 1, x0, &n) ? n0 : n0 + 1;

		n1 = probe_round_last(dst_console, from_r);
		for (unsigned k = n0 + 2; k <= n1; k++) {
			probe_round(dst_console, k, x0, &n);
			for (size_t i = 0; i < n && i < nfirst; i++) {
				/* ARCH_FEATURES of a workaround answers the host's
				 * level, which KVM lets no VMM pin (it stores
				 * nothing) and 5.10 has no SMCCC filter to answer
				 * otherwise: a difference only where the 202
				 * listed it accepted (workaround_level_differs). */
				bool level = level_accepted &&
					     strstr(smccc_probe_calls[i].name, "FEATURES(WORKAROUND_");

				if (x0[i] == first[i])
					continue;
				differ += !level;
				host_level += level;
				printf("# %s: round %u call %zu (%s): 0x%llx, round 1: 0x%llx%s\n",
				       name, k, i, smccc_probe_calls[i].name,
				       (unsigned long long)x0[i], (unsigned long long)first[i],
				       level ? " (the destination host's level)" : "");
			}
		}
		check(differ == 0 && n1 >= n0 + 2,
		      "every SMCCC call answers on the destination as in round 1, call for call "
		      "(but a workaround level the 202 listed as accepted)",
		      "%s: %u answers differ", name, differ);
		printf("MIGRATE %s: probe rounds %u (source) -> %u (destination), %zu calls each, "
		       "%u answers differ, %u of them accepted workaround levels\n", name, n0,
		       n1, nfirst, differ + host_level, host_level);
		*last = n1;
	}
	free(src_console);
	free(dst_console);
	return dest;
}

static unsigned count_vms(const struct client *cl)
{
	json_t *doc = client_get_json(cl, "/v1/vms");
	unsigned n = (unsigned)json_array_size(json_object_get(doc, "vms"));

	json_decref(doc);
	return n;
}

static void delete_vm(const struct client *cl, const char *id)
{
	struct response r;
	char path[128];

	snprintf(path, sizeof(path), "/v1/vms/%s", id);
	client_call(cl, "DELETE", path, NULL, NULL, 0, NULL, &r);
	response_free(&r);
}

static uint64_t psci_of(const json_t *set)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(set, "registers"), i, e)
		if (!strcmp(js(e, "name"), "PSCI_VERSION"))
			return strtoull(js(e, "value"), NULL, 16);
	return 0;
}

/* The unpinned guest on the host with the newer PSCI: 409 before pause. */
static void refusal(const struct client *a, const struct client *b, const char *link_a,
		    const char *link_b, const json_t *set_a, const json_t *set_b)
{
	bool a_newer = psci_of(set_a) > psci_of(set_b);
	const struct client *src = a_newer ? a : b, *dst = a_newer ? b : a;
	const char *link = a_newer ? link_b : link_a;
	unsigned before = count_vms(dst);
	struct response r;
	char path[160], *id, *s;
	json_t *vm;

	if (psci_of(set_a) == psci_of(set_b)) {
		printf("# both hosts offer the same PSCI: no PSCI refusal to prove here\n");
		return;
	}
	s = NULL;
	id = probe_guest(src, NULL);
	if (!id)
		return;
	s = wait_round(src, id, 0, 1);
	free(s);
	snprintf(path, sizeof(path), "/v1/vms/%s/migrate", id);
	call_json(src, "POST", path, json_pack("{s:s}", "destination", link), &r);
	check(r.status == 409 && !strcmp(rs(&r, "code"), "migration_refused") &&
	      !strcmp(rs(&r, "field"), "registers.PSCI_VERSION") &&
	      !strcmp(rs(&r, "register"), "PSCI_VERSION") && strcmp(rs(&r, "rule"), ""),
	      "an unpinned guest for a host with an older PSCI: 409 naming PSCI_VERSION and the "
	      "rule", "%ld %s", r.status, r.body);
	printf("# refusal: %s\n", rs(&r, "detail"));
	response_free(&r);
	vm = client_get_vm(src, id);
	check(vm && !strcmp(js(vm, "state"), "running") && !json_object_get(vm, "migration"),
	      "the refused guest still runs on the source, never paused", "%s",
	      vm ? js(vm, "state") : "gone");
	json_decref(vm);
	s = client_console(src, id);
	{
		unsigned n = s ? probe_round_last(s, 0) : 0;
		char *later;

		free(s);
		later = wait_round(src, id, 0, n + 1);
		check(later != NULL, "its rounds go on", "stuck at %u", n);
		free(later);
	}
	check(count_vms(dst) == before, "nothing was created on the destination", "%u VMs, %u before",
	      count_vms(dst), before);
	delete_vm(src, id);
	free(id);
}

#define LINUX_KERNEL "debian-6.1-arm64.Image"
#define LINUX_INITRD "busybox-initramfs.cpio.gz"

static char *lab_sh(const struct client *ctl, const char *cmd)
{
	return client_post_text(ctl, "/cgi-bin/run", cmd);
}

static size_t console_len(const struct client *cl, const char *id)
{
	char *s = client_console(cl, id);
	size_t n = s ? strlen(s) : 0;

	free(s);
	return n;
}

/* Waits (bounded) for the console of id to grow past n bytes. */
static bool console_grows(const struct client *cl, const char *id, size_t n, int seconds)
{
	double t0 = client_now();

	while (client_now() - t0 < seconds) {
		if (console_len(cl, id) > n)
			return true;
		usleep(500000);
	}
	return false;
}

/* B's token once its pinvmd is started again with one (the last faults). */
#define B_TOKEN "lab-link-token-0123456789abcdef"

/*
 * Starts migrating id from A to link_b (with a bearer token for B when
 * token is not NULL); the answer's status, and *phase the phase right
 * after (caller frees), so the caller knows the copy is still under way;
 * a refusal's problem code in *phase instead.
 */
static long migrate_start(const char *id, const char *link_b, const char *token, char **phase)
{
	json_t *body = json_pack("{s:s}", "destination", link_b);
	struct response r;
	char path[160];
	json_t *vm;
	long st;

	if (token)
		json_object_set_new(body, "token", json_string(token));
	snprintf(path, sizeof(path), "/v1/vms/%s/migrate", id);
	call_json(&ca, "POST", path, body, &r);
	st = r.status;
	if (st != 202) {
		printf("# migrate: %ld %s\n", r.status, r.body ? r.body : r.error);
		*phase = strdup(rs(&r, "code"));
		response_free(&r);
		return st;
	}
	response_free(&r);
	vm = client_get_vm(&ca, id);
	*phase = strdup(js(json_object_get(vm, "migration"), "phase"));
	json_decref(vm);
	return st;
}

/*
 * After a migration of id that did not happen: it must end in phase `want`
 * with the guest running and ticking on A.
 */
static void on_a(const char *what, const char *id, const char *want)
{
	json_t *vm = wait_migration(&ca, id), *mig = json_object_get(vm, "migration");
	size_t n;

	check(!strcmp(js(mig, "phase"), want) && !strcmp(js(vm, "state"), "running"),
	      "the migration ends and the guest runs on A", "%s: phase %s (%s), state %s", what,
	      js(mig, "phase"), js(mig, "error"), js(vm, "state"));
	printf("# fault %s: %s %s\n", what, js(mig, "phase"), js(mig, "error"));
	json_decref(vm);
	n = console_len(&ca, id);
	check(console_grows(&ca, id, n, 60), "its console goes on (ticks) on A",
	      "%s: stuck at %zu bytes", what, n);
}

/*
 * ... and B must be left clean: its receiving pinvm-vmm ended by itself
 * (bounded: its idle timeout), then (its pinvmd started again with
 * B_TOKEN when `restart`) no VM listed and no VM directory.
 */
static void b_clean(const char *what, const struct client *ctl_b, bool restart)
{
	double t0 = client_now();
	unsigned nb = 1;
	char *out;

	/* A VM's pinvm-vmm, not B's standby (named pinvm-standby until a VM
	 * takes it: pinvmd --standby-vmms). */
	out = lab_sh(ctl_b, "vmms() { for p in $(pidof pinvm-vmm); do "
			    "[ \"$(cat /proc/$p/comm 2>/dev/null)\" = pinvm-vmm ] && echo $p; done; }; "
			    "for i in $(seq 1 1500); do [ -z \"$(vmms)\" ] && break; "
			    "usleep 100000; done; [ -n \"$(vmms)\" ] && echo lingers; "
			    "echo done");
	check(out && !strstr(out, "lingers"), "B's receiving pinvm-vmm ended by itself",
	      "%s: %s after %.0f s", what, out ? out : "no answer", client_now() - t0);
	free(out);
	if (restart) {
		free(lab_sh(ctl_b, "umask 077; echo " B_TOKEN " >/run/lab-token; setsid "
				   "/usr/bin/pinvmd $(cat /run/pinvmd.args) --token-file "
				   "/run/lab-token </dev/null >/dev/console 2>&1 & echo started"));
		snprintf(cb.token, sizeof(cb.token), "%s", B_TOKEN);
		t0 = client_now();
		while (client_now() - t0 < 60) {
			json_t *h = client_get_json(&cb, "/v1/vms");

			json_decref(h);
			if (h)
				break;
			usleep(300000);
		}
	}
	/* B's pinvmd forgets the VM once its pinvm-vmm is reaped. */
	t0 = client_now();
	while (client_now() - t0 < 60 && (nb = count_vms(&cb)) != 0)
		usleep(300000);
	check(nb == 0, "B lists no VM", "%s: %u VMs", what, nb);
	out = lab_sh(ctl_b, "ls /var/lib/pinvm/vms | wc -l");
	check(out && atoi(out) == 0, "B has no VM directory left", "%s: %s", what,
	      out ? out : "no answer");
	free(out);
}

/* Starts migrating id to B (no token) and checks the copy is under way. */
static void start_copy(const char *what, const char *id, const char *link_b)
{
	char *phase = NULL, name[96];
	long st = migrate_start(id, link_b, NULL, &phase);

	snprintf(name, sizeof(name), "%s: the migration to B starts and copies", what);
	check(st == 202 && !strcmp(phase, "precopy"), name, "phase %s", phase);
	free(phase);
}

/* Runs cmd in the lab behind ctl; whether its output says `word`. */
static bool lab_says(const struct client *ctl, const char *cmd, const char *word)
{
	char *out = lab_sh(ctl, cmd);
	bool yes = out && strstr(out, word);

	free(out);
	return yes;
}

/* A ticking Linux guest (2 vCPUs, 256 MiB, under mig-base) created and
 * started on A with cmdline; its id (caller frees) or NULL. */
static char *linux_guest_on_a(const char *cmdline, const char *what)
{
	json_t *spec = json_pack("{s:i, s:i, s:s, s:s, s:s, s:s}", "vcpus", 2, "memory_mib", 256,
				 "kernel", LINUX_KERNEL, "initrd", LINUX_INITRD, "cmdline",
				 cmdline, "profile", "mig-base");
	struct response r;
	char path[160], *id = NULL;

	call_json(&ca, "POST", "/v1/vms", spec, &r);
	if (r.status == 201 && response_str(&r, "id"))
		id = strdup(response_str(&r, "id"));
	check(id != NULL, what, "%ld %s", r.status, r.body);
	response_free(&r);
	if (!id)
		return NULL;
	snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
	call_json(&ca, "POST", path, json_pack("{s:s}", "action", "start"), &r);
	response_free(&r);
	return id;
}

/*
 * The faults, one after another on one ticking Linux guest (256 MiB) on A,
 * each while the copy is under way (round 1 alone is 256 MiB to read):
 * a cancel, the link cut, B's pinvmd killed (-9); then B's pinvmd started
 * again with a bearer token, a wrong token refused before anything moves,
 * and the right one moving the guest.
 */
static void fault(const char *link_b, const struct client *ctl_b)
{
	struct response r;
	char path[160], *id, *phase = NULL;
	json_t *vm;
	double t0;
	long st;
	bool up;

	id = linux_guest_on_a("console=ttyS0 pinvm.tick=1",
			      "fault: a 256 MiB ticking Linux guest on A");
	if (!id)
		return;
	check(console_grows(&ca, id, 2000, ROUND_TIMEOUT_S), "fault: it boots and prints",
	      "no console");

	/* A cancel mid-copy. */
	start_copy("cancel", id, link_b);
	snprintf(path, sizeof(path), "/v1/vms/%s/migrate", id);
	client_call(&ca, "DELETE", path, NULL, NULL, 0, NULL, &r);
	check(r.status == 202, "cancel: DELETE .../migrate is taken", "%ld %s", r.status, r.body);
	response_free(&r);
	on_a("cancel", id, "cancelled");
	b_clean("cancel", ctl_b, false);

	/* The link cut mid-copy (B's NIC down): no reset ever comes; the
	 * stream's TCP ends when nothing is acknowledged (migrate_relay.h). */
	start_copy("link cut", id, link_b);
	check(lab_says(ctl_b, "ip link set $(cat /run/lab-link-dev) down && echo cut", "cut"),
	      "link cut: B's link is down mid-copy", "no answer");
	t0 = client_now();
	vm = wait_migration(&ca, id);
	printf("# link cut: the source gave up after %.1f s\n", client_now() - t0);
	json_decref(vm);
	up = lab_says(ctl_b, "ip link set $(cat /run/lab-link-dev) up && echo up", "up");
	on_a("link cut", id, "failed");
	check(up, "link cut: the link mended", "no answer");
	b_clean("link cut", ctl_b, false);

	/* B's pinvmd killed (-9) mid-copy, then started again with a token. */
	start_copy("kill", id, link_b);
	check(lab_says(ctl_b, "touch /run/lab-hold; p=$(pidof pinvmd) && kill -9 $p && echo killed",
		       "killed"),
	      "kill: B's pinvmd is killed (-9) mid-copy", "no answer");
	on_a("kill", id, "failed");
	b_clean("kill", ctl_b, true);

	/* A wrong token: B answers 401 to the first request; nothing moves. */
	st = migrate_start(id, link_b, "not-" B_TOKEN, &phase);
	check(st == 502 && !strcmp(phase, "peer_unauthorized"),
	      "wrong token: 502 peer_unauthorized before anything moves", "%s", phase);
	free(phase);
	vm = client_get_vm(&ca, id);
	check(!strcmp(js(vm, "state"), "running"), "wrong token: the guest runs on A", "%s",
	      js(vm, "state"));
	json_decref(vm);
	check(count_vms(&cb) == 0, "wrong token: B lists no VM", "%u", count_vms(&cb));

	/* The right token moves it. */
	st = migrate_start(id, link_b, B_TOKEN, &phase);
	check(st == 202, "token: the migration to B starts", "phase %s", phase);
	free(phase);
	vm = wait_migration(&ca, id);
	check(!strcmp(js(json_object_get(vm, "migration"), "phase"), "completed"),
	      "token: the guest moves to B with the bearer token", "%s (%s)",
	      js(json_object_get(vm, "migration"), "phase"),
	      js(json_object_get(vm, "migration"), "error"));
	json_decref(vm);
	vm = client_get_json(&cb, "/v1/vms");
	{
		json_t *b0 = json_array_get(json_object_get(vm, "vms"), 0);
		char *id_b = b0 ? strdup(js(b0, "id")) : NULL;
		size_t n = id_b ? console_len(&cb, id_b) : 0;

		check(id_b && json_array_size(json_object_get(vm, "vms")) == 1 &&
			      !strcmp(js(b0, "state"), "running") &&
			      console_grows(&cb, id_b, n, 60),
		      "token: the guest runs and ticks on B", "%s",
		      b0 ? js(b0, "state") : "not listed");
		if (id_b)
			delete_vm(&cb, id_b);
		free(id_b);
	}
	json_decref(vm);
	delete_vm(&ca, id);
	free(id);
}

/* The last "pinvm-guest-clock I up=S online=CPUS ran-on=C" line of the
 * console of id on cl (deploy/lab/guest-init): false when there is none. */
static bool last_clock(const struct client *cl, const char *id, unsigned *tick, double *up,
		       char online[16])
{
	char *s = client_console(cl, id), *p = NULL, *q;
	bool ok = false;

	for (q = s; q && (q = strstr(q, "pinvm-guest-clock ")); q++)
		p = q;
	if (p)
		ok = sscanf(p, "pinvm-guest-clock %u up=%lf online=%15s", tick, up, online) == 3;
	free(s);
	return ok;
}

/*
 * One move of the ticking Linux guest id on `from` to `to` (at link_to),
 * accepting accept: the migration completes, and on `to` the guest ticks
 * on from where it was (a tick after *tick, an uptime not below *up: the
 * counter never restarted) with both vCPUs online ("0-1") and the second
 * one running a task. *tick, *up: updated to the destination's. Returns
 * the destination's id (caller frees) or NULL.
 */
static char *linux_leg(const char *name, const struct client *from, const struct client *to,
		       const char *link_to, const char *id, const json_t *accept, unsigned *tick,
		       double *up)
{
	char path[160], online[16] = "", *dest = NULL;
	unsigned t = 0;
	double u = 0, t0;
	struct response r;
	json_t *vm;

	snprintf(path, sizeof(path), "/v1/vms/%s/migrate", id);
	call_json(from, "POST", path, migrate_body(link_to, accept), &r);
	check(r.status == 202, "Linux guest: the move starts", "%s: %ld %s", name, r.status,
	      r.body);
	print_accepted(name, r.json);
	response_free(&r);
	vm = wait_migration(from, id);
	if (check(!strcmp(js(json_object_get(vm, "migration"), "phase"), "completed"),
		  "Linux guest: the move completes", "%s: %s (%s)", name,
		  js(json_object_get(vm, "migration"), "phase"),
		  js(json_object_get(vm, "migration"), "error")))
		dest = strdup(js(json_object_get(vm, "migration"), "destination_vm"));
	printf("MIGRATE %s Linux 2 vCPUs 256 MiB: paused %lld ms, downtime %lld ms\n", name,
	       (long long)json_integer_value(
		       json_object_get(json_object_get(vm, "migration"), "paused_ms")),
	       (long long)json_integer_value(
		       json_object_get(json_object_get(vm, "migration"), "downtime_ms")));
	json_decref(vm);
	if (!dest)
		return NULL;
	t0 = client_now();
	while (client_now() - t0 < 90 &&
	       !(last_clock(to, dest, &t, &u, online) && t > *tick + 1))
		usleep(500000);
	check(t > *tick + 1 && u >= *up && !strcmp(online, "0-1"),
	      "Linux guest: it ticks on at the destination, its clock never restarted, both "
	      "vCPUs online", "%s: tick %u after %u, up %.2f after %.2f, online %s", name, t,
	      *tick, u, *up, online);
	printf("# %s: tick %u up=%.2f before, tick %u up=%.2f online=%s after\n", name, *tick, *up,
	       t, u, online);
	*tick = t;
	*up = u;
	return dest;
}

/*
 * The proof with a Linux guest: 2 vCPUs, 256 MiB, ticking with
 * its clock, created on A under the baseline of A and B, moved A -> B ->
 * A accepting accept; on each leg its clock goes on.
 */
static void linux_round_trip(const char *link_a, const char *link_b, const json_t *accept)
{
	char online[16] = "", *id, *id_b = NULL, *id_a2 = NULL;
	unsigned tick = 0;
	double up = 0, t0 = client_now();

	id = linux_guest_on_a("console=ttyS0 pinvm.tick=1 pinvm.clock=1",
			      "Linux guest: 2 vCPUs, 256 MiB, ticking, on A under the baseline");
	if (!id)
		return;
	while (client_now() - t0 < ROUND_TIMEOUT_S &&
	       !(last_clock(&ca, id, &tick, &up, online) && tick >= 3))
		usleep(500000);
	check(tick >= 3 && !strcmp(online, "0-1"), "Linux guest: it boots and ticks on A",
	      "tick %u online %s", tick, online);
	id_b = linux_leg("A->B", &ca, &cb, link_b, id, accept, &tick, &up);
	if (id_b)
		id_a2 = linux_leg("B->A", &cb, &ca, link_a, id_b, accept, &tick, &up);
	if (id_a2)
		delete_vm(&ca, id_a2);
	if (id_b)
		delete_vm(&cb, id_b);
	delete_vm(&ca, id);
	free(id_a2);
	free(id_b);
	free(id);
}

/* pinvm-vmm's lines about building id and its pre-run image, from the lab
 * behind ctl, printed as comments (what the image costs: figures). */
static void print_prerun(const struct client *ctl, const char *id, const char *where)
{
	char cmd[256], *out, *line, *save = NULL;

	snprintf(cmd, sizeof(cmd), "grep -h -e 'pre-run image' -e 'created:' -e 'migrated in:' "
		 "/var/lib/pinvm/vms/%s/vmm.log", id);
	out = lab_sh(ctl, cmd);
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s: %s\n", where, line);
	free(out);
}

/* Whether id's whole event history on cl holds a pause or a migration
 * (what in *what); a history that cannot be read counts as one. */
static bool ever_paused(const struct client *cl, const char *id, char *what, size_t len)
{
	const char *colon = strrchr(cl->base, ':');
	struct sse_event ev;
	struct sse s;
	char target[192];
	bool seen = false;

	snprintf(target, sizeof(target), "/v1/events?vm=%s&last_event_id=0", id);
	if (!colon || !sse_open(&s, atoi(colon + 1), target, NULL, 10000) || s.status != 200) {
		snprintf(what, len, "no event history for %s", id);
		if (colon)
			sse_close(&s);
		return true;
	}
	/* The history comes at once; then the stream idles. */
	while (sse_next(&s, 3000, &ev) == 1) {
		const char *state = js(ev.data, "state");

		if (!strcmp(ev.type, "vm.migration") || !strcmp(state, "paused")) {
			seen = true;
			snprintf(what, len, "event %llu: %s %s", ev.id, ev.type, state);
		}
		sse_event_clear(&ev);
	}
	sse_close(&s);
	return seen;
}

/* -1, 0 or 1 as the workaround levels of set a are below, equal to or
 * above b's (the first that differs, in id order). */
static int levels_cmp(const json_t *a, const json_t *b)
{
	json_t *e, *f;
	size_t i, k;

	json_array_foreach(json_object_get(a, "registers"), i, e) {
		if (!strstr(js(e, "name"), "WORKAROUND"))
			continue;
		json_array_foreach(json_object_get(b, "registers"), k, f) {
			unsigned long long x = strtoull(js(e, "value"), NULL, 16),
					   y = strtoull(js(f, "value"), NULL, 16);

			if (!strcmp(js(e, "name"), js(f, "name")) && x != y)
				return x < y ? -1 : 1;
		}
	}
	return 0;
}

/*
 * A pair whose vCPU state does not move (docs/snapshot-design.md section
 * 10: 6.x and 5.10, 6.12 and 6.1): the probe guest under the baseline of
 * both is refused on its way from `from` to `to` before anything is
 * paused, and the guest runs on, its events show no pause and no
 * migration, and the destination lists nothing new. The refusal: 409
 * migration_refused naming a register and the rule of the destination's
 * restore dry run, with its verdict. Where `to` answers a workaround level
 * above the one the guest was told (6.x -> 5.10), that is accepted by name
 * (workaround_level_differs), so that the vCPU state is what refuses;
 * where `to`'s is below it (5.10 -> 6.x: the guest was told "not
 * required"), the firmware refuses first (workaround_level_above_host),
 * and no rule can accept that.
 */
static void vcpu_refusal(const char *name, const struct client *from, const struct client *to,
			 const char *link_to, const struct client *ctl_from, const json_t *set_from,
			 const json_t *set_to)
{
	static const char *const rules[] = { "register_absent_on_target", "register_refused",
					     "id_register_differs", "vgic_incompatible",
					     "counter_frequency_differs", "cache_geometry_differs",
					     "el2_feature_differs", "pmu_id_differs",
					     "vgic_revision_differs", NULL };
	unsigned before = count_vms(to), n;
	char path[160], what[200] = "", *id, *s;
	const char *rule;
	struct response r;
	bool known = false;
	double t0;
	json_t *vm;
	int cmp;

	id = probe_guest(from, "mig-base");
	if (!id)
		return;
	s = wait_round(from, id, 0, 1);
	check(s != NULL, "the probe guest runs its first round on the source", "%s", name);
	free(s);
	print_prerun(ctl_from, id, name);
	snprintf(path, sizeof(path), "/v1/vms/%s/migrate", id);
	t0 = client_now();
	cmp = levels_cmp(set_from, set_to);
	call_json(from, "POST", path,
		  cmp < 0 ? json_pack("{s:s, s:[s]}", "destination", link_to, "accept",
				      "workaround_level_differs")
			  : json_pack("{s:s}", "destination", link_to),
		  &r);
	rule = rs(&r, "rule");
	for (size_t i = 0; rules[i]; i++)
		known = known || !strcmp(rule, rules[i]);
	if (cmp > 0)
		check(r.status == 409 && !strcmp(rs(&r, "code"), "migration_refused") &&
			      !strncmp(rs(&r, "field"), "registers.SMCCC_ARCH_WORKAROUND_", 32) &&
			      !strcmp(rule, "workaround_level_above_host"),
		      "a guest told a workaround level the destination does not offer: 409 "
		      "before the pause, naming the register and the rule",
		      "%s: %ld %s", name, r.status, r.body);
	else
		check(r.status == 409 && !strcmp(rs(&r, "code"), "migration_refused") &&
			      !strncmp(rs(&r, "field"), "registers.", 10) && *rs(&r, "register") &&
			      known && json_is_object(json_object_get(r.json, "restore_check")),
		      "a guest whose vCPU state the destination's KVM cannot take: 409 before the "
		      "pause, naming the register and the dry run's rule",
		      "%s: %ld %s", name, r.status, r.body);
	printf("MIGRATE %s: refused before the pause in %.0f ms: register %s, rule %s, wanted %s, "
	       "offered %s\n", name, (client_now() - t0) * 1000, rs(&r, "register"), rule,
	       rs(&r, "wanted"), *rs(&r, "offered") ? rs(&r, "offered") : "nothing");
	printf("# %s: %s\n", name, rs(&r, "detail"));
	response_free(&r);
	vm = client_get_vm(from, id);
	check(vm && !strcmp(js(vm, "state"), "running") && !json_object_get(vm, "migration"),
	      "the refused guest still runs on the source, no migration recorded", "%s: %s", name,
	      vm ? js(vm, "state") : "gone");
	json_decref(vm);
	check(!ever_paused(from, id, what, sizeof(what)),
	      "its events show no pause and no migration", "%s: %s", name, what);
	s = client_console(from, id);
	n = s ? probe_round_last(s, 0) : 0;
	free(s);
	s = wait_round(from, id, 0, n + 1);
	check(s != NULL, "its rounds go on", "%s: stuck at %u", name, n);
	free(s);
	check(count_vms(to) == before, "nothing was created on the destination",
	      "%s: %u VMs, %u before", name, count_vms(to), before);
	delete_vm(from, id);
	free(id);
}

enum pair_kind { PAIR_MOVES, PAIR_REFUSED, PAIR_ACCEPTING };

static int migrate(const char *link_a, const char *link_b, const struct client *ctl_a,
		   const struct client *ctl_b, enum pair_kind kind)
{
	uint64_t first[PROBE_ROUNDS_MAX_CALLS];
	json_t *set_a = registers(&ca), *set_b = registers(&cb), *accept = NULL;
	struct response r;
	char *out, *id, *id_b, *id_a2, *s;
	size_t nfirst = 0;
	unsigned last = 0;

	if (!check(set_a && set_b, "both labs give their register sets", "A %p B %p",
		   (void *)set_a, (void *)set_b))
		return check_summary();
	out = client_lab_probe_image(ctl_a);
	check(!out, "the probe guest's image written into A's /images", "%s", out ? out : "");
	free(out);
	out = client_lab_probe_image(ctl_b);
	check(!out, "the probe guest's image written into B's /images", "%s", out ? out : "");
	free(out);
	del_profile("mig-base");
	call_json(&ca, "POST", "/v1/baselines",
		  json_pack("{s:s, s:[O, {s:s}]}", "name", "mig-base", "hosts", set_a, "url",
			    link_b),
		  &r);
	check(r.status == 201, "the baseline of A and B (B by URL)", "%ld %s", r.status, r.body);
	response_free(&r);
	/* B needs the profile too for the way back: the same document. */
	{
		json_t *doc = client_get_json(&ca, "/v1/profiles/mig-base");

		if (doc) {
			json_object_del(doc, "created_at");
			call_json(&cb, "DELETE", "/v1/profiles/mig-base", NULL, &r);
			response_free(&r);
			call_json(&cb, "POST", "/v1/profiles", doc, &r);
			response_free(&r);
		}
	}
	if (kind != PAIR_MOVES) {
		/* Refused both ways before the pause, naming the rule. */
		vcpu_refusal("A->B", &ca, &cb, link_b, ctl_a, set_a, set_b);
		vcpu_refusal("B->A", &cb, &ca, link_a, ctl_b, set_b, set_a);
	}
	if (kind == PAIR_REFUSED) {
		/* Nothing moves, so the fault (a copy cut mid-way) has no
		 * copy to cut. */
		refusal(&ca, &cb, link_a, link_b, set_a, set_b);
		printf("# fault: skipped (this pair's guests are refused before any copy)\n");
		goto out;
	}
	/* Accepting every rule of api/accept_rule.h: what each covers
	 * stays the destination's own, reported in the 202. */
	if (kind == PAIR_ACCEPTING)
		accept = json_pack("[s,s,s,s,s]", "cache_geometry_differs", "el2_feature_differs",
				   "pmu_id_differs", "vgic_revision_differs",
				   "workaround_level_differs");
	id = probe_guest(&ca, "mig-base");
	if (!id)
		goto out;
	s = wait_round(&ca, id, 0, 2);
	if (check(s && probe_round(s, 1, first, &nfirst) && nfirst == smccc_probe_ncalls,
		  "the probe guest answers its first rounds on A", "%s", s ? "partial" : "none"))
		printf("# A: the probe guest runs, %zu calls a round\n", nfirst);
	free(s);
	print_prerun(ctl_a, id, "A");
	id_b = leg("A->B", &ca, &cb, link_b, id, first, nfirst, &last, accept);
	if (id_b) {
		print_prerun(ctl_b, id_b, "B");
		id_a2 = leg("B->A", &cb, &ca, link_a, id_b, first, nfirst, &last, accept);
		if (id_a2) {
			print_prerun(ctl_a, id_a2, "A again");
			delete_vm(&ca, id_a2);
			free(id_a2);
		}
		delete_vm(&cb, id_b);
		free(id_b);
	}
	delete_vm(&ca, id);
	free(id);
	if (accept)
		linux_round_trip(link_a, link_b, accept);
	refusal(&ca, &cb, link_a, link_b, set_a, set_b);
	if (accept)
		printf("# fault: run on the pair whose state moves as it is (6.12 and latest)\n");
	else
		fault(link_b, ctl_b);
out:
	json_decref(accept);
	json_decref(set_a);
	json_decref(set_b);
	return check_summary();
}

int main(int argc, char **argv)
{
	int ret = 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc == 5 && !strcmp(argv[1], "pair")) {
		snprintf(ca.base, sizeof(ca.base), "%s", argv[2]);
		snprintf(cb.base, sizeof(cb.base), "%s", argv[3]);
		ret = pair(argv[4]);
	} else if ((argc == 8 || (argc == 9 && (!strcmp(argv[8], "moves") ||
						  !strcmp(argv[8], "refused") ||
						  !strcmp(argv[8], "accepting")))) &&
		   !strcmp(argv[1], "migrate")) {
		struct client ctl_a = { 0 }, ctl_b = { 0 };

		snprintf(ca.base, sizeof(ca.base), "%s", argv[2]);
		snprintf(cb.base, sizeof(cb.base), "%s", argv[3]);
		snprintf(ctl_a.base, sizeof(ctl_a.base), "%s", argv[6]);
		snprintf(ctl_b.base, sizeof(ctl_b.base), "%s", argv[7]);
		ret = migrate(argv[4], argv[5], &ctl_a, &ctl_b,
			      argc == 8 || !strcmp(argv[8], "moves") ? PAIR_MOVES
			      : !strcmp(argv[8], "refused")          ? PAIR_REFUSED
								     : PAIR_ACCEPTING);
	} else if (argc == 4 && !strcmp(argv[1], "down")) {
		snprintf(ca.base, sizeof(ca.base), "%s", argv[2]);
		ret = down(argv[3]);
	} else {
		fprintf(stderr, "usage: test_lab_link pair URL_A URL_B LINK_B\n"
				"       test_lab_link migrate URL_A URL_B LINK_A LINK_B CTL_A CTL_B "
				"[moves|refused|accepting]\n"
				"       test_lab_link down URL_A LINK_DOWN\n");
	}
	curl_global_cleanup();
	return ret;
}
