/*
 * The path an orchestrator waits on, in the lab (issue 16, item 3):
 * POST /v1/vms + start -> the guest's first instruction, beside the raw
 * KVM floor measured in the same lab run; then many small VMs created at
 * once: VMs per second, and the API's latency for other requests
 * meanwhile beside the same requests on an idle pinvmd.
 *
 * The guest is /images/off.Image, written here: an Image header whose
 * first instruction is PSCI SYSTEM_OFF (the floor's guest too), so "its
 * first instruction ran" is "the VM stopped with reason poweroff".
 * Figures only, never judged; a round that fails is reported and counted.
 *
 * usage: bench_lab_create URL CONTROL_URL [ROUNDS [CONCURRENT]]
 */
#include "client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* code0 "b 64" jumps over the header to: movz x0, #0x8400, lsl #16;
 * movk x0, #0x8 (PSCI SYSTEM_OFF); hvc #0. Little-endian, octal escapes. */
static const char *make_image =
	"f=/images/off.Image; "
	"printf '\\020\\000\\000\\024\\000\\000\\000\\000' > $f; "        /* code0: b 64 */
	"printf '\\000\\000\\000\\000\\000\\000\\000\\000' >> $f; "       /* text_offset 0 */
	"printf '\\000\\020\\000\\000\\000\\000\\000\\000' >> $f; "       /* image_size 4096 */
	"printf '\\002\\000\\000\\000\\000\\000\\000\\000' >> $f; "       /* flags: LE, 4K */
	"head -c 24 /dev/zero >> $f; printf 'ARM\\144' >> $f; "          /* magic at 56 */
	"head -c 4 /dev/zero >> $f; "                                   /* res5 */
	"printf '\\000\\200\\260\\322\\000\\001\\200\\362\\002\\000\\000\\324' >> $f; "
	"head -c 4020 /dev/zero >> $f; wc -c < $f";

static struct client c, ctl;

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of v[0..n) in ms (sorts v). */
static double quantile(double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i] * 1e3;
}

struct round {
	double post, start, first; /* seconds from the POST */
	bool ok;
	long post_status;          /* 0: no HTTP answer at all */
};

/* Runs cmd in the lab and prints each line of its output after prefix
 * (or prefix and missing when there was no output). */
static void print_lab_lines(const char *prefix, const char *cmd, const char *missing)
{
	char *out = client_post_text(&ctl, "/cgi-bin/run", cmd);

	for (char *line = out, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		printf("%s: %s\n", prefix, line);
	}
	if (!out)
		printf("%s: %s\n", prefix, missing);
	free(out);
}

/*
 * Where a create's time goes inside pinvm-vmm: its log's "created" line
 * (main() to the VM, and the VM's build step by step) and its pre-run
 * image line (how long the first op waited for it), read through the
 * lab's control port before the VM is deleted.
 */
static void print_vmm_steps(const char *id)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "grep -E ': created: |pre-run image: ' /var/lib/pinvm/vms/%s/vmm.log", id);
	print_lab_lines("BENCH create path inside pinvm-vmm", cmd, "not read");
}

/* One VM: POST and start (in one request with one_request: "start":
 * true), wait until it stopped by its own poweroff; with steps, print
 * where its time went inside pinvm-vmm. */
static struct round one_vm(const struct client *cl, bool steps, bool one_request)
{
	static const char spec[] = "{\"vcpus\": 1, \"memory_mib\": 32, \"kernel\": \"off.Image\"}";
	static const char spec_start[] = "{\"vcpus\": 1, \"memory_mib\": 32, "
					 "\"kernel\": \"off.Image\", \"start\": true}";
	const char *body = one_request ? spec_start : spec;
	struct round rd = { 0 };
	struct response r;
	char path[128], id[64] = "";
	double t0 = client_now();

	client_call(cl, "POST", "/v1/vms", NULL, body, strlen(body), NULL, &r);
	rd.post = client_now() - t0;
	rd.post_status = r.status;
	if (r.status == 201 && response_str(&r, "id"))
		snprintf(id, sizeof(id), "%s", response_str(&r, "id"));
	response_free(&r);
	if (!id[0])
		return rd;
	rd.start = rd.post;
	if (!one_request) {
		snprintf(path, sizeof(path), "/v1/vms/%s/actions", id);
		client_call(cl, "POST", path, NULL, "{\"action\": \"start\"}", 19, NULL, &r);
		rd.start = client_now() - t0;
		response_free(&r);
	}
	/* A long-poll, as an orchestrator would wait: answered when the VM
	 * changes state, with no client hammering the API meanwhile (64
	 * clients polling every 1 ms slowed the very creates they timed). */
	snprintf(path, sizeof(path), "/v1/vms/%s?wait_for=stopped&timeout=60", id);
	while (client_now() - t0 < 180) {
		const char *state;

		client_call(cl, "GET", path, NULL, NULL, 0, NULL, &r);
		state = response_str(&r, "state");
		if (state && (!strcmp(state, "stopped") || !strcmp(state, "failed"))) {
			rd.first = client_now() - t0;
			rd.ok = !strcmp(state, "stopped") &&
				!strncmp(response_str(&r, "reason") ?: "", "poweroff", 8);
			response_free(&r);
			break;
		}
		response_free(&r);
	}
	if (steps)
		print_vmm_steps(id);
	snprintf(path, sizeof(path), "/v1/vms/%s", id);
	client_call(cl, "DELETE", path, NULL, NULL, 0, NULL, &r);
	response_free(&r);
	return rd;
}

