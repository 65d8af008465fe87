#include "migrate_out.h"

#include "compat.h"
#include "host_view.h"
#include "jsonutil.h"
#include "log.h"
#include "migrate_precheck.h"
#include "migrate_relay.h"
#include "migrate_request.h"
#include "peer.h"
#include "snapshot_manifest.h"
#include "store.h"
#include "vm_dir.h"
#include "vm_events.h"
#include "vm_supervisor.h"
#include "mono_clock.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Pre-copy of a large guest on the emulated lab takes minutes. */
#define MIGRATE_OUT_TIMEOUT_MS (30 * 60 * 1000)
#define RELAY_ACCEPT_MS 60000
#define RELAY_IDLE_MS 90000
/* The destination builds the VM after the last byte (vm_create_incoming). */
#define DEST_BUILT_MS 120000
#define DEST_DELETE_MS 120000
#define DEST_UNREACHABLE_MS 15000
#define OP_MS 30000

struct job {
	struct vm_entry *e;               /* a reference of the job's */
	char url[PEER_URL_MAX + 1], token[PEER_TOKEN_MAX + 1], token_file[PATH_MAX];
	char *ca;                         /* owned, or NULL */
	struct peer_ref ref;              /* points into the above */
	const char *default_ca;
	char host[PEER_URL_MAX + 1];
	unsigned port;
	char ticket[MIGRATE_TICKET_LEN + 1];
	char dest_vm[40];
	unsigned accept;                  /* api/accept_rule.h, asked for */
	json_t *accepted;                 /* the destination's report, or NULL */
	char sock[PATH_MAX];
	int lfd, cancel_fd;
	pthread_t relay;
	int relay_ret;
	uint64_t relayed;
	char relay_err[512];
};

static void job_free(struct job *j)
{
	if (j->lfd >= 0)
		close(j->lfd);
	if (j->sock[0])
		unlink(j->sock);
	free(j->ca);
	json_decref(j->accepted);
	explicit_bzero(j->token, sizeof(j->token));
	free(j);
}

/* host of http(s)://host[:port][/]: the one-shot port is on the same
 * address as the API ("[v6]" loses its brackets). */
