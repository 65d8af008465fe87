#include "vm_core.h"

#include "compat.h"
#include "console_log.h"
#include "fwreg.h"
#include "image_check.h"
#include "log.h"
#include "vm_core_internal.h"
#include "vm_dir.h"
#include "vm_events.h"
#include "vm_names.h"
#include "vm_wait.h"
#include "vm_query.h"
#include "vm_registry.h"
#include "vm_supervisor.h"
#include "vmm_config.h"
#include "vmm_standby.h"
#include "mono_clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VM_CREATE_TIMEOUT_MS 60000

static void join_creator(struct vm_entry *e);
#define VM_OP_TIMEOUT_MS 15000

int vm_core_new(struct vm_core **out, const struct vm_core_config *cfg)
{
	struct vm_core *c = calloc(1, sizeof(*c));
	int n, m;

	if (!c)
		return -ENOMEM;
	n = snprintf(c->state_dir, sizeof(c->state_dir), "%s", cfg->state_dir);
	m = snprintf(c->image_dir, sizeof(c->image_dir), "%s",
		     cfg->image_dir ? cfg->image_dir : "");
	if (n < 0 || (size_t)n >= sizeof(c->state_dir) || m < 0 ||
	    (size_t)m >= sizeof(c->image_dir)) {
		free(c);
		return -ENAMETOOLONG;
	}
	if (vm_registry_new(&c->reg, cfg->max_vms) < 0) {
		free(c);
		return -ENOMEM;
	}
	if (vm_names_new(&c->names) < 0) {
		vm_registry_free(c->reg);
		free(c);
		return -ENOMEM;
	}
	c->store = cfg->store;
	c->host = cfg->host;
	c->console_limit = cfg->console_limit;
	c->max_vms = cfg->max_vms;
	c->stop_on_exit = cfg->stop_on_exit;
	if (cfg->standby_vmms && c->host && c->host->hypervisor) {
		char bin[PATH_MAX];
		int ret = vmm_client_default_binary(bin, sizeof(bin));

		if (ret == 0)
			ret = vmm_standby_new(cfg->standby_vmms, bin, &c->standby);
		/* Only the creates' speed depends on it. */
		if (ret < 0)
			log_msg(LOG_WARN, "no standby pinvm-vmm: %s", strerror(-ret));
	}
	*out = c;
	return 0;
}

void vm_core_free(struct vm_core *c)
{
	struct vm_entry *e;
	unsigned left = 0;

	if (!c)
		return;
	while ((e = vm_registry_pop(c->reg))) {
		char detail[256];
		bool live;

		pthread_mutex_lock(&e->lock);
		live = e->state == VM_CREATED || e->state == VM_RUNNING ||
		       e->state == VM_PAUSED;
		pthread_mutex_unlock(&e->lock);
		/* As long as any stop request may take: a loaded host is slow,
		 * and a VM left running here outlives the flag that said stop. */
		if (live && c->stop_on_exit &&
		    vm_request(e, VMM_OP_STOP, VM_OP_TIMEOUT_MS, detail, sizeof(detail)) < 0)
			log_msg(LOG_WARN, "vm %s: stop on shutdown: %s", e->id, detail);
		else if (live && !c->stop_on_exit)
			left++;
		join_creator(e);
		vm_detach(e);
		vm_entry_put(e);
	}
	if (left)
		log_msg(LOG_INFO, "%u VMs left running for the next pinvmd", left);
	/* After the creators' joins above: none can take one any more. */
	vmm_standby_free(c->standby);
	vm_registry_free(c->reg);
	vm_names_free(c->names);
	free(c);
}

struct vm_entry *vm_core_find(struct vm_core *c, const char *id, struct api_error *err)
{
	struct vm_entry *e = vm_registry_find(c->reg, id);

	if (!e)
		api_fail(err, 404, "vm_not_found", "", "no VM with id %s", id);
	return e;
}

/*
 * An image name must be a plain file name inside the image directory; a
 * symlink is followed only if it stays inside. Fills out with the real path.
 */