/* Latencies of GET /v1/host, one after another, until *stop. */
struct prober {
	pthread_t thread;
	struct client cl;
	atomic_bool *stop;
	double lat[20000];
	size_t n;
};

static void *probe_api(void *arg)
{
	struct prober *p = arg;

	while (!atomic_load(p->stop) && p->n < sizeof(p->lat) / sizeof(p->lat[0])) {
		struct response r;
		double t0 = client_now();

		client_call(&p->cl, "GET", "/v1/host", NULL, NULL, 0, NULL, &r);
		if (r.status == 200)
			p->lat[p->n++] = client_now() - t0;
		response_free(&r);
		usleep(2000);
	}
	return NULL;
}

struct creator {
	pthread_t thread;
	struct client cl;
	struct round rd;
};

static void *create_one(void *arg)
{
	struct creator *cr = arg;

	cr->rd = one_vm(&cr->cl, false, false);
	return NULL;
}

/*
 * Gives cl a connection of its own, opened now and kept (false: none).
 * The lab's API is QEMU's user-mode forward, whose listening socket has a
 * backlog of 1 (ss -ltn: Send-Q 1): 64 connects at once lose SYNs, and
 * the kernel's retransmission backoff (1, 3, 7 ... 63 s) then timed the
 * forward, not pinvmd (0.5 VMs/s, POSTs arriving a minute late, none of
 * them slow in pinvmd's log). Opened one by one beforehand, each creator
 * sends its requests at once over its own connection, as a client pool
 * of an orchestrator does.
 */
static bool connect_own(struct client *cl)
{
	struct response r;

	*cl = c;
	cl->conn = curl_easy_init();
	if (!cl->conn)
		return false;
	client_call(cl, "GET", "/v1/health", NULL, NULL, 0, NULL, &r);
	response_free(&r);
	return true;
}

/*
 * Where the last n creates' time went inside pinvmd: the medians of the
 * ms_* fields of its "vm created" log lines (server/vm_core.c), read from
 * the lab's console log (PINVM_LAB_LOG, which tests/run.sh sets).
 */
static void print_pinvmd_steps(size_t n)
{
	static const char *const keys[] = { "ms_checks", "ms_record", "ms_config", "ms_spawn",
					    "ms_built", "ms_persist", "ms_supervise", "ms_total" };
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	const char *path = getenv("PINVM_LAB_LOG");
	double *v[NKEYS] = { 0 };
	size_t have = 0, cap = 0;
	char line[4096], out[512] = "";
	FILE *f = path ? fopen(path, "r") : NULL;

	if (!f) {
		printf("BENCH create path inside pinvmd: not read (no lab log%s%s)\n",
		       path ? " at " : "", path ? path : "");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *brace = strchr(line, '{');
		json_t *doc;

		if (!brace || !strstr(line, "\"msg\":\"vm created\""))
			continue;
		doc = json_loads(brace, 0, NULL);
		if (!doc)
			continue;
		if (have == cap) {
			cap = cap ? 2 * cap : 64;
			for (size_t k = 0; k < NKEYS; k++) {
				double *p = realloc(v[k], cap * sizeof(double));

				if (!p)
					goto out;
				v[k] = p;
			}
		}
		for (size_t k = 0; k < NKEYS; k++)
			v[k][have] = json_real_value(json_object_get(doc, keys[k])) / 1e3;
		have++;
		json_decref(doc);
	}
	/* The last n: this benchmark's sequential creates. */
	if (have > n)
		for (size_t k = 0; k < NKEYS; k++)
			memmove(v[k], v[k] + (have - n), n * sizeof(double));
	if (have > n)
		have = n;
	for (size_t k = 0; k < NKEYS && have; k++) {
		size_t len = strlen(out);

		snprintf(out + len, sizeof(out) - len, "%s%s %.1f", k ? " " : "", keys[k] + 3,
			 quantile(v[k], have, 0.5));
	}
	printf("BENCH create path inside pinvmd (median of %zu creates, ms): %s\n", have,
	       have ? out : "no \"vm created\" lines");
out:
	for (size_t k = 0; k < NKEYS; k++)
		free(v[k]);
	fclose(f);
}

