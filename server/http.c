#include "http.h"

#include "deadline.h"
#include "route_match.h"
#include "etag.h"
#include "http_offload.h"
#include "idempotency.h"
#include "log.h"
#include "metrics.h"
#include "prepared.h"
#include "problem.h"
#include "router.h"
#include "uri.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUERY_ARGS 16

/*
 * Per-request state, from the request line (the URI log callback) to
 * completion. Owned by libmicrohttpd's con_cls slot, freed in
 * on_completed.
 */
struct exchange {
	struct timespec start;
	bool begun;        /* headers read: the access handler was called */
	char *target;      /* the request target as sent, NULL if unknown */
	char *path;        /* its path, strictly decoded (valid UTF-8) */
	char *log_path;    /* what logs and messages show: path, or an
			    * escaped copy of target when path is NULL */
	char log_method[3 * URI_METHOD_MAX + 1];
	struct query_arg args[MAX_QUERY_ARGS];
	size_t nargs;
	char *args_buf;    /* the decoded keys and values args point into */
	char *body;
	size_t len;
	size_t cap;
	bool too_big;
	char id[40];
	/* A snapshot upload (POST /v1/snapshots, application/octet-stream):
	 * streamed into an unlinked file in STATE/snapshots, so a crash
	 * leaves nothing behind, with its own limit (--max-snapshot-bytes). */
	bool uploading;
	int upload_fd;
	unsigned long long upload_len;
	int upload_err;    /* errno of a failed write, 0 */
	/* A slow request (http_offload.h): answered on a job's thread into
	 * req/rep while the connection waits suspended; the job resumes it
	 * once done, and the next call of on_request sends rep. */
	atomic_int offload;
	/* The route of method and path, matched once when the path is
	 * decoded: the Content-Type check, the offload choice and the router
	 * all read it. */
	struct route_match match;
	struct request req;
	struct reply rep;
	struct MHD_Connection *conn;
};

enum { OFFLOAD_NONE, OFFLOAD_RUNNING, OFFLOAD_DONE };

static bool safe_request_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '-' || c == '_' ||
				 c == '.'))
			return false;
	}
	return n > 0;
}

static void make_request_id(struct MHD_Connection *conn, char out[40])
{
	static atomic_ulong counter;
	const char *given =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	unsigned char rnd[6] = { 0 };

	if (given && safe_request_id(given)) {
		snprintf(out, 40, "%s", given);
		return;
	}
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(out, 40, "%02x%02x%02x%02x%02x%02x-%lu", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5],
		 (unsigned long)atomic_fetch_add(&counter, 1));
}

/* The uid of a Unix-socket peer, or -1. */
static long peer_uid(struct MHD_Connection *conn, const struct listener *l)
{
	const union MHD_ConnectionInfo *ci;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!l->is_unix)
		return -1;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	return (long)cred.uid;
}

/* Compares in time independent of where the strings differ. */
static bool token_matches(const char *given, const char *want)
{
	size_t gl = strlen(given), wl = strlen(want), i;
	unsigned char diff = (unsigned char)(gl != wl);

	for (i = 0; i < wl; i++)
		diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
	return diff == 0;
}

static bool authorized(struct MHD_Connection *conn, const struct listener *l)
{
	const char *h;

	if (!l->require_token)
		return true;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	return h && !strncmp(h, "Bearer ", 7) && token_matches(h + 7, l->srv->token);
}

