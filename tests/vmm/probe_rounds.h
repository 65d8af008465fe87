/*
 * Reading the periodic probe guest's console (vmm/probe_image.S): its
 * rounds of SMCCC calls, as pinvm-vmm-selftest (in the lab) and the API
 * tests (tests/http, through GET /v1/vms/{id}/console) compare them.
 * Pure string parsing; no allocation.
 */
#ifndef PINVM_TESTS_PROBE_ROUNDS_H
#define PINVM_TESTS_PROBE_ROUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x0 arrays hold this many calls (the table has fewer: vmm/probe_layout.h). */
#define PROBE_ROUNDS_MAX_CALLS 64

/*
 * Round r of the console text s: its x0s (x0 holds PROBE_ROUNDS_MAX_CALLS),
 * normalized as the profile tools compare them (api/smccc.h). True once
 * "pinvm-probe-end r" is there and every call of the round was printed, in
 * the table's order; *n says how many calls were read.
 */
bool probe_round(const char *s, unsigned r, uint64_t *x0, size_t *n);

/* The highest r for which probe_round(s, r) is true, counting up from
 * after (0 when none after it is complete). */
unsigned probe_round_last(const char *s, unsigned after);

#endif
