/*
 * Loading an arm64 Linux kernel per Documentation/arch/arm64/booting.rst:
 * the uncompressed Image with its 64-byte header, an optional initrd, and
 * a slot for the device tree, laid out in guest RAM.
 *
 * Layout (all inside RAM, which starts 2 MiB aligned):
 *   ram_base + text_offset           the Image (entry point), image_size
 *                                    bytes reserved (file size if larger)
 *   next 2 MiB boundary after it     the initrd, when there is one
 *   next 64 KiB boundary after that  the device tree (BOOT_DTB_MAX kept
 *                                    free for it)
 * The device tree shares the last 2 MiB block of the initrd (else of the
 * kernel's reservation): guest RAM is backed by transparent huge pages,
 * and a block of its own cost a whole huge page touched, zeroed on the
 * create path, for a few KiB (issue 16: 4 MiB more RAM touched than
 * kvmtool's guest). 64 KiB apart from the initrd: a guest of 64 KiB
 * pages frees the initrd by pages, and must not free the tree with it.
 * Everything stays within 32 GiB of the 1 GiB aligned RAM base, the window
 * the boot protocol requires the initrd to share with the kernel.
 *
 * No KVM here: the caller owns RAM (a host mapping of guest memory) and
 * starts the vCPU at kernel_addr with x0 = dtb_addr.
 */
#ifndef PINVM_VMM_BOOT_IMAGE_H
#define PINVM_VMM_BOOT_IMAGE_H

#include "vmm_error.h"

#include <stddef.h>
#include <stdint.h>

#define BOOT_IMAGE_HEADER_SIZE 64
#define BOOT_DTB_MAX (2ULL << 20)

struct boot_image_info {
	uint64_t text_offset; /* from the header; 0x80000 if image_size is 0 */
	uint64_t image_size;  /* from the header; 0 on pre-3.17 kernels */
	uint64_t flags;
	unsigned page_kib;    /* 4, 16, 64, or 0 when unspecified */
};

struct boot_layout {
	uint64_t kernel_addr;  /* guest physical; the entry point */
	uint64_t kernel_span;  /* bytes reserved from kernel_addr */
	uint64_t dtb_addr;     /* guest physical, 64 KiB aligned */
	uint64_t initrd_addr;  /* guest physical; 0 with no initrd */
	uint64_t initrd_size;
};

/*
 * Decodes an Image header (len >= BOOT_IMAGE_HEADER_SIZE bytes). -ENOEXEC
 * for a file that is not an arm64 Image (magic "ARM\x64" at offset 56) or
 * is a big-endian kernel.
 */
int boot_image_parse(const void *hdr, size_t len, struct boot_image_info *info,
		     struct vmm_error *err);

/*
 * Computes where everything goes. -ENOSPC when kernel, device tree slot and
 * initrd do not fit in RAM; -EINVAL for a RAM base that is not 2 MiB aligned.
 */
int boot_plan(const struct boot_image_info *img, uint64_t kernel_file_size,
	      uint64_t initrd_size, uint64_t ram_base, uint64_t ram_size,
	      struct boot_layout *out, struct vmm_error *err);

/*
 * Reads the kernel (and initrd, if initrd_path is not NULL) into ram, the
 * host mapping of guest RAM [ram_base, ram_base + ram_size), and fills out.
 */
int boot_load(const char *kernel_path, const char *initrd_path, void *ram,
	      uint64_t ram_base, uint64_t ram_size, struct boot_layout *out,
	      struct vmm_error *err);

#endif
