/*
 * /v1/images and /v1/vms: HTTP in, HTTP out. Bodies are parsed by api/
 * (vm_spec, vm_action), the work is vm_core's, and every failure arrives
 * as one struct api_error answered by reply_api_error().
 */
#include "handlers.h"

#include "handlers_snapshots.h"
#include "server.h"
#include "vm_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_CHUNK (1024 * 1024)

void handle_images_list(struct request *req, struct reply *rep)
{
	struct api_error err;
	json_t *doc = vm_core_images(req->srv->vms, &err);

	if (!doc)
		reply_api_error(rep, &err);
	else
		reply_json(rep, 200, doc);
}

/* The VM's JSON as a reply with status. */
static void reply_vm(struct reply *rep, unsigned status, struct vm_entry *e)
{
	pthread_mutex_lock(&e->lock);
	reply_json(rep, status, vm_entry_to_json(e));
	pthread_mutex_unlock(&e->lock);
}

void handle_vms_post(struct request *req, struct reply *rep)
{
	struct compat_report *report = NULL;
	struct vm_entry *e = NULL;
	struct api_error err;
	struct vm_spec spec;
	json_t *body;
	int ret;

	if (parse_json_body(req, rep, &body) < 0)
		return;
	if (json_object_get(body, "snapshot")) {
		snapshot_restore_post(req, rep, body);
		goto out;
	}
	if (vm_spec_parse(body, &spec, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	if (spec.profile) {
		ret = profile_verdict_here(req, rep, spec.profile, true, &report);
		if (ret == -ENOENT)
			reply_problem(rep, 422, "unknown_profile", "profile",
				      "no profile named \"%s\"", spec.profile);
		if (ret < 0)
			goto out;
	}
	if (vm_core_create(req->srv->vms, &spec, body, report, &e, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	reply_vm(rep, 201, e);
	snprintf(rep->location, sizeof(rep->location), "/v1/vms/%s", e->id);
	vm_entry_put(e);
out:
	free(report);
	json_decref(body);
}

void handle_vms_list(struct request *req, struct reply *rep)
{
	json_t *list = vm_core_list(req->srv->vms);

	reply_json(rep, 200, list ? json_pack("{s:o}", "vms", list) : NULL);
}

void handle_vm_get(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e = vm_core_find(req->srv->vms, req->params[0], &err);

	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	reply_vm(rep, 200, e);
	vm_entry_put(e);
}

void handle_vm_delete(struct request *req, struct reply *rep)
{
	struct api_error err;

	if (vm_core_delete(req->srv->vms, req->params[0], &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_empty(rep);
}

void handle_vm_action(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e = vm_core_find(req->srv->vms, req->params[0], &err);
	enum vm_action action;
	json_t *body = NULL;

	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (parse_json_body(req, rep, &body) < 0)
		goto out;
	if (vm_action_parse(body, &action, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	if (vm_core_act(req->srv->vms, e, action, &err) < 0) {
		reply_api_error(rep, &err);
		/* Where the VM stands now, for a client deciding what next. */
		pthread_mutex_lock(&e->lock);
		if (rep->body)
			json_object_set_new(rep->body, "state",
					    json_string(vm_state_name(e->state)));
		pthread_mutex_unlock(&e->lock);
		goto out;
	}
	reply_vm(rep, 200, e);
out:
	json_decref(body);
	vm_entry_put(e);
}

void handle_vm_console(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e = vm_core_find(req->srv->vms, req->params[0], &err);
	const char *q = request_query(req, "offset");
	unsigned long long offset = 0, next;
	size_t len;
	char *buf;

	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (q) {
		char *end;

		errno = 0;
		offset = strtoull(q, &end, 10);
		if (!*q || *end || errno || *q == '-') {
			reply_problem(rep, 400, "bad_offset", "offset",
				      "offset must be a byte count (0 or more)");
			goto out;
		}
	}
	if (vm_core_console(e, offset, CONSOLE_CHUNK, &buf, &len, &next, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	snprintf(rep->extra_name, sizeof(rep->extra_name), "X-Console-Next-Offset");
	snprintf(rep->extra_value, sizeof(rep->extra_value), "%llu", next);
	reply_raw(rep, buf, len, "text/plain; charset=utf-8");
out:
	vm_entry_put(e);
}
