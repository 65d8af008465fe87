/*
 * The source side of a live migration (docs/migration-format.md): a
 * thread that connects to a Unix stream socket, sends the RAM while the
 * guest runs (dirty_log.h rounds), pauses the guest, sends the last dirty
 * pages and the VM state, and stops there with the guest PAUSED: the
 * controller then either ends the VM (the destination runs it: "commit")
 * or resumes it (vm_resume: "abort"). On any failure of its own (a write
 * error, the peer gone, a cancel) the thread resumes a guest it paused
 * before it reports, so a failed migration leaves the guest running.
 *
 * Threading: migrate_send_start() and everything else here are for the
 * controlling thread; the sender thread only touches the VM through
 * vm_pause()/vm_resume(), the dirty log and the state gather of a paused
 * VM. The controller must not pause, resume or snapshot the VM while a
 * sender runs (vmm_main.c refuses those ops), and must call
 * migrate_send_finish() before vm_stop()/vm_destroy().
 */
#ifndef PINVM_VMM_MIGRATE_SEND_H
#define PINVM_VMM_MIGRATE_SEND_H

#include "vmm_error.h"

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct migrate_send;

struct migrate_progress {
	unsigned round;       /* rounds sent so far (1 = the whole RAM) */
	uint64_t bytes;       /* stream bytes written */
	uint64_t data_pages;  /* pages sent with bytes, all rounds */
	uint64_t dirty_pages; /* the last dirty-log fetch; once ok, the pages
			       * copied with the guest paused */
	bool done;            /* the thread has finished */
	bool ok;              /* done, all sent: the guest is paused */
	uint64_t paused_ms;   /* ok: pause -> last byte written */
	struct vmm_error error; /* done && !ok: why (the guest runs again) */
};

struct migrate_send_limits {
	unsigned max_rounds;      /* pre-copy rounds at most, then pause */
	uint64_t converged_pages; /* pause once a round leaves this few */
};

/*
 * Connects to the Unix socket path and starts the sender on vm (running).
 * Fails (err) without a thread when the socket cannot be reached.
 * *out is owned by the caller until migrate_send_finish().
 */
int migrate_send_start(struct vm *vm, const char *path,
		       const struct migrate_send_limits *limits,
		       struct migrate_send **out, struct vmm_error *err);

/* An eventfd readable when progress was made; owned by ms. */
int migrate_send_fd(const struct migrate_send *ms);
/* The progress now (drains the eventfd). */
void migrate_send_progress(struct migrate_send *ms, struct migrate_progress *p);
/* Makes the sender fail as soon as it can (it then resumes the guest). */
void migrate_send_cancel(struct migrate_send *ms);
/* Joins the thread and frees ms; *last is the final progress (may be NULL). */
void migrate_send_finish(struct migrate_send *ms, struct migrate_progress *last);

#endif
