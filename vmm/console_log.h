/*
 * The console log on disk: a file of the guest's UART output in which a
 * byte's file offset is its absolute position in the output since the VM
 * was created. It is bounded by punching holes: the writer (pinvm-vmm)
 * keeps at least the newest `limit` bytes and frees the blocks before
 * them, so the file's size keeps counting while its disk use stays about
 * limit + CONSOLE_LOG_GRAIN. Readers (pinvmd) learn where the kept bytes
 * start from the first data offset (SEEK_DATA), so a client resuming at an
 * offset that was dropped is told so instead of being handed zeros.
 *
 * Holes are only ever punched at the front, whole grains at a time.
 * Where the file system cannot punch holes the log is not bounded (the
 * writer says so once on stderr) and readers see every byte.
 *
 * Thread-safe: no state beyond the descriptors, which are borrowed.
 */
#ifndef PINVM_VMM_CONSOLE_LOG_H
#define PINVM_VMM_CONSOLE_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Holes are punched in multiples of this (a multiple of any page size). */
#define CONSOLE_LOG_GRAIN (64 * 1024)

/*
 * Writer side: frees what lies more than limit bytes before the end of
 * fd (limit 0: nothing). 0, or -errno (-EOPNOTSUPP: the file system
 * cannot; the file is left as it was).
 */
int console_log_trim(int fd, uint64_t limit);

/*
 * Reader side: the offset of the oldest kept byte of fd (0 when nothing
 * was dropped; the file's size when the file is all holes or empty).
 */
uint64_t console_log_first(int fd);

/*
 * Reads up to max bytes at offset or, when the bytes there were dropped,
 * from the oldest kept byte on: *start says where the *len bytes in buf
 * begin (*start > offset: offset..*start-1 are gone). An offset past the
 * end is taken as the end (nothing read, *start the size). 0, or -errno
 * from the read.
 */
int console_log_read(int fd, uint64_t offset, char *buf, size_t max,
		     uint64_t *start, size_t *len);

/*
 * For a copy of a log (snapshots): positions in at its oldest kept byte
 * and out (empty, opened for writing) at the same offset, with a hole
 * before it, so the copy keeps absolute offsets without writing the
 * dropped part as zeros. 0, or -errno.
 */
int console_log_copy_start(int in, int out);

#endif
