#include "vm_supervisor.h"

#include "log.h"
#include "vm_dir.h"
#include "vm_events.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Answers the op in flight, if any. Call with e->lock. */
static void finish_op(struct vm_entry *e, int result, const char *detail)
{
	if (!e->op_queued || e->op_done)
		return;
	e->op_done = true;
	e->op_result = result;
	snprintf(e->op_detail, sizeof(e->op_detail), "%s", detail ? detail : "");
	pthread_cond_broadcast(&e->cond);
}

static void describe_death(struct vm_entry *e, char *out, size_t len)
{
	struct vmm_error err;

	if (vmm_client_reap(&e->client, 2000, &err) < 0) {
		vmm_client_signal(&e->client, SIGKILL);
		vmm_client_reap(&e->client, 2000, &err);
	}
	if (!e->client.reaped)
		snprintf(out, len, "pinvm-vmm (pid %d) closed its channel", e->client.pid);
	else if (!e->client.status_known)
		snprintf(out, len, "pinvm-vmm (pid %d) ended without an exit record "
			 "(killed, or crashed)", e->client.pid);
	else if (WIFSIGNALED(e->client.status))
		snprintf(out, len, "pinvm-vmm (pid %d) was killed by signal %d",
			 e->client.pid, WTERMSIG(e->client.status));
	else
		snprintf(out, len, "pinvm-vmm (pid %d) exited with status %d without saying why",
			 e->client.pid, WEXITSTATUS(e->client.status));
}

