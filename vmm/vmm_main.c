/*
 * pinvm-vmm: one microVM in its own process, controlled by pinvmd.
 *
 *   pinvm-vmm --config FILE --control-fd N [--control-socket PATH]
 *             [--exit-file PATH] [--prerun-image PATH]
 *   pinvm-vmm --standby --control-fd N
 *   pinvm-vmm --helper fwregs|probe|restore-check   (vmm_helper.h)
 *
 * With "incoming" in the config, the VM comes from a live migration
 * (migrate_recv.h) instead of being built at once: "incoming", then
 * "created" when the stream is in. A running VM migrates out on
 * "migrate_out" (migrate_send.h).
 *
 * FILE is described in vmm_config.h, the protocol on fd N in vmm_proto.h.
 * The VM is built at once ("created" or "error"), and runs on "start".
 * --standby starts the process ahead of its VM: it waits for "become",
 * whose paths stand for the other options, then goes on as above; a
 * standby whose channel closes, or that gets SIGTERM, exits quietly.
 * Until "become" its name (/proc/PID/comm) is pinvm-standby.
 *
 * If the control channel closes (pinvmd exited or died), the VM keeps its
 * state and this process lives until the guest ends. With
 * --control-socket, a restarted pinvmd reconnects there and takes over
 * (vmm_control.h); without it, a started VM runs on uncontrolled and one
 * never started is dropped. With --exit-file, the last event is written
 * there before the process exits, whoever is listening. With
 * --prerun-image, the VM's pre-run image (vm.h vm_prerun_gather: what a
 * migration's dry run judges) is gathered by a thread of its own from
 * "created" on, while pinvmd reads the event and answers; a start waits
 * for the gather only, so no vCPU runs before it, and the thread writes
 * the image while the guest boots (issue 16: the create path); every
 * other op (or the end) waits for the file. Failing to write it is
 * logged, not fatal (a migration without it is judged after the pause,
 * by the replay; so is one asked for in the few ms before the file is
 * there). For a migrated-in VM this keeps
 * the gather out of the guest's downtime as long as the source's "resume"
 * comes after it.
 *
 * A guest reset (PSCI SYSTEM_RESET or SYSTEM_RESET2, or the "reboot" op)
 * boots the guest again in this same process (vm_reboot); "shutdown"
 * presses the power button and stops the VM if it is still on after the
 * op's timeout.
 *
 * SIGTERM and SIGINT stop the VM as {"op": "stop"} would. SIGQUIT prints
 * every vCPU's registers to stderr (a hung guest's whereabouts) and goes
 * on. SIGHUP and SIGPIPE are ignored. Exit status: 0 after poweroff, reset or stop; 1
 * after an error (creation or run time); 2 for bad usage.
 */
#include "migrate_recv.h"
#include "migrate_send.h"
#include "test_hold.h"
#include "vm.h"
#include "vmm_config.h"
#include "vmm_helper.h"
#include "vmm_control.h"
#include "vmm_proto.h"
#include "mono_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/*
 * MIGRATING: a migration sender runs (the guest runs, or is paused by the
 * sender for the last pages); MIGRATED: all sent, the guest paused until
 * migrate_commit or migrate_abort.
 */
enum state { CREATED, RUNNING, PAUSED, MIGRATING, MIGRATED };

/* Pre-copy stops after this many rounds, or once a round leaves no more
 * than this many dirty pages (4 MiB) to copy with the guest paused. */
#define MIGRATE_MAX_ROUNDS 12u
#define MIGRATE_CONVERGED_PAGES 1024u
/* An incoming stream that stalls this long is given up. */
#define MIGRATE_IDLE_MS 60000

static const char *state_name(enum state s)
{
	/* The attach protocol knows three states; a migration is one of them
	 * to a pinvmd that takes over (it can abort or commit). */
	return s == CREATED ? "created" : s == RUNNING || s == MIGRATING ? "running" : "paused";
}

