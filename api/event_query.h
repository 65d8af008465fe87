/*
 * What a subscriber to GET /v1/events asks for: where to resume (the
 * Last-Event-ID header or ?last_event_id=) and which events (?vm=, ?type=).
 * Pure parsing of outside input, no I/O; the server decides whether the
 * resumption point is still in its history (410 when it is not).
 */
#ifndef PINVM_API_EVENT_QUERY_H
#define PINVM_API_EVENT_QUERY_H

#include "api_error.h"

#include <stdbool.h>
#include <stdint.h>

#define EVENT_TYPE_MAX 48  /* "vm.state", "snapshot.created": bytes, NUL excluded */
#define EVENT_VM_ID_MAX 39 /* a VM id's length */

struct event_query {
	uint64_t after;       /* deliver events with id > after */
	bool resume;          /* after came from the client */
	char vm[EVENT_VM_ID_MAX + 1];   /* "" = every VM */
	char type[EVENT_TYPE_MAX + 1];  /* "" = every type; "vm." = a family */
};

/*
 * Parses the subscriber's inputs (each NULL when absent; all borrowed)
 * into *q. Returns 0, or -EINVAL with err (may be NULL) filled:
 *   400 conflicting_resume  last_event_id  header and parameter disagree
 *   400 bad_last_event_id   Last-Event-ID or last_event_id: not a decimal
 *                           event id (0 .. 2^63-1, no sign, no spaces)
 *   400 bad_vm_id           vm: empty, too long, or not [A-Za-z0-9_-]
 *   400 bad_event_type      type: not a type name (lowercase letters, digits,
 *                           '_' and '.'; a trailing '.' selects a family)
 * Allocates nothing; *q is zeroed on error.
 */
int event_query_parse(const char *header_last_id, const char *param_last_id,
		      const char *vm, const char *type, struct event_query *q,
		      struct api_error *err);

/* Whether an event of type and vm_id ("" for none) passes q's filters. */
bool event_query_matches(const struct event_query *q, const char *type,
			 const char *vm_id);

/* Whether name is a valid event type to publish: 1..EVENT_TYPE_MAX of
 * [a-z0-9_.], starting with a letter, with no trailing or double '.'. */
bool event_type_valid(const char *name);

#endif
