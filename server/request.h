/*
 * What a route handler sees and fills. The HTTP layer owns both structs;
 * handlers borrow the request and hand the reply's body over to it.
 */
#ifndef PINVM_SERVER_REQUEST_H
#define PINVM_SERVER_REQUEST_H

#include "api_error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REQUEST_MAX_PARAMS 4

struct server;
struct MHD_Connection;
struct prepared;
struct route_match;

/* A decoded query parameter ("?limit=10": key "limit", value "10"). */
struct query_arg {
	const char *key, *value;
};

struct request {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	/* Path parameters in route order, NUL-terminated copies. */
	char *params[REQUEST_MAX_PARAMS];
	size_t nparams;
	/* The query, strictly decoded (UTF-8, no NUL), in request order. */
	const struct query_arg *query;
	size_t nquery;
	const char *body; /* NUL-terminated, may be empty */
	size_t body_len;
	char id[40];      /* request id, echoed as X-Request-Id */
	const char *route; /* set by the router: the matched pattern (static) */
	/* The HTTP layer's match of method and path (route_match.h), made
	 * once per request and borrowed; never NULL in router_dispatch. */
	const struct route_match *match;
	/* POST /v1/snapshots: the application/octet-stream body, streamed to
	 * an unlinked file (http.c owns the descriptor) when has_upload. */
	bool has_upload;
	int upload_fd;
	unsigned long long upload_len;
};

struct reply {
	unsigned status;
	json_t *body;     /* owned by the reply once set */
	char allow[64];   /* Allow header for 405, empty otherwise */
	char location[192]; /* Location header for 201, empty otherwise */
	bool empty;       /* 204: no body at all */
	char *raw;        /* a non-JSON body (malloc'd, owned), or NULL */
	size_t raw_len;
	const char *raw_type; /* its Content-Type, static */
	char extra_name[32];  /* one more header, when extra_name[0] */
	char extra_value[64];
	char extra2_name[32]; /* and a second, when extra2_name[0] */
	char extra2_value[64];
	bool close;       /* answer with Connection: close */
	/* A streamed body of type raw_type instead (GET /v1/events):
	 * libmicrohttpd calls stream_read (a MHD_ContentReaderCallback) until
	 * it ends, then stream_free(stream_cls). Owned by the reply once set:
	 * the HTTP layer frees it even when no response could be made. */
	ssize_t (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *cls);
	void *stream_cls;
	/* A 200 JSON answer made once (prepared.h): one reference, owned by
	 * the reply once set; sent as is, without body. */
	struct prepared *prepared;
};

typedef void (*route_handler)(struct request *req, struct reply *rep);

/* A 204 reply without a body. */
void reply_empty(struct reply *rep);

/* A 200 reply with a raw body (steals data, malloc'd) of type ctype. */
void reply_raw(struct reply *rep, char *data, size_t len, const char *ctype);

/* A 200 answer of p's bytes; steals the caller's reference to p (NULL
 * means out of memory: 500). */
void reply_prepared(struct reply *rep, struct prepared *p);

/* Sets status and body; steals body (NULL body means out of memory). */
void reply_json(struct reply *rep, unsigned status, json_t *body);
/*
 * Makes fd (a pipe's read end, owned by the reply from here on) the
 * streamed body: libmicrohttpd reads it to its end, then it is closed.
 * 0, or -ENOMEM (fd is then still the caller's).
 */
int reply_stream_fd(struct reply *rep, int fd);

/* Sets a problem+json reply; see problem_new for the arguments. */
void reply_problem(struct reply *rep, unsigned status, const char *code,
		   const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Answers the api_error as problem+json: the one place an error from api/,
 * vmm/ or the server's core becomes an HTTP answer. */
void reply_api_error(struct reply *rep, const struct api_error *e);

/*
 * Parses the request body as a JSON object into *out (new reference).
 * Returns 0, or -EINVAL after filling rep with 400 malformed_json (line
 * and column in the detail) or wrong_type.
 */
int parse_json_body(const struct request *req, struct reply *rep, json_t **out);

/* The first value of query parameter key (borrowed from req), or NULL. */
const char *request_query(const struct request *req, const char *key);

/*
 * true when every query parameter is one of known[0..nknown) and none is
 * given twice; otherwise fills rep with 400 unknown_parameter or
 * duplicate_parameter (field: the parameter) and returns false.
 */
bool request_query_check(const struct request *req, struct reply *rep,
			 const char *const *known, size_t nknown);

#endif
