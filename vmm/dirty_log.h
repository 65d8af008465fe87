/*
 * KVM dirty page logging on the guest RAM slot, for live migration.
 *
 * dirty_log_start() sets KVM_MEM_LOG_DIRTY_PAGES on slot 0; from then on
 * every guest write to a page marks it. dirty_log_fetch() takes the pages
 * marked since the last fetch (or since the start) and re-arms them:
 * with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (Linux 5.3+, every kernel pinvm
 * supports) by KVM_GET_DIRTY_LOG then KVM_CLEAR_DIRTY_LOG of exactly
 * those pages; without it KVM_GET_DIRTY_LOG alone does both. Either way a
 * page written after the fetch returned is in the next fetch, so a page
 * copied after its fetch is never lost.
 *
 * Only the guest writes RAM after vm_start() (pinvm's devices are MMIO
 * without DMA), so the log sees every change.
 *
 * Ownership: struct dirty_log owns its bitmap; dirty_log_stop() frees it
 * and turns logging off. One thread uses it (the migration sender); KVM
 * allows the ioctls while vCPUs run.
 */
#ifndef PINVM_VMM_DIRTY_LOG_H
#define PINVM_VMM_DIRTY_LOG_H

#include "vmm_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct dirty_log {
	struct vm *vm;
	uint64_t pages;    /* of the RAM slot */
	uint64_t *bitmap;  /* the last fetch: one bit per page */
	size_t words;
	bool manual;       /* KVM_CLEAR_DIRTY_LOG in use */
	bool on;
};

int dirty_log_start(struct vm *vm, struct dirty_log *dl, struct vmm_error *err);
/* Fills dl->bitmap with the pages written since the last fetch and
 * *count with how many. */
int dirty_log_fetch(struct dirty_log *dl, uint64_t *count, struct vmm_error *err);
/* Turns logging off (best effort) and frees the bitmap. Idempotent. */
void dirty_log_stop(struct dirty_log *dl);

#endif