/* libmicrohttpd's free callback of a response sent from prepared bytes. */
static void unref_prepared(void *cls)
{
	prepared_unref(cls);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn,
				  struct exchange *ex, const char *method,
				  const char *url, struct reply *rep, long uid,
				  const char *route, bool closing)
{
	struct MHD_Response *resp;
	struct timespec end;
	enum MHD_Result ret;
	char *text = NULL, etag[ETAG_SIZE] = "";

	if (!rep->body && !rep->empty && !rep->raw && !rep->stream_cls && !rep->prepared) {
		rep->status = 500;
		rep->body = problem_new(500, "out_of_memory", NULL, "out of memory");
	}
	/* Every problem names its request, the fallback above included. */
	if (rep->body && json_is_object(rep->body) && rep->status >= 400)
		json_object_set_new(rep->body, "request_id", json_string(ex->id));
	if (rep->body)
		text = json_dumps(rep->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (rep->prepared && !rep->body) {
		struct prepared *p = rep->prepared;

		if (etag_applies(method, route))
			memcpy(etag, p->etag, sizeof(etag));
		if (etag[0] && etag_matches(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									"If-None-Match"), etag)) {
			rep->status = 304;
			resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		} else {
			/* Sent from the shared bytes; the response holds a
			 * reference until libmicrohttpd is done with it. */
			resp = MHD_create_response_from_buffer_with_free_callback_cls(
				p->len, p->text, unref_prepared, prepared_ref(p));
			if (!resp)
				prepared_unref(p);
		}
	} else if (rep->stream_cls && !rep->body) {
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
							 rep->stream_read, rep->stream_cls,
							 rep->stream_free);
		/* From here on libmicrohttpd frees it, with the response. */
		if (resp)
			rep->stream_cls = NULL;
	} else if (rep->raw) {
		resp = MHD_create_response_from_buffer(rep->raw_len, rep->raw,
						       MHD_RESPMEM_MUST_FREE);
		if (resp)
			rep->raw = NULL;
	} else if (text && rep->status == 200 && etag_applies(method, route)) {
		size_t len = strlen(text);

		/* Of the body as sent: the same resource, the same tag. */
		etag_of(text, len, etag);
		if (etag_matches(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "If-None-Match"), etag)) {
			rep->status = 304;
			free(text);
			text = NULL;
			resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
		} else {
			char *nl = realloc(text, len + 2);

			if (nl) {
				text = nl;
				text[len++] = '\n';
				text[len] = '\0';
			}
			resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		}
	} else if (text) {
		size_t len = strlen(text);

		/* A trailing newline keeps curl output readable. */
		char *nl = realloc(text, len + 2);

		if (nl) {
			text = nl;
			text[len++] = '\n';
			text[len] = '\0';
		}
		resp = MHD_create_response_from_buffer(len, text,
						       MHD_RESPMEM_MUST_FREE);
	} else {
		if (!rep->empty)
			rep->status = 500;
		resp = MHD_create_response_from_buffer(0, "",
						       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (etag[0])
		MHD_add_response_header(resp, "ETag", etag);
	if (rep->raw_type)
		MHD_add_response_header(resp, "Content-Type", rep->raw_type);
	else if (rep->status == 304)
		; /* no body, no type */
	else if (!rep->empty)
		MHD_add_response_header(resp, "Content-Type",
					rep->status >= 400 ? "application/problem+json"
							   : "application/json");
	if (rep->extra_name[0])
		MHD_add_response_header(resp, rep->extra_name, rep->extra_value);
	if (rep->extra2_name[0])
		MHD_add_response_header(resp, rep->extra2_name, rep->extra2_value);
	if (rep->location[0])
		MHD_add_response_header(resp, "Location", rep->location);
	MHD_add_response_header(resp, "X-Request-Id", ex->id);
	/* While draining, a kept-alive connection would only be cut off by
	 * the stop; the client had better open its next one elsewhere. */
	if (closing)
		MHD_add_response_header(resp, "Connection", "close");
	if (rep->allow[0])
		MHD_add_response_header(resp, "Allow", rep->allow);
	ret = MHD_queue_response(conn, rep->status, resp);
	MHD_destroy_response(resp);

	clock_gettime(CLOCK_MONOTONIC, &end);
	log_request(rep->status >= 500 ? LOG_ERROR : LOG_INFO, ex->id, method, url,
		    (int)rep->status,
		    (double)(end.tv_sec - ex->start.tv_sec) * 1e3 +
			    (double)(end.tv_nsec - ex->start.tv_nsec) / 1e6,
		    uid);
	metrics_request(route ? route : "unmatched", method, rep->status,
			(double)(end.tv_sec - ex->start.tv_sec) +
				(double)(end.tv_nsec - ex->start.tv_nsec) / 1e9);
	return ret;
}

static bool json_content_type(struct MHD_Connection *conn)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "Content-Type");
	size_t n = strlen("application/json");

	return ct && !strncasecmp(ct, "application/json", n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* POST /v1/vms/{id}/console takes raw bytes: its handler checks their
 * Content-Type and size itself. */
static bool raw_body_route(const struct route_match *m)
{
	return m->status == 200 && m->route == ROUTE_IDX_handle_vm_console_post;
}

static bool append_body(struct exchange *ex, const char *data, size_t size,
			size_t limit)
{
	if (ex->too_big || size > limit - ex->len) {
		ex->too_big = true;
		return true;
	}
	if (ex->len + size + 1 > ex->cap) {
		size_t cap = ex->cap ? ex->cap : 4096;
		char *p;

		while (cap < ex->len + size + 1)
			cap *= 2;
		p = realloc(ex->body, cap);
		if (!p)
			return false;
		ex->body = p;
		ex->cap = cap;
	}
	memcpy(ex->body + ex->len, data, size);
	ex->len += size;
	ex->body[ex->len] = '\0';
	return true;
}

/*
 * The request line is complete: keeps the target exactly as sent, before
 * libmicrohttpd decodes it (leniently, and in place), and starts the
 * exchange. What is returned becomes *con_cls.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct exchange *ex = calloc(1, sizeof(*ex));

	(void)cls;
	(void)conn;
	if (!ex)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &ex->start);
	ex->target = strdup(uri ? uri : "");
	return ex;
}

/* Decodes the query into ex->args; false with *bad naming the culprit. */
static bool decode_query(struct exchange *ex, const char *query, char *bad,
			 size_t badlen, const char **why)
{
	struct uri_param params[MAX_QUERY_ARGS];
	struct uri_error e;
	size_t used = 0, size;
	int n = uri_split_query(query, params, MAX_QUERY_ARGS);

	if (n < 0) {
		snprintf(bad, badlen, "query");
		*why = "more than 16 query parameters";
		return false;
	}
	size = strlen(query ? query : "") + 2 * (size_t)n + 1;
	ex->args_buf = malloc(size);
	if (!ex->args_buf) {
		snprintf(bad, badlen, "query");
		*why = "out of memory";
		return false;
	}
	for (int i = 0; i < n; i++) {
		char *key = ex->args_buf + used, *value;

		if (!uri_decode(params[i].key, params[i].key_len, true, key, size - used, &e) ||
		    !*key) {
			uri_escape_for_display(params[i].key, params[i].key_len, bad, badlen);
			*why = *key ? e.why : "an empty parameter name";
			return false;
		}
		used += strlen(key) + 1;
		value = ex->args_buf + used;
		if (!uri_decode(params[i].value, params[i].value_len, true, value,
				size - used, &e)) {
			snprintf(bad, badlen, "%s", key);
			*why = e.why;
			return false;
		}
		used += strlen(value) + 1;
		ex->args[i].key = key;
		ex->args[i].value = value;
	}
	ex->nargs = (size_t)n;
	return true;
}

/* The headers that say where a body ends. */
struct framing {
	unsigned ncl, nte;
	const char *cl;   /* the first Content-Length */
	bool cl_differs;  /* a later one says something else */
	const char *te;   /* the first Transfer-Encoding */
};

static enum MHD_Result note_framing(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (!key || !value)
		return MHD_YES;
	if (!strcasecmp(key, "Content-Length")) {
		if (f->ncl++ == 0)
			f->cl = value;
		else if (strcmp(f->cl, value))
			f->cl_differs = true;
	} else if (!strcasecmp(key, "Transfer-Encoding")) {
		if (f->nte++ == 0)
			f->te = value;
	}
	return MHD_YES;
}

/*
 * Refuses the request shapes where two parsers could disagree on where
 * the body ends (RFC 9112 section 6.3): the bytes after it would then be
 * run as a request of their own, smuggled past whatever sits in front.
 */
static bool refuse_framing(struct MHD_Connection *conn, struct reply *rep)
{
	struct framing f = { 0 };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, note_framing, &f);
	if (f.cl_differs) {
		reply_problem(rep, 400, "conflicting_content_length", "Content-Length",
			      "the request has Content-Length headers that disagree");
		return true;
	}
	if (f.nte && f.ncl) {
		reply_problem(rep, 400, "conflicting_framing", "Transfer-Encoding",
			      "the request has both Transfer-Encoding and Content-Length");
		return true;
	}
	if (f.nte > 1 || (f.te && strcasecmp(f.te, "chunked"))) {
		reply_problem(rep, 400, "unsupported_transfer_encoding", "Transfer-Encoding",
			      "the only transfer coding accepted is a single \"chunked\"");
		return true;
	}
	return false;
}

