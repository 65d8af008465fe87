/*
 * /v1/snapshots and the snapshot entries of /v1/vms and /v1/compatibility
 * (issue 10): HTTP in, HTTP out. The work is snapshot_core's; every
 * failure arrives as a struct api_error answered by reply_api_error().
 */
#include "handlers.h"
#include "handlers_snapshots.h"

#include "log.h"
#include "page.h"
#include "server.h"
#include "snapshot_archive.h"
#include "snapshot_core.h"
#include "snapshot_store.h"
#include "store.h"
#include "vm_core.h"
#include "wa_levels.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static struct snapshot_env env_of(const struct request *req)
{
	return (struct snapshot_env){ .state_dir = req->srv->state_dir,
				      .store = req->srv->store,
				      .host = req->srv->host_view };
}

static void reply_created(struct reply *rep, json_t *record)
{
	const char *id = json_string_value(json_object_get(record, "id"));

	if (id)
		snprintf(rep->location, sizeof(rep->location), "/v1/snapshots/%s", id);
	reply_json(rep, 201, record);
}

void handle_vm_snapshot(struct request *req, struct reply *rep)
{
	struct snapshot_env env = env_of(req);
	struct api_error err;
	struct vm_entry *e;
	json_t *record;

	if (req->body_len) {
		reply_problem(rep, 400, "unexpected_body", NULL,
			      "POST /v1/vms/{id}/snapshot takes no body");
		return;
	}
	e = vm_core_find(req->srv->vms, req->params[0], &err);
	if (!e) {
		reply_api_error(rep, &err);
		return;
	}
	if (snapshot_take(&env, e, &record, &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_created(rep, record);
	vm_entry_put(e);
}

void handle_snapshots_list(struct request *req, struct reply *rep)
{
	static const struct page_listing snapshots = {
		.member = "snapshots", .kind = 's', .def = 100, .max = 1000,
		.fetch = store_snapshot_page,
	};

	page_list(req, rep, &snapshots);
}

void handle_snapshot_get(struct request *req, struct reply *rep)
{
	struct snapshot_env env = env_of(req);
	struct api_error err;
	json_t *record;

	if (snapshot_record(&env, req->params[0], &record, &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_json(rep, 200, record);
}

void handle_snapshot_delete(struct request *req, struct reply *rep)
{
	struct snapshot_env env = env_of(req);
	struct api_error err;

	if (snapshot_delete(&env, req->params[0], &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_empty(rep);
}

struct stream_job {
	struct snapshot_archive_src src;
	int out;
	char id[SNAPSHOT_ID_LEN + 1];
};

static void *stream_archive(void *arg)
{
	struct stream_job *job = arg;
	char err[256];

	if (snapshot_archive_write(&job->src, job->out, err, sizeof(err)) < 0)
		log_msg(LOG_WARN, "snapshot %s: archive stream ended early: %s", job->id, err);
	close(job->out);
	free(job);
	return NULL;
}

/*
 * The tar is made while it is sent: a thread writes it into a pipe that
 * libmicrohttpd reads, so no archive is ever held in memory or on disk.
 * The files are opened before answering: a DELETE meanwhile does not cut
 * the download short.
 */
void handle_snapshot_archive(struct request *req, struct reply *rep)
{
	struct snapshot_env env = env_of(req);
	struct stream_job *job = NULL;
	struct api_error err;
	char dir[PATH_MAX];
	json_t *record;
	pthread_attr_t attr;
	pthread_t t;
	int p[2] = { -1, -1 };

	if (snapshot_record(&env, req->params[0], &record, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	json_decref(record);
	job = calloc(1, sizeof(*job));
	if (!job || snapshot_dir(env.state_dir, req->params[0], dir, sizeof(dir)) < 0) {
		free(job);
		reply_json(rep, 500, NULL);
		return;
	}
	snprintf(job->id, sizeof(job->id), "%s", req->params[0]);
	if (snapshot_archive_open(dir, &job->src, &err) < 0) {
		free(job);
		reply_api_error(rep, &err);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		snapshot_archive_close(&job->src);
		free(job);
		reply_problem(rep, 500, "internal_error", NULL, "pipe: %s", strerror(errno));
		return;
	}
	job->out = p[1];
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, stream_archive, job)) {
		pthread_attr_destroy(&attr);
		snapshot_archive_close(&job->src);
		close(p[0]);
		close(p[1]);
		free(job);
		reply_problem(rep, 500, "internal_error", NULL, "cannot start the archive writer");
		return;
	}
	pthread_attr_destroy(&attr);
	rep->status = 200;
	if (reply_stream_fd(rep, p[0]) < 0) {
		close(p[0]); /* the writer sees EPIPE and ends */
		reply_json(rep, 500, NULL);
		return;
	}
	rep->raw_type = "application/x-tar";
	snprintf(rep->extra_name, sizeof(rep->extra_name), "Content-Disposition");
	snprintf(rep->extra_value, sizeof(rep->extra_value),
		 "attachment; filename=\"%.36s.tar\"", req->params[0]);
}

void handle_snapshots_post(struct request *req, struct reply *rep)
{
	struct snapshot_env env = env_of(req);
	struct api_error err;
	json_t *record;

	if (!req->has_upload) {
		reply_problem(rep, 415, "unsupported_media_type", "Content-Type",
			      "POST /v1/snapshots takes a snapshot archive: send the header "
			      "\"Content-Type: application/octet-stream\"");
		return;
	}
	if (!req->upload_len) {
		reply_problem(rep, 422, "archive_truncated", "archive", "the archive is empty");
		return;
	}
	if (snapshot_import(&env, req->upload_fd, &record, &err) < 0)
		reply_api_error(rep, &err);
	else
		reply_created(rep, record);
}

/* Answers a refused verdict (409 with the register, rule and reports). */
static bool reply_if_refused(struct reply *rep, const struct snapshot_verdict *v)
{
	struct api_error err;
	json_t *extra;

	if (snapshot_refusal(v, &err, &extra) == 0)
		return false;
	reply_api_error(rep, &err);
	if (rep->body && extra)
		json_object_update(rep->body, extra);
	json_decref(extra);
	return true;
}

void handle_snapshot_compat_get(struct request *req, struct reply *rep)
{
	struct snapshot_env env = env_of(req);
	struct snapshot_verdict v;
	struct api_error err;

	if (snapshot_judge(&env, req->params[0], NULL, true, 0, &v, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	reply_json(rep, 200, snapshot_verdict_json(&v));
	snapshot_verdict_clear(&v);
}

void snapshot_compat_post(struct request *req, struct reply *rep, const json_t *body)
{
	struct snapshot_env env = env_of(req);
	struct snapshot_verdict v;
	struct hostset *host = malloc(sizeof(*host));
	struct api_error err;
	const char *id;

	if (!host) {
		reply_json(rep, 500, NULL);
		return;
	}
	if (snapshot_compat_request_parse(body, &id, host, &err) < 0 ||
	    snapshot_judge(&env, id, host, false, 0, &v, &err) < 0) {
		/* An unknown snapshot in a body is the body's fault. */
		if (err.status == 404) {
			err.status = 422;
			snprintf(err.code, sizeof(err.code), "unknown_snapshot");
			snprintf(err.field, sizeof(err.field), "snapshot");
		}
		reply_api_error(rep, &err);
		free(host);
		return;
	}
	reply_json(rep, 200, snapshot_verdict_json(&v));
	snapshot_verdict_clear(&v);
	free(host);
}

void snapshot_restore_post(struct request *req, struct reply *rep, const json_t *body)
{
	struct snapshot_env env = env_of(req);
	struct fw_pin pins[COMPAT_MAX_ENTRIES];
	struct snapshot_verdict v;
	struct vm_restore r = { 0 };
	struct vm_entry *e = NULL;
	struct api_error err;
	json_t *report = NULL;
	const char *id;
	unsigned accept;

	if (snapshot_restore_request_parse(body, &id, &accept, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	/* Every check before anything is created. */
	if (snapshot_judge(&env, id, NULL, true, accept, &v, &err) < 0) {
		if (err.status == 404) {
			err.status = 422;
			snprintf(err.code, sizeof(err.code), "unknown_snapshot");
			snprintf(err.field, sizeof(err.field), "snapshot");
		}
		reply_api_error(rep, &err);
		return;
	}
	if (reply_if_refused(rep, &v))
		goto out;
	r.dir = v.dir;
	r.vcpus = v.g.vcpus;
	r.memory_mib = v.g.memory_mib;
	r.npins = snapshot_extra_pins(&v.g, v.report, pins, COMPAT_MAX_ENTRIES);
	r.pins = pins;
	if (v.report->smccc.verdict == COMPAT_SMCCC_ENFORCED) {
		r.deny = v.report->smccc.deny;
		r.ndeny = v.report->smccc.ndeny;
	}
	r.profile = v.m.profile_name ? v.m.profile_name : "";
	r.accept = accept;
	/* The VM's "abi": what the guest is told, register by register. */
	report = compat_report_to_json(v.report);
	r.abi = json_object_get(report, "registers");
	if (vm_core_restore(req->srv->vms, &r, body, &e, &err) < 0) {
		reply_api_error(rep, &err);
		goto out;
	}
	pthread_mutex_lock(&e->lock);
	reply_json(rep, 201, vm_entry_to_json(e));
	pthread_mutex_unlock(&e->lock);
	/* What differs from the source, as the caller accepted it: the vCPU
	 * state's (restore-check) and the workaround levels'. */
	if (rep->body && accept) {
		json_t *acc = wa_levels_accepted(json_object_get(v.restore_check, "accepted"),
						 v.report);

		/* The VM exists: without memory for the list, the 201 goes
		 * without it rather than with a shorter one. */
		if (acc)
			json_object_set_new(rep->body, "accepted", acc);
	}
	snprintf(rep->location, sizeof(rep->location), "/v1/vms/%s", e->id);
	vm_entry_put(e);
out:
	json_decref(report);
	snapshot_verdict_clear(&v);
}
