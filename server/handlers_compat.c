/*
 * Compatibility verdicts, baselines, and running the probe guest under a
 * profile: the answers to "can this host honour that ABI?" and "what does
 * a guest then really see?".
 */
#include "handlers.h"

#include "abi_json.h"
#include "baseline.h"
#include "compat.h"
#include "firecracker.h"
#include "fwreg.h"
#include "handlers_snapshots.h"
#include "host_view.h"
#include "server.h"
#include "metrics.h"
#include "peer_hosts.h"
#include "probe.h"
#include "vmm_helper.h"
#include "prepared.h"
#include "profile.h"
#include "profile_cache.h"
#include "requests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_report(struct reply *rep, const struct compat_report *r,
			 const char *profile_name)
{
	json_t *body = compat_report_to_json(r);

	if (body && profile_name &&
	    json_object_set_new(body, "profile", json_string(profile_name))) {
		json_decref(body);
		body = NULL;
	}
	reply_json(rep, 200, body);
}

/* Answers the first refusal of r as 409, with the whole report attached. */
static void reply_refused(struct reply *rep, const struct compat_report *r,
			  const char *profile_name)
{
	struct api_error aerr;

	compat_refusal(r, profile_name, &aerr);
	reply_api_error(rep, &aerr);
	if (rep->body)
		json_object_set_new(rep->body, "compatibility",
				    compat_report_to_json(r));
}

/* Whether this host's KVM has the SMCCC filter (a scratch VM asks). */
int profile_verdict_here(struct request *req, struct reply *rep,
			 const char *name, bool applying,
			 struct compat_report **out)
{
	struct compat_report *r = NULL;
	struct profile *p = NULL;
	struct api_error aerr;
	struct hostset host;
	int ret;

	*out = NULL;
	ret = profile_load(req, rep, name, &p);
	if (ret < 0)
		return ret;
	ret = host_view_read(req->srv->host_view, false, &host, &aerr);
	if (ret < 0) {
		reply_api_error(rep, &aerr);
		goto out;
	}
	r = malloc(sizeof(*r));
	if (!r || compat_check(p, &host, r) < 0) {
		reply_json(rep, 500, NULL);
		ret = -ENOMEM;
		goto out;
	}
	if (applying) {
		metrics_profile(r);
		if (!r->compatible) {
			reply_refused(rep, r, p->name);
			ret = -EPERM;
			goto out;
		}
	}
	*out = r;
	r = NULL;
out:
	free(r);
	profile_free(p);
	return ret;
}


void handle_profile_compat_get(struct request *req, struct reply *rep)
{
	struct compat_report *r;

	if (profile_verdict_here(req, rep, req->params[0], false, &r) < 0)
		return;
	reply_report(rep, r, req->params[0]);
	free(r);
}

/*
 * The key a verdict is kept under: the request body's exact bytes. A
 * verdict is a function of the profile (stored ones never change; a
 * DELETE drops every kept answer) and the host set the body gives, so the
 * same bytes get the same answer. NULL when the body is too long to keep.
 */
static char *verdict_key(const struct request *req, size_t *len)
{
	static const char prefix[] = "POST /v1/compatibility\n";
	char *key;

	*len = sizeof(prefix) - 1 + req->body_len;
	if (*len > PROFILE_CACHE_KEY_MAX || !(key = malloc(*len)))
		return NULL;
	memcpy(key, prefix, sizeof(prefix) - 1);
	memcpy(key + sizeof(prefix) - 1, req->body, req->body_len);
	return key;
}

/* Answers doc (stolen) from prepared bytes, kept under key when given. */
static void reply_kept(struct request *req, struct reply *rep, json_t *doc,
		       const char *key, size_t keylen, unsigned long gen)
{
	struct prepared *answer = doc ? prepared_new(doc) : NULL;

	json_decref(doc);
	if (answer && key)
		profile_cache_put_answer(req->srv->profiles, key, keylen, answer, gen);
	reply_prepared(rep, answer);
}

/* {"profile": {document} | "stored name", "host": {register set} | {peer}}
 * (api/requests.h checks it). */
