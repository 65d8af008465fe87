/*
 * CLOCK_MONOTONIC in milliseconds: deadlines and the timings pinvm logs.
 * Never goes back, unaffected by changes of the wall clock. Thread-safe;
 * no failure (CLOCK_MONOTONIC always exists on Linux).
 */
#ifndef PINVM_VMM_MONO_CLOCK_H
#define PINVM_VMM_MONO_CLOCK_H

#include <stdint.h>

/* Whole milliseconds: for deadlines. */
int64_t mono_ms(void);

/* Milliseconds with their fraction: for durations that are logged. */
double mono_ms_exact(void);

#endif
