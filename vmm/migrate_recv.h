/*
 * The destination side of a live migration (docs/migration-format.md):
 * one connection accepted on a listening Unix socket, the stream received
 * into fresh anonymous RAM (migrate_stream.h checks it), and the VM built
 * from it as a snapshot restore builds one (vm_create_incoming). The
 * guest does not run until the controller says "resume" (the "go").
 *
 * Any failure (a refused layout, a cut stream, a stop) leaves nothing:
 * the RAM is unmapped, no VM exists, and err says why (step "incoming"
 * or "stream", or the restore step that refused).
 *
 * Controlling thread only; blocks until the stream ended, a stop fd
 * became readable or hung up (a signal, pinvmd gone), or idle_ms passed
 * without a byte.
 */
#ifndef PINVM_VMM_MIGRATE_RECV_H
#define PINVM_VMM_MIGRATE_RECV_H

#include "migrate_stream.h"
#include "vmm_config.h"
#include "vmm_error.h"

struct vm;

int migrate_incoming(const struct vmm_config *cfg, int console_fd, int lfd,
		     const int *stop_fds, unsigned nstop, int idle_ms, struct vm **out,
		     struct migrate_recv_stats *stats, struct vmm_error *err);

#endif
