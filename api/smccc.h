/*
 * The SMCCC calls the probe guest makes to observe a hypercall ABI, in the
 * order it makes them. Pure data: the VMM feeds it to the guest, the API
 * names the results.
 */
#ifndef PINVM_API_SMCCC_H
#define PINVM_API_SMCCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMCCC_RET_NOT_SUPPORTED UINT64_MAX /* -1 as the guest sees it */

struct smccc_probe_call {
	const char *name;     /* stable key in observed-ABI documents */
	uint32_t function_id; /* x0 */
	uint64_t x1;          /* argument, 0 when none */
	/* The answer carries live data (a clock); only "answered or not" is
	 * part of the ABI, so any answer but NOT_SUPPORTED is reported as 0. */
	bool volatile_answer;
};

extern const struct smccc_probe_call smccc_probe_calls[];
extern const size_t smccc_probe_ncalls;

/* The x0 to report for call i given what the guest saw. */
uint64_t smccc_probe_normalize(size_t i, uint64_t x0);

#endif
