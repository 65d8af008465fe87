/*
 * One blocking HTTP(S) request over libcurl: the piece the CLI
 * (cli/transport.c) and pinvmd's peer client (server/peer.c) share. It
 * knows nothing of pinvm's routes or documents.
 *
 * Threading: call httpc_global_init() once, before any other thread
 * exists (curl_global_init is not thread-safe); after that each call uses
 * its own easy handle and may run on any thread at the same time as
 * others. Signals are never used (CURLOPT_NOSIGNAL), so timeouts are safe
 * on request threads.
 */
#ifndef PINVM_NET_HTTPC_H
#define PINVM_NET_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

/* What went wrong when no HTTP answer came back. */
enum httpc_failure {
	HTTPC_OK = 0,
	HTTPC_UNREACHABLE,  /* name, connect or route failure, connection cut */
	HTTPC_TIMEOUT,      /* connect or total timeout */
	HTTPC_TLS,          /* handshake or certificate verification */
	HTTPC_TOO_LARGE,    /* the answer passed body_limit */
	HTTPC_LOCAL,        /* out of memory, bad URL, a local file */
};

/* A request. Every pointer is borrowed for the duration of the call. */
struct httpc_call {
	const char *url;          /* whole URL, http:// or https:// */
	const char *method;       /* "GET", "POST", ... */
	const char *unix_path;    /* non-NULL: connect over this socket */
	const char *ca_file;      /* PEM bundle to verify https, or NULL */
	const char *ca_pem;       /* PEM text instead (wins over ca_file) */
	const char *token;        /* bearer token, NULL or "" for none */
	const char *accept;       /* Accept header value, or NULL */
	const char *body;         /* JSON body, or NULL */
	/* Another body type instead (body then holds body_len raw bytes,
	 * which may include NULs); NULL: JSON, its length strlen(body). */
	const char *content_type;
	size_t body_len;
	long connect_timeout_ms;  /* 0: libcurl's default */
	long timeout_ms;          /* whole transfer; 0: none */
	size_t body_limit;        /* answer bytes kept at most (0: 64 MiB) */
	/* Called for each header line (data not NUL-terminated), or NULL. */
	void (*on_header)(const char *data, size_t n, void *arg);
	void *header_arg;
};

/* An answer. body and everything here are owned by the answer. */
struct httpc_answer {
	long status;               /* HTTP status; 0 when none came back */
	char *body;                /* NUL-terminated, "" when empty; NULL on failure */
	size_t len;
	enum httpc_failure failure;
	char error[256];           /* why, when status is 0 */
};

/* curl_global_init, once, before threads. 0 or -1. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

/*
 * Performs the call. Always fills *a (free it with httpc_answer_free).
 * Returns 0 when an HTTP answer came back, whatever its status, or -1
 * with a->failure and a->error set.
 */
int httpc_perform(const struct httpc_call *c, struct httpc_answer *a);

void httpc_answer_free(struct httpc_answer *a);

#endif
