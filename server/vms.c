/*
 * /v1/images and /v1/vms: validating a VM request against the image
 * directory and the host, creating it through pinvm-vmm with its profile's
 * registers pinned, and driving its lifecycle.
 *
 * Every VM has a record in the store from the moment its directory exists
 * ("creating") until DELETE. A pinvmd that starts takes over the VMs its
 * predecessor left running, through their control sockets (vms_load).
 */
#include "vms.h"

#include "compat.h"
#include "fwreg.h"
#include "handlers.h"
#include "kvm_host.h"
#include "live_host.h"
#include "log.h"
#include "profile.h"
#include "server.h"
#include "vm_record.h"
#include "vm_spec.h"
#include "vmm_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VM_CREATE_TIMEOUT_MS 60000
#define VM_OP_TIMEOUT_MS 15000
#define CONSOLE_CHUNK (1024 * 1024)

#define VM_ATTACH_TIMEOUT_MS 5000

struct vms {
	pthread_mutex_t lock; /* guards the list, never held across VMM work */
	struct vm *head;
	struct store *store;  /* borrowed */
	bool stop_on_exit;
};

int vms_new(struct vms **out, struct store *store, bool stop_on_exit)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	(*out)->store = store;
	(*out)->stop_on_exit = stop_on_exit;
	return 0;
}

