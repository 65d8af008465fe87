/*
 * The private control channel between pinvmd and one pinvm-vmm process.
 *
 * Transport: one end of socketpair(AF_UNIX, SOCK_SEQPACKET); every message
 * is exactly one JSON object (UTF-8, no trailing newline needed), at most
 * VMM_PROTO_MAX_MSG bytes.
 *
 * pinvmd -> pinvm-vmm (ops):
 *   {"op": "start"}   run the vCPUs                       -> running
 *   {"op": "pause"}   every vCPU out of KVM_RUN and held  -> paused
 *   {"op": "resume"}                                      -> running
 *                     (on a VM restored from a snapshot and not yet
 *                     started, resume is start: its guest was paused)
 *   {"op": "stop"}    end the VM                          -> exited(stopped)
 *   {"op": "snapshot", "path": "/abs/empty/dir"}   (paused VMs only)
 *                     write vm.json and mem.raw there     -> snapshotted
 *                     (docs/snapshot-format.md); the VM stays paused
 *   {"op": "migrate_out", "path": "/abs/unix.sock"}   (running VMs only)
 *                     connect there and send the guest live
 *                     (docs/migration-format.md)  -> migrate_progress...,
 *                     then migrated (the guest is paused, all sent) or
 *                     migrate_failed (the guest runs on)
 *   {"op": "migrate_commit"}  after migrated: the destination runs the
 *                     guest; end it here          -> exited(stopped)
 *   {"op": "migrate_abort"}   during or after a migration: the guest runs
 *                     on here                     -> running
 *   {"op": "shutdown", "timeout_s": 30}   (running VMs)
 *                     press the power button (the PL061 GPIO line under
 *                     the device tree's gpio-keys KEY_POWER)  -> shutting_down
 *                     then, later, exited(shutdown) when the guest powers
 *                     off, or exited(shutdown_timeout) when it has not
 *                     after timeout_s seconds and pinvm-vmm stopped it
 *   {"op": "reboot"}  (running VMs) a hard reset, as the guest's PSCI
 *                     SYSTEM_RESET would be: same process   -> rebooted
 *   {"op": "console_input", "data": "6c730a"}   (started VMs) bytes for
 *                     the guest (hex, 1..VMM_PROTO_MAX_INPUT of them) into
 *                     the console UART's receive FIFO -> input_queued; or
 *                     rejected with errno EAGAIN when the UART's backlog
 *                     cannot take them all (none is taken)
 * A standby pinvm-vmm (started with --standby, ahead of the VM that will
 * need it: vmm_client_spawn_standby) first says {"event": "standing_by"}
 * (named pinvm-standby, its start-up done), then reads one message before
 * any op:
 *   {"op": "become", "config": "/abs/config.json", "log": "/abs/vmm.log",
 *    "control_socket": "/abs", "exit_file": "/abs", "prerun_image": "/abs"}
 *                     (the last three optional) and is from then on the
 *                     pinvm-vmm that `--config ... --control-socket ...`
 *                     would have started, its stdout and stderr appended
 *                     to "log": "created" or "error" follows. A standby
 *                     whose channel closes first exits, having done
 *                     nothing.
 * Extra keys are ignored. An op that makes no sense in the current state
 * (pause before start, an unknown op, a malformed message) is answered
 * with "rejected" and changes nothing.
 *
 * pinvm-vmm -> pinvmd (events):
 *   {"event": "created", "vcpus": 2, "gic": "v3",
 *    "pins": [{"id": "0x6030000000140000", "value": "0x10000",
 *              "readback": "0x10000"}]}
 *       once, when the VM is fully built (vCPUs initialised, pins applied
 *       on every vCPU, readbacks from vCPU 0) and no vCPU has run yet.
 *   {"event": "error", "step": "pin", "detail": "...", "errno": 2,
 *    "register": "0x6030000000160000"}
 *       creation failed ("register" only when KVM refused a pin); the
 *       process exits right after sending it.
 *   {"event": "running"} / {"event": "paused"}   answers to the ops.
 *   {"event": "shutting_down", "timeout_s": 30}  the button was pressed.
 *   {"event": "rebooted", "reboots": 1, "detail": "..."}
 *       the guest was reset and boots again in this process: the answer
 *       to "reboot", and unprompted after the guest's PSCI SYSTEM_RESET or
 *       SYSTEM_RESET2. reboots counts the resets of this process. The
 *       vCPUs were initialised again and every pin read back equal to its
 *       readback at "created" (else the VM ends with an "error" exit).
 *   {"event": "input_queued", "bytes": 3}   the answer to console_input.
 *   {"event": "snapshotted", "bytes": 123, "data_pages": 45}
 *       bytes written, RAM pages stored (the rest are holes).
 *   {"event": "incoming"}   (config "incoming") listening for the stream;
 *       "created" follows once it was received and the VM is built, or
 *       "error" (step "incoming"/"stream"/...) and the process exits.
 *   {"event": "migrate_progress", "round": 1, "bytes": N, "data_pages": N,
 *    "dirty_pages": N}   after each pre-copy round
 *   {"event": "migrated", "round": 5, "bytes": N, "data_pages": N,
 *    "dirty_pages": N, "paused_ms": N}   all sent; the guest is paused
 *   {"event": "migrate_failed", "detail": "...", "errno": 32}  the guest
 *       runs on here (it was resumed if the sender had paused it)
 *   {"event": "rejected", "op": "pause", "detail": "...", "errno": 28}
 *       "errno" only where a system error was the reason (a snapshot
 *       that hit ENOSPC: the VM is still paused, nothing is left behind).
 *   {"event": "exited", "reason": "poweroff"|"reset"|"stopped"|"error",
 *    "detail": "..."}
 *       the last message; the process exits right after it.
 *   {"event": "attached", "state": "created"|"running"|"paused"}
 *       the first message on a connection to the VM's control socket
 *       (pinvm-vmm --control-socket; see vmm_control.h): a restarted
 *       pinvmd taking the VM over learns where it stands.
 * Events come in the order the VMM did things, so after an op the next
 * event is normally its answer; an "exited" may come first (the guest
 * powered off meanwhile) and may also come unprompted at any time.
 *
 * Builds everywhere (no KVM): both ends use it.
 */
