/*
 * Guest RAM digests in pinvm-vmm's log, for the migration tests (issue
 * 11): the source logs one when everything is sent (its guest paused,
 * held until commit), the destination one when the VM is built from the
 * stream, before the guest's first instruction. Equal digests, MiB for
 * MiB, prove every page came across, including a page the guest would
 * only have tripped over later (a lost dirty page shows as one differing
 * MiB here instead of a rare oops minutes after).
 *
 * Off unless asked: only a process with PINVM_TEST_RAM_DIGEST=1 in its
 * environment, which nothing but the tests sets, hashes anything. The
 * line is "pinvm-vmm: ram digest (WHEN): N MiB: H0 H1 ..." (64-bit
 * FNV-1a per MiB, hex). Thread-safe: reads RAM only, writes one line.
 */
#ifndef PINVM_VMM_TEST_DIGEST_H
#define PINVM_VMM_TEST_DIGEST_H

#include <stdint.h>

void test_digest_ram(const char *when, const uint8_t *ram, uint64_t size);

#endif
