/*
 * --listen tcp:HOST:0 and --ready-file (server/listen.c,
 * server/ready_file.c): port 0 binds a free port that info.bound names, a
 * bound address is told back exactly, and the ready file holds one line
 * per address, appears whole (a rename), replaces an old one, and leaves
 * nothing behind when it cannot be written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "listen.h"
#include "ready_file.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_port_zero(void **state)
{
	struct listen_opts opts = { .mode = 0660 };
	struct listen_info info;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char err[256], want[64];
	int fd;

	(void)state;
	fd = listen_open("tcp:127.0.0.1:0", &opts, &info, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(info.is_loopback);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_not_equal(ntohs(sa.sin_port), 0);
	snprintf(want, sizeof(want), "tcp:127.0.0.1:%u", ntohs(sa.sin_port));
	assert_string_equal(info.bound, want);
	close(fd);
}

static void test_port_refusals(void **state)
{
	struct listen_opts opts = { .mode = 0660 };
	struct listen_info info;
	char err[256];

	(void)state;
	assert_int_equal(listen_open("tcp:127.0.0.1:65536", &opts, &info, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(listen_open("tcp:127.0.0.1:000000", &opts, &info, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(listen_open("tcp:127.0.0.1:", &opts, &info, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad tcp address"));
}

static void test_ready_file(void **state)
{
	char dir[] = "/tmp/pinvm-ready-XXXXXX", path[128], line[128], err[256];
	const char *lines[] = { "tcp:127.0.0.1:41234", "unix:/run/pinvm/pinvmd.sock" };
	FILE *f;
	DIR *d;
	struct dirent *de;
	unsigned n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("stale\n", f);
	fclose(f);
	assert_int_equal(ready_file_write(path, lines, 2, err, sizeof(err)), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "tcp:127.0.0.1:41234\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "unix:/run/pinvm/pinvmd.sock\n");
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* Nothing but the file itself: the temporary one was renamed. */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	unlink(path);

	/* A directory that is not there: an error naming the file. */
	snprintf(path, sizeof(path), "%s/no/ready", dir);
	assert_int_equal(ready_file_write(path, lines, 1, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "--ready-file"));
	assert_int_equal(rmdir(dir), 0); /* and nothing left in it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_zero),
		cmocka_unit_test(test_port_refusals),
		cmocka_unit_test(test_ready_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
