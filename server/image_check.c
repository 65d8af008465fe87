#include "image_check.h"

#include "boot_image.h"
#include "machine_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The size of path; 0 with err filled when it cannot be read. */
static int file_size(const char *path, const char *field, uint64_t *size,
		     struct api_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return api_fail(err, 500, "image_unreadable", field, "%s: %s", path,
				strerror(errno));
	if (st.st_size == 0)
		return api_fail(err, 422, "image_empty", field, "the %s file is empty", field);
	*size = (uint64_t)st.st_size;
	return 0;
}

int image_check(const char *kernel, const char *initrd, uint64_t memory_mib,
		struct api_error *err)
{
	unsigned char hdr[BOOT_IMAGE_HEADER_SIZE];
	struct boot_image_info info;
	struct boot_layout layout;
	struct vmm_error verr;
	uint64_t ksize = 0, isize = 0;
	ssize_t n;
	int fd, ret;

	ret = file_size(kernel, "kernel", &ksize, err);
	if (!ret && initrd)
		ret = file_size(initrd, "initrd", &isize, err);
	if (ret)
		return ret;
	fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return api_fail(err, 500, "image_unreadable", "kernel", "%s: %s", kernel,
				strerror(errno));
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < 0)
		return api_fail(err, 500, "image_unreadable", "kernel", "%s: %s", kernel,
				strerror(errno));
	if ((size_t)n < sizeof(hdr))
		return api_fail(err, 422, "not_an_image", "kernel",
				"the kernel file has %zd bytes, less than an arm64 Image header",
				n);
	if (boot_image_parse(hdr, sizeof(hdr), &info, &verr) < 0)
		return api_fail(err, 422, "not_an_image", "kernel", "the kernel is %s",
				verr.detail);
	if (boot_plan(&info, ksize, isize, MACHINE_RAM_BASE, memory_mib << 20, &layout,
		      &verr) < 0)
		return api_fail(err, 422, "image_too_big", "memory_mib", "%s", verr.detail);
	return 0;
}
