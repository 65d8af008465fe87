/* Route handlers, one file per resource family. */
#ifndef PINVM_SERVER_HANDLERS_H
#define PINVM_SERVER_HANDLERS_H

#include "request.h"

void handle_host_get(struct request *req, struct reply *rep);
void handle_host_fwregs_get(struct request *req, struct reply *rep);
void handle_host_observed_abi_get(struct request *req, struct reply *rep);

/* How long a probe guest may run before it is stopped. */
#define PROBE_TIMEOUT_MS 10000

#endif
