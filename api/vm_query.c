#include "vm_query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* 1..19 decimal digits, no sign, below 2^63. */
static bool parse_u63(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n;

	for (n = 0; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return false;
		v = v * 10 + (uint64_t)(s[n] - '0');
	}
	if (!n || v > (uint64_t)INT64_MAX)
		return false;
	*out = v;
	return true;
}

int vm_query_parse(const char *state, const char *name, const char *label,
		   const char *limit, const char *cursor, const char *const *states,
		   struct vm_query *q, struct api_error *err)
{
	uint64_t v;
	int ret = 0;

	memset(q, 0, sizeof(*q));
	if (state) {
		size_t i;

		for (i = 0; states[i] && strcmp(states[i], state); i++)
			;
		if (!states[i] || strlen(state) >= sizeof(q->state)) {
			ret = api_fail(err, 400, "bad_state", "state",
				       "state must be one a VM can be in (creating, created, "
				       "running, paused, stopped, failed)");
			goto out;
		}
		memcpy(q->state, state, strlen(state) + 1);
	}
	if (name) {
		if (vm_name_check(name, err) < 0) {
			if (err)
				err->status = 400;
			ret = -EINVAL;
			goto out;
		}
		memcpy(q->name, name, strlen(name) + 1);
	}
	if (label && (ret = label_selector_parse(label, &q->labels, err)) < 0)
		goto out;
	if (limit) {
		if (!parse_u63(limit, &v) || v < 1 || v > VM_QUERY_MAX_LIMIT) {
			ret = api_fail(err, 400, "bad_limit", "limit",
				       "limit must be a whole number 1..%d", VM_QUERY_MAX_LIMIT);
			goto out;
		}
		q->limit = (unsigned)v;
	}
	if (cursor) {
		if (!parse_u63(cursor, &v) || v == 0) {
			ret = api_fail(err, 400, "bad_cursor", "cursor",
				       "cursor must be a next_cursor this server gave");
			goto out;
		}
		q->before = v;
	}
	return 0;
out:
	memset(q, 0, sizeof(*q));
	return ret;
}

bool vm_query_matches(const struct vm_query *q, const char *state, const char *name,
		      const json_t *labels)
{
	if (q->state[0] && strcmp(q->state, state))
		return false;
	if (q->name[0] && (!name || strcmp(q->name, name)))
		return false;
	return label_selector_matches(&q->labels, labels);
}

int vm_wait_parse(const char *wait_for, const char *timeout, const char *const *states,
		  int *state, unsigned *timeout_s, struct api_error *err)
{
	uint64_t v = VM_WAIT_DEFAULT_TIMEOUT;
	int i;

	*state = -1;
	*timeout_s = 0;
	if (!wait_for)
		return api_fail(err, 400, "missing_parameter", "wait_for",
				"timeout only goes with wait_for");
	for (i = 0; states[i] && strcmp(states[i], wait_for); i++)
		;
	if (!states[i])
		return api_fail(err, 400, "bad_state", "wait_for",
				"wait_for must be a state a VM can reach (created, running, "
				"paused, stopped, failed)");
	if (timeout && (!parse_u63(timeout, &v) || v < 1 || v > VM_WAIT_MAX_TIMEOUT))
		return api_fail(err, 400, "bad_timeout", "timeout",
				"timeout must be whole seconds 1..%d", VM_WAIT_MAX_TIMEOUT);
	*state = i;
	*timeout_s = (unsigned)v;
	return 0;
}

void vm_query_cursor(uint64_t seq, char out[24])
{
	snprintf(out, 24, "%llu", (unsigned long long)seq);
}
