#include "snapshot_archive.h"

#include "snapshot_manifest.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_CHUNK (1u << 20)
#define NMEMBERS 4

/* Archive order: the manifest first, so a reader learns the format first. */
static const char *member_name(size_t i)
{
	return i == 0 ? SNAPSHOT_MANIFEST_NAME : snapshot_file_names[i - 1];
}

int snapshot_archive_open(const char *dir, struct snapshot_archive_src *src,
			  struct api_error *err)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < NMEMBERS; i++)
		src->fd[i] = -1;
	for (size_t i = 0; i < NMEMBERS; i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, member_name(i));

		if (n < 0 || (size_t)n >= sizeof(path))
			errno = ENAMETOOLONG;
		else
			src->fd[i] = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (src->fd[i] < 0) {
			api_fail(err, 500, "state_error", "", "cannot open %s: %s", path,
				 strerror(errno));
			snapshot_archive_close(src);
			return -EIO;
		}
	}
	return 0;
}

void snapshot_archive_close(struct snapshot_archive_src *src)
{
	for (size_t i = 0; i < NMEMBERS; i++) {
		if (src->fd[i] >= 0)
			close(src->fd[i]);
		src->fd[i] = -1;
	}
}

/* Declares fd's data extents as the entry's sparse map; false when the
 * file has no holes (then it is an ordinary member). */
static bool sparse_map(int fd, off_t size, struct archive_entry *e)
{
	off_t pos = 0;
	bool holes = false;

	while (pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno != ENXIO)
				return false; /* no SEEK_DATA here: write it whole */
			holes = true;
			break;
		}
		if (data > pos)
			holes = true;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		archive_entry_sparse_add_entry(e, data, hole - data);
		pos = hole;
	}
	if (!holes)
		archive_entry_sparse_clear(e);
	else if (pos == 0)
		archive_entry_sparse_add_entry(e, size, 0); /* all hole */
	return holes;
}

/* The member's bytes in order; a hole is handed over as zeros from a
 * static buffer, which the pax writer skips without writing. */
static int write_body(struct archive *a, int fd, off_t size, char *buf)
{
	static const char zeros[65536];
	off_t pos = 0;

	while (pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0)
			data = errno == ENXIO ? size : pos;
		while (pos < data) {
			size_t k = (size_t)(data - pos) > sizeof(zeros) ? sizeof(zeros)
									: (size_t)(data - pos);

			if (archive_write_data(a, zeros, k) < 0)
				return -EIO;
			pos += (off_t)k;
		}
		if (pos >= size)
			break;
		hole = lseek(fd, pos, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		while (pos < hole) {
			size_t want = (size_t)(hole - pos) > IO_CHUNK ? IO_CHUNK : (size_t)(hole - pos);
			ssize_t n = pread(fd, buf, want, pos);

			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			if (archive_write_data(a, buf, (size_t)n) < 0)
				return -EIO;
			pos += n;
		}
	}
	return 0;
}

int snapshot_archive_write(struct snapshot_archive_src *src, int out, char *err,
			   size_t errlen)
{
	struct archive *a = archive_write_new();
	char *buf = malloc(IO_CHUNK);
	int ret = 0;

	if (!a || !buf) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	if (archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s", archive_error_string(a));
		ret = -EIO;
		goto out;
	}
	for (size_t i = 0; i < NMEMBERS && !ret; i++) {
		struct archive_entry *e = archive_entry_new();
		struct stat st;

		if (!e || fstat(src->fd[i], &st) < 0) {
			archive_entry_free(e);
			ret = -EIO;
			break;
		}
		archive_entry_set_pathname(e, member_name(i));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, st.st_size);
		archive_entry_set_mtime(e, st.st_mtime, 0);
		sparse_map(src->fd[i], st.st_size, e);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			ret = -EIO;
		else
			ret = write_body(a, src->fd[i], st.st_size, buf);
		archive_entry_free(e);
	}
	if (!ret && archive_write_close(a) != ARCHIVE_OK)
		ret = -EIO;
	if (ret < 0)
		snprintf(err, errlen, "%s", archive_error_string(a) ? archive_error_string(a)
								    : strerror(-ret));
out:
	if (a)
		archive_write_free(a);
	free(buf);
	snapshot_archive_close(src);
	return ret;
}

