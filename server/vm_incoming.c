/*
 * The destination of a live migration (issue 11, docs/migration-format.md
 * section 4): a VM whose pinvm-vmm receives its guest from another pinvmd
 * instead of booting one. The HTTP request that asks for it waits only
 * for pinvm-vmm to listen; a thread of the VM's own (its "creator") then
 * takes the one connection on a one-shot TCP port (migrate_relay.h),
 * copies the stream into pinvm-vmm and waits for the VM to be built. On
 * any failure that thread ends the VM and forgets it: a migration that
 * did not arrive leaves nothing here.
 */
#include "vm_core.h"

#include "compat.h"
#include "jsonutil.h"
#include "log.h"
#include "migrate_relay.h"
#include "vm_core_internal.h"
#include "vm_dir.h"
#include "vm_events.h"
#include "vm_registry.h"
#include "vm_supervisor.h"
#include "vm_wait.h"
#include "vmm_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long the source has to connect, and the longest silence mid-stream
 * (pinvm-vmm's own is 60 s: ours must not be shorter). */
#define INCOMING_ACCEPT_MS 60000
#define INCOMING_IDLE_MS 90000
#define INCOMING_LISTEN_MS 30000

struct incoming_job {
	struct vm_core *c;
	struct vm_entry *e; /* a reference of the job's */
	int lfd;            /* the one-shot TCP listener, owned */
	char ticket[MIGRATE_TICKET_LEN + 1];
	char sock[PATH_MAX];
};

static int sock_path(const struct vm_entry *e, char *out, size_t len)
{
	/* Well under a Unix socket's 108 bytes, or refused. */
	if (vm_dir_file(e->dir, VM_FILE_INCOMING, out, len) < 0 || strlen(out) > 100)
		return -ENAMETOOLONG;
	return 0;
}

/* pinvm-vmm's first word: listening, or why not. */
static int await_listening(struct vm_entry *e, struct api_error *err)
{
	struct vmm_event ev;
	struct vmm_error verr;
	int ret = vmm_client_recv(&e->client, INCOMING_LISTEN_MS, &ev, &verr);

	if (ret < 0)
		return api_fail(err, 500, "vmm_failed", "",
				"pinvm-vmm did not start listening for the migration: %s",
				verr.detail);
	if (ev.type == VMM_EVENT_INCOMING)
		ret = 0;
	else if (ev.type == VMM_EVENT_ERROR)
		ret = api_fail(err, 500, "vmm_failed", "", "%s: %s", ev.error.step,
			       ev.error.detail);
	else
		ret = api_fail(err, 500, "vmm_failed", "", "pinvm-vmm said %s first",
			       vmm_event_name(ev.type));
	vmm_event_clear(&ev);
	return ret;
}

/* The stream: one connection, its ticket, every byte into pinvm-vmm. */
static int receive(struct incoming_job *job, uint64_t *bytes, struct api_error *err)
{
	int conn = -1, vmm = -1, ret;

	ret = migrate_accept(job->lfd, -1, INCOMING_ACCEPT_MS, &conn);
	close(job->lfd);
	job->lfd = -1;
	if (ret < 0)
		return api_fail(err, 502, "migration_failed", "",
				"no source connected within %d s: %s", INCOMING_ACCEPT_MS / 1000,
				strerror(-ret));
	ret = migrate_tcp_watch(conn);
	if (ret < 0) {
		close(conn);
		return api_fail(err, 500, "migration_failed", "", "the stream's socket: %s",
				strerror(-ret));
	}
	ret = migrate_ticket_check(conn, job->ticket);
	if (ret < 0) {
		close(conn);
		return api_fail(err, 403, "migration_failed", "",
				"the connection did not carry this migration's ticket");
	}
	ret = migrate_connect_unix(job->sock, &vmm);
	if (ret < 0) {
		close(conn);
		return api_fail(err, 500, "migration_failed", "", "connecting to pinvm-vmm: %s",
				strerror(-ret));
	}
	ret = migrate_copy(conn, vmm, -1, INCOMING_IDLE_MS, bytes);
	close(conn);
	close(vmm);
	if (ret < 0)
		return api_fail(err, 502, "migration_failed", "",
				"the stream broke after %llu bytes: %s",
				(unsigned long long)*bytes, strerror(-ret));
	return 0;
}

/* Ends and forgets a migration that did not arrive. */
static void forget(struct incoming_job *job, const struct api_error *err)
{
	struct vm_entry *e = job->e, *taken;
	bool mine;

	log_msg(LOG_WARN, "vm %s: incoming migration failed, nothing kept: %s: %s", e->id,
		err->code, err->detail);
	/* Whoever joins this thread (pinvmd stopping) owns the entry's end. */
	pthread_mutex_lock(&e->lock);
	mine = e->has_creator;
	e->has_creator = false;
	pthread_mutex_unlock(&e->lock);
	if (!mine)
		return;
	pthread_detach(pthread_self());
	taken = vm_registry_take(job->c->reg, e->id);
	if (!taken)
		return;
	vm_end(taken);
	vm_wait_notify(taken->id);
	vm_events_deleted(taken->id);
	vm_entry_put(taken);
}

static void *incoming_thread(void *arg)
{
	struct incoming_job *job = arg;
	struct vm_entry *e = job->e;
	struct api_error err;
	uint64_t bytes = 0;
	int ret;

	ret = receive(job, &bytes, &err);
	if (!ret)
		ret = vm_core_await_created(e, NULL, &err);
	if (!ret) {
		pthread_mutex_lock(&e->lock);
		e->state = VM_PAUSED;
		e->unstarted_restore = true; /* its first resume is "start" */
		pthread_mutex_unlock(&e->lock);
		ret = vm_supervise(e);
		if (ret < 0)
			api_fail(&err, 500, "internal_error", "", "cannot supervise: %s",
				 strerror(-ret));
	}
	if (ret < 0) {
		forget(job, &err);
	} else {
		vm_entry_persist(e);
		log_msg(LOG_INFO, "vm %s: migrated in (%llu bytes), paused until resumed", e->id,
			(unsigned long long)bytes);
	}
	if (job->lfd >= 0)
		close(job->lfd);
	vm_entry_put(e);
	free(job);
	return NULL;
}

int vm_core_incoming(struct vm_core *c, const struct vm_incoming *in, const json_t *spec,
		     struct vm_entry **out, unsigned *port, char ticket[65],
		     struct api_error *err)
{
	const struct vm_spec fit = { .vcpus = in->vcpus, .memory_mib = (json_int_t)in->memory_mib };
	struct vm_core_begin_args begin = { .fit = &fit, .profile = in->profile };
	struct incoming_job *job = NULL;
	struct vm_entry *e;
	int ret;

	*out = NULL;
	/* Names are one pinvmd's: the source's does not come along. */
	begin.spec = json_deep_copy(spec);
	if (begin.spec)
		json_object_del(begin.spec, "name");
	ret = vm_core_begin(c, &begin, &e, err);
	if (ret < 0)
		return ret;
	job = calloc(1, sizeof(*job));
	if (!job) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto err_entry;
	}
	job->lfd = -1;
	if (sock_path(e, job->sock, sizeof(job->sock)) < 0) {
		ret = api_fail(err, 500, "state_error", "",
			       "the state directory's path is too long for a Unix socket");
		goto err_entry;
	}
	ret = vm_core_write_state_config(c, e, "incoming", job->sock, in->vcpus, in->memory_mib,
					 in->pins, in->npins, in->deny, in->ndeny, in->accept, err);
	if (!ret)
		ret = vm_core_spawn_vmm(c, e, err);
	if (!ret)
		ret = await_listening(e, err);
	if (!ret && (ret = migrate_ticket_new(job->ticket)) < 0)
		api_fail(err, 500, "internal_error", "", "no randomness for a ticket: %s",
			 strerror(-ret));
	if (!ret && (ret = migrate_listen_tcp(&job->lfd, port)) < 0)
		api_fail(err, 500, "internal_error", "", "cannot listen for the stream: %s",
			 strerror(-ret));
	if (ret < 0)
		goto err_entry;
	e->abi = in->abi ? json_incref((json_t *)in->abi) : NULL;
	e->state = VM_CREATING;
	e->announced = VM_CREATING + 1; /* vm.created says it */
	job->c = c;
	job->e = vm_entry_get(e);
	memcpy(ticket, job->ticket, MIGRATE_TICKET_LEN + 1);
	/* Listed before its thread runs: a transfer that fails at once finds
	 * the entry to take off the list. */
	e->has_creator = true;
	vm_registry_add(c->reg, vm_entry_get(e), true);
	ret = pthread_create(&e->creator, NULL, incoming_thread, job);
	if (ret) {
		struct vm_entry *taken = vm_registry_take(c->reg, e->id);

		e->has_creator = false;
		vm_entry_put(job->e);
		close(job->lfd);
		free(job);
		api_fail(err, 500, "internal_error", "", "cannot start receiving: %s",
			 strerror(ret));
		if (taken) {
			vm_end(taken);
			vm_entry_put(taken);
		}
		vm_entry_put(e);
		return -ret;
	}
	vm_events_created(e);
	log_msg(LOG_INFO, "vm %s: incoming migration from %s, stream port %u", e->id,
		in->source ? in->source : "?", *port);
	*out = e;
	return 0;

err_entry:
	if (job && job->lfd >= 0)
		close(job->lfd);
	free(job);
	vm_core_abandon(c, e);
	return ret < 0 ? ret : -EIO;
}
