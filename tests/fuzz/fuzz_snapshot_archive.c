/*
 * snapshot_archive_read() (server/snapshot_archive.c, libarchive) on
 * arbitrary bytes: a snapshot archive uploaded from outside. Whatever the
 * input, it never writes outside its directory, and on success the
 * directory holds exactly the four members; on failure the error is a
 * 4xx/5xx problem with a code.
 */
#include "fuzz_common.h"

#include "snapshot_archive.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int count_and_clean(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	FUZZ_CHECK(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			n++;
			FUZZ_CHECK(unlinkat(dirfd(d), de->d_name, 0) == 0);
		}
	closedir(d);
	return n;
}

static char dir[64];

/* Every run emptied it; leave no directory behind either. */
static void remove_dir(void)
{
	rmdir(dir);
}

int fuzz_run(const uint8_t *data, size_t size)
{
	struct api_error err = { 0 };
	int fd, ret, n;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/pinvm-fuzz-archive-XXXXXX");
		FUZZ_CHECK(mkdtemp(dir));
		atexit(remove_dir);
	}
	fd = memfd_create("archive", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	/* Members up to 64 MiB apparent: sparse ones cost no disk. */
	ret = snapshot_archive_read(fd, dir, 64u << 20, &err);
	close(fd);
	n = count_and_clean(dir);
	if (ret == 0) {
		FUZZ_CHECK(n == 4);
	} else {
		FUZZ_CHECK(err.status >= 400 && err.status < 600);
		FUZZ_CHECK(err.code[0]);
		FUZZ_CHECK(n <= 4);
	}
	return ret == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
