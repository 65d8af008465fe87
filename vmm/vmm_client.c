#include "vmm_client.h"
#include "mono_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The fds pinvm-vmm gets: 0-2 stdio, 3 the channel; nothing else. */
#define CHILD_CONTROL_FD 3
#define PARENT_FD_FLOOR 10 /* our fds are moved above what the child uses */

void vmm_client_init(struct vmm_client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pidfd = -1;
}

/*
 * posix_spawn, not fork: glibc's is a vfork-style clone that copies none
 * of pinvmd's page tables (its threads, its mappings), and reports a
 * failed exec as its result. That was the dearest part of pinvmd's own
 * share of a create (issue 16). The child gets a new session, default
 * signal dispositions and an empty mask, /dev/null as stdin, the log as
 * stdout and stderr, the channel as fd 3, and nothing else of ours.
 * argv[0] is the binary; log_fd -1 leaves the child ours.
 */
static int spawn_argv(struct vmm_client *c, char **argv, int log_fd, struct vmm_error *err)
{
	int sv[2] = { -1, -1 };
	int ctl = -1, logfd = -1, ret;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid;

	vmm_client_init(c);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vmm_error_sys(err, "socketpair");
	/* Above the fds the child assigns, so a dup2 there clobbers none. */
	ctl = fcntl(sv[1], F_DUPFD_CLOEXEC, PARENT_FD_FLOOR);
	if (log_fd >= 0)
		logfd = fcntl(log_fd, F_DUPFD_CLOEXEC, PARENT_FD_FLOOR);
	if (ctl < 0 || (log_fd >= 0 && logfd < 0)) {
		ret = vmm_error_sys(err, "fcntl F_DUPFD_CLOEXEC");
		goto out;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (logfd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, logfd, STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO);
	}
	posix_spawn_file_actions_adddup2(&fa, ctl, CHILD_CONTROL_FD);
	/* Everything else of pinvmd's (listening sockets, the database),
	 * close-on-exec or not. */
	posix_spawn_file_actions_addclosefrom_np(&fa, CHILD_CONTROL_FD + 1);
	ret = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (ret) {
		ret = vmm_error_set(err, "spawn", ret, "exec %s: %s", argv[0], strerror(ret));
		c->reaped = true; /* glibc reaped the child that could not exec */
		goto out;
	}
	c->pid = pid;
	c->fd = sv[0];
	sv[0] = -1;
	c->status_known = true; /* our child: waitpid will tell */
	ret = 0;
out:
	if (ctl >= 0)
		close(ctl);
	if (logfd >= 0)
		close(logfd);
	if (sv[0] >= 0)
		close(sv[0]);
	close(sv[1]);
	return ret;
}

int vmm_client_spawn(struct vmm_client *c, const struct vmm_spawn *spawn,
		     struct vmm_error *err)
{
	char fdarg[16];
	char *argv[12] = { (char *)spawn->binary, "--config",
			   (char *)spawn->config_path, "--control-fd", fdarg };
	int argc = 5;

	snprintf(fdarg, sizeof(fdarg), "%d", CHILD_CONTROL_FD);
	if (spawn->control_socket) {
		argv[argc++] = "--control-socket";
		argv[argc++] = (char *)spawn->control_socket;
	}
	if (spawn->exit_file) {
		argv[argc++] = "--exit-file";
		argv[argc++] = (char *)spawn->exit_file;
	}
	if (spawn->prerun_image) {
		argv[argc++] = "--prerun-image";
		argv[argc++] = (char *)spawn->prerun_image;
	}
	argv[argc] = NULL;
	return spawn_argv(c, argv, spawn->log_fd, err);
}

int vmm_client_spawn_standby(struct vmm_client *c, const char *binary, int log_fd,
			     struct vmm_error *err)
{
	char fdarg[16];
	char *argv[] = { (char *)binary, "--standby", "--control-fd", fdarg, NULL };

	snprintf(fdarg, sizeof(fdarg), "%d", CHILD_CONTROL_FD);
	return spawn_argv(c, argv, log_fd, err);
}