void vms_free(struct vms *m)
{
	struct vm *vm, *next;
	char detail[256];
	unsigned left = 0;

	if (!m)
		return;
	for (vm = m->head; vm; vm = next) {
		next = vm->next;
		pthread_mutex_lock(&vm->lock);
		bool live = vm->state == VM_CREATED || vm->state == VM_RUNNING ||
			    vm->state == VM_PAUSED;
		pthread_mutex_unlock(&vm->lock);
		if (live && m->stop_on_exit &&
		    vm_request(vm, VMM_OP_STOP, 5000, detail, sizeof(detail)) < 0)
			log_msg(LOG_WARN, "vm %s: stop on shutdown: %s", vm->id, detail);
		else if (live && !m->stop_on_exit)
			left++;
		vm_detach(vm);
	}
	if (left)
		log_msg(LOG_INFO, "%u VMs left running for the next pinvmd", left);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct vm *vm_alloc(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->wake_fd = -1;
	vmm_client_init(&vm->client);
	return vm;
}

/*
 * A VM the record says is alive: take it over through its control socket,
 * or find out why it ended while no pinvmd was watching.
 */
static void adopt(struct vm *vm, bool creating, json_int_t old_pid)
{
	char sock[PATH_MAX + 16], why[512];
	struct vmm_event ev;
	struct vmm_error err;
	enum vm_state ended = VM_FAILED;
	int ret;

	snprintf(sock, sizeof(sock), "%s/control.sock", vm->dir);
	/* A live but busy pinvm-vmm (a loaded host, an emulated one) gets a
	 * few chances before its VM is written off. */
	for (int tries = 0; tries < 3; tries++) {
		ret = vmm_client_attach(&vm->client, sock, VM_ATTACH_TIMEOUT_MS, &ev, &err);
		if (ret != -ETIMEDOUT)
			break;
		log_msg(LOG_WARN, "vm %s: %s; trying again", vm->id, err.detail);
	}
	if (ret == 0 && creating) {
		/* Its creator never answered the client; nobody knows this VM
		 * was wanted, so it is ended rather than kept. */
		vmm_event_clear(&ev);
		vmm_client_signal(&vm->client, SIGKILL);
		vmm_client_reap(&vm->client, 2000, &err);
		vmm_client_close(&vm->client);
		vm->state = VM_FAILED;
		snprintf(vm->reason, sizeof(vm->reason),
			 "pinvmd stopped while creating this VM; its pinvm-vmm was ended");
		return;
	}
	if (ret == 0) {
		vm->state = !strcmp(ev.state, "running") ? VM_RUNNING :
			    !strcmp(ev.state, "paused") ? VM_PAUSED : VM_CREATED;
		vmm_event_clear(&ev);
		ret = vm_supervise(vm);
		if (ret == 0) {
			json_t *f = json_pack("{s:s, s:s, s:I}", "vm_id", vm->id, "state",
					      vm_state_name(vm->state), "vmm_pid",
					      (json_int_t)vm->client.pid);

			log_event(LOG_INFO, "vm re-adopted", f);
			json_decref(f);
			return;
		}
		/* Let it be: it keeps running, and the next pinvmd may do better. */
		vmm_client_close(&vm->client);
		snprintf(why, sizeof(why), "cannot supervise it: %s", strerror(-ret));
	} else if (vm_read_exit(vm, &ended, why, sizeof(why))) {
		size_t n = strlen(why);

		snprintf(why + n, sizeof(why) - n, " (while pinvmd was not running)");
	} else if (ret == -ENOENT || ret == -ECONNREFUSED) {
		snprintf(why, sizeof(why),
			 "pinvm-vmm (pid %lld) was gone when pinvmd started and left no "
			 "exit record (killed, or the host restarted)", (long long)old_pid);
	} else {
		snprintf(why, sizeof(why), "cannot reach pinvm-vmm: %s", err.detail);
	}
	if (creating) {
		/* Never handed to a client: whatever it said, it was not made. */
		ended = VM_FAILED;
		snprintf(vm->reason, sizeof(vm->reason),
			 "pinvmd stopped while creating this VM (%.400s)", why);
	} else {
		snprintf(vm->reason, sizeof(vm->reason), "%s", why);
	}
	vm->state = ended;
}

static const char *str_of(const json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v ? v : "";
}

/* One stored record back into a struct vm; NULL when it is unusable. */
static struct vm *from_record(struct vms *m, const char *state_dir, json_t *doc)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	const char *state = json_string_value(json_object_get(doc, "state"));
	json_t *abi = json_object_get(doc, "abi");
	struct vm *vm;

	if (!id || !state || strlen(id) >= sizeof(vm->id) ||
	    !json_is_object(json_object_get(doc, "spec")))
		return NULL;
	vm = vm_alloc();
	if (!vm)
		return NULL;
	vm->store = m->store;
	snprintf(vm->id, sizeof(vm->id), "%s", id);
	snprintf(vm->created_at, sizeof(vm->created_at), "%s",
		 str_of(doc, "created_at"));
	snprintf(vm->profile, sizeof(vm->profile), "%s",
		 str_of(doc, "profile"));
	snprintf(vm->reason, sizeof(vm->reason), "%s",
		 str_of(doc, "reason"));
	snprintf(vm->dir, sizeof(vm->dir), "%s/vms/%s", state_dir, id);
	snprintf(vm->console, sizeof(vm->console), "%s/console.log", vm->dir);
	vm->spec = json_incref(json_object_get(doc, "spec"));
	vm->abi = json_is_object(abi) || json_is_array(abi) ? json_incref(abi) : NULL;
	if (!strcmp(state, "stopped")) {
		vm->state = VM_STOPPED;
	} else if (!strcmp(state, "failed")) {
		vm->state = VM_FAILED;
	} else {
		adopt(vm, !strcmp(state, "creating"),
		      json_integer_value(json_object_get(doc, "pid")));
		vm_persist(vm);
	}
	return vm;
}

int vms_load(struct vms *m, const char *state_dir, char *err, size_t errlen)
{
	unsigned counts[5] = { 0 };
	json_t *docs, *doc;
	size_t i;
	int ret;

	ret = store_vm_list(m->store, &docs, err, errlen);
	if (ret < 0)
		return ret;
	json_array_foreach(docs, i, doc) {
		struct vm *vm = from_record(m, state_dir, doc);

		if (!vm) {
			/* Kept in the store untouched; only DELETE removes a record. */
			log_msg(LOG_ERROR, "vm record %zu is unusable; skipped", i);
			continue;
		}
		counts[vm->state]++;
		vm->next = m->head; /* newest first, as they were */
		m->head = vm;
	}
	json_decref(docs);
	log_msg(LOG_INFO, "vm records: %u running, %u paused, %u created, %u stopped, "
		"%u failed", counts[VM_RUNNING], counts[VM_PAUSED], counts[VM_CREATED],
		counts[VM_STOPPED], counts[VM_FAILED]);
	return 0;
}

