#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	char path[4096];
	/* Set (under lock) when a stored row turns out unreadable at run
	 * time; store_ping reports it, so readiness says what is wrong. */
	char damage[512];
	unsigned nprofiles;     /* rows in profiles, counted at open */
	unsigned max_profiles;  /* 0: no cap */
	/* VM record puts waiting for the next group commit (store_vm_put). */
	pthread_mutex_t put_lock;
	pthread_cond_t put_done;
	struct vm_put *put_head, **put_tail;
	bool put_leader;        /* a thread is committing a batch */
};

/* One caller's put, on its stack until done. */
struct vm_put {
	const char *id, *text;
	int ret;
	char err[256];
	bool done;
	struct vm_put *next;
};

/* Each entry brings the schema from version i to i + 1; append only. */
static const char *const migrations[] = {
	"CREATE TABLE profiles ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  doc TEXT NOT NULL,"
	"  created_seq INTEGER NOT NULL"
	");",
	"CREATE TABLE vms ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  doc TEXT NOT NULL,"
	"  created_seq INTEGER NOT NULL"
	");",
	/* Lists page and inserts take MAX(created_seq) through these: a
	 * b-tree seek, not a scan of every row (26 ms per POST at 20k). */
	("CREATE UNIQUE INDEX profiles_by_seq ON profiles (created_seq);"
	 "CREATE UNIQUE INDEX vms_by_seq ON vms (created_seq);"),
	/* Snapshots (issue 10): a row only for a complete STATE/snapshots/ID. */
	("CREATE TABLE snapshots ("
	 "  id TEXT PRIMARY KEY NOT NULL,"
	 "  doc TEXT NOT NULL,"
	 "  created_seq INTEGER NOT NULL"
	 ");"
	 "CREATE UNIQUE INDEX snapshots_by_seq ON snapshots (created_seq);"),
};

static int db_fail(struct store *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(s->db));
	return -EIO;
}

static int migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int version = 0;
	size_t i;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL))
		return db_fail(s, "read schema version", err, errlen);
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > (int)(sizeof(migrations) / sizeof(migrations[0]))) {
		snprintf(err, errlen,
			 "database schema %d is newer than this pinvmd knows", version);
		return -EPROTO;
	}
	for (i = (size_t)version; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", i + 1);
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ||
		    sqlite3_exec(s->db, migrations[i], NULL, NULL, NULL) ||
		    sqlite3_exec(s->db, sql, NULL, NULL, NULL) ||
		    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) {
			int ret = db_fail(s, "migrate schema", err, errlen);

			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return ret;
		}
	}
	return 0;
}

/*
 * Refuses a database whose rows pinvmd could not read back: every profile
 * and VM record must be a JSON object. Names the path and the first bad
 * row, so the operator knows what to restore; nothing is repaired.
 */
static int check_rows(struct store *s, char *err, size_t errlen)
{
	static const char *const sql[] = {
		"SELECT 'profile', name FROM profiles WHERE json_valid(doc) = 0 OR "
		"json_type(doc) != 'object' LIMIT 1",
		"SELECT 'vm record', id FROM vms WHERE json_valid(doc) = 0 OR "
		"json_type(doc) != 'object' LIMIT 1",
		"SELECT 'snapshot record', id FROM snapshots WHERE json_valid(doc) = 0 OR "
		"json_type(doc) != 'object' LIMIT 1",
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st;
		int rc;

		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL))
			return db_fail(s, s->path, err, errlen);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			snprintf(err, errlen, "%s: %s \"%.100s\" is not a JSON object; "
				 "the database is damaged (restore it, or move it away to "
				 "start empty)", s->path, sqlite3_column_text(st, 0),
				 sqlite3_column_text(st, 1));
		else if (rc != SQLITE_DONE)
			db_fail(s, s->path, err, errlen);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -EPROTO;
	}
	return 0;
}

/* Counted once; inserts and deletes keep it (COUNT(*) scans the table). */
static int count_profiles(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int ret = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM profiles", -1, &st, NULL))
		return db_fail(s, "count profiles", err, errlen);
	if (sqlite3_step(st) == SQLITE_ROW)
		s->nprofiles = (unsigned)sqlite3_column_int64(st, 0);
	else
		ret = db_fail(s, "count profiles", err, errlen);
	sqlite3_finalize(st);
	return ret;
}

