/* Route handlers, one file per resource family. */
#ifndef PINVM_SERVER_HANDLERS_H
#define PINVM_SERVER_HANDLERS_H

#include "request.h"

#include <stdbool.h>

void handle_host_get(struct request *req, struct reply *rep);
void handle_host_fwregs_get(struct request *req, struct reply *rep);
void handle_host_observed_abi_get(struct request *req, struct reply *rep);

struct profile;

void handle_health_get(struct request *req, struct reply *rep);
void handle_ready_get(struct request *req, struct reply *rep);

void handle_profiles_post(struct request *req, struct reply *rep);
void handle_profiles_list(struct request *req, struct reply *rep);
void handle_profile_get(struct request *req, struct reply *rep);
void handle_profile_delete(struct request *req, struct reply *rep);
void handle_profile_compat_get(struct request *req, struct reply *rep);
void handle_profile_observed_abi_get(struct request *req, struct reply *rep);
void handle_compat_post(struct request *req, struct reply *rep);
void handle_baselines_post(struct request *req, struct reply *rep);

/* Stores p (borrowed) and answers 201 with its stored document;
 * default_kind is source.kind when p has no source. */
void profile_store_and_reply(struct request *req, struct reply *rep,
			     const struct profile *p, const char *default_kind);

/* Loads stored profile `name` into *out, a shared, read-only reference
 * (parsed once, server/profile_cache.h; drop it with profile_free); on
 * failure fills rep (404 profile_not_found, 500) and returns a negative
 * errno. */
int profile_load(struct request *req, struct reply *rep, const char *name,
		 struct profile **out);

struct compat_report;

/*
 * The verdict of stored profile `name` on this host into *out (malloc'd,
 * caller frees). When applying, the outcome is counted in the metrics and
 * a refusal is answered (409 with the whole report). Returns 0, or a
 * negative errno after filling rep: 404 profile_not_found (-ENOENT), 409
 * (-EPERM), 503 no_hypervisor, 500.
 */
int profile_verdict_here(struct request *req, struct reply *rep,
			 const char *name, bool applying,
			 struct compat_report **out);

void handle_images_list(struct request *req, struct reply *rep);
void handle_vms_post(struct request *req, struct reply *rep);
void handle_vms_list(struct request *req, struct reply *rep);
void handle_vm_get(struct request *req, struct reply *rep);
void handle_vm_delete(struct request *req, struct reply *rep);
void handle_vm_action(struct request *req, struct reply *rep);
void handle_vm_console(struct request *req, struct reply *rep);
void handle_vm_console_post(struct request *req, struct reply *rep);

/* Live migration (handlers_migrate.c). */
void handle_vm_migrate_post(struct request *req, struct reply *rep);
void handle_vm_migrate_delete(struct request *req, struct reply *rep);
void handle_vms_incoming_post(struct request *req, struct reply *rep);

/* GET /v1/events (handlers_events.c). */
void handle_events_get(struct request *req, struct reply *rep);


#endif
