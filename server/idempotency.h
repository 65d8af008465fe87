/*
 * Idempotency-Key on POSTs: a client that retries a POST with the same key
 * gets the first answer again instead of a second effect (a second VM).
 * Same key and same request (method, path, body) -> the stored answer,
 * marked Idempotent-Replayed: true; same key and another request -> 422
 * idempotency_key_reused; while the first is still being answered -> 409
 * idempotency_in_progress. Answers are kept in STATE/idempotency.db
 * (SQLite, WAL) for `ttl` seconds; a 5xx is not kept (the retry runs again).
 *
 * Thread-safe: one mutex around the database; never held while a request
 * is handled.
 */
#ifndef PINVM_SERVER_IDEMPOTENCY_H
#define PINVM_SERVER_IDEMPOTENCY_H

#include "request.h"

#include <stdbool.h>
#include <stddef.h>

#define IDEMPOTENCY_KEY_MAX 255
#define IDEMPOTENCY_DEFAULT_TTL (24 * 3600)

struct idempotency;

/* A request that holds a key until idem_finish. */
struct idem_ticket {
	bool held;
	char key[IDEMPOTENCY_KEY_MAX + 1];
};

int idem_open(const char *state_dir, unsigned ttl, struct idempotency **out, char *err,
	      size_t errlen);
void idem_close(struct idempotency *db);

/* Whether key is an acceptable Idempotency-Key: 1..255 visible ASCII. */
bool idem_key_valid(const char *key);

/*
 * Before handling a request with Idempotency-Key key: true when rep is
 * the answer already (a replay, 422, 409, 400 for a bad key, 500);
 * false when the request is to be handled, with *t holding the key
 * (pass it to idem_finish with the reply).
 */
bool idem_begin(struct idempotency *db, const char *key, const char *method,
		const char *path, const char *body, size_t len, struct reply *rep,
		struct idem_ticket *t);

/* Keeps rep (borrowed) as the answer for t's key, or frees the key for a
 * retry when rep is a 5xx. */
void idem_finish(struct idempotency *db, struct idem_ticket *t, const struct reply *rep);

#endif