struct vmm {
	int ctl;          /* control channel; -1 once closed */
	int lfd;          /* --control-socket listener; -1 without */
	const char *socket_path, *exit_path, *prerun_path; /* NULL when not asked for */
	int sfd;          /* signalfd for SIGTERM/SIGINT */
	int console_fd;
	struct vm *vm;
	struct migrate_send *ms; /* MIGRATING only */
	enum state state;
	bool restored;    /* built from a snapshot ("restore" in the config) */
	/* The pre-run image's thread (while prerun_running): it gathers, sets
	 * prerun_gathered under prerun_lock, then writes. Its outcome and
	 * timings are read after the join. */
	pthread_t prerun;
	bool prerun_running;
	pthread_mutex_t prerun_lock;
	pthread_cond_t prerun_cond;
	bool prerun_gathered;
	atomic_bool prerun_abandon; /* the VM ended: the image is not wanted */
	double prerun_waited; /* ms the start (or the end) waited for the gather */
	int prerun_ret;
	uint64_t prerun_bytes;
	double prerun_gather_ms, prerun_write_ms;
	struct vmm_error prerun_err;
	const struct vmm_config *cfg; /* kept for a guest reset (vm_reboot) */
	/* A "shutdown" pressed the button: its timer, and what to call the end. */
	int shutdown_tfd; /* timerfd; -1 when none is armed */
	unsigned shutdown_timeout_s;
	struct timespec shutdown_at;
	bool shutdown_timed_out;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pinvm-vmm[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pinvm-vmm --config FILE --control-fd N [--control-socket PATH]\n"
		   "                 [--exit-file PATH] [--prerun-image PATH]\n"
		   "       pinvm-vmm --standby --control-fd N\n"
		   "  FILE  the VM's JSON configuration (see vmm/vmm_config.h)\n"
		   "  N     a SOCK_SEQPACKET socket to pinvmd (see vmm/vmm_proto.h)\n"
		   "  --control-socket  where a restarted pinvmd reconnects\n"
		   "  --exit-file       where the last event is kept\n"
		   "  --prerun-image    where the pre-run image is written\n"
		   "  --standby         wait for \"become\" on N, which names all of that\n");
}

/* Sends ev unless the channel is gone; a vanished peer closes our end. */
static void send_event(struct vmm *m, const struct vmm_event *ev)
{
	int ret;

	if (m->ctl < 0)
		return;
	ret = vmm_proto_send_event(m->ctl, ev);
	if (ret < 0) {
		logf_("sending \"%s\": %s; control channel closed",
		      vmm_event_name(ev->type), strerror(-ret));
		close(m->ctl);
		m->ctl = -1;
	}
}

/* The last event, kept on disk for a pinvmd that is not listening now. */
static void record_exit(struct vmm *m, const struct vmm_event *ev)
{
	struct vmm_error err;

	if (m->exit_path && vmm_exit_file_write(m->exit_path, ev, &err) < 0)
		logf_("%s: %s", err.step, err.detail);
	/* Written before the socket goes, so a pinvmd that finds no socket
	 * finds the reason. */
	if (m->socket_path && m->lfd >= 0) {
		unlink(m->socket_path);
		close(m->lfd);
		m->lfd = -1;
	}
}

static int fail(struct vmm *m, const struct vmm_error *err)
{
	struct vmm_event ev = { .type = VMM_EVENT_ERROR, .error = *err };

	logf_("%s: %s", err->step, err->detail);
	record_exit(m, &ev);
	send_event(m, &ev);
	return 1;
}

static void simple_event(struct vmm *m, enum vmm_event_type type)
{
	struct vmm_event ev = { .type = type };

	send_event(m, &ev);
}

static void reject(struct vmm *m, const char *op, const char *detail)
{
	struct vmm_event ev = { .type = VMM_EVENT_REJECTED };

	snprintf(ev.op, sizeof(ev.op), "%s", op);
	snprintf(ev.error.detail, sizeof(ev.error.detail), "%s", detail);
	send_event(m, &ev);
}

/* Ends a migration under way; the sender resumes the guest if it had
 * paused it. *p is its last progress. */
static void migration_cancel(struct vmm *m, struct migrate_progress *p)
{
	memset(p, 0, sizeof(*p));
	if (!m->ms)
		return;
	migrate_send_cancel(m->ms);
	migrate_send_finish(m->ms, p);
	m->ms = NULL;
}

static void *prerun_main(void *arg)
{
	struct vmm *m = arg;
	double t0 = mono_ms_exact(), t1;
	struct vm_state st;
	int ret;

	ret = vm_prerun_gather(m->vm, &st, &m->prerun_err);
	t1 = mono_ms_exact();
	pthread_mutex_lock(&m->prerun_lock);
	m->prerun_gathered = true;
	pthread_cond_broadcast(&m->prerun_cond);
	pthread_mutex_unlock(&m->prerun_lock);
	/* A VM that ended cannot move: its end is not held up for a file
	 * no one will read. */
	if (ret == 0 && atomic_load(&m->prerun_abandon))
		ret = -ECANCELED;
	if (ret == 0)
		ret = vm_prerun_write(&st, m->prerun_path, &m->prerun_bytes, &m->prerun_err);
	vm_state_free(&st);
	m->prerun_ret = ret;
	m->prerun_gather_ms = t1 - t0;
	m->prerun_write_ms = mono_ms_exact() - t1;
	return NULL;
}