static int resolve_image(const struct vm_core *c, const char *field, const char *name,
			 char out[PATH_MAX], struct api_error *err)
{
	char root[PATH_MAX], path[PATH_MAX * 2];
	struct stat st;
	size_t n;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return api_fail(err, 400, "bad_image_name", field,
				"\"%s\" is not a file name in the image directory "
				"(no paths, no \"..\")", name);
	if (!realpath(c->image_dir, root))
		return api_fail(err, 500, "image_dir_unreadable", "", "%s: %s",
				c->image_dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (!realpath(path, out))
		return api_fail(err, 422, "image_not_found", field,
				"no image \"%s\" in the image directory %s; GET /v1/images "
				"lists the images there", name, c->image_dir);
	n = strlen(root);
	if (strncmp(out, root, n) || out[n] != '/')
		return api_fail(err, 400, "image_outside_image_dir", field,
				"\"%s\" leads out of the image directory", name);
	if (stat(out, &st) < 0 || !S_ISREG(st.st_mode))
		return api_fail(err, 422, "image_not_found", field,
				"\"%s\" in the image directory %s is not a regular file; "
				"GET /v1/images lists the images there", name, c->image_dir);
	return 0;
}

/* A pinvmd started without --image-dir, or an image name that is not a
 * file inside it: the client's to fix, whatever the host. */
static int resolve_images(const struct vm_core *c, const struct vm_spec *spec,
			  char kernel[PATH_MAX], char initrd[PATH_MAX], struct api_error *err)
{
	int ret;

	if (!c->image_dir[0])
		return api_fail(err, 422, "no_image_dir", "kernel",
				"pinvmd was started without --image-dir");
	ret = resolve_image(c, "kernel", spec->kernel, kernel, err);
	if (!ret && spec->initrd)
		ret = resolve_image(c, "initrd", spec->initrd, initrd, err);
	return ret;
}

/* The first event of a new pinvm-vmm: built, or why not. With a profile,
 * what KVM read back must be what was pinned. */
int vm_core_await_created(struct vm_entry *e, struct compat_report *report,
			 struct api_error *err)
{
	struct vmm_event ev;
	struct vmm_error verr;
	int ret;

	ret = vmm_client_recv(&e->client, VM_CREATE_TIMEOUT_MS, &ev, &verr);
	if (ret < 0)
		return api_fail(err, 500, "vmm_failed", "",
				"pinvm-vmm did not report the VM built: %s", verr.detail);
	if (ev.type == VMM_EVENT_ERROR) {
		const struct fwreg_desc *d =
			ev.error.has_register ? fwreg_lookup_id(ev.error.reg) : NULL;
		char idhex[24];

		snprintf(idhex, sizeof(idhex), "0x%016" PRIx64, ev.error.reg);
		if (ev.error.has_register && id_reg_is_feature(ev.error.reg)) {
			char name[24], field[48];

			snprintf(field, sizeof(field), "id_registers.%s",
				 id_reg_name(ev.error.reg, name, sizeof(name)));
			/* The verdict said KVM would take it (writable, lower):
			 * a field KVM does not treat as "lower is safe". */
			api_fail(err, 409, "kvm_refused", field, "%s", ev.error.detail);
		} else if (ev.error.has_register)
			api_fail(err, 409, "kvm_refused", d ? d->name : idhex,
				 "KVM refused firmware register %s: %s",
				 d ? d->name : idhex, ev.error.detail);
		else
			api_fail(err, 500, "vmm_failed", "", "%s: %s", ev.error.step,
				 ev.error.detail);
		vmm_event_clear(&ev);
		return -EIO;
	}
	if (ev.type != VMM_EVENT_CREATED) {
		api_fail(err, 500, "vmm_failed", "", "pinvm-vmm said %s first",
			 vmm_event_name(ev.type));
		vmm_event_clear(&ev);
		return -EPROTO;
	}
	if (report) {
		size_t n = ev.npins < COMPAT_MAX_ENTRIES ? ev.npins : COMPAT_MAX_ENTRIES;
		json_t *doc;

		if (compat_check_readback(report, ev.readback, n) < 0) {
			compat_refusal(report, e->profile, err);
			vmm_event_clear(&ev);
			return -EIO;
		}
		doc = compat_report_to_json(report);
		e->abi = json_incref(json_object_get(doc, "registers"));
		json_decref(doc);
	}
	vmm_event_clear(&ev);
	return 0;
}

/* Writes config.json from the spec and the profile's writes. */
static int write_config(const struct vm_core *c, const struct vm_entry *e,
			const struct vm_spec *spec,
			const char *kernel, const char *initrd,
			const struct compat_report *report, struct api_error *err)
{
	char console[PATH_MAX], path[PATH_MAX];
	struct vmm_config cfg = { 0 };
	struct vmm_error verr;
	int ret;

	if (vm_dir_file(e->dir, VM_FILE_CONSOLE, console, sizeof(console)) < 0 ||
	    vm_dir_file(e->dir, VM_FILE_CONFIG, path, sizeof(path)) < 0)
		return api_fail(err, 500, "state_error", "", "state directory path too long");
	cfg.kernel = (char *)kernel;
	cfg.initrd = spec->initrd ? (char *)initrd : NULL;
	cfg.cmdline = (char *)(spec->cmdline ? spec->cmdline : "console=ttyS0");
	cfg.console = console;
	cfg.console_limit = c->console_limit;
	cfg.vcpus = (unsigned)spec->vcpus;
	cfg.memory_mib = (uint64_t)spec->memory_mib;
	cfg.cpu_features = spec->cpu_features;
	/* Borrowed, like the deny ranges below: cfg is only saved. */
	if (report) {
		cfg.pins = (struct fw_pin *)report->writes;
		cfg.npins = report->nwrites;
		memcpy(cfg.id_pins, report->ids.writes,
		       report->ids.nwrites * sizeof(cfg.id_pins[0]));
		cfg.nid_pins = report->ids.nwrites;
	}
	/* An enforced default-deny ABI: pinvm-vmm installs the SMCCC filter
	 * before the first KVM_RUN. */
	if (report && report->smccc.verdict == COMPAT_SMCCC_ENFORCED) {
		cfg.smccc_deny = (struct smccc_range *)report->smccc.deny;
		cfg.nsmccc_deny = report->smccc.ndeny;
	}
	ret = vmm_config_save(&cfg, path, &verr);
	if (ret < 0)
		return api_fail(err, 422, "bad_vm_config", "", "%s", verr.detail);
	return 0;
}

/* Starts pinvm-vmm on the VM's directory: a standby process given the
 * VM's paths when one is ready, else a new one. */
int vm_core_spawn_vmm(const struct vm_core *c, struct vm_entry *e, struct api_error *err)
{
	char bin[PATH_MAX], config[PATH_MAX], sock[PATH_MAX], exitf[PATH_MAX], log[PATH_MAX];
	char prerun[PATH_MAX];
	struct vmm_spawn spawn = { 0 };
	struct vmm_error verr;
	int ret, logfd;

	if (vmm_client_default_binary(bin, sizeof(bin)) < 0)
		return api_fail(err, 500, "vmm_missing", "", "cannot locate pinvm-vmm");
	if (vm_dir_file(e->dir, VM_FILE_CONFIG, config, sizeof(config)) < 0 ||
	    vm_dir_file(e->dir, VM_FILE_CONTROL, sock, sizeof(sock)) < 0 ||
	    vm_dir_file(e->dir, VM_FILE_EXIT, exitf, sizeof(exitf)) < 0 ||
	    vm_dir_file(e->dir, VM_FILE_VMM_LOG, log, sizeof(log)) < 0 ||
	    vm_dir_file(e->dir, VM_FILE_PRERUN, prerun, sizeof(prerun)) < 0)
		return api_fail(err, 500, "state_error", "", "state directory path too long");
	spawn.binary = bin;
	spawn.config_path = config;
	spawn.control_socket = sock;
	spawn.exit_file = exitf;
	spawn.prerun_image = prerun;
	if (c->standby && vmm_standby_take(c->standby, &e->client)) {
		if (vmm_client_become(&e->client, &spawn, log, &verr) == 0)
			return 0;
		/* It died between the take and now: a new one, as without. */
		log_msg(LOG_WARN, "vm %s: standby pinvm-vmm %ld: %s; spawning one", e->id,
			(long)e->client.pid, verr.detail);
		vmm_standby_end(&e->client);
	}
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	spawn.log_fd = logfd;
	ret = vmm_client_spawn(&e->client, &spawn, &verr);
	if (logfd >= 0)
		close(logfd);
	if (ret < 0)
		return api_fail(err, 500, "vmm_failed", "", "cannot start %s: %s", bin,
				verr.detail);
	return 0;
}

/* The pid of a VM not yet built, in its "creating" record: a pinvmd
 * killed before pinvm-vmm answers leaves the next one a process to end
 * (vm_adopt.c), not an orphan holding a VM nobody lists as usable. */
static void record_spawned(struct vm_entry *e)
{
	char serr[256];
	json_t *rec = vm_entry_record_json(e, "creating");

	if (!rec || store_vm_put(e->store, e->id, rec, serr, sizeof(serr)) < 0)
		log_msg(LOG_WARN, "vm %s: cannot record its pinvm-vmm's pid: %s", e->id,
			rec ? serr : "out of memory");
	json_decref(rec);
}

/* An asynchronous create's second half, on its own thread. */
struct create_job {
	struct vm_entry *e; /* a reference of the job's */
	struct compat_report *report; /* owned; NULL: no profile */
	const struct vm_core *core;   /* borrowed: outlives every job */
	char kernel[PATH_MAX], initrd[PATH_MAX];
};

static void *create_thread(void *arg)
{
	struct create_job *job = arg;
	struct vm_entry *e = job->e;
	struct api_error err;
	struct vm_spec spec;
	int ret;

	ret = vm_spec_parse(e->spec, &spec, &err);
	if (!ret)
		ret = write_config(job->core, e, &spec, job->kernel, job->initrd, job->report, &err);
	if (!ret)
		ret = vm_core_spawn_vmm(job->core, e, &err);
	if (!ret)
		record_spawned(e);
	if (!ret)
		ret = vm_core_await_created(e, job->report, &err);
	if (!ret) {
		pthread_mutex_lock(&e->lock);
		e->state = VM_CREATED;
		pthread_mutex_unlock(&e->lock);
		ret = vm_supervise(e);
		if (ret < 0)
			api_fail(&err, 500, "internal_error", "", "cannot supervise: %s",
				 strerror(-ret));
		else
			vm_entry_persist(e);
	}
	if (ret < 0) {
		/* It stays, failed, saying why, until DELETE: the client was told
		 * "creating" and will look. */
		vm_supervisor_reset(e);
		pthread_mutex_lock(&e->lock);
		e->state = VM_FAILED;
		snprintf(e->reason, sizeof(e->reason), "creation failed: %s: %.400s", err.code,
			 err.detail);
		pthread_mutex_unlock(&e->lock);
		vm_entry_persist(e);
	}
	free(job->report);
	free(job);
	vm_entry_put(e);
	return NULL;
}

/* Joins an asynchronous create's thread once it is done (or waits). */
static void join_creator(struct vm_entry *e)
{
	bool has;

	pthread_mutex_lock(&e->lock);
	has = e->has_creator;
	e->has_creator = false;
	pthread_mutex_unlock(&e->lock);
	if (has)
		pthread_join(e->creator, NULL);
}

static int create(struct vm_core *c, const struct vm_spec *spec, const json_t *doc,
		  struct compat_report *report, bool async, struct vm_entry **out,
		  struct api_error *err);

int vm_core_create(struct vm_core *c, const struct vm_spec *spec, const json_t *doc,
		   struct compat_report *report, struct vm_entry **out,
		   struct api_error *err)
{
	return create(c, spec, doc, report, false, out, err);
}

int vm_core_create_async(struct vm_core *c, const struct vm_spec *spec, const json_t *doc,
			 struct compat_report *report, struct vm_entry **out,
			 struct api_error *err)
{
	return create(c, spec, doc, report, true, out, err);
}

/* Where a create's time went, logged with "vm created" (issue 16). */
enum create_step { CS_BEGIN, CS_CHECKED, CS_RECORDED, CS_CONFIG, CS_SPAWNED, CS_BUILT,
		   CS_PERSISTED, CS_DONE, CS_COUNT };

static void log_created(const struct vm_entry *e, const double t[CS_COUNT])
{
	static const char *const names[CS_COUNT] = {
		[CS_CHECKED] = "ms_checks",   [CS_RECORDED] = "ms_record",
		[CS_CONFIG] = "ms_config",    [CS_SPAWNED] = "ms_spawn",
		[CS_BUILT] = "ms_built",      [CS_PERSISTED] = "ms_persist",
		[CS_DONE] = "ms_supervise",
	};
	json_t *f = json_pack("{s:s, s:s, s:f}", "vm_id", e->id, "profile", e->profile,
			      "ms_total", t[CS_DONE] - t[CS_BEGIN]);

	for (int i = CS_CHECKED; f && i < CS_COUNT; i++)
		json_object_set_new(f, names[i], json_real(t[i] - t[i - 1]));
	log_event(LOG_INFO, "vm created", f);
	json_decref(f);
}

/* A create's checks of its images, around the host's (vm_core_begin). */
struct image_checks {
	const struct vm_core *c;
	const struct vm_spec *spec;
	double *checked;                   /* when they were done (log_created) */
	char kernel[PATH_MAX], initrd[PATH_MAX];
};

static int images_named(void *arg, struct api_error *err)
{
	struct image_checks *k = arg;

	return resolve_images(k->c, k->spec, k->kernel, k->initrd, err);
}

/* What they hold, once the host has the room: a kernel that fits. */
static int images_fit(void *arg, struct api_error *err)
{
	struct image_checks *k = arg;
	int ret = image_check(k->kernel, k->spec->initrd ? k->initrd : NULL,
			      (uint64_t)k->spec->memory_mib, err);

	*k->checked = mono_ms_exact();
	return ret;
}

static int create(struct vm_core *c, const struct vm_spec *spec, const json_t *doc,
		  struct compat_report *report, bool async, struct vm_entry **out,
		  struct api_error *err)
{
	double t[CS_COUNT] = { [CS_BEGIN] = mono_ms_exact() };
	struct vm_spec s = *spec;
	struct image_checks k = { .c = c, .spec = &s, .checked = &t[CS_CHECKED] };
	struct vm_core_begin_args begin = {
		.spec = json_deep_copy(doc), .fit = &s, .profile = spec->profile,
		.check_before_host = images_named, .check_after_host = images_fit, .arg = &k,
	};
	struct vm_entry *e;
	int ret;

	*out = NULL;
	/* A profile that pins vCPU features gives them to the VM: into the
	 * spec it is checked and stored with, so GET and a restart see them. */
	if (begin.spec && report && report->cpu.verdict == COMPAT_CPU_GIVEN &&
	    vm_spec_take_profile_cpu(&s, begin.spec, &report->cpu_pinned, spec->profile, err) < 0) {
		json_decref(begin.spec);
		return -EINVAL;
	}
	ret = vm_core_begin(c, &begin, &e, err);
	if (ret < 0)
		return ret;
	t[CS_RECORDED] = mono_ms_exact();
	if (async) {
		struct create_job *job = calloc(1, sizeof(*job));

		if (!job) {
			ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
			goto err_entry;
		}
		memcpy(job->kernel, k.kernel, sizeof(k.kernel));
		if (spec->initrd)
			memcpy(job->initrd, k.initrd, sizeof(k.initrd));
		job->report = report;
		job->core = c;
		job->e = vm_entry_get(e);
		e->state = VM_CREATING;
		e->announced = VM_CREATING + 1; /* vm.created says it */
		ret = pthread_create(&e->creator, NULL, create_thread, job);
		if (ret) {
			vm_entry_put(e);
			free(job);
			ret = api_fail(err, 500, "internal_error", "", "cannot start creating: %s",
				       strerror(ret));
			goto err_entry;
		}
		e->has_creator = true;
		vm_registry_add(c->reg, vm_entry_get(e), true);
		vm_events_created(e);
		*out = e;
		return 0;
	}
	ret = write_config(c, e, &s, k.kernel, k.initrd, report, err);
	t[CS_CONFIG] = mono_ms_exact();
	if (!ret)
		ret = vm_core_spawn_vmm(c, e, err);
	t[CS_SPAWNED] = mono_ms_exact();
	if (!ret)
		ret = vm_core_await_created(e, report, err);
	if (ret < 0)
		goto err_entry;
	t[CS_BUILT] = mono_ms_exact();
	e->state = VM_CREATED;
	vm_entry_persist(e);
	t[CS_PERSISTED] = mono_ms_exact();
	ret = vm_supervise(e);
	if (ret < 0) {
		api_fail(err, 500, "internal_error", "", "cannot supervise: %s", strerror(-ret));
		goto err_entry;
	}
	vm_registry_add(c->reg, vm_entry_get(e), true);
	t[CS_DONE] = mono_ms_exact();
	log_created(e, t);
	vm_events_created(e);
	*out = e;
	return 0;

err_entry:
	vm_core_abandon(c, e);
	return ret < 0 ? ret : -EIO;
}

int vm_core_write_state_config(const struct vm_core *c, const struct vm_entry *e,
			       const char *kind, const char *source, unsigned vcpus,
			       uint64_t memory_mib, const struct fw_pin *pins, size_t npins,
			       const struct smccc_range *deny, size_t ndeny, unsigned accept,
			       struct api_error *err)
{
	char console[PATH_MAX], path[PATH_MAX];
	struct vmm_config cfg = { 0 };
	struct vmm_error verr;

	if (vm_dir_file(e->dir, VM_FILE_CONSOLE, console, sizeof(console)) < 0 ||
	    vm_dir_file(e->dir, VM_FILE_CONFIG, path, sizeof(path)) < 0)
		return api_fail(err, 500, "state_error", "", "state directory path too long");
	/* Borrowed throughout: cfg is only saved, never freed. */
	cfg.console = console;
	cfg.console_limit = c->console_limit;
	cfg.vcpus = vcpus;
	cfg.memory_mib = memory_mib;
	cfg.pins = (struct fw_pin *)pins;
	cfg.npins = npins;
	cfg.smccc_deny = (struct smccc_range *)deny;
	cfg.nsmccc_deny = ndeny;
	cfg.accept = accept;
	if (!strcmp(kind, "incoming"))
		cfg.incoming = (char *)source;
	else
		cfg.restore = (char *)source;
	/* The same writer and checks as a booted VM's config (write_config):
	 * what pinvm-vmm will refuse is refused here. */
	if (vmm_config_save(&cfg, path, &verr) < 0)
		return api_fail(err, 500, "state_error", "", "%s", verr.detail);
	return 0;
}

/* config.json of a restored VM (docs/snapshot-format.md section 2): no
 * kernel, "restore" naming the snapshot's directory. */
static int write_restore_config(const struct vm_core *c, const struct vm_entry *e,
				const struct vm_restore *r, struct api_error *err)
{
	return vm_core_write_state_config(c, e, "restore", r->dir, r->vcpus, r->memory_mib,
					  r->pins, r->npins, r->deny, r->ndeny, r->accept, err);
}

/*
 * The restored VM's console starts as the snapshot's: what the guest
 * printed before it moved, so console offsets keep counting (pinvm-vmm
 * appends). A snapshot without console.log gives an empty one.
 */
static int seed_console(const char *snap_dir, const char *vm_dir, struct api_error *err)
{
	char src[PATH_MAX + 16], dst[PATH_MAX];
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	snprintf(src, sizeof(src), "%s/console.log", snap_dir);
	if (vm_dir_file(vm_dir, VM_FILE_CONSOLE, dst, sizeof(dst)) < 0)
		return api_fail(err, 500, "state_error", "", "console path too long");
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 && errno == ENOENT)
		return 0;
	if (in < 0)
		return api_fail(err, 500, "state_error", "", "%s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = api_fail(err, 500, "state_error", "", "%s: %s", dst, strerror(errno));
		close(in);
		return ret;
	}
	/* What the bound dropped stays a hole in the copy too. */
	n = console_log_copy_start(in, out) < 0 ? -1 : 0;
	while (n >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n < 0)
		ret = api_fail(err, 507, "insufficient_storage", "", "copying the console: %s",
			       strerror(errno));
	close(in);
	if (close(out) < 0 && !ret)
		ret = api_fail(err, 500, "state_error", "", "%s: %s", dst, strerror(errno));
	return ret;
}