#ifndef PINVM_VMM_PROTO_H
#define PINVM_VMM_PROTO_H

#include "fw_pin.h"
#include "vmm_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_PROTO_MAX_MSG 65536

enum vmm_op {
	VMM_OP_START,
	VMM_OP_PAUSE,
	VMM_OP_RESUME,
	VMM_OP_STOP,
	VMM_OP_SNAPSHOT, /* carries a path */
	VMM_OP_MIGRATE_OUT, /* carries a path */
	VMM_OP_MIGRATE_COMMIT,
	VMM_OP_MIGRATE_ABORT,
	VMM_OP_SHUTDOWN, /* carries timeout_s */
	VMM_OP_REBOOT,
	VMM_OP_CONSOLE_INPUT, /* carries data */
};

#define VMM_PROTO_MAX_TIMEOUT_S 86400

#define VMM_PROTO_MAX_PATH 4096

/* Bytes one console_input carries at most (POST /v1/vms/{id}/console). */
#define VMM_PROTO_MAX_INPUT 4096

/* The "become" message: "" for an optional path not given. */
struct vmm_become {
	char config[VMM_PROTO_MAX_PATH];
	char log[VMM_PROTO_MAX_PATH];
	char control_socket[VMM_PROTO_MAX_PATH];
	char exit_file[VMM_PROTO_MAX_PATH];
	char prerun_image[VMM_PROTO_MAX_PATH];
};

enum vmm_event_type {
	VMM_EVENT_CREATED,
	VMM_EVENT_RUNNING,
	VMM_EVENT_PAUSED,
	VMM_EVENT_REJECTED,
	VMM_EVENT_EXITED,
	VMM_EVENT_ERROR,
	VMM_EVENT_ATTACHED,
	VMM_EVENT_SNAPSHOTTED,
	VMM_EVENT_INCOMING,
	VMM_EVENT_MIGRATE_PROGRESS,
	VMM_EVENT_MIGRATED,
	VMM_EVENT_MIGRATE_FAILED,
	VMM_EVENT_SHUTTING_DOWN,
	VMM_EVENT_REBOOTED,
	VMM_EVENT_INPUT_QUEUED,
	/* A standby's first word (pinvm-vmm --standby): started, named,
	 * waiting for "become". */
	VMM_EVENT_STANDING_BY,
};

enum vmm_exit_reason {
	VMM_EXIT_POWEROFF, /* the guest powered off (PSCI SYSTEM_OFF) */
	VMM_EXIT_RESET,    /* the guest reset and could not be booted again
			    * here (a VM restored from a snapshot has no kernel) */
	VMM_EXIT_STOPPED,  /* "stop" or SIGTERM */
	VMM_EXIT_ERROR,    /* KVM_RUN failed, an unhandled exit, a guest crash */
	VMM_EXIT_SHUTDOWN, /* powered off after a "shutdown" pressed the button */
	VMM_EXIT_SHUTDOWN_TIMEOUT, /* did not power off in time; stopped */
};

