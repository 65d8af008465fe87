/*
 * fake-vmm: a stand-in for pinvm-vmm that speaks the control protocol
 * without KVM, for test_vmm_client. Same command line. What it does comes
 * from the config's cmdline:
 *   (default)              created, then obeys start/pause/resume/stop
 *   fake:poweroff          after "start": running, then exited/poweroff
 *   fake:fail-create       error (step "pin", a register, EINVAL), exit 1
 *   fake:silent            says nothing; waits to be killed
 *   fake:hold=DIR          a "pause" is answered only once DIR/release
 *                          exists (DIR/held.PID says one waits): a slow
 *                          pinvm-vmm, for the starvation test
 *   fake:ignore-button     "shutdown" is answered shutting_down, and the
 *                          VM ends shutdown_timeout after its timeout_s;
 *                          otherwise it ends "shutdown" at once
 * "reboot" is answered "rebooted" with a growing count.
 * "snapshot" (paused only) writes a vm.json of the config's shape (one
 * register per vCPU, no vGIC registers) and a sparse, all-hole mem.raw,
 * as pinvm-vmm would; fake:snapshot-enospc answers rejected/ENOSPC.
 * It stops between mem.raw and vm.json at the test hold point
 * "vmm-snapshot-memory" (vmm/test_hold.h), as pinvm-vmm does.
 * console_input bytes are appended to the console log (a guest echoing
 * what is typed), or with fake:input-full rejected (EAGAIN).
 * A config with "incoming" (a migration's destination) listens there,
 * says "incoming", takes one connection and reads it to its end (the
 * stream's bytes are not looked at), then says "created" as any other.
 * It first writes "fds: ..." (its open descriptors) to stderr.
 * --prerun-image is taken and ignored (no KVM: no image to write).
 * --control-socket and --exit-file work as in pinvm-vmm, through the same
 * vmm_control.c: when the channel closes it waits there for a new one.
 */
#include "migrate_relay.h"
#include "test_hold.h"
#include "vm_state.h"
#include "vmm_config.h"
#include "vmm_control.h"
#include "vmm_proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int mine = d ? dirfd(d) : -1;
	int fds[64], n = 0;

	fputs("fds:", stderr);
	while (d && (e = readdir(d)) != NULL && n < 64) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != mine)
			fds[n++] = fd;
	}
	if (d)
		closedir(d);
	/* readdir order is not numeric */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (fds[j] < fds[i]) {
				int t = fds[i];

				fds[i] = fds[j];
				fds[j] = t;
			}
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %d", fds[i]);
	fputc('\n', stderr);
	fflush(stderr);
}

static void send_simple(int fd, enum vmm_event_type type)
{
	struct vmm_event ev = { .type = type };

	vmm_proto_send_event(fd, &ev);
}

/* What pinvm-vmm would write for a guest of cfg's shape, minus the data. */
static int fake_snapshot(const struct vmm_config *cfg, const char *dir,
			 struct vmm_event *ev)
{
	struct vm_state st = { .vcpus = cfg->vcpus, .memory_mib = cfg->memory_mib,
			       .ram_base = 0x80000000ULL, .vcpu_features = 0x4,
			       .gic_version = "v3", .gic_nr_irqs = 128,
			       .cntvct = 0x1000, .cntfrq = 62500000,
			       .kernel_release = "fake" };
	char path[4200];
	uint64_t pc = 0xffff800080000000ULL;
	int fd, ret = -ENOMEM;

	st.vcpu = calloc(cfg->vcpus, sizeof(*st.vcpu));
	for (unsigned i = 0; st.vcpu && i < cfg->vcpus; i++) {
		st.vcpu[i].mpidr = 0x80000000ULL | i;
		st.vcpu[i].mp_state = i ? 5 : 0;
		if (vm_state_vcpu_add(&st.vcpu[i], 0x6030000000100040ULL, &pc) < 0)
			goto out;
	}
	/* Borrowed, forgotten before vm_state_free; read back as pinned. */
	st.pins = st.readback = cfg->pins;
	st.npins = cfg->npins;
	snprintf(path, sizeof(path), "%s/mem.raw", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(cfg->memory_mib << 20)) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	test_hold("vmm-snapshot-memory");
	ret = vm_state_save(&st, dir, NULL);
	if (ret == 0) {
		ev->type = VMM_EVENT_SNAPSHOTTED;
		ev->bytes = 1;
	}
out:
	st.pins = st.readback = NULL;
	st.npins = 0;
	vm_state_free(&st);
	return ret;
}

