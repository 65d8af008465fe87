/* arm64 Image header decoding and placement (booting.rst). */
#include "boot_image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MIB (1ULL << 20)
#define RAM_BASE 0x80000000ULL

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void header(unsigned char h[64], uint64_t text_offset, uint64_t image_size,
		   uint64_t flags)
{
	memset(h, 0, 64);
	put64(h + 8, text_offset);
	put64(h + 16, image_size);
	put64(h + 24, flags);
	memcpy(h + 56, "ARM\x64", 4);
}

static void test_parse(void **state)
{
	struct boot_image_info info;
	struct vmm_error err;
	unsigned char h[64];

	(void)state;
	header(h, 0, 30 * MIB, 0xa); /* 4K pages, anywhere */
	assert_int_equal(boot_image_parse(h, sizeof(h), &info, &err), 0);
	assert_int_equal(info.text_offset, 0);
	assert_int_equal(info.image_size, 30 * MIB);
	assert_int_equal(info.page_kib, 4);
	header(h, 0x1234, 0, 0); /* pre-3.17: 0x80000 whatever it says */
	assert_int_equal(boot_image_parse(h, sizeof(h), &info, &err), 0);
	assert_int_equal(info.text_offset, 0x80000);
	header(h, 0, MIB, 1); /* big endian */
	assert_int_equal(boot_image_parse(h, sizeof(h), &info, &err), -ENOEXEC);
	header(h, 0, MIB, 0);
	h[59] = 0;
	assert_int_equal(boot_image_parse(h, sizeof(h), &info, &err), -ENOEXEC);
	assert_string_equal(err.step, "kernel");
	assert_int_equal(boot_image_parse(h, 32, &info, &err), -ENOEXEC);
}

static void test_plan(void **state)
{
	struct boot_image_info info = { .text_offset = 0, .image_size = 31 * MIB + 5 };
	struct boot_layout l;
	struct vmm_error err;

	(void)state;
	assert_int_equal(boot_plan(&info, 27 * MIB, 3 * MIB, RAM_BASE, 256 * MIB, &l, &err), 0);
	assert_int_equal(l.kernel_addr, RAM_BASE);
	assert_int_equal(l.kernel_span, 31 * MIB + 5);
	assert_int_equal(l.initrd_addr, RAM_BASE + 32 * MIB); /* next 2 MiB boundary */
	assert_int_equal(l.initrd_size, 3 * MIB);
	/* The tree in the initrd's last 2 MiB block, not one of its own. */
	assert_int_equal(l.dtb_addr, RAM_BASE + 35 * MIB);
	/* An initrd that ends inside a 64 KiB page: the tree starts on the next. */
	assert_int_equal(boot_plan(&info, 27 * MIB, 3 * MIB + 1, RAM_BASE, 256 * MIB, &l, &err), 0);
	assert_int_equal(l.dtb_addr, RAM_BASE + 35 * MIB + 64 * 1024);
	/* Old kernels: text_offset from a 2 MiB aligned base. */
	info = (struct boot_image_info){ .text_offset = 0x80000, .image_size = MIB };
	assert_int_equal(boot_plan(&info, MIB, 0, RAM_BASE, 64 * MIB, &l, &err), 0);
	assert_int_equal(l.kernel_addr, RAM_BASE + 0x80000);
	assert_int_equal(l.initrd_size, 0);
	assert_int_equal(l.initrd_addr, 0);
	/* No initrd: the tree right after the kernel's reservation. */
	assert_int_equal(l.dtb_addr, RAM_BASE + 0x80000 + MIB);
	/* Too small: an error that says how much is needed. */
	info = (struct boot_image_info){ .image_size = 60 * MIB };
	assert_int_equal(boot_plan(&info, 50 * MIB, 10 * MIB, RAM_BASE, 64 * MIB, &l, &err),
			 -ENOSPC);
	assert_non_null(strstr(err.detail, "need 72 MiB"));
	assert_int_equal(boot_plan(&info, MIB, 0, RAM_BASE + 4096, 256 * MIB, &l, &err),
			 -EINVAL);
}

static void test_load(void **state)
{
	char kpath[] = "/tmp/pinvm-test-kernel-XXXXXX";
	char ipath[] = "/tmp/pinvm-test-initrd-XXXXXX";
	unsigned char h[64], *ram = calloc(1, 64 * MIB);
	struct boot_layout l;
	struct vmm_error err;
	int kfd = mkstemp(kpath), ifd = mkstemp(ipath);

	(void)state;
	assert_non_null(ram);
	header(h, 0, 4 * MIB, 0xa);
	assert_int_equal(write(kfd, h, sizeof(h)), 64);
	assert_int_equal(write(kfd, "KERNELBODY", 10), 10);
	assert_int_equal(write(ifd, "INITRD", 6), 6);
	close(kfd);
	close(ifd);
	assert_int_equal(boot_load(kpath, ipath, ram, RAM_BASE, 64 * MIB, &l, &err), 0);
	assert_memory_equal(ram, h, 64);
	assert_memory_equal(ram + 64, "KERNELBODY", 10);
	assert_memory_equal(ram + (l.initrd_addr - RAM_BASE), "INITRD", 6);
	assert_int_equal(l.initrd_size, 6);
	assert_int_equal(boot_load("/nonexistent", NULL, ram, RAM_BASE, 64 * MIB, &l, &err),
			 -ENOENT);
	assert_string_equal(err.step, "kernel");
	assert_int_equal(boot_load(kpath, "/nonexistent", ram, RAM_BASE, 64 * MIB, &l, &err),
			 -ENOENT);
	assert_string_equal(err.step, "initrd");
	/* Not an Image. */
	assert_int_equal(boot_load(ipath, NULL, ram, RAM_BASE, 64 * MIB, &l, &err), -ENOEXEC);
	unlink(kpath);
	unlink(ipath);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
