/*
 * pinvm-pmu-count: the lab guest's proof that its PMU counts (pinvm's
 * cpu_features.pmu). Counts the CPU cycles and instructions of a busy
 * loop with perf_event_open(2), as a program profiling itself does, and
 * prints one line:
 *   cycles=N instructions=M    both counted (each > 0 when the PMU works)
 *   cycles=N instructions=unsupported (REASON)
 *                              the PMU offers no retired-instruction event
 *                              (the lab's emulated host CPU, QEMU's TCG
 *                              without icount, counts none, so KVM offers
 *                              its guests none either; measured on 5.10)
 *   unavailable: REASON        no hardware counters at all
 * Built static for the lab's busybox guest by deploy/lab/initramfs.sh.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int counter(uint64_t config, int group)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof(a);
	a.config = config;
	a.disabled = group < 0; /* the leader starts the group */
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, group, 0);
}

int main(void)
{
	int cyc = counter(PERF_COUNT_HW_CPU_CYCLES, -1), ins;
	uint64_t c = 0, i = 0;
	volatile uint64_t sum = 0;
	char why[128] = "";

	if (cyc < 0) {
		printf("unavailable: cycles: %s\n", strerror(errno));
		return 1;
	}
	ins = counter(PERF_COUNT_HW_INSTRUCTIONS, cyc);
	if (ins < 0)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	ioctl(cyc, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP);
	ioctl(cyc, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
	for (uint64_t k = 0; k < 1000000; k++)
		sum += k;
	ioctl(cyc, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
	if (read(cyc, &c, sizeof(c)) != (ssize_t)sizeof(c) ||
	    (ins >= 0 && read(ins, &i, sizeof(i)) != (ssize_t)sizeof(i))) {
		printf("unavailable: read: %s\n", strerror(errno));
		return 1;
	}
	if (ins >= 0)
		snprintf(why, sizeof(why), "%llu", (unsigned long long)i);
	printf("cycles=%llu instructions=%s%s%s\n", (unsigned long long)c,
	       ins < 0 ? "unsupported (" : "", why, ins < 0 ? ")" : "");
	return 0;
}