/* fake:hold=DIR: waits (up to a minute) for DIR/release. */
static void hold(const char *cmdline)
{
	const char *h = strstr(cmdline, "fake:hold=");
	char dir[256], path[300];
	int fd;

	if (!h)
		return;
	h += strlen("fake:hold=");
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(h, " "), h);
	snprintf(path, sizeof(path), "%s/held.%d", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/release", dir);
	for (int i = 0; i < 6000 && access(path, F_OK) < 0; i++)
		poll(NULL, 0, 10);
}

static const char *exit_file;
static int lfd = -1;

static int finish(enum vmm_exit_reason reason, int fd)
{
	struct vmm_event x = { .type = VMM_EVENT_EXITED, .reason = reason };
	struct vmm_error err;

	if (exit_file)
		vmm_exit_file_write(exit_file, &x, &err);
	vmm_proto_send_event(fd, &x);
	return 0;
}

static int serve(int fd, struct vmm_config *cfg);

static int fake_shutdown(int fd, const struct vmm_config *cfg, unsigned timeout_s)
{
	struct vmm_event ev = { .type = VMM_EVENT_SHUTTING_DOWN, .timeout_s = timeout_s };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	vmm_proto_send_event(fd, &ev);
	if (!strstr(cfg->cmdline, "fake:ignore-button"))
		return finish(VMM_EXIT_SHUTDOWN, fd);
	/* A guest that does not react: only a stop (or the timeout) ends it. */
	if (poll(&pfd, 1, (int)timeout_s * 1000) > 0) {
		enum vmm_op op;
		struct vmm_error err;

		if (vmm_proto_recv_op(fd, &op, NULL, 0, &err) == 0 && op == VMM_OP_STOP)
			return finish(VMM_EXIT_STOPPED, fd);
	}
	return finish(VMM_EXIT_SHUTDOWN_TIMEOUT, fd);
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	struct vmm_error err;
	struct vmm_event ev = { .type = VMM_EVENT_ERROR };
	const char *config = NULL, *sock = NULL;
	int fd = -1, i, status;

	list_fds();
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--config"))
			config = argv[i + 1];
		else if (!strcmp(argv[i], "--control-fd"))
			fd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--control-socket"))
			sock = argv[i + 1];
		else if (!strcmp(argv[i], "--exit-file"))
			exit_file = argv[i + 1];
	}
	if (!config || fd < 0)
		return 2;
	if (vmm_config_load(config, &cfg, &err) < 0) {
		ev.error = err;
		vmm_proto_send_event(fd, &ev);
		return 1;
	}
	if (sock && vmm_control_listen(sock, &lfd, &err) < 0) {
		ev.error = err;
		vmm_proto_send_event(fd, &ev);
		return 1;
	}
	status = serve(fd, &cfg);
	if (lfd >= 0)
		unlink(sock);
	vmm_config_free(&cfg);
	return status;
}