/*
 * What can be refused from the request line and headers alone, before any
 * body is read. Fills rep and returns true on refusal; else ex->path and
 * the query are decoded.
 */
static bool refuse_early(struct exchange *ex, struct MHD_Connection *conn,
			 const struct listener *l, const char *method,
			 struct reply *rep)
{
	const char *q = ex->target ? strchr(ex->target, '?') : NULL;
	size_t plen = ex->target ? (q ? (size_t)(q - ex->target) : strlen(ex->target)) : 0;
	char bad[256];
	const char *why;
	struct uri_error e = { 0 };

	if (!ex->target) {
		reply_json(rep, 500, NULL);
		return true;
	}
	if (!uri_method_ok(method)) {
		reply_problem(rep, 400, "bad_method", "method",
			      "the method \"%s\" is not an HTTP token of 1..%d characters",
			      ex->log_method, URI_METHOD_MAX);
		return true;
	}
	if (refuse_framing(conn, rep))
		return true;
	/* Before the body: an unauthenticated upload is never buffered. */
	if (!authorized(conn, l)) {
		reply_problem(rep, 401, "unauthorized", NULL,
			      "this listener needs Authorization: Bearer <token>");
		snprintf(rep->extra_name, sizeof(rep->extra_name), "WWW-Authenticate");
		snprintf(rep->extra_value, sizeof(rep->extra_value), "Bearer realm=\"pinvm\"");
		return true;
	}
	ex->path = malloc(plen + 1);
	if (!ex->path) {
		reply_json(rep, 500, NULL);
		return true;
	}
	if (!uri_decode(ex->target, plen, false, ex->path, plen + 1, &e) || ex->path[0] != '/') {
		free(ex->path);
		ex->path = NULL;
		reply_problem(rep, 400, "bad_path", "path", "the path %s cannot be used: %s",
			      ex->log_path ? ex->log_path : "",
			      e.why && ex->target[0] == '/' ? e.why : "it must start with '/'");
		return true;
	}
	if (!decode_query(ex, q ? q + 1 : NULL, bad, sizeof(bad), &why)) {
		reply_problem(rep, 400, "bad_query", bad,
			      "query parameter \"%s\" cannot be used: %s", bad, why);
		return true;
	}
	route_match(method, ex->path, &ex->match);
	return false;
}

