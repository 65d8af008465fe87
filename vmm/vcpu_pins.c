#include "vcpu_pins.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

int vcpu_apply_pins(int vcpu_fd, const struct fw_pin *pins, size_t npins,
		    struct fw_pin *readback, size_t *failed)
{
	size_t i;

	for (i = 0; i < npins; i++) {
		struct kvm_one_reg r = { .id = pins[i].id,
					 .addr = (uintptr_t)&pins[i].value };

		if (ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0) {
			*failed = i;
			return -errno;
		}
	}
	/* Read back only after all writes: a later write (PSCI_VERSION is
	 * per VM) must not hide an earlier one's effect. */
	for (i = 0; i < npins; i++) {
		struct kvm_one_reg r = { .id = pins[i].id,
					 .addr = (uintptr_t)&readback[i].value };

		readback[i].id = pins[i].id;
		if (ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0) {
			*failed = i;
			return -errno;
		}
	}
	return 0;
}

static int get_reg(int vcpu_fd, uint64_t id, uint64_t *v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)v };

	return ioctl(vcpu_fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

int vcpu_apply_id_pins(int vcpu_fd, const struct id_pin *pins, size_t n, size_t *failed,
		       uint64_t *got)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0, want;
		struct kvm_one_reg r = { .id = pins[i].id, .addr = (uintptr_t)&want };
		int ret;

		*failed = i;
		*got = 0;
		if ((ret = get_reg(vcpu_fd, pins[i].id, &v)) < 0)
			return ret;
		want = id_pin_apply(&pins[i], v);
		/* Only a change is written: kernels before 6.7 take a write of
		 * an ID register's own value and nothing else. */
		if (want != v && ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0)
			return -errno;
		if ((ret = get_reg(vcpu_fd, pins[i].id, got)) < 0)
			return ret;
		if ((*got & pins[i].mask) != pins[i].value)
			return -EPERM;
	}
	return 0;
}
