/*
 * The floor for pinvm-vmm's footprint: the fewest KVM ioctls that run a
 * guest's first instruction (a PSCI SYSTEM_OFF through hvc). Prints its
 * peak RSS and the time it took, for the lab benchmark to set beside
 * pinvm-vmm's. With --spawn N it runs itself N times as a new process
 * (posix_spawn, as pinvmd spawns pinvm-vmm) and prints the mean time from
 * the spawn to the child's exit: the floor of "create + start -> first
 * instruction". Built for aarch64 only; runs inside the lab.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x10000ull

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), ": %ld", &v);
	if (f)
		fclose(f);
	return v;
}

/* Mean ms from posix_spawn of a floor run to its exit, over n runs. */
static int spawn_mean(const char *self, int n)
{
	char *argv[] = { (char *)self, NULL };
	posix_spawn_file_actions_t quiet;
	struct timespec t0, t1;
	double total = 0;

	/* The runs' own lines would drown the figure. */
	if (posix_spawn_file_actions_init(&quiet) ||
	    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0))
		return 1;
	for (int i = 0; i < n; i++) {
		pid_t pid;
		int status;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (posix_spawn(&pid, self, &quiet, NULL, argv, environ) ||
		    waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "kvm_floor: run %d failed\n", i);
			posix_spawn_file_actions_destroy(&quiet);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		total += (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			 (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	posix_spawn_file_actions_destroy(&quiet);
	printf("kvm_floor: spawn to first instruction and exit %.1f ms (mean of %d)\n",
	       total / n, n);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint32_t code[] = {
		0xd2b08000, /* movz x0, #0x8400, lsl #16 */
		0xf2800100, /* movk x0, #0x8: PSCI SYSTEM_OFF */
		0xd4000002, /* hvc #0 */
	};
	struct kvm_vcpu_init init = { 0 };
	struct kvm_userspace_memory_region mem = { .slot = 0,
		.guest_phys_addr = RAM_BASE, .memory_size = RAM_SIZE };
	uint64_t pc = RAM_BASE;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (offsetof(struct kvm_regs, regs.pc) / sizeof(uint32_t)),
		.addr = (uintptr_t)&pc,
	};
	struct timespec t0, t1;
	struct kvm_run *run;
	int kvm, vm, vcpu;
	void *ram;

	if (argc == 3 && !strcmp(argv[1], "--spawn"))
		return spawn_mean(argv[0][0] == '/' ? argv[0] : "/proc/self/exe",
				  atoi(argv[2]) > 0 ? atoi(argv[2]) : 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || ram == MAP_FAILED) {
		perror("kvm_floor: setup");
		return 1;
	}
	memcpy(ram, code, sizeof(code));
	mem.userspace_addr = (uintptr_t)ram;
	vcpu = -1;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem) < 0 ||
	    ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0 ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
		perror("kvm_floor: vm");
		return 1;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		   PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0 ||
	    ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0 || run == MAP_FAILED ||
	    ioctl(vcpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_SYSTEM_EVENT) {
		perror("kvm_floor: run");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Anonymous memory is what a VMM adds per VM; file pages (the binary,
	 * shared libraries) are shared and, in the lab's ramfs, not even
	 * counted the same way on every kernel. */
	printf("kvm_floor: first instruction ran in %.1f ms, RssAnon %ld kB (guest RAM %llu kB of it at most)\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       status_kb("RssAnon"), RAM_SIZE / 1024);
	return 0;
}