void vms_count_by_state(struct vms *m, unsigned counts[5])
{
	pthread_mutex_lock(&m->lock);
	for (struct vm *vm = m->head; vm; vm = vm->next) {
		pthread_mutex_lock(&vm->lock);
		counts[vm->state]++;
		pthread_mutex_unlock(&vm->lock);
	}
	pthread_mutex_unlock(&m->lock);
}

bool vms_profile_in_use(struct vms *m, const char *name)
{
	bool used = false;

	pthread_mutex_lock(&m->lock);
	for (struct vm *vm = m->head; vm && !used; vm = vm->next)
		used = !strcmp(vm->profile, name);
	pthread_mutex_unlock(&m->lock);
	return used;
}

/* Finds a VM by id; the caller may use it until it deletes it. */
static struct vm *find(struct vms *m, const char *id)
{
	struct vm *vm;

	pthread_mutex_lock(&m->lock);
	for (vm = m->head; vm && strcmp(vm->id, id); vm = vm->next)
		;
	pthread_mutex_unlock(&m->lock);
	return vm;
}

static struct vm *find_or_404(struct request *req, struct reply *rep)
{
	struct vm *vm = find(req->srv->vms, req->params[0]);

	if (!vm)
		reply_problem(rep, 404, "vm_not_found", NULL, "no VM with id %s",
			      req->params[0]);
	return vm;
}

/*
 * Whether entry name of the directory open as dfd (whose real path is
 * root) is something POST /v1/vms would take: a regular file, or a symlink
 * that resolves to one inside root. *st gets the file's own stat.
 */
static bool listable_image(int dfd, const char *root, const char *name,
			   struct stat *st)
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

void handle_images_list(struct request *req, struct reply *rep)
{
	char root[PATH_MAX];
	json_t *list = json_array();
	struct dirent *de;
	DIR *d;

	if (!req->srv->image_dir[0]) {
		json_decref(list);
		reply_json(rep, 200, json_pack("{s:n, s:[]}", "image_dir", "images"));
		return;
	}
	d = opendir(req->srv->image_dir);
	if (!d || !realpath(req->srv->image_dir, root)) {
		json_decref(list);
		reply_problem(rep, 500, "image_dir_unreadable", NULL, "%s: %s",
			      req->srv->image_dir, strerror(errno));
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		/* What a VM could not be created from is not offered: a symlink
		 * leading out of the directory would show a file's size there. */
		if (de->d_name[0] == '.' || !listable_image(dirfd(d), root, de->d_name, &st))
			continue;
		json_array_append_new(list, json_pack("{s:s, s:I}", "name", de->d_name,
						      "size", (json_int_t)st.st_size));
	}
	closedir(d);
	reply_json(rep, 200, json_pack("{s:s, s:o}", "image_dir", req->srv->image_dir,
				       "images", list));
}

/*
 * An image name must be a plain file name inside the image directory; a
 * symlink is followed only if it stays inside. Fills out with the real path.
 */
static int resolve_image(const struct server *srv, const char *field,
			 const char *name, char *out, struct reply *rep)
{
	char root[PATH_MAX], path[PATH_MAX * 2];
	struct stat st;
	size_t n;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		reply_problem(rep, 400, "bad_image_name", field,
			      "\"%s\" is not a file name in the image directory "
			      "(no paths, no \"..\")", name);
		return -EINVAL;
	}
	if (!realpath(srv->image_dir, root)) {
		reply_problem(rep, 500, "image_dir_unreadable", NULL, "%s: %s",
			      srv->image_dir, strerror(errno));
		return -EIO;
	}
	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (!realpath(path, out)) {
		reply_problem(rep, 400, "image_not_found", field,
			      "no image \"%s\" in the image directory", name);
		return -ENOENT;
	}
	n = strlen(root);
	if (strncmp(out, root, n) || out[n] != '/') {
		reply_problem(rep, 400, "image_outside_image_dir", field,
			      "\"%s\" leads out of the image directory", name);
		return -EPERM;
	}
	if (stat(out, &st) < 0 || !S_ISREG(st.st_mode)) {
		reply_problem(rep, 400, "image_not_found", field,
			      "\"%s\" is not a regular file", name);
		return -ENOENT;
	}
	return 0;
}

