/*
 * /v1/images and /v1/vms: HTTP in, HTTP out. Bodies are parsed by api/
 * (vm_spec, vm_action), the work is vm_core's, and every failure arrives
 * as one struct api_error answered by reply_api_error().
 */
#include "handlers.h"

#include "console_follow.h"
#include "handlers_snapshots.h"
#include "server.h"
#include "vm_core.h"
#include "vm_events.h"
#include "vm_query.h"
#include "vm_wait.h"
#include "prefer.h"

#include <microhttpd.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONSOLE_CHUNK (1024 * 1024)
#define CONSOLE_INPUT_MAX VMM_PROTO_MAX_INPUT

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

/* A missing image: where pinvmd looked and where to see what is there,
 * as fields a script can use without parsing the detail. */
static void image_not_found_hint(const struct request *req, struct reply *rep)
{
	json_t *code = rep->body ? json_object_get(rep->body, "code") : NULL;

	if (rep->status != 422 || !json_is_string(code) ||
	    strcmp(json_string_value(code), "image_not_found"))
		return;
	json_object_set_new(rep->body, "image_dir", json_string(req->srv->image_dir));
	json_object_set_new(rep->body, "images", json_string("/v1/images"));
}

/*
 * "start": true asks for the VM started as well as created, in one
 * request: the answer is then the running VM. It is an instruction, not
 * a property of the VM, so it leaves the body before the spec is parsed
 * and stored (a restart or GET never sees it). An asynchronous create
 * (Prefer: respond-async) answers before the VM exists, so it cannot
 * start it: 422 rather than a start silently left out. A start that fails
 * takes the new VM with it.
 */
static int take_start(const struct request *req, json_t *body, bool *start,
		      struct api_error *err)
{
	json_t *v = json_is_object(body) ? json_object_get(body, "start") : NULL;

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return api_fail(err, 400, "wrong_type", "start", "start must be true or false");
	*start = json_is_true(v);
	if (*start && req->conn &&
	    prefer_has(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Prefer"),
		       "respond-async"))
		return api_fail(err, 422, "bad_value", "start",
				"start: true cannot be combined with Prefer: respond-async (the "
				"answer comes before the VM is built); start it once it is created");
	json_object_del(body, "start");
	return 0;
}