void handle_compat_post(struct request *req, struct reply *rep)
{
	struct compat_request cr = { 0 };
	struct compat_report *r = NULL;
	struct profile *stored = NULL;
	const struct profile *p;
	struct api_error aerr;
	json_t *body, *answer;
	unsigned long gen = 0;
	size_t keylen = 0;
	char *key = verdict_key(req, &keylen);
	struct prepared *kept =
		key ? profile_cache_get_answer(req->srv->profiles, key, keylen, &gen) : NULL;

	if (kept) {
		free(key);
		reply_prepared(rep, kept);
		return;
	}
	if (parse_json_body(req, rep, &body) < 0) {
		free(key);
		return;
	}
	if (json_object_get(body, "snapshot")) {
		snapshot_compat_post(req, rep, body);
		goto out;
	}
	if (compat_request_parse(body, &cr, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		goto out;
	}
	if (cr.profile_name && profile_load(req, rep, cr.profile_name, &stored) < 0)
		goto out;
	/* A host named by URL: its pinvmd's register set, as if given inline. */
	if (peer_hosts_fill(req, rep, &cr.peer, &cr.host, 1, true) < 0)
		goto out;
	p = stored ? stored : cr.profile;
	r = malloc(sizeof(*r));
	if (!r || compat_check(p, &cr.host, r) < 0) {
		reply_json(rep, 500, NULL);
		goto out;
	}
	/* A peer's answer is its pinvmd's of the moment: never kept. */
	if (cr.peer.url) {
		free(key);
		key = NULL;
	}
	if (cr.import.format == FC_FORMAT_NONE) {
		answer = compat_report_to_json(r);
		if (answer && json_object_set_new(answer, "profile", json_string(p->name))) {
			json_decref(answer);
			answer = NULL;
		}
		reply_kept(req, rep, answer, key, keylen, gen);
		goto out;
	}
	/* Say what was taken from the document and what was ignored. */
	answer = compat_report_to_json(r);
	if (answer && (json_object_set_new(answer, "profile", json_string(p->name)) ||
		       json_object_set_new(answer, "host_import",
					   firecracker_import_json(&cr.import)))) {
		json_decref(answer);
		answer = NULL;
	}
	reply_kept(req, rep, answer, key, keylen, gen);
out:
	free(key);
	free(r);
	profile_free(stored);
	compat_request_clear(&cr);
	json_decref(body);
}

/* {"name", "hosts": [register sets or peers], "description"?} → a stored
 * profile (api/requests.h checks it). */
void handle_baselines_post(struct request *req, struct reply *rep)
{
	struct baseline_request br = { 0 };
	struct profile *p = NULL;
	struct api_error aerr;
	json_t *body, *imports = NULL;

	if (parse_json_body(req, rep, &body) < 0)
		return;
	if (baseline_request_parse(body, &br, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		goto out;
	}
	imports = json_array();
	if (!imports) {
		reply_json(rep, 500, NULL);
		goto out;
	}
	for (size_t i = 0; i < br.nhosts; i++) {
		json_t *o;

		if (br.imports[i].format == FC_FORMAT_NONE)
			continue;
		o = firecracker_import_json(&br.imports[i]);
		if (!o || json_object_set_new(o, "host", json_integer((json_int_t)i)) ||
		    json_array_append_new(imports, o)) {
			reply_json(rep, 500, NULL);
			goto out;
		}
	}
	if (peer_hosts_fill(req, rep, br.peers, br.hosts, br.nhosts, false) < 0)
		goto out;
	if (baseline_compute(br.name, br.hosts, br.nhosts, &p, &aerr) < 0 ||
	    baseline_pin_cpu(p, br.hosts, br.nhosts, br.cpu, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		goto out;
	}
	/* The stored source says which hosts came from Firecracker documents. */
	if (json_array_size(imports) &&
	    json_object_set(p->source, "imports", imports)) {
		reply_json(rep, 500, NULL);
		goto out;
	}
	/* The description by the document's own rules. */
	if (profile_set_options(p, body, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		goto out;
	}
	profile_store_and_reply(req, rep, p, "baseline");
out:
	json_decref(imports);
	profile_free(p);
	baseline_request_clear(&br);
	json_decref(body);
}

/*
 * Runs the probe guest with the profile applied: the refusal, or what the
 * guest saw together with the register report (read-backs included).
 */
void handle_profile_observed_abi_get(struct request *req, struct reply *rep)
{
	const char *name = req->params[0];
	struct compat_report *r = NULL;
	struct fw_pin back[COMPAT_MAX_ENTRIES];
	struct probe_result res;
	size_t failed;
	char err[256];
	json_t *body, *report;
	int ret;

	if (profile_verdict_here(req, rep, name, true, &r) < 0)
		return;
	/* An enforced default-deny ABI: the filter goes in before KVM_RUN. */
	ret = vmm_helper_probe(r->writes, back, r->nwrites, r->pvtime, r->smccc.deny,
			       r->smccc.verdict == COMPAT_SMCCC_ENFORCED ? r->smccc.ndeny : 0,
			       PROBE_TIMEOUT_MS, &res, &failed, err, sizeof(err));
	if (ret < 0 && failed != SIZE_MAX) {
		const struct fwreg_desc *d = fwreg_lookup_id(r->writes[failed].id);

		reply_problem(rep, 409, "kvm_refused",
			      d ? d->name : NULL,
			      "KVM_SET_ONE_REG refused %s = 0x%llx on %s: %s "
			      "(pinvm's rules expected it to accept)",
			      d ? d->name : "register", (unsigned long long)r->writes[failed].value,
			      r->kernel_release, strerror(-ret));
		goto out;
	}
	if (ret < 0) {
		reply_problem(rep, 500, "probe_failed", NULL,
			      "the probe guest failed: %s", err);
		goto out;
	}
	if (compat_check_readback(r, back, r->nwrites) < 0) {
		reply_refused(rep, r, name);
		goto out;
	}
	report = compat_report_to_json(r);
	body = json_pack("{s:s, s:s, s:o*, s:O*}", "kernel_release",
			 r->kernel_release, "profile", name, "calls",
			 abi_calls_json(&res), "registers",
			 json_object_get(report, "registers"));
	/* Whether the default-deny filter was installed, and what it denied. */
	if (body && json_object_get(report, "smccc") &&
	    json_object_set(body, "smccc", json_object_get(report, "smccc"))) {
		json_decref(body);
		body = NULL;
	}
	json_decref(report);
	reply_json(rep, 200, body);
out:
	free(r);
}