/* One event from the VMM; returns false when the VMM is gone. */
static bool on_event(struct vm_entry *e)
{
	struct vmm_event ev;
	struct vmm_error err;
	enum vmm_event_type type;
	enum vm_state rebooted_from = VM_RUNNING;
	unsigned reboots;
	bool ending, answer_after = false; /* the op's answer waits for the record */
	int answer = 0;
	char why[256];
	int ret;

	ret = vmm_client_recv(&e->client, 0, &ev, &err);
	if (ret == -ETIMEDOUT)
		return true;
	if (ret < 0) {
		enum vm_state ended = VM_FAILED;

		describe_death(e, why, sizeof(why));
		/* It may have written why before its last words were lost. */
		vm_entry_read_exit(e, &ended, why, sizeof(why));
		pthread_mutex_lock(&e->lock);
		if (e->state != VM_STOPPED) {
			e->state = e->ending ? VM_STOPPED : ended;
			snprintf(e->reason, sizeof(e->reason), "%s", why);
		}
		finish_op(e, -EPIPE, why);
		ending = e->ending;
		pthread_mutex_unlock(&e->lock);
		if (!ending)
			vm_entry_persist(e);
		return false;
	}
	pthread_mutex_lock(&e->lock);
	switch (ev.type) {
	case VMM_EVENT_RUNNING:
		e->state = VM_RUNNING;
		answer_after = true;
		break;
	case VMM_EVENT_PAUSED:
		e->state = VM_PAUSED;
		answer_after = true;
		break;
	case VMM_EVENT_SNAPSHOTTED:
		e->op_bytes = ev.bytes;
		finish_op(e, 0, NULL);
		break;
	case VMM_EVENT_MIGRATE_PROGRESS:
	case VMM_EVENT_MIGRATED:
		e->mig.rounds = ev.round;
		e->mig.bytes = ev.bytes;
		e->mig.data_pages = ev.data_pages;
		e->mig.dirty_pages = ev.dirty_pages;
		if (ev.type == VMM_EVENT_MIGRATED) {
			e->mig.paused_ms = ev.paused_ms;
			/* All sent; the guest stays paused here until commit or abort. */
			if (e->op == VMM_OP_MIGRATE_OUT)
				finish_op(e, 0, NULL);
		}
		break;
	case VMM_EVENT_MIGRATE_FAILED: {
		json_int_t en = json_integer_value(json_object_get(ev.json, "errno"));

		snprintf(why, sizeof(why), "%.200s%s", ev.error.detail,
			 en == EPIPE || en == ECONNRESET ? " (the stream was cut)" : "");
		if (e->op == VMM_OP_MIGRATE_OUT || e->op == VMM_OP_MIGRATE_ABORT)
			finish_op(e, -EIO, why);
		break;
	}
	case VMM_EVENT_INPUT_QUEUED:
		if (e->op == VMM_OP_CONSOLE_INPUT) {
			e->op_bytes = ev.bytes;
			finish_op(e, 0, NULL);
		}
		break;
	case VMM_EVENT_SHUTTING_DOWN:
		if (e->op == VMM_OP_SHUTDOWN)
			finish_op(e, 0, NULL);
		break;
	case VMM_EVENT_REBOOTED:
		/* Unprompted when the guest reset itself; the answer to "reboot". */
		rebooted_from = e->state;
		e->state = VM_RUNNING;
		e->reboots = ev.reboots;
		answer_after = e->op == VMM_OP_REBOOT;
		break;
	case VMM_EVENT_REJECTED: {
		/* A rejected snapshot may say why as an errno (ENOSPC): keep it. */
		json_int_t en = json_integer_value(json_object_get(ev.json, "errno"));

		if (en == EAGAIN && e->op == VMM_OP_CONSOLE_INPUT) {
			finish_op(e, -EAGAIN, ev.error.detail);
		} else if (en > 0) {
			snprintf(why, sizeof(why), "%.200s (errno %lld)", ev.error.detail,
				 (long long)en);
			finish_op(e, -EINVAL, why);
		} else {
			finish_op(e, -EINVAL, ev.error.detail);
		}
		break;
	}
	case VMM_EVENT_EXITED:
		e->state = ev.reason == VMM_EXIT_ERROR ? VM_FAILED : VM_STOPPED;
		snprintf(e->reason, sizeof(e->reason), "%s%s%s",
			 vmm_exit_reason_name(ev.reason), ev.error.detail[0] ? ": " : "",
			 ev.error.detail);
		answer = e->op == VMM_OP_STOP || e->op == VMM_OP_MIGRATE_COMMIT ? 0 : -ESRCH;
		answer_after = true;
		break;
	default:
		snprintf(why, sizeof(why), "unexpected event %s", vmm_event_name(ev.type));
		finish_op(e, -EPROTO, why);
		break;
	}
	ending = e->ending;
	reboots = e->reboots;
	pthread_mutex_unlock(&e->lock);
	type = ev.type;
	if ((type == VMM_EVENT_MIGRATE_PROGRESS || type == VMM_EVENT_MIGRATED) && !ending)
		vm_events_migration(e);
	if (type == VMM_EVENT_REBOOTED && !ending) {
		log_msg(LOG_INFO, "vm %s rebooted (%u): %s", e->id, reboots, ev.error.detail);
		vm_entry_persist(e);
		vm_events_rebooted(e->id, rebooted_from, reboots, ev.error.detail);
	}
	vmm_event_clear(&ev);
	/* An entry being deleted has no record left to update. */
	if (!ending && (type == VMM_EVENT_RUNNING || type == VMM_EVENT_PAUSED ||
			type == VMM_EVENT_EXITED))
		vm_entry_persist(e);
	/* A change of state is answered once it is stored and stamped: the
	 * answer (and a GET after it) shows the new state with its
	 * started_at or exited_at, and a pinvmd killed right after it finds
	 * the same on restart. */
	if (answer_after) {
		pthread_mutex_lock(&e->lock);
		finish_op(e, answer, type == VMM_EVENT_EXITED ? e->reason : NULL);
		pthread_mutex_unlock(&e->lock);
	}
	return type != VMM_EVENT_EXITED;
}

