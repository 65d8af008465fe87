/*
 * pinvmd's side of a pinvm-vmm process: spawn it, talk to it over the
 * control channel (vmm_proto.h), signal it, reap it.
 *
 * Ownership:
 *   - pinvmd owns the config file (vmm_config_save() it before spawning;
 *     pinvm-vmm only reads it, once, at start-up) and the console file the
 *     config names (pinvm-vmm opens it O_APPEND and writes UART output).
 *   - struct vmm_client is the caller's; it owns c->fd (our end of the
 *     socketpair) and the duty to reap c->pid.
 *   - pinvm-vmm runs in its own session (setsid), with stdin on /dev/null,
 *     stdout and stderr on spawn->log_fd (or pinvmd's own; a standby's on
 *     its VM's log from "become" on), the control socket as fd 3 and no
 *     other descriptor of pinvmd's.
 *
 * If pinvmd closes the channel or dies, pinvm-vmm does not stop the guest:
 * the VM keeps its state and the process lives on, reparented, until the
 * guest ends. Spawned with a control socket (vmm_control.h), it waits
 * there for a restarted pinvmd, which takes it over with
 * vmm_client_attach(); without one, a VM never started is dropped.
 *
 * An attached client's process is not our child: it is watched through a
 * pidfd (signals cannot reach a recycled pid), and its exit status is
 * never known (status_known false): the exit file says why it ended.
 *
 * Threading: a client is not locked. One thread may sit in
 * vmm_client_recv() while another calls vmm_client_send() (they only
 * share the socket); spawn, reap and close must not race with anything
 * else on the same client. Nothing here touches process-wide state
 * except fork(); only async-signal-safe calls run between fork() and
 * exec, so pinvmd may spawn from any thread. Reap with
 * vmm_client_reap() (waitpid on this pid only); a SIGCHLD handler that
 * reaps every child (waitpid(-1)) would steal the status.
 *
 * Builds everywhere: it only spawns a process.
 */
#ifndef PINVM_VMM_CLIENT_H
#define PINVM_VMM_CLIENT_H

#include "vmm_error.h"
#include "vmm_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vmm_client {
	pid_t pid;   /* pinvm-vmm's pid; 0 before spawn */
	int fd;      /* our end of the control channel; -1 when closed */
	int pidfd;   /* attached clients: the process; -1 otherwise */
	bool adopted; /* attached, not spawned: not our child */
	bool reaped; /* the process has ended (status valid if status_known) */
	bool status_known;
	int status;  /* waitpid() status once reaped, if status_known */
};

struct vmm_spawn {
	const char *binary;      /* path of pinvm-vmm */
	const char *config_path; /* an existing config file */
	int log_fd;              /* pinvm-vmm's stdout and stderr; -1: ours */
	const char *control_socket; /* --control-socket; NULL: none */
	const char *exit_file;      /* --exit-file; NULL: none */
	const char *prerun_image;   /* --prerun-image; NULL: none */
};

void vmm_client_init(struct vmm_client *c);

/*
 * Starts pinvm-vmm --config CONFIG --control-fd 3. Returns once the exec
 * succeeded (or with its errno, step "spawn", when it did not). The next
 * event is "created" or "error".
 */
int vmm_client_spawn(struct vmm_client *c, const struct vmm_spawn *spawn,
		     struct vmm_error *err);

/*
 * Starts pinvm-vmm --standby --control-fd 3 ahead of the VM that will need
 * it (issue 16: the exec and the process's start-up leave the create
 * path), with stdout and stderr on log_fd (-1: ours) until it becomes a
 * VM's. As vmm_client_spawn otherwise; nothing is sent or received yet:
 * its first event is "standing_by", once it is ready for "become".
 */
int vmm_client_spawn_standby(struct vmm_client *c, const char *binary, int log_fd,
			     struct vmm_error *err);

/*
 * Makes a standby's process the pinvm-vmm vmm_client_spawn(spawn) would
 * have started, appending its output to log_path (spawn->binary and
 * spawn->log_fd are not used: the process runs already). The next event
 * is "created" or "error", as after a spawn. -EPIPE when the standby is
 * gone (it died, or its channel was closed), -ENAMETOOLONG.
 */
int vmm_client_become(struct vmm_client *c, const struct vmm_spawn *spawn,
		      const char *log_path, struct vmm_error *err);

/*
 * Connects to the control socket of a pinvm-vmm a previous pinvmd spawned
 * and reads its "attached" event into *ev (ev->state says where the VM
 * stands; free it with vmm_event_clear). Fills c (pid from SO_PEERCRED,
 * a pidfd, adopted = true). -ENOENT/-ECONNREFUSED when nobody listens
 * there (the process is gone); -EBUSY when another pinvmd holds the VM;
 * -ETIMEDOUT; -EPROTO. On failure c holds nothing to release.
 */
int vmm_client_attach(struct vmm_client *c, const char *socket_path,
		      int timeout_ms, struct vmm_event *ev,
		      struct vmm_error *err);

/* Sends one op. -EPIPE when pinvm-vmm is gone. */
int vmm_client_send(struct vmm_client *c, enum vmm_op op,
		    struct vmm_error *err);
/* The same with the op's "path" (NULL: none; "snapshot" and
 * "migrate_out" have one). */
int vmm_client_send_path(struct vmm_client *c, enum vmm_op op, const char *path,
			 struct vmm_error *err);
/* {"op": "shutdown", "timeout_s": timeout_s}. */
int vmm_client_send_shutdown(struct vmm_client *c, unsigned timeout_s,
			     struct vmm_error *err);
/* {"op": "console_input", "data": hex of data[0..len)}. */
int vmm_client_send_input(struct vmm_client *c, const void *data, size_t len,
			  struct vmm_error *err);

/*
 * Waits up to timeout_ms (negative: forever) for the next event and fills
 * *ev (free it with vmm_event_clear). -ETIMEDOUT; -EPIPE when the channel
 * ended without an "exited"/"error" first, i.e. the process died (killed,
 * crashed) or closed it; -EPROTO for a message that is not an event.
 */
int vmm_client_recv(struct vmm_client *c, int timeout_ms, struct vmm_event *ev,
		    struct vmm_error *err);

/* Sends op and receives the next event (normally its answer; check type). */
int vmm_client_request(struct vmm_client *c, enum vmm_op op, int timeout_ms,
		       struct vmm_event *ev, struct vmm_error *err);

/*
 * Sends {"op": "snapshot", "path": dir} and receives the next event
 * (normally "snapshotted", or "rejected" with the reason; check type).
 */
int vmm_client_snapshot(struct vmm_client *c, const char *dir, int timeout_ms,
			struct vmm_event *ev, struct vmm_error *err);

/* Sends sig (through the pidfd when attached) unless already reaped;
 * 0 or -errno. */
int vmm_client_signal(struct vmm_client *c, int sig);

/*
 * Waits up to timeout_ms (negative: forever) for the process to end and
 * stores its status in c->status (spawned clients only). 0, -ETIMEDOUT,
 * or -ECHILD.
 */
int vmm_client_reap(struct vmm_client *c, int timeout_ms,
		    struct vmm_error *err);

/* Closes the channel (and pidfd) only; the process keeps running. */
void vmm_client_close(struct vmm_client *c);

/*
 * "<directory of the running executable>/pinvm-vmm" into buf: pinvm-vmm
 * is installed next to pinvmd. 0 or -errno (-ENAMETOOLONG).
 */
int vmm_client_default_binary(char *buf, size_t len);

#endif
