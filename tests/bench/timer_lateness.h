/*
 * The timer latency figures of a console the probe guest's timer rounds
 * printed (vmm/probe_image.S: "pinvm-timer-start FREQ TICKS", then
 * "pinvm-timer I LATE_TICKS" per round, then "pinvm-timer-end"). Shared by
 * the floor (kvm_timer_floor.c) and pinvm-vmm-selftest's timer-latency
 * case, so that both sides of the comparison are reduced alike. Pure.
 */
#ifndef PINVM_TESTS_BENCH_TIMER_LATENESS_H
#define PINVM_TESTS_BENCH_TIMER_LATENESS_H

#include <stddef.h>

struct timer_lateness {
	unsigned rounds;     /* lines read between start and end */
	double period_us;    /* the period armed each round */
	double min_us, median_us, p99_us, max_us; /* how late the wake-up was */
};

/*
 * Reads console (NUL-terminated) into *out. 0, or -1 when the start or
 * end line is missing, a round line is malformed or out of order, there
 * are no rounds, or the counter frequency is 0.
 */
int timer_lateness_parse(const char *console, struct timer_lateness *out);

/* "N rounds of a P ms timer: late min A us, median B us, p99 C us, max D us". */
void timer_lateness_format(const struct timer_lateness *t, char *buf, size_t size);

/*
 * Floor and pinvm-vmm run in interleaved pairs (the same image, one after
 * the other, n times): whether one is later is judged across the pairs,
 * never from one run, because the emulated lab's noise moves a single
 * run's median by more than the difference sought.
 */
struct timer_compare {
	unsigned pairs;
	double floor_us, vmm_us; /* the median of each side's medians */
	unsigned vmm_later;      /* pairs where pinvm-vmm's median was later */
	unsigned ties;
	double p_value;          /* two-sided sign test over the pairs not tied */
};

/* floor[i] and vmm[i] are pair i's medians (us); n >= 1. */
void timer_compare(const double *floor, const double *vmm, unsigned n,
		   struct timer_compare *out);

/* "N interleaved pairs: median of medians floor A us, pinvm-vmm B us;
 * pinvm-vmm later in K, ties T, sign test p=P". */
void timer_compare_format(const struct timer_compare *c, char *buf, size_t size);

#endif
