#include "event_text.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *text(const json_t *o, const char *key)
{
	const char *s = str(o, key);

	return s ? s : "-";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* vm.state: "stopped (was running): poweroff". */
static void state_text(const json_t *ev, char *out, size_t len)
{
	const char *previous = str(ev, "previous"), *reason = str(ev, "reason");

	snprintf(out, len, "%s%s%s%s%s%s", text(ev, "state"), previous ? " (was " : "",
		 previous ? previous : "", previous ? ")" : "", reason ? ": " : "",
		 reason ? reason : "");
}

/* vm.snapshot: started; completed with its record; failed with the
 * answer's code and detail. */
static void snapshot_text(const json_t *ev, char *out, size_t len)
{
	const char *phase = text(ev, "phase");

	if (!strcmp(phase, "completed"))
		snprintf(out, len, "completed: snapshot %s (%lld bytes)", text(ev, "snapshot"),
			 num(ev, "size_bytes"));
	else if (!strcmp(phase, "failed"))
		snprintf(out, len, "failed: %s: %s", text(ev, "code"), text(ev, "detail"));
	else
		snprintf(out, len, "%s", phase);
}

void migration_text(const json_t *m, char *out, size_t len)
{
	const char *phase = text(m, "phase"), *to = text(m, "destination");
	const char *error = str(m, "error"), *as = str(m, "destination_vm");
	long long rounds = num(m, "rounds"), sent = num(m, "bytes_sent");

	if (!strcmp(phase, "precopy") && rounds > 0)
		snprintf(out, len, "precopy round %lld to %s (%lld bytes sent, %lld pages dirty)",
			 rounds, to, sent, num(m, "dirty_pages"));
	else if (!strcmp(phase, "handover"))
		snprintf(out, len, "handover to %s after %lld rounds (%lld bytes sent, paused "
			 "%lld ms)", to, rounds, sent, num(m, "paused_ms"));
	else if (!strcmp(phase, "completed"))
		snprintf(out, len, "completed to %s%s%s, downtime %lld ms (%lld rounds, %lld bytes "
			 "sent)", to, as ? " as VM " : "", as ? as : "", num(m, "downtime_ms"),
			 rounds, sent);
	else if (!strcmp(phase, "failed") || !strcmp(phase, "cancelled"))
		snprintf(out, len, "%s to %s%s%s", phase, to, error ? ": " : "",
			 error ? error : "");
	else
		/* checking, resuming, and precopy before its first round. */
		snprintf(out, len, "%s %s %s%s%s", phase,
			 !strcmp(phase, "resuming") ? "at" : "to", to, as ? " as VM " : "",
			 as ? as : "");
}

/* profile.refused: "profile P: REGISTER (rule R)". */
static void refused_text(const json_t *ev, char *out, size_t len)
{
	snprintf(out, len, "profile %s: %s (rule %s)", text(ev, "profile"), text(ev, "register"),
		 text(ev, "rule"));
}

void event_text(const json_t *ev, char *out, size_t len)
{
	const char *type = text(ev, "type");

	out[0] = '\0';
	if (!strcmp(type, "vm.snapshot"))
		snapshot_text(ev, out, len);
	else if (!strcmp(type, "vm.migration"))
		migration_text(ev, out, len);
	else if (str(ev, "register"))
		refused_text(ev, out, len);
	else if (str(ev, "state"))
		state_text(ev, out, len);
}
