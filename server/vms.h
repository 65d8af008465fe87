/*
 * The microVMs pinvmd supervises. Each VM is a pinvm-vmm process; one
 * supervisor thread per VM owns its control channel, so an HTTP thread
 * never blocks on KVM work: it queues an op and waits for the answer.
 *
 * Every VM has a record in the store until DELETE. When pinvmd stops, its
 * VMs keep running (unless stop_on_exit), and the next pinvmd takes them
 * over with vms_load(); a VM that ended meanwhile is marked stopped or
 * failed with the reason its pinvm-vmm left, or failed with the reason
 * it left none.
 */
#ifndef PINVM_SERVER_VMS_H
#define PINVM_SERVER_VMS_H

#include "request.h"

#include <stdbool.h>

struct vms;

struct store;

/* store is borrowed and must outlive the set. 0 or -ENOMEM. */
int vms_new(struct vms **out, struct store *store, bool stop_on_exit);

/*
 * Brings back every stored VM: re-adopts the live ones (waiting up to a
 * few seconds for each), and records why the others ended. Call once,
 * before serving. 0, or -errno with err when the store cannot be read.
 */
int vms_load(struct vms *m, const char *state_dir, char *err, size_t errlen);

/* Lets go of every VM, leaving them running, or with stop_on_exit stops
 * them first; joins the supervisors and frees the set. */
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
