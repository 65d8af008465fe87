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
 * line is "pinvm-vmm: ram digest (WHEN): N MiB: H0 H1 ..." (per MiB,
 * hex: 64-bit FNV-1a over its pages' page_hash values).
 *
 * Where a MiB differs, the pages tell why: with PINVM_TEST_RAM_DIGEST_DIR
 * set as well, each page's hash goes to DIR/PID-WHEN.pages (one 64-bit
 * value per page, host order) and the line ends "; pages: PATH"; the
 * sender also writes the round in which it last sent each page
 * (test_digest_rounds). Thread-safe: reads RAM only, writes one line and
 * its own files.
 */
#ifndef PINVM_VMM_TEST_DIGEST_H
#define PINVM_VMM_TEST_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

/* A round's mark in test_digest_rounds' bytes: sent as a ZERO frame. */
#define TEST_DIGEST_ZERO 0x80

/* Whether the tests asked for digests (PINVM_TEST_RAM_DIGEST=1). */
bool test_digest_on(void);

void test_digest_ram(const char *when, const uint8_t *ram, uint64_t size);

/*
 * rounds[p]: the round (1..127) in which the sender last sent page p, or
 * with TEST_DIGEST_ZERO set when that was as a ZERO frame; to
 * DIR/PID-rounds.bin, and a line "pinvm-vmm: ram rounds: PATH". Nothing
 * without PINVM_TEST_RAM_DIGEST_DIR.
 */
void test_digest_rounds(const uint8_t *rounds, uint64_t pages);

#endif
