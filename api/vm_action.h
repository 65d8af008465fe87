/*
 * A VM action request (POST /v1/vms/{id}/actions): {"action": NAME}.
 * Which actions are legal from which state is the server's business; this
 * is only the body's shape.
 */
#ifndef PINVM_API_VM_ACTION_H
#define PINVM_API_VM_ACTION_H

#include "api_error.h"

#include <jansson.h>

enum vm_action { VM_ACTION_START, VM_ACTION_PAUSE, VM_ACTION_RESUME, VM_ACTION_STOP };
#define VM_ACTION_COUNT 4

/* "start", "pause", "resume", "stop". */
const char *vm_action_name(enum vm_action a);

/*
 * Parses an action body (borrowed). Returns 0 with *out set, or -EINVAL
 * with err (may be NULL) filled, checking in this order:
 *   400 wrong_type     ""        body is not a JSON object
 *   422 unknown_field  <key>     a member other than "action"
 *   422 missing_field  "action"
 *   400 wrong_type     "action"  not a string
 *   422 bad_action     "action"  not one of the four names
 * Allocates nothing.
 */
int vm_action_parse(const json_t *body, enum vm_action *out, struct api_error *err);

#endif
