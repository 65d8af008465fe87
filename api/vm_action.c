#include "vm_action.h"

#include <string.h>

static const char *const names[VM_ACTION_COUNT] = { "start", "pause", "resume", "stop" };

const char *vm_action_name(enum vm_action a)
{
	return names[a];
}

int vm_action_parse(const json_t *body, enum vm_action *out, struct api_error *err)
{
	const char *key, *name;
	json_t *v;

	if (!json_is_object(body))
		return api_fail(err, 400, "wrong_type", "", "the body must be a JSON object");
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "action"))
			return api_fail(err, 422, "unknown_field", key, "takes only \"action\"");
	}
	v = json_object_get(body, "action");
	if (!v)
		return api_fail(err, 422, "missing_field", "action",
				"action must be start, pause, resume or stop");
	name = json_string_value(v);
	if (!name)
		return api_fail(err, 400, "wrong_type", "action",
				"action must be start, pause, resume or stop");
	for (int a = 0; a < VM_ACTION_COUNT; a++) {
		if (!strcmp(name, names[a])) {
			*out = (enum vm_action)a;
			return 0;
		}
	}
	return api_fail(err, 422, "bad_action", "action",
			"action must be start, pause, resume or stop");
}