struct vmm_event {
	enum vmm_event_type type;
	/* created */
	unsigned vcpus;
	char gic[8];           /* "v3" or "v2" */
	/* The pins written and vCPU 0's readbacks, npins each: malloc'd
	 * (decode) or borrowed (encode). */
	const struct fw_pin *pins;
	const struct fw_pin *readback;
	size_t npins;
	/* exited */
	enum vmm_exit_reason reason;
	/* error: all of it; exited and rejected: error.detail only */
	struct vmm_error error;
	/* rejected */
	char op[16];
	/* attached */
	char state[16];
	/* snapshotted, migrate_progress, migrated, input_queued */
	uint64_t bytes, data_pages;
	/* migrate_progress, migrated */
	unsigned round;
	uint64_t dirty_pages;
	uint64_t paused_ms; /* migrated */
	/* shutting_down */
	unsigned timeout_s;
	/* rebooted */
	unsigned reboots;
	/* Decoded events only: the message as received (a reference the
	 * event owns), for forwarding verbatim. NULL when encoding. */
	json_t *json;
};

const char *vmm_op_name(enum vmm_op op);
int vmm_op_from_name(const char *name, enum vmm_op *op);
const char *vmm_event_name(enum vmm_event_type type);
const char *vmm_exit_reason_name(enum vmm_exit_reason reason);

/* A new reference, or NULL when out of memory. */
json_t *vmm_event_to_json(const struct vmm_event *ev);
/* Fills *ev (zeroed first) from obj, taking a new reference to it. */
int vmm_event_from_json(json_t *obj, struct vmm_event *ev,
			struct vmm_error *err);
/* Frees what a decoded event owns (pins, json) and zeroes it. */
void vmm_event_clear(struct vmm_event *ev);

/*
 * Sending one message. Never raises SIGPIPE. 0, -EPIPE/-ECONNRESET when
 * the peer is gone, -EMSGSIZE, -ENOMEM, or another -errno of send().
 */
int vmm_proto_send_op(int fd, enum vmm_op op);
/* {"op": "snapshot", "path": path}; -ENAMETOOLONG past VMM_PROTO_MAX_PATH. */
int vmm_proto_send_snapshot(int fd, const char *path);
/* {"op": "<op>", "path": path} for the ops that carry one (snapshot,
 * migrate_out); -EINVAL for the others. */
int vmm_proto_send_op_path(int fd, enum vmm_op op, const char *path);
/* {"op": "shutdown", "timeout_s": timeout_s}. */
int vmm_proto_send_shutdown(int fd, unsigned timeout_s);
/* {"op": "console_input", "data": hex}; -EINVAL for 0 or more than
 * VMM_PROTO_MAX_INPUT bytes. */
int vmm_proto_send_input(int fd, const void *data, size_t len);
int vmm_proto_send_event(int fd, const struct vmm_event *ev);

/* The "become" message, paths absolute and shorter than VMM_PROTO_MAX_PATH
 * (-EINVAL, -ENAMETOOLONG). */
int vmm_proto_send_become(int fd, const struct vmm_become *b);
/* Reads it into *b: -EPIPE (with err) when the channel closed first,
 * -EPROTO for anything else than a well-formed "become". */
int vmm_proto_recv_become(int fd, struct vmm_become *b, struct vmm_error *err);

/*
 * Receiving one message (blocking unless fd is non-blocking). 0 with the
 * result; -EAGAIN (nothing there, non-blocking fd), -EPIPE (the peer
 * closed its end: end of stream), -EPROTO (not a valid message; err says
 * why; the message is consumed), or another -errno of recvmsg().
 * vmm_proto_recv_op() also reports the op's name it could not accept in
 * bad_op (may be NULL; "" when there was none).
 */
int vmm_proto_recv_op(int fd, enum vmm_op *op, char *bad_op, size_t bad_op_len,
		      struct vmm_error *err);
/* The same, also giving an op's "path" (snapshot: required, a string of
 * at most VMM_PROTO_MAX_PATH - 1 bytes, else -EPROTO) into path[len]. */
int vmm_proto_recv_op_path(int fd, enum vmm_op *op, char *path, size_t path_len,
			   char *bad_op, size_t bad_op_len, struct vmm_error *err);
/* The same, also giving a shutdown's "timeout_s" (required: an integer of
 * 1..VMM_PROTO_MAX_TIMEOUT_S, else -EPROTO); timeout_s may be NULL only
 * if a shutdown is to be refused. */
int vmm_proto_recv_op_args(int fd, enum vmm_op *op, char *path, size_t path_len,
			   unsigned *timeout_s, char *bad_op, size_t bad_op_len,
			   struct vmm_error *err);
/* The same, also giving a console_input's bytes into data[cap] (cap >=
 * VMM_PROTO_MAX_INPUT) and *len; data NULL refuses console_input. */
int vmm_proto_recv_op_data(int fd, enum vmm_op *op, char *path, size_t path_len,
			   unsigned *timeout_s, uint8_t *data, size_t cap, size_t *len,
			   char *bad_op, size_t bad_op_len, struct vmm_error *err);
int vmm_proto_recv_event(int fd, struct vmm_event *ev, struct vmm_error *err);

#endif
