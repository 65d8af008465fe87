/*
 * Live migration between pinvmd hosts (issue 11): HTTP in, HTTP out.
 *   POST   /v1/vms/{id}/migrate   the source: checks, then 202 (migrate_out.h)
 *   DELETE /v1/vms/{id}/migrate   cancel: the guest runs on here
 *   POST   /v1/vms/incoming       the destination (another pinvmd calls it):
 *                                  firmware by the restore rules, then the
 *                                  pre-run image by the restore dry run
 *                                  (migrate_precheck.h), then the VM
 * Every failure is a struct api_error answered by reply_api_error(), with
 * the refusal's register, rule and report merged in.
 */
#include "handlers.h"

#include "compat.h"
#include "host_view.h"
#include "log.h"
#include "migrate_out.h"
#include "migrate_precheck.h"
#include "migrate_relay.h"
#include "migrate_request.h"
#include "server.h"
#include "vm_core.h"
#include "wa_levels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_error_extra(struct reply *rep, const struct api_error *err, json_t *extra)
{
	reply_api_error(rep, err);
	if (rep->body && extra)
		json_object_update(rep->body, extra);
	json_decref(extra);
}

static void reply_vm(struct reply *rep, unsigned status, struct vm_entry *e, json_t *more)
{
	json_t *o;

	pthread_mutex_lock(&e->lock);
	o = vm_entry_to_json(e);
	pthread_mutex_unlock(&e->lock);
	if (o && more)
		json_object_update(o, more);
	json_decref(more);
	reply_json(rep, status, o);
	snprintf(rep->location, sizeof(rep->location), "/v1/vms/%s", e->id);
}

void handle_vm_migrate_post(struct request *req, struct reply *rep)
{
	struct migrate_env env = { .host = req->srv->host_view, .store = req->srv->store,
				   .default_ca = req->srv->peer_ca };
	struct migrate_request mr;
	struct api_error err;
	struct vm_entry *e;
	json_t *body, *extra = NULL;

	if (parse_json_body(req, rep, &body) < 0)
		return;
	if (migrate_request_parse(body, &mr, &err) < 0) {
		reply_api_error(rep, &err);
		json_decref(body);
		return;
	}
	e = vm_core_find(req->srv->vms, req->params[0], &err);
	if (!e) {
		reply_api_error(rep, &err);
		json_decref(body);
		return;
	}
	if (migrate_out_start(&env, e, &mr.dest, mr.accept, &err, &extra) < 0)
		reply_error_extra(rep, &err, extra);
	else
		reply_vm(rep, 202, e, extra); /* takes extra */
	vm_entry_put(e);
	json_decref(body);
}

void handle_vm_migrate_delete(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e;

	if (req->body_len) {
		reply_problem(rep, 400, "unexpected_body", NULL,
			      "DELETE /v1/vms/{id}/migrate takes no body");
		return;
	}
	e = vm_core_find(req->srv->vms, req->params[0], &err);
	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (migrate_out_cancel(e, &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_vm(rep, 202, e, NULL);
	vm_entry_put(e);
}

void handle_vms_incoming_post(struct request *req, struct reply *rep)
{
	struct fw_pin pins[COMPAT_MAX_ENTRIES];
	struct migrate_incoming *in = malloc(sizeof(*in));
	struct compat_report *report = malloc(sizeof(*report));
	struct hostset *here = malloc(sizeof(*here));
	struct vm_incoming vi = { 0 };
	struct vm_entry *e = NULL;
	struct api_error err;
	char ticket[MIGRATE_TICKET_LEN + 1], name[80];
	json_t *body = NULL, *extra = NULL, *doc = NULL, *accepted = NULL;
	unsigned port = 0;

	if (!in || !report || !here) {
		reply_json(rep, 500, NULL);
		goto out;
	}
	if (parse_json_body(req, rep, &body) < 0)
		goto out;
	if (migrate_incoming_parse(body, in, &err) < 0 ||
	    (in->prerun && migrate_precheck_validate(in->prerun, in->g.memory_mib, &err) < 0) ||
	    host_view_read(req->srv->host_view, false, here, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	/* The destination judges on its own host, whatever the source found. */
	snprintf(name, sizeof(name), "migration-%.60s", in->source_vm ? in->source_vm : "in");
	if (snapshot_check(&in->g, in->profile_doc, here, name, in->accept, report, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	if (!report->compatible) {
		migrate_refusal(report, "this host", &err, &extra);
		reply_error_extra(rep, &err, extra);
		goto out;
	}
	/* The rest of the vCPU state and the vGIC, judged by this host's KVM
	 * before anything exists here (migrate_precheck.h). */
	if (in->prerun &&
	    migrate_precheck_run(req->srv->state_dir, in->prerun, in->accept,
				 here->kernel_release, &accepted, &err, &extra) < 0) {
		if (extra)
			json_object_set_new(extra, "compatibility", compat_report_to_json(report));
		reply_error_extra(rep, &err, extra);
		goto out;
	}
	/* What differs from the source, as the caller accepted it: the vCPU
	 * state's (the pre-run check) and the workaround levels'. */
	if (in->accept) {
		json_t *all = wa_levels_accepted(accepted, report);

		json_decref(accepted);
		accepted = all;
		if (!all) {
			reply_json(rep, 500, NULL);
			goto out;
		}
	}
	if (!in->prerun)
		log_msg(LOG_WARN, "incoming migration of %s: no pre-run image; its vCPU state is "
			"judged when it is rebuilt, after the source paused it",
			in->source_vm ? in->source_vm : "a VM");
	vi.vcpus = in->g.vcpus;
	vi.memory_mib = in->g.memory_mib;
	vi.npins = snapshot_extra_pins(&in->g, report, pins, COMPAT_MAX_ENTRIES);
	vi.pins = pins;
	if (report->smccc.verdict == COMPAT_SMCCC_ENFORCED) {
		vi.deny = report->smccc.deny;
		vi.ndeny = report->smccc.ndeny;
	}
	vi.profile = in->profile;
	doc = compat_report_to_json(report);
	vi.abi = json_object_get(doc, "registers");
	vi.source = in->source_vm;
	vi.accept = in->accept;
	if (vm_core_incoming(req->srv->vms, &vi, in->spec, &e, &port, ticket, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	reply_vm(rep, 201, e,
		 json_pack("{s:{s:I, s:s}, s:O*}", "migration", "port", (json_int_t)port,
			   "ticket", ticket, "accepted", in->accept ? accepted : NULL));
	vm_entry_put(e);
out:
	json_decref(accepted);
	json_decref(doc);
	json_decref(body);
	free(in);
	free(report);
	free(here);
}
