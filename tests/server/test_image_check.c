/*
 * Bad images are the user's error (server/image_check.c): an empty file,
 * a file with no arm64 Image header, a big-endian Image, and a kernel plus
 * initrd too big for the VM's memory are 422s naming the field; a
 * well-formed Image that fits passes. The files are made here: only the
 * 64-byte header matters to the check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "image_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/pinvm-image-check-XXXXXX";

/* Writes an Image header (image_size bytes reserved, flags) padded to len. */
static const char *image(const char *name, uint64_t image_size, uint64_t flags, size_t len)
{
	static char path[4][256];
	static int next;
	unsigned char h[64] = { 0 };
	char *p = path[next++ % 4];
	FILE *f;

	for (int i = 0; i < 8; i++) {
		h[8 + i] = (unsigned char)(0x80000ULL >> (8 * i));
		h[16 + i] = (unsigned char)(image_size >> (8 * i));
		h[24 + i] = (unsigned char)(flags >> (8 * i));
	}
	memcpy(h + 56, "ARM\x64", 4);
	snprintf(p, 256, "%s/%s", dir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		fputc(0, f);
	assert_int_equal(fclose(f), 0);
	return p;
}

static const char *text(const char *name, const char *content)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void expect(int ret, const struct api_error *err, const char *code, const char *field)
{
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(err->status, 422);
	assert_string_equal(err->code, code);
	assert_string_equal(err->field, field);
}

static void test_images(void **state)
{
	struct api_error err;
	const char *k = image("ok.Image", 8 << 20, 2, 4096);
	const char *initrd = image("initrd", 0, 0, 64 << 10);

	(void)state;
	assert_int_equal(image_check(k, NULL, 64, &err), 0);
	assert_int_equal(image_check(k, initrd, 64, &err), 0);

	expect(image_check(text("empty", ""), NULL, 64, &err), &err, "image_empty", "kernel");
	expect(image_check(k, text("empty-initrd", ""), 64, &err), &err, "image_empty", "initrd");
	expect(image_check(text("short", "not a kernel"), NULL, 64, &err), &err, "not_an_image",
	       "kernel");
	{
		char junk[128];

		memset(junk, 'x', sizeof(junk) - 1);
		junk[sizeof(junk) - 1] = '\0';
		expect(image_check(text("junk", junk), NULL, 64, &err), &err, "not_an_image",
		       "kernel");
	}
	/* Bit 0 of the flags: a big-endian kernel. */
	expect(image_check(image("be.Image", 8 << 20, 1, 4096), NULL, 64, &err), &err,
	       "not_an_image", "kernel");
	/* 40 MiB reserved by the kernel: does not fit 32 MiB. */
	expect(image_check(image("big.Image", 40 << 20, 2, 4096), NULL, 32, &err), &err,
	       "image_too_big", "memory_mib");
	assert_non_null(strstr(err.detail, "32 MiB"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_images),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
