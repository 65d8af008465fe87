/*
 * The query parameters each route takes, so an unknown one is a 400
 * naming it on every route (never silently ignored). A route not listed
 * takes none. Checked by the router before the handler runs.
 */
#ifndef PINVM_SERVER_ROUTE_QUERY_H
#define PINVM_SERVER_ROUTE_QUERY_H

#include "request.h"

#include <stdbool.h>

/* true when req's query fits handler's route; else rep is filled with 400
 * unknown_parameter or duplicate_parameter naming the parameter. */
bool route_query_check(route_handler handler, const struct request *req,
		       struct reply *rep);

#endif
