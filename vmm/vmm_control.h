/*
 * How a VM outlives the pinvmd that created it. pinvm-vmm started with
 * --control-socket PATH listens there (SOCK_SEQPACKET, mode 0600); when
 * its first controller (the socketpair from vmm_client_spawn) goes away,
 * the VM keeps its state and a restarted pinvmd connects to PATH and
 * takes over. With --exit-file PATH, pinvm-vmm writes its last event
 * there before it exits, so the reason a VM ended survives even when no
 * pinvmd was listening at that moment.
 *
 * One controller at a time: a second connection is answered "rejected"
 * (op "attach") and closed, so two daemons cannot fight over one VM.
 *
 * Builds everywhere (no KVM): pinvm-vmm serves it, pinvmd reads the exit
 * file, and the native tests drive it through fake-vmm.
 */
#ifndef PINVM_VMM_CONTROL_H
#define PINVM_VMM_CONTROL_H

#include "vmm_error.h"
#include "vmm_proto.h"

/*
 * Binds and listens on path (removing a stale socket file first; any
 * other kind of file there is an error, -EEXIST). *lfd is the caller's
 * (close-on-exec). 0 or -errno with err (step "control-socket").
 */
int vmm_control_listen(const char *path, int *lfd, struct vmm_error *err);

/*
 * Accepts one connection from lfd. When *ctl < 0 it becomes *ctl and is
 * sent {"event":"attached","state":state}; otherwise the newcomer is
 * told "rejected" and closed, and *ctl is left alone. 0, or -errno (the
 * newcomer is closed; *ctl unchanged).
 */
int vmm_control_accept(int lfd, int *ctl, const char *state,
		       struct vmm_error *err);

/*
 * Writes ev as JSON to path, mode 0600, atomically (temporary file in the
 * same directory, fsync, rename). 0 or -errno with err (step "exit-file").
 */
int vmm_exit_file_write(const char *path, const struct vmm_event *ev,
			struct vmm_error *err);

/*
 * Reads an exit file back into *ev (free with vmm_event_clear). -ENOENT
 * when there is none; -EPROTO when it holds no "exited" or "error" event.
 */
int vmm_exit_file_read(const char *path, struct vmm_event *ev,
		       struct vmm_error *err);

#endif
