#include "test_digest.h"

#include "page_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGES_PER_MIB ((1u << 20) / PAGE_HASH_SIZE)

/* 64-bit FNV-1a over n words: a MiB's digest from its pages' hashes. */
static uint64_t fnv1a(const uint64_t *w, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
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

/* RAM is hashed once, page by page; each MiB's digest is derived from
 * its pages' hashes, which also go to the per-page file when asked. */
void test_digest_ram(const char *when, const uint8_t *ram, uint64_t size)
{
	uint64_t chunks = size >> 20, pages = chunks * PAGES_PER_MIB, *h;
	char *line, *p, path[4096] = "";
	size_t cap;

	if (!test_digest_on() || !chunks)
		return;
	h = malloc(pages * sizeof(*h));
	cap = (size_t)chunks * 17 + sizeof(path) + 128;
	line = malloc(cap);
	if (!h || !line)
		goto out;
	for (uint64_t q = 0; q < pages; q++)
		h[q] = page_hash(ram + q * PAGE_HASH_SIZE);
	if (file_path(path, sizeof(path), when, "pages") &&
	    !write_file(path, h, pages * sizeof(*h)))
		path[0] = '\0';
	p = line + snprintf(line, cap, "pinvm-vmm: ram digest (%s): %llu MiB:", when,
			    (unsigned long long)chunks);
	for (uint64_t c = 0; c < chunks; c++)
		p += snprintf(p, cap - (size_t)(p - line), " %016llx",
			      (unsigned long long)fnv1a(h + c * PAGES_PER_MIB, PAGES_PER_MIB));
	if (path[0])
		snprintf(p, cap - (size_t)(p - line), "; pages: %s", path);
	fprintf(stderr, "%s\n", line);
out:
	free(h);
	free(line);
}

void test_digest_rounds(const uint8_t *rounds, uint64_t pages)
{
	char path[4096];

	if (test_digest_on() && file_path(path, sizeof(path), "rounds", "bin") &&
	    write_file(path, rounds, pages))
		fprintf(stderr, "pinvm-vmm: ram rounds: %s\n", path);
}
