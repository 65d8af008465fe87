#include "vm_action.h"

#include <string.h>

static const char *const names[VM_ACTION_COUNT] = { "start", "pause",    "resume",
						    "stop",  "shutdown", "reboot" };
#define NAMES_TEXT "start, pause, resume, stop, shutdown or reboot"

const char *vm_action_name(enum vm_action a)
{
	return names[a];
}

static int parse_timeout(const json_t *v, unsigned *out, struct api_error *err)
{
	json_int_t t;

	if (!json_is_integer(v))
		return api_fail(err, 400, "wrong_type", "timeout_s",
				"timeout_s must be a whole number of seconds");
	t = json_integer_value(v);
	if (t < 1 || t > (json_int_t)VM_ACTION_SHUTDOWN_TIMEOUT_MAX)
		return api_fail(err, 422, "out_of_range", "timeout_s",
				"timeout_s must be 1 to %u seconds",
				VM_ACTION_SHUTDOWN_TIMEOUT_MAX);
	*out = (unsigned)t;
	return 0;
}

int vm_action_parse_req(const json_t *body, struct vm_action_req *out,
			struct api_error *err)
{
	const char *key, *name;
	json_t *v, *timeout;

	if (!json_is_object(body))
		return api_fail(err, 400, "wrong_type", "", "the body must be a JSON object");
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "action") && strcmp(key, "timeout_s"))
			return api_fail(err, 422, "unknown_field", key,
					"takes only \"action\" (and \"timeout_s\" for shutdown)");
	}
	v = json_object_get(body, "action");
	if (!v)
		return api_fail(err, 422, "missing_field", "action",
				"action must be " NAMES_TEXT);
	name = json_string_value(v);
	if (!name)
		return api_fail(err, 400, "wrong_type", "action",
				"action must be " NAMES_TEXT);
	for (int a = 0; a < VM_ACTION_COUNT; a++) {
		if (strcmp(name, names[a]))
			continue;
		out->action = (enum vm_action)a;
		out->timeout_s = 0;
		timeout = json_object_get(body, "timeout_s");
		if (a != VM_ACTION_SHUTDOWN)
			return timeout ? api_fail(err, 422, "unknown_field", "timeout_s",
						  "only shutdown takes timeout_s")
				       : 0;
		out->timeout_s = VM_ACTION_SHUTDOWN_TIMEOUT_DEFAULT;
		return timeout ? parse_timeout(timeout, &out->timeout_s, err) : 0;
	}
	return api_fail(err, 422, "bad_action", "action", "action must be " NAMES_TEXT);
}

int vm_action_parse(const json_t *body, enum vm_action *out, struct api_error *err)
{
	struct vm_action_req req;
	int ret = vm_action_parse_req(body, &req, err);

	if (ret == 0)
		*out = req.action;
	return ret;
}