static void make_id(char out[40])
{
	unsigned char b[16] = { 0 };

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rand();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 40,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
}

_Static_assert(VM_SPEC_MAX_VCPUS == VMM_CONFIG_MAX_VCPUS, "vCPU limit");
_Static_assert(VM_SPEC_MIN_MEMORY_MIB == VMM_CONFIG_MIN_MEMORY_MIB, "memory floor");
_Static_assert(VM_SPEC_MAX_CMDLINE == VMM_CONFIG_MAX_CMDLINE, "cmdline limit");

/* vcpus and memory against what this host has (as probed at start-up,
 * which /v1/ready reports too). */
static int check_host(const struct kvm_host_info *info, const struct vm_spec *b,
		      struct reply *rep)
{
	long max_vcpus = 0;
	uint64_t mem_mib;

	if (!info->hypervisor) {
		reply_problem(rep, 503, "no_hypervisor", NULL,
			      "no arm64 KVM on this host: %s", info->reason);
		return -ENODEV;
	}
	for (size_t i = 0; i < info->ncaps; i++)
		if (!strcmp(info->caps[i].name, "max_vcpus"))
			max_vcpus = info->caps[i].value;
	if (max_vcpus > (long)VMM_CONFIG_MAX_VCPUS)
		max_vcpus = VMM_CONFIG_MAX_VCPUS;
	if (b->vcpus > max_vcpus) {
		reply_problem(rep, 422, "exceeds_host", "vcpus",
			      "vcpus %lld is more than this host's KVM allows (%ld)",
			      (long long)b->vcpus, max_vcpus);
		return -EINVAL;
	}
	mem_mib = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;
	if ((uint64_t)b->memory_mib > mem_mib) {
		reply_problem(rep, 422, "exceeds_host", "memory_mib",
			      "memory_mib %lld is more than this host has (%" PRIu64 " MiB)",
			      (long long)b->memory_mib, mem_mib);
		return -EINVAL;
	}
	return 0;
}

/* The first event of a new pinvm-vmm: built, or why not. */
static int await_created(struct vm *vm, struct compat_report *report,
			 struct reply *rep)
{
	struct compat_write back[COMPAT_MAX_ENTRIES];
	struct vmm_event ev;
	struct vmm_error err;
	int ret;

	ret = vmm_client_recv(&vm->client, VM_CREATE_TIMEOUT_MS, &ev, &err);
	if (ret < 0) {
		reply_problem(rep, 500, "vmm_failed", NULL,
			      "pinvm-vmm did not report the VM built: %s", err.detail);
		return ret;
	}
	if (ev.type == VMM_EVENT_ERROR) {
		const struct fwreg_desc *d =
			ev.error.has_register ? fwreg_lookup_id(ev.error.reg) : NULL;
		char idhex[24];

		snprintf(idhex, sizeof(idhex), "0x%016" PRIx64, ev.error.reg);
		if (ev.error.has_register)
			reply_problem(rep, 409, "kvm_refused", d ? d->name : idhex,
				      "KVM refused firmware register %s: %s",
				      d ? d->name : idhex, ev.error.detail);
		else
			reply_problem(rep, 500, "vmm_failed", NULL, "%s: %s",
				      ev.error.step, ev.error.detail);
		vmm_event_clear(&ev);
		return -EIO;
	}
	if (ev.type != VMM_EVENT_CREATED) {
		reply_problem(rep, 500, "vmm_failed", NULL, "pinvm-vmm said %s first",
			      vmm_event_name(ev.type));
		vmm_event_clear(&ev);
		return -EPROTO;
	}
	if (report) {
		size_t n = ev.npins < COMPAT_MAX_ENTRIES ? ev.npins : COMPAT_MAX_ENTRIES;

		for (size_t i = 0; i < n; i++) {
			back[i].id = ev.pins[i].id;
			back[i].value = ev.pins[i].readback;
		}
		if (compat_check_readback(report, back, n) < 0) {
			struct api_error aerr;

			compat_refusal(report, vm->profile, &aerr);
			reply_api_error(rep, &aerr);
			vmm_event_clear(&ev);
			return -EIO;
		}
		{
			json_t *doc = compat_report_to_json(report);

			vm->abi = json_incref(json_object_get(doc, "registers"));
			json_decref(doc);
		}
	}
	vmm_event_clear(&ev);
	return 0;
}

