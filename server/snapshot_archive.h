/*
 * A snapshot as one file (issue 10): a pax tar written and read with
 * libarchive, holding manifest.json first, then vm.json, mem.raw (a GNU
 * sparse 1.0 member: its holes take no room in the archive and stay holes
 * when unpacked) and console.log.
 *
 * Reading trusts nothing: only those four names are taken, each once, as
 * regular files written by pinvmd into a directory it made (never through
 * a path the archive names), so an entry cannot leave it. ".." or "/" in a
 * name, absolute names, links, devices and directories are refused by
 * name before any byte is written. The caller removes the directory on
 * any failure.
 */
#ifndef PINVM_SERVER_SNAPSHOT_ARCHIVE_H
#define PINVM_SERVER_SNAPSHOT_ARCHIVE_H

#include "api_error.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The four files of a snapshot, opened (read-only) by the caller, which
 * hands them over: snapshot_archive_stream() closes them.
 */
struct snapshot_archive_src {
	int fd[4];             /* manifest.json, vm.json, mem.raw, console.log */
};

/* Opens the four files of directory dir into *src. 0 or -errno with err
 * (500 state_error). On failure nothing stays open. */
int snapshot_archive_open(const char *dir, struct snapshot_archive_src *src,
			  struct api_error *err);

/* Closes what src holds. */
void snapshot_archive_close(struct snapshot_archive_src *src);

/*
 * Writes the tar of src to out (a pipe or file; not closed), then closes
 * src's files. Returns 0, or -errno (a reader that went away: -EPIPE).
 * Blocks; run it on its own thread when out is a pipe someone reads.
 */
int snapshot_archive_write(struct snapshot_archive_src *src, int out, char *err,
			   size_t errlen);

/*
 * Unpacks the tar read from fd into the empty directory dir: 0, or -errno
 * with err (field "archive" or "archive.<entry name>"):
 *   422 archive_truncated      the archive ends inside a header or member
 *   422 bad_archive            not a tar libarchive reads
 *   422 archive_entry_escapes  a name with "..", a leading "/" or a "/"
 *   422 archive_entry_not_file a link, directory, device or FIFO
 *   422 archive_unknown_entry  a name that is not one of the four
 *   422 archive_duplicate_entry the same name twice
 *   422 archive_incomplete     a member missing at the end
 *   413 snapshot_too_large     a member larger than max_member bytes
 *   507 insufficient_storage / 500 state_error   writing failed
 */
int snapshot_archive_read(int fd, const char *dir, uint64_t max_member,
			  struct api_error *err);

#endif
