/*
 * A VM action request (POST /v1/vms/{id}/actions): {"action": NAME}, and
 * for "shutdown" an optional "timeout_s". Which actions are legal from
 * which state is the server's business; this is only the body's shape.
 */
#ifndef PINVM_API_VM_ACTION_H
#define PINVM_API_VM_ACTION_H

#include "api_error.h"

#include <jansson.h>

enum vm_action {
	VM_ACTION_START,
	VM_ACTION_PAUSE,
	VM_ACTION_RESUME,
	VM_ACTION_STOP,
	VM_ACTION_SHUTDOWN, /* press the power button; a hard stop after timeout_s */
	VM_ACTION_REBOOT,   /* a hard reset in the same pinvm-vmm */
};
#define VM_ACTION_COUNT 6

/* How long a shutdown waits for the guest by default, and the bounds. */
#define VM_ACTION_SHUTDOWN_TIMEOUT_DEFAULT 30u
#define VM_ACTION_SHUTDOWN_TIMEOUT_MAX 3600u

struct vm_action_req {
	enum vm_action action;
	unsigned timeout_s; /* shutdown: 1..MAX (the default when absent); else 0 */
};

/* "start", "pause", "resume", "stop", "shutdown", "reboot". */
const char *vm_action_name(enum vm_action a);

/*
 * Parses an action body (borrowed). Returns 0 with *out set, or -EINVAL
 * with err (may be NULL) filled, checking in this order:
 *   400 wrong_type     ""           body is not a JSON object
 *   422 unknown_field  <key>        a member other than "action", "timeout_s"
 *   422 missing_field  "action"
 *   400 wrong_type     "action"     not a string
 *   422 bad_action     "action"     not one of the six names
 *   422 unknown_field  "timeout_s"  given with an action other than shutdown
 *   400 wrong_type     "timeout_s"  not an integer
 *   422 out_of_range   "timeout_s"  not within 1..VM_ACTION_SHUTDOWN_TIMEOUT_MAX
 * Allocates nothing.
 */
int vm_action_parse_req(const json_t *body, struct vm_action_req *out,
			struct api_error *err);

/* The same, for callers that need the action only. */
int vm_action_parse(const json_t *body, enum vm_action *out, struct api_error *err);

#endif
