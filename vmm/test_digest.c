#include "test_digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define PAGE 4096u

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

bool test_digest_on(void)
{
	const char *on = getenv("PINVM_TEST_RAM_DIGEST");

	return on && !strcmp(on, "1");
}

/* DIR/PID-NAME.EXT into path, or false without PINVM_TEST_RAM_DIGEST_DIR. */
static bool file_path(char *path, size_t len, const char *name, const char *ext)
{
	const char *dir = getenv("PINVM_TEST_RAM_DIGEST_DIR");
	int n;

	if (!dir || !*dir)
		return false;
	n = snprintf(path, len, "%s/%ld-%s.%s", dir, (long)getpid(), name, ext);
	for (char *p = path + strlen(dir) + 1; *p; p++)
		if (*p == ' ')
			*p = '-';
	return n > 0 && (size_t)n < len;
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = false;
	return ok;
}

/* Each page's hash to a file; its path in path, or "" when none. */
static void page_file(const char *when, const uint8_t *ram, uint64_t size, char *path,
		      size_t len)
{
	uint64_t pages = size / PAGE, *h;

	if (!file_path(path, len, when, "pages") || !(h = malloc(pages * sizeof(*h)))) {
		*path = '\0';
		return;
	}
	for (uint64_t p = 0; p < pages; p++)
		h[p] = fnv1a(ram + p * PAGE, PAGE);
	if (!write_file(path, h, pages * sizeof(*h)))
		*path = '\0';
	free(h);
}

void test_digest_ram(const char *when, const uint8_t *ram, uint64_t size)
{
	uint64_t chunks = size / CHUNK;
	char *line, *p, pages[4096];
	size_t cap;

	if (!test_digest_on() || !chunks)
		return;
	page_file(when, ram, size, pages, sizeof(pages));
	cap = (size_t)chunks * 17 + sizeof(pages) + 128;
	line = malloc(cap);
	if (!line)
		return;
	p = line + snprintf(line, cap, "pinvm-vmm: ram digest (%s): %llu MiB:", when,
			    (unsigned long long)chunks);
	for (uint64_t c = 0; c < chunks; c++)
		p += snprintf(p, cap - (size_t)(p - line), " %016llx",
			      (unsigned long long)fnv1a(ram + c * CHUNK, CHUNK));
	if (pages[0])
		snprintf(p, cap - (size_t)(p - line), "; pages: %s", pages);
	fprintf(stderr, "%s\n", line);
	free(line);
}

void test_digest_rounds(const uint8_t *rounds, uint64_t pages)
{
	char path[4096];

	if (test_digest_on() && file_path(path, sizeof(path), "rounds", "bin") &&
	    write_file(path, rounds, pages))
		fprintf(stderr, "pinvm-vmm: ram rounds: %s\n", path);
}