/* Fills ex's printable method and path for logs and messages. */
static void set_log_names(struct exchange *ex, const char *method)
{
	size_t len;

	uri_escape_for_display(method, strlen(method), ex->log_method,
			       sizeof(ex->log_method));
	if (!ex->target)
		return;
	len = strcspn(ex->target, "?");
	ex->log_path = malloc(3 * len + 1);
	if (ex->log_path)
		uri_escape_for_display(ex->target, len, ex->log_path, 3 * len + 1);
}

/* Gives conn's watchdog entry a new deadline, seconds from now (0: none). */
static void rearm(struct server *srv, struct MHD_Connection *conn, unsigned seconds)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (srv->deadlines && ci && ci->socket_context)
		deadlines_set(srv->deadlines, ci->socket_context, seconds);
}

/*
 * Connections come and go: each is watched from accept() to close, its
 * first deadline being the end of its headers.
 */
static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct server *srv = cls;
	const union MHD_ConnectionInfo *ci;

	if (!srv->deadlines)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci ? deadlines_add(srv->deadlines, ci->connect_fd,
						     srv->header_timeout)
				     : NULL;
	} else if (*socket_context) {
		deadlines_remove(srv->deadlines, *socket_context);
		*socket_context = NULL;
	}
}

/* Routes req, unless an Idempotency-Key on a POST has its answer already. */
static void dispatch_once(struct server *srv, struct MHD_Connection *conn,
			  struct request *req, struct reply *rep)
{
	const char *key = srv->idem && !strcmp(req->method, "POST")
				  ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								"Idempotency-Key")
				  : NULL;
	struct idem_ticket t = { 0 };

	if (key && idem_begin(srv->idem, key, req->method, req->path, req->body,
			      req->body_len, rep, &t))
		return;
	router_dispatch(req, rep);
	idem_finish(srv->idem, &t, rep);
}

