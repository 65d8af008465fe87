/*
 * A profile's vCPU features against a host's offer (compat_cpu.h). The
 * judgement is cpu_features_check_host()'s, the one a VM's own
 * "cpu_features" gets at POST /v1/vms, so a profile and a spec asking the
 * same are refused alike.
 */
#include "compat_cpu.h"

#include "jsonutil.h"

#include <stdio.h>
#include <string.h>

static const char *const cpu_verdict_names[] = {
	[COMPAT_CPU_NONE] = "unpinned",
	[COMPAT_CPU_UNPINNED] = "unpinned",
	[COMPAT_CPU_GIVEN] = "given",
	[COMPAT_CPU_REFUSED] = "refused",
	[COMPAT_CPU_UNDETERMINED] = "undetermined",
};

/* What the kernel shows regardless, said after the verdict's reason. */
static void add_pmu_note(struct compat_cpu *c, const struct profile *p)
{
	size_t n = strlen(c->reason);

	if (!c->pmu_without_request)
		return;
	snprintf(c->reason + n, sizeof(c->reason) - n,
		 "%sthis host's KVM shows a vCPU made without a PMU a PMU version anyway "
		 "(ID_AA64DFR0_EL1.PMUVer; its counters read as zero)%s",
		 n ? "; " : "",
		 p->has_cpu_features ? ": the guest sees one although the profile leaves it off"
				     : "");
}

void compat_cpu_judge(struct compat_report *r, const struct profile *p,
		      const struct hostset *h)
{
	struct compat_cpu *c = &r->cpu;
	struct api_error e;

	memset(c, 0, sizeof(*c));
	r->host_cpu_known = h->cpu_known;
	r->host_cpu = h->cpu;
	r->cpu_pinned = p->cpu_features;
	if (!p->has_cpu_features && !h->cpu_known)
		return;
	c->pmu_without_request =
		h->cpu_known && h->cpu.pmu_without_request && !(p->has_cpu_features &&
								 p->cpu_features.pmu);
	if (!p->has_cpu_features) {
		c->verdict = COMPAT_CPU_UNPINNED;
		snprintf(c->reason, sizeof(c->reason),
			 "the profile does not pin vCPU features: each VM's own cpu_features "
			 "decide");
	} else if (!h->cpu_known) {
		c->verdict = COMPAT_CPU_UNDETERMINED;
		snprintf(c->reason, sizeof(c->reason),
			 "the host set does not say which vCPU features its KVM offers");
	} else if (cpu_features_check_host(&p->cpu_features, &h->cpu, "cpu_features", &e) < 0) {
		c->verdict = COMPAT_CPU_REFUSED;
		r->compatible = false;
		snprintf(c->field, sizeof(c->field), "%s", e.field);
		snprintf(c->reason, sizeof(c->reason), "%s", e.detail);
	} else {
		c->verdict = COMPAT_CPU_GIVEN;
		snprintf(c->reason, sizeof(c->reason),
			 cpu_features_any(&p->cpu_features)
				 ? "the host's KVM gives every vCPU feature the profile pins"
				 : "the profile pins every optional vCPU feature off, which any "
				   "host gives");
	}
	add_pmu_note(c, p);
}

json_t *compat_cpu_json(const struct compat_report *r)
{
	const struct compat_cpu *c = &r->cpu;
	json_t *o;

	o = json_pack("{s:o, s:o, s:s, s:b, s:s}", "pinned",
		      c->verdict == COMPAT_CPU_UNPINNED ? json_null()
							: cpu_features_to_json(&r->cpu_pinned),
		      "host", r->host_cpu_known ? cpu_host_caps_to_json(&r->host_cpu) : json_null(),
		      "verdict", cpu_verdict_names[c->verdict], "pmu_without_request",
		      c->pmu_without_request, "reason", c->reason);
	if (!o || c->verdict != COMPAT_CPU_REFUSED)
		return o;
	if (ju_set_new(o, "rule", json_string("cpu_feature_unavailable")) ||
	    ju_set_new(o, "field", json_string(c->field))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