int vmm_client_become(struct vmm_client *c, const struct vmm_spawn *spawn,
		      const char *log_path, struct vmm_error *err)
{
	struct vmm_become *b = calloc(1, sizeof(*b));
	int ret = 0;

	if (!b)
		return vmm_error_set(err, "become", ENOMEM, "out of memory");

	const char *const from[] = { spawn->config_path, log_path, spawn->control_socket,
				     spawn->exit_file, spawn->prerun_image };
	char *const to[] = { b->config, b->log, b->control_socket, b->exit_file,
			     b->prerun_image };

	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]) && !ret; i++)
		if (from[i] && (size_t)snprintf(to[i], VMM_PROTO_MAX_PATH, "%s", from[i]) >=
				       VMM_PROTO_MAX_PATH)
			ret = vmm_error_set(err, "become", ENAMETOOLONG, "path too long: %s",
					    from[i]);
	if (!ret) {
		ret = c->fd < 0 ? -EPIPE : vmm_proto_send_become(c->fd, b);
		if (ret < 0)
			vmm_error_set(err, "become", -ret, "send \"become\": %s", strerror(-ret));
	}
	free(b);
	return ret;
}

int vmm_client_send(struct vmm_client *c, enum vmm_op op,
		    struct vmm_error *err)
{
	return vmm_client_send_path(c, op, NULL, err);
}

int vmm_client_send_path(struct vmm_client *c, enum vmm_op op, const char *path,
			 struct vmm_error *err)
{
	int ret;

	if (c->fd < 0)
		return vmm_error_set(err, "send", EBADF, "the channel is closed");
	ret = path ? vmm_proto_send_op_path(c->fd, op, path) : vmm_proto_send_op(c->fd, op);
	if (ret < 0)
		return vmm_error_set(err, "send", -ret, "sending \"%s\": %s",
				     vmm_op_name(op), strerror(-ret));
	return 0;
}

int vmm_client_send_shutdown(struct vmm_client *c, unsigned timeout_s,
			     struct vmm_error *err)
{
	int ret;

	if (c->fd < 0)
		return vmm_error_set(err, "send", EBADF, "the channel is closed");
	ret = vmm_proto_send_shutdown(c->fd, timeout_s);
	if (ret < 0)
		return vmm_error_set(err, "send", -ret, "sending \"shutdown\": %s",
				     strerror(-ret));
	return 0;
}

int vmm_client_send_input(struct vmm_client *c, const void *data, size_t len,
			  struct vmm_error *err)
{
	int ret;

	if (c->fd < 0)
		return vmm_error_set(err, "send", EBADF, "the channel is closed");
	ret = vmm_proto_send_input(c->fd, data, len);
	if (ret < 0)
		return vmm_error_set(err, "send", -ret, "sending \"console_input\": %s",
				     strerror(-ret));
	return 0;
}

int vmm_client_recv(struct vmm_client *c, int timeout_ms, struct vmm_event *ev,
		    struct vmm_error *err)
{
	int64_t deadline = mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	memset(ev, 0, sizeof(*ev));
	if (c->fd < 0)
		return vmm_error_set(err, "recv", EBADF, "the channel is closed");
	for (;;) {
		int wait = -1, r;

		if (timeout_ms >= 0) {
			int64_t left = deadline - mono_ms();

			wait = left > 0 ? (int)(left > INT_MAX ? INT_MAX : left) : 0;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vmm_error_sys(err, "poll");
		if (r == 0)
			return vmm_error_set(err, "recv", ETIMEDOUT,
					     "no event from pinvm-vmm within %d ms",
					     timeout_ms);
		return vmm_proto_recv_event(c->fd, ev, err);
	}
}

int vmm_client_request(struct vmm_client *c, enum vmm_op op, int timeout_ms,
		       struct vmm_event *ev, struct vmm_error *err)
{
	int ret = vmm_client_send(c, op, err);

	if (ret < 0) {
		memset(ev, 0, sizeof(*ev));
		return ret;
	}
	return vmm_client_recv(c, timeout_ms, ev, err);
}

int vmm_client_snapshot(struct vmm_client *c, const char *dir, int timeout_ms,
			struct vmm_event *ev, struct vmm_error *err)
{
	int ret;

