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

#endif
