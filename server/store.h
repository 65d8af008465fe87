/*
 * Durable state: one SQLite database (WAL) in the state directory. Profiles
 * are stored as their canonical JSON documents, VMs as their records; a
 * row is only ever removed by an explicit delete. Safe to call from any thread: one connection,
 * serialised by the store's own lock (each call is a short transaction).
 */
#ifndef PINVM_SERVER_STORE_H
#define PINVM_SERVER_STORE_H

#include <jansson.h>
#include <stddef.h>

struct store;

/*
 * Opens (creating if needed) DIR/pinvm.db and brings its schema up to
 * date. A damaged state is refused, never reset: -EPROTO when the file is
 * empty (0 bytes: SQLite would take it for a new database) or a stored
 * profile or VM record is not a JSON object, err naming the path and the
 * row. Returns 0 with *out set (caller closes it), or a negative errno
 * with err filled.
 */
int store_open(const char *dir, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/*
 * Inserts a profile document under name. Borrows doc. Returns 0,
 * -EEXIST when the name is taken, -ENOSPC at the cap set with
 * store_set_max_profiles, or another negative errno (err filled).
 */
int store_profile_insert(struct store *s, const char *name, const json_t *doc,
			 char *err, size_t errlen);

/* On success *doc is a new reference. -ENOENT when there is no such name. */
int store_profile_get(struct store *s, const char *name, json_t **doc,
		      char *err, size_t errlen);

/* *docs is a new array of every profile document, oldest first. */
int store_profile_list(struct store *s, json_t **docs, char *err, size_t errlen);

/*
 * A page of profile documents, oldest first: at most limit (>= 1) created
 * after sequence number after (0: from the start). *docs is a new array;
 * *next is the sequence number to continue after, or 0 on the last page.
 * Rows are copied under the store's lock and parsed after it is released.
 */
int store_profile_page(struct store *s, long long after, unsigned limit,
		       json_t **docs, long long *next, char *err, size_t errlen);

/* Caps the number of profiles (0: none); store_profile_insert is then
 * -ENOSPC at the cap. */
void store_set_max_profiles(struct store *s, unsigned max);

/* -ENOENT when there is no such name. */
int store_profile_delete(struct store *s, const char *name, char *err,
			 size_t errlen);

/*
 * VM records: one JSON document per VM id (the server's own format; the
 * store only keeps it). put inserts or replaces (borrows doc); list
 * gives a new array of every document, oldest VM first; delete is
 * -ENOENT when there is no such id.
 */
int store_vm_put(struct store *s, const char *id, const json_t *doc, char *err,
		 size_t errlen);
int store_vm_list(struct store *s, json_t **docs, char *err, size_t errlen);
int store_vm_delete(struct store *s, const char *id, char *err, size_t errlen);

/*
 * Snapshot records (issue 10), keyed by snapshot id: insert is -EEXIST
 * when the id is taken; get and delete are -ENOENT when there is none;
 * page is store_profile_page() for snapshots, oldest first. Borrow doc;
 * *doc and *docs are new references.
 */
int store_snapshot_insert(struct store *s, const char *id, const json_t *doc, char *err,
			  size_t errlen);
int store_snapshot_get(struct store *s, const char *id, json_t **doc, char *err,
		       size_t errlen);
int store_snapshot_page(struct store *s, long long after, unsigned limit, json_t **docs,
			long long *next, char *err, size_t errlen);
int store_snapshot_delete(struct store *s, const char *id, char *err, size_t errlen);

/*
 * 0 when the database answers and no stored row has been found unreadable
 * since it was opened; else -EIO (no answer) or -EPROTO (a damaged row,
 * err naming the database and the row).
 */
int store_ping(struct store *s, char *err, size_t errlen);

#endif