	memset(ev, 0, sizeof(*ev));
	if (c->fd < 0)
		return vmm_error_set(err, "send", EBADF, "the channel is closed");
	ret = vmm_proto_send_snapshot(c->fd, dir);
	if (ret < 0)
		return vmm_error_set(err, "send", -ret, "sending \"snapshot\": %s",
				     strerror(-ret));
	return vmm_client_recv(c, timeout_ms, ev, err);
}

int vmm_client_attach(struct vmm_client *c, const char *socket_path,
		      int timeout_ms, struct vmm_event *ev,
		      struct vmm_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, ret;

	vmm_client_init(c);
	memset(ev, 0, sizeof(*ev));
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return vmm_error_set(err, "attach", ENAMETOOLONG, "%s: too long",
				     socket_path);
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vmm_error_sys(err, "attach");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = vmm_error_set(err, "attach", errno, "%s: %s", socket_path,
				    strerror(errno));
		close(fd);
		return ret;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0) {
		ret = vmm_error_sys(err, "SO_PEERCRED");
		close(fd);
		return ret;
	}
	c->fd = fd;
	c->pid = cred.pid;
	c->adopted = true;
	/* Taken while the connection pins the peer, so the pid is still its. */
	c->pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	if (c->pidfd < 0) {
		ret = vmm_error_sys(err, "pidfd_open");
		vmm_client_close(c);
		vmm_client_init(c);
		return ret;
	}
	ret = vmm_client_recv(c, timeout_ms, ev, err);
	if (ret == 0 && ev->type == VMM_EVENT_REJECTED)
		ret = vmm_error_set(err, "attach", EBUSY, "%s", ev->error.detail);
	else if (ret == 0 && ev->type != VMM_EVENT_ATTACHED)
		ret = vmm_error_set(err, "attach", EPROTO, "pinvm-vmm said \"%s\" first",
				    vmm_event_name(ev->type));
	if (ret < 0) {
		vmm_event_clear(ev);
		vmm_client_close(c);
		vmm_client_init(c);
	}
	return ret;
}

int vmm_client_signal(struct vmm_client *c, int sig)
{
	if (c->pid <= 0 || c->reaped)
		return -ESRCH;
	if (c->pidfd >= 0)
		return syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
	return kill(c->pid, sig) < 0 ? -errno : 0;
}

/* An adopted process: its pidfd turns readable when it ends. */
static int reap_adopted(struct vmm_client *c, int timeout_ms,
			struct vmm_error *err)
{
	struct pollfd pfd = { .fd = c->pidfd, .events = POLLIN };
	int64_t deadline = mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

	if (c->pidfd < 0)
		return vmm_error_set(err, "reap", ECHILD, "no pidfd for pid %ld",
				     (long)c->pid);
	for (;;) {
		int64_t left = deadline - mono_ms();
		int r = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)(left > 0 ? left : 0));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vmm_error_sys(err, "poll pidfd");
		if (r > 0) {
			c->reaped = true;
			return 0;
		}
		return vmm_error_set(err, "reap", ETIMEDOUT,
				     "pinvm-vmm %ld still running after %d ms",
				     (long)c->pid, timeout_ms);
	}
}

int vmm_client_reap(struct vmm_client *c, int timeout_ms,
		    struct vmm_error *err)
{
	int64_t deadline = mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };

	if (c->reaped)
		return 0;
	if (c->pid <= 0)
		return vmm_error_set(err, "reap", ECHILD, "no process was spawned");
	if (c->adopted)
		return reap_adopted(c, timeout_ms, err);
	for (;;) {
		pid_t r = waitpid(c->pid, &c->status,
				  timeout_ms < 0 ? 0 : WNOHANG);

		if (r == c->pid) {
			c->reaped = true;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return vmm_error_sys(err, "waitpid");
		if (r == 0 && mono_ms() >= deadline)
			return vmm_error_set(err, "reap", ETIMEDOUT,
					     "pinvm-vmm %ld still running after %d ms",
					     (long)c->pid, timeout_ms);
		if (r == 0)
			nanosleep(&tick, NULL);
	}
}

void vmm_client_close(struct vmm_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
}

int vmm_client_default_binary(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/pinvm-vmm", exe) >= len)
		return -ENAMETOOLONG;
	return 0;
}
