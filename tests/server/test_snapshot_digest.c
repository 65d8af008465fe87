/* The two digests of snapshot files (server/snapshot_store.c) against the
 * same digests computed the plain way, over the whole file in memory: the
 * store walks data extents (SEEK_DATA/SEEK_HOLE) and must give what the
 * manifest's definition gives, for files with holes at the start, between
 * extents, inside a page and at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "snapshot_store.h"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096
#define FILE_PAGES 1024 /* 4 MiB: several IO chunks' worth of holes */

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pinvm-digest-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The plain SHA-256 of all size bytes. */
static void plain_sum(const unsigned char *buf, size_t size, char *out)
{
	unsigned char d[32];

	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, size, d), 0);
	hex(d, out);
}

/* snapshot_manifest.h's page digest: for each page that is not all zeros,
 * its number as 8 bytes little endian, then its bytes. */
static void page_sum(const unsigned char *buf, size_t size, char *out)
{
	static const unsigned char zero[PAGE];
	gnutls_hash_hd_t h;
	unsigned char d[32];

	assert_int_equal(gnutls_hash_init(&h, GNUTLS_DIG_SHA256), 0);
	for (size_t off = 0; off < size; off += PAGE) {
		size_t k = size - off < PAGE ? size - off : PAGE;
		uint64_t page = off / PAGE;
		unsigned char le[8];

		if (!memcmp(buf + off, zero, k))
			continue;
		for (int b = 0; b < 8; b++)
			le[b] = (unsigned char)(page >> (8 * b));
		gnutls_hash(h, le, sizeof(le));
		gnutls_hash(h, buf + off, k);
	}
	gnutls_hash_deinit(h, d);
	hex(d, out);
}

/* Writes buf's non-zero pages at their offsets into a sparse file of size
 * bytes, as pinvm-vmm writes mem.raw, and compares both digests. */
static void check(const char *name, const unsigned char *buf, size_t size)
{
	static const unsigned char zero[PAGE];
	char path[128], want[65];
	struct snapshot_file f;
	struct api_error err = {0};
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	for (size_t off = 0; off < size; off += PAGE) {
		size_t k = size - off < PAGE ? size - off : PAGE;

		if (memcmp(buf + off, zero, k))
			assert_int_equal(pwrite(fd, buf + off, k, (off_t)off), (ssize_t)k);
	}
	close(fd);

	memset(&f, 0, sizeof(f));
	assert_int_equal(snapshot_file_sum(dir, name, &f, &err), 0);
	plain_sum(buf, size, want);
	assert_string_equal(f.sha256, want);
	assert_int_equal(f.size, size);

	memset(&f, 0, sizeof(f));
	assert_int_equal(snapshot_file_sum_pages(dir, name, &f, &err), 0);
	page_sum(buf, size, want);
	assert_string_equal(f.sha256, want);
	assert_int_equal(f.size, size);
}

static void test_extents_and_holes(void **state)
{
	size_t size = (size_t)FILE_PAGES * PAGE;
	unsigned char *buf = calloc(1, size);

	(void)state;
	assert_non_null(buf);
	check("empty", buf, 0);
	check("all-hole", buf, size);
	/* A page in the middle, one byte in a page, two adjacent pages past an
	 * IO chunk (1 MiB), and the last page. */
	memset(buf + 7 * PAGE, 0xa5, PAGE);
	buf[100 * PAGE + 17] = 1;
	memset(buf + 300 * PAGE, 0x3c, 2 * PAGE);
	memset(buf + (FILE_PAGES - 1) * PAGE, 0x11, PAGE);
	check("sparse", buf, size);
	/* Data from the first byte, and a size that ends inside a page. */
	buf[0] = 0xff;
	check("unaligned-end", buf, size - 1000);
	memset(buf, 0x5a, size);
	check("dense", buf, size);
	free(buf);
}

static void test_missing_file(void **state)
{
	struct snapshot_file f;
	struct api_error err = {0};

	(void)state;
	assert_true(snapshot_file_sum(dir, "absent", &f, &err) < 0);
	assert_int_equal(err.status, 500);
	assert_string_equal(err.code, "state_error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extents_and_holes),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