/* The destination's side of a migration, minus the guest. */
static int receive_incoming(int fd, const char *path)
{
	struct vmm_event ev = { .type = VMM_EVENT_INCOMING };
	char buf[65536];
	int ilfd, conn, ret = migrate_listen_unix(path, &ilfd);
	ssize_t n;

	if (ret < 0) {
		ev.type = VMM_EVENT_ERROR;
		vmm_error_set(&ev.error, "incoming", -ret, "listen on %s", path);
		vmm_proto_send_event(fd, &ev);
		return -1;
	}
	vmm_proto_send_event(fd, &ev);
	ret = migrate_accept(ilfd, -1, -1, &conn);
	close(ilfd);
	unlink(path);
	if (ret < 0)
		return -1;
	while ((n = read(conn, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	close(conn);
	return n < 0 ? -1 : 0;
}

static int serve(int fd, struct vmm_config *cfgp)
{
	struct vmm_config cfg = *cfgp;
	struct vmm_event ev = { .type = VMM_EVENT_CREATED };
	struct vmm_error err;
	bool started = false, paused = false;
	unsigned reboots = 0;

	if (strstr(cfg.cmdline, "fake:silent")) {
		for (;;)
			pause();
	}
	if (strstr(cfg.cmdline, "fake:fail-create")) {
		ev.type = VMM_EVENT_ERROR;
		vmm_error_set(&ev.error, "pin", EINVAL, "fake refusal");
		ev.error.has_register = true;
		ev.error.reg = 0x6030000000160000ULL;
		vmm_proto_send_event(fd, &ev);
		return 1;
	}
	if (cfg.incoming && receive_incoming(fd, cfg.incoming) < 0)
		return 1;
	/* Reads back what was pinned, as KVM does for stored registers. */
	ev.pins = ev.readback = cfg.pins;
	ev.npins = cfg.npins;
	ev.vcpus = cfg.vcpus;
	snprintf(ev.gic, sizeof(ev.gic), "v3");
	vmm_proto_send_event(fd, &ev);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = lfd, .events = POLLIN } };
		static char path[VMM_PROTO_MAX_PATH];
		static uint8_t input[VMM_PROTO_MAX_INPUT];
		size_t input_len = 0;
		enum vmm_op op;
		unsigned timeout_s;
		char bad[16];
		int ret;

		if (poll(pfd, 2, -1) < 0)
			continue;
		/* The old channel's end before a newcomer, as in pinvm-vmm. */
		if (!pfd[0].revents) {
			if (pfd[1].revents)
				vmm_control_accept(lfd, &fd, !started ? "created" :
						   paused ? "paused" : "running", &err);
			continue;
		}
		ret = vmm_proto_recv_op_data(fd, &op, path, sizeof(path), &timeout_s, input,
					     sizeof(input), &input_len, bad, sizeof(bad), &err);

		if (ret == -EPROTO) {
			struct vmm_event r = { .type = VMM_EVENT_REJECTED };

			snprintf(r.op, sizeof(r.op), "%s", bad);
			vmm_proto_send_event(fd, &r);
			continue;
		}
		if (ret < 0 && lfd >= 0) {
			/* pinvmd went away: wait for the next one. */
			close(fd);
			fd = -1;
			continue;
		}
		if (ret < 0)
			return 0;
		switch (op) {
		case VMM_OP_START:
			started = true;
			send_simple(fd, VMM_EVENT_RUNNING);
			if (strstr(cfg.cmdline, "fake:poweroff")) {
				return finish(VMM_EXIT_POWEROFF, fd);
			}
			break;
		case VMM_OP_PAUSE:
			hold(cfg.cmdline);
			paused = started;
			send_simple(fd, started ? VMM_EVENT_PAUSED : VMM_EVENT_REJECTED);
			break;
		case VMM_OP_RESUME:
			paused = false;
			send_simple(fd, VMM_EVENT_RUNNING);
			break;
		case VMM_OP_STOP:
			return finish(VMM_EXIT_STOPPED, fd);
		case VMM_OP_SNAPSHOT: {
			struct vmm_event r = { .type = VMM_EVENT_REJECTED };

			snprintf(r.op, sizeof(r.op), "snapshot");
			if (!paused) {
				snprintf(r.error.detail, sizeof(r.error.detail),
					 "the VM is not paused");
			} else if (strstr(cfg.cmdline, "fake:snapshot-enospc")) {
				r.error.errnum = ENOSPC;
				snprintf(r.error.detail, sizeof(r.error.detail),
					 "write mem.raw: %s", strerror(ENOSPC));
			} else if ((ret = fake_snapshot(&cfg, path, &r)) < 0) {
				r.error.errnum = -ret;
				snprintf(r.error.detail, sizeof(r.error.detail),
					 "fake snapshot: %s", strerror(-ret));
			}
			vmm_proto_send_event(fd, &r);
			break;
		}
		case VMM_OP_MIGRATE_OUT:
		case VMM_OP_MIGRATE_COMMIT:
		case VMM_OP_MIGRATE_ABORT: {
			/* The fake has no guest to send; pinvmd's side sees a refusal. */
			struct vmm_event r = { .type = VMM_EVENT_REJECTED };

			snprintf(r.op, sizeof(r.op), "%s", vmm_op_name(op));
			snprintf(r.error.detail, sizeof(r.error.detail),
				 "the fake pinvm-vmm does not migrate");
			vmm_proto_send_event(fd, &r);
			break;
		}
		case VMM_OP_SHUTDOWN:
			return fake_shutdown(fd, &cfg, timeout_s);
		case VMM_OP_CONSOLE_INPUT: {
			/* The guest echoes what is typed: into the console log. */
			struct vmm_event r = { .type = VMM_EVENT_INPUT_QUEUED, .bytes = input_len };
			int cfd;

			if (strstr(cfg.cmdline, "fake:input-full")) {
				r = (struct vmm_event){ .type = VMM_EVENT_REJECTED };
				snprintf(r.op, sizeof(r.op), "console_input");
				r.error.errnum = EAGAIN;
				snprintf(r.error.detail, sizeof(r.error.detail),
					 "the guest has not read the input before");
			} else if ((cfd = open(cfg.console, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
					       0600)) >= 0) {
				if (write(cfd, input, input_len) != (ssize_t)input_len)
					r.bytes = 0;
				close(cfd);
			}
			vmm_proto_send_event(fd, &r);
			break;
		}
		case VMM_OP_REBOOT: {
			struct vmm_event r = { .type = VMM_EVENT_REBOOTED, .reboots = ++reboots };

			paused = false;
			snprintf(r.error.detail, sizeof(r.error.detail),
				 "reset by fake-vmm (the reboot action)");
			vmm_proto_send_event(fd, &r);
			break;
		}
		}
	}
}