int vm_core_restore(struct vm_core *c, const struct vm_restore *r, const json_t *doc,
		    struct vm_entry **out, struct api_error *err)
{
	const struct vm_spec fit = { .vcpus = r->vcpus, .memory_mib = (json_int_t)r->memory_mib };
	const struct vm_core_begin_args begin = {
		.spec = json_deep_copy(doc), .fit = &fit, .profile = r->profile,
	};
	struct vm_entry *e;
	int ret;

	*out = NULL;
	ret = vm_core_begin(c, &begin, &e, err);
	if (ret < 0)
		return ret;
	ret = seed_console(r->dir, e->dir, err);
	if (!ret)
		ret = write_restore_config(c, e, r, err);
	if (!ret)
		ret = vm_core_spawn_vmm(c, e, err);
	if (!ret)
		record_spawned(e);
	if (!ret)
		ret = vm_core_await_created(e, NULL, err);
	if (ret < 0)
		goto err_entry;
	e->state = VM_PAUSED;
	e->unstarted_restore = true;
	e->abi = r->abi ? json_incref((json_t *)r->abi) : NULL;
	vm_entry_persist(e);
	ret = vm_supervise(e);
	if (ret < 0) {
		api_fail(err, 500, "internal_error", "", "cannot supervise: %s", strerror(-ret));
		goto err_entry;
	}
	vm_registry_add(c->reg, vm_entry_get(e), true);
	log_msg(LOG_INFO, "vm %s restored from %s", e->id, r->dir);
	*out = e;
	return 0;

err_entry:
	vm_core_abandon(c, e);
	return ret < 0 ? ret : -EIO;
}

