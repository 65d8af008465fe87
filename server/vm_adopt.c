/*
 * Taking VMs back at start-up: every stored record becomes an entry again;
 * a live pinvm-vmm is re-adopted through its control socket, one that
 * ended while no pinvmd was watching is marked with its own reason.
 */
#include "log.h"
#include "vm_core_internal.h"
#include "vm_dir.h"
#include "vm_names.h"
#include "vm_registry.h"
#include "vm_supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define VM_ATTACH_TIMEOUT_MS 5000
/* A pinvm-vmm busy writing a snapshot answers only when it is done (its
 * control loop is the one writing): as long as the snapshot may take. */
#define VM_ATTACH_BUSY_TRIES 60

/* Whether pid is still the pinvm-vmm of dir, so a recycled pid is never
 * signalled or waited for: its config path is in its command line, or,
 * for one that was a standby (vmm_standby.h: its command line names no
 * VM), its stdout is the VM's log, which it opened at "become". */
static bool vmm_of_dir(json_int_t pid, const char *dir)
{
	char path[64], args[4096];
	size_t n, len = strlen(dir);
	ssize_t ln;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%lld/cmdline", (long long)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(args, 1, sizeof(args) - 1, f);
	fclose(f);
	args[n] = '\0';
	for (size_t i = 0; i < n; i += strlen(args + i) + 1) {
		if (!strncmp(args + i, dir, len) && args[i + len] == '/')
			return true;
	}
	snprintf(path, sizeof(path), "/proc/%lld/fd/1", (long long)pid);
	ln = readlink(path, args, sizeof(args) - 1);
	if (ln <= 0)
		return false;
	args[ln] = '\0';
	return !strncmp(args, dir, len) && args[len] == '/';
}

/* Why a VM the record says is alive is not any more, when it is not. */
static void ended_reason(struct vm_entry *e, int ret, const struct vmm_error *err,
			 json_int_t old_pid, enum vm_state *ended, char *why, size_t len)
{
	if (vm_entry_read_exit(e, ended, why, len)) {
		size_t n = strlen(why);

		snprintf(why + n, len - n, " (while pinvmd was not running)");
	} else if (ret == -ENOENT || ret == -ECONNREFUSED) {
		snprintf(why, len,
			 "pinvm-vmm (pid %lld) was gone when pinvmd started and left no "
			 "exit record (killed, or the host restarted)", (long long)old_pid);
	} else {
		snprintf(why, len, "cannot reach pinvm-vmm: %s", err->detail);
	}
}

/*
 * A VM the record says is alive: take it over through its control socket,
 * or find out why it ended while no pinvmd was watching.
 */
static void adopt(struct vm_entry *e, bool creating, json_int_t old_pid)
{
	char sock[PATH_MAX], why[512] = "";
	struct vmm_event ev;
	struct vmm_error err = { 0 };
	enum vm_state ended = VM_FAILED;
	int ret = -ENAMETOOLONG;

	if (vm_dir_file(e->dir, VM_FILE_CONTROL, sock, sizeof(sock)) == 0) {
		/* A live but busy pinvm-vmm (a loaded host, an emulated one)
		 * gets a few chances; one still running for this VM after them
		 * is waited for (it may be writing a snapshot) rather than
		 * written off while it lives. */
		for (int tries = 0; tries < VM_ATTACH_BUSY_TRIES; tries++) {
			bool patient;

			ret = vmm_client_attach(&e->client, sock, VM_ATTACH_TIMEOUT_MS, &ev,
						&err);
			patient = tries < 2 || (!creating && vmm_of_dir(old_pid, e->dir));
			if (ret != -ETIMEDOUT || !patient)
				break;
			log_msg(LOG_WARN, "vm %s: %s; trying again", e->id, err.detail);
		}
	}
	if (ret < 0 && creating && vmm_of_dir(old_pid, e->dir)) {
		/* Alive but not answering (still building, or busy): as below,
		 * nobody knows this VM was wanted. */
		kill((pid_t)old_pid, SIGKILL);
		log_msg(LOG_WARN, "vm %s: pinvm-vmm %lld of an unfinished create ended", e->id,
			(long long)old_pid);
	}
	if (ret == 0 && creating) {
		/* Its creator never answered the client; nobody knows this VM
		 * was wanted, so it is ended rather than kept. */
		vmm_event_clear(&ev);
		vmm_client_signal(&e->client, SIGKILL);
		vmm_client_reap(&e->client, 2000, &err);
		vmm_client_close(&e->client);
		e->state = VM_FAILED;
		snprintf(e->reason, sizeof(e->reason),
			 "pinvmd stopped while creating this VM; its pinvm-vmm was ended");
		return;
	}
	if (ret == 0) {
		e->state = !strcmp(ev.state, "running") ? VM_RUNNING :
			   !strcmp(ev.state, "paused") ? VM_PAUSED : VM_CREATED;
		/* A restored VM that never ran is shown paused, as it was. */
		if (e->state == VM_CREATED && json_object_get(e->spec, "snapshot")) {
			e->state = VM_PAUSED;
			e->unstarted_restore = true;
		}
		vmm_event_clear(&ev);
		ret = vm_supervise(e);
		if (ret == 0) {
			json_t *f = json_pack("{s:s, s:s, s:I}", "vm_id", e->id, "state",
					      vm_state_name(e->state), "vmm_pid",
					      (json_int_t)e->client.pid);

			log_event(LOG_INFO, "vm re-adopted", f);
			json_decref(f);
			return;
		}
		/* Let it be: it keeps running, and the next pinvmd may do better. */
		vmm_client_close(&e->client);
		snprintf(why, sizeof(why), "cannot supervise it: %s", strerror(-ret));
	} else {
		ended_reason(e, ret, &err, old_pid, &ended, why, sizeof(why));
	}
	if (creating) {
		/* Never handed to a client: whatever it said, it was not made. */
		ended = VM_FAILED;
		snprintf(e->reason, sizeof(e->reason),
			 "pinvmd stopped while creating this VM (%.400s)", why);
	} else {
		snprintf(e->reason, sizeof(e->reason), "%s", why);
	}
	e->state = ended;
}