/* One spawn of the floor (kvm_floor.c --spawn 1) in the lab: its time
 * from the spawn to the child's exit, in seconds; -1 when not measured. */
static double floor_once(void)
{
	char *out = client_post_text(&ctl, "/cgi-bin/run", "/usr/bin/pinvm-bench-floor --spawn 1");
	const char *p = out ? strstr(out, "and exit ") : NULL;
	double ms = p ? strtod(p + strlen("and exit "), NULL) : -1;

	free(out);
	return ms > 0 ? ms / 1e3 : -1;
}

/* Until pinvmd's pool has a standby ready again (/metrics), at most 10 s:
 * false when it did not. */
static bool settled(void)
{
	double t0 = client_now();

	do {
		if (client_metric(&c, "pinvm_standby_vmms_ready") > 0)
			return true;
		usleep(20000);
	} while (client_now() - t0 < 10);
	return false;
}

/* One series' figures, seconds from the POST. */
struct series {
	double *post, *start, *first, *ratio;
	size_t n, nr;
	int failed;
};

static void series_add(struct series *s, const struct round *rd, double floor_s)
{
	if (!rd->ok) {
		s->failed++;
		return;
	}
	s->post[s->n] = rd->post;
	s->start[s->n] = rd->start;
	s->first[s->n++] = rd->first;
	if (floor_s > 0)
		s->ratio[s->nr++] = rd->first / floor_s / 1e3; /* quantile() prints ms */
}

static void series_print(struct series *s, const char *what, const char *start_what)
{
	printf("BENCH create path, %s (%zu rounds, %d failed): POST /v1/vms answered: median "
	       "%.1f ms; %s: median %.1f ms; -> first guest instruction median %.1f ms, p90 %.1f "
	       "ms (long-poll wait_for=stopped); pinvm / floor, round by round: median %.1fx "
	       "(target: 2x)\n",
	       what, s->n, s->failed, quantile(s->post, s->n, 0.5), start_what,
	       quantile(s->start, s->n, 0.5), quantile(s->first, s->n, 0.5),
	       quantile(s->first, s->n, 0.9), quantile(s->ratio, s->nr, 0.5));
}

static void sequential(int rounds)
{
	struct series two = { 0 }, one = { 0 };
	double *floors = calloc((size_t)rounds * 2, sizeof(double)), *v[8];
	size_t nf = 0;
	int unsettled = 0;
	bool ok = floors != NULL;
	char cmd[96];

	for (int k = 0; k < 8; k++)
		ok &= (v[k] = calloc((size_t)rounds, sizeof(double))) != NULL;
	two = (struct series){ .post = v[0], .start = v[1], .first = v[2], .ratio = v[3] };
	one = (struct series){ .post = v[4], .start = v[5], .first = v[6], .ratio = v[7] };
	/* Each create is followed by one spawn of the floor, so that the two
	 * share whatever else the machine is doing: the ratio of each pair
	 * holds under load where two separate series would drift apart. Both
	 * begin on a settled host: the standby a create took is replaced in
	 * the background, and that spawn would otherwise land on whichever of
	 * the two came next. The two ways to start (a second request, or
	 * "start": true in the POST) alternate. */
	for (int i = 0; i < 2 * rounds && ok; i++) {
		bool single = i % 2;
		struct round rd;
		double f;

		unsettled += !settled();
		/* The last round also says where its time went. */
		rd = one_vm(&c, i == 2 * rounds - 1, single);
		unsettled += !settled();
		f = floor_once();
		series_add(single ? &one : &two, &rd, f);
		if (f > 0)
			floors[nf++] = f;
	}
	series_print(&two, "two requests (POST, then start)", "+ start answered");
	series_print(&one, "one request (POST with \"start\": true)", "(the same answer)");
	print_pinvmd_steps(two.n + one.n);
	printf("BENCH create path floor, round by round (%zu spawns): median %.1f ms%s\n", nf,
	       quantile(floors, nf, 0.5),
	       unsettled ? "; some rounds began without a standby ready (10 s waited)" : "");
	/* The same, one request each, sent from inside the lab as the floor
	 * is spawned there (create_local.c): without QEMU's emulated
	 * user-mode network between this program and pinvmd. */
	snprintf(cmd, sizeof(cmd), "/usr/bin/pinvm-bench-create-local %d 2>&1", rounds);
	print_lab_lines("BENCH create path from inside the lab", cmd, "not measured");
	/* The floor, spawned as a process too, like pinvm-vmm. */
	print_lab_lines("BENCH create path floor",
			"/usr/bin/pinvm-bench-floor --spawn 20; /usr/bin/pinvm-bench-floor",
			"not measured");
	for (int k = 0; k < 8; k++)
		free(v[k]);
	free(floors);
}

