#include "restore_refusal.h"

#include <errno.h>
#include <stdio.h>

static const char *str(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

int restore_check_refusal(const json_t *rc, const char *code, const char *subject,
			  const char *host, struct api_error *err, json_t **extra)
{
	const json_t *r = json_array_get(json_object_get(rc, "refused"), 0);
	const json_t *offered = json_object_get(r, "offered");
	const json_t *detail = json_object_get(r, "detail");

	const char *reg = str(json_object_get(r, "register"));
	char what[384];

	/* A refusal of something that has no value, the vGIC or the vCPU
	 * features, names it and says why; a register says both values. */
	if (!json_object_get(r, "wanted"))
		snprintf(what, sizeof(what), "%s", reg);
	else
		snprintf(what, sizeof(what), "register %s wanted %s, offered %s", reg,
			 str(json_object_get(r, "wanted")),
			 json_is_string(offered) ? str(offered) : "nothing (not listed)");
	api_fail(err, 409, code, "", "%s on %s: %s (rule %s)%s%s", subject, host, what,
		 str(json_object_get(r, "rule")), detail ? ": " : "", str(detail));
	snprintf(err->field, sizeof(err->field), "registers.%s", reg);
	*extra = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O}", "register",
			   json_object_get(r, "register"), "rule", json_object_get(r, "rule"),
			   "wanted", json_object_get(r, "wanted"), "offered", offered,
			   "restore_check", rc);
	return -EPERM;
}
