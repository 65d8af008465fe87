#include "vm_entry.h"

#include "log.h"
#include "vm_dir.h"
#include "vmm_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Reasons are written by vm_supervisor.c, vm_adopt.c and pinvm-vmm's
 * exit record. */
const char *vm_exit_cause(const char *reason)
{
	if (starts(reason, "poweroff"))
		return "poweroff";
	if (starts(reason, "shutdown_timeout"))
		return "shutdown_timeout";
	if (starts(reason, "shutdown"))
		return "shutdown";
	if (starts(reason, "reset"))
		return "reboot";
	if (starts(reason, "stopped"))
		return "stopped";
	if (starts(reason, "error"))
		return "error";
	if (starts(reason, "pinvmd stopped while creating") || strstr(reason, "when pinvmd started"))
		return "pinvmd_restart";
	if (strstr(reason, "killed by signal "))
		return "signal";
	if (strstr(reason, "pinvm-vmm"))
		return "crash";
	return "unknown";
}


const char *vm_state_name(enum vm_state s)
{
	static const char *const names[VM_STATE_COUNT] = { "created", "running", "paused",
							   "stopped", "failed",  "creating" };

	return names[s];
}

struct vm_entry *vm_entry_new(void)
{
	struct vm_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	atomic_init(&e->refs, 1);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->wake_fd = -1;
	e->mig.cancel_fd = -1;
	vmm_client_init(&e->client);
	return e;
}

struct vm_entry *vm_entry_get(struct vm_entry *e)
{
	atomic_fetch_add(&e->refs, 1);
	return e;
}

void vm_entry_put(struct vm_entry *e)
{
	if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	vmm_client_close(&e->client);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	json_decref(e->spec);
	json_decref(e->abi);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e);
}

bool vm_migration_active(const struct vm_entry *e)
{
	return !strcmp(e->mig.phase, "checking") || !strcmp(e->mig.phase, "precopy") ||
	       !strcmp(e->mig.phase, "handover") || !strcmp(e->mig.phase, "resuming");
}

static json_t *migration_json(const struct vm_migration *m)
{
	json_t *o = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:s}", "phase", m->phase,
			      "destination", m->destination, "destination_vm",
			      m->dest_vm[0] ? m->dest_vm : NULL, "rounds", (json_int_t)m->rounds,
			      "bytes_sent", (json_int_t)m->bytes, "data_pages",
			      (json_int_t)m->data_pages, "dirty_pages",
			      (json_int_t)m->dirty_pages, "started_at", m->started_at);

	if (o && m->paused_ms)
		json_object_set_new(o, "paused_ms", json_integer((json_int_t)m->paused_ms));
	if (o && m->downtime_ms)
		json_object_set_new(o, "downtime_ms", json_integer((json_int_t)m->downtime_ms));
	if (o && m->ended_at[0])
		json_object_set_new(o, "ended_at", json_string(m->ended_at));
	if (o && m->error[0])
		json_object_set_new(o, "error", json_string(m->error));
	return o;
}

json_t *vm_entry_to_json(const struct vm_entry *e)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", e->id, "state",
			      vm_state_name(e->state), "created_at",
			      e->created_at, "updated_at",
			      e->updated_at[0] ? e->updated_at : e->created_at, "spec", e->spec);
	json_t *v;

	if (o && (v = json_object_get(e->spec, "name")) && json_object_set(o, "name", v))
		goto oom;
	if (o && json_object_set_new(o, "labels",
				     json_is_object(json_object_get(e->spec, "labels"))
					     ? json_deep_copy(json_object_get(e->spec, "labels"))
					     : json_object()))
		goto oom;
	if (o && e->started_at[0] &&
	    json_object_set_new(o, "started_at", json_string(e->started_at)))
		goto oom;
	if (o && (e->state == VM_STOPPED || e->state == VM_FAILED) &&
	    ((e->exited_at[0] && json_object_set_new(o, "exited_at", json_string(e->exited_at))) ||
	     json_object_set_new(o, "exit_reason", json_string(vm_exit_cause(e->reason)))))
		goto oom;

	if (o && (e->state == VM_STOPPED || e->state == VM_FAILED) &&
	    json_object_set_new(o, "reason", json_string(e->reason)))
		goto oom;
	if (o && json_object_set_new(o, "reboots", json_integer(e->reboots)))
		goto oom;
	if (o && e->abi && json_object_set(o, "abi", e->abi))
		goto oom;
	if (o && e->mig.phase[0] && json_object_set_new(o, "migration", migration_json(&e->mig)))
		goto oom;
	if (o && e->client.pid > 0 && !e->client.reaped &&
	    json_object_set_new(o, "vmm_pid", json_integer(e->client.pid)))
		goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

json_t *vm_entry_record_json(const struct vm_entry *e, const char *state_override)
{
	return json_pack("{s:s, s:s, s:O, s:O?, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "id", e->id,
			 "created_at", e->created_at, "spec", e->spec, "abi", e->abi,
			 "profile", e->profile, "state",
			 state_override ? state_override : vm_state_name(e->state),
			 "reason", e->reason, "pid", (json_int_t)e->client.pid,
			 "updated_at", e->updated_at, "started_at", e->started_at,
			 "exited_at", e->exited_at, "reboots", (json_int_t)e->reboots);
}

static vm_entry_observer observer;

void vm_entry_set_observer(vm_entry_observer fn)
{
	observer = fn;
}

void vm_entry_persist(struct vm_entry *e)
{
	char err[256], reason[sizeof(e->reason)];
	unsigned char previous;
	enum vm_state now;
	json_t *doc;

	pthread_mutex_lock(&e->lock);
	if (e->announced != e->state + 1) {
		char ts[32];

		vm_entry_now(ts);
		memcpy(e->updated_at, ts, sizeof(ts));
		if (e->state == VM_RUNNING &&
		    (!e->started_at[0] || e->announced == VM_CREATED + 1 ||
		     e->announced == VM_STOPPED + 1 || e->announced == VM_FAILED + 1))
			memcpy(e->started_at, ts, sizeof(ts));
		if (e->state == VM_STOPPED || e->state == VM_FAILED)
			memcpy(e->exited_at, ts, sizeof(ts));
	}
	doc = vm_entry_record_json(e, NULL);
	/* Every state change is persisted, so here it is also announced,
	 * once, after the record that says it. */
	previous = e->announced;
	now = e->state;
	e->announced = (unsigned char)(now + 1);
	memcpy(reason, e->reason, sizeof(reason));
	pthread_mutex_unlock(&e->lock);
	if (!doc || store_vm_put(e->store, e->id, doc, err, sizeof(err)) < 0)
		log_msg(LOG_ERROR, "vm %s: cannot store its record: %s", e->id,
			doc ? err : "out of memory");
	json_decref(doc);
	if (observer)
		observer(e->id, previous ? (enum vm_state)(previous - 1) : now, now, reason,
			 previous && previous != now + 1);
}

void vm_entry_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

bool vm_entry_read_exit(const struct vm_entry *e, enum vm_state *state,
			char *reason, size_t len)
{
	char path[PATH_MAX];
	struct vmm_event ev;
	struct vmm_error err;

	if (vm_dir_file(e->dir, VM_FILE_EXIT, path, sizeof(path)) < 0 ||
	    vmm_exit_file_read(path, &ev, &err) < 0)
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