static void concurrent(int want)
{
	struct creator *cr = calloc((size_t)want, sizeof(*cr));
	struct prober *idle = calloc(1, sizeof(*idle)), *busy = calloc(1, sizeof(*busy));
	atomic_bool stop = false;
	struct response r;
	double t0, elapsed, *first;
	size_t have = 0, n = 0;
	int ok = 0, unanswered = 0;

	if (!cr || !idle || !busy || !connect_own(&idle->cl) || !connect_own(&busy->cl))
		goto out;
	for (int i = 0; i < want; i++)
		if (!connect_own(&cr[i].cl))
			goto out;
	client_call(&c, "GET", "/v1/vms", NULL, NULL, 0, NULL, &r);
	have = json_array_size(json_object_get(r.json, "vms"));
	response_free(&r);
	if (have)
		printf("# %zu VMs exist already; --max-vms (64 by default) counts them\n", have);

	/* The API idle, for comparison: the same prober for ~2 s. */
	idle->stop = &stop;
	pthread_create(&idle->thread, NULL, probe_api, idle);
	t0 = client_now();
	while (client_now() - t0 < 2)
		usleep(100000);
	atomic_store(&stop, true);
	pthread_join(idle->thread, NULL);

	atomic_store(&stop, false);
	busy->stop = &stop;
	pthread_create(&busy->thread, NULL, probe_api, busy);
	t0 = client_now();
	for (int i = 0; i < want; i++)
		pthread_create(&cr[i].thread, NULL, create_one, &cr[i]);
	for (int i = 0; i < want; i++)
		pthread_join(cr[i].thread, NULL);
	elapsed = client_now() - t0;
	atomic_store(&stop, true);
	pthread_join(busy->thread, NULL);
	first = calloc((size_t)want, sizeof(double));
	for (int i = 0; i < want && first; i++) {
		if (cr[i].rd.ok) {
			ok++;
			first[n++] = cr[i].rd.first;
		} else if (cr[i].rd.post_status == 0) {
			unanswered++;
		}
	}
	/* Unanswered: the connection failed before any HTTP answer. */
	printf("BENCH %d VMs created at once: %d ran to their first instruction in %.2f s "
	       "(%.1f VMs/s; each: median %.0f ms, max %.0f ms; %d POSTs without an HTTP "
	       "answer)\n",
	       want, ok, elapsed, ok / elapsed, quantile(first, n, 0.5), quantile(first, n, 1.0),
	       unanswered);
	printf("BENCH API meanwhile (GET /v1/host): p50 %.1f ms, p99 %.1f ms (%zu requests); "
	       "idle: p50 %.1f ms, p99 %.1f ms (%zu requests)\n",
	       quantile(busy->lat, busy->n, 0.5), quantile(busy->lat, busy->n, 0.99), busy->n,
	       quantile(idle->lat, idle->n, 0.5), quantile(idle->lat, idle->n, 0.99), idle->n);
	free(first);
out:
	for (int i = 0; cr && i < want; i++)
		if (cr[i].cl.conn)
			curl_easy_cleanup(cr[i].cl.conn);
	if (idle && idle->cl.conn)
		curl_easy_cleanup(idle->cl.conn);
	if (busy && busy->cl.conn)
		curl_easy_cleanup(busy->cl.conn);
	free(cr);
	free(idle);
	free(busy);
}

int main(int argc, char **argv)
{
	int rounds = argc > 3 ? atoi(argv[3]) : 20, many = argc > 4 ? atoi(argv[4]) : 64;
	char *out;

	if (argc < 3 || rounds < 1 || many < 1) {
		fprintf(stderr, "usage: %s URL CONTROL_URL [ROUNDS [CONCURRENT]]\n", argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(c.base, sizeof(c.base), "%s", argv[1]);
	snprintf(ctl.base, sizeof(ctl.base), "%s", argv[2]);
	out = client_post_text(&ctl, "/cgi-bin/run", make_image);
	if (!out || atoi(out) != 4096) {
		printf("BENCH create path: not measured (could not write /images/off.Image: %s)\n",
		       out ? out : "no control port");
		free(out);
		curl_global_cleanup();
		return 1;
	}
	free(out);
	sequential(rounds);
	concurrent(many);
	free(client_post_text(&ctl, "/cgi-bin/run", "rm -f /images/off.Image"));
	curl_global_cleanup();
	return 0;
}
