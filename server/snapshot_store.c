#include "snapshot_store.h"

#include "log.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_CHUNK (1u << 20)

static int join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int state_fail(struct api_error *err, const char *what, const char *path, int e)
{
	api_fail(err, e == ENOSPC ? 507 : 500, e == ENOSPC ? "insufficient_storage" : "state_error",
		 "", "%s %s: %s", what, path, strerror(e));
	return -e;
}

int snapshot_root(const char *state_dir, char *out, size_t len)
{
	return join(out, len, state_dir, "snapshots");
}

int snapshot_dir(const char *state_dir, const char *id, char *out, size_t len)
{
	char root[PATH_MAX];
	int ret;

	if (!snapshot_id_valid(id))
		return -EINVAL;
	ret = snapshot_root(state_dir, root, sizeof(root));
	return ret ? ret : join(out, len, root, id);
}

int snapshot_tmp_dir(const char *state_dir, char *out, size_t len, struct api_error *err)
{
	char root[PATH_MAX];

	if (snapshot_root(state_dir, root, sizeof(root)) < 0 ||
	    join(out, len, root, ".tmp-XXXXXX") < 0)
		return api_fail(err, 500, "state_error", "", "state directory path too long");
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return state_fail(err, "cannot create", root, errno);
	if (!mkdtemp(out))
		return state_fail(err, "cannot create a directory in", root, errno);
	return 0;
}

int snapshot_dir_remove(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (!dir || !*dir)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			ret = -errno;
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		ret = -errno;
	return ret;
}

int snapshot_sweep(const char *state_dir, struct store *s)
{
	char root[PATH_MAX], path[PATH_MAX * 2], serr[256];
	struct dirent *de;
	DIR *d;

	if (snapshot_root(state_dir, root, sizeof(root)) < 0)
		return -ENAMETOOLONG;
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return -errno;
	d = opendir(root);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		bool tmp = !strncmp(de->d_name, ".tmp-", 5);
		json_t *doc = NULL;

		if (!tmp && !snapshot_id_valid(de->d_name))
			continue;
		/* A directory renamed into place whose row never came: its
		 * pinvmd died between the two, and nothing ever listed it. */
		if (!tmp && (!s || store_snapshot_get(s, de->d_name, &doc, serr, sizeof(serr)) !=
					   -ENOENT)) {
			json_decref(doc);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		log_msg(LOG_INFO, "removing unfinished snapshot %s", path);
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			snapshot_dir_remove(path);
		unlink(path); /* an upload's file */
	}
	closedir(d);
	return 0;
}

/* Feeds n zero bytes (a hole) to the hash without reading anything. */
static int hash_zeros(gnutls_hash_hd_t h, uint64_t n)
{
	static const unsigned char zeros[65536];

	while (n) {
		size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;

		if (gnutls_hash(h, zeros, k) < 0)
			return -EIO;
		n -= k;
	}
	return 0;
}

/* Feeds one read chunk at file offset pos to the digest: every byte (the
 * plain SHA-256), or each non-zero page prefixed by its number, little
 * endian (the page digest). -EIO if GnuTLS fails. */
static int digest_chunk(gnutls_hash_hd_t h, bool pages, const char *buf, size_t n, off_t pos)
{
	static const char zero[4096];

	if (!pages)
		return gnutls_hash(h, buf, n) < 0 ? -EIO : 0;
	for (size_t o = 0; o < n; o += 4096) {
		size_t k = n - o < 4096 ? n - o : 4096;
		uint64_t page = ((uint64_t)pos + o) / 4096;
		unsigned char le[8];

		if (!memcmp(buf + o, zero, k))
			continue;
		for (int b = 0; b < 8; b++)
			le[b] = (unsigned char)(page >> (8 * b));
		if (gnutls_hash(h, le, sizeof(le)) < 0 || gnutls_hash(h, buf + o, k) < 0)
			return -EIO;
	}
	return 0;
}