void store_set_max_profiles(struct store *s, unsigned max)
{
	pthread_mutex_lock(&s->lock);
	s->max_profiles = max;
	pthread_mutex_unlock(&s->lock);
}

int store_open(const char *dir, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	char path[4096];
	struct stat sb;
	int ret;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/pinvm.db", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "state directory path too long");
		return -ENAMETOOLONG;
	}
	/* SQLite takes an empty file for a new database and would start over
	 * with no profiles: a truncated state must stop us instead. */
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
		snprintf(err, errlen, "%s is empty (0 bytes), not a database: a "
			 "truncated state? Restore it, or remove it to start empty", path);
		return -EPROTO;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(s->path, path, sizeof(s->path));
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->put_lock, NULL);
	pthread_cond_init(&s->put_done, NULL);
	s->put_tail = &s->put_head;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		ret = db_fail(s, path, err, errlen);
		goto err_close;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* WAL + synchronous=FULL: a committed row survives kill -9 and power
	 * loss; readers never block the writer. */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				"PRAGMA foreign_keys=ON;", NULL, NULL, NULL)) {
		ret = db_fail(s, "configure database", err, errlen);
		goto err_close;
	}
	ret = migrate(s, err, errlen);
	if (ret < 0)
		goto err_close;
	ret = check_rows(s, err, errlen);
	if (ret < 0)
		goto err_close;
	ret = count_profiles(s, err, errlen);
	if (ret < 0)
		goto err_close;
	*out = s;
	return 0;

err_close:
	store_close(s);
	return ret;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->put_lock);
	pthread_cond_destroy(&s->put_done);
	free(s);
}

