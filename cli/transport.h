/*
 * The CLI's one way to talk to pinvmd: a blocking libcurl request over a
 * Unix socket or HTTP(S), with the bearer token and CA the user gave.
 */
#ifndef PINVM_CLI_TRANSPORT_H
#define PINVM_CLI_TRANSPORT_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* Where pinvmd is and how to prove who we are. Borrowed strings. */
struct endpoint {
	const char *url;         /* "http://host:port" or "https://..." */
	const char *unix_path;   /* non-NULL: connect over this socket */
	const char *cacert;      /* PEM bundle for https, or NULL */
	char token[256];         /* bearer token, "" for none */
};

/* One answer. Everything here is owned by the response. */
struct response {
	long status;             /* HTTP status; 0 when nothing came back */
	char *body;              /* NUL-terminated, possibly empty */
	size_t len;
	json_t *json;            /* body parsed when it is JSON, else NULL */
	long long next_offset;   /* X-Console-Next-Offset, -1 when absent */
	long long start_offset;  /* X-Console-Offset, -1 when absent */
	char error[256];         /* why nothing came back (status 0) */
};

/*
 * Reads a token file: its first line, surrounding whitespace trimmed,
 * into out (len bytes at most with its NUL). Returns 0, or -1 with a
 * message in err.
 */
int token_file_read(const char *path, char *out, size_t len, char *err, size_t errlen);

/* The same into ep->token. */
int endpoint_read_token(struct endpoint *ep, const char *path, char *err,
			size_t errlen);

/*
 * The socket pinvmd listens on when started without --listen, by the same
 * rule as pinvmd: /run/pinvm/pinvmd.sock as root, else
 * $XDG_RUNTIME_DIR/pinvm/pinvmd.sock, else /tmp/pinvm-UID/pinvmd.sock.
 * Returns 0, or -1 when it does not fit in len.
 */
int endpoint_default_socket(char *out, size_t len);

/*
 * Sends method path (with its query) and, when body is non-NULL, a JSON
 * body. Always fills *r (free it with response_free). Returns 0 when an
 * HTTP answer came back, whatever its status, or -1 with r->error set
 * (connection refused, no such socket, TLS failure, timeout...).
 */
int transport_request(const struct endpoint *ep, const char *method,
		      const char *path, const char *body, struct response *r);

/* The same with a raw body of len bytes and its Content-Type. */
int transport_request_raw(const struct endpoint *ep, const char *method, const char *path,
			  const char *content_type, const void *body, size_t len,
			  struct response *r);

/*
 * A request whose bodies are too large, or too long-lived, to hold in
 * memory: an event stream, a snapshot archive going either way. Every
 * pointer is borrowed for the call.
 */
struct transfer {
	const char *method;        /* "GET", "POST" */
	const char *accept;        /* the Accept header's value */
	const char *header;        /* one more "Name: value" line, or NULL */
	/* A 2xx answer's body as it comes (return non-zero to stop reading:
	 * the call still returns 0). NULL: collected into *r like any other
	 * answer, which always is. */
	int (*on_data)(const char *data, size_t n, void *arg);
	void *data_arg;
	/* The request's body, when there is one: reads up to n bytes into
	 * buf and returns how many (0 at its end), or -1 to abort. */
	long (*on_read)(char *buf, size_t n, void *arg);
	void *read_arg;
	long long size;            /* the body's length; -1: unknown (chunked) */
	const char *content_type;  /* the body's */
	/* Set (by a signal handler) to end the transfer within a second,
	 * even while the server sends nothing; NULL: never. */
	const volatile sig_atomic_t *stop;
};

/*
 * Performs t with no overall timeout (only the connect's). Always fills
 * *r; r->json holds a collected answer's JSON. Returns 0 when a whole
 * answer came (or on_data stopped it), or -1 with r->error: no answer, a
 * body cut short, on_read's abort or a stop.
 */
int transport_transfer(const struct endpoint *ep, const char *path, const struct transfer *t,
		       struct response *r);

/*
 * A GET of a stream (text/event-stream) that has no end of its own: with a
 * 2xx answer, on_data gets the body as it comes (return non-zero to stop
 * reading); any other answer is collected into *r as transport_request
 * would. header is one more "Name: value" line, or NULL. No overall
 * timeout. Returns 0 when an answer came (the stream then ended, or
 * on_data stopped it), or -1 with r->error.
 */
int transport_stream(const struct endpoint *ep, const char *path, const char *header,
		     int (*on_data)(const char *data, size_t n, void *arg), void *arg,
		     struct response *r);

void response_free(struct response *r);

#endif
