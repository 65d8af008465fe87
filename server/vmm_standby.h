/*
 * Standby pinvm-vmm processes (issue 16: the create path): a few
 * `pinvm-vmm --standby` started ahead of the VMs that will need them, so
 * that a create, restore or incoming migration hands one its paths
 * ("become", vmm_proto.h) instead of spawning: the exec and the process's
 * start-up leave the path a client waits on. A taken one is replaced in
 * the background. A new one counts as ready once it has said
 * "standing_by": its exec and start-up are then behind it.
 *
 * Ownership and lifetime: the pool is vm_core's (vm_core_new makes it,
 * vm_core_free frees it). It owns its processes until one is taken; a
 * taken client is the caller's, exactly as if vmm_client_spawn_standby had
 * filled it. vmm_standby_free closes the channels of those not taken
 * (each then exits, having done nothing) and reaps them.
 *
 * Threading: vmm_standby_take from any thread; the pool's own refill
 * thread spawns the replacements (one at a time, never on a caller's
 * path). Everything under the pool's mutex.
 *
 * Errors: a standby that cannot be spawned is logged and tried again a
 * second later; a taken one that died meanwhile (its channel hung up) is
 * reaped and skipped. With no standby ready, take says so and the caller
 * spawns as before.
 */
#ifndef PINVM_SERVER_VMM_STANDBY_H
#define PINVM_SERVER_VMM_STANDBY_H

#include "vmm_client.h"

#include <stdbool.h>

struct vmm_standby;

/*
 * A pool of n standby processes of binary (copied), filled from now on in
 * the background. n 0 is a pool that is always empty. 0 with *out, or
 * -ENOMEM / -ENAMETOOLONG / the thread's error.
 */
int vmm_standby_new(unsigned n, const char *binary, struct vmm_standby **out);

/* A ready standby into *out (the caller's from now on), or false when
 * none is ready. */
bool vmm_standby_take(struct vmm_standby *s, struct vmm_client *out);

/* Ends a standby that was taken but not used (its "become" failed):
 * closes its channel, so it exits having done nothing, and reaps it.
 * Blocks until it is gone. */
void vmm_standby_end(struct vmm_client *c);

/* How many are ready now (metrics, tests). */
unsigned vmm_standby_ready(struct vmm_standby *s);

/* Stops the refill, ends and reaps the processes not taken, frees s
 * (NULL: nothing). */
void vmm_standby_free(struct vmm_standby *s);

#endif
