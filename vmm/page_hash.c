#include "page_hash.h"

#include <string.h>

#define PRIME 0x100000001b3ULL

static uint64_t rotl(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

uint64_t page_hash(const uint8_t *page)
{
	uint64_t h[4] = {
		0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL,
		0x9ce484222325cbf2ULL, 0x2325cbf29ce48422ULL,
	};

	for (size_t i = 0; i < PAGE_HASH_SIZE; i += 32) {
		for (unsigned l = 0; l < 4; l++) {
			uint64_t w;

			memcpy(&w, page + i + 8 * l, sizeof(w));
			h[l] = (h[l] ^ w) * PRIME;
		}
	}
	/* A change in one lane always shows: the others are xor'ed in as
	 * they were. */
	return h[0] ^ rotl(h[1], 16) ^ rotl(h[2], 32) ^ rotl(h[3], 48);
}