static const char *str_of(const json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v ? v : "";
}

/* One stored record back into an entry; NULL when it is unusable. */
static struct vm_entry *from_record(struct vm_core *c, json_t *doc)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	const char *state = json_string_value(json_object_get(doc, "state"));
	json_t *abi = json_object_get(doc, "abi");
	struct vm_entry *e;

	if (!id || !state || strlen(id) >= sizeof(e->id) || strchr(id, '/') ||
	    !json_is_object(json_object_get(doc, "spec")))
		return NULL;
	e = vm_entry_new();
	if (!e)
		return NULL;
	if (vm_dir_path(c->state_dir, id, e->dir, sizeof(e->dir)) < 0) {
		vm_entry_put(e);
		return NULL;
	}
	e->store = c->store;
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->created_at, sizeof(e->created_at), "%s", str_of(doc, "created_at"));
	snprintf(e->profile, sizeof(e->profile), "%s", str_of(doc, "profile"));
	snprintf(e->reason, sizeof(e->reason), "%s", str_of(doc, "reason"));
	snprintf(e->updated_at, sizeof(e->updated_at), "%s", str_of(doc, "updated_at"));
	snprintf(e->started_at, sizeof(e->started_at), "%s", str_of(doc, "started_at"));
	snprintf(e->exited_at, sizeof(e->exited_at), "%s", str_of(doc, "exited_at"));
	{
		json_int_t n = json_integer_value(json_object_get(doc, "reboots"));

		e->reboots = n > 0 && n <= UINT32_MAX ? (unsigned)n : 0;
	}
	e->spec = json_incref(json_object_get(doc, "spec"));
	e->abi = json_is_object(abi) || json_is_array(abi) ? json_incref(abi) : NULL;
	if (!strcmp(state, "stopped")) {
		e->state = VM_STOPPED;
	} else if (!strcmp(state, "failed")) {
		e->state = VM_FAILED;
	} else {
		/* What the record said is what subscribers last heard: the
		 * persist below announces what became of it. */
		e->announced = (unsigned char)(1 + (!strcmp(state, "running") ? VM_RUNNING :
						    !strcmp(state, "paused") ? VM_PAUSED :
						    VM_CREATED));
		adopt(e, !strcmp(state, "creating"),
		      json_integer_value(json_object_get(doc, "pid")));
		vm_entry_persist(e);
	}
	return e;
}

/* Whether e was the destination of a live migration that had not arrived
 * when pinvmd stopped: nobody was told of it but the source, which resumed
 * its guest, so nothing of it is kept. */
static bool unarrived_migration(const struct vm_entry *e)
{
	char path[PATH_MAX];
	json_t *cfg;
	bool incoming;

	if (e->state != VM_FAILED ||
	    strncmp(e->reason, "pinvmd stopped while creating", 29) ||
	    vm_dir_file(e->dir, VM_FILE_CONFIG, path, sizeof(path)) < 0)
		return false;
	cfg = json_load_file(path, 0, NULL);
	incoming = json_is_string(json_object_get(cfg, "incoming"));
	json_decref(cfg);
	return incoming;
}

int vm_core_load(struct vm_core *c, char *err, size_t errlen)
{
	unsigned counts[VM_STATE_COUNT] = { 0 };
	json_t *docs, *doc;
	size_t i;
	int ret;

	ret = store_vm_list(c->store, &docs, err, errlen);
	if (ret < 0)
		return ret;
	json_array_foreach(docs, i, doc) {
		struct vm_entry *e = from_record(c, doc);

		if (!e) {
			/* Kept in the store untouched; only DELETE removes a record. */
			log_msg(LOG_ERROR, "vm record %zu is unusable; skipped", i);
			continue;
		}
		if (unarrived_migration(e)) {
			log_msg(LOG_INFO, "vm %s: an incoming migration that never arrived; "
				"forgotten", e->id);
			vm_end(e);
			vm_entry_put(e);
			continue;
		}
		counts[e->state]++;
		e->seq = atomic_fetch_add(&c->seq, 1) + 1;
		{
			const char *name = json_string_value(json_object_get(e->spec, "name"));
			char owner[40];

			if (name && vm_names_claim(c->names, name, e->id, owner) < 0)
				log_msg(LOG_ERROR, "vm %s: its name \"%s\" is VM %s's too", e->id,
					name, owner);
		}
		vm_registry_add(c->reg, e, false); /* newest first, as they were */
	}
	json_decref(docs);
	log_msg(LOG_INFO, "vm records: %u running, %u paused, %u created, %u stopped, "
		"%u failed", counts[VM_RUNNING], counts[VM_PAUSED], counts[VM_CREATED],
		counts[VM_STOPPED], counts[VM_FAILED]);
	return 0;
}