void handle_vms_post(struct request *req, struct reply *rep)
{
	struct compat_report *report = NULL;
	struct vm_spec b;
	struct vmm_config cfg = { 0 };
	struct vmm_error verr;
	struct vmm_spawn spawn = { 0 };
	char kernel[PATH_MAX], initrd[PATH_MAX], bin[PATH_MAX], path[PATH_MAX + 32];
	char sock[PATH_MAX + 32], exitf[PATH_MAX + 32];
	struct vm *vm = NULL;
	json_t *body = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int ret, logfd = -1;

	if (parse_json_body(req, rep, &body) < 0)
		goto out;
	{
		struct api_error aerr;

		if (vm_spec_parse(body, &b, &aerr) < 0) {
			reply_api_error(rep, &aerr);
			goto out;
		}
	}
	{
		unsigned n = 0;

		pthread_mutex_lock(&req->srv->vms->lock);
		for (struct vm *v = req->srv->vms->head; v; v = v->next)
			n++;
		pthread_mutex_unlock(&req->srv->vms->lock);
		if (n >= req->srv->max_vms) {
			reply_problem(rep, 409, "too_many_vms", NULL,
				      "this pinvmd holds %u VMs, its limit (--max-vms); delete one first",
				      n);
			goto out;
		}
	}
	if (!req->srv->image_dir[0]) {
		reply_problem(rep, 422, "no_image_dir", "kernel",
			      "pinvmd was started without --image-dir");
		goto out;
	}
	if (resolve_image(req->srv, "kernel", b.kernel, kernel, rep) < 0 ||
	    (b.initrd && resolve_image(req->srv, "initrd", b.initrd, initrd, rep) < 0) ||
	    check_host(&req->srv->host, &b, rep) < 0)
		goto out;
	if (b.profile) {
		ret = profile_verdict_here(req, rep, b.profile, true, &report);
		if (ret == -ENOENT)
			reply_problem(rep, 422, "unknown_profile", "profile",
				      "no profile named \"%s\"", b.profile);
		if (ret < 0)
			goto out;
	}

	vm = vm_alloc();
	if (!vm) {
		reply_json(rep, 500, NULL);
		goto out;
	}
	make_id(vm->id);
	gmtime_r(&now, &tm);
	strftime(vm->created_at, sizeof(vm->created_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(vm->profile, sizeof(vm->profile), "%s", b.profile ? b.profile : "");
	vm->spec = json_deep_copy(body);
	snprintf(path, sizeof(path), "%s/vms", req->srv->state_dir);
	mkdir(path, 0700);
	if (snprintf(vm->dir, sizeof(vm->dir), "%s/vms/%s", req->srv->state_dir,
		     vm->id) >= (int)sizeof(vm->dir)) {
		reply_problem(rep, 500, "state_error", NULL, "state directory path too long");
		goto err_vm;
	}
	snprintf(vm->console, sizeof(vm->console), "%s/console.log", vm->dir);
	if (mkdir(vm->dir, 0700) < 0) {
		reply_problem(rep, 500, "state_error", NULL, "%s: %s", vm->dir, strerror(errno));
		vm->dir[0] = '\0'; /* not ours to remove */
		goto err_vm;
	}
	vm->store = req->srv->store;
	{
		/* Before pinvm-vmm exists: a pinvmd that dies from here on
		 * leaves a record its successor finds. */
		char serr[256];
		json_t *doc = vm_record_json(vm, "creating");

		if (!doc || store_vm_put(vm->store, vm->id, doc, serr, sizeof(serr)) < 0) {
			reply_problem(rep, 500, "state_error", NULL, "cannot store the VM: %s",
				      doc ? serr : "out of memory");
			json_decref(doc);
			goto err_vm;
		}
		json_decref(doc);
	}

	cfg.kernel = kernel;
	cfg.initrd = b.initrd ? initrd : NULL;
	cfg.cmdline = (char *)(b.cmdline ? b.cmdline : "console=ttyS0");
	cfg.console = vm->console;
	cfg.vcpus = (unsigned)b.vcpus;
	cfg.memory_mib = (uint64_t)b.memory_mib;
	if (report && report->nwrites) {
		cfg.pins = calloc(report->nwrites, sizeof(*cfg.pins));
		if (!cfg.pins) {
			reply_json(rep, 500, NULL);
			goto err_vm;
		}
		for (size_t i = 0; i < report->nwrites; i++) {
			cfg.pins[i].id = report->writes[i].id;
			cfg.pins[i].value = report->writes[i].value;
		}
		cfg.npins = report->nwrites;
	}
	snprintf(path, sizeof(path), "%s/config.json", vm->dir);
	ret = vmm_config_save(&cfg, path, &verr);
	free(cfg.pins);
	if (ret < 0) {
		reply_problem(rep, 422, "bad_vm_config", NULL, "%s", verr.detail);
		goto err_vm;
	}
	if (vmm_client_default_binary(bin, sizeof(bin)) < 0) {
		reply_problem(rep, 500, "vmm_missing", NULL, "cannot locate pinvm-vmm");
		goto err_vm;
	}
	snprintf(path, sizeof(path), "%s/vmm.log", vm->dir);
	logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	snprintf(path, sizeof(path), "%s/config.json", vm->dir);
	snprintf(sock, sizeof(sock), "%s/control.sock", vm->dir);
	snprintf(exitf, sizeof(exitf), "%s/exit.json", vm->dir);
	spawn.binary = bin;
	spawn.config_path = path;
	spawn.log_fd = logfd;
	spawn.control_socket = sock;
	spawn.exit_file = exitf;
	ret = vmm_client_spawn(&vm->client, &spawn, &verr);
	if (logfd >= 0)
		close(logfd);
	if (ret < 0) {
		reply_problem(rep, 500, "vmm_failed", NULL, "cannot start %s: %s", bin,
			      verr.detail);
		goto err_vm;
	}
	if (await_created(vm, report, rep) < 0)
		goto err_vm;
	vm->state = VM_CREATED;
	vm_persist(vm);
	ret = vm_supervise(vm);
	if (ret < 0) {
		reply_problem(rep, 500, "internal_error", NULL, "cannot supervise: %s",
			      strerror(-ret));
		goto err_vm;
	}
	pthread_mutex_lock(&req->srv->vms->lock);
	vm->next = req->srv->vms->head;
	req->srv->vms->head = vm;
	pthread_mutex_unlock(&req->srv->vms->lock);
	pthread_mutex_lock(&vm->lock);
	reply_json(rep, 201, vm_to_json(vm));
	pthread_mutex_unlock(&vm->lock);
	snprintf(rep->location, sizeof(rep->location), "/v1/vms/%s", vm->id);
	{
		json_t *f = json_pack("{s:s, s:s}", "vm_id", vm->id, "profile", vm->profile);

		log_event(LOG_INFO, "vm created", f);
		json_decref(f);
	}
	goto out;

err_vm:
	vm_destroy(vm);
out:
	free(report);
	json_decref(body);
}

void handle_vms_list(struct request *req, struct reply *rep)
{
	json_t *list = json_array();

	pthread_mutex_lock(&req->srv->vms->lock);
	for (struct vm *vm = req->srv->vms->head; vm; vm = vm->next) {
		pthread_mutex_lock(&vm->lock);
		json_array_append_new(list, vm_to_json(vm));
		pthread_mutex_unlock(&vm->lock);
	}
	pthread_mutex_unlock(&req->srv->vms->lock);
	reply_json(rep, 200, json_pack("{s:o}", "vms", list));
}

void handle_vm_get(struct request *req, struct reply *rep)
{
	struct vm *vm = find_or_404(req, rep);

	if (!vm)
		return;
	pthread_mutex_lock(&vm->lock);
	reply_json(rep, 200, vm_to_json(vm));
	pthread_mutex_unlock(&vm->lock);
}

void handle_vm_delete(struct request *req, struct reply *rep)
{
	struct vms *m = req->srv->vms;
	struct vm **pp, *vm = NULL;

	pthread_mutex_lock(&m->lock);
	for (pp = &m->head; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->id, req->params[0])) {
			vm = *pp;
			*pp = vm->next;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (!vm) {
		reply_problem(rep, 404, "vm_not_found", NULL, "no VM with id %s",
			      req->params[0]);
		return;
	}
	vm_destroy(vm);
	reply_empty(rep);
}

void handle_vm_action(struct request *req, struct reply *rep)
{
	static const struct {
		const char *name;
		enum vmm_op op;
		unsigned from; /* bit per enum vm_state it is legal from */
	} actions[] = {
		{ "start", VMM_OP_START, 1u << VM_CREATED },
		{ "pause", VMM_OP_PAUSE, 1u << VM_RUNNING },
		{ "resume", VMM_OP_RESUME, 1u << VM_PAUSED },
		{ "stop", VMM_OP_STOP, (1u << VM_CREATED) | (1u << VM_RUNNING) | (1u << VM_PAUSED) },
	};
	struct vm *vm = find_or_404(req, rep);
	const char *action, *key;
	char detail[256];
	json_t *body, *v;
	size_t i;
	int ret;

	if (!vm || parse_json_body(req, rep, &body) < 0)
		return;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "action")) {
			reply_problem(rep, 422, "unknown_field", key, "takes only \"action\"");
			json_decref(body);
			return;
		}
	}
	action = json_string_value(json_object_get(body, "action"));
	for (i = 0; action && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(action, actions[i].name))
			break;
	if (!action || i == sizeof(actions) / sizeof(actions[0])) {
		reply_problem(rep, json_is_string(json_object_get(body, "action")) ||
					   !json_object_get(body, "action") ? 422 : 400,
			      json_object_get(body, "action") ? "bad_action" : "missing_field",
			      "action", "action must be start, pause, resume or stop");
		json_decref(body);
		return;
	}
	json_decref(body);
	pthread_mutex_lock(&vm->lock);
	if (!(actions[i].from & (1u << vm->state))) {
		reply_problem(rep, 409, "illegal_transition", "action",
			      "cannot %s a VM that is %s", actions[i].name,
			      vm_state_name(vm->state));
		if (rep->body)
			json_object_set_new(rep->body, "state",
					    json_string(vm_state_name(vm->state)));
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	pthread_mutex_unlock(&vm->lock);
	ret = vm_request(vm, actions[i].op, VM_OP_TIMEOUT_MS, detail, sizeof(detail));
	pthread_mutex_lock(&vm->lock);
	if (ret < 0)
		reply_problem(rep, ret == -EBUSY || ret == -EINVAL || ret == -ESRCH ? 409 : 500,
			      "action_failed", "action", "%s: %s", actions[i].name, detail);
	else
		reply_json(rep, 200, vm_to_json(vm));
	if (ret < 0 && rep->body)
		json_object_set_new(rep->body, "state", json_string(vm_state_name(vm->state)));
	pthread_mutex_unlock(&vm->lock);
}

