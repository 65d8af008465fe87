#include "wa_levels.h"

#include "accept_rule.h"
#include "jsonutil.h"
#include "restore_rule.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define RULE_WA_LEVEL_DIFFERS "workaround_level_differs"

static bool hex_member(const json_t *o, const char *key, uint64_t *v)
{
	return ju_parse_hex(json_string_value(json_object_get(o, key)), v) == 0;
}

size_t wa_levels_told(const json_t *abi, struct fw_pin *out, size_t max)
{
	const json_t *e;
	size_t i, n = 0;

	json_array_foreach(abi, i, e) {
		const char *verdict = json_string_value(json_object_get(e, "verdict"));
		uint64_t id, v;
		size_t k;

		if (!hex_member(e, "id", &id) || !restore_reg_is_host_level(id) || !verdict ||
		    !(strcmp(verdict, "accepted") ? hex_member(e, "guest_sees", &v)
						  : hex_member(e, "pinned", &v)))
			continue;
		for (k = 0; k < n && out[k].id < id; k++)
			;
		if (k < n && out[k].id == id)
			continue; /* a report lists each register once */
		if (n == max)
			break;
		memmove(&out[k + 1], &out[k], (n - k) * sizeof(out[0]));
		out[k] = (struct fw_pin){ .id = id, .value = v };
		n++;
	}
	return n;
}

void wa_levels_judge_move(struct compat_report *r, unsigned accept)
{
	for (size_t i = 0; i < r->nentries; i++) {
		struct compat_entry *e = &r->entries[i];
		char name[48];

		if (e->verdict != COMPAT_GUEST_SEES_HOST)
			continue;
		if (e->desc)
			snprintf(name, sizeof(name), "%s", e->desc->name);
		else
			snprintf(name, sizeof(name), "0x%" PRIx64, e->id);
		if (accept & ACCEPT_WA_LEVEL) {
			e->verdict = COMPAT_ACCEPTED;
			snprintf(e->reason, sizeof(e->reason),
				 "%s: the guest was told level 0x%" PRIx64 "; this host answers "
				 "0x%" PRIx64 " and KVM stores no level, so the guest sees this "
				 "host's, accepted as \"" RULE_WA_LEVEL_DIFFERS "\"",
				 name, e->pin, e->guest_sees);
			continue;
		}
		e->verdict = COMPAT_REFUSED;
		e->rule = RULE_WA_LEVEL_DIFFERS;
		snprintf(e->reason, sizeof(e->reason),
			 "%s: the guest was told level 0x%" PRIx64 "; this host would answer "
			 "0x%" PRIx64 " (KVM stores no level); accepting \"" RULE_WA_LEVEL_DIFFERS
			 "\" lets the guest see this host's",
			 name, e->pin, e->guest_sees);
		r->compatible = false;
	}
}

json_t *wa_levels_accepted(const json_t *vcpu, const struct compat_report *r)
{
	json_t *arr = vcpu ? json_copy((json_t *)vcpu) : json_array();
	char reg[24], wanted[24], kept[24];

	if (!arr)
		return NULL;

	for (size_t i = 0; i < r->nentries; i++) {
		const struct compat_entry *e = &r->entries[i];
		json_t *o;

		if (e->verdict != COMPAT_ACCEPTED)
			continue;
		snprintf(reg, sizeof(reg), "0x%016" PRIx64, e->id);
		snprintf(wanted, sizeof(wanted), "0x%" PRIx64, e->pin);
		snprintf(kept, sizeof(kept), "0x%" PRIx64, e->guest_sees);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "register", reg, "rule",
			      RULE_WA_LEVEL_DIFFERS,
			      "wanted", wanted, "kept", kept, "detail", e->reason);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