int vm_core_act(struct vm_core *c, struct vm_entry *e, enum vm_action a,
		struct api_error *err)
{
	struct vm_action_req req = { .action = a,
				     .timeout_s = a == VM_ACTION_SHUTDOWN
							  ? VM_ACTION_SHUTDOWN_TIMEOUT_DEFAULT : 0 };

	return vm_core_act_req(c, e, &req, err);
}

int vm_core_act_req(struct vm_core *c, struct vm_entry *e, const struct vm_action_req *req,
		    struct api_error *err)
{
	enum vm_action a = req->action;
	static const struct {
		enum vmm_op op;
		unsigned from; /* bit per enum vm_state it is legal from */
	} actions[VM_ACTION_COUNT] = {
		[VM_ACTION_START] = { VMM_OP_START, 1u << VM_CREATED },
		[VM_ACTION_PAUSE] = { VMM_OP_PAUSE, 1u << VM_RUNNING },
		[VM_ACTION_RESUME] = { VMM_OP_RESUME, 1u << VM_PAUSED },
		[VM_ACTION_STOP] = { VMM_OP_STOP,
				     (1u << VM_CREATED) | (1u << VM_RUNNING) | (1u << VM_PAUSED) },
		/* A paused guest cannot see the button; a created one has no
		 * guest yet. */
		[VM_ACTION_SHUTDOWN] = { VMM_OP_SHUTDOWN, 1u << VM_RUNNING },
		[VM_ACTION_REBOOT] = { VMM_OP_REBOOT, 1u << VM_RUNNING },
	};
	char detail[256];
	enum vm_state now;
	enum vmm_op op;
	bool unstarted;
	int ret;

