/*
 * GET /v1/vms?state=&name=&label=&limit=&cursor=: which VMs, how many.
 * Pure parsing; the server walks its VMs newest first and keeps those
 * vm_query_matches() accepts, after the cursor.
 */
#ifndef PINVM_API_VM_QUERY_H
#define PINVM_API_VM_QUERY_H

#include "api_error.h"
#include "vm_meta.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define VM_QUERY_MAX_LIMIT 1000

struct vm_query {
	char state[16];        /* "" = any */
	char name[VM_NAME_MAX + 1]; /* "" = any */
	struct label_selector labels; /* n == 0: any */
	unsigned limit;        /* 0: every match, no pages */
	uint64_t before;       /* from the cursor: VMs older than this; 0 = from the newest */
};

/*
 * Each argument is the parameter's value or NULL when absent (borrowed).
 * states lists the state names (NULL-terminated). 0, or -EINVAL with *q
 * zeroed and err: 400 bad_state "state", bad_name "name",
 * bad_label_selector "label", bad_limit "limit" (1..VM_QUERY_MAX_LIMIT),
 * bad_cursor "cursor" (only a next_cursor this server gave).
 */
int vm_query_parse(const char *state, const char *name, const char *label,
		   const char *limit, const char *cursor, const char *const *states,
		   struct vm_query *q, struct api_error *err);

/* Whether a VM with this state, name (NULL: none) and labels (NULL: none)
 * is one q asks for. */
bool vm_query_matches(const struct vm_query *q, const char *state, const char *name,
		      const json_t *labels);

#define VM_WAIT_MAX_TIMEOUT 120
#define VM_WAIT_DEFAULT_TIMEOUT 30

/*
 * GET /v1/vms/{id}?wait_for=STATE&timeout=S: *state is the index of
 * wait_for in states (NULL-terminated), *timeout_s the seconds (default
 * VM_WAIT_DEFAULT_TIMEOUT). timeout without wait_for is refused. 0, or
 * -EINVAL with err: 400 bad_state "wait_for", bad_timeout "timeout"
 * (1..VM_WAIT_MAX_TIMEOUT), missing_parameter "wait_for".
 */
int vm_wait_parse(const char *wait_for, const char *timeout, const char *const *states,
		  int *state, unsigned *timeout_s, struct api_error *err);

/* The cursor continuing a page that ended at the VM numbered seq. */
void vm_query_cursor(uint64_t seq, char out[24]);

#endif