/* Both digests walk the file's data extents (SEEK_DATA/SEEK_HOLE) so that
 * a mostly-hole mem.raw costs what its data costs; the plain digest hashes
 * the holes as zeros without reading them, the page digest skips them. */
static int digest_file(const char *dir, const char *name, bool pages, struct snapshot_file *out,
		       struct api_error *err)
{
	char path[PATH_MAX];
	unsigned char digest[32];
	gnutls_hash_hd_t h;
	struct stat st;
	char *buf = NULL;
	off_t pos = 0;
	int fd, ret = 0;

	if (join(path, sizeof(path), dir, name) < 0)
		return api_fail(err, 500, "state_error", "", "path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = state_fail(err, "cannot read", path, fd < 0 ? errno : EINVAL);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	buf = malloc(IO_CHUNK);
	if (!buf || gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
		free(buf);
		close(fd);
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	}
	while (pos < st.st_size && !ret) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0) /* only holes from here on, or no SEEK_DATA: read all */
			data = errno == ENXIO ? st.st_size : pos;
		if (data > pos && !pages)
			ret = hash_zeros(h, (uint64_t)(data - pos));
		/* The page digest takes whole pages: an extent's first page may
		 * begin before it (but never again one already hashed). */
		if (pages && (data & ~(off_t)4095) > pos)
			pos = data & ~(off_t)4095;
		else if (!pages)
			pos = data;
		if (data >= st.st_size || ret)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || hole > st.st_size)
			hole = st.st_size;
		while (pos < hole && !ret) {
			size_t want = (size_t)(hole - pos) > IO_CHUNK ? IO_CHUNK : (size_t)(hole - pos);
			ssize_t n = pread(fd, buf, want, pos);

			if (n <= 0)
				ret = state_fail(err, "cannot read", path, n < 0 ? errno : EIO);
			else if (!(ret = digest_chunk(h, pages, buf, (size_t)n, pos)))
				pos += n;
		}
	}
	gnutls_hash_deinit(h, digest);
	free(buf);
	close(fd);
	if (ret < 0) {
		if (ret == -EIO && !err->code[0])
			api_fail(err, 500, "internal_error", "", "digest of %s failed", path);
		return ret;
	}
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(out->sha256 + 2 * i, 3, "%02x", digest[i]);
	out->size = (uint64_t)st.st_size;
	return 0;
}

int snapshot_file_sum(const char *dir, const char *name, struct snapshot_file *out,
		      struct api_error *err)
{
	return digest_file(dir, name, false, out, err);
}

int snapshot_file_sum_pages(const char *dir, const char *name, struct snapshot_file *out,
			    struct api_error *err)
{
	return digest_file(dir, name, true, out, err);
}

int snapshot_kind_sum(const char *dir, enum snapshot_file_kind k, struct snapshot_file *out,
		      struct api_error *err)
{
	return k == SNAPSHOT_FILE_MEM_RAW
		       ? snapshot_file_sum_pages(dir, snapshot_file_names[k], out, err)
		       : snapshot_file_sum(dir, snapshot_file_names[k], out, err);
}

int snapshot_write_manifest(const char *dir, const json_t *doc, struct snapshot_file *sum,
			    struct api_error *err)
{
	char path[PATH_MAX];
	int fd, e = 0;

