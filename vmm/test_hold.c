#include "test_hold.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void test_hold(const char *point)
{
	const char *dir = getenv("PINVM_TEST_HOLD_DIR");
	const struct timespec poll = { .tv_nsec = 20 * 1000 * 1000 };
	char path[4096], arm[4096 + 8], line[32];
	int fd, n;

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