	(void)c;
	pthread_mutex_lock(&e->lock);
	now = e->state;
	unstarted = e->unstarted_restore;
	pthread_mutex_unlock(&e->lock);
	if (!(actions[a].from & (1u << now)))
		return api_fail(err, 409, "illegal_transition", "action",
				"cannot %s a VM that is %s", vm_action_name(a),
				vm_state_name(now));
	/* A restored VM never ran in this process: pinvm-vmm starts it. */
	op = a == VM_ACTION_RESUME && unstarted ? VMM_OP_START : actions[a].op;
	if (op == VMM_OP_SHUTDOWN)
		ret = vm_request_shutdown(e, req->timeout_s, VM_OP_TIMEOUT_MS, detail,
					  sizeof(detail));
	else
		ret = vm_request(e, op, VM_OP_TIMEOUT_MS, detail, sizeof(detail));
	if (!ret && op == VMM_OP_START) {
		pthread_mutex_lock(&e->lock);
		e->unstarted_restore = false;
		pthread_mutex_unlock(&e->lock);
	}
	if (ret < 0)
		api_fail(err, ret == -EBUSY || ret == -EINVAL || ret == -ESRCH ? 409 : 500,
			 "action_failed", "action", "%s: %s", vm_action_name(a), detail);
	return ret;
}

