#include "console_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FALLOC_FL_PUNCH_HOLE
#include <linux/falloc.h>
#endif

int console_log_trim(int fd, uint64_t limit)
{
	struct stat st;
	uint64_t cut;

	if (!limit || fstat(fd, &st) < 0 || (uint64_t)st.st_size <= limit)
		return 0;
	cut = ((uint64_t)st.st_size - limit) / CONSOLE_LOG_GRAIN * CONSOLE_LOG_GRAIN;
	if (!cut)
		return 0;
	/* From 0 each time: punching a hole again is cheap, and a file
	 * carried over from a snapshot gets bounded too. */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)cut) < 0)
		return -errno;
	return 0;
}

uint64_t console_log_first(int fd)
{
	struct stat st;
	off_t data = lseek(fd, 0, SEEK_DATA);

	if (data >= 0)
		return (uint64_t)data;
	/* ENXIO: no data at all (empty, or every byte dropped). Any other
	 * error: the file system has no SEEK_DATA, so nothing was punched. */
	if (errno == ENXIO && fstat(fd, &st) == 0)
		return (uint64_t)st.st_size;
	return 0;
}

int console_log_read(int fd, uint64_t offset, char *buf, size_t max,
		     uint64_t *start, size_t *len)
{
	uint64_t first = console_log_first(fd), after;
	struct stat st;
	ssize_t n;

	*len = 0;
	if (fstat(fd, &st) == 0 && offset > (uint64_t)st.st_size)
		offset = (uint64_t)st.st_size;
	if (offset < first)
		offset = first;
	do
		n = pread(fd, buf, max, (off_t)offset);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*start = offset;
		return -errno;
	}
	/* A hole punched while we read reads as zeros: the kept start
	 * after the read tells which of the bytes are real. */
	after = console_log_first(fd);
	if (after > offset) {
		uint64_t skip = after - offset;

		if (skip >= (uint64_t)n) {
			*start = after;
			return 0;
		}
		for (size_t i = 0; i + skip < (size_t)n; i++)
			buf[i] = buf[i + skip];
		n -= (ssize_t)skip;
		offset = after;
	}
	*start = offset;
	*len = (size_t)n;
	return 0;
}

int console_log_copy_start(int in, int out)
{
	uint64_t first = console_log_first(in);

	if (!first)
		return 0;
	if (lseek(in, (off_t)first, SEEK_SET) < 0 || ftruncate(out, (off_t)first) < 0 ||
	    lseek(out, (off_t)first, SEEK_SET) < 0)
		return -errno;
	return 0;
}
