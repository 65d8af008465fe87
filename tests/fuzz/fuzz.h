/* The libFuzzer entry point each target defines (replay.c calls it too). */
#ifndef PINVM_TESTS_FUZZ_H
#define PINVM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The target's work on one input: 1 when the document was accepted, 0
 * when it was refused, -1 when it is not JSON at all. replay.c checks
 * this against the seed's name (ok-* accepted, bad-* refused).
 */
int fuzz_run(const uint8_t *data, size_t size);

/* A broken invariant is a crash, so the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",  \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

#endif
