/*
 * libmicrohttpd glue: collects a request (headers, capped body), routes
 * it, and sends the JSON or problem+json reply with its request id.
 */
#ifndef PINVM_SERVER_HTTP_H
#define PINVM_SERVER_HTTP_H

#include "server.h"

#include <stddef.h>

/*
 * Starts serving on an already listening socket (ownership of fd passes to
 * the daemon, also on failure). A Unix socket's peers are logged by uid; on
 * a listener with require_token every request must carry
 * "Authorization: Bearer <srv->token>" (401 otherwise). Returns 0 or a
 * negative errno with err set.
 */
int http_serve(struct server *srv, int fd, bool is_unix, bool require_token,
	       char *err, size_t errlen);

/* Stops every daemon started with http_serve. */
void http_stop_all(struct server *srv);

#endif