int store_profile_insert(struct store *s, const char *name, const json_t *doc,
			 char *err, size_t errlen)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	if (s->max_profiles && s->nprofiles >= s->max_profiles) {
		snprintf(err, errlen, "this pinvmd holds %u profiles, its limit", s->nprofiles);
		ret = -ENOSPC;
		goto out;
	}
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO profiles (name, doc, created_seq) VALUES "
			       "(?1, ?2, (SELECT IFNULL(MAX(created_seq), 0) + 1 FROM profiles))",
			       -1, &st, NULL)) {
		ret = db_fail(s, "prepare insert", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		snprintf(err, errlen, "a profile named \"%s\" exists", name);
		ret = -EEXIST;
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(s, "insert profile", err, errlen);
	} else {
		s->nprofiles++;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	free(text);
	return ret;
}

int store_profile_get(struct store *s, const char *name, json_t **doc,
		      char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	*doc = NULL;
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT doc FROM profiles WHERE name = ?1",
			       -1, &st, NULL)) {
		ret = db_fail(s, "prepare select", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		if (!*doc) {
			snprintf(err, errlen, "stored profile \"%s\" is not JSON", name);
			snprintf(s->damage, sizeof(s->damage), "%.300s: %.200s", s->path, err);
			ret = -EPROTO;
		}
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no profile named \"%s\"", name);
		ret = -ENOENT;
	} else {
		ret = db_fail(s, "select profile", err, errlen);
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Every row's JSON document in column 0 of sql, in order, as a new array. */
static int list_docs(struct store *s, const char *sql, const char *what,
		     json_t **docs, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();
	int rc, ret = 0;

	*docs = NULL;
	if (!list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) {
		ret = db_fail(s, "prepare list", err, errlen);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);

		if (!json_is_object(doc) || json_array_append_new(list, doc)) {
			json_decref(doc);
			snprintf(err, errlen, "a stored %s is unreadable", what);
			snprintf(s->damage, sizeof(s->damage), "%.300s: %.200s", s->path, err);
			ret = -EPROTO;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(s, "list", err, errlen);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		json_decref(list);
	else
		*docs = list;
	return ret;
}

/* Runs a DELETE of the row keyed ?1; -ENOENT when there was none. */
static int delete_row(struct store *s, const char *sql, const char *key,
		      const char *what, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) {
		ret = db_fail(s, "prepare delete", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_fail(s, "delete", err, errlen);
	} else if (sqlite3_changes(s->db) == 0) {
		snprintf(err, errlen, "no %s \"%s\"", what, key);
		ret = -ENOENT;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_profile_list(struct store *s, json_t **docs, char *err, size_t errlen)
{
	return list_docs(s, "SELECT doc FROM profiles ORDER BY created_seq", "profile",
			 docs, err, errlen);
}

int store_profile_delete(struct store *s, const char *name, char *err,
			 size_t errlen)
{
	int ret = delete_row(s, "DELETE FROM profiles WHERE name = ?1", name,
			     "profile named", err, errlen);

	if (ret == 0) {
		pthread_mutex_lock(&s->lock);
		s->nprofiles--;
		pthread_mutex_unlock(&s->lock);
	}
	return ret;
}

/*
 * Up to limit + 1 rows of profiles after seq, copied under the lock; their
 * JSON is parsed by the caller after it is released, so a big page never
 * holds other requests up while it is decoded or answered.
 */
static int page_docs(struct store *s, const char *sql, const char *what, long long after,
		     unsigned limit, json_t **docs, long long *next, char *err, size_t errlen);

int store_profile_page(struct store *s, long long after, unsigned limit,
		       json_t **docs, long long *next, char *err, size_t errlen)
{
	return page_docs(s, "SELECT doc, created_seq FROM profiles WHERE "
			    "created_seq > ?1 ORDER BY created_seq LIMIT ?2",
			 "profile", after, limit, docs, next, err, errlen);
}

static int page_docs(struct store *s, const char *sql, const char *what, long long after,
		     unsigned limit, json_t **docs, long long *next, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char **texts = calloc((size_t)limit + 1, sizeof(*texts));
	long long seqs_last = 0;
	unsigned n = 0, i;
	json_t *list = json_array();
	int rc, ret = 0;

	*docs = NULL;
	*next = 0;
	if (!texts || !list) {
		free(texts);
		json_decref(list);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) {
		ret = db_fail(s, "prepare list", err, errlen);
	} else {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && n <= limit) {
			texts[n] = strdup((const char *)sqlite3_column_text(st, 0));
			if (!texts[n]) {
				snprintf(err, errlen, "out of memory");
				ret = -ENOMEM;
				break;
			}
			if (n < limit)
				seqs_last = sqlite3_column_int64(st, 1);
			n++;
		}
		if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
			ret = db_fail(s, "list", err, errlen);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);

	for (i = 0; i < n && i < limit && !ret; i++) {
		json_t *doc = json_loads(texts[i], 0, NULL);

		if (!json_is_object(doc) || json_array_append_new(list, doc)) {
			json_decref(doc);
			snprintf(err, errlen, "a stored %s is unreadable", what);
			pthread_mutex_lock(&s->lock);
			snprintf(s->damage, sizeof(s->damage), "%.300s: %.200s", s->path, err);
			pthread_mutex_unlock(&s->lock);
			ret = -EPROTO;
		}
	}
	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	if (ret < 0) {
		json_decref(list);
		return ret;
	}
	if (n > limit)
		*next = seqs_last;
	*docs = list;
	return 0;
}

/* One upsert with st (prepared, reset here); 0 or -EIO with p->err. */
static int put_one(struct store *s, sqlite3_stmt *st, struct vm_put *p)
{
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "store vm record", p->err, sizeof(p->err));
	return 0;
}

/*
 * Commits batch: several puts in one transaction (one WAL sync for all),
 * or each on its own when there is one, or when the transaction fails,
 * so every caller gets its own row's answer.
 */
static void put_batch(struct store *s, struct vm_put *batch)
{
	sqlite3_stmt *st = NULL;
	bool together = batch->next != NULL;
	struct vm_put *p;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO vms (id, doc, created_seq) VALUES "
			       "(?1, ?2, (SELECT IFNULL(MAX(created_seq), 0) + 1 FROM vms)) "
			       "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
			       -1, &st, NULL)) {
		for (p = batch; p; p = p->next)
			p->ret = db_fail(s, "prepare vm upsert", p->err, sizeof(p->err));
		goto out;
	}
	if (together && !sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
		bool ok = true;

		for (p = batch; p && ok; p = p->next)
			ok = put_one(s, st, p) == 0;
		if (ok && !sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) {
			for (p = batch; p; p = p->next)
				p->ret = 0;
			goto out;
		}
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	for (p = batch; p; p = p->next)
		p->ret = put_one(s, st, p);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Group commit: a put joins the queue; the first caller to find no commit
 * under way commits everything queued, and the others wait for it. Under
 * many VM changes at once (64 creates) each row still returns only once
 * durable, but the syncs are shared instead of queued one by one behind
 * the lock.
 */
int store_vm_put(struct store *s, const char *id, const json_t *doc, char *err,
		 size_t errlen)
{
	struct vm_put me = { .id = id };
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	me.text = text;
	pthread_mutex_lock(&s->put_lock);
	*s->put_tail = &me;
	s->put_tail = &me.next;
	while (!me.done) {
		struct vm_put *batch, *p, *next;

		if (s->put_leader) {
			pthread_cond_wait(&s->put_done, &s->put_lock);
			continue;
		}
		batch = s->put_head;
		s->put_head = NULL;
		s->put_tail = &s->put_head;
		s->put_leader = true;
		pthread_mutex_unlock(&s->put_lock);
		put_batch(s, batch);
		pthread_mutex_lock(&s->put_lock);
		for (p = batch; p; p = next) {
			next = p->next; /* p is its caller's, gone once done */
			p->done = true;
		}
		s->put_leader = false;
		pthread_cond_broadcast(&s->put_done);
	}
	pthread_mutex_unlock(&s->put_lock);
	free(text);
	if (me.ret < 0)
		snprintf(err, errlen, "%s", me.err);
	return me.ret;
}

int store_vm_list(struct store *s, json_t **docs, char *err, size_t errlen)
{
	return list_docs(s, "SELECT doc FROM vms ORDER BY created_seq", "vm record", docs,
			 err, errlen);
}

int store_vm_delete(struct store *s, const char *id, char *err, size_t errlen)
{
	return delete_row(s, "DELETE FROM vms WHERE id = ?1", id, "vm record", err, errlen);
}

int store_snapshot_insert(struct store *s, const char *id, const json_t *doc, char *err,
			  size_t errlen)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO snapshots (id, doc, created_seq) VALUES "
			       "(?1, ?2, (SELECT IFNULL(MAX(created_seq), 0) + 1 FROM snapshots))",
			       -1, &st, NULL)) {
		ret = db_fail(s, "prepare snapshot insert", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		snprintf(err, errlen, "a snapshot \"%s\" exists", id);
		ret = -EEXIST;
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(s, "insert snapshot", err, errlen);
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	free(text);
	return ret;
}

int store_snapshot_get(struct store *s, const char *id, json_t **doc, char *err,
		       size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	*doc = NULL;
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT doc FROM snapshots WHERE id = ?1", -1, &st,
			       NULL)) {
		ret = db_fail(s, "prepare select", err, errlen);
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		if (!json_is_object(*doc)) {
			json_decref(*doc);
			*doc = NULL;
			snprintf(err, errlen, "stored snapshot \"%s\" is not JSON", id);
			snprintf(s->damage, sizeof(s->damage), "%.300s: %.200s", s->path, err);
			ret = -EPROTO;
		}
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no snapshot \"%s\"", id);
		ret = -ENOENT;
	} else {
		ret = db_fail(s, "select snapshot", err, errlen);
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_snapshot_page(struct store *s, long long after, unsigned limit, json_t **docs,
			long long *next, char *err, size_t errlen)
{
	return page_docs(s, "SELECT doc, created_seq FROM snapshots WHERE "
			    "created_seq > ?1 ORDER BY created_seq LIMIT ?2",
			 "snapshot", after, limit, docs, next, err, errlen);
}

int store_snapshot_delete(struct store *s, const char *id, char *err, size_t errlen)
{
	return delete_row(s, "DELETE FROM snapshots WHERE id = ?1", id, "snapshot", err,
			  errlen);
}

int store_ping(struct store *s, char *err, size_t errlen)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->damage[0]) {
		snprintf(err, errlen, "%s", s->damage);
		ret = -EPROTO;
	} else if (sqlite3_exec(s->db, "SELECT COUNT(*) FROM profiles", NULL, NULL, NULL)) {
		ret = db_fail(s, "database check", err, errlen);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}
