#include "test_digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (1u << 20)

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	/* Word by word: the order of bytes within a word does not matter
	 * for telling equal MiB from unequal ones. */
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 0x100000001b3ULL;
	}
	return h;
}

void test_digest_ram(const char *when, const uint8_t *ram, uint64_t size)
{
	const char *on = getenv("PINVM_TEST_RAM_DIGEST");
	uint64_t chunks = size / CHUNK;
	char *line, *p;
	size_t cap;

	if (!on || strcmp(on, "1") || !chunks)
		return;
	cap = (size_t)chunks * 17 + 128;
	line = malloc(cap);
	if (!line)
		return;
	p = line + snprintf(line, cap, "pinvm-vmm: ram digest (%s): %llu MiB:", when,
			    (unsigned long long)chunks);
	for (uint64_t c = 0; c < chunks; c++)
		p += snprintf(p, cap - (size_t)(p - line), " %016llx",
			      (unsigned long long)fnv1a(ram + c * CHUNK, CHUNK));
	fprintf(stderr, "%s\n", line);
	free(line);
}
