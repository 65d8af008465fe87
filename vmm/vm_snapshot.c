/*
 * Snapshot and restore of a whole VM (docs/snapshot-design.md, the format
 * in docs/snapshot-format.md): gathers what vcpu_state.c, gic_state.c,
 * vm_time.c, guest_mem.c and the console hold into a struct vm_state and
 * a directory, and replays it into a VM vm_create() is building, in the
 * order KVM needs.
 */
#include "vm.h"

#include "console_uart.h"
#include "gic.h"
#include "gic_state.h"
#include "guest_mem.h"
#include "machine_layout.h"
#include "test_hold.h"
#include "vcpu_state.h"
#include "vm_internal.h"
#include "vm_state.h"
#include "vm_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* 0 when dir is an existing, empty directory. */
static int check_dir(const char *dir, struct vmm_error *err)
{
	struct dirent *d;
	DIR *dp;

	if (dir[0] != '/')
		return vmm_error_set(err, "snapshot", EINVAL,
				     "\"path\" must be absolute: %s", dir);
	dp = opendir(dir);
	if (!dp)
		return vmm_error_set(err, "snapshot", errno, "%s: %s", dir, strerror(errno));
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			char name[256]; /* d is closedir()'s to free */

			snprintf(name, sizeof(name), "%s", d->d_name);
			closedir(dp);
			return vmm_error_set(err, "snapshot", ENOTEMPTY,
					     "%s is not empty (%s)", dir, name);
		}
	closedir(dp);
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The state of vCPUs 0..nr-1 (nr <= vm->nr_vcpus) and of the vGIC as they
 * see it; st->vcpus is nr. */
static int gather(struct vm *vm, unsigned nr, struct vm_state *st, struct vmm_error *err)
{
	struct utsname u;
	uint64_t *mpidrs;
	int ret;

	if (uname(&u) == 0)
		snprintf(st->kernel_release, sizeof(st->kernel_release), "%s", u.release);
	st->vcpus = nr;
	st->memory_mib = vm->ram_size >> 20;
	st->ram_base = vm->ram_base;
	st->vcpu_features = vm->vcpu_features;
	st->cntfrq = vm_time_host_frequency();
	if (vm->have_paused_cnt)
		st->cntvct = vm->paused_cnt;
	else if ((ret = vm_time_read(vm->vcpus[0].fd, &st->cntvct, err)) < 0)
		return ret;
	console_uart_save(vm, &st->uart);
	st->vcpu = calloc(nr, sizeof(*st->vcpu));
	mpidrs = calloc(nr, sizeof(*mpidrs));
	if (!st->vcpu || !mpidrs) {
		free(mpidrs);
		return vmm_error_set(err, "snapshot", ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < nr; i++) {
		ret = vcpu_state_save(vm->vcpus[i].fd, i, &st->vcpu[i], err);
		if (ret < 0) {
			free(mpidrs);
			return ret;
		}
		st->vcpu[i].mpidr = vm->vcpus[i].mpidr;
		mpidrs[i] = vm->vcpus[i].mpidr;
	}
	ret = gic_state_save(gic_fd(vm->gic), gic_is_v2(vm->gic), mpidrs, nr, MACHINE_GIC_NR_IRQS,
			     st, err);
	free(mpidrs);
	if (ret < 0)
		return ret;
	if (vm->npins) {
		st->pins = malloc(vm->npins * sizeof(*st->pins));
		st->readback = malloc(vm->npins * sizeof(*st->readback));
		if (!st->pins || !st->readback)
			return vmm_error_set(err, "snapshot", ENOMEM, "out of memory");
		memcpy(st->pins, vm->pins, vm->npins * sizeof(*st->pins));
		memcpy(st->readback, vm->readback, vm->npins * sizeof(*st->readback));
		st->npins = vm->npins;
	}
	if (vm->nsmccc_deny) {
		st->smccc_deny = malloc(vm->nsmccc_deny * sizeof(*st->smccc_deny));
		if (!st->smccc_deny)
			return vmm_error_set(err, "snapshot", ENOMEM, "out of memory");
		memcpy(st->smccc_deny, vm->smccc_deny,
		       vm->nsmccc_deny * sizeof(*st->smccc_deny));
		st->nsmccc_deny = vm->nsmccc_deny;
	}
	return 0;
}

int vm_save_state(struct vm *vm, struct vm_state *st, struct vmm_error *err)
{
	bool paused;

	pthread_mutex_lock(&vm->lock);
	paused = vm->started && vm_all_parked_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	if (!paused)
		return vmm_error_set(err, "migrate", EBUSY, "the VM is not paused");
	return gather(vm, vm->nr_vcpus, st, err);
}

int vm_prerun_gather(struct vm *vm, struct vm_state *st, struct vmm_error *err)
{
	bool started;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&vm->lock);
	started = vm->started;
	pthread_mutex_unlock(&vm->lock);
	if (started)
		return vmm_error_set(err, "prerun", EBUSY, "the VM has run already");
	/* vCPU 0 stands for all: pinvm builds every vCPU alike. */
	return gather(vm, 1, st, err);
}

int vm_prerun_write(const struct vm_state *st, const char *path, uint64_t *bytes,
		    struct vmm_error *err)
{
	char tmp[PATH_MAX];
	json_t *obj = NULL;
	char *text = NULL;
	size_t len;
	int fd, ret = 0;