	if (join(path, sizeof(path), dir, SNAPSHOT_MANIFEST_NAME) < 0)
		return api_fail(err, 500, "state_error", "", "path too long");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return state_fail(err, "cannot create", path, errno);
	errno = 0;
	if (json_dumpfd(doc, fd, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0 ||
	    write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		e = errno ? errno : EIO;
	close(fd);
	if (e)
		return state_fail(err, "cannot write", path, e);
	return snapshot_file_sum(dir, SNAPSHOT_MANIFEST_NAME, sum, err);
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int snapshot_commit(const char *tmp, const char *final, struct api_error *err)
{
	char path[PATH_MAX * 2], parent[PATH_MAX];
	const char *slash = strrchr(final, '/');
	struct dirent *de;
	DIR *d = opendir(tmp);
	int ret;

	if (!d)
		return state_fail(err, "cannot open", tmp, errno);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmp, de->d_name);
		ret = fsync_path(path, O_RDONLY);
		if (ret < 0) {
			closedir(d);
			return state_fail(err, "cannot sync", path, -ret);
		}
	}
	closedir(d);
	ret = fsync_path(tmp, O_RDONLY | O_DIRECTORY);
	if (ret < 0)
		return state_fail(err, "cannot sync", tmp, -ret);
	/* renameat2(RENAME_NOREPLACE): an import of an id already here must
	 * not replace the directory a restored VM maps. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return api_fail(err, 409, "snapshot_exists", "id",
					"a snapshot with this id is stored already");
		return state_fail(err, "cannot rename to", final, errno);
	}
	if (slash && (size_t)(slash - final) < sizeof(parent)) {
		memcpy(parent, final, (size_t)(slash - final));
		parent[slash - final] = '\0';
		fsync_path(parent, O_RDONLY | O_DIRECTORY);
	}
	return 0;
}

int snapshot_read_vm_json(const char *dir, json_t **out, struct api_error *err)
{
	char path[PATH_MAX];
	json_error_t jerr;

	*out = NULL;
	if (join(path, sizeof(path), dir, "vm.json") < 0)
		return api_fail(err, 500, "state_error", "", "path too long");
	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return api_fail(err, 422, "bad_snapshot", "vm.json", "vm.json: %s (line %d)",
				jerr.text, jerr.line);
	return 0;
}

int snapshot_load(const char *dir, bool verify, struct snapshot_manifest *m,
		  char manifest_sum[65], uint64_t *size_bytes, struct api_error *err)
{
	char path[PATH_MAX];
	struct snapshot_file msum;
	json_error_t jerr;
	uint64_t total;
	json_t *doc;
	int ret;

	memset(m, 0, sizeof(*m));
	if (join(path, sizeof(path), dir, SNAPSHOT_MANIFEST_NAME) < 0)
		return api_fail(err, 500, "state_error", "", "path too long");
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return api_fail(err, 422, "bad_snapshot", "manifest", "manifest.json: %s (line %d)",
				jerr.text, jerr.line);
	ret = snapshot_manifest_parse(doc, m, err);
	json_decref(doc);
	if (ret < 0)
		return ret;
	ret = snapshot_file_sum(dir, SNAPSHOT_MANIFEST_NAME, &msum, err);
	if (ret < 0)
		goto fail;
	memcpy(manifest_sum, msum.sha256, 65);
	total = msum.size;
	for (size_t i = 0; i < SNAPSHOT_NFILES; i++) {
		struct snapshot_file f;
		char field[48];

		snprintf(field, sizeof(field), "files.%s", snapshot_file_names[i]);
		if (!verify) {
			total += m->files[i].size;
			continue;
		}
		ret = snapshot_kind_sum(dir, (enum snapshot_file_kind)i, &f, err);
		if (ret < 0)
			goto fail;
		if (f.size != m->files[i].size) {
			ret = api_fail(err, 422, "size_mismatch", field,
				       "%s is %llu bytes; the manifest says %llu",
				       snapshot_file_names[i], (unsigned long long)f.size,
				       (unsigned long long)m->files[i].size);
			goto fail;
		}
		if (strcmp(f.sha256, m->files[i].sha256)) {
			ret = api_fail(err, 422, "checksum_mismatch", field,
				       "%s has %s %s; the manifest says %s", snapshot_file_names[i],
				       snapshot_digest_key((enum snapshot_file_kind)i), f.sha256,
				       m->files[i].sha256);
			goto fail;
		}
		total += f.size;
	}
	if (size_bytes)
		*size_bytes = total;
	return 0;
fail:
	snapshot_manifest_clear(m);
	return ret;
}
