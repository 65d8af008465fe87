/*
 * A 64-bit hash of one 4 KiB guest page, to tell whether a page changed
 * since it was sent (migrate_send.c). Not cryptographic: a guest that
 * wanted to could make two pages collide, and would gain only its own
 * corruption. Any change of a single 64-bit word always changes the
 * hash (every step is a bijection); other changes collide with a
 * chance of about 2^-64. Four independent lanes keep the multiplier
 * busy, as a single FNV chain waits on each multiply.
 *
 * Pure: no state, any thread.
 */
#ifndef PINVM_VMM_PAGE_HASH_H
#define PINVM_VMM_PAGE_HASH_H

#include <stdint.h>

#define PAGE_HASH_SIZE 4096u

uint64_t page_hash(const uint8_t *page);

#endif