static int url_host(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://"), *end;

	if (!p)
		return -EINVAL;
	p += 3;
	if (*p == '[') {
		end = strchr(++p, ']');
	} else {
		end = p + strcspn(p, ":/");
	}
	if (!end || end == p || (size_t)(end - p) >= len)
		return -EINVAL;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

/*
 * The guest's firmware registers as it sees them: this host's values
 * (what KVM shows a guest for every register nobody wrote), with the
 * values its ABI report says were written (a profile's pins, or the
 * saved registers of a guest that came from a snapshot or a migration),
 * and the workaround levels it was told (wa_levels.h: KVM stores none,
 * so neither this host's level nor a write says what the guest knows).
 */
static int guest_view(const struct migrate_env *env, struct vm_entry *e,
		      struct snapshot_guest *g, char *kernel, size_t klen, struct api_error *err)
{
	struct hostset *h = malloc(sizeof(*h));
	struct fw_pin levels[WA_LEVELS_MAX];
	char cfgpath[PATH_MAX];
	json_error_t jerr;
	json_t *cfg, *r;
	size_t i;
	int ret;

	if (!h)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	memset(g, 0, sizeof(*g));
	g->format = 1;
	if (vm_dir_file(e->dir, VM_FILE_CONFIG, cfgpath, sizeof(cfgpath)) < 0 ||
	    !(cfg = json_load_file(cfgpath, 0, &jerr))) {
		free(h);
		return api_fail(err, 500, "state_error", "", "cannot read the VM's config.json");
	}
	g->vcpus = (unsigned)json_integer_value(json_object_get(cfg, "vcpus"));
	g->memory_mib = (uint64_t)json_integer_value(json_object_get(cfg, "memory_mib"));
	json_decref(cfg);
	ret = host_view_read(env->host, false, h, err);
	if (ret < 0) {
		free(h);
		return ret;
	}
	snprintf(kernel, klen, "%s", h->kernel_release);
	g->nfw = h->nregs;
	memcpy(g->fw, h->regs, h->nregs * sizeof(h->regs[0]));
	free(h);
	pthread_mutex_lock(&e->lock);
	json_array_foreach(e->abi, i, r) {
		struct fw_pin w;

		if (ju_parse_hex(json_string_value(json_object_get(r, "id")), &w.id) == 0 &&
		    ju_parse_hex(json_string_value(json_object_get(r, "write")), &w.value) == 0)
			snapshot_guest_set(g, &w, 1);
	}
	snapshot_guest_set(g, levels, wa_levels_told(e->abi, levels, WA_LEVELS_MAX));
	pthread_mutex_unlock(&e->lock);
	if (!g->vcpus || !g->memory_mib)
		return api_fail(err, 500, "state_error", "", "the VM's config.json has no size");
	return 0;
}

int migrate_refusal(const struct compat_report *r, const char *url, struct api_error *err,
		   json_t **extra)
{
	char wanted[24], offered[24], field[64];

	for (size_t i = 0; i < r->nentries; i++) {
		const struct compat_entry *c = &r->entries[i];

		if (c->verdict != COMPAT_REFUSED)
			continue;
		snprintf(wanted, sizeof(wanted), "0x%" PRIx64, c->pin);
		snprintf(offered, sizeof(offered), "0x%" PRIx64, c->host);
		if (c->desc)
			snprintf(field, sizeof(field), "registers.%s", c->desc->name);
		else
			snprintf(field, sizeof(field), "registers.0x%" PRIx64, c->id);
		api_fail(err, 409, "migration_refused", field,
			 "the guest cannot move to %.128s (%.128s): %s: it sees %s, the "
			 "destination offers %s (rule %s): %.200s; nothing was paused", url,
			 r->kernel_release, c->desc ? c->desc->name : "register", wanted,
			 c->host_present ? offered : "nothing", c->rule ? c->rule : "unknown",
			 c->reason);
		*extra = json_pack("{s:s, s:s, s:s, s:o, s:o}", "register",
				   c->desc ? c->desc->name : wanted, "rule",
				   c->rule ? c->rule : "unknown", "wanted", wanted, "offered",
				   c->host_present ? json_string(offered) : json_null(),
				   "compatibility", compat_report_to_json(r));
		return -EPERM;
	}
	compat_refusal(r, NULL, err);
	snprintf(err->code, sizeof(err->code), "migration_refused");
	*extra = json_pack("{s:s, s:s, s:o}", "register", "smccc", "rule",
			   "smccc_filter_unavailable", "compatibility", compat_report_to_json(r));
	return -EPERM;
}

/* A destination's error answer as ours: its status for a refusal of the
 * guest (409, 422), else 502 peer_refused; its problem in *extra. */
static int dest_refused(const char *url, const struct httpc_answer *a, struct api_error *err,
			json_t **extra)
{
	json_t *p = json_loadb(a->body ? a->body : "", a->len, 0, NULL);
	const char *code = json_string_value(json_object_get(p, "code"));
	const char *field = json_string_value(json_object_get(p, "field"));
	const char *detail = json_string_value(json_object_get(p, "detail"));

	if (a->status == 401)
		api_fail(err, 502, "peer_unauthorized", "destination",
			 "%s answered 401: a wrong or missing token", url);
	else if ((a->status == 409 || a->status == 422) && code)
		api_fail(err, (unsigned)a->status, code, field ? field : "",
			 "the destination %s refused the guest: %s", url, detail ? detail : "");
	else
		api_fail(err, 502, "peer_refused", "destination", "%s answered %ld%s%s", url,
			 a->status, detail ? ": " : "", detail ? detail : "");
	if (json_is_object(p)) {
		static const char *const lifted[] = { "register", "rule", "wanted", "offered",
						      "restore_check", "compatibility", NULL };

		*extra = json_pack("{s:O}", "destination_problem", p);
		/* A refusal reads the same from either end: its register and
		 * rule at the top, as the destination named them. */
		for (size_t i = 0; *extra && a->status == 409 && lifted[i]; i++)
			if (json_object_get(p, lifted[i]))
				json_object_set(*extra, lifted[i], json_object_get(p, lifted[i]));
	}
	json_decref(p);
	return -EPERM;
}

/* Asks the destination for the incoming VM: id, port, ticket into j. */
static int ask_incoming(const struct migrate_env *env, struct job *j, const json_t *body,
			struct api_error *err, json_t **extra)
{
	struct httpc_answer a;
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *doc, *m;
	const char *id, *ticket;
	int ret;

	if (!text)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	ret = peer_request(&j->ref, env->default_ca, "POST", "/v1/vms/incoming", text, &a, err);
	free(text);
	if (ret < 0) {
		snprintf(err->field, sizeof(err->field), "destination");
		return ret;
	}
	if (a.status != 201) {
		ret = dest_refused(j->url, &a, err, extra);
		httpc_answer_free(&a);
		return ret;
	}
	doc = json_loadb(a.body, a.len, 0, NULL);
	httpc_answer_free(&a);
	m = json_object_get(doc, "migration");
	id = json_string_value(json_object_get(doc, "id"));
	ticket = json_string_value(json_object_get(m, "ticket"));
	if (!id || strlen(id) >= sizeof(j->dest_vm) || !ticket ||
	    strlen(ticket) != MIGRATE_TICKET_LEN ||
	    !json_is_integer(json_object_get(m, "port"))) {
		json_decref(doc);
		return api_fail(err, 502, "peer_bad_answer", "destination",
				"%s answered POST /v1/vms/incoming without an id, port and ticket",
				j->url);
	}
	snprintf(j->dest_vm, sizeof(j->dest_vm), "%s", id);
	snprintf(j->ticket, sizeof(j->ticket), "%s", ticket);
	j->port = (unsigned)json_integer_value(json_object_get(m, "port"));
	j->accepted = json_incref(json_object_get(doc, "accepted"));
	json_decref(doc);
	return 0;
}

/* Publishes e's migration as it stands (an event) after changing it. */
static void set_phase(struct vm_entry *e, const char *phase, const char *error)
{
	pthread_mutex_lock(&e->lock);
	snprintf(e->mig.phase, sizeof(e->mig.phase), "%s", phase);
	if (error)
		snprintf(e->mig.error, sizeof(e->mig.error), "%s", error);
	if (strcmp(phase, "precopy") && strcmp(phase, "handover") && strcmp(phase, "checking"))
		vm_entry_now(e->mig.ended_at);
	pthread_mutex_unlock(&e->lock);
	vm_events_migration(e);
}

static bool cancelled(struct vm_entry *e)
{
	bool c;

	pthread_mutex_lock(&e->lock);
	c = e->mig.cancel;
	pthread_mutex_unlock(&e->lock);
	return c;
}

/* The relay's thread: pinvm-vmm's stream to the destination's port. */
static void *relay_main(void *arg)
{
	struct job *j = arg;
	int vmm = -1, tcp = -1, ret;

	/* One connection, then the listener goes: a pinvm-vmm connecting
	 * late (a cancel before it connected, on a loaded host) must fail at
	 * once, not fill a backlog nobody reads and never answer migrate_out
	 * (the loaded run's job waited 30 min for it). */
	ret = migrate_accept_once(&j->lfd, j->sock, j->cancel_fd, RELAY_ACCEPT_MS, &vmm);
	if (ret < 0) {
		snprintf(j->relay_err, sizeof(j->relay_err), "pinvm-vmm did not connect: %s",
			 strerror(-ret));
		goto out;
	}
	ret = migrate_connect_tcp(j->host, j->port, j->ticket, &tcp);
	if (ret < 0) {
		snprintf(j->relay_err, sizeof(j->relay_err),
			 "cannot connect to the destination's stream port %.256s:%u: %.100s", j->host,
			 j->port, strerror(-ret));
		goto out;
	}
	ret = migrate_copy(vmm, tcp, j->cancel_fd, RELAY_IDLE_MS, &j->relayed);
	if (ret < 0)
		snprintf(j->relay_err, sizeof(j->relay_err), "relay after %llu bytes: %s",
			 (unsigned long long)j->relayed,
			 ret == -ECANCELED ? "cancelled" : strerror(-ret));
	else {
		/* The destination closes once pinvm-vmm took the last byte. */
		struct pollfd p = { .fd = tcp, .events = POLLIN };
		char c;

		if (poll(&p, 1, RELAY_IDLE_MS) > 0 && read(tcp, &c, 1) < 0)
			ret = -errno;
	}
out:
	/* Either end closing is the other's news: pinvm-vmm sees EPIPE. */
	if (vmm >= 0)
		close(vmm);
	if (tcp >= 0)
		close(tcp);
	j->relay_ret = ret;
	return NULL;
}

static void cancel_relay(struct job *j)
{
	uint64_t one = 1;

	if (write(j->cancel_fd, &one, sizeof(one)) < 0)
		log_msg(LOG_WARN, "migration: cannot wake the relay");
}

static int dest_state(struct job *j, char *state, size_t len)
{
	struct httpc_answer a;
	struct api_error err;
	char path[96];
	json_t *doc;
	int ret;

	snprintf(path, sizeof(path), "/v1/vms/%s", j->dest_vm);
	if (peer_request(&j->ref, j->default_ca, "GET", path, NULL, &a, &err) < 0)
		return -EIO;
	if (a.status == 404) {
		httpc_answer_free(&a);
		return -ENOENT;
	}
	doc = a.status == 200 ? json_loadb(a.body, a.len, 0, NULL) : NULL;
	httpc_answer_free(&a);
	ret = json_is_string(json_object_get(doc, "state")) ? 0 : -EIO;
	if (!ret)
		snprintf(state, len, "%s", json_string_value(json_object_get(doc, "state")));
	json_decref(doc);
	return ret;
}

/* Waits (bounded) for the destination to have built the VM: 0 paused,
 * else -errno. */
static int await_dest_built(struct job *j)
{
	double until = mono_ms_exact() + DEST_BUILT_MS, reached = mono_ms_exact();
	char state[32];

	while (mono_ms_exact() < until && !cancelled(j->e)) {
		int ret = dest_state(j, state, sizeof(state));

		if (ret == -ENOENT)
			return -ENOENT;
		/* Gone for good (killed, the link cut): nothing to wait for. */
		if (ret == -EIO && mono_ms_exact() - reached > DEST_UNREACHABLE_MS)
			return -EHOSTUNREACH;
		if (ret != -EIO)
			reached = mono_ms_exact();
		if (!ret && !strcmp(state, "paused"))
			return 0;
		if (!ret && strcmp(state, "creating"))
			return -EPROTO;
		poll(NULL, 0, 100);
	}
	return cancelled(j->e) ? -ECANCELED : -ETIMEDOUT;
}

/* Makes sure the destination VM is gone: true once it answered 204 or
 * 404 (a VM still receiving is 409 vm_creating: it forgets itself once
 * its stream broke). */
static bool delete_dest(struct job *j, int budget_ms)
{
	double until = mono_ms_exact() + budget_ms;
	char path[96];

	if (!j->dest_vm[0])
		return true;
	snprintf(path, sizeof(path), "/v1/vms/%s", j->dest_vm);
	while (mono_ms_exact() < until) {
		struct httpc_answer a;
		struct api_error err;

		if (peer_request(&j->ref, j->default_ca, "DELETE", path, NULL, &a, &err) == 0) {
			long st = a.status;

			httpc_answer_free(&a);
			if (st == 204 || st == 404)
				return true;
		}
		poll(NULL, 0, 250);
	}
	return false;
}

static int resume_dest(struct job *j, bool *answered)
{
	struct httpc_answer a;
	struct api_error err;
	char path[96];
	long st;

	*answered = false;
	snprintf(path, sizeof(path), "/v1/vms/%s/actions", j->dest_vm);
	if (peer_request(&j->ref, j->default_ca, "POST", path, "{\"action\":\"resume\"}", &a,
			 &err) < 0)
		return -EIO;
	*answered = true;
	st = a.status;
	httpc_answer_free(&a);
	return st == 200 ? 0 : -EPROTO;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct vm_entry *e = j->e;
	char detail[512], why[600];
	bool migrated = false, relay_started, answered, resume_sent = false;
	double t_migrated = 0;
	int ret;

	relay_started = pthread_create(&j->relay, NULL, relay_main, j) == 0;
	if (!relay_started) {
		snprintf(why, sizeof(why), "cannot start the relay");
		goto fail;
	}
	ret = vm_request_path(e, VMM_OP_MIGRATE_OUT, j->sock, MIGRATE_OUT_TIMEOUT_MS, NULL,
			      detail, sizeof(detail));
	if (ret < 0)
		cancel_relay(j);
	pthread_join(j->relay, NULL);
	if (ret < 0) {
		snprintf(why, sizeof(why), "pinvm-vmm: %.250s%s%.200s", detail,
			 j->relay_err[0] ? "; " : "", j->relay_err);
		goto fail;
	}
	migrated = true;
	t_migrated = mono_ms_exact();
	if (j->relay_ret < 0) {
		snprintf(why, sizeof(why), "%s", j->relay_err[0] ? j->relay_err : "relay failed");
		goto fail;
	}
	set_phase(e, "handover", NULL);
	ret = await_dest_built(j);
	if (ret < 0) {
		snprintf(why, sizeof(why), "the destination did not build the VM: %s",
			 ret == -ENOENT ? "it is gone (its stream was refused or broke)"
			 : ret == -EPROTO ? "it failed" : strerror(-ret));
		goto fail;
	}
	/* The point of no return: from the resume on, a cancel is refused. */
	pthread_mutex_lock(&e->lock);
	ret = e->mig.cancel ? -ECANCELED : 0;
	snprintf(e->mig.phase, sizeof(e->mig.phase), "resuming");
	pthread_mutex_unlock(&e->lock);
	if (ret < 0) {
		snprintf(why, sizeof(why), "cancelled");
		goto fail;
	}
	resume_sent = true;
	ret = resume_dest(j, &answered);
	/* A refusal with an answer: the destination did not run it. */
	if (ret < 0 && answered)
		resume_sent = false;
	if (ret < 0) {
		snprintf(why, sizeof(why), "the destination %s the resume",
			 answered ? "refused" : "did not answer");
		goto fail;
	}
	pthread_mutex_lock(&e->lock);
	e->mig.downtime_ms = e->mig.paused_ms + (unsigned long long)(mono_ms_exact() - t_migrated);
	pthread_mutex_unlock(&e->lock);
	ret = vm_request(e, VMM_OP_MIGRATE_COMMIT, OP_MS, detail, sizeof(detail));
	if (ret < 0)
		log_msg(LOG_WARN, "vm %s: commit after the move: %s", e->id, detail);
	pthread_mutex_lock(&e->lock);
	snprintf(e->reason, sizeof(e->reason), "migrated to %s as VM %s", j->url, j->dest_vm);
	pthread_mutex_unlock(&e->lock);
	vm_entry_persist(e);
	set_phase(e, "completed", NULL);
	log_msg(LOG_INFO, "vm %s: migrated to %s as VM %s (%llu bytes relayed, downtime %llu ms)",
		e->id, j->url, j->dest_vm, (unsigned long long)j->relayed, e->mig.downtime_ms);
	goto out;

fail:
	if (!resume_sent) {
		/*
		 * The destination runs the guest only on our resume: without it
		 * the guest can run nowhere but here, so it resumes at once
		 * (pinvm-vmm already did after migrate_failed; the abort covers a
		 * sender that never answered and a guest paused for the handover).
		 * Then the destination's VM goes (it also forgets a broken stream
		 * by itself).
		 */
		vm_request(e, VMM_OP_MIGRATE_ABORT, OP_MS, detail, sizeof(detail));
		set_phase(e, cancelled(e) ? "cancelled" : "failed", why);
		if (!delete_dest(j, migrated ? DEST_DELETE_MS : DEST_DELETE_MS / 2))
			log_msg(LOG_WARN, "vm %s: the destination VM %s at %s could not be "
				"confirmed deleted (it forgets a broken stream by itself)",
				e->id, j->dest_vm, j->url);
	} else if (delete_dest(j, DEST_DELETE_MS)) {
		/* The resume went out and no "running" came back: only a
		 * destination known gone lets the guest run here again. */
		vm_request(e, VMM_OP_MIGRATE_ABORT, OP_MS, detail, sizeof(detail));
		set_phase(e, "failed", why);
	} else {
		char more[1100];

		snprintf(more, sizeof(more),
			 "%.500s; the destination VM %s at %.256s may run the guest and could not "
			 "be deleted: the guest stays paused here (resume it here only once that "
			 "VM is known gone)", why, j->dest_vm, j->url);
		set_phase(e, "failed", more);
	}
	log_msg(LOG_WARN, "vm %s: migration to %s ended: %s", e->id, j->url, why);
out:
	pthread_mutex_lock(&e->lock);
	e->mig.cancel_fd = -1;
	pthread_mutex_unlock(&e->lock);
	close(j->cancel_fd);
	vm_entry_put(e);
	job_free(j);
	return NULL;
}

static int copy_ref(struct job *j, const struct peer_ref *d, struct api_error *err)
{
	snprintf(j->url, sizeof(j->url), "%s", d->url);
	j->ref.url = j->url;
	if (d->token) {
		snprintf(j->token, sizeof(j->token), "%s", d->token);
		j->ref.token = j->token;
	}
	if (d->token_file) {
		snprintf(j->token_file, sizeof(j->token_file), "%s", d->token_file);
		j->ref.token_file = j->token_file;
	}
	if (d->ca_pem) {
		j->ca = strdup(d->ca_pem);
		if (!j->ca)
			return api_fail(err, 500, "out_of_memory", "", "out of memory");
		j->ref.ca_pem = j->ca;
	}
	if (url_host(j->url, j->host, sizeof(j->host)) < 0)
		return api_fail(err, 422, "bad_url", "destination", "no host in %s", j->url);
	return 0;
}

/* The checks and the destination's VM; the job is ready to run. */
static int prepare(const struct migrate_env *env, struct job *j, struct api_error *err,
		   json_t **extra)
{
	struct vm_entry *e = j->e;
	struct migrate_incoming in = { 0 };
	struct hostset *target = malloc(sizeof(*target));
	struct compat_report *report = malloc(sizeof(*report));
	char kernel[HOSTSET_RELEASE_MAX + 1], serr[256], name[64];
	json_t *profile_doc = NULL, *body = NULL, *problem = NULL, *image = NULL;
	int ret;

	if (!target || !report) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto out;
	}
	ret = guest_view(env, e, &in.g, kernel, sizeof(kernel), err);
	if (ret < 0)
		goto out;
	if (e->profile[0] &&
	    store_profile_get(env->store, e->profile, &profile_doc, serr, sizeof(serr)) < 0)
		profile_doc = NULL; /* deleted since: the registers say it all */
	ret = peer_fetch_hostset(&j->ref, env->default_ca, target, err, &problem);
	if (ret < 0) {
		snprintf(err->field, sizeof(err->field), "destination");
		if (problem)
			*extra = json_pack("{s:o}", "destination_problem", problem);
		goto out;
	}
	snprintf(name, sizeof(name), "migration-%.40s", e->id);
	ret = snapshot_check(&in.g, profile_doc, target, name, j->accept, report, err);
	if (ret < 0)
		goto out;
	if (!report->compatible) {
		ret = migrate_refusal(report, j->url, err, extra);
		goto out;
	}
	/* The destination's KVM judges the rest before it creates anything. */
	in.prerun = image = migrate_precheck_image(e, in.g.memory_mib);
	in.profile = e->profile[0] ? e->profile : NULL;
	in.profile_doc = profile_doc;
	in.source_vm = e->id;
	in.source_kernel = kernel;
	in.accept = j->accept;
	pthread_mutex_lock(&e->lock);
	in.spec = e->spec;
	body = migrate_incoming_build(&in);
	pthread_mutex_unlock(&e->lock);
	if (!body) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto out;
	}
	ret = ask_incoming(env, j, body, err, extra);
