/*
 * This host, as the api/ layer models hosts: its firmware register set
 * read from KVM and, on request, what the probe guest observes under host
 * defaults. Fills a reply with the right problem when KVM is missing or
 * fails, so handlers can simply return.
 */
#ifndef PINVM_SERVER_LIVE_HOST_H
#define PINVM_SERVER_LIVE_HOST_H

#include "hostset.h"
#include "request.h"

#include <stdbool.h>

/*
 * Reads this host into *h (no observation unless with_observed). Returns 0,
 * or a negative errno after filling rep: 503 no_hypervisor, 500 kvm_error,
 * 500 probe_failed.
 */
int live_host_read(struct hostset *h, bool with_observed, struct reply *rep);

/*
 * Puts e's field under prefix: "registers[1].id" under "hosts[2]" becomes
 * "hosts[2].registers[1].id" (an index path is appended without a dot).
 * A result too long for the field keeps the prefix alone.
 */
void api_error_nest(struct api_error *e, const char *prefix);

/* Answers the api_error as problem+json. */
void reply_api_error(struct reply *rep, const struct api_error *e);

/*
 * Parses the request body as a JSON object into *out (new reference).
 * Returns 0, or -EINVAL after filling rep with 400 malformed_json (line
 * and column in the detail) or wrong_type.
 */
int parse_json_body(const struct request *req, struct reply *rep, json_t **out);

#endif