/* Gathers and writes the pre-run image while pinvmd takes "created";
 * inline when no thread can be had. */
static void prerun_start(struct vmm *m)
{
	if (!m->prerun_path)
		return;
	pthread_mutex_init(&m->prerun_lock, NULL);
	pthread_cond_init(&m->prerun_cond, NULL);
	m->prerun_running = true;
	if (pthread_create(&m->prerun, NULL, prerun_main, m) == 0)
		return;
	prerun_main(m);
	m->prerun = pthread_self(); /* reported by prerun_join() */
}

/* Before a start: the image is gathered, so no vCPU has run before. */
static void prerun_wait_gathered(struct vmm *m)
{
	double t0 = mono_ms_exact();

	if (!m->prerun_running)
		return;
	pthread_mutex_lock(&m->prerun_lock);
	while (!m->prerun_gathered)
		pthread_cond_wait(&m->prerun_cond, &m->prerun_lock);
	pthread_mutex_unlock(&m->prerun_lock);
	m->prerun_waited += mono_ms_exact() - t0;
}

/* Before anything else touches the VM, and at the end: the image is
 * written (or failed). */
static void prerun_join(struct vmm *m)
{
	if (!m->prerun_running)
		return;
	if (!pthread_equal(m->prerun, pthread_self()))
		pthread_join(m->prerun, NULL);
	m->prerun_running = false;
	pthread_cond_destroy(&m->prerun_cond);
	pthread_mutex_destroy(&m->prerun_lock);
	if (m->prerun_ret == -ECANCELED) {
		logf_("pre-run image: gathered in %.1f ms (the VM waited %.1f ms for that); "
		      "not written: the VM ended first", m->prerun_gather_ms, m->prerun_waited);
		return;
	}
	if (m->prerun_ret < 0) {
		logf_("pre-run image: %s: %s (a migration of this VM is judged after the pause)",
		      m->prerun_err.step, m->prerun_err.detail);
		unlink(m->prerun_path);
		return;
	}
	logf_("pre-run image: %llu bytes; gathered in %.1f ms (the VM waited %.1f ms for "
	      "that), encoded and written in %.1f ms while the guest ran",
	      (unsigned long long)m->prerun_bytes, m->prerun_gather_ms, m->prerun_waited,
	      m->prerun_write_ms);
}

/* Ends the VM, reports why, and returns the exit status. */
static int finish(struct vmm *m)
{
	struct vmm_event ev = { .type = VMM_EVENT_EXITED };
	struct migrate_progress p;

	/* Its end is not held up for the image: the thread stops short of
	 * writing it, or finishes after "exited" (main() joins it; pinvmd
	 * removes the VM's directory only once this process is gone). */
	atomic_store(&m->prerun_abandon, true);
	prerun_wait_gathered(m);
	migration_cancel(m, &p); /* the sender must not outlive the VM */
	vm_stop(m->vm);
	ev.reason = vm_exit_reason(m->vm, ev.error.detail, sizeof(ev.error.detail));
	if (m->shutdown_tfd >= 0 && ev.reason == VMM_EXIT_POWEROFF) {
		struct timespec now;
		double s;

		clock_gettime(CLOCK_MONOTONIC, &now);
		s = (double)(now.tv_sec - m->shutdown_at.tv_sec) +
		    (double)(now.tv_nsec - m->shutdown_at.tv_nsec) / 1e9;
		ev.reason = VMM_EXIT_SHUTDOWN;
		snprintf(ev.error.detail, sizeof(ev.error.detail),
			 "the guest powered off %.1f s after the power button was pressed", s);
	} else if (m->shutdown_timed_out && ev.reason == VMM_EXIT_STOPPED) {
		ev.reason = VMM_EXIT_SHUTDOWN_TIMEOUT;
		snprintf(ev.error.detail, sizeof(ev.error.detail),
			 "the guest did not power off within %u s of the power button; "
			 "pinvm-vmm stopped it", m->shutdown_timeout_s);
	}
	logf_("exited: %s: %s", vmm_exit_reason_name(ev.reason), ev.error.detail);
	record_exit(m, &ev);
	send_event(m, &ev);
	return ev.reason == VMM_EXIT_ERROR ? 1 : 0;
}