/* A job's thread: the handler's answer, then the connection is woken. */
static void answer_offloaded(void *arg)
{
	struct exchange *ex = arg;
	struct MHD_Connection *conn = ex->conn;

	dispatch_once(ex->req.srv, conn, &ex->req, &ex->rep);
	atomic_store(&ex->offload, OFFLOAD_DONE);
	/* From here on ex is the connection's thread's again. */
	MHD_resume_connection(conn);
}

/*
 * Hands req to a job of its own and suspends conn until the answer is in
 * ex->rep. The suspension comes first: the job may resume it at once.
 */
static void offload(struct exchange *ex, struct MHD_Connection *conn,
		    const struct request *req)
{
	ex->req = *req;
	ex->conn = conn;
	memset(&ex->rep, 0, sizeof(ex->rep));
	atomic_store(&ex->offload, OFFLOAD_RUNNING);
	MHD_suspend_connection(conn);
	if (http_offload_start(answer_offloaded, ex) == 0)
		return;
	/* No thread to be had: answered here, as before there were jobs. */
	log_msg(LOG_WARN, "no thread for %s %s; answering it in place", ex->log_method,
		ex->path);
	answer_offloaded(ex);
}

static bool octet_stream(struct MHD_Connection *conn)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	size_t n = strlen("application/octet-stream");

	return ct && !strncasecmp(ct, "application/octet-stream", n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* How far over --max-snapshot-bytes an upload is still read to its end
 * before its 413 (see begin_upload). */
#define UPLOAD_DRAIN_BYTES (64ULL << 20)

/*
 * A snapshot upload is not buffered like JSON bodies: it goes to an
 * unlinked file from its first byte. Fills rep (413) when Content-Length
 * already says it is too large; false when this is no upload.
 */
static bool begin_upload(struct exchange *ex, struct MHD_Connection *conn,
			 const struct server *srv, const char *method, struct reply *rep)
{
	const char *cl;
	char root[PATH_MAX];

	if (strcmp(method, "POST") || strcmp(ex->path, "/v1/snapshots") || !octet_stream(conn))
		return false;
	ex->uploading = true;
	ex->upload_fd = -1;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > srv->max_snapshot_bytes) {
		/*
		 * An answer sent while the client still sends, then the close,
		 * reaches it as a reset instead of the 413 (libmicrohttpd has
		 * no lingering close as nginx does). A little over the limit
		 * is read and dropped (upload_chunk), then answered; far over,
		 * answered at once.
		 */
		if (strtoull(cl, NULL, 10) - srv->max_snapshot_bytes <= UPLOAD_DRAIN_BYTES) {
			ex->too_big = true;
			return true;
		}
		reply_problem(rep, 413, "snapshot_too_large", "archive",
			      "the archive is %s bytes; this pinvmd takes at most %llu "
			      "(--max-snapshot-bytes)", cl, srv->max_snapshot_bytes);
		return true;
	}
	if (snprintf(root, sizeof(root), "%s/snapshots", srv->state_dir) >= (int)sizeof(root)) {
		ex->upload_err = ENAMETOOLONG;
		return true;
	}
	mkdir(root, 0700);
	ex->upload_fd = open(root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (ex->upload_fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* No O_TMPFILE here: a named file, unlinked at once (a crash in
		 * between leaves a .tmp-upload-* the start-up sweep removes). */
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/.tmp-upload-XXXXXX", root);
		ex->upload_fd = mkostemp(path, O_CLOEXEC);
		if (ex->upload_fd >= 0)
			unlink(path);
	}
	if (ex->upload_fd < 0)
		ex->upload_err = errno;
	return true;
}

static void upload_chunk(struct exchange *ex, const char *data, size_t size,
			 unsigned long long limit)
{
	if (ex->too_big || ex->upload_err || ex->upload_fd < 0)
		return;
	if (size > limit - ex->upload_len) {
		ex->too_big = true;
		/* Give the disk back at once; the rest is read and dropped. */
		if (ftruncate(ex->upload_fd, 0) < 0)
			ex->upload_err = errno;
		return;
	}
	for (size_t done = 0; done < size;) {
		ssize_t n = write(ex->upload_fd, data + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ex->upload_err = n < 0 ? errno : EIO;
			if (ftruncate(ex->upload_fd, 0) < 0)
				ex->upload_err = errno;
			return;
		}
		done += (size_t)n;
	}
	ex->upload_len += size;
}

/* Sends rep, the answer to req, and lets go of what it holds. */
static enum MHD_Result finish(struct MHD_Connection *conn, struct exchange *ex,
			      const struct listener *l, const struct request *req,
			      struct reply *rep)
{
	enum MHD_Result ret;

	ret = send_reply(conn, ex, ex->log_method,
			 ex->path ? ex->path : ex->log_path ? ex->log_path : "",
			 rep, peer_uid(conn, l), req->route,
			 rep->close || atomic_load(&l->srv->draining));
	json_decref(rep->body);
	rep->body = NULL;
	prepared_unref(rep->prepared);
	rep->prepared = NULL;
	free(rep->raw);
	rep->raw = NULL;
	if (rep->stream_cls)
		rep->stream_free(rep->stream_cls);
	rep->stream_cls = NULL;
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct server *srv = l->srv;
	struct exchange *ex = *con_cls;
	struct reply rep = { 0 };
	struct request req = { 0 };

	(void)version;
	(void)url; /* decoded leniently by libmicrohttpd; ex->target is used */
	if (!ex)
		return MHD_NO;
	switch (atomic_load(&ex->offload)) {
	case OFFLOAD_RUNNING:
		return MHD_YES; /* suspended; its job resumes it */
	case OFFLOAD_DONE:
		atomic_store(&ex->offload, OFFLOAD_NONE);
		return finish(conn, ex, l, &ex->req, &ex->rep);
	}
	if (!ex->begun) {
		ex->begun = true;
		make_request_id(conn, ex->id);
		atomic_fetch_add(&srv->in_flight, 1);
		set_log_names(ex, method);
		if (!refuse_early(ex, conn, l, method, &rep) &&
		    !(begin_upload(ex, conn, srv, method, &rep) && rep.status)) {
			free(ex->log_path);
			ex->log_path = NULL;
			/* Headers are in; the body has its own deadline. */
			rearm(srv, conn, srv->body_timeout);
			return MHD_YES;
		}
		rearm(srv, conn, 0);
		/* Answered before the body: whatever follows the headers is
		 * never read, so the connection cannot be reused. */
		rep.close = true;
	} else if (*upload_size && ex->uploading) {
		upload_chunk(ex, upload, *upload_size, srv->max_snapshot_bytes);
		*upload_size = 0;
		return MHD_YES;
	} else if (*upload_size) {
		if (!append_body(ex, upload, *upload_size, srv->body_limit))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	} else {
		/* The whole request is in: answering it (a probe guest may
		 * take seconds) has no deadline. */
		rearm(srv, conn, 0);
	}
	if (rep.status) {
		/* refused from its headers above */
	} else if (ex->uploading && ex->too_big) {
		reply_problem(&rep, 413, "snapshot_too_large", "archive",
			      "the archive exceeds %llu bytes (--max-snapshot-bytes)",
			      srv->max_snapshot_bytes);
	} else if (ex->uploading && ex->upload_err) {
		reply_problem(&rep, ex->upload_err == ENOSPC ? 507 : 500,
			      ex->upload_err == ENOSPC ? "insufficient_storage" : "state_error",
			      NULL, "cannot keep the upload: %s", strerror(ex->upload_err));
	} else if (ex->too_big) {
		reply_problem(&rep, 413, "body_too_large", NULL,
			      "request body exceeds %zu bytes", srv->body_limit);
	} else if (ex->len && !ex->uploading && !json_content_type(conn) &&
		   !raw_body_route(&ex->match)) {
		/* The one route that takes something else says so. */
		bool archive = !strcmp(method, "POST") && ex->path &&
			       !strcmp(ex->path, "/v1/snapshots");

		reply_problem(&rep, 415, "unsupported_media_type", "Content-Type",
			      "%s: send the header \"Content-Type: %s\"",
			      archive ? "POST /v1/snapshots takes a snapshot archive"
				      : "request bodies must be JSON",
			      archive ? "application/octet-stream" : "application/json");
	} else {
		req.srv = srv;
		req.conn = conn;
		req.method = method;
		req.path = ex->path;
		req.query = ex->args;
		req.nquery = ex->nargs;
		req.body = ex->body ? ex->body : "";
		req.body_len = ex->len;
		req.has_upload = ex->uploading;
		req.upload_fd = ex->uploading ? ex->upload_fd : -1;
		req.upload_len = ex->upload_len;
		memcpy(req.id, ex->id, sizeof(req.id));
		req.match = &ex->match;
		if (http_offload_wanted(&ex->match)) {
			offload(ex, conn, &req);
			return MHD_YES;
		}
		dispatch_once(srv, conn, &req, &rep);
	}
	return finish(conn, ex, l, &req, &rep);
}

/* Once the response is sent, or the request abandoned: the end of what a
 * drain waits for. */
static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct exchange *ex = *con_cls;

	(void)toe;
	/* Kept alive: the next request's headers are due within the idle
	 * timeout and the header timeout together. */
	rearm(srv, conn, srv->idle_timeout + srv->header_timeout);
	if (ex) {
		if (ex->begun)
			atomic_fetch_sub(&srv->in_flight, 1);
		free(ex->target);
		free(ex->path);
		free(ex->log_path);
		free(ex->args_buf);
		free(ex->body);
		if (ex->uploading && ex->upload_fd >= 0)
			close(ex->upload_fd);
		free(ex);
		*con_cls = NULL;
	}
}

