/*
 * libmicrohttpd glue: collects a request (headers, capped body), routes
 * it, and sends the JSON or problem+json reply with its request id.
 */
#ifndef PINVM_SERVER_HTTP_H
#define PINVM_SERVER_HTTP_H

#include "server.h"

#include <stddef.h>

/*
 * Checks that this libmicrohttpd speaks TLS and accepts the PEM certificate
 * (chain) and private key as a pair. Borrows both. Returns 0, -ENOTSUP
 * without TLS support, or -EINVAL with err saying what GnuTLS disliked.
 */
int http_tls_check(const char *cert, const char *key, char *err, size_t errlen);

/*
 * Starts serving on an already listening socket (ownership of fd passes to
 * the daemon, also on failure). A Unix socket's peers are logged by uid; on
 * a listener with require_token every request must carry
 * "Authorization: Bearer <srv->token>" (401 otherwise); with tls it speaks
 * HTTPS only, with srv->tls_cert and srv->tls_key (which must stay until
 * http_stop_all). Returns 0 or a negative errno with err set.
 */
int http_serve(struct server *srv, int fd, bool is_unix, bool require_token,
	       bool tls, char *err, size_t errlen);

/*
 * The first step of a graceful stop: every listener refuses new connections
 * from now on, while requests already begun run to their response (which
 * then closes its connection). Returns the number of requests in flight.
 * Safe to call more than once; http_stop_all still has to follow.
 */
unsigned http_quiesce_all(struct server *srv);

/* Requests whose headers were read and whose response is not yet sent (or
 * abandoned): what a drain waits for. Idle kept-alive connections do not
 * count. */
unsigned http_in_flight(struct server *srv);

/* Stops every daemon started with http_serve, cutting off whatever is still
 * in flight, and closes their listening sockets. */
void http_stop_all(struct server *srv);

#endif
