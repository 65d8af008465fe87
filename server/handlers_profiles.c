/*
 * /v1/profiles: pinned hypercall ABIs, stored immutably. A different ABI is
 * a new profile.
 */
#include "handlers.h"

#include "host_view.h"
#include "page.h"
#include "prepared.h"
#include "profile.h"
#include "profile_cache.h"
#include "requests.h"
#include "server.h"
#include "store.h"
#include "vm_core.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void now_iso(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Stores p (borrowed) and answers 201 with its stored document. */
void profile_store_and_reply(struct request *req, struct reply *rep,
			     const struct profile *p, const char *default_kind)
{
	struct api_error aerr;
	json_t *doc;
	char when[32], err[256];
	int ret;

	if (profile_check_applicable(p, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		return;
	}
	doc = profile_to_json(p);
	if (!doc) {
		reply_json(rep, 500, NULL);
		return;
	}
	now_iso(when);
	if (json_object_set_new(doc, "created_at", json_string(when)) ||
	    (!json_object_get(doc, "source") &&
	     json_object_set_new(doc, "source",
				 json_pack("{s:s}", "kind", default_kind)))) {
		json_decref(doc);
		reply_json(rep, 500, NULL);
		return;
	}
	ret = store_profile_insert(req->srv->store, p->name, doc, err, sizeof(err));
	if (ret == -EEXIST) {
		json_decref(doc);
		reply_problem(rep, 409, "profile_exists", "name",
			      "a profile named \"%s\" exists; profiles are immutable, "
			      "give a different ABI a new name", p->name);
		return;
	}
	if (ret == -ENOSPC) {
		json_decref(doc);
		reply_problem(rep, 409, "too_many_profiles", "name",
			      "%s (--max-profiles %u); delete a profile first", err,
			      req->srv->max_profiles);
		return;
	}
	if (ret < 0) {
		json_decref(doc);
		reply_problem(rep, 500, "store_error", NULL, "%s", err);
		return;
	}
	snprintf(rep->location, sizeof(rep->location), "/v1/profiles/%s", p->name);
	reply_json(rep, 201, doc);
}

/* Loads a stored profile; fills rep (404, 500) and returns <0 on failure. */
int profile_load(struct request *req, struct reply *rep, const char *name,
		 struct profile **out)
{
	unsigned long gen;
	struct api_error aerr;
	char err[256];
	json_t *doc;
	int ret;

	*out = profile_cache_get(req->srv->profiles, name, &gen);
	if (*out)
		return 0;
	ret = store_profile_get(req->srv->store, name, &doc, err, sizeof(err));
	if (ret == -ENOENT) {
		reply_problem(rep, 404, "profile_not_found", NULL,
			      "no profile named \"%s\"", name);
		return ret;
	}
	if (ret < 0) {
		reply_problem(rep, 500, "store_error", NULL, "%s", err);
		return ret;
	}
	ret = profile_from_json(doc, out, &aerr);
	json_decref(doc);
	if (ret < 0)
		reply_problem(rep, 500, "store_error", NULL,
			      "stored profile \"%s\" no longer parses: %s", name,
			      aerr.detail);
	else
		profile_cache_put(req->srv->profiles, *out, gen);
	return ret;
}

/* Parses doc (borrowed) as a profile document, then stores and answers it. */
static void store_document(struct request *req, struct reply *rep, const json_t *doc,
			   const char *source)
{
	struct profile *p = NULL;
	struct api_error aerr;

	if (profile_from_json(doc, &p, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		return;
	}
	profile_store_and_reply(req, rep, p, source);
	profile_free(p);
}

/*
 * {"capture": "host", "name", ...} (api/requests.h): pin every register
 * this host lists, with what the probe guest saw, and the vCPU features.
 */
static void capture(struct request *req, struct reply *rep, json_t *body)
{
	struct capture_request cr;
	struct profile *p = NULL;
	struct hostset host;
	struct api_error aerr;

	if (capture_request_parse(body, &cr, &aerr) < 0 ||
	    host_view_read(req->srv->host_view, true, &host, &aerr) < 0 ||
	    profile_capture(cr.name, &host, NULL, PROFILE_UNKNOWN_REFUSE, &p, &aerr) < 0) {
		reply_api_error(rep, &aerr);
		return;
	}
	if (capture_request_cpu_features(&cr, &host, &p->cpu_features, &aerr) < 0) {
		profile_free(p);
		reply_api_error(rep, &aerr);
		return;
	}
	p->has_cpu_features = true;
	if (cr.smccc_deny &&
	    !smccc_filter_from_observed(&p->observed, cr.smccc_degrade, &p->smccc)) {
		profile_free(p);
		reply_problem(rep, 500, "probe_failed", "smccc",
			      "the capture holds no observation to derive the allowed services from");
		return;
	}
	/* The options by the document's own rules: a capture is validated
	 * exactly like a posted profile. */
	if (profile_set_options(p, body, &aerr) < 0)
		reply_api_error(rep, &aerr);
	else
		profile_store_and_reply(req, rep, p, "capture");
	profile_free(p);
}

void handle_profiles_post(struct request *req, struct reply *rep)
{
	json_t *body;

	if (parse_json_body(req, rep, &body) < 0)
		return;
	if (json_object_get(body, "capture"))
		capture(req, rep, body);
	else
		store_document(req, rep, body, "document");
	json_decref(body);
}

/* GET /v1/profiles?limit=N&cursor=C: a page, oldest first. */
void handle_profiles_list(struct request *req, struct reply *rep)
{
	static const struct page_listing profiles = {
		.member = "profiles", .kind = 'p', .def = 100, .max = 1000,
		.fetch = store_profile_page,
	};

	page_list(req, rep, &profiles);
}

/* A stored profile never changes, so its answer is made once and then
 * sent from the cache (profile_cache.h) until DELETE. */
void handle_profile_get(struct request *req, struct reply *rep)
{
	struct prepared *answer;
	unsigned long gen = 0;
	json_t *doc;
	char err[256], key[512];
	int ret, keylen;

	/* Longer names than a key holds are simply not cached. */
	keylen = snprintf(key, sizeof(key), "GET /v1/profiles/%s", req->params[0]);
	if (keylen >= (int)sizeof(key))
		keylen = 0;
	answer = keylen ? profile_cache_get_answer(req->srv->profiles, key, (size_t)keylen, &gen)
			: NULL;
	if (answer) {
		reply_prepared(rep, answer);
		return;
	}
	ret = store_profile_get(req->srv->store, req->params[0], &doc, err, sizeof(err));
	if (ret == -ENOENT) {
		reply_problem(rep, 404, "profile_not_found", NULL,
			      "no profile named \"%s\"", req->params[0]);
		return;
	}
	if (ret < 0) {
		reply_problem(rep, 500, "store_error", NULL, "%s", err);
		return;
	}
	answer = prepared_new(doc);
	json_decref(doc);
	if (answer && keylen)
		profile_cache_put_answer(req->srv->profiles, key, (size_t)keylen, answer, gen);
	reply_prepared(rep, answer);
}

/* How many of the VMs keeping a profile a 409 names. */
#define PROFILE_USERS_SHOWN 20
#define STR_(x) #x
#define STR(x) STR_(x)

void handle_profile_delete(struct request *req, struct reply *rep)
{
	size_t users;
	json_t *vms = vm_core_profile_users(req->srv->vms, req->params[0],
					    PROFILE_USERS_SHOWN, &users);
	char err[256];
	int ret;

	if (!vms) {
		reply_json(rep, 500, NULL);
		return;
	}
	if (users) {
		/* Which VMs, so a script can delete them without a search; a
		 * bounded list, with the count of all. */
		reply_problem(rep, 409, "profile_in_use", NULL,
			      "profile \"%s\" is in use by %zu VM%s (\"vms\" lists %s); "
			      "delete %s first", req->params[0], users, users == 1 ? "" : "s",
			      users > PROFILE_USERS_SHOWN ? "the first " STR(PROFILE_USERS_SHOWN)
							  : users == 1 ? "it" : "them",
			      users == 1 ? "it" : "them");
		if (!rep->body)
			json_decref(vms);
		else if (json_object_set_new(rep->body, "vms", vms) ||
			 json_object_set_new(rep->body, "vm_count", json_integer((json_int_t)users)))
			reply_json(rep, 500, NULL);
		return;
	}
	json_decref(vms);
	ret = store_profile_delete(req->srv->store, req->params[0], err, sizeof(err));
	profile_cache_forget(req->srv->profiles, req->params[0]);
	if (ret == -ENOENT)
		reply_problem(rep, 404, "profile_not_found", NULL,
			      "no profile named \"%s\"", req->params[0]);
	else if (ret < 0)
		reply_problem(rep, 500, "store_error", NULL, "%s", err);
	else
		reply_empty(rep);
}
