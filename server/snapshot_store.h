/*
 * Stored snapshots on disk (issue 10): STATE/snapshots/ID/ holds
 * manifest.json, vm.json, mem.raw (sparse) and console.log, unpacked, so a
 * restore maps mem.raw from there. A directory is built under a temporary
 * name (STATE/snapshots/.tmp-*), synced, renamed into place, and only then
 * given its row in the store: a listed snapshot is always complete. Its
 * files are never written again until DELETE removes the row, then the
 * directory.
 *
 * Start-up (snapshot_sweep) removes every .tmp-* leftover and every
 * directory without a row (a pinvmd killed between rename and insert).
 *
 * Errors are struct api_error (500 state_error with the path and errno,
 * 422 for a snapshot that does not hold together). Thread-safe: no shared
 * state; two requests never write the same directory (ids are random,
 * temporary names mkdtemp's).
 */
#ifndef PINVM_SERVER_SNAPSHOT_STORE_H
#define PINVM_SERVER_SNAPSHOT_STORE_H

#include "api_error.h"
#include "snapshot_manifest.h"

#include <stddef.h>
#include <stdint.h>

struct store;

/* STATE/snapshots into out; 0 or -ENAMETOOLONG. */
int snapshot_root(const char *state_dir, char *out, size_t len);

/* STATE/snapshots/ID; id must be snapshot_id_valid(). 0, -EINVAL, -ENAMETOOLONG. */
int snapshot_dir(const char *state_dir, const char *id, char *out, size_t len);

/* Creates STATE/snapshots (if needed) and a new empty STATE/snapshots/.tmp-XXXXXX
 * (mode 0700) into out. 0 or -errno with err. */
int snapshot_tmp_dir(const char *state_dir, char *out, size_t len, struct api_error *err);

/* Removes dir and the plain files in it (a snapshot directory has no
 * subdirectories); NULL or "" is a no-op. 0 or -errno. */
int snapshot_dir_remove(const char *dir);

/* The start-up sweep above; s may be NULL (then only .tmp-* go). Logs
 * what it removes. 0 or -errno when STATE/snapshots cannot be made. */
int snapshot_sweep(const char *state_dir, struct store *s);

/* SHA-256 (lowercase hex) and apparent size of dir/name. Holes are read
 * as zeros without reading them. 0 or -errno with err. */
int snapshot_file_sum(const char *dir, const char *name, struct snapshot_file *out,
		      struct api_error *err);

/* The page digest of dir/name (snapshot_manifest.h: mem.raw's
 * "sha256_pages"): holes are skipped unread. Same returns. */
int snapshot_file_sum_pages(const char *dir, const char *name, struct snapshot_file *out,
			    struct api_error *err);

/* The digest file kind k is checked with (snapshot_digest_key()). */
int snapshot_kind_sum(const char *dir, enum snapshot_file_kind k, struct snapshot_file *out,
		      struct api_error *err);

/* Writes doc as dir/manifest.json, synced; *sum gets its sha256 and size. */
int snapshot_write_manifest(const char *dir, const json_t *doc, struct snapshot_file *sum,
			    struct api_error *err);

/* fsyncs every file of tmp and tmp itself, renames it to final (which must
 * not exist: -EEXIST, 409 snapshot_exists) and fsyncs the parent. */
int snapshot_commit(const char *tmp, const char *final, struct api_error *err);

/*
 * Reads and validates dir/manifest.json into *m (snapshot_manifest_clear
 * it), with the manifest's own sha256 into manifest_sum. With verify,
 * every other file's sha256 and size must match the manifest (422
 * checksum_mismatch / size_mismatch, field "files.<name>"). *size_bytes
 * (may be NULL) gets the four files' apparent sizes together.
 */
int snapshot_load(const char *dir, bool verify, struct snapshot_manifest *m,
		  char manifest_sum[65], uint64_t *size_bytes, struct api_error *err);

/* Reads dir/vm.json into *out (new reference). 0 or -errno with err
 * (422 bad_snapshot when it is not JSON). */
int snapshot_read_vm_json(const char *dir, json_t **out, struct api_error *err);

#endif