out:
	json_decref(body);
	json_decref(image);
	json_decref(profile_doc);
	free(target);
	free(report);
	return ret;
}

int migrate_out_start(const struct migrate_env *env, struct vm_entry *e,
		      const struct peer_ref *dest, unsigned accept, struct api_error *err,
		      json_t **extra)
{
	struct vm_migration before;
	struct job *j = calloc(1, sizeof(*j));
	json_t *acc;
	enum vm_state state;
	pthread_t t;
	int ret;

	*extra = NULL;
	if (!j)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	j->lfd = j->cancel_fd = -1;
	j->e = e;
	j->default_ca = env->default_ca;
	j->accept = accept;
	ret = copy_ref(j, dest, err);
	if (ret < 0) {
		job_free(j);
		return ret;
	}
	pthread_mutex_lock(&e->lock);
	state = e->state;
	if (state != VM_RUNNING) {
		pthread_mutex_unlock(&e->lock);
		job_free(j);
		return api_fail(err, 409, "illegal_transition", "",
				"cannot migrate a VM that is %s (only a running guest moves live)",
				vm_state_name(state));
	}
	if (vm_migration_active(e)) {
		pthread_mutex_unlock(&e->lock);
		job_free(j);
		return api_fail(err, 409, "migration_in_progress", "",
				"VM %s is already migrating to %s", e->id, e->mig.destination);
	}
	before = e->mig;
	memset(&e->mig, 0, sizeof(e->mig));
	e->mig.cancel_fd = -1;
	snprintf(e->mig.phase, sizeof(e->mig.phase), "checking");
	snprintf(e->mig.destination, sizeof(e->mig.destination), "%s", j->url);
	vm_entry_now(e->mig.started_at);
	pthread_mutex_unlock(&e->lock);

	ret = prepare(env, j, err, extra);
	if (!ret && (j->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		ret = api_fail(err, 500, "internal_error", "", "eventfd: %s", strerror(errno));
	if (!ret && (size_t)snprintf(j->sock, sizeof(j->sock), "%s/migrate-out.sock", e->dir) >
			    100)
		ret = api_fail(err, 500, "state_error", "",
			       "the state directory's path is too long for a Unix socket");
	if (!ret) {
		unlink(j->sock);
		ret = migrate_listen_unix(j->sock, &j->lfd);
		if (ret < 0) {
			j->sock[0] = '\0';
			api_fail(err, 500, "internal_error", "", "cannot listen for pinvm-vmm: %s",
				 strerror(-ret));
		}
	}
	if (ret < 0) {
		/* The destination's VM, if one was made, goes too. */
		if (j->dest_vm[0] && !delete_dest(j, 10000))
			log_msg(LOG_WARN, "vm %s: destination VM %s left to forget itself", e->id,
				j->dest_vm);
		pthread_mutex_lock(&e->lock);
		e->mig = before;
		pthread_mutex_unlock(&e->lock);
		if (j->cancel_fd >= 0)
			close(j->cancel_fd);
		job_free(j);
		return ret;
	}
	pthread_mutex_lock(&e->lock);
	snprintf(e->mig.phase, sizeof(e->mig.phase), "precopy");
	snprintf(e->mig.dest_vm, sizeof(e->mig.dest_vm), "%s", j->dest_vm);
	e->mig.cancel_fd = j->cancel_fd;
	pthread_mutex_unlock(&e->lock);
	/* j is the thread's from pthread_create on (it may free it at once):
	 * what is read of it comes first. */
	acc = accept ? json_pack("{s:o}", "accepted",
				 j->accepted ? json_incref(j->accepted) : json_array())
		     : NULL;
	log_msg(LOG_INFO, "vm %s: migrating to %s as VM %s", e->id, j->url, j->dest_vm);
	vm_entry_get(e);
	if ((ret = pthread_create(&t, NULL, job_main, j)) != 0) {
		json_decref(acc);
		vm_entry_put(e);
		delete_dest(j, 10000);
		set_phase(e, "failed", "cannot start the migration's thread");
		pthread_mutex_lock(&e->lock);
		e->mig.cancel_fd = -1;
		pthread_mutex_unlock(&e->lock);
		close(j->cancel_fd);
		job_free(j);
		return api_fail(err, 500, "internal_error", "", "pthread_create: %s",
				strerror(ret));
	}
	*extra = acc;
	pthread_detach(t);
	vm_events_migration(e);
	return 0;
}

int migrate_out_cancel(struct vm_entry *e, struct api_error *err)
{
	uint64_t one = 1;
	int ret = 0;

	pthread_mutex_lock(&e->lock);
	if (!vm_migration_active(e) || !strcmp(e->mig.phase, "checking") ||
	    !strcmp(e->mig.phase, "resuming"))
		ret = api_fail(err, 409, "not_migrating", "",
			       "VM %s has no migration to cancel (phase %s)", e->id,
			       e->mig.phase[0] ? e->mig.phase : "none");
	else {
		e->mig.cancel = true;
		if (e->mig.cancel_fd >= 0 && write(e->mig.cancel_fd, &one, sizeof(one)) < 0)
			log_msg(LOG_WARN, "vm %s: cannot wake the migration", e->id);
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}