int vm_core_restart(struct vm_core *c, struct vm_entry *e, struct compat_report *report,
		    struct api_error *err)
{
	char kernel[PATH_MAX], initrd[PATH_MAX], exitf[PATH_MAX], detail[256];
	char reason[sizeof(e->reason)];
	struct vm_spec spec;
	enum vm_state was;
	int ret;

	pthread_mutex_lock(&e->lock);
	was = e->state;
	if ((was != VM_STOPPED && was != VM_FAILED) || e->restarting || e->ending || e->deleting ||
	    e->detaching || !e->dir[0]) {
		pthread_mutex_unlock(&e->lock);
		return api_fail(err, 409, "illegal_transition", "action",
				"cannot start a VM that is %s%s", vm_state_name(was),
				e->restarting ? " and being started already" : "");
	}
	e->restarting = true;
	memcpy(reason, e->reason, sizeof(reason));
	pthread_mutex_unlock(&e->lock);
	join_creator(e);
	vm_supervisor_reset(e);

	/* The spec was accepted once; the host and the image directory may
	 * have changed since. */
	ret = vm_spec_parse(e->spec, &spec, err);
	if (!ret)
		ret = resolve_images(c, &spec, kernel, initrd, err);
	if (!ret)
		ret = vm_core_check_host(c->host, &spec, err);
	if (!ret && vm_dir_file(e->dir, VM_FILE_EXIT, exitf, sizeof(exitf)) == 0)
		unlink(exitf); /* the last boot's; this one writes its own */
	if (!ret)
		ret = write_config(c, e, &spec, kernel, initrd, report, err);
	if (!ret)
		ret = vm_core_spawn_vmm(c, e, err);
	if (!ret) {
		pthread_mutex_lock(&e->lock);
		json_decref(e->abi);
		e->abi = NULL;
		pthread_mutex_unlock(&e->lock);
		ret = vm_core_await_created(e, report, err);
	}
	if (!ret) {
		pthread_mutex_lock(&e->lock);
		e->state = VM_CREATED;
		e->reason[0] = '\0';
		pthread_mutex_unlock(&e->lock);
		vm_entry_persist(e);
		ret = vm_supervise(e);
		if (ret < 0)
			api_fail(err, 500, "internal_error", "", "cannot supervise: %s",
				 strerror(-ret));
	}
	if (!ret) {
		ret = vm_request(e, VMM_OP_START, VM_OP_TIMEOUT_MS, detail, sizeof(detail));
		/* As for every action: a VM that ended or is being deleted
		 * meanwhile is a conflict, not pinvmd's failure. */
		if (ret < 0)
			api_fail(err, ret == -EBUSY || ret == -EINVAL || ret == -ESRCH ? 409 : 500,
				 "action_failed", "action", "start: %s", detail);
	}
	if (ret < 0) {
		/* As it was: the client has the error. */
		vm_supervisor_reset(e);
		pthread_mutex_lock(&e->lock);
		e->state = was;
		memcpy(e->reason, reason, sizeof(reason));
		pthread_mutex_unlock(&e->lock);
		vm_entry_persist(e);
	}
	pthread_mutex_lock(&e->lock);
	e->restarting = false;
	pthread_mutex_unlock(&e->lock);
	return ret < 0 ? ret : 0;
}

