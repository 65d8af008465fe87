#include "vmm_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The fds pinvm-vmm gets: 0-2 stdio, 3 the channel; 4 (close-on-exec)
 * reports a failed exec back to us. */
#define CHILD_CONTROL_FD 3
#define CHILD_EXEC_ERR_FD 4
#define PARENT_FD_FLOOR 10 /* our fds are moved above what the child uses */

void vmm_client_init(struct vmm_client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pidfd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(const struct vmm_spawn *spawn, char *const argv[],
		       int ctl, int errw)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int e, fd, sig;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* fails harmlessly for some */
	if (spawn->log_fd >= 0) {
		if (dup2(spawn->log_fd, STDOUT_FILENO) < 0 ||
		    dup2(spawn->log_fd, STDERR_FILENO) < 0)
			goto fail;
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	if (fd != STDIN_FILENO)
		close(fd);
	if (dup3(errw, CHILD_EXEC_ERR_FD, O_CLOEXEC) < 0 ||
	    dup2(ctl, CHILD_CONTROL_FD) < 0) /* dup2 clears close-on-exec */
		goto fail;
#ifdef SYS_close_range
	/* Everything else of pinvmd's (listening sockets, the database). */
	syscall(SYS_close_range, CHILD_EXEC_ERR_FD + 1, ~0U, 0);
#endif
	execv(spawn->binary, argv);
fail:
	e = errno;
	if (write(CHILD_EXEC_ERR_FD, &e, sizeof(e)) < 0 &&
	    write(errw, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

int vmm_client_spawn(struct vmm_client *c, const struct vmm_spawn *spawn,
		     struct vmm_error *err)
{
	char fdarg[16];
	char *argv[10] = { (char *)spawn->binary, "--config",
			   (char *)spawn->config_path, "--control-fd", fdarg };
	int argc = 5;
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int ctl = -1, errw = -1, e = 0, ret;
	ssize_t n;
	pid_t pid;

	vmm_client_init(c);
	snprintf(fdarg, sizeof(fdarg), "%d", CHILD_CONTROL_FD);
	if (spawn->control_socket) {
		argv[argc++] = "--control-socket";
		argv[argc++] = (char *)spawn->control_socket;
	}
	if (spawn->exit_file) {
		argv[argc++] = "--exit-file";
		argv[argc++] = (char *)spawn->exit_file;
	}
	argv[argc] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vmm_error_sys(err, "socketpair");
	if (pipe2(ep, O_CLOEXEC) < 0) {
		ret = vmm_error_sys(err, "pipe2");
		goto err_sockets;
	}
	/* Above the fds the child assigns, so dup2 there clobbers none. */
	ctl = fcntl(sv[1], F_DUPFD_CLOEXEC, PARENT_FD_FLOOR);
	errw = fcntl(ep[1], F_DUPFD_CLOEXEC, PARENT_FD_FLOOR);
	if (ctl < 0 || errw < 0) {
		ret = vmm_error_sys(err, "fcntl F_DUPFD_CLOEXEC");
		goto err_pipe;
	}
	pid = fork();
	if (pid < 0) {
		ret = vmm_error_sys(err, "fork");
		goto err_pipe;
	}
	if (pid == 0)
		child_exec(spawn, argv, ctl, errw);

	close(ctl);
	close(errw);
	close(sv[1]);
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	c->pid = pid;
	c->fd = sv[0];
	if (n == 0) {
		c->status_known = true; /* our child: waitpid will tell */
		return 0; /* exec closed the pipe: pinvm-vmm is running */
	}
	if (n != (ssize_t)sizeof(e))
		e = EIO;
	ret = vmm_error_set(err, "spawn", e, "exec %s: %s", spawn->binary,
			    strerror(e));
	vmm_client_reap(c, -1, NULL);
	vmm_client_close(c);
	return ret;

err_pipe:
	if (ctl >= 0)
		close(ctl);
	if (errw >= 0)
		close(errw);
	close(ep[0]);
	close(ep[1]);
err_sockets:
	close(sv[0]);
	close(sv[1]);
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
	ret = path ? (op == VMM_OP_SNAPSHOT ? vmm_proto_send_snapshot(c->fd, path) : -EINVAL)
		   : vmm_proto_send_op(c->fd, op);
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

int vmm_client_recv(struct vmm_client *c, int timeout_ms, struct vmm_event *ev,
		    struct vmm_error *err)
{
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	memset(ev, 0, sizeof(*ev));
	if (c->fd < 0)
		return vmm_error_set(err, "recv", EBADF, "the channel is closed");
	for (;;) {
		int wait = -1, r;

		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();

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
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

	if (c->pidfd < 0)
		return vmm_error_set(err, "reap", ECHILD, "no pidfd for pid %ld",
				     (long)c->pid);
	for (;;) {
		int64_t left = deadline - now_ms();
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
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
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
		if (r == 0 && now_ms() >= deadline)
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
