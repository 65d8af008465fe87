/*
 * The microVMs pinvmd supervises. Each VM is a pinvm-vmm process; one
 * supervisor thread per VM owns its control channel, so an HTTP thread
 * never blocks on KVM work: it queues an op and waits for the answer.
 *
 * Records live in memory for the daemon's lifetime; when pinvmd stops it
 * stops its VMs (re-adopting VMs across a daemon restart needs a way back
 * to a running pinvm-vmm, which does not exist yet).
 */
#ifndef PINVM_SERVER_VMS_H
#define PINVM_SERVER_VMS_H

#include "request.h"

#include <stdbool.h>

struct vms;

/* 0 or -ENOMEM. */
int vms_new(struct vms **out);

/* Stops every VM (stop op, then SIGKILL), joins supervisors, frees. */
void vms_free(struct vms *m);

/* Counts VMs by enum vm_state into counts[5]. */
void vms_count_by_state(struct vms *m, unsigned counts[5]);

/* True while a VM created from profile `name` exists. */
bool vms_profile_in_use(struct vms *m, const char *name);

void handle_images_list(struct request *req, struct reply *rep);
void handle_vms_post(struct request *req, struct reply *rep);
void handle_vms_list(struct request *req, struct reply *rep);
void handle_vm_get(struct request *req, struct reply *rep);
void handle_vm_delete(struct request *req, struct reply *rep);
void handle_vm_action(struct request *req, struct reply *rep);
void handle_vm_console(struct request *req, struct reply *rep);

#endif
