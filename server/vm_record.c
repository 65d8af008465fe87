#include "vm_record.h"

#include "log.h"
#include "vmm_control.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *vm_state_name(enum vm_state s)
{
	static const char *const names[] = { "created", "running", "paused",
					     "stopped", "failed" };

	return names[s];
}

json_t *vm_to_json(const struct vm *vm)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:O}", "id", vm->id, "state",
			      vm_state_name(vm->state), "created_at",
			      vm->created_at, "spec", vm->spec);

	if (o && (vm->state == VM_STOPPED || vm->state == VM_FAILED) &&
	    json_object_set_new(o, "reason", json_string(vm->reason)))
		goto oom;
	if (o && vm->abi && json_object_set(o, "abi", vm->abi))
		goto oom;
	if (o && vm->client.pid > 0 && !vm->client.reaped &&
	    json_object_set_new(o, "vmm_pid", json_integer(vm->client.pid)))
		goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

json_t *vm_record_json(const struct vm *vm, const char *state_override)
{
	return json_pack("{s:s, s:s, s:O, s:O?, s:s, s:s, s:s, s:I}", "id", vm->id,
			 "created_at", vm->created_at, "spec", vm->spec, "abi", vm->abi,
			 "profile", vm->profile, "state",
			 state_override ? state_override : vm_state_name(vm->state),
			 "reason", vm->reason, "pid", (json_int_t)vm->client.pid);
}

void vm_persist(struct vm *vm)
{
	char err[256];
	json_t *doc;

	pthread_mutex_lock(&vm->lock);
	doc = vm_record_json(vm, NULL);
	pthread_mutex_unlock(&vm->lock);
	if (!doc || store_vm_put(vm->store, vm->id, doc, err, sizeof(err)) < 0)
		log_msg(LOG_ERROR, "vm %s: cannot store its record: %s", vm->id,
			doc ? err : "out of memory");
	json_decref(doc);
}

bool vm_read_exit(const struct vm *vm, enum vm_state *state, char *reason,
		  size_t len)
{
	char path[PATH_MAX + 16];
	struct vmm_event ev;
	struct vmm_error err;

	snprintf(path, sizeof(path), "%s/exit.json", vm->dir);
	if (vmm_exit_file_read(path, &ev, &err) < 0)
		return false;
	if (ev.type == VMM_EVENT_ERROR) {
		*state = VM_FAILED;
		snprintf(reason, len, "error: %s: %s", ev.error.step, ev.error.detail);
	} else {
		*state = ev.reason == VMM_EXIT_ERROR ? VM_FAILED : VM_STOPPED;
		snprintf(reason, len, "%s%s%s", vmm_exit_reason_name(ev.reason),
			 ev.error.detail[0] ? ": " : "", ev.error.detail);
	}
	vmm_event_clear(&ev);
	return true;
}

static void finish_op(struct vm *vm, int result, const char *detail)
{
	if (!vm->op_queued || vm->op_done)
		return;
	vm->op_done = true;
	vm->op_result = result;
	snprintf(vm->op_detail, sizeof(vm->op_detail), "%s", detail ? detail : "");
	pthread_cond_broadcast(&vm->cond);
}

static void describe_death(struct vm *vm, char *out, size_t len)
{
	struct vmm_error err;

	if (vmm_client_reap(&vm->client, 2000, &err) < 0) {
		vmm_client_signal(&vm->client, SIGKILL);
		vmm_client_reap(&vm->client, 2000, &err);
	}
	if (!vm->client.reaped)
		snprintf(out, len, "pinvm-vmm (pid %d) closed its channel", vm->client.pid);
	else if (!vm->client.status_known)
		snprintf(out, len, "pinvm-vmm (pid %d) ended without an exit record "
			 "(killed, or crashed)", vm->client.pid);
	else if (WIFSIGNALED(vm->client.status))
		snprintf(out, len, "pinvm-vmm (pid %d) was killed by signal %d",
			 vm->client.pid, WTERMSIG(vm->client.status));
	else
		snprintf(out, len, "pinvm-vmm (pid %d) exited with status %d without saying why",
			 vm->client.pid, WEXITSTATUS(vm->client.status));
}