static void *supervise(void *arg)
{
	struct vm_entry *e = arg;
	bool alive = true;

	while (alive) {
		struct pollfd fds[2] = { { .fd = e->client.fd, .events = POLLIN },
					 { .fd = e->wake_fd, .events = POLLIN } };
		uint64_t n;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents & POLLIN) {
			struct vmm_error err;
			bool send = false, leaving;
			enum vmm_op op = VMM_OP_STOP;
			unsigned timeout_s = 0;
			char path[PATH_MAX] = "";
			uint8_t input[VMM_PROTO_MAX_INPUT];
			size_t input_len = 0;

			if (read(e->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				break;
			pthread_mutex_lock(&e->lock);
			leaving = e->ending || e->detaching;
			if (e->op_queued && !e->op_sent) {
				e->op_sent = send = true;
				op = e->op;
				timeout_s = e->op_timeout_s;
				snprintf(path, sizeof(path), "%s", e->op_path);
				input_len = e->op_input_len;
				memcpy(input, e->op_input, input_len);
			}
			pthread_mutex_unlock(&e->lock);
			if (leaving)
				break;
			if (send && (op == VMM_OP_SHUTDOWN
					     ? vmm_client_send_shutdown(&e->client, timeout_s, &err)
					     : op == VMM_OP_CONSOLE_INPUT
					     ? vmm_client_send_input(&e->client, input, input_len, &err)
					     : vmm_client_send_path(&e->client, op,
								    path[0] ? path : NULL, &err)) < 0) {
				pthread_mutex_lock(&e->lock);
				finish_op(e, -EPIPE, "pinvm-vmm is gone");
				pthread_mutex_unlock(&e->lock);
			}
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
			alive = on_event(e);
	}
	if (!alive) {
		struct vmm_error err;
		int ret = -ETIMEDOUT;

		/* It said "exited"; it is gone in a moment (a sanitizer build's
		 * leak check takes seconds under emulation: let it finish). A
		 * pinvmd that is stopping does not wait: the process ends anyway. */
		for (int i = 0; i < 150 && ret == -ETIMEDOUT; i++) {
			bool leaving;

			pthread_mutex_lock(&e->lock);
			leaving = e->detaching || e->ending;
			pthread_mutex_unlock(&e->lock);
			if (leaving)
				return NULL;
			ret = vmm_client_reap(&e->client, 100, &err);
		}
		if (ret < 0)
			vmm_client_signal(&e->client, SIGKILL);
	}
	return NULL;
}

int vm_supervise(struct vm_entry *e)
{
	int ret;

	e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->wake_fd < 0)
		return -errno;
	ret = pthread_create(&e->supervisor, NULL, supervise, e);
	if (ret) {
		close(e->wake_fd);
		e->wake_fd = -1;
		return -ret;
	}
	e->has_supervisor = true;
	return 0;
}

static void wake(struct vm_entry *e)
{
	uint64_t one = 1;

	if (e->wake_fd >= 0 && write(e->wake_fd, &one, sizeof(one)) < 0)
		log_msg(LOG_WARN, "vm %s: cannot wake its supervisor", e->id);
}

static int request(struct vm_entry *e, enum vmm_op op, const char *path, unsigned timeout_s,
		   const void *input, size_t input_len, int timeout_ms,
		   unsigned long long *bytes, char *detail, size_t detail_len);

int vm_request(struct vm_entry *e, enum vmm_op op, int timeout_ms, char *detail,
	       size_t detail_len)
{
	return vm_request_path(e, op, NULL, timeout_ms, NULL, detail, detail_len);
}

int vm_request_path(struct vm_entry *e, enum vmm_op op, const char *path, int timeout_ms,
		    unsigned long long *bytes, char *detail, size_t detail_len)
{
	return request(e, op, path, 0, NULL, 0, timeout_ms, bytes, detail, detail_len);
}

int vm_request_shutdown(struct vm_entry *e, unsigned timeout_s, int timeout_ms, char *detail,
			size_t detail_len)
{
	return request(e, VMM_OP_SHUTDOWN, NULL, timeout_s, NULL, 0, timeout_ms, NULL, detail,
		       detail_len);
}

int vm_request_input(struct vm_entry *e, const void *data, size_t len, int timeout_ms,
		     char *detail, size_t detail_len)
{
	if (!len || len > VMM_PROTO_MAX_INPUT) {
		snprintf(detail, detail_len, "1 to %d bytes", VMM_PROTO_MAX_INPUT);
		return -EINVAL;
	}
	return request(e, VMM_OP_CONSOLE_INPUT, NULL, 0, data, len, timeout_ms, NULL, detail,
		       detail_len);
}

static int request(struct vm_entry *e, enum vmm_op op, const char *path, unsigned timeout_s,
		   const void *input, size_t input_len, int timeout_ms,
		   unsigned long long *bytes, char *detail, size_t detail_len)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	pthread_mutex_lock(&e->lock);
	/* One op at a time per VM: wait for the previous to be answered. */
	while (e->op_queued && !e->op_done && !e->ending && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&e->cond, &e->lock, &until);
	if (e->ending || e->detaching || e->wake_fd < 0) {
		pthread_mutex_unlock(&e->lock);
		snprintf(detail, detail_len, e->wake_fd < 0 ? "pinvmd does not supervise this VM"
				   : "the VM is being deleted");
		return -ESRCH;
	}
	if (ret == ETIMEDOUT) {
		pthread_mutex_unlock(&e->lock);
		snprintf(detail, detail_len, "another operation on this VM is still running");
		return -EBUSY;
	}
	e->op_queued = true;
	e->op_sent = e->op_done = false;
	e->op = op;
	e->op_result = 0;
	e->op_detail[0] = '\0';
	snprintf(e->op_path, sizeof(e->op_path), "%s", path ? path : "");
	e->op_timeout_s = timeout_s;
	e->op_bytes = 0;
	e->op_input_len = input ? input_len : 0;
	if (input_len)
		memcpy(e->op_input, input, input_len);
	wake(e);
	while (!e->op_done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&e->cond, &e->lock, &until);
	if (!e->op_done) {
		e->op_queued = false;
		pthread_mutex_unlock(&e->lock);
		snprintf(detail, detail_len, "pinvm-vmm did not answer %s in %d ms",
			 vmm_op_name(op), timeout_ms);
		return -ETIMEDOUT;
	}
	e->op_queued = false;
	ret = e->op_result;
	if (bytes)
		*bytes = e->op_bytes;
	snprintf(detail, detail_len, "%s", e->op_detail);
	/* Another waiter may be queued behind this op. */
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static void join_supervisor(struct vm_entry *e)
{
	if (e->has_supervisor) {
		wake(e);
		pthread_join(e->supervisor, NULL);
		e->has_supervisor = false;
	}
}

void vm_supervisor_reset(struct vm_entry *e)
{
	struct vmm_error err;

	/* As vm_end: a live one (a failed restart) dies first, so its
	 * supervisor sees the end and returns. */
	if (e->client.pid > 0 && !e->client.reaped)
		vmm_client_signal(&e->client, SIGKILL);
	join_supervisor(e);
	if (e->client.pid > 0 && !e->client.reaped)
		vmm_client_reap(&e->client, 5000, &err);
	vmm_client_close(&e->client);
	pthread_mutex_lock(&e->lock);
	vmm_client_init(&e->client);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	e->wake_fd = -1;
	e->op_queued = e->op_sent = e->op_done = false;
	pthread_mutex_unlock(&e->lock);
}

void vm_detach(struct vm_entry *e)
{
	pthread_mutex_lock(&e->lock);
	e->detaching = true;
	finish_op(e, -ESRCH, "pinvmd is stopping");
	pthread_mutex_unlock(&e->lock);
	join_supervisor(e);
	vmm_client_close(&e->client);
}

void vm_end(struct vm_entry *e)
{
	struct vmm_error err;
	char msg[256];

	pthread_mutex_lock(&e->lock);
	e->ending = true;
	finish_op(e, -ESRCH, "the VM is being deleted");
	pthread_mutex_unlock(&e->lock);
	if (e->client.pid > 0 && !e->client.reaped)
		vmm_client_signal(&e->client, SIGKILL);
	join_supervisor(e);
	if (e->client.pid > 0 && !e->client.reaped)
		vmm_client_reap(&e->client, 5000, &err);
	if (e->dir[0])
		vm_dir_remove(e->dir);
	if (e->store) {
		int ret = store_vm_delete(e->store, e->id, msg, sizeof(msg));

		if (ret < 0 && ret != -ENOENT) /* ENOENT: refused before it was stored */
			log_msg(LOG_ERROR, "vm %s: cannot delete its record: %s", e->id, msg);
	}
}
