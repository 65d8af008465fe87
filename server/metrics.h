/*
 * Counters for GET /metrics (Prometheus text format 0.0.4). Every
 * function is thread-safe and cheap; none allocates on the request path
 * once a (route, method, status) has been seen.
 */
#ifndef PINVM_SERVER_METRICS_H
#define PINVM_SERVER_METRICS_H

#include "request.h"

struct compat_report;

/*
 * One answered request; route is the matched pattern or "unmatched"
 * (static strings: compared by address). The method is counted as itself
 * when it is a standard one, else as "other", so clients cannot choose
 * label text or grow the series table.
 */
void metrics_request(const char *route, const char *method, unsigned status,
		     double seconds);

/* A profile applied (report compatible) or refused, by register and rule. */
void metrics_profile(const struct compat_report *r);

void handle_metrics_get(struct request *req, struct reply *rep);

#endif
