/*
 * Whether a kernel and initrd can boot in a VM of a given size, judged
 * before any process is spawned: the same header rules and RAM layout
 * pinvm-vmm uses (vmm/boot_image.h), so a bad image is the user's error
 * (422 naming the field and the reason), never a failed VMM (500).
 */
#ifndef PINVM_SERVER_IMAGE_CHECK_H
#define PINVM_SERVER_IMAGE_CHECK_H

#include "api_error.h"

#include <stdint.h>

/*
 * kernel and initrd (NULL: none) are resolved paths of regular files.
 * 0, or -EINVAL with err: 422 image_empty (an empty file), 422
 * not_an_image (the kernel is no arm64 little-endian Image), 422
 * image_too_big (kernel, device tree and initrd do not fit in
 * memory_mib; field "memory_mib"); 500 image_unreadable. Reads 64 bytes.
 */
int image_check(const char *kernel, const char *initrd, uint64_t memory_mib,
		struct api_error *err);

#endif
