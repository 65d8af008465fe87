/*
 * Guest RAM in a snapshot: mem.raw, where file offset N holds guest
 * physical address ram_base + N and all-zero 4 KiB pages are holes.
 *
 * A restore maps the file MAP_PRIVATE|MAP_NORESERVE: pages come in on the
 * guest's first touch and a guest write copies the page, so restore time
 * does not grow with RAM and the file is never written. The file must not
 * change while a VM maps it (snapshots are immutable once listed).
 */
#ifndef PINVM_VMM_GUEST_MEM_H
#define PINVM_VMM_GUEST_MEM_H

#include "vmm_error.h"

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_FILE "mem.raw"
#define GUEST_MEM_PAGE 4096u

/*
 * Creates dir/mem.raw (it must not exist), sized size, with every non-zero
 * page of ram written, and fsyncs it. *data_pages and *bytes say what was
 * written. On failure the file is removed.
 */
int guest_mem_save(const void *ram, uint64_t size, const char *dir,
		   uint64_t *data_pages, uint64_t *bytes, struct vmm_error *err);

/*
 * Maps dir/mem.raw (exactly size bytes) privately at an address aligned
 * to align (a power of two). *alloc (*alloc_size bytes) is the reservation
 * to munmap later; *mapped the aligned guest RAM.
 */
int guest_mem_map(const char *dir, uint64_t size, size_t align, void **alloc,
		  size_t *alloc_size, void **mapped, struct vmm_error *err);

/*
 * Anonymous guest RAM of size bytes (zero, MAP_NORESERVE: pages are
 * allocated as they are written) at an address aligned to align; *alloc
 * and *alloc_size as for guest_mem_map(). A live migration's destination
 * receives RAM into it before the VM exists.
 */
int guest_mem_alloc(uint64_t size, size_t align, void **alloc, size_t *alloc_size,
		    void **mapped, struct vmm_error *err);

#endif