/* Which of the four an entry is, refusing any other shape of name. */
static int classify(const char *name, struct api_error *err)
{
	char field[96];

	snprintf(field, sizeof(field), "archive.%.80s", name ? name : "");
	if (!name || !*name)
		return api_fail(err, 422, "bad_archive", "archive", "an entry without a name");
	if (name[0] == '/' || strstr(name, "..") || strchr(name, '/'))
		return api_fail(err, 422, "archive_entry_escapes", field,
				"entry \"%.80s\" would leave the snapshot's directory "
				"(absolute, \"..\" or a subdirectory)", name);
	for (size_t i = 0; i < NMEMBERS; i++)
		if (!strcmp(name, member_name(i)))
			return (int)i;
	return api_fail(err, 422, "archive_unknown_entry", field,
			"entry \"%.80s\" is not part of a snapshot (manifest.json, vm.json, "
			"mem.raw, console.log)", name);
}

static int read_fail(struct archive *a, struct api_error *err)
{
	const char *msg = archive_error_string(a);

	if (msg && (strstr(msg, "runcated") || strstr(msg, "premature") ||
		    strstr(msg, "end of file") || strstr(msg, "EOF")))
		return api_fail(err, 422, "archive_truncated", "archive",
				"the archive ends early: %s", msg);
	return api_fail(err, 422, "bad_archive", "archive", "not a readable tar: %s",
			msg ? msg : "unknown error");
}

static bool all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* Writes len bytes at off, leaving every all-zero 4 KiB page unwritten: a
 * hole, whether or not the archive declared it (a plain tar of a RAM image
 * stores its zeros). 0 or -errno. */
static int write_sparse(int fd, const char *p, size_t len, off_t off)
{
	while (len) {
		size_t k = 4096 - (size_t)(off % 4096);

		if (k > len)
			k = len;
		if (!all_zero(p, k)) {
			for (size_t done = 0; done < k;) {
				ssize_t n = pwrite(fd, p + done, k - done, off + (off_t)done);

				if (n <= 0)
					return n < 0 ? -errno : -EIO;
				done += (size_t)n;
			}
		}
		p += k;
		off += (off_t)k;
		len -= k;
	}
	return 0;
}

/* One member's data into dir/name, holes left as holes. */
static int extract(struct archive *a, struct archive_entry *e, const char *dir,
		   const char *name, uint64_t max_member, struct api_error *err)
{
	char path[PATH_MAX];
	const void *buf;
	size_t len;
	la_int64_t off;
	int64_t size = archive_entry_size(e);
	int fd, r, r2, ret = 0;

	if (size < 0 || (uint64_t)size > max_member)
		return api_fail(err, 413, "snapshot_too_large", "archive", "entry %s is %lld bytes; "
				"at most %llu", name, (long long)size, (unsigned long long)max_member);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return api_fail(err, 500, "state_error", "", "cannot create %s: %s", path,
				strerror(errno));
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off + len > (uint64_t)size) {
			ret = api_fail(err, 422, "bad_archive", "archive",
				       "entry %s has data past its size", name);
			break;
		}
		r2 = write_sparse(fd, buf, len, (off_t)off);
		if (r2 < 0) {
			ret = api_fail(err, r2 == -ENOSPC ? 507 : 500,
				       r2 == -ENOSPC ? "insufficient_storage" : "state_error", "",
				       "writing %s: %s", path, strerror(-r2));
			break;
		}
		if (ret)
			break;
	}
	if (!ret && r != ARCHIVE_EOF)
		ret = read_fail(a, err);
	/* The trailing hole, if any: the size the entry declared. */
	if (!ret && ftruncate(fd, (off_t)size) < 0)
		ret = api_fail(err, errno == ENOSPC ? 507 : 500, "state_error", "", "%s: %s", path,
			       strerror(errno));
	close(fd);
	return ret;
}

int snapshot_archive_read(int fd, const char *dir, uint64_t max_member,
			  struct api_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool seen[NMEMBERS] = { false };
	int r, ret = 0;

	if (!a)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		ret = read_fail(a, err);
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		int i = classify(name, err);

		if (i < 0) {
			ret = i;
			goto out;
		}
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
		    archive_entry_symlink(e)) {
			ret = api_fail(err, 422, "archive_entry_not_file", "archive",
				       "entry %s is not a regular file (a link, directory or "
				       "device)", name);
			goto out;
		}
		if (seen[i]) {
			ret = api_fail(err, 422, "archive_duplicate_entry", "archive",
				       "entry %s comes twice", name);
			goto out;
		}
		seen[i] = true;
		ret = extract(a, e, dir, name, max_member, err);
		if (ret < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		ret = read_fail(a, err);
		goto out;
	}
	for (size_t i = 0; i < NMEMBERS; i++)
		if (!seen[i]) {
			ret = api_fail(err, 422, "archive_incomplete", "archive",
				       "the archive has no %s", member_name(i));
			goto out;
		}
out:
	archive_read_free(a);
	return ret < 0 ? ret : 0;
}
