#include "metrics.h"

#include "compat.h"
#include "server.h"
#include "vm_core.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 256
/* Routes (with "unmatched") x methods x the statuses pinvmd answers fit
 * with room to spare; the method label cannot grow it (see label_method). */
#define MAX_REQ_SERIES 1024
#define NBUCKETS 10

static const double bucket_le[NBUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
					    0.05, 0.1, 0.25, 1, 10 };

struct req_series {
	const char *route; /* static pattern from the route table */
	char method[8];
	unsigned status;
	unsigned long long count;
};

struct lat_series {
	const char *route;
	unsigned long long buckets[NBUCKETS];
	unsigned long long count;
	double sum;
};

struct refusal_series {
	char reg[48];
	char rule[48];
	unsigned long long count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct req_series reqs[MAX_REQ_SERIES];
static unsigned long long reqs_dropped;
static size_t nreqs;
static struct lat_series lats[MAX_SERIES];
static size_t nlats;
static struct refusal_series refusals[MAX_SERIES];
static size_t nrefusals;
static unsigned long long applied, refused;

/*
 * The method as a label: one of a fixed set, else "other". Taken verbatim,
 * a client chose label text (a '"' broke the exposition) and the number
 * of series (made-up methods filled the table, so real routes stopped
 * being counted).
 */
static const char *label_method(const char *method)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
					     "DELETE", "PATCH", "OPTIONS" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(method, known[i]))
			return known[i];
	return "other";
}

void metrics_request(const char *route, const char *method, unsigned status,
		     double seconds)
{
	size_t i;

	method = label_method(method);
	/* Statuses are pinvmd's own; anything else would be a bug, counted
	 * under one value rather than trusted. */
	if (status < 100 || status > 599)
		status = 500;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nreqs; i++)
		if (reqs[i].route == route && reqs[i].status == status &&
		    !strcmp(reqs[i].method, method))
			break;
	if (i == nreqs && nreqs < MAX_REQ_SERIES) {
		reqs[i].route = route;
		snprintf(reqs[i].method, sizeof(reqs[i].method), "%s", method);
		reqs[i].status = status;
		nreqs++;
	}
	if (i < nreqs)
		reqs[i].count++;
	else
		reqs_dropped++;
	for (i = 0; i < nlats && lats[i].route != route; i++)
		;
	if (i == nlats && nlats < MAX_SERIES)
		lats[nlats++].route = route;
	if (i < nlats) {
		for (size_t b = 0; b < NBUCKETS; b++)
			if (seconds <= bucket_le[b])
				lats[i].buckets[b]++;
		lats[i].count++;
		lats[i].sum += seconds;
	}
	pthread_mutex_unlock(&lock);
}

void metrics_profile(const struct compat_report *r)
{
	pthread_mutex_lock(&lock);
	if (r->compatible)
		applied++;
	else
		refused++;
	for (size_t e = 0; e < r->nentries; e++) {
		const struct compat_entry *ce = &r->entries[e];
		char reg[48];
		size_t i;

		if (ce->verdict != COMPAT_REFUSED)
			continue;
		if (ce->desc)
			snprintf(reg, sizeof(reg), "%s", ce->desc->name);
		else
			snprintf(reg, sizeof(reg), "0x%016llx", (unsigned long long)ce->id);
		for (i = 0; i < nrefusals; i++)
			if (!strcmp(refusals[i].reg, reg) &&
			    !strcmp(refusals[i].rule, ce->rule ? ce->rule : ""))
				break;
		if (i == nrefusals && nrefusals < MAX_SERIES) {
			snprintf(refusals[i].reg, sizeof(refusals[i].reg), "%s", reg);
			snprintf(refusals[i].rule, sizeof(refusals[i].rule), "%s",
				 ce->rule ? ce->rule : "");
			nrefusals++;
		}
		if (i < nrefusals)
			refusals[i].count++;
	}
	pthread_mutex_unlock(&lock);
}

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 8192;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);

		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

void handle_metrics_get(struct request *req, struct reply *rep)
{
	unsigned by_state[VM_STATE_COUNT] = { 0 }, standby;
	struct buf b = { 0 };
	size_t i;

	vm_core_count_by_state(req->srv->vms, by_state);
	standby = vm_core_standby_ready(req->srv->vms);
	put(&b, "# HELP pinvm_build_info pinvmd's version.\n# TYPE pinvm_build_info gauge\n");
	put(&b, "pinvm_build_info{version=\"%s\"} 1\n", PINVM_VERSION);
	pthread_mutex_lock(&lock);
	put(&b, "# HELP pinvm_http_requests_total Answered requests by route, method and status.\n"
		"# TYPE pinvm_http_requests_total counter\n");
	for (i = 0; i < nreqs; i++)
		put(&b, "pinvm_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
		    reqs[i].route, reqs[i].method, reqs[i].status, reqs[i].count);
	put(&b, "# HELP pinvm_http_requests_uncounted_total Requests the series table had no room for.\n"
		"# TYPE pinvm_http_requests_uncounted_total counter\n"
		"pinvm_http_requests_uncounted_total %llu\n", reqs_dropped);
	put(&b, "# HELP pinvm_http_request_duration_seconds Time to answer, by route.\n"
		"# TYPE pinvm_http_request_duration_seconds histogram\n");
	for (i = 0; i < nlats; i++) {
		for (size_t k = 0; k < NBUCKETS; k++)
			put(&b, "pinvm_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    lats[i].route, bucket_le[k], lats[i].buckets[k]);
		put(&b, "pinvm_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
		    lats[i].route, lats[i].count);
		put(&b, "pinvm_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
		    lats[i].route, lats[i].sum);
		put(&b, "pinvm_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    lats[i].route, lats[i].count);
	}
	put(&b, "# HELP pinvm_profile_applications_total Profiles applied to a probe or VM, by outcome.\n"
		"# TYPE pinvm_profile_applications_total counter\n");
	put(&b, "pinvm_profile_applications_total{result=\"applied\"} %llu\n", applied);
	put(&b, "pinvm_profile_applications_total{result=\"refused\"} %llu\n", refused);
	put(&b, "# HELP pinvm_profile_refusals_total Refused registers, by register and rule.\n"
		"# TYPE pinvm_profile_refusals_total counter\n");
	for (i = 0; i < nrefusals; i++)
		put(&b, "pinvm_profile_refusals_total{register=\"%s\",rule=\"%s\"} %llu\n",
		    refusals[i].reg, refusals[i].rule, refusals[i].count);
	pthread_mutex_unlock(&lock);
	put(&b, "# HELP pinvm_vms VMs by state.\n# TYPE pinvm_vms gauge\n");
	for (i = 0; i < VM_STATE_COUNT; i++)
		put(&b, "pinvm_vms{state=\"%s\"} %u\n", vm_state_name((enum vm_state)i), by_state[i]);
	put(&b, "# HELP pinvm_standby_vmms_ready Standby pinvm-vmm processes ready for a create.\n"
		"# TYPE pinvm_standby_vmms_ready gauge\npinvm_standby_vmms_ready %u\n", standby);
	if (b.failed) {
		free(b.p);
		reply_json(rep, 500, NULL);
		return;
	}
	reply_raw(rep, b.p, b.len, "text/plain; version=0.0.4; charset=utf-8");
}
