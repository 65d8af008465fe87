/*
 * A profile's ID register pins against a host's (compat_id.h). The
 * judgement of each pin is id_pin_judge()'s, which pinvm-vmm's write and
 * read-back at vCPU init then confirm.
 */
#include "compat_id.h"

#include "jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const verdict_names[] = {
	[COMPAT_ID_NONE] = "given",
	[COMPAT_ID_GIVEN] = "given",
	[COMPAT_ID_REFUSED] = "refused",
	[COMPAT_ID_UNDETERMINED] = "undetermined",
};

static const char *const pin_verdict_names[] = {
	[ID_PIN_SAME] = "same",
	[ID_PIN_WRITE] = "written",
	[ID_PIN_REFUSED] = "refused",
};

void compat_id_judge(struct compat_report *r, const struct profile *p,
		     const struct hostset *h)
{
	struct compat_ids *c = &r->ids;

	memset(c, 0, sizeof(*c));
	if (!p->nid_pins)
		return;
	c->verdict = h->idregs.known ? COMPAT_ID_GIVEN : COMPAT_ID_UNDETERMINED;
	for (size_t i = 0; i < p->nid_pins; i++) {
		struct compat_id_entry *e = &c->entries[c->n++];
		const struct id_reg *host = id_regs_find(&h->idregs, p->id_pins[i].id);

		e->pin = p->id_pins[i];
		if (!h->idregs.known) {
			snprintf(e->reason, sizeof(e->reason),
				 "the host set does not say its ID registers");
			e->verdict = ID_PIN_SAME;
			continue;
		}
		e->host_present = host != NULL;
		if (host)
			e->host = *host;
		e->verdict = id_pin_judge(&e->pin, host, e->reason, sizeof(e->reason));
		if (e->verdict == ID_PIN_REFUSED) {
			c->verdict = COMPAT_ID_REFUSED;
			r->compatible = false;
		} else if (e->verdict == ID_PIN_WRITE) {
			c->writes[c->nwrites++] = e->pin;
		}
	}
}

static json_t *entry_json(const struct compat_id_entry *e, bool known)
{
	char name[24];

	return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:s}", "id", ju_hex(e->pin.id),
			 "name", id_reg_name(e->pin.id, name, sizeof(name)), "mask",
			 ju_hex(e->pin.mask), "pinned", ju_hex(e->pin.value), "host",
			 e->host_present ? ju_hex(e->host.value) : json_null(), "writable",
			 e->host_present ? ju_hex(e->host.writable) : json_null(), "verdict",
			 known ? pin_verdict_names[e->verdict] : "undetermined", "reason",
			 e->reason);
}

json_t *compat_id_json(const struct compat_report *r)
{
	const struct compat_ids *c = &r->ids;
	json_t *regs = json_array(), *o;

	for (size_t i = 0; regs && i < c->n; i++)
		if (ju_append_new(regs, entry_json(&c->entries[i],
						   c->verdict != COMPAT_ID_UNDETERMINED)) < 0) {
			json_decref(regs);
			return NULL;
		}
	o = regs ? json_pack("{s:s, s:o}", "verdict", verdict_names[c->verdict], "registers", regs)
		 : NULL;
	if (o && c->verdict == COMPAT_ID_REFUSED &&
	    ju_set_new(o, "rule", json_string("id_register_differs")) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int compat_id_refusal(const struct compat_report *r, const char *profile_name,
		      struct api_error *err)
{
	const struct compat_ids *c = &r->ids;
	char name[24], field[64];

	for (size_t i = 0; i < c->n; i++) {
		if (c->verdict != COMPAT_ID_REFUSED || c->entries[i].verdict != ID_PIN_REFUSED)
			continue;
		snprintf(field, sizeof(field), "id_registers.%s",
			 id_reg_name(c->entries[i].pin.id, name, sizeof(name)));
		api_fail(err, 409, "profile_refused", field,
			 "profile %s cannot be applied on %s: %s (rule id_register_differs)",
			 profile_name ? profile_name : "(unnamed)",
			 r->kernel_release[0] ? r->kernel_release : "this host",
			 c->entries[i].reason);
		return -EPERM;
	}
	return 0;
}