/* A snapshot of the paused VM into path; the VM stays paused. */
static void do_snapshot(struct vmm *m, const char *path)
{
	struct vmm_event ev = { .type = VMM_EVENT_SNAPSHOTTED };
	struct vmm_error err;

	if (m->state != PAUSED && m->state != MIGRATED) {
		reject(m, "snapshot", "the VM is not paused");
		return;
	}
	if (vm_snapshot(m->vm, path, &ev.bytes, &ev.data_pages, &err) < 0) {
		struct vmm_event rej = { .type = VMM_EVENT_REJECTED };

		logf_("snapshot %s: %s: %s", path, err.step, err.detail);
		snprintf(rej.op, sizeof(rej.op), "snapshot");
		snprintf(rej.error.detail, sizeof(rej.error.detail), "%s", err.detail);
		rej.error.errnum = err.errnum;
		send_event(m, &rej);
		return;
	}
	logf_("snapshot %s: %llu bytes, %llu RAM pages", path,
	      (unsigned long long)ev.bytes, (unsigned long long)ev.data_pages);
	send_event(m, &ev);
}

static void migrate_out(struct vmm *m, const char *path)
{
	const struct migrate_send_limits limits = {
		.max_rounds = MIGRATE_MAX_ROUNDS, .converged_pages = MIGRATE_CONVERGED_PAGES,
	};
	struct vmm_error err;

	if (m->state != RUNNING) {
		reject(m, "migrate_out", m->state == MIGRATING || m->state == MIGRATED
					 ? "a migration is under way"
					 : "the VM is not running");
		return;
	}
	if (migrate_send_start(m->vm, path, &limits, &m->ms, &err) < 0) {
		struct vmm_event rej = { .type = VMM_EVENT_REJECTED };

		logf_("migrate_out %s: %s: %s", path, err.step, err.detail);
		snprintf(rej.op, sizeof(rej.op), "migrate_out");
		snprintf(rej.error.detail, sizeof(rej.error.detail), "%s", err.detail);
		rej.error.errnum = err.errnum;
		send_event(m, &rej);
		return;
	}
	logf_("migrate_out %s: started", path);
	m->state = MIGRATING;
}

/* The sender made progress or finished. */
static void on_migration(struct vmm *m)
{
	struct migrate_progress p;
	struct vmm_event ev = { 0 };

	migrate_send_progress(m->ms, &p);
	if (p.done) {
		migrate_send_finish(m->ms, &p);
		m->ms = NULL;
	}
	ev.round = p.round;
	ev.bytes = p.bytes;
	ev.data_pages = p.data_pages;
	ev.dirty_pages = p.dirty_pages;
	if (!p.done) {
		ev.type = VMM_EVENT_MIGRATE_PROGRESS;
	} else if (p.ok) {
		ev.type = VMM_EVENT_MIGRATED;
		ev.paused_ms = p.paused_ms;
		m->state = MIGRATED;
		logf_("migrated: %u rounds, %llu bytes, paused %llu ms before the last byte",
		      p.round, (unsigned long long)p.bytes, (unsigned long long)p.paused_ms);
	} else {
		ev.type = VMM_EVENT_MIGRATE_FAILED;
		ev.error = p.error;
		m->state = RUNNING;
		logf_("migration failed (%s: %s); the guest runs on", p.error.step,
		      p.error.detail);
	}
	send_event(m, &ev);
}

/* "shutdown": the button now, a hard stop when timeout_s have passed. */
static void do_shutdown(struct vmm *m, unsigned timeout_s)
{
	struct itimerspec its = { .it_value = { .tv_sec = timeout_s } };
	struct vmm_event ev = { .type = VMM_EVENT_SHUTTING_DOWN, .timeout_s = timeout_s };

	if (m->state != RUNNING) {
		reject(m, "shutdown", m->state == PAUSED ? "the VM is paused: its guest "
			"cannot see the button" : "the VM has not been started");
		return;
	}
	/* A second request presses again; the first deadline stands. */
	if (m->shutdown_tfd < 0) {
		m->shutdown_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (m->shutdown_tfd < 0 || timerfd_settime(m->shutdown_tfd, 0, &its, NULL) < 0) {
			struct vmm_event rej = { .type = VMM_EVENT_REJECTED };

			snprintf(rej.op, sizeof(rej.op), "shutdown");
			snprintf(rej.error.detail, sizeof(rej.error.detail), "timerfd: %s",
				 strerror(errno));
			rej.error.errnum = errno;
			if (m->shutdown_tfd >= 0)
				close(m->shutdown_tfd);
			m->shutdown_tfd = -1;
			send_event(m, &rej);
			return;
		}
		m->shutdown_timeout_s = timeout_s;
		clock_gettime(CLOCK_MONOTONIC, &m->shutdown_at);
	}
	ev.timeout_s = m->shutdown_timeout_s;
	vm_power_button(m->vm);
	logf_("power button pressed; a hard stop in %u s if the guest stays on",
	      m->shutdown_timeout_s);
	send_event(m, &ev);
}