/* The first complaint libmicrohttpd made in this thread since it was
 * cleared: the cause, where later lines only say what failed because of it. */
static _Thread_local char mhd_first_error[256];

/* libmicrohttpd's own messages (a failed TLS handshake, a bad certificate)
 * become JSON log lines like ours unless cls is NULL (only kept). */
__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	if (!mhd_first_error[0])
		memcpy(mhd_first_error, line, sizeof(line));
	if (cls)
		log_msg(LOG_WARN, "libmicrohttpd: %s", line);
}

int http_tls_check(const char *cert, const char *key, char *err, size_t errlen)
{
	struct MHD_Daemon *d;

	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "this libmicrohttpd was built without TLS");
		return -ENOTSUP;
	}
	/* A daemon without a socket parses and pairs the certificate and key
	 * exactly as the serving daemons will, before anything is opened. */
	mhd_first_error[0] = '\0';
	d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_TLS |
				     MHD_USE_ERROR_LOG,
			     0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
			     MHD_OPTION_HTTPS_MEM_CERT, cert,
			     MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_END);
	if (!d) {
		snprintf(err, errlen, "%s", mhd_first_error[0] ? mhd_first_error
							       : "libmicrohttpd refused them");
		return -EINVAL;
	}
	MHD_stop_daemon(d);
	return 0;
}

