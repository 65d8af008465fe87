/*
 * Matching a request line against the route table (routes.def): a route,
 * 404 (no route has this path) or 405 (some route has it, under another
 * method). Pure: no allocation, no I/O, no HTTP library; the fuzz build
 * compiles it alone.
 */
#ifndef PINVM_SERVER_ROUTE_MATCH_H
#define PINVM_SERVER_ROUTE_MATCH_H

#include <stddef.h>

#define ROUTE_MATCH_MAX_PARAMS 4
#define ROUTE_MATCH_ALLOW_SIZE 64

/* ROUTE_IDX_<handler>: a route's index in route_table (and router_routes). */
enum route_index {
#define ROUTE(method, pattern, handler) ROUTE_IDX_##handler,
#include "routes.def"
#undef ROUTE
	ROUTE_COUNT
};

struct route_spec {
	const char *method;
	const char *pattern;
};

/* Methods and patterns of routes.def, in its order. */
extern const struct route_spec route_table[ROUTE_COUNT];

/* A {x} segment of the path: borrowed, not NUL-terminated, never empty,
 * never containing '/'. */
struct route_param {
	const char *start; /* points into the path given to route_match() */
	size_t len;
};

struct route_match {
	unsigned status;  /* 200 (a route), 404 or 405 */
	size_t route;     /* 200: its index in route_table; else ROUTE_COUNT */
	size_t nparams;   /* 200: the {x} segments in pattern order; else 0 */
	struct route_param params[ROUTE_MATCH_MAX_PARAMS];
	/* 405: the methods the path has, in table order ("GET, DELETE"),
	 * as many as fit; else "". */
	char allow[ROUTE_MATCH_ALLOW_SIZE];
};

/*
 * Matches method and path (NUL-terminated, borrowed; path as the HTTP
 * layer decoded it, without the query) and fills *m; returns m->status.
 * HEAD matches as GET. Segments compare byte for byte: no decoding, no
 * "." or ".." resolution, no empty segments ("//", trailing "/"), so
 * "/v1/vms/.." is the VM with id "..", and "/v1/vms/" is 404.
 */
unsigned route_match(const char *method, const char *path,
		     struct route_match *m);

#endif
