/*
 * Request and reply helpers every handler shares (declared in request.h).
 * They live apart from the HTTP layer so that handlers, the router and
 * the metrics depend on them, not on http.c, which depends on those.
 */
#include "request.h"

#include "prepared.h"
#include "problem.h"

#include <stdarg.h>
#include <stdbool.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

struct fd_stream {
	int fd;
};

/* A blocking read: the writer on the other end is producing it. */
static ssize_t fd_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fd_stream *st = cls;
	ssize_t n;

	(void)pos;
	do
		n = read(st->fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void fd_stream_free(void *cls)
{
	struct fd_stream *st = cls;

	close(st->fd);
	free(st);
}

int reply_stream_fd(struct reply *rep, int fd)
{
	struct fd_stream *st = malloc(sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->fd = fd;
	rep->stream_read = fd_stream_read;
	rep->stream_free = fd_stream_free;
	rep->stream_cls = st;
	return 0;
}

void reply_api_error(struct reply *rep, const struct api_error *e)
{
	reply_problem(rep, e->status ? e->status : 500,
		      e->code[0] ? e->code : "internal_error",
		      e->field[0] ? e->field : NULL, "%s", e->detail);
}

int parse_json_body(const struct request *req, struct reply *rep, json_t **out)
{
	json_error_t jerr;
	json_t *doc;

	*out = NULL;
	if (!req->body_len) {
		reply_problem(rep, 400, "missing_body", "body",
			      "this request needs a JSON object body");
		return -EINVAL;
	}
	doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		reply_problem(rep, 400, "malformed_json", "body",
			      "line %d, column %d: %s", jerr.line, jerr.column,
			      jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		reply_problem(rep, 400, "wrong_type", "body",
			      "the body must be a JSON object");
		return -EINVAL;
	}
	*out = doc;
	return 0;
}

void reply_prepared(struct reply *rep, struct prepared *p)
{
	json_decref(rep->body);
	rep->body = NULL;
	prepared_unref(rep->prepared);
	rep->prepared = p;
	rep->status = p ? 200 : 500;
}

void reply_json(struct reply *rep, unsigned status, json_t *body)
{
	prepared_unref(rep->prepared);
	rep->prepared = NULL;
	json_decref(rep->body);
	rep->status = body ? status : 500;
	rep->body = body;
}

void reply_empty(struct reply *rep)
{
	prepared_unref(rep->prepared);
	rep->prepared = NULL;
	json_decref(rep->body);
	rep->body = NULL;
	rep->status = 204;
	rep->empty = true;
}

void reply_raw(struct reply *rep, char *data, size_t len, const char *ctype)
{
	json_decref(rep->body);
	rep->body = NULL;
	free(rep->raw);
	rep->raw = data;
	rep->raw_len = len;
	rep->raw_type = ctype;
	rep->status = 200;
}

void reply_problem(struct reply *rep, unsigned status, const char *code,
		   const char *field, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	reply_json(rep, status, problem_new(status, code, field, "%s", detail));
}

const char *request_query(const struct request *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (!strcmp(req->query[i].key, key))
			return req->query[i].value;
	return NULL;
}

bool request_query_check(const struct request *req, struct reply *rep,
			 const char *const *known, size_t nknown)
{
	for (size_t i = 0; i < req->nquery; i++) {
		const char *key = req->query[i].key;
		size_t k;

		for (k = 0; k < nknown && strcmp(known[k], key); k++)
			;
		if (k == nknown) {
			reply_problem(rep, 400, "unknown_parameter", key,
				      "%s takes no query parameter \"%s\"", req->path, key);
			return false;
		}
		for (k = 0; k < i; k++)
			if (!strcmp(req->query[k].key, key)) {
				reply_problem(rep, 400, "duplicate_parameter", key,
					      "query parameter \"%s\" is given twice", key);
				return false;
			}
	}
	return true;
}