/* The guest reset (or "reboot" asked for it): boot it again, here. */
static int do_reboot(struct vmm *m)
{
	struct vmm_event ev = { .type = VMM_EVENT_REBOOTED };
	struct vmm_error err;

	test_hold("vmm-reboot"); /* the vCPUs are told to stop, not yet joined */
	if (vm_reboot(m->vm, m->cfg, &ev.reboots, ev.error.detail, sizeof(ev.error.detail),
		      &err) < 0) {
		logf_("reboot: %s: %s", err.step, err.detail);
		return finish(m);
	}
	m->state = RUNNING;
	logf_("rebooted (%u): %s", ev.reboots, ev.error.detail);
	send_event(m, &ev);
	return -1;
}

/* One op from pinvmd; returns -1 to go on, else the exit status. */
static void console_input(struct vmm *m, const uint8_t *data, size_t len)
{
	struct vmm_event ev = { .type = VMM_EVENT_INPUT_QUEUED, .bytes = len };

	if (m->state == CREATED) {
		reject(m, "console_input", "the VM has not been started");
		return;
	}
	if (vm_console_input(m->vm, data, len) < 0) {
		struct vmm_event rej = { .type = VMM_EVENT_REJECTED };

		snprintf(rej.op, sizeof(rej.op), "console_input");
		rej.error.errnum = EAGAIN;
		snprintf(rej.error.detail, sizeof(rej.error.detail),
			 "the guest has not read %zu bytes typed before; try again later",
			 vm_console_pending(m->vm));
		send_event(m, &rej);
		return;
	}
	send_event(m, &ev);
}

static int handle_op(struct vmm *m, enum vmm_op op, const char *path, unsigned timeout_s,
		     const uint8_t *data, size_t len)
{
	struct migrate_progress p;
	struct vmm_error err;

	if (op == VMM_OP_START)
		prerun_wait_gathered(m);
	else
		prerun_join(m);
	if (m->state == MIGRATING && op != VMM_OP_STOP && op != VMM_OP_MIGRATE_ABORT) {
		reject(m, vmm_op_name(op), "a migration is under way (migrate_abort ends it)");
		return -1;
	}
	switch (op) {
	case VMM_OP_START:
		if (m->state != CREATED) {
			reject(m, "start", "the VM was started already");
			return -1;
		}
		test_hold("vmm-start");
		if (vm_start(m->vm, &err) < 0) {
			logf_("%s: %s", err.step, err.detail);
			return finish(m);
		}
		m->state = RUNNING;
		simple_event(m, VMM_EVENT_RUNNING);
		return -1;
	case VMM_OP_PAUSE:
		if (m->state == CREATED) {
			reject(m, "pause", "the VM has not been started");
			return -1;
		}
		if (m->state == RUNNING && vm_pause(m->vm) < 0) {
			/* A reset is answered by "rebooted"; this pause by nothing. */
			if (vm_reset_pending(m->vm))
				reject(m, "pause", "the guest is rebooting; pause it afterwards");
			return -1; /* it ended meanwhile: the exit fd reports it */
		}
		if (m->state != MIGRATED)
			m->state = PAUSED;
		simple_event(m, VMM_EVENT_PAUSED);
		return -1;
	case VMM_OP_RESUME:
		/* A restored VM is a paused one to its guest: resume starts it. */
		if (m->state == CREATED && m->restored)
			return handle_op(m, VMM_OP_START, path, timeout_s, data, len);
		if (m->state == CREATED) {
			reject(m, "resume", "the VM has not been started");
			return -1;
		}
		vm_resume(m->vm);
		m->state = RUNNING;
		simple_event(m, VMM_EVENT_RUNNING);
		return -1;
	case VMM_OP_STOP:
		return finish(m);
	case VMM_OP_SNAPSHOT:
		do_snapshot(m, path);
		return -1;
	case VMM_OP_MIGRATE_OUT:
		migrate_out(m, path);
		return -1;
	case VMM_OP_MIGRATE_COMMIT:
		if (m->state != MIGRATED) {
			reject(m, "migrate_commit", "no migration has sent everything");
			return -1;
		}
		logf_("migration committed: the guest runs on the destination");
		return finish(m);
	case VMM_OP_MIGRATE_ABORT:
		if (m->state == MIGRATING) {
			migration_cancel(m, &p);
			if (p.ok)
				vm_resume(m->vm); /* it had finished meanwhile */
		} else if (m->state == MIGRATED) {
			vm_resume(m->vm);
		} else {
			reject(m, "migrate_abort", "no migration under way");
			return -1;
		}
		logf_("migration aborted; the guest runs on");
		m->state = RUNNING;
		simple_event(m, VMM_EVENT_RUNNING);
		return -1;
	case VMM_OP_SHUTDOWN:
		do_shutdown(m, timeout_s);
		return -1;
	case VMM_OP_CONSOLE_INPUT:
		console_input(m, data, len);
		return -1;
	case VMM_OP_REBOOT:
		if (m->state == CREATED) {
			reject(m, "reboot", "the VM has not been started");
			return -1;
		}
		vm_request_reset(m->vm, "reset by pinvm-vmm (the reboot action)");
		if (!vm_reset_pending(m->vm))
			return -1; /* it ended meanwhile: the exit fd reports it */
		return do_reboot(m);
	}
	return -1;
}

