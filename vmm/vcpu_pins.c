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
