#include "idempotency.h"

#include "log.h"
#include "prepared.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct idempotency {
	pthread_mutex_t lock;
	sqlite3 *db;
	unsigned ttl;
};

int idem_open(const char *state_dir, unsigned ttl, struct idempotency **out, char *err,
	      size_t errlen)
{
	struct idempotency *d = calloc(1, sizeof(*d));
	char path[4096];

	*out = NULL;
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->ttl = ttl ? ttl : IDEMPOTENCY_DEFAULT_TTL;
	snprintf(path, sizeof(path), "%s/idempotency.db", state_dir);
	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						   SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(d->db, 5000) != SQLITE_OK ||
	    /* A kept answer must survive pinvmd's crash: a retry after it
	     * must not create a second VM. */
	    sqlite3_exec(d->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				"CREATE TABLE IF NOT EXISTS answers ("
				"  key TEXT PRIMARY KEY NOT NULL,"
				"  fingerprint TEXT NOT NULL,"
				"  done INTEGER NOT NULL,"     /* 0: being answered */
				"  status INTEGER NOT NULL,"
				"  location TEXT NOT NULL,"
				"  body TEXT NOT NULL,"
				"  created INTEGER NOT NULL);"
				"CREATE INDEX IF NOT EXISTS answers_by_age ON answers (created);"
				/* Left half-done by a pinvmd that died while answering:
				 * the retry runs again. */
				"DELETE FROM answers WHERE done = 0;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, d->db ? sqlite3_errmsg(d->db) : "out of memory");
		idem_close(d);
		return -EIO;
	}
	*out = d;
	return 0;
}

void idem_close(struct idempotency *d)
{
	if (!d)
		return;
	sqlite3_close(d->db);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

bool idem_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (!n || n > IDEMPOTENCY_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return false;
	return true;
}

/* Two independent 64-bit FNV-1a hashes of method, path and body: what
 * "the same request" means. */
static void fingerprint(const char *method, const char *path, const char *body, size_t len,
			char out[64])
{
	uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
	const char *parts[3] = { method, path, body };
	size_t lens[3] = { strlen(method), strlen(path), len };

	for (int p = 0; p < 3; p++) {
		for (size_t i = 0; i < lens[p]; i++) {
			a = (a ^ (unsigned char)parts[p][i]) * 0x100000001b3ull;
			b = (b ^ (unsigned char)parts[p][i]) * 0x100000001b3ull;
			b ^= b >> 29;
		}
		a = (a ^ 0xff) * 0x100000001b3ull; /* a separator no byte equals */
		b = (b ^ 0xff) * 0x100000001b3ull;
	}
	snprintf(out, 64, "%zu:%016" PRIx64 "%016" PRIx64, len, a, b);
}

bool idem_begin(struct idempotency *d, const char *key, const char *method,
		const char *path, const char *body, size_t len, struct reply *rep,
		struct idem_ticket *t)
{
	char fp[64];
	sqlite3_stmt *st = NULL;
	bool answered = true;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!idem_key_valid(key)) {
		reply_problem(rep, 400, "bad_idempotency_key", "Idempotency-Key",
			      "Idempotency-Key must be 1..%d visible ASCII characters",
			      IDEMPOTENCY_KEY_MAX);
		return true;
	}
	fingerprint(method, path, body, len, fp);
	pthread_mutex_lock(&d->lock);
	sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(d->db, "DELETE FROM answers WHERE created < ?1", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL) - d->ttl);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(d->db, "SELECT fingerprint, done, status, location, body "
				      "FROM answers WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), fp)) {
			reply_problem(rep, 422, "idempotency_key_reused", "Idempotency-Key",
				      "this Idempotency-Key was used for another request "
				      "(method, path or body); use a new key");
		} else if (!sqlite3_column_int(st, 1)) {
			reply_problem(rep, 409, "idempotency_in_progress", "Idempotency-Key",
				      "the first request with this Idempotency-Key is still "
				      "being answered; retry in a moment");
		} else {
			const char *text = (const char *)sqlite3_column_text(st, 4);
			json_t *doc = text[0] ? json_loads(text, 0, NULL) : NULL;

			if (text[0] && !doc) {
				reply_problem(rep, 500, "store_error", NULL,
					      "the kept answer for this key is unreadable");
			} else {
				if (doc)
					reply_json(rep, (unsigned)sqlite3_column_int(st, 2), doc);
				else
					reply_empty(rep);
				rep->status = (unsigned)sqlite3_column_int(st, 2);
				snprintf(rep->location, sizeof(rep->location), "%s",
					 (const char *)sqlite3_column_text(st, 3));
				snprintf(rep->extra_name, sizeof(rep->extra_name),
					 "Idempotent-Replayed");
				snprintf(rep->extra_value, sizeof(rep->extra_value), "true");
			}
		}
		goto out;
	}
	if (rc != SQLITE_DONE)
		goto db_error;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(d->db, "INSERT INTO answers (key, fingerprint, done, status, "
				      "location, body, created) VALUES (?1, ?2, 0, 0, '', '', ?3)",
			       -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		goto db_error;
	t->held = true;
	snprintf(t->key, sizeof(t->key), "%s", key);
	answered = false;
	goto out;
db_error:
	log_msg(LOG_ERROR, "idempotency.db: %s", sqlite3_errmsg(d->db));
	reply_problem(rep, 500, "store_error", NULL, "cannot keep the Idempotency-Key");
out:
	sqlite3_finalize(st);
	sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&d->lock);
	return answered;
}

void idem_finish(struct idempotency *d, struct idem_ticket *t, const struct reply *rep)
{
	sqlite3_stmt *st = NULL;
	char *text = NULL;
	bool keep = rep->status < 500 && (rep->body || rep->prepared || rep->empty);

	if (!t->held)
		return;
	if (keep && rep->prepared && !(text = strndup(rep->prepared->text, rep->prepared->len)))
		keep = false;
	else if (keep && rep->body &&
		 !(text = json_dumps(rep->body, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		keep = false;
	pthread_mutex_lock(&d->lock);
	if (sqlite3_prepare_v2(d->db, keep ? "UPDATE answers SET done = 1, status = ?2, "
					     "location = ?3, body = ?4 WHERE key = ?1"
					   : "DELETE FROM answers WHERE key = ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, t->key, -1, SQLITE_STATIC);
		if (keep) {
			sqlite3_bind_int(st, 2, (int)rep->status);
			sqlite3_bind_text(st, 3, rep->location, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_STATIC);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			log_msg(LOG_ERROR, "idempotency.db: %s", sqlite3_errmsg(d->db));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->lock);
	free(text);
	t->held = false;
}
