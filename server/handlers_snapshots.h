/*
 * The snapshot halves of shared routes: handle_vms_post and
 * handle_compat_post hand a body naming "snapshot" over to these.
 */
#ifndef PINVM_SERVER_HANDLERS_SNAPSHOTS_H
#define PINVM_SERVER_HANDLERS_SNAPSHOTS_H

#include "request.h"

#include <jansson.h>

/* POST /v1/vms {"snapshot": ID}: judge, then restore a paused VM (201). */
void snapshot_restore_post(struct request *req, struct reply *rep, const json_t *body);

/* POST /v1/compatibility {"snapshot": ID, "host": {...}}: the verdict (200). */
void snapshot_compat_post(struct request *req, struct reply *rep, const json_t *body);

void handle_vm_snapshot(struct request *req, struct reply *rep);
void handle_snapshots_list(struct request *req, struct reply *rep);
void handle_snapshots_post(struct request *req, struct reply *rep);
void handle_snapshot_get(struct request *req, struct reply *rep);
void handle_snapshot_delete(struct request *req, struct reply *rep);
void handle_snapshot_archive(struct request *req, struct reply *rep);
void handle_snapshot_compat_get(struct request *req, struct reply *rep);

#endif
