/*
 * Dispatching to the route table (routes.def, the single list of what
 * pinvmd serves). Matching (route_match.h) decides between a handler, 404
 * (no such path) and 405 (path exists, other method).
 */
#ifndef PINVM_SERVER_ROUTER_H
#define PINVM_SERVER_ROUTER_H

#include "request.h"

struct route {
	const char *method;
	const char *pattern; /* "/v1/profiles/{name}": {x} matches one segment */
	route_handler handler;
};

/*
 * Dispatches req to the route req->match found, filling req->params and calling the
 * handler; or fills rep with 404/405 itself. Never fails: out of memory
 * becomes a 500 reply.
 */
void router_dispatch(struct request *req, struct reply *rep);

/* The table with its handlers, for tests and the OpenAPI cross-check:
 * router_routes[i] is route_table[i] (route_match.h) plus the handler. */
extern const struct route router_routes[];
extern const size_t router_nroutes;

#endif
