#include "boot_image.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ_2M (2ULL << 20)
#define SZ_64K (64ULL << 10)
#define BOOT_WINDOW (32ULL << 30) /* initrd and kernel share this window */

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int boot_image_parse(const void *hdr, size_t len, struct boot_image_info *info,
		     struct vmm_error *err)
{
	static const unsigned char magic[4] = { 'A', 'R', 'M', 0x64 };
	const unsigned char *h = hdr;

	memset(info, 0, sizeof(*info));
	if (len < BOOT_IMAGE_HEADER_SIZE || memcmp(h + 56, magic, 4) != 0)
		return vmm_error_set(err, "kernel", ENOEXEC,
				     "not an arm64 Image (no \"ARM\\x64\" magic at offset 56; "
				     "compressed Image.gz and vmlinux ELF are not supported)");
	info->text_offset = le64(h + 8);
	info->image_size = le64(h + 16);
	info->flags = le64(h + 24);
	if (!info->image_size) {
		/* Pre-3.17: text_offset is 0x80000 in the kernel's endianness. */
		info->text_offset = 0x80000;
		info->flags = 0;
	}
	if (info->flags & 1)
		return vmm_error_set(err, "kernel", ENOEXEC,
				     "big-endian kernels are not supported");
	switch ((info->flags >> 1) & 3) {
	case 1: info->page_kib = 4; break;
	case 2: info->page_kib = 16; break;
	case 3: info->page_kib = 64; break;
	default: info->page_kib = 0; break;
	}
	if (info->text_offset >= SZ_2M || info->text_offset % 4096)
		return vmm_error_set(err, "kernel", ENOEXEC,
				     "implausible text_offset 0x%llx",
				     (unsigned long long)info->text_offset);
	return 0;
}

int boot_plan(const struct boot_image_info *img, uint64_t kernel_file_size,
	      uint64_t initrd_size, uint64_t ram_base, uint64_t ram_size,
	      struct boot_layout *out, struct vmm_error *err)
{
	uint64_t span, end, limit;

	memset(out, 0, sizeof(*out));
	if (ram_base % SZ_2M)
		return vmm_error_set(err, "layout", EINVAL,
				     "RAM base 0x%llx is not 2 MiB aligned",
				     (unsigned long long)ram_base);
	limit = ram_size < BOOT_WINDOW ? ram_size : BOOT_WINDOW;
	/* An image_size of 0 says nothing about BSS: leave 32 MiB. */
	span = img->image_size ? img->image_size : kernel_file_size + (32ULL << 20);
	if (span < kernel_file_size)
		span = kernel_file_size;
	out->kernel_addr = ram_base + img->text_offset;
	out->kernel_span = span;
	end = img->text_offset + span;
	if (initrd_size) {
		end = align_up(end, SZ_2M);
		out->initrd_addr = ram_base + end;
		out->initrd_size = initrd_size;
		end += initrd_size;
	}
	end = align_up(end, SZ_64K);
	out->dtb_addr = ram_base + end;
	end += BOOT_DTB_MAX;
	if (end > limit)
		return vmm_error_set(err, "layout", ENOSPC,
				     "kernel (%llu KiB reserved), device tree and initrd "
				     "(%llu KiB) need %llu MiB of RAM, the VM has %llu MiB",
				     (unsigned long long)(span >> 10),
				     (unsigned long long)(initrd_size >> 10),
				     (unsigned long long)((end + (1 << 20) - 1) >> 20),
				     (unsigned long long)(ram_size >> 20));
	return 0;
}

static int read_all(int fd, void *dst, uint64_t size, const char *what,
		    const char *path, struct vmm_error *err)
{
	char *p = dst;

	while (size) {
		size_t chunk = size > (1u << 30) ? (1u << 30) : (size_t)size;
		ssize_t n = read(fd, p, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vmm_error_set(err, what, errno, "reading %s: %s",
					     path, strerror(errno));
		if (n == 0)
			return vmm_error_set(err, what, EIO,
					     "%s shrank while being read", path);
		p += n;
		size -= (uint64_t)n;
	}
	return 0;
}

static int open_regular(const char *path, const char *what, uint64_t *size,
			struct vmm_error *err)
{
	struct stat st;
	int fd;

	/* Defined on every path: the compiler cannot see that the callers
	 * read it only after a descriptor came back (Release builds warn). */
	*size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_error_set(err, what, errno, "open %s: %s", path,
				     strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return vmm_error_set(err, what, e, "fstat %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return vmm_error_set(err, what, EINVAL, "%s is not a regular file", path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int boot_load(const char *kernel_path, const char *initrd_path, void *ram,
	      uint64_t ram_base, uint64_t ram_size, struct boot_layout *out,
	      struct vmm_error *err)
{
	unsigned char hdr[BOOT_IMAGE_HEADER_SIZE];
	struct boot_image_info img;
	uint64_t ksize, isize = 0;
	int kfd, ifd = -1, ret;

	kfd = open_regular(kernel_path, "kernel", &ksize, err);
	if (kfd < 0)
		return kfd;
	if (ksize < sizeof(hdr)) {
		ret = vmm_error_set(err, "kernel", ENOEXEC, "%s is too small for an Image",
				    kernel_path);
		goto out;
	}
	ret = read_all(kfd, hdr, sizeof(hdr), "kernel", kernel_path, err);
	if (ret < 0)
		goto out;
	ret = boot_image_parse(hdr, sizeof(hdr), &img, err);
	if (ret < 0)
		goto out;
	if (initrd_path) {
		ifd = open_regular(initrd_path, "initrd", &isize, err);
		if (ifd < 0) {
			ret = ifd;
			goto out;
		}
		if (!isize) {
			ret = vmm_error_set(err, "initrd", EINVAL, "%s is empty",
					    initrd_path);
			goto out;
		}
	}
	ret = boot_plan(&img, ksize, isize, ram_base, ram_size, out, err);
	if (ret < 0)
		goto out;
	memcpy((char *)ram + (out->kernel_addr - ram_base), hdr, sizeof(hdr));
	ret = read_all(kfd, (char *)ram + (out->kernel_addr - ram_base) + sizeof(hdr),
		       ksize - sizeof(hdr), "kernel", kernel_path, err);
	if (ret < 0)
		goto out;
	if (ifd >= 0)
		ret = read_all(ifd, (char *)ram + (out->initrd_addr - ram_base),
			       isize, "initrd", initrd_path, err);
out:
	if (ifd >= 0)
		close(ifd);
	close(kfd);
	return ret;
}