/* One event from the VMM; returns false when the VMM is gone. */
static bool on_event(struct vm *vm)
{
	struct vmm_event ev;
	struct vmm_error err;
	enum vmm_event_type type;
	char why[256];
	int ret;

	ret = vmm_client_recv(&vm->client, 0, &ev, &err);
	if (ret == -ETIMEDOUT)
		return true;
	if (ret < 0) {
		enum vm_state ended = VM_FAILED;

		describe_death(vm, why, sizeof(why));
		/* It may have written why before its last words were lost. */
		vm_read_exit(vm, &ended, why, sizeof(why));
		pthread_mutex_lock(&vm->lock);
		if (vm->state != VM_STOPPED) {
			vm->state = vm->deleting ? VM_STOPPED : ended;
			snprintf(vm->reason, sizeof(vm->reason), "%s", why);
		}
		finish_op(vm, -EPIPE, why);
		pthread_mutex_unlock(&vm->lock);
		if (!vm->deleting)
			vm_persist(vm);
		return false;
	}
	pthread_mutex_lock(&vm->lock);
	switch (ev.type) {
	case VMM_EVENT_RUNNING:
		vm->state = VM_RUNNING;
		finish_op(vm, 0, NULL);
		break;
	case VMM_EVENT_PAUSED:
		vm->state = VM_PAUSED;
		finish_op(vm, 0, NULL);
		break;
	case VMM_EVENT_REJECTED:
		finish_op(vm, -EINVAL, ev.error.detail);
		break;
	case VMM_EVENT_EXITED:
		vm->state = ev.reason == VMM_EXIT_ERROR ? VM_FAILED : VM_STOPPED;
		snprintf(vm->reason, sizeof(vm->reason), "%s%s%s",
			 vmm_exit_reason_name(ev.reason), ev.error.detail[0] ? ": " : "",
			 ev.error.detail);
		finish_op(vm, vm->op == VMM_OP_STOP ? 0 : -ESRCH, vm->reason);
		break;
	default:
		snprintf(why, sizeof(why), "unexpected event %s", vmm_event_name(ev.type));
		finish_op(vm, -EPROTO, why);
		break;
	}
	pthread_mutex_unlock(&vm->lock);
	type = ev.type;
	vmm_event_clear(&ev);
	if (type == VMM_EVENT_RUNNING || type == VMM_EVENT_PAUSED ||
	    type == VMM_EVENT_EXITED)
		vm_persist(vm);
	return type != VMM_EVENT_EXITED;
}