void handle_vm_console(struct request *req, struct reply *rep)
{
	struct vm *vm = find_or_404(req, rep);
	const char *q = request_query(req, "offset");
	unsigned long long offset = 0;
	struct stat st;
	ssize_t n;
	char *buf;
	int fd;

	if (!vm)
		return;
	if (q) {
		char *end;

		errno = 0;
		offset = strtoull(q, &end, 10);
		if (!*q || *end || errno || *q == '-') {
			reply_problem(rep, 400, "bad_offset", "offset",
				      "offset must be a byte count (0 or more)");
			return;
		}
	}
	fd = open(vm->console, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		st.st_size = 0;
	}
	if (offset > (unsigned long long)st.st_size)
		offset = (unsigned long long)st.st_size;
	buf = malloc(CONSOLE_CHUNK);
	if (!buf) {
		if (fd >= 0)
			close(fd);
		reply_json(rep, 500, NULL);
		return;
	}
	n = fd >= 0 ? pread(fd, buf, CONSOLE_CHUNK, (off_t)offset) : 0;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	snprintf(rep->extra_name, sizeof(rep->extra_name), "X-Console-Next-Offset");
	snprintf(rep->extra_value, sizeof(rep->extra_value), "%llu",
		 offset + (unsigned long long)n);
	reply_raw(rep, buf, (size_t)n, "text/plain; charset=utf-8");
}