/* The control channel is readable. */
static int on_control(struct vmm *m)
{
	struct vmm_error err;
	static char path[VMM_PROTO_MAX_PATH];
	static uint8_t data[VMM_PROTO_MAX_INPUT];
	size_t len = 0;
	enum vmm_op op;
	unsigned timeout_s;
	char bad[16];
	int ret = vmm_proto_recv_op_data(m->ctl, &op, path, sizeof(path), &timeout_s, data,
					 sizeof(data), &len, bad, sizeof(bad), &err);

	if (ret == -EAGAIN)
		return -1;
	if (ret == -EPROTO) {
		reject(m, bad[0] ? bad : "?", err.detail);
		return -1;
	}
	if (ret < 0) {
		close(m->ctl);
		m->ctl = -1;
		if (m->lfd >= 0) {
			logf_("control channel closed (%s); the VM stays %s, waiting for "
			      "pinvmd on %s", strerror(-ret), state_name(m->state),
			      m->socket_path);
			return -1;
		}
		if (m->state == CREATED) {
			logf_("control channel closed before start; dropping the VM");
			return 0;
		}
		logf_("control channel closed (%s); the guest stays %s until it ends",
		      strerror(-ret), m->state == PAUSED ? "paused" : "running");
		return -1;
	}
	return handle_op(m, op, path, timeout_s, data, len);
}