static void *supervise(void *arg)
{
	struct vm *vm = arg;
	bool alive = true;

	while (alive) {
		struct pollfd fds[2] = { { .fd = vm->client.fd, .events = POLLIN },
					 { .fd = vm->wake_fd, .events = POLLIN } };
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

			if (read(vm->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				break;
			pthread_mutex_lock(&vm->lock);
			leaving = vm->deleting || vm->detaching;
			if (vm->op_queued && !vm->op_sent) {
				vm->op_sent = send = true;
				op = vm->op;
			}
			pthread_mutex_unlock(&vm->lock);
			if (leaving)
				break;
			if (send && vmm_client_send(&vm->client, op, &err) < 0) {
				pthread_mutex_lock(&vm->lock);
				finish_op(vm, -EPIPE, "pinvm-vmm is gone");
				pthread_mutex_unlock(&vm->lock);
			}
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
			alive = on_event(vm);
	}
	if (!alive) {
		struct vmm_error err;
		int ret = -ETIMEDOUT;

		/* It said "exited"; it is gone in a moment (a sanitizer build's
		 * leak check takes seconds under emulation: let it finish). A
		 * pinvmd that is stopping does not wait: the process ends anyway. */
		for (int i = 0; i < 150 && ret == -ETIMEDOUT; i++) {
			bool leaving;

			pthread_mutex_lock(&vm->lock);
			leaving = vm->detaching;
			pthread_mutex_unlock(&vm->lock);
			if (leaving)
				return NULL;
			ret = vmm_client_reap(&vm->client, 100, &err);
		}
		if (ret < 0)
			vmm_client_signal(&vm->client, SIGKILL);
	}
	return NULL;
}

int vm_supervise(struct vm *vm)
{
	int ret;

	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0)
		return -errno;
	ret = pthread_create(&vm->supervisor, NULL, supervise, vm);
	if (ret) {
		close(vm->wake_fd);
		vm->wake_fd = -1;
		return -ret;
	}
	vm->has_supervisor = true;
	return 0;
}

static void wake(struct vm *vm)
{
	uint64_t one = 1;

	if (write(vm->wake_fd, &one, sizeof(one)) < 0)
		log_msg(LOG_WARN, "vm %s: cannot wake its supervisor", vm->id);
}

int vm_request(struct vm *vm, enum vmm_op op, int timeout_ms, char *detail,
	       size_t detail_len)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	pthread_mutex_lock(&vm->lock);
	/* One op at a time per VM: wait for the previous to be answered. */
	while (vm->op_queued && !vm->op_done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
	if (ret == ETIMEDOUT) {
		pthread_mutex_unlock(&vm->lock);
		snprintf(detail, detail_len, "another operation on this VM is still running");
		return -EBUSY;
	}
	vm->op_queued = true;
	vm->op_sent = vm->op_done = false;
	vm->op = op;
	vm->op_result = 0;
	vm->op_detail[0] = '\0';
	wake(vm);
	while (!vm->op_done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
	if (!vm->op_done) {
		vm->op_queued = false;
		pthread_mutex_unlock(&vm->lock);
		snprintf(detail, detail_len, "pinvm-vmm did not answer %s in %d ms",
			 vmm_op_name(op), timeout_ms);
		return -ETIMEDOUT;
	}
	vm->op_queued = false;
	ret = vm->op_result;
	snprintf(detail, detail_len, "%s", vm->op_detail);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = { "config.json", "config.json.tmp",
					     "console.log", "vmm.log", "control.sock",
					     "exit.json", "exit.json.tmp" };
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_msg(LOG_WARN, "cannot remove %s: %s", dir, strerror(errno));
}

static void vm_free(struct vm *vm)
{
	vmm_client_close(&vm->client);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	json_decref(vm->spec);
	json_decref(vm->abi);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

void vm_detach(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->detaching = true;
	pthread_mutex_unlock(&vm->lock);
	if (vm->has_supervisor) {
		wake(vm);
		pthread_join(vm->supervisor, NULL);
	}
	vm_free(vm);
}

void vm_destroy(struct vm *vm)
{
	struct vmm_error err;
	char msg[256];

	pthread_mutex_lock(&vm->lock);
	vm->deleting = true;
	pthread_mutex_unlock(&vm->lock);
	if (vm->client.pid > 0 && !vm->client.reaped)
		vmm_client_signal(&vm->client, SIGKILL);
	if (vm->has_supervisor) {
		wake(vm);
		pthread_join(vm->supervisor, NULL);
	}
	if (vm->client.pid > 0 && !vm->client.reaped)
		vmm_client_reap(&vm->client, 5000, &err);
	if (vm->dir[0])
		remove_dir(vm->dir);
	if (vm->store) {
		int ret = store_vm_delete(vm->store, vm->id, msg, sizeof(msg));

		if (ret < 0 && ret != -ENOENT) /* ENOENT: refused before it was stored */
			log_msg(LOG_ERROR, "vm %s: cannot delete its record: %s", vm->id, msg);
	}
	vm_free(vm);
}
