#include "test_hold.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *hold_dir;
static pthread_once_t hold_once = PTHREAD_ONCE_INIT;

static void hold_dir_read(void)
{
	hold_dir = getenv("PINVM_TEST_HOLD_DIR");
}

void test_hold(const char *point)
{
	const char *dir;
	const struct timespec poll = { .tv_nsec = 20 * 1000 * 1000 };
	char path[4096], arm[4096 + 8], line[32];
	int fd, n;

	/* Read once: some points are on the vCPU's exit path. */
	pthread_once(&hold_once, hold_dir_read);
	dir = hold_dir;
	if (!dir || !*dir)
		return;
	if (snprintf(path, sizeof(path), "%s/%s", dir, point) >= (int)sizeof(path))
		return;
	snprintf(arm, sizeof(arm), "%s.arm", path);
	if (unlink(arm) < 0)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	fprintf(stderr, "test hold: %s (pid %ld) waits for %s to go\n", point, (long)getpid(),
		path);
	/* The test's removal of the file is the event: polled, not timed. */
	while (access(path, F_OK) == 0)
		nanosleep(&poll, NULL);
}
