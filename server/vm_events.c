#include "vm_events.h"

#include "console_follow.h"

#include "vm_wait.h"

#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vm_events_created(struct vm_entry *e)
{
	json_t *f;

	pthread_mutex_lock(&e->lock);
	f = json_pack("{s:s, s:s}", "state", vm_state_name(e->state), "profile", e->profile);
	pthread_mutex_unlock(&e->lock);
	events_publish("vm.created", e->id, f);
}

void vm_events_migration(struct vm_entry *e)
{
	json_t *vm, *f;

	pthread_mutex_lock(&e->lock);
	vm = vm_entry_to_json(e);
	pthread_mutex_unlock(&e->lock);
	f = json_incref(json_object_get(vm, "migration"));
	json_decref(vm);
	if (f)
		events_publish("vm.migration", e->id, f);
}

void vm_events_snapshot(const char *vm_id, const char *phase, const json_t *record,
			const struct api_error *err)
{
	json_t *f = json_pack("{s:s}", "phase", phase);

	if (f && record) {
		json_object_set(f, "snapshot", json_object_get(record, "id"));
		json_object_set(f, "size_bytes", json_object_get(record, "size_bytes"));
	}
	if (f && err) {
		json_object_set_new(f, "code", json_string(err->code));
		json_object_set_new(f, "detail", json_string(err->detail));
	}
	if (f)
		events_publish("vm.snapshot", vm_id, f);
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void add_cause(json_t *f, const char *reason)
{
	const char *sig = strstr(reason, "killed by signal ");
	const char *cause = vm_exit_cause(reason);

	if (strcmp(cause, "unknown"))
		json_object_set_new(f, "cause", json_string(cause));
	if (sig)
		json_object_set_new(f, "signal",
				    json_integer(strtol(sig + strlen("killed by signal "),
							NULL, 10)));
	if (strstr(reason, "while pinvmd was not running") ||
	    strstr(reason, "when pinvmd started") || starts(reason, "pinvmd stopped"))
		json_object_set_new(f, "while_pinvmd_down", json_true());
}

void vm_events_state(const char *id, enum vm_state previous, enum vm_state now,
		     const char *reason)
{
	json_t *f = json_pack("{s:s, s:s}", "state", vm_state_name(now), "previous",
			      vm_state_name(previous));

	if (f && (now == VM_STOPPED || now == VM_FAILED) && reason) {
		json_object_set_new(f, "reason", json_string(reason));
		add_cause(f, reason);
	}
	events_publish("vm.state", id, f);
}

void vm_events_rebooted(const char *id, enum vm_state previous, unsigned reboots,
			const char *detail)
{
	events_publish("vm.state", id,
		       json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "state",
				 vm_state_name(VM_RUNNING), "previous", vm_state_name(previous),
				 "reason", "reboot", "cause", "reboot", "reboots",
				 (json_int_t)reboots, "detail", detail ? detail : ""));
}

void vm_events_deleted(const char *id)
{
	events_publish("vm.deleted", id, NULL);
}

void vm_events_refused(const char *profile, const json_t *problem)
{
	const char *code = json_string_value(json_object_get(problem, "code"));
	const char *field = json_string_value(json_object_get(problem, "field"));
	const char *detail = json_string_value(json_object_get(problem, "detail"));
	const char *rule = detail ? strstr(detail, "(rule ") : NULL;
	char rulebuf[64] = "";
	json_t *f;

	if (!code || (strcmp(code, "profile_refused") && strcmp(code, "kvm_refused")))
		return;
	if (rule)
		sscanf(rule, "(rule %63[^)])", rulebuf);
	if (field && starts(field, "registers."))
		field += strlen("registers.");
	f = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "profile", profile ? profile : "",
		      "code", code, "register", field, "rule", rulebuf[0] ? rulebuf : NULL,
		      "detail", detail);
	events_publish("profile.refused", NULL, f);
}

void vm_events_observe(const char *id, enum vm_state previous, enum vm_state now,
		       const char *reason, bool changed)
{
	if (changed)
		vm_events_state(id, previous, now, reason);
	vm_wait_notify(id);
	console_follow_notify(id);
}
