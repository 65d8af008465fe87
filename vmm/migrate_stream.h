/*
 * The live-migration stream between two pinvm-vmm processes
 * (docs/migration-format.md is the contract): a fixed header saying the
 * RAM layout, then frames of guest pages sent while the guest runs, then
 * the VM state of the paused guest (vm.json of a snapshot) and an end
 * mark. All integers little-endian.
 *
 * This file is the pure part: the codecs and the receiver's frame loop,
 * over a reader callback, so the unit tests and the fuzz target run it
 * without KVM or sockets. The stream comes from another host (through
 * pinvmd), so the decoder checks every count and page number against the
 * layout the destination expects and names what it refuses.
 *
 * Errors: 0 or a negative errno with err filled (step "incoming" for the
 * receiver, "stream" for codec refusals). Nothing here is shared between
 * threads.
 */
#ifndef PINVM_VMM_MIGRATE_STREAM_H
#define PINVM_VMM_MIGRATE_STREAM_H

#include "vm_state.h"
#include "vmm_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIGRATE_MAGIC "PINVMMIG"
#define MIGRATE_VERSION 1u
#define MIGRATE_PAGE 4096u
#define MIGRATE_HEADER_LEN 48u
#define MIGRATE_FRAME_LEN 16u
#define MIGRATE_MAX_RUN 64u                 /* pages of one PAGES frame */
#define MIGRATE_MAX_STATE (16u << 20)       /* bytes of the STATE frame */

struct migrate_header {
	uint32_t version;
	uint32_t page_size;
	uint64_t ram_base;
	uint64_t ram_size;
	uint32_t vcpus;
};

enum migrate_frame_type {
	MIGRATE_FRAME_PAGES = 1, /* arg: first page; count pages of bytes follow */
	MIGRATE_FRAME_ZERO = 2,  /* arg: first page; count pages are all zero */
	MIGRATE_FRAME_ROUND = 3, /* arg: the round that just ended */
	MIGRATE_FRAME_STATE = 4, /* count: bytes of vm.json that follow */
	MIGRATE_FRAME_END = 5,   /* arg: rounds sent; nothing may follow */
};

struct migrate_frame {
	uint32_t type;
	uint32_t count;
	uint64_t arg;
};

void migrate_header_encode(const struct migrate_header *h,
			   uint8_t out[MIGRATE_HEADER_LEN]);
/* -EPROTO (wrong magic, reserved bits set) or -EPROTONOSUPPORT
 * (another version) with err; else 0. */
int migrate_header_decode(const uint8_t in[MIGRATE_HEADER_LEN],
			  struct migrate_header *h, struct vmm_error *err);

/*
 * The layout check: the destination refuses a stream whose RAM base,
 * size, page size or vCPU count differ from its own configuration
 * (-EINVAL, err naming the field, both values).
 */
int migrate_header_check(const struct migrate_header *got,
			 const struct migrate_header *want, struct vmm_error *err);

void migrate_frame_encode(const struct migrate_frame *f,
			  uint8_t out[MIGRATE_FRAME_LEN]);
/*
 * Decodes and validates one frame header against a RAM of ram_pages
 * pages and what came before (state_seen: a STATE frame was read). The
 * payload size is then migrate_frame_payload(f). -EPROTO with err.
 */
int migrate_frame_decode(const uint8_t in[MIGRATE_FRAME_LEN], uint64_t ram_pages,
			 bool state_seen, struct migrate_frame *f,
			 struct vmm_error *err);
uint64_t migrate_frame_payload(const struct migrate_frame *f);

/* Reads exactly n bytes: 0, -EPIPE at the end of the stream, -errno. */
struct migrate_reader {
	int (*read)(void *ctx, void *buf, size_t n);
	void *ctx;
};

struct migrate_recv_stats {
	uint64_t bytes;      /* all of the stream */
	uint64_t data_pages; /* pages received with bytes (a page may come again) */
	uint64_t zero_pages;
	uint64_t rounds;
};

/*
 * The destination's whole receive: header (checked against want), the
 * frames into ram (want->ram_size bytes, owned by the caller, zero at
 * first), then the state into *st (vm_state_from_json; the caller frees
 * it with vm_state_free on success; nothing is left allocated on
 * failure). A stream that ends before END, a frame out of order or out
 * of range, or a state that does not describe want's layout is refused.
 */
int migrate_recv(const struct migrate_reader *r, const struct migrate_header *want,
		 uint8_t *ram, struct vm_state *st, struct migrate_recv_stats *stats,
		 struct vmm_error *err);

#endif