int http_serve(struct server *srv, int fd, bool is_unix, bool require_token,
	       bool tls, char *err, size_t errlen)
{
	struct listener *l;
	struct MHD_Daemon *d;
	/* An array so one option list serves both plain HTTP and HTTPS. */
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (srv->ndaemons >= SERVER_MAX_LISTENERS) {
		close(fd);
		snprintf(err, errlen, "at most %d listeners", SERVER_MAX_LISTENERS);
		return -E2BIG;
	}
	if (tls && (!srv->tls_cert || !srv->tls_key)) {
		close(fd);
		snprintf(err, errlen, "TLS without a certificate and key");
		return -EINVAL;
	}
	l = &srv->listeners[srv->ndaemons];
	l->srv = srv;
	l->is_unix = is_unix;
	l->require_token = require_token;
	l->tls = tls;
	l->quiesced_fd = -1;
	mhd_first_error[0] = '\0';
	if (!srv->deadlines && deadlines_start(&srv->deadlines, err, errlen) < 0) {
		close(fd);
		return -ENOMEM;
	}
	/*
	 * poll(), not epoll: with epoll's edge triggering, libmicrohttpd
	 * missed the end of a connection whose client sent half a request
	 * and closed, and kept it (CLOSE-WAIT) until the idle timeout; 600
	 * such clients locked everyone out. MHD_USE_ITC: a thread-pool
	 * daemon can only be quiesced with it, and a resumed connection is
	 * served at once with it. Suspend/resume: an idle event subscriber
	 * (events.h) is parked, not polled, which also rules out
	 * thread-per-connection (libmicrohttpd refuses suspend there).
	 *
	 * Chosen by measurement (tests/bench/load.sh, 2 CPUs shared with wrk,
	 * nginx and other work at load 11-16, two rounds, pinvmd req/s GET
	 * profile / POST compatibility): poll x4 9837/8601, 14030/9658; poll
	 * x2 10964/7258, 11810/11631; poll x1 8258/10776, 9608/11076; epoll
	 * x2 12876/11844, 12586/11294; epoll x4 15628/14899, 11941/8679. No
	 * mode wins beyond the noise, so poll (for the reason above) with 4
	 * threads (a handler waiting on SQLite or a VMM holds only one).
	 *
	 * The memory pool: libmicrohttpd zeroes a connection's whole pool
	 * between the requests it keeps alive; at 256 KiB that memset was 20%
	 * of pinvmd's CPU under load (perf). 32 KiB (its default) holds any
	 * request line and headers pinvmd takes; bodies are streamed to us.
	 */
	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD |
				     MHD_USE_ITC | MHD_USE_ERROR_LOG |
				     MHD_ALLOW_SUSPEND_RESUME |
				     (tls ? MHD_USE_TLS : 0),
			     0, NULL, NULL, on_request, l,
			     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
			     MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)4,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)srv->idle_timeout,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)srv->max_connections,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)srv->max_per_peer,
			     MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			     MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
			     MHD_OPTION_ARRAY, tls_opts,
			     MHD_OPTION_END);
	if (!d) {
		close(fd);
		snprintf(err, errlen, "libmicrohttpd refused to start%s%s",
			 mhd_first_error[0] ? ": " : "", mhd_first_error);
		return -EIO;
	}
	srv->daemons[srv->ndaemons++] = d;
	return 0;
}

