/*
 * fake-vmm: a stand-in for pinvm-vmm that speaks the control protocol
 * without KVM, for test_vmm_client. Same command line. What it does comes
 * from the config's cmdline:
 *   (default)              created, then obeys start/pause/resume/stop
 *   fake:poweroff          after "start": running, then exited/poweroff
 *   fake:fail-create       error (step "pin", a register, EINVAL), exit 1
 *   fake:silent            says nothing; waits to be killed
 *   fake:snapshot-enospc   "snapshot" is rejected with ENOSPC (after
 *                          writing half a vm.json, as a full disk would)
 * "snapshot" (paused only) writes a small valid directory
 * (docs/snapshot-format.md): vm.json whose vCPU 0 firmware registers are
 * the config's pins (the fake's "guest saw" values) and a sparse mem.raw of
 * memory_mib with two data pages. A config with "restore" (the kernel then
 * optional) needs vm.json and mem.raw there with the same vcpus and memory,
 * and writes "fake: restored from DIR" to the console.
 * It first writes "fds: ..." (its open descriptors) to stderr.
 * --control-socket and --exit-file work as in pinvm-vmm, through the same
 * vmm_control.c: when the channel closes it waits there for a new one.
 */
#include "vmm_config.h"
#include "vmm_control.h"
#include "vmm_proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static char restore_dir[PATH_MAX];

static json_t *load_json(const char *path)
{
	json_error_t jerr;

	return json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
}

/* vmm_config_load() plus the contract's "restore" (which pinvm-vmm's own
 * config learns on the snapvmm branch): the key is taken out, and a
 * restored VM needs no kernel. */
static int load_config(const char *path, struct vmm_config *cfg, struct vmm_error *err)
{
	json_t *obj = load_json(path), *r;
	int ret;

	if (!obj)
		return vmm_error_set(err, "config", EINVAL, "%s: not JSON", path);
	r = json_object_get(obj, "restore");
	if (r) {
		snprintf(restore_dir, sizeof(restore_dir), "%s", json_string_value(r) ?: "");
		json_object_del(obj, "restore");
		if (!json_object_get(obj, "kernel"))
			json_object_set_new(obj, "kernel", json_string("(restored)"));
	}
	ret = vmm_config_from_json(obj, cfg, err);
	json_decref(obj);
	return ret;
}

