/*
 * pinvmd's side of a snapshot, on files: a 1 GiB mem.raw that is mostly
 * holes (64 MiB of data, as a small guest leaves it), checked with the
 * page digest pinvmd uses and, as the peer measured in the same run, with
 * a plain SHA-256 over its bytes (what the digest replaced); then the
 * archive written (pax, sparse) and read back into a new directory. Prints
 * BENCH lines; never fails on a figure.
 * usage: bench_snapshot_io [MEM_MIB [DATA_MIB]]
 */
#include "snapshot_archive.h"
#include "snapshot_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	unsigned long mem_mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	unsigned long data_mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	char src[] = "/tmp/pinvm-bench-snap-XXXXXX", dst[] = "/tmp/pinvm-bench-snap-XXXXXX";
	char path[512], tar[64], err[256];
	struct snapshot_archive_src as;
	struct snapshot_file f;
	struct api_error aerr = { 0 };
	char *page = malloc(1 << 20);
	struct stat st;
	double t;
	int fd;

	if (!page || !mkdtemp(src) || !mkdtemp(dst))
		return 2;
	for (size_t i = 0; i < 1 << 20; i++)
		page[i] = (char)(i * 131 + 7);
	snprintf(path, sizeof(path), "%s/mem.raw", src);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(mem_mib << 20)) < 0)
		return 2;
	/* Data spread over RAM, 1 MiB at a time, as a guest's pages are. */
	for (unsigned long i = 0; i < data_mib; i++)
		if (pwrite(fd, page, 1 << 20, (off_t)((i * mem_mib / data_mib) << 20)) != 1 << 20)
			return 2;
	fsync(fd);
	close(fd);
	put(src, "manifest.json", "{}\n");
	put(src, "vm.json", "{}\n");
	put(src, "console.log", "tick 1\n");

	t = now();
	snapshot_file_sum(src, "mem.raw", &f, &aerr);
	printf("BENCH snapshot_io sha256_bytes mem=%luMiB data=%luMiB %.3f s (the peer)\n", mem_mib,
	       data_mib, now() - t);
	t = now();
	snapshot_file_sum_pages(src, "mem.raw", &f, &aerr);
	printf("BENCH snapshot_io sha256_pages mem=%luMiB data=%luMiB %.3f s\n", mem_mib, data_mib,
	       now() - t);

	snprintf(tar, sizeof(tar), "%s.tar", dst);
	fd = open(tar, O_RDWR | O_CREAT | O_TRUNC, 0600);
	t = now();
	if (fd < 0 || snapshot_archive_open(src, &as, &aerr) < 0 ||
	    snapshot_archive_write(&as, fd, err, sizeof(err)) < 0)
		return 2;
	fstat(fd, &st);
	printf("BENCH snapshot_io archive_write mem=%luMiB data=%luMiB %.3f s, %lld bytes\n",
	       mem_mib, data_mib, now() - t, (long long)st.st_size);
	lseek(fd, 0, SEEK_SET);
	t = now();
	if (snapshot_archive_read(fd, dst, 1ull << 40, &aerr) < 0) {
		fprintf(stderr, "read: %s\n", aerr.detail);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/mem.raw", dst);
	stat(path, &st);
	printf("BENCH snapshot_io archive_read mem=%luMiB data=%luMiB %.3f s, mem.raw %lld MiB on "
	       "disk\n", mem_mib, data_mib, now() - t, (long long)st.st_blocks * 512 >> 20);
	close(fd);
	unlink(tar);
	snapshot_dir_remove(src);
	snapshot_dir_remove(dst);
	free(page);
	return 0;
}
