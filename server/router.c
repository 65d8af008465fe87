#include "router.h"

#include "handlers.h"
#include "handlers_snapshots.h"
#include "metrics.h"
#include "route_match.h"
#include "route_query.h"

#include <stdlib.h>
#include <string.h>

const struct route router_routes[] = {
#define ROUTE(method, pattern, handler) { method, pattern, handler },
#include "routes.def"
#undef ROUTE
};
const size_t router_nroutes = sizeof(router_routes) / sizeof(router_routes[0]);

_Static_assert(sizeof(router_routes) / sizeof(router_routes[0]) == ROUTE_COUNT,
	       "router_routes and route_table come from the same routes.def");
_Static_assert(ROUTE_MATCH_MAX_PARAMS == REQUEST_MAX_PARAMS,
	       "every {x} a route can match has a place in struct request");
_Static_assert(ROUTE_MATCH_ALLOW_SIZE == sizeof(((struct reply *)0)->allow),
	       "a 405's Allow list fits the reply's header as it was built");

static void free_params(struct request *req)
{
	for (size_t i = 0; i < req->nparams; i++) {
		free(req->params[i]);
		req->params[i] = NULL;
	}
	req->nparams = 0;
}

/* Copies of the {x} segments into req->params; -1 when out of memory. */
static int copy_params(struct request *req, const struct route_match *m)
{
	req->nparams = 0;
	for (size_t i = 0; i < m->nparams; i++) {
		req->params[i] = strndup(m->params[i].start, m->params[i].len);
		if (!req->params[i]) {
			free_params(req);
			return -1;
		}
		req->nparams = i + 1;
	}
	return 0;
}

void router_dispatch(struct request *req, struct reply *rep)
{
	const struct route_match *m = req->match;
	const struct route *r;

	switch (m->status) {
	case 404:
		reply_problem(rep, 404, "not_found", NULL,
			      "no resource at %s", req->path);
		return;
	case 405:
		memcpy(rep->allow, m->allow, sizeof(rep->allow));
		reply_problem(rep, 405, "method_not_allowed", NULL,
			      "%s is not allowed on %s (allowed: %s)", req->method,
			      req->path, rep->allow);
		return;
	}
	r = &router_routes[m->route];
	req->route = r->pattern;
	if (!route_query_check(r->handler, req, rep))
		return;
	if (copy_params(req, m) < 0) {
		reply_problem(rep, 500, "out_of_memory", NULL,
			      "out of memory while routing");
		return;
	}
	r->handler(req, rep);
	free_params(req);
}