void handle_vms_post(struct request *req, struct reply *rep)
{
	struct compat_report *report = NULL;
	struct vm_entry *e = NULL;
	struct api_error err;
	struct vm_spec spec = { 0 };
	bool start = false;
	json_t *body;
	int ret;

	if (parse_json_body(req, rep, &body) < 0)
		return;
	if (json_object_get(body, "snapshot")) {
		snapshot_restore_post(req, rep, body);
		goto out;
	}
	if (take_start(req, body, &start, &err) < 0 || vm_spec_parse(body, &spec, &err) < 0) {
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
	if (req->conn && prefer_has(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
								 "Prefer"),
				    "respond-async")) {
		/* 202 at once; the VM's events or a long-poll tell the rest. */
		if (vm_core_create_async(req->srv->vms, &spec, body, report, &e, &err) < 0) {
			reply_api_error(rep, &err);
			goto out;
		}
		report = NULL; /* the VM's now */
		reply_vm(rep, 202, e);
		snprintf(rep->extra_name, sizeof(rep->extra_name), "Preference-Applied");
		snprintf(rep->extra_value, sizeof(rep->extra_value), "respond-async");
		snprintf(rep->location, sizeof(rep->location), "/v1/vms/%s", e->id);
		vm_entry_put(e);
		goto out;
	}
	if (vm_core_create(req->srv->vms, &spec, body, report, &e, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	snprintf(rep->location, sizeof(rep->location), "/v1/vms/%s", e->id);
	if (start && vm_core_act(req->srv->vms, e, VM_ACTION_START, &err) < 0) {
		struct api_error derr;

		/* All or nothing, as a retry expects (a 5xx is not kept by
		 * Idempotency-Key): the VM goes, and the answer is the start's.
		 * Should it not go, the problem names it. */
		reply_api_error(rep, &err);
		if (vm_core_delete(req->srv->vms, e->id, &derr) < 0 && rep->body)
			json_object_set_new(rep->body, "vm_id", json_string(e->id));
		rep->location[0] = '\0';
		vm_entry_put(e);
		goto out;
	}
	reply_vm(rep, 201, e);
	vm_entry_put(e);
out:
	if (rep->status == 409 && rep->body)
		vm_events_refused(spec.profile, rep->body);
	image_not_found_hint(req, rep);
	free(report);
	json_decref(body);
}

void handle_vms_list(struct request *req, struct reply *rep)
{
	/* "creating" is a record's state only; a listed VM is never in it,
	 * but a client may ask. */
	static const char *const states[] = { "creating", "created", "running", "paused",
					      "stopped",  "failed",  NULL };
	unsigned long long next;
	struct vm_query q;
	struct api_error err;
	char cursor[24];
	json_t *list, *body;

	if (vm_query_parse(request_query(req, "state"), request_query(req, "name"),
			   request_query(req, "label"), request_query(req, "limit"),
			   request_query(req, "cursor"), states, &q, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	list = vm_core_select(req->srv->vms, &q, &next);
	body = list ? json_pack("{s:o}", "vms", list) : NULL;
	if (body && next) {
		vm_query_cursor(next, cursor);
		if (json_object_set_new(body, "next_cursor", json_string(cursor))) {
			json_decref(body);
			body = NULL;
		}
	}
	reply_json(rep, 200, body);
}

/* A state a VM can be waited for, by index in vm_state order. */
static const char *const wait_states[] = { "created", "running", "paused", "stopped",
					   "failed",  NULL };

void handle_vm_get(struct request *req, struct reply *rep)
{
	const char *wait_for = request_query(req, "wait_for");
	const char *timeout = request_query(req, "timeout");
	struct vm_waiter *waiter;
	struct api_error err;
	struct vm_entry *e;
	unsigned timeout_s;
	bool done;
	int want;

	if ((wait_for || timeout) &&
	    vm_wait_parse(wait_for, timeout, wait_states, &want, &timeout_s, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	e = vm_core_find(req->srv->vms, req->params[0], &err);
	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (wait_for) {
		pthread_mutex_lock(&e->lock);
		done = vm_wait_done(e, (enum vm_state)want);
		pthread_mutex_unlock(&e->lock);
		if (!done && req->conn) {
			/* The answer (200, the VM) comes when it is done or at the
			 * deadline; the connection waits suspended. */
			if (vm_wait_new(e, (enum vm_state)want, timeout_s, req->conn, &waiter,
					&err) < 0) {
				reply_api_error(rep, &err);
			} else {
				rep->status = 200;
				rep->raw_type = "application/json";
				rep->stream_read = vm_wait_reader;
				rep->stream_free = vm_wait_free;
				rep->stream_cls = waiter;
			}
			vm_entry_put(e);
			return;
		}
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

static bool vm_ended(struct vm_entry *e)
{
	bool ended;

	pthread_mutex_lock(&e->lock);
	ended = e->state == VM_STOPPED || e->state == VM_FAILED;
	pthread_mutex_unlock(&e->lock);
	return ended;
}

/* start of a stopped or failed VM: a cold boot, under its profile's
 * verdict on this host as it is now (the kernel may have changed). */
static void restart(struct request *req, struct reply *rep, struct vm_entry *e)
{
	struct compat_report *report = NULL;
	struct api_error err;
	int ret;

	if (e->profile[0]) {
		ret = profile_verdict_here(req, rep, e->profile, true, &report);
		if (ret < 0) {
			if (rep->status == 409 && rep->body)
				vm_events_refused(e->profile, rep->body);
			return;
		}
	}
	if (vm_core_restart(req->srv->vms, e, report, &err) < 0) {
		reply_api_error(rep, &err);
		if (rep->status == 409 && rep->body)
			vm_events_refused(e->profile, rep->body);
	} else {
		reply_vm(rep, 200, e);
	}
	free(report);
}

void handle_vm_action(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e = vm_core_find(req->srv->vms, req->params[0], &err);
	struct vm_action_req act;
	enum vm_action action;
	json_t *body = NULL;

	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (parse_json_body(req, rep, &body) < 0)
		goto out;
	if (vm_action_parse_req(body, &act, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	action = act.action;
	if (action == VM_ACTION_START && vm_ended(e)) {
		restart(req, rep, e);
		goto out;
	}
	if (vm_core_act_req(req->srv->vms, e, &act, &err) < 0) {
		reply_api_error(rep, &err);
		/* Where the VM stands now, for a client deciding what next. */
		pthread_mutex_lock(&e->lock);
		if (rep->body)
			json_object_set_new(rep->body, "state",
					    json_string(vm_state_name(e->state)));
		pthread_mutex_unlock(&e->lock);
		goto out;
	}
	/* The guest was asked; the end comes later (events, ?wait_for=stopped). */
	reply_vm(rep, action == VM_ACTION_SHUTDOWN ? 202 : 200, e);
out:
	json_decref(body);
	vm_entry_put(e);
}

/* ?follow=: 1/true or 0/false; -1 for anything else. */
static int parse_flag(const char *v)
{
	if (!v || !strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	if (!strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	return -1;
}

void handle_vm_console(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e;
	const char *q = request_query(req, "offset");
	int follow = parse_flag(request_query(req, "follow"));
	unsigned long long offset = 0, start;
	size_t len;
	char *buf;

	/* The query first: a bad request is the same for every VM. */
	if (q) {
		char *end;

		errno = 0;
		offset = strtoull(q, &end, 10);
		if (!*q || *end || errno || *q == '-') {
			reply_problem(rep, 400, "bad_offset", "offset",
				      "offset must be a byte count (0 or more)");
			return;
		}
	}
	if (follow < 0) {
		reply_problem(rep, 400, "bad_follow", "follow",
			      "follow must be 1 or true (stream), 0 or false (one read)");
		return;
	}
	e = vm_core_find(req->srv->vms, req->params[0], &err);
	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (follow) {
		struct console_follower *f;
		uint64_t from;

		if (console_follow_new(e, offset, req->conn, &f, &from, &err) < 0) {
			reply_api_error(rep, &err);
			goto out;
		}
		rep->status = 200;
		rep->raw_type = "text/plain; charset=utf-8";
		rep->stream_read = console_follow_reader;
		rep->stream_free = console_follow_free;
		rep->stream_cls = f;
		snprintf(rep->extra_name, sizeof(rep->extra_name), "X-Console-Offset");
		snprintf(rep->extra_value, sizeof(rep->extra_value), "%llu",
			 (unsigned long long)from);
		snprintf(rep->extra2_name, sizeof(rep->extra2_name), "Cache-Control");
		snprintf(rep->extra2_value, sizeof(rep->extra2_value), "no-cache");
		goto out;
	}
	if (vm_core_console(e, offset, CONSOLE_CHUNK, &buf, &len, &start, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	/* X-Console-Offset: where the body starts; past the offset asked
	 * for when the console's bound dropped the bytes between. */
	snprintf(rep->extra_name, sizeof(rep->extra_name), "X-Console-Next-Offset");
	snprintf(rep->extra_value, sizeof(rep->extra_value), "%llu", start + len);
	snprintf(rep->extra2_name, sizeof(rep->extra2_name), "X-Console-Offset");
	snprintf(rep->extra2_value, sizeof(rep->extra2_value), "%llu", start);
	reply_raw(rep, buf, len, "text/plain; charset=utf-8");
out:
	vm_entry_put(e);
}

/* application/octet-stream, with or without parameters. */
static bool octet_stream(const struct request *req)
{
	const char *ct = req->conn ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
								  "Content-Type")
				   : NULL;
	size_t n = strlen("application/octet-stream");

	return ct && !strncasecmp(ct, "application/octet-stream", n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void handle_vm_console_post(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct vm_entry *e;

	/* The body's form first: a bad request is the same for every VM. */
	if (!octet_stream(req)) {
		reply_problem(rep, 415, "unsupported_media_type", "Content-Type",
			      "console input is raw bytes: send Content-Type: "
			      "application/octet-stream");
		return;
	}
	if (req->body_len > CONSOLE_INPUT_MAX) {
		reply_problem(rep, 413, "console_input_too_large", "body",
			      "console input is at most %d bytes a request (got %zu); send "
			      "more in several", CONSOLE_INPUT_MAX, req->body_len);
		return;
	}
	if (!req->body_len) {
		reply_problem(rep, 400, "empty_input", "body", "no bytes to type");
		return;
	}
	e = vm_core_find(req->srv->vms, req->params[0], &err);
	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (vm_core_console_input(e, req->body, req->body_len, &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_json(rep, 202, json_pack("{s:I}", "bytes", (json_int_t)req->body_len));
	vm_entry_put(e);
}