static int serve(struct vmm *m)
{
	for (;;) {
		struct pollfd pfd[6] = {
			{ .fd = m->ctl, .events = POLLIN },
			{ .fd = vm_exit_fd(m->vm), .events = POLLIN },
			{ .fd = m->sfd, .events = POLLIN },
			{ .fd = m->lfd, .events = POLLIN },
			{ .fd = m->ms ? migrate_send_fd(m->ms) : -1, .events = POLLIN },
			{ .fd = m->shutdown_tfd, .events = POLLIN },
		};
		int ret;

		ret = poll(pfd, 6, -1); /* a negative fd is skipped */
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			logf_("poll: %s", strerror(errno));
			return finish(m);
		}
		if (pfd[1].revents) {
			if (!vm_reset_pending(m->vm))
				return finish(m);
			ret = do_reboot(m);
			if (ret >= 0)
				return ret;
			continue;
		}
		if (pfd[5].revents) {
			logf_("the guest did not power off within %u s of the power button: "
			      "stopping it", m->shutdown_timeout_s);
			m->shutdown_timed_out = true;
			return finish(m);
		}
		if (pfd[2].revents) {
			struct signalfd_siginfo si;

			if (read(m->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			if (si.ssi_signo == SIGQUIT) {
				/* The dump pauses and resumes the VM: not while a
				 * migration sender holds it. */
				if (m->state != CREATED && m->state != MIGRATING)
					vm_debug_dump(m->vm, stderr);
				continue;
			}
			logf_("signal %u: stopping the VM", si.ssi_signo);
			return finish(m);
		}
		if (pfd[4].revents && m->ms)
			on_migration(m);
		if (pfd[0].revents) {
			ret = on_control(m);
			if (ret >= 0)
				return ret;
		}
		if (pfd[3].revents) {
			struct vmm_error err;
			bool was_free = m->ctl < 0;

			if (vmm_control_accept(m->lfd, &m->ctl, state_name(m->state),
					       &err) < 0)
				logf_("%s: %s", err.step, err.detail);
			else if (was_free)
				logf_("pinvmd attached on %s", m->socket_path);
		}
	}
}

/* The listening socket of an incoming migration, mode 0600. */
static int listen_unix(const char *path, struct vmm_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return vmm_error_set(err, "incoming", ENAMETOOLONG,
				     "\"incoming\": longer than %zu bytes",
				     sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vmm_error_sys(err, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return vmm_error_set(err, "incoming", e, "bind %s: %s", path, strerror(e));
	}
	if (chmod(path, 0600) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		unlink(path);
		close(fd);
		return vmm_error_set(err, "incoming", e, "listen on %s: %s", path, strerror(e));
	}
	return fd;
}

/*
 * The destination of a migration: listen, say "incoming", receive the
 * stream and build the VM from it. A signal or a message from pinvmd
 * before the stream ended gives it up (the only sensible op then is
 * "stop"); so does a stream that stalls.
 */
static int incoming(struct vmm *m, const struct vmm_config *cfg, struct vmm_error *err)
{
	struct migrate_recv_stats stats;
	int stop[2] = { m->sfd, m->ctl };
	int lfd, ret;

	lfd = listen_unix(cfg->incoming, err);
	if (lfd < 0)
		return lfd;
	logf_("incoming: listening on %s", cfg->incoming);
	simple_event(m, VMM_EVENT_INCOMING);
	ret = migrate_incoming(cfg, m->console_fd, lfd, stop, m->ctl >= 0 ? 2 : 1,
			       MIGRATE_IDLE_MS, &m->vm, &stats, err);
	close(lfd);
	unlink(cfg->incoming);
	if (ret == 0)
		logf_("incoming: %llu bytes, %llu data pages, %llu zero pages, %llu rounds",
		      (unsigned long long)stats.bytes, (unsigned long long)stats.data_pages,
		      (unsigned long long)stats.zero_pages, (unsigned long long)stats.rounds);
	return ret;
}

/*
 * --standby: waits for "become" on the channel (or for SIGTERM and the
 * rest of sfd's signals) before anything else, then takes its paths and
 * appends stdout and stderr to its log. 0 once it is a VM's; 1 when the
 * process should end quietly (the channel closed, a signal); -1 with err
 * when "become" was bad or its log cannot be opened.
 */
static int standby_wait(struct vmm *m, const char **config, struct vmm_become *b,
			struct vmm_error *err)
{
	struct pollfd p[2] = { { .fd = m->ctl, .events = POLLIN },
			       { .fd = m->sfd, .events = POLLIN } };
	int fd, ret;

	/* What ps and /proc/PID/comm show until it is a VM's: tests that
	 * count a lab's VMs' processes, and operators, tell them apart. */
	prctl(PR_SET_NAME, "pinvm-standby");
	{
		/* Only now is it one to hand a VM: named, and its start-up
		 * (the exec, the loader; seconds under a loaded sanitizer
		 * build) behind it. */
		struct vmm_event ev = { .type = VMM_EVENT_STANDING_BY };

		send_event(m, &ev);
		if (m->ctl < 0)
			return 1;
	}
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vmm_error_sys(err, "standby: poll");
		}
		if (p[1].revents)
			return 1;
		if (p[0].revents)
			break;
	}
	ret = vmm_proto_recv_become(m->ctl, b, err);
	if (ret == -EPIPE)
		return 1;
	if (ret < 0)
		return ret;
	fd = open(b->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return vmm_error_set(err, "log", errno, "open %s: %s", b->log, strerror(errno));
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		ret = vmm_error_sys(err, "dup2");
		close(fd);
		return ret;
	}
	close(fd);
	prctl(PR_SET_NAME, "pinvm-vmm");
	*config = b->config;
	m->socket_path = b->control_socket[0] ? b->control_socket : NULL;
	m->exit_path = b->exit_file[0] ? b->exit_file : NULL;
	m->prerun_path = b->prerun_image[0] ? b->prerun_image : NULL;
	return 0;
}

