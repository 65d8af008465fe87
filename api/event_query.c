#include "event_query.h"

#include <errno.h>
#include <string.h>

/* A decimal id of at most 19 digits, below 2^63: what SQLite keeps. */
static bool parse_id(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return false;
		v = v * 10 + (uint64_t)(s[n] - '0');
	}
	if (!n || v > (uint64_t)INT64_MAX)
		return false;
	*out = v;
	return true;
}

static bool type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* Type names and filters share the alphabet; a filter may end in '.'. */
static bool type_ok(const char *s, bool family_allowed)
{
	size_t n = strlen(s);

	if (!n || n > EVENT_TYPE_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!type_char(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
			return false;
	return s[n - 1] != '.' || family_allowed;
}

bool event_type_valid(const char *name)
{
	return name && type_ok(name, false);
}

int event_query_parse(const char *header_last_id, const char *param_last_id,
		      const char *vm, const char *type, struct event_query *q,
		      struct api_error *err)
{
	const char *id = param_last_id ? param_last_id : header_last_id;
	const char *field = param_last_id ? "last_event_id" : "Last-Event-ID";
	size_t n;

	memset(q, 0, sizeof(*q));
	if (header_last_id && param_last_id && strcmp(header_last_id, param_last_id))
		return api_fail(err, 400, "conflicting_resume", "last_event_id",
				"Last-Event-ID and ?last_event_id= name different events");
	if (id) {
		if (!parse_id(id, &q->after)) {
			memset(q, 0, sizeof(*q));
			return api_fail(err, 400, "bad_last_event_id", field,
					"%s must be an event id (a decimal number, as sent "
					"in the stream's \"id:\" lines)", field);
		}
		q->resume = true;
	}
	if (vm) {
		n = strlen(vm);
		if (!n || n > EVENT_VM_ID_MAX ||
		    strspn(vm, "0123456789abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != n) {
			memset(q, 0, sizeof(*q));
			return api_fail(err, 400, "bad_vm_id", "vm",
					"vm must be a VM id (letters, digits, '-' and '_', "
					"at most %d)", EVENT_VM_ID_MAX);
		}
		memcpy(q->vm, vm, n + 1);
	}
	if (type) {
		if (!type_ok(type, true)) {
			memset(q, 0, sizeof(*q));
			return api_fail(err, 400, "bad_event_type", "type",
					"type must be an event type such as vm.state, or a "
					"family such as vm.");
		}
		memcpy(q->type, type, strlen(type) + 1);
	}
	return 0;
}

bool event_query_matches(const struct event_query *q, const char *type,
			 const char *vm_id)
{
	size_t n = strlen(q->type);

	if (q->vm[0] && strcmp(q->vm, vm_id ? vm_id : ""))
		return false;
	if (!n)
		return true;
	if (q->type[n - 1] == '.')
		return !strncmp(type, q->type, n);
	return !strcmp(type, q->type);
}
