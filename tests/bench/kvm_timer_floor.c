/*
 * The floor for timer latency (issue 16): the probe guest's timer rounds
 * (vmm/probe_image.S, an image written by probe_image_write_timer()) run
 * with the fewest KVM ioctls that let its virtual timer wake it: one vCPU,
 * the in-kernel GICv3 where pinvm's machine has it (the guest finds its
 * redistributor below the distributor), the console's bytes taken from
 * MMIO exits and nothing else. Prints the figures as timer_lateness.h
 * reduces them, for pinvm-vmm-selftest's timer-latency case to set beside
 * pinvm-vmm's. Built for aarch64 only; runs inside the lab.
 *
 * usage: pinvm-bench-timer-floor IMAGE
 */
#include "timer_lateness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* pinvm's machine (vmm/machine_layout.h), which the probe guest assumes. */
#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x200000ull
#define UART_BASE 0x01000000ull
#define GIC_DIST_BASE 0x3fff0000ull
#define GIC_REDIST_SIZE 0x20000ull
#define CONSOLE_MAX (1u << 20)

static int die(const char *what)
{
	fprintf(stderr, "kvm_timer_floor: %s: %s\n", what, strerror(errno));
	return 1;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, void *addr)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uintptr_t)addr };

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

/* The image file into RAM at its base; 0 or -1. */
static int load_image(const char *path, void *ram)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < RAM_SIZE)
		n = read(fd, ram, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct kvm_create_device gic = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	struct kvm_vcpu_init init = { 0 };
	struct kvm_userspace_memory_region mem = { .slot = 0, .guest_phys_addr = RAM_BASE,
						   .memory_size = RAM_SIZE };
	uint64_t pc = RAM_BASE, dist = GIC_DIST_BASE, redist = GIC_DIST_BASE - GIC_REDIST_SIZE;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (offsetof(struct kvm_regs, regs.pc) / sizeof(uint32_t)),
		.addr = (uintptr_t)&pc,
	};
	struct timer_lateness t;
	struct kvm_run *run;
	char *con, line[256];
	size_t ncon = 0;
	int kvm, vm, vcpu;
	void *ram;

	if (argc != 2) {
		fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
		return 2;
	}
	con = calloc(1, CONSOLE_MAX + 1);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!con || vm < 0 || ram == MAP_FAILED)
		return die("setup");
	if (load_image(argv[1], ram) < 0)
		return die(argv[1]);
	mem.userspace_addr = (uintptr_t)ram;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem) < 0 ||
	    ioctl(vm, KVM_CREATE_DEVICE, &gic) < 0 ||
	    set_attr((int)gic.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
		     &redist) < 0 ||
	    set_attr((int)gic.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
		     &dist) < 0)
		return die("vm and GICv3");
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0 ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		return die("vcpu");
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0 ||
	    ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0 ||
	    set_attr((int)gic.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		     NULL) < 0)
		return die("vcpu init");
	/* Until the rounds are printed: the guest then goes on with its
	 * SMCCC rounds, which are not measured here. */
	while (!strstr(con, "pinvm-timer-end")) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return die("KVM_RUN");
		}
		if (run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "kvm_timer_floor: exit %u\n", run->exit_reason);
			return 1;
		}
		/* The UART's data register takes the console's bytes; every
		 * other access reads 0 and writes nothing. */
		if (run->mmio.is_write && run->mmio.phys_addr == UART_BASE && ncon < CONSOLE_MAX)
			con[ncon++] = (char)run->mmio.data[0];
		else if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
	if (timer_lateness_parse(con, &t) < 0) {
		fprintf(stderr, "kvm_timer_floor: no timer rounds in the console:\n%.2000s\n", con);
		return 1;
	}
	timer_lateness_format(&t, line, sizeof(line));
	printf("kvm_timer_floor: %s\n", line);
	return 0;
}
