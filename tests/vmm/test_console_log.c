/* The bounded console log: holes at the front, absolute offsets kept. */
#include "console_log.h"
#include "vmm_config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define TOTAL (300 * 1024)
#define LIMIT (100 * 1024)

/* Byte i of the output: a pattern no hole (zeros) can imitate. */
static char byte_at(uint64_t i)
{
	return (char)('A' + i % 26);
}

static int temp_log(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/pinvm-console-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

static void write_output(int fd, uint64_t n)
{
	char buf[4096];

	for (uint64_t done = 0; done < n;) {
		size_t k = n - done < sizeof(buf) ? (size_t)(n - done) : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = byte_at(done + i);
		assert_int_equal(write(fd, buf, k), (ssize_t)k);
		done += k;
	}
}

static void test_trim_keeps_offsets(void **state)
{
	char path[256], buf[8192];
	uint64_t start, first;
	size_t len;
	struct stat st;
	int fd = temp_log(path, sizeof(path));
	int ret;

	(void)state;
	write_output(fd, TOTAL);
	ret = console_log_trim(fd, LIMIT);
	if (ret == -EOPNOTSUPP) {
		unlink(path);
		close(fd);
		skip(); /* a file system without holes: the log is unbounded */
	}
	assert_int_equal(ret, 0);
	first = console_log_first(fd);
	/* At least LIMIT kept, less than a grain more, cut on a grain. */
	assert_true(first <= TOTAL - LIMIT);
	assert_true(TOTAL - first < LIMIT + CONSOLE_LOG_GRAIN);
	assert_int_equal(first % CONSOLE_LOG_GRAIN, 0);
	/* The size still counts every byte; the disk holds the rest only. */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, TOTAL);
	assert_true((uint64_t)st.st_blocks * 512 < LIMIT + 2 * CONSOLE_LOG_GRAIN);

	/* Asking for a dropped byte: the answer starts at the first kept. */
	assert_int_equal(console_log_read(fd, 10, buf, sizeof(buf), &start, &len), 0);
	assert_int_equal(start, first);
	assert_int_equal(len, sizeof(buf));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], byte_at(start + i));
	/* A kept offset reads exactly there. */
	assert_int_equal(console_log_read(fd, TOTAL - 5, buf, sizeof(buf), &start, &len), 0);
	assert_int_equal(start, TOTAL - 5);
	assert_int_equal(len, 5);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], byte_at(TOTAL - 5 + i));
	/* Past the end: nothing, at the end. */
	assert_int_equal(console_log_read(fd, TOTAL + 99, buf, sizeof(buf), &start, &len), 0);
	assert_int_equal(start, TOTAL);
	assert_int_equal(len, 0);
	unlink(path);
	close(fd);
}

static void test_small_log_untouched(void **state)
{
	char path[256], buf[64];
	uint64_t start;
	size_t len;
	int fd = temp_log(path, sizeof(path));

	(void)state;
	assert_int_equal(console_log_first(fd), 0);
	assert_int_equal(console_log_read(fd, 0, buf, sizeof(buf), &start, &len), 0);
	assert_int_equal(start, 0);
	assert_int_equal(len, 0);
	write_output(fd, 1000);
	assert_int_equal(console_log_trim(fd, LIMIT), 0);
	assert_int_equal(console_log_trim(fd, 0), 0); /* 0: unbounded */
	assert_int_equal(console_log_first(fd), 0);
	assert_int_equal(console_log_read(fd, 990, buf, sizeof(buf), &start, &len), 0);
	assert_int_equal(start, 990);
	assert_int_equal(len, 10);
	unlink(path);
	close(fd);
}

static void test_copy_keeps_the_hole(void **state)
{
	char from[256], to[256], buf[4096];
	uint64_t first;
	ssize_t n;
	struct stat st;
	int in = temp_log(from, sizeof(from)), out = temp_log(to, sizeof(to));

	(void)state;
	write_output(in, TOTAL);
	if (console_log_trim(in, LIMIT) == -EOPNOTSUPP)
		skip();
	first = console_log_first(in);
	assert_int_equal(console_log_copy_start(in, out), 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, TOTAL);
	assert_int_equal(console_log_first(out), first);
	assert_int_equal(pread(out, buf, 1, (off_t)first), 1);
	assert_int_equal(buf[0], byte_at(first));
	unlink(from);
	unlink(to);
	close(in);
	close(out);
}

static void test_config_console_limit(void **state)
{
	struct vmm_config cfg;
	struct vmm_error err;
	json_t *obj, *back;

	(void)state;
	obj = json_pack("{s:s, s:s, s:i, s:i, s:s, s:I}", "kernel", "/k", "cmdline", "",
			"vcpus", 1, "memory_mib", 64, "console", "/c", "console_limit",
			(json_int_t)LIMIT);
	assert_int_equal(vmm_config_from_json(obj, &cfg, &err), 0);
	assert_int_equal(cfg.console_limit, LIMIT);
	back = vmm_config_to_json(&cfg);
	assert_int_equal(json_integer_value(json_object_get(back, "console_limit")), LIMIT);
	json_decref(back);
	vmm_config_free(&cfg);
	/* Absent: unbounded, as configs written before the key. */
	json_object_del(obj, "console_limit");
	assert_int_equal(vmm_config_from_json(obj, &cfg, &err), 0);
	assert_int_equal(cfg.console_limit, 0);
	vmm_config_free(&cfg);
	json_object_set_new(obj, "console_limit", json_integer(-1));
	assert_true(vmm_config_from_json(obj, &cfg, &err) < 0);
	assert_non_null(strstr(err.detail, "console_limit"));
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim_keeps_offsets),
		cmocka_unit_test(test_small_log_untouched),
		cmocka_unit_test(test_copy_keeps_the_hole),
		cmocka_unit_test(test_config_console_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