static int parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 1 << 20)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control-fd", required_argument, NULL, 'f' },
		{ "control-socket", required_argument, NULL, 's' },
		{ "exit-file", required_argument, NULL, 'x' },
		{ "prerun-image", required_argument, NULL, 'p' },
		{ "standby", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vmm m = { .ctl = -1, .lfd = -1, .sfd = -1, .console_fd = -1,
			 .shutdown_tfd = -1 };
	static struct vmm_become become; /* --standby: its paths, for good */
	const char *config = NULL;
	bool standby = false;
	struct vmm_config cfg;
	struct vmm_error err;
	struct stat st;
	sigset_t sigs;
	int c, status;
	double t_main = mono_ms_exact(), t_built;

	/* A helper run for pinvmd (vmm_helper.h): one request, one answer. */
	if (argc == 3 && !strcmp(argv[1], "--helper"))
		return vmm_helper_serve(argv[2], stdin, stdout);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			m.ctl = parse_fd(optarg);
			if (m.ctl < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 's':
			m.socket_path = optarg;
			break;
		case 'x':
			m.exit_path = optarg;
			break;
		case 'p':
			m.prerun_path = optarg;
			break;
		case 'S':
			standby = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config == !standby || m.ctl < 0 || optind != argc ||
	    (standby && (m.socket_path || m.exit_path || m.prerun_path))) {
		usage(stderr);
		return 2;
	}
	if (fstat(m.ctl, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		logf_("--control-fd %d is not a socket", m.ctl);
		return 2;
	}
	fcntl(m.ctl, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &sigs, NULL); /* vCPU threads inherit this */
	m.sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (m.sfd < 0) {
		vmm_error_sys(&err, "signalfd");
		return fail(&m, &err);
	}
	if (standby) {
		int ret = standby_wait(&m, &config, &become, &err);

		if (ret > 0)
			return 0;
		if (ret < 0)
			return fail(&m, &err);
		t_main = mono_ms_exact(); /* the VM's own time starts at "become" */
	}

	if (m.exit_path)
		unlink(m.exit_path); /* a VM's directory holds one life */
	if (vmm_config_load(config, &cfg, &err) < 0)
		return fail(&m, &err);
	/* Before "created": once pinvmd has the VM, it can always come back. */
	if (m.socket_path && vmm_control_listen(m.socket_path, &m.lfd, &err) < 0) {
		vmm_config_free(&cfg);
		return fail(&m, &err);
	}
	m.console_fd = open(cfg.console, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			    O_NOCTTY, 0640);
	if (m.console_fd < 0) {
		vmm_error_set(&err, "console", errno, "open %s: %s", cfg.console,
			      strerror(errno));
		vmm_config_free(&cfg);
		return fail(&m, &err);
	}
	m.restored = cfg.restore != NULL || cfg.incoming != NULL;
	t_built = mono_ms_exact();
	if ((cfg.incoming ? incoming(&m, &cfg, &err)
			  : vm_create(&cfg, m.console_fd, &m.vm, &err)) < 0) {
		vmm_config_free(&cfg);
		close(m.console_fd);
		return fail(&m, &err);
	}
	{
		struct vmm_event ev = { .type = VMM_EVENT_CREATED };

		if (cfg.restore)
			test_hold("vmm-restore-built");

		ev.pins = vm_pins(m.vm, &ev.npins, &ev.readback);
		ev.vcpus = vm_vcpu_count(m.vm);
		snprintf(ev.gic, sizeof(ev.gic), "%s", vm_gic_name(m.vm));
		/* Where start-up time goes (issue 16): main() to the VM, and
		 * the VM itself (KVM, RAM, kernel, GIC, vCPUs, pins). */
		logf_("%s: %u vCPUs, %llu MiB, GIC%s, %zu pins; %.1f ms from %s, "
		      "%.1f ms building the VM (%s)",
		      cfg.restore ? "restored" : cfg.incoming ? "migrated in" : "created", ev.vcpus,
		      (unsigned long long)cfg.memory_mib, ev.gic, ev.npins,
		      mono_ms_exact() - t_main,
		      standby ? "\"become\" (a standby process)" : "main()",
		      mono_ms_exact() - t_built, vm_build_timing(m.vm));
		/* "created" first: the gather's thread is not made, nor run,
		 * on the path to pinvmd's answer (the lab: 2-4 ms); any op
		 * is read in serve(), after the thread is there to wait for. */
		send_event(&m, &ev);
		prerun_start(&m);
	}
	m.cfg = &cfg;
	status = m.ctl < 0 && m.lfd < 0 ? 0 : serve(&m);
	prerun_join(&m);
	vm_destroy(m.vm);
	vmm_config_free(&cfg);
	if (m.shutdown_tfd >= 0)
		close(m.shutdown_tfd);
	if (m.lfd >= 0) {
		unlink(m.socket_path);
		close(m.lfd);
	}
	close(m.console_fd);
	if (m.ctl >= 0)
		close(m.ctl);
	close(m.sfd);
	return status;
}