/* The restore of docs/snapshot-format.md section 2, as far as a fake can. */
static int check_restore(const struct vmm_config *cfg, struct vmm_error *err)
{
	char path[PATH_MAX + 16];
	struct stat st;
	json_t *vm;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/vm.json", restore_dir);
	vm = load_json(path);
	if (!vm)
		return vmm_error_set(err, "restore", ENOENT, "%s: missing or not JSON", path);
	if (json_integer_value(json_object_get(vm, "vcpus")) != (json_int_t)cfg->vcpus ||
	    json_integer_value(json_object_get(vm, "memory_mib")) != (json_int_t)cfg->memory_mib)
		ret = vmm_error_set(err, "restore", EINVAL, "vcpus or memory_mib differ from vm.json");
	json_decref(vm);
	snprintf(path, sizeof(path), "%s/mem.raw", restore_dir);
	if (!ret && (stat(path, &st) < 0 || (uint64_t)st.st_size != cfg->memory_mib << 20))
		ret = vmm_error_set(err, "restore", EINVAL, "%s: missing or not RAM-sized", path);
	if (!ret) {
		FILE *f = fopen(cfg->console, "a");

		if (f) {
			fprintf(f, "fake: restored from %s\n", restore_dir);
			fclose(f);
		}
	}
	return ret;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[PATH_MAX + 16];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (len && write(fd, data, len) != (ssize_t)len)
		ret = -EIO;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The snapshot op: vm.json and a sparse mem.raw in dir; 0 or -errno. */
static int fake_snapshot(const struct vmm_config *cfg, const char *dir, bool enospc,
			 unsigned long long *bytes)
{
	char path[PATH_MAX + 16], page[4096] = "pinvm fake guest memory, page 0";
	json_t *vm, *regs, *pins, *vcpus;
	char *text;
	int fd, ret;

	if (enospc) {
		write_file(dir, "vm.json", "{\"format\": 1, \"kern", 20);
		return -ENOSPC;
	}
	snprintf(path, sizeof(path), "%s/mem.raw", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)(cfg->memory_mib << 20)) < 0 ? -errno : 0;
	if (!ret && pwrite(fd, page, sizeof(page), 0) != sizeof(page))
		ret = -EIO;
	snprintf(page, sizeof(page), "pinvm fake guest memory, at 1 MiB");
	if (!ret && pwrite(fd, page, sizeof(page), 1 << 20) != sizeof(page))
		ret = -EIO;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	regs = json_array();
	pins = json_array();
	json_array_append_new(regs, json_pack("{s:s, s:s}", "id", "0x6030000000100000",
					      "value", "0x80000000"));
	for (size_t i = 0; i < cfg->npins; i++) {
		char id[24], v[24];

		snprintf(id, sizeof(id), "0x%016" PRIx64, cfg->pins[i].id);
		snprintf(v, sizeof(v), "0x%" PRIx64, cfg->pins[i].value);
		json_array_append_new(regs, json_pack("{s:s, s:s}", "id", id, "value", v));
		json_array_append_new(pins, json_pack("{s:s, s:s, s:s}", "id", id, "value", v,
						      "readback", v));
	}
	vcpus = json_array();
	json_array_append_new(vcpus, json_pack("{s:i, s:s, s:o}", "mp_state", 0, "mpidr",
					       "0x80000000", "regs", regs));
	for (unsigned i = 1; i < cfg->vcpus; i++)
		json_array_append_new(vcpus, json_pack("{s:i, s:s, s:[]}", "mp_state", 0, "mpidr",
						       "0x80000001", "regs"));
	vm = json_pack("{s:i, s:s, s:i, s:I, s:s, s:s, s:{s:s, s:i}, s:{}, s:i,"
		       " s:{s:s, s:s, s:s}, s:o, s:o, s:[]}",
		       "format", 1, "kernel_release", "fake", "vcpus", (int)cfg->vcpus,
		       "memory_mib", (json_int_t)cfg->memory_mib, "ram_base", "0x80000000",
		       "vcpu_features", "0x4", "gic", "version", "v3", "nr_irqs", 128, "uart",
		       "console_offset", 0, "time", "semantics", "paused", "cntvct", "0x1000",
		       "cntfrq", "0x3b9aca0", "vcpu", vcpus, "pins", pins, "smccc_deny");
	text = vm ? json_dumps(vm, JSON_COMPACT) : NULL;
	json_decref(vm);
	if (!text)
		return -ENOMEM;
	/* vm.json last, as pinvm-vmm writes it. */
	ret = write_file(dir, "vm.json", text, strlen(text));
	*bytes = 2 * sizeof(page) + strlen(text);
	free(text);
	return ret;
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
	if (load_config(config, &cfg, &err) < 0) {
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

static int serve(int fd, struct vmm_config *cfgp)
{
	struct vmm_config cfg = *cfgp;
	struct vmm_event ev = { .type = VMM_EVENT_CREATED };
	struct vmm_error err;
	bool started = false, paused = false;

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
	if (restore_dir[0] && check_restore(&cfg, &ev.error) < 0) {
		ev.type = VMM_EVENT_ERROR;
		vmm_proto_send_event(fd, &ev);
		return 1;
	}
	for (size_t p = 0; p < cfg.npins; p++)
		cfg.pins[p].readback = cfg.pins[p].value;
	ev.pins = cfg.pins;
	ev.npins = cfg.npins;
	ev.vcpus = cfg.vcpus;
	snprintf(ev.gic, sizeof(ev.gic), "v3");
	vmm_proto_send_event(fd, &ev);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = lfd, .events = POLLIN } };
		enum vmm_op op;
		char bad[16], path[PATH_MAX];
		unsigned long long bytes = 0;
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
		ret = vmm_proto_recv_op_path(fd, &op, path, sizeof(path), bad, sizeof(bad), &err);

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
			if (!paused || !path[0]) {
				snprintf(r.error.detail, sizeof(r.error.detail),
					 "snapshot needs a paused VM and a path");
				vmm_proto_send_event(fd, &r);
				break;
			}
			ret = fake_snapshot(&cfg, path, strstr(cfg.cmdline, "fake:snapshot-enospc"),
					    &bytes);
			if (ret < 0) {
				snprintf(r.error.detail, sizeof(r.error.detail),
					 "snapshot: %s (errno %d)", strerror(-ret), -ret);
				vmm_proto_send_event(fd, &r);
				break;
			}
			r = (struct vmm_event){ .type = VMM_EVENT_SNAPSHOTTED, .bytes = bytes,
						.data_pages = 2 };
			vmm_proto_send_event(fd, &r);
			break;
		}
		}
	}
}