int vm_core_delete(struct vm_core *c, const char *id, struct api_error *err)
{
	struct vm_entry *e = vm_registry_find(c->reg, id);
	bool creating;

	if (e) {
		/* Its creator thread owns it until pinvm-vmm answers (60 s at
		 * most); then it is created or failed, and deletable. */
		pthread_mutex_lock(&e->lock);
		creating = e->state == VM_CREATING;
		pthread_mutex_unlock(&e->lock);
		vm_entry_put(e);
		if (creating)
			return api_fail(err, 409, "vm_creating", "",
					"VM %s is being created; delete it once it is created "
					"or failed (GET /v1/vms/%s?wait_for=created)", id, id);
	}
	e = vm_registry_take(c->reg, id);

	if (!e) {
		api_fail(err, 404, "vm_not_found", "", "no VM with id %s", id);
		return -ENOENT;
	}
	/*
	 * A start of a stopped VM (vm_core_restart) may be spawning its new
	 * pinvm-vmm right now: "deleting" refuses any restart from here on,
	 * and one under way is let finish (its own deadlines bound it), so
	 * that vm_end() stops the pinvm-vmm and supervisor that are really
	 * there. ("ending" would make the supervisor drop that start's answer.)
	 */
	pthread_mutex_lock(&e->lock);
	e->deleting = true;
	while (e->restarting) {
		pthread_mutex_unlock(&e->lock);
		usleep(10000);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	join_creator(e);
	vm_end(e);
	vm_wait_notify(e->id); /* a waiter on it answers now */
	{
		const char *name = json_string_value(json_object_get(e->spec, "name"));

		if (name)
			vm_names_release(c->names, name, e->id);
	}
	vm_events_deleted(e->id);
	vm_entry_put(e);
	return 0;
}

int vm_core_console(const struct vm_entry *e, unsigned long long offset, size_t max,
		    char **buf, size_t *len, unsigned long long *start,
		    struct api_error *err)
{
	char path[PATH_MAX];
	uint64_t from = 0;
	int fd = -1, ret = 0;

	*buf = malloc(max ? max : 1);
	*len = 0;
	*start = 0;
	if (!*buf)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	/* A VM being deleted has no console file any more: it reads empty. */
	if (vm_dir_file(e->dir, VM_FILE_CONSOLE, path, sizeof(path)) == 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ret = console_log_read(fd, offset, *buf, max, &from, len);
	close(fd);
	if (ret < 0) {
		free(*buf);
		*buf = NULL;
		return api_fail(err, 500, "state_error", "", "reading the console: %s",
				strerror(-ret));
	}
	*start = from;
	return 0;
}

int vm_core_console_input(struct vm_entry *e, const void *data, size_t len,
			  struct api_error *err)
{
	char detail[256];
	enum vm_state now;
	int ret;

	pthread_mutex_lock(&e->lock);
	now = e->state;
	pthread_mutex_unlock(&e->lock);
	/* Paused: the bytes wait in the UART for the guest to go on. */
	if (now != VM_RUNNING && now != VM_PAUSED)
		return api_fail(err, 409, "vm_not_running", "state",
				"VM %s is %s; console input needs it running", e->id,
				vm_state_name(now));
	ret = vm_request_input(e, data, len, VM_OP_TIMEOUT_MS, detail, sizeof(detail));
	if (ret == -EAGAIN)
		return api_fail(err, 503, "console_busy", "", "%s", detail);
	if (ret == -ESRCH || ret == -EINVAL || ret == -EBUSY)
		return api_fail(err, 409, "vm_not_running", "state", "console input: %s", detail);
	if (ret < 0)
		return api_fail(err, 500, "console_input_failed", "", "console input: %s", detail);
	return 0;
}

static bool append_json(struct vm_entry *e, void *arg)
{
	json_t *list = arg;

	pthread_mutex_lock(&e->lock);
	json_array_append_new(list, vm_entry_to_json(e));
	pthread_mutex_unlock(&e->lock);
	return true;
}

struct selection {
	const struct vm_query *q;
	json_t *list;
	size_t n;
	unsigned long long last_seq; /* of the last VM taken */
	bool more;                   /* one more matched past the limit */
};

static bool select_one(struct vm_entry *e, void *arg)
{
	struct selection *s = arg;
	bool match;

	if (s->q->before && e->seq >= s->q->before)
		return true;
	pthread_mutex_lock(&e->lock);
	match = vm_query_matches(s->q, vm_state_name(e->state),
				 json_string_value(json_object_get(e->spec, "name")),
				 json_object_get(e->spec, "labels"));
	if (match && s->q->limit && s->n == s->q->limit) {
		pthread_mutex_unlock(&e->lock);
		s->more = true;
		return false;
	}
	if (match) {
		json_array_append_new(s->list, vm_entry_to_json(e));
		s->n++;
		s->last_seq = e->seq;
	}
	pthread_mutex_unlock(&e->lock);
	return true;
}

json_t *vm_core_select(struct vm_core *c, const struct vm_query *q, unsigned long long *next)
{
	struct selection s = { .q = q, .list = json_array() };

	*next = 0;
	if (!s.list)
		return NULL;
	vm_registry_foreach(c->reg, select_one, &s);
	if (s.more)
		*next = s.last_seq;
	return s.list;
}

json_t *vm_core_list(struct vm_core *c)
{
	json_t *list = json_array();

	if (list)
		vm_registry_foreach(c->reg, append_json, list);
	return list;
}

static bool count_state(struct vm_entry *e, void *arg)
{
	unsigned *counts = arg;

	pthread_mutex_lock(&e->lock);
	counts[e->state]++;
	pthread_mutex_unlock(&e->lock);
	return true;
}

void vm_core_count_by_state(struct vm_core *c, unsigned counts[VM_STATE_COUNT])
{
	vm_registry_foreach(c->reg, count_state, counts);
}

unsigned vm_core_standby_ready(struct vm_core *c)
{
	return c->standby ? vmm_standby_ready(c->standby) : 0;
}

struct profile_users {
	const char *name;
	size_t max, total;
	json_t *list;
	bool oom;
};

static bool collect_user(struct vm_entry *e, void *arg)
{
	struct profile_users *u = arg;
	json_t *vm, *vm_name;

	if (strcmp(e->profile, u->name))
		return true;
	if (u->total++ >= u->max)
		return true;
	/* id and spec are constant once the entry is shared. */
	vm_name = json_object_get(e->spec, "name");
	vm = json_pack("{s:s}", "id", e->id);
	if (!vm || (json_is_string(vm_name) && json_object_set(vm, "name", vm_name)) ||
	    json_array_append_new(u->list, vm)) {
		json_decref(vm);
		u->oom = true;
	}
	return true;
}

json_t *vm_core_profile_users(struct vm_core *c, const char *name, size_t max,
			      size_t *total)
{
	struct profile_users u = { .name = name, .max = max, .list = json_array() };

	*total = 0;
	if (!u.list)
		return NULL;
	vm_registry_foreach(c->reg, collect_user, &u);
	*total = u.total;
	if (u.oom) {
		json_decref(u.list);
		return NULL;
	}
	return u.list;
}

/*
 * Whether entry name of the directory open as dfd (whose real path is
 * root) is something vm_core_create would take: a regular file, or a
 * symlink that resolves to one inside root. *st gets the file's own stat.
 */
static bool listable_image(int dfd, const char *root, const char *name, struct stat *st)
{
	char path[PATH_MAX * 2], real[PATH_MAX];
	size_t n = strlen(root);

	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (S_ISREG(st->st_mode))
		return true;
	if (!S_ISLNK(st->st_mode))
		return false;
	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (!realpath(path, real) || strncmp(real, root, n) || real[n] != '/')
		return false;
	return stat(real, st) == 0 && S_ISREG(st->st_mode);
}

json_t *vm_core_images(struct vm_core *c, struct api_error *err)
{
	char root[PATH_MAX];
	json_t *list;
	struct dirent *de;
	DIR *d;

	if (!c->image_dir[0])
		return json_pack("{s:n, s:[]}", "image_dir", "images");
	d = opendir(c->image_dir);
	if (!d || !realpath(c->image_dir, root)) {
		api_fail(err, 500, "image_dir_unreadable", "", "%s: %s", c->image_dir,
			 strerror(errno));
		if (d)
			closedir(d);
		return NULL;
	}
	list = json_array();
	while (list && (de = readdir(d))) {
		struct stat st;

		/* What a VM could not be created from is not offered: a symlink
		 * leading out of the directory would show a file's size there. */
		if (de->d_name[0] == '.' || !listable_image(dirfd(d), root, de->d_name, &st))
			continue;
		json_array_append_new(list, json_pack("{s:s, s:I}", "name", de->d_name,
						      "size", (json_int_t)st.st_size));
	}
	closedir(d);
	if (!list) {
		api_fail(err, 500, "out_of_memory", "", "out of memory");
		return NULL;
	}
	return json_pack("{s:s, s:o}", "image_dir", c->image_dir, "images", list);
}