	*bytes = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return vmm_error_set(err, "prerun", ENAMETOOLONG, "%s: path too long", path);
	if (!(obj = vm_state_to_json(st)) || !(text = json_dumps(obj, JSON_COMPACT))) {
		ret = vmm_error_set(err, "prerun", ENOMEM, "out of memory");
		goto out;
	}
	len = strlen(text);
	errno = 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	/* No fsync: an image lost to a crash only means a migration checked
	 * after the pause, as before it existed; under I/O load an fsync
	 * would cost more than the gather. */
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		int e = errno ? errno : EIO;

		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		ret = vmm_error_set(err, "prerun", e, "write %s: %s", tmp, strerror(e));
		goto out;
	}
	if (close(fd) < 0) {
		ret = vmm_error_set(err, "prerun", errno, "close %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		ret = vmm_error_set(err, "prerun", errno, "rename %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	*bytes = len;
out:
	free(text);
	json_decref(obj);
	return ret;
}

int vm_snapshot(struct vm *vm, const char *dir, uint64_t *bytes,
		uint64_t *data_pages, struct vmm_error *err)
{
	struct vm_state st = { 0 };
	char path[PATH_MAX];
	struct stat sb;
	bool paused;
	int ret;

	*bytes = *data_pages = 0;
	pthread_mutex_lock(&vm->lock);
	paused = vm->started && vm_all_parked_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	if (!paused)
		return vmm_error_set(err, "snapshot", EBUSY, "the VM is not paused");
	if ((ret = check_dir(dir, err)) < 0)
		return ret;
	if ((ret = gather(vm, vm->nr_vcpus, &st, err)) < 0)
		goto out;
	ret = guest_mem_save(vm->ram, vm->ram_size, dir, data_pages, bytes, err);
	if (ret < 0)
		goto out;
	test_hold("vmm-snapshot-memory");
	/* vm.json last: a directory with it is complete. */
	ret = vm_state_save(&st, dir, err);
	if (ret == 0 && (ret = fsync_dir(dir)) < 0)
		vmm_error_set(err, "snapshot", -ret, "fsync %s: %s", dir, strerror(-ret));
	if (ret < 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, GUEST_MEM_FILE);
		unlink(path);
		snprintf(path, sizeof(path), "%s/vm.json", dir);
		unlink(path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/vm.json", dir);
	if (stat(path, &sb) == 0)
		*bytes += (uint64_t)sb.st_size;
out:
	vm_state_free(&st);
	return ret;
}

int vm_restore_regs(struct vm *vm, const struct vm_state *st, struct vmm_error *err)
{
	int ret;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].mpidr != st->vcpu[i].mpidr)
			return vmm_error_set(err, "restore", EINVAL,
					     "vCPU %u: MPIDR_EL1 is 0x%" PRIx64 " here, 0x%" PRIx64
					     " in the snapshot", i, vm->vcpus[i].mpidr,
					     st->vcpu[i].mpidr);
		ret = vcpu_state_restore(vm->vcpus[i].fd, i, st->vcpu_features, vm->accept,
					 &st->vcpu[i], err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* vm->pins becomes the snapshot's pins (readbacks read again from vCPU 0)
 * followed by the extra pins pins_apply() wrote. */
static int merge_pins(struct vm *vm, const struct vm_state *st, struct vmm_error *err)
{
	size_t n = st->npins + vm->npins;
	struct fw_pin *all, *back;

	if (!st->npins)
		return 0;
	all = calloc(n, sizeof(*all));
	back = calloc(n, sizeof(*back));
	if (!all || !back) {
		free(all);
		free(back);
		return vmm_error_set(err, "restore", ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < st->npins; i++) {
		struct kvm_one_reg r = { .id = st->pins[i].id,
					 .addr = (uintptr_t)&back[i].value };

		all[i] = st->pins[i];
		back[i].id = st->pins[i].id;
		if (ioctl(vm->vcpus[0].fd, KVM_GET_ONE_REG, &r) < 0)
			back[i].value = st->readback[i].value;
	}
	if (vm->npins) {
		memcpy(all + st->npins, vm->pins, vm->npins * sizeof(*all));
		memcpy(back + st->npins, vm->readback, vm->npins * sizeof(*back));
	}
	free(vm->pins);
	free(vm->readback);
	vm->pins = all;
	vm->readback = back;
	vm->npins = n;
	return 0;
}

int vm_restore_finish(struct vm *vm, const struct vm_state *st, struct vmm_error *err)
{
	int fds[MACHINE_MAX_VCPUS];
	bool offset_ioctl;
	int ret;

	if ((ret = merge_pins(vm, st, err)) < 0)
		return ret;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		fds[i] = vm->vcpus[i].fd;
	ret = vm_time_restore(vm->kvm_fd, vm->vm_fd, fds, vm->nr_vcpus, st->cntvct,
			      &offset_ioctl, err);
	if (ret < 0)
		return ret;
	/* Secondaries were created powered off; the guest had them on. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if ((ret = vcpu_state_set_mp(vm->vcpus[i].fd, i, st->vcpu[i].mp_state,
					     err)) < 0)
			return ret;
	vm->paused_cnt = st->cntvct;
	vm->have_paused_cnt = true;
	return gic_state_restore(gic_fd(vm->gic), st, vm->accept, err);
}
