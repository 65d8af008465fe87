#include "guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < GUEST_MEM_PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

static int path_of(char *buf, size_t len, const char *dir, struct vmm_error *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, GUEST_MEM_FILE) >= len)
		return vmm_error_set(err, "snapshot", ENAMETOOLONG, "%s: path too long",
				     dir);
	return 0;
}

/* pwrite all of it, or -errno. */
static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int guest_mem_save(const void *ram, uint64_t size, const char *dir,
		   uint64_t *data_pages, uint64_t *bytes, struct vmm_error *err)
{
	const uint8_t *base = ram;
	char path[PATH_MAX];
	uint64_t off = 0, pages = 0;
	int fd, ret;

	*data_pages = *bytes = 0;
	if ((ret = path_of(path, sizeof(path), dir, err)) < 0)
		return ret;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vmm_error_set(err, "snapshot", errno, "create %s: %s", path,
				     strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Runs of non-zero pages, one pwrite each; zero pages stay holes. */
	while (off < size) {
		uint64_t start;

		while (off < size && page_is_zero(base + off))
			off += GUEST_MEM_PAGE;
		start = off;
		while (off < size && !page_is_zero(base + off))
			off += GUEST_MEM_PAGE;
		if (off > start) {
			ret = write_all(fd, base + start, (size_t)(off - start), start);
			if (ret < 0)
				goto fail;
			pages += (off - start) / GUEST_MEM_PAGE;
		}
	}
	if (fsync(fd) < 0) {
		ret = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	*data_pages = pages;
	*bytes = pages * GUEST_MEM_PAGE;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(path);
	return vmm_error_set(err, "snapshot", -ret, "write %s: %s", path, strerror(-ret));
}

int guest_mem_map(const char *dir, uint64_t size, size_t align, void **alloc,
		  size_t *alloc_size, void **mapped, struct vmm_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	uintptr_t aligned;
	void *m;
	int fd, ret;

	*alloc = *mapped = NULL;
	*alloc_size = 0;
	if ((ret = path_of(path, sizeof(path), dir, err)) < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_error_set(err, "restore", errno, "open %s: %s", path,
				     strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		ret = vmm_error_set(err, "restore", EINVAL,
				    "%s: a regular file of %llu bytes expected (the RAM size)",
				    path, (unsigned long long)size);
		close(fd);
		return ret;
	}
	/* Reserve room to align, then put the file over the aligned part. */
	*alloc_size = (size_t)size + align;
	*alloc = mmap(NULL, *alloc_size, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*alloc == MAP_FAILED) {
		*alloc = NULL;
		ret = vmm_error_sys(err, "mmap guest RAM");
		close(fd);
		return ret;
	}
	aligned = ((uintptr_t)*alloc + align - 1) & ~(uintptr_t)(align - 1);
	m = mmap((void *)aligned, (size_t)size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
	ret = m == MAP_FAILED ? vmm_error_sys(err, "mmap mem.raw") : 0;
	close(fd); /* the mapping keeps the file */
	if (ret < 0) {
		munmap(*alloc, *alloc_size);
		*alloc = NULL;
		*alloc_size = 0;
		return ret;
	}
	*mapped = m;
	return 0;
}

int guest_mem_alloc(uint64_t size, size_t align, void **alloc, size_t *alloc_size,
		    void **mapped, struct vmm_error *err)
{
	*alloc_size = (size_t)size + align;
	*alloc = mmap(NULL, *alloc_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*alloc == MAP_FAILED) {
		*alloc = *mapped = NULL;
		*alloc_size = 0;
		return vmm_error_sys(err, "mmap guest RAM");
	}
	*mapped = (void *)(((uintptr_t)*alloc + align - 1) & ~(uintptr_t)(align - 1));
	return 0;
}