unsigned http_quiesce_all(struct server *srv)
{
	size_t i;

	atomic_store(&srv->draining, true);
	for (i = 0; i < srv->ndaemons; i++) {
		struct listener *l = &srv->listeners[i];
		MHD_socket fd;

		if (l->quiesced_fd >= 0)
			continue;
		fd = MHD_quiesce_daemon(srv->daemons[i]);
		if (fd == MHD_INVALID_SOCKET) {
			log_msg(LOG_WARN, "listener %zu cannot stop accepting; it "
				"serves on until the stop", i);
			continue;
		}
		/* libmicrohttpd's threads may still hold the fd, so it is closed
		 * only after the stop; shutdown() already refuses connections
		 * (and resets those waiting in the backlog) without freeing the
		 * number for reuse. */
		if (shutdown(fd, SHUT_RDWR) < 0)
			log_msg(LOG_WARN, "shutdown of listener %zu: %s", i,
				strerror(errno));
		l->quiesced_fd = fd;
	}
	return http_in_flight(srv);
}

unsigned http_in_flight(struct server *srv)
{
	return atomic_load(&srv->in_flight);
}

void http_stop_all(struct server *srv)
{
	/* A suspended connection must be resumed before its daemon stops:
	 * the jobs still answering (a create under way) finish first. */
	http_offload_wait_all();
	while (srv->ndaemons) {
		struct listener *l = &srv->listeners[--srv->ndaemons];

		/* Closes the listening socket too, unless it was quiesced. */
		MHD_stop_daemon(srv->daemons[srv->ndaemons]);
		if (l->quiesced_fd >= 0) {
			close(l->quiesced_fd);
			l->quiesced_fd = -1;
		}
	}
	/* Every connection is closed now, so none is watched any more. */
	deadlines_stop(srv->deadlines);
	srv->deadlines = NULL;
}
