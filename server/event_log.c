#include "event_log.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pruning every event would double the writes; this many at once. */
#define PRUNE_SLACK 64

struct event_log {
	sqlite3 *db;
	sqlite3_stmt *insert, *prune, *read;
	unsigned keep;
	uint64_t first, last;
};

static int fail(struct event_log *l, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "events.db: %s: %s", what,
		 l->db ? sqlite3_errmsg(l->db) : "out of memory");
	return -EIO;
}

static int bounds(struct event_log *l, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int ret = 0;

	if (sqlite3_prepare_v2(l->db, "SELECT IFNULL(MIN(id), 0), IFNULL(MAX(id), 0) FROM events",
			       -1, &st, NULL))
		return fail(l, "read bounds", err, errlen);
	if (sqlite3_step(st) == SQLITE_ROW) {
		l->first = (uint64_t)sqlite3_column_int64(st, 0);
		l->last = (uint64_t)sqlite3_column_int64(st, 1);
		if (!l->last)
			l->first = 1;
	} else {
		ret = fail(l, "read bounds", err, errlen);
	}
	sqlite3_finalize(st);
	return ret;
}

int event_log_open(const char *dir, unsigned keep, struct event_log **out,
		   uint64_t *first, uint64_t *last, char *err, size_t errlen)
{
	struct event_log *l = calloc(1, sizeof(*l));
	char path[4096];
	int ret = -EIO;

	*out = NULL;
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->keep = keep ? keep : 1;
	if (snprintf(path, sizeof(path), "%s/events.db", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "state directory path too long");
		free(l);
		return -ENAMETOOLONG;
	}
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					      SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		ret = fail(l, path, err, errlen);
		goto err_close;
	}
	sqlite3_busy_timeout(l->db, 5000);
	/* synchronous=NORMAL: an event survives pinvmd's crash (the WAL is
	 * written before the call returns); a power cut may lose the last few,
	 * which a resuming client then sees as a 410 only if they were pruned. */
	if (sqlite3_exec(l->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				"CREATE TABLE IF NOT EXISTS events ("
				"  id INTEGER PRIMARY KEY NOT NULL,"
				"  type TEXT NOT NULL,"
				"  vm_id TEXT NOT NULL,"
				"  frame TEXT NOT NULL);",
			 NULL, NULL, NULL)) {
		ret = fail(l, "create schema", err, errlen);
		goto err_close;
	}
	if (sqlite3_prepare_v2(l->db, "INSERT INTO events (id, type, vm_id, frame) "
				      "VALUES (?1, ?2, ?3, ?4)", -1, &l->insert, NULL) ||
	    sqlite3_prepare_v2(l->db, "DELETE FROM events WHERE id < ?1", -1, &l->prune,
			       NULL) ||
	    sqlite3_prepare_v2(l->db, "SELECT id, type, vm_id, frame FROM events "
				      "WHERE id > ?1 ORDER BY id LIMIT ?2", -1, &l->read,
			       NULL)) {
		ret = fail(l, "prepare", err, errlen);
		goto err_close;
	}
	ret = bounds(l, err, errlen);
	if (ret < 0)
		goto err_close;
	*first = l->first;
	*last = l->last;
	*out = l;
	return 0;

err_close:
	event_log_close(l);
	return ret;
}

void event_log_close(struct event_log *l)
{
	if (!l)
		return;
	sqlite3_finalize(l->insert);
	sqlite3_finalize(l->prune);
	sqlite3_finalize(l->read);
	sqlite3_close(l->db);
	free(l);
}

int event_log_append(struct event_log *l, uint64_t id, const char *type,
		     const char *vm_id, const char *frame, uint64_t *first,
		     char *err, size_t errlen)
{
	int rc;

	sqlite3_reset(l->insert);
	sqlite3_bind_int64(l->insert, 1, (sqlite3_int64)id);
	sqlite3_bind_text(l->insert, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(l->insert, 3, vm_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(l->insert, 4, frame, -1, SQLITE_STATIC);
	rc = sqlite3_step(l->insert);
	sqlite3_reset(l->insert);
	sqlite3_clear_bindings(l->insert);
	if (rc != SQLITE_DONE)
		return fail(l, "append", err, errlen);
	if (l->last < l->first)
		l->first = id;
	l->last = id;
	if (l->last - l->first + 1 > (uint64_t)l->keep + PRUNE_SLACK) {
		uint64_t keep_from = l->last - l->keep + 1;

		sqlite3_reset(l->prune);
		sqlite3_bind_int64(l->prune, 1, (sqlite3_int64)keep_from);
		rc = sqlite3_step(l->prune);
		sqlite3_reset(l->prune);
		if (rc != SQLITE_DONE)
			return fail(l, "prune", err, errlen);
		l->first = keep_from;
	}
	*first = l->first;
	return 0;
}

int event_log_read(struct event_log *l, uint64_t after, unsigned max,
		   int (*fn)(void *arg, uint64_t id, const char *type,
			     const char *vm_id, const char *frame),
		   void *arg, char *err, size_t errlen)
{
	int rc, ret = 0;

	sqlite3_reset(l->read);
	sqlite3_bind_int64(l->read, 1, (sqlite3_int64)after);
	sqlite3_bind_int64(l->read, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(l->read)) == SQLITE_ROW) {
		if (fn(arg, (uint64_t)sqlite3_column_int64(l->read, 0),
		       (const char *)sqlite3_column_text(l->read, 1),
		       (const char *)sqlite3_column_text(l->read, 2),
		       (const char *)sqlite3_column_text(l->read, 3)))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = fail(l, "read", err, errlen);
	sqlite3_reset(l->read);
	return ret;
}
