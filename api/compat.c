/* compat_check(): a profile against a host register set. */
#include "compat.h"

#include "compat_cpu.h"
#include "compat_id.h"
#include "jsonutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RULE_UNMENTIONED "unmentioned_register"
#define RULE_READBACK "readback_mismatch"

static const char *const verdict_names[] = {
	[COMPAT_PINNED] = "pinned",
	[COMPAT_GUEST_SEES_HOST] = "guest_sees_host",
	[COMPAT_HOST_VALUE] = "host_value",
	[COMPAT_ABSENT_OFF] = "absent_off",
	[COMPAT_ABSENT_EQUIVALENT] = "absent_equivalent",
	[COMPAT_DERIVED] = "derived",
	[COMPAT_DISABLED] = "disabled",
	[COMPAT_ACCEPTED] = "accepted",
	[COMPAT_REFUSED] = "refused",
};

const char *compat_verdict_name(enum compat_verdict v)
{
	if ((size_t)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "unknown";
	return verdict_names[v];
}

__attribute__((format(printf, 2, 3)))
static void reason(struct compat_entry *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

/* "STD_BMAP" or "register 0x6030000000160007" */
static void reg_name(char *buf, size_t size, const struct compat_entry *e)
{
	if (e->desc)
		snprintf(buf, size, "%s", e->desc->name);
	else
		snprintf(buf, size, "register 0x%" PRIx64, e->id);
}

/* Every register of coprocessor 0x16 is a feature bitmap. */
static bool is_bitmap(const struct compat_entry *e)
{
	if (e->desc)
		return e->desc->kind == FWREG_KIND_BITMAP;
	return ((e->id >> 16) & 0xfff) == FWREG_COPROC_FEAT_BMAP;
}

static void refuse(struct compat_entry *e, const char *rule, int err)
{
	e->verdict = COMPAT_REFUSED;
	e->rule = rule;
	e->err = err;
	e->writes = false;
	e->has_guest_sees = false;
}

static void accept(struct compat_entry *e, enum compat_verdict verdict,
		   uint64_t write, uint64_t guest_sees)
{
	e->verdict = verdict;
	e->writes = true;
	e->write = write;
	e->has_guest_sees = true;
	e->guest_sees = guest_sees;
}

/* A register pinvm does not catalogue, listed by the host. */
static void judge_uncatalogued(struct compat_entry *e, uint64_t wanted,
			       enum compat_verdict ok, const char *prefix)
{
	struct fwreg_host host;
	struct fwreg_vm_state vm = { .vcpu_initialized = true,
				     .vcpu_has_psci_0_2 = true,
				     .current = e->host };
	struct fwreg_verdict v;

	if (wanted == e->host) {
		accept(e, ok, wanted, wanted);
		reason(e, "%sregister 0x%" PRIx64 " (not in pinvm's "
			  "catalogue): 0x%" PRIx64 " is the host's own "
			  "value, which KVM accepts back",
		       prefix, e->id, wanted);
		return;
	}
	if (is_bitmap(e) && !(wanted & ~e->host)) {
		accept(e, ok, wanted, wanted);
		reason(e, "%sregister 0x%" PRIx64 " (not in pinvm's "
			  "catalogue): a feature bitmap; 0x%" PRIx64
			  " is within the host's 0x%" PRIx64 ", which KVM "
			  "accepts",
		       prefix, e->id, wanted, e->host);
		return;
	}
	fwreg_host_from_value(NULL, e->host, &host);
	refuse(e, "register_unknown",
	       fwreg_check_write(NULL, &host, &vm, wanted, &v));
	e->rule = v.code;
	reason(e, "%sregister 0x%" PRIx64 ": wanted 0x%" PRIx64 ", host has "
		  "0x%" PRIx64 "; %s",
	       prefix, e->id, wanted, e->host, v.reason);
}

/*
 * Would KVM take `wanted` for this register on a fresh VM of this host?
 * `ok` is the verdict when it would; `prefix` starts the reason.
 */
static void judge_write(struct compat_entry *e, uint64_t wanted,
			enum compat_verdict ok, const char *prefix)
{
	struct fwreg_vm_state vm = { .vcpu_initialized = true,
				     .vcpu_has_psci_0_2 = true,
				     .current = e->host };
	struct fwreg_host host;
	struct fwreg_verdict v;
	int ret;

	if (!e->desc) {
		judge_uncatalogued(e, wanted, ok, prefix);
		return;
	}
	fwreg_host_from_value(e->desc, e->host, &host);
	ret = fwreg_check_write(e->desc, &host, &vm, wanted, &v);
	reason(e, "%s%s", prefix, v.reason);
	if (ret) {
		refuse(e, v.code, ret);
		return;
	}
	accept(e, ok, wanted, v.guest_sees);
	if (ok == COMPAT_PINNED && v.guest_sees != wanted)
		e->verdict = COMPAT_GUEST_SEES_HOST;
}

static void judge_pinned_absent(struct compat_entry *e)
{
	char name[48];

	reg_name(name, sizeof(name), e);
	if (e->pinned_host) {
		e->verdict = COMPAT_HOST_VALUE;
		reason(e, "%s: pinned \"host\"; the host does not have the "
			  "register, so the guest sees none",
		       name);
		return;
	}
	if (is_bitmap(e) && e->pin == 0) {
		e->verdict = COMPAT_ABSENT_OFF;
		reason(e, "%s: pinned 0x0 (every service off) and the host "
			  "does not have the register: the guest sees the same",
		       name);
		return;
	}
	refuse(e, fwreg_rule_code(FWREG_RULE_REGISTER_ABSENT), -ENOENT);
	if (e->desc) {
		struct fwreg_host host = { .present = false };
		struct fwreg_vm_state vm = { .vcpu_initialized = true,
					     .vcpu_has_psci_0_2 = true };
		struct fwreg_verdict v;

		e->err = fwreg_check_write(e->desc, &host, &vm, e->pin, &v);
		e->rule = v.code;
		reason(e, "%s%s", v.reason,
		       is_bitmap(e) ? "; only a bitmap pinned to 0x0 (services "
				      "off) is honoured without the register" :
				      "");
		return;
	}
	reason(e, "%s: the host kernel does not have this register; writing "
		  "0x%" PRIx64 " fails with ENOENT%s",
	       name, e->pin,
	       is_bitmap(e) ? "; only a bitmap pinned to 0x0 (services off) "
			      "is honoured without the register" :
			      "");
}

static void judge_unpinned(struct compat_entry *e, const struct profile *p)
{
	char name[48], why[160], prefix[200];
	uint64_t derived;

	reg_name(name, sizeof(name), e);
	if (e->desc && observed_derive(&p->observed, e->id, &derived, why,
				       sizeof(why))) {
		snprintf(prefix, sizeof(prefix),
			 "derived from the observed ABI: %s; ", why);
		judge_write(e, derived, COMPAT_DERIVED, prefix);
		return;
	}
	if (p->unknown_registers == PROFILE_UNKNOWN_DISABLE && is_bitmap(e)) {
		judge_write(e, 0, COMPAT_DISABLED,
			    "not in the profile, unknown_registers is "
			    "\"disable\": ");
		return;
	}
	/*
	 * A bitmap at 0 offers no service, exactly like a host without the
	 * register, which an older profile cannot mention: refusing it would
	 * refuse every capture made before the register existed (a 6.12
	 * capture on a host listing VENDOR_HYP_BMAP_2 = 0). Nothing needs
	 * writing: a fresh VM of this host already holds 0.
	 */
	if (is_bitmap(e) && e->host == 0) {
		e->verdict = COMPAT_ABSENT_EQUIVALENT;
		e->has_guest_sees = true;
		e->guest_sees = 0;
		reason(e, "%s: not in the profile; the host lists it at 0x0 "
			  "(every service off), which is what a host without "
			  "the register offers, so unknown_registers "
			  "\"refuse\" accepts it; nothing is written",
		       name);
		return;
	}
	refuse(e, RULE_UNMENTIONED, -EPERM);
	if (p->unknown_registers == PROFILE_UNKNOWN_DISABLE)
		reason(e, "%s: the host lists it (0x%" PRIx64 ") and the "
			  "profile does not mention it; unknown_registers is "
			  "\"disable\", but only bitmaps can be disabled",
		       name, e->host);
	else
		reason(e, "%s: the host lists it (0x%" PRIx64 ") and the "
			  "profile does not mention it; unknown_registers is "
			  "\"refuse\"",
		       name, e->host);
}

/* STD_HYP_BMAP's PV_TIME bit as the guest is meant to see it. */
static bool pvtime_bit(const struct compat_entry *e)
{
	if (e->writes)
		return e->write & 1;
	if (e->pinned && !e->pinned_host)
		return e->pin & 1;
	if (e->host_present)
		return e->host & 1;
	return true;
}

/* The call a guest discovers a service with; 0 for the arch range. */
static uint32_t service_fid(const char *name)
{
	static const struct {
		const char *name;
		uint32_t fid;
	} ids[] = {
		{ "TRNG", 0x84000050 },       { "PV_TIME", 0xc5000020 },
		{ "FUNC_FEAT", 0x8600ff01 },  { "PTP", 0x86000001 },
		{ "DISCOVER_IMPL_VER", 0xc6000040 },
		{ "DISCOVER_IMPL_CPUS", 0xc6000041 },
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcmp(ids[i].name, name) == 0)
			return ids[i].fid;
	return 0;
}

static void add_service(struct compat_report *r, const struct profile *p,
			const char *name, uint64_t reg)
{
	struct compat_discovery *d = &r->discovery;
	struct compat_service *sv = &d->services[d->nservices];
	uint32_t fid = service_fid(name);

	if (d->nservices == COMPAT_MAX_SERVICES)
		return;
	sv->name = name;
	sv->reg = reg;
	sv->denied = r->smccc.verdict == COMPAT_SMCCC_ENFORCED && fid &&
		     !smccc_filter_allows(&p->smccc, fid);
	sv->reachable = d->smccc_1_1 && !sv->denied;
	d->nservices++;
}

/* The profile's "smccc" member against the host's filter support. */
static void judge_smccc(struct compat_report *r, const struct profile *p,
			const struct hostset *h)
{
	struct compat_smccc *s = &r->smccc;

	if (!p->smccc.present)
		return;
	s->ndeny = smccc_filter_deny_ranges(&p->smccc, s->deny,
					    SMCCC_RANGES_MAX);
	if (h->smccc_filter > 0) {
		s->verdict = COMPAT_SMCCC_ENFORCED;
		snprintf(s->reason, sizeof(s->reason),
			 "the host has KVM's SMCCC filter: %zu range%s of "
			 "function ids outside the allowed set %s denied "
			 "(NOT_SUPPORTED) before the first KVM_RUN, whatever "
			 "the kernel implements; the Arm architecture ranges "
			 "stay KVM's",
			 s->ndeny, s->ndeny == 1 ? "" : "s",
			 s->ndeny == 1 ? "is" : "are");
	} else if (h->smccc_filter < 0) {
		s->verdict = COMPAT_SMCCC_UNDETERMINED;
		snprintf(s->reason, sizeof(s->reason),
			 "the host set does not say whether KVM has the SMCCC "
			 "filter (Linux 6.4+); on a host without it the "
			 "profile is %s",
			 p->smccc.degrade ? "degraded to its registers" :
					    "refused");
	} else if (p->smccc.degrade) {
		s->verdict = COMPAT_SMCCC_DEGRADED;
		snprintf(s->reason, sizeof(s->reason),
			 "the host has no SMCCC filter (Linux before 6.4) and "
			 "unenforceable is \"degrade\": only the registers are "
			 "pinned; a service the kernel implements outside "
			 "them reaches the guest");
	} else {
		s->verdict = COMPAT_SMCCC_REFUSED;
		r->compatible = false;
		snprintf(s->reason, sizeof(s->reason),
			 "the host has no SMCCC filter (Linux before 6.4) and "
			 "unenforceable is \"refuse\": the default-deny ABI "
			 "cannot be enforced here");
	}
}

/*
 * The services KVM answers for this guest: every catalogued bit it will
 * see set, a workaround whose level is anything but NOT_AVAIL (reported
 * through ARCH_FEATURES), and PV time on a host without STD_HYP_BMAP.
 */
static void discover(struct compat_report *r, const struct profile *p)
{
	struct compat_discovery *d = &r->discovery;
	const struct compat_entry *psci = NULL;
	bool std_hyp = false;
	char v[32];

	for (size_t k = 0; k < r->nentries; k++)
		if (r->entries[k].id == FWREG_ID_PSCI_VERSION)
			psci = &r->entries[k];
	d->psci_known = psci && psci->has_guest_sees;
	d->psci = d->psci_known ? psci->guest_sees : 0;
	d->smccc_1_1 = d->psci_known && d->psci >= FWREG_PSCI(1, 0);

	for (size_t k = 0; k < r->nentries; k++) {
		const struct compat_entry *e = &r->entries[k];

		if (e->id == FWREG_ID_STD_HYP_BMAP)
			std_hyp = e->host_present;
		if (!e->desc || !e->has_guest_sees)
			continue;
		switch (e->desc->kind) {
		case FWREG_KIND_BITMAP:
			for (size_t b = 0; b < e->desc->nbits; b++)
				if (e->guest_sees &
				    (UINT64_C(1) << e->desc->bits[b].bit))
					add_service(r, p, e->desc->bits[b].name,
						    e->id);
			break;
		case FWREG_KIND_WORKAROUND:
		case FWREG_KIND_WORKAROUND_2:
			if ((e->guest_sees & FWREG_WA_LEVEL_MASK) !=
			    FWREG_WA_NOT_AVAIL)
				add_service(r, p, e->desc->name, e->id);
			break;
		case FWREG_KIND_PSCI_VERSION:
			break;
		}
	}
	if (!std_hyp && r->pvtime)
		add_service(r, p, "PV_TIME", FWREG_ID_STD_HYP_BMAP);

	if (!d->psci_known) {
		snprintf(d->reason, sizeof(d->reason),
			 "the guest's PSCI version is not known here, so "
			 "neither is whether it can find SMCCC 1.1; every "
			 "service is counted unreachable");
		return;
	}
	snprintf(v, sizeof(v), "%" PRIu64 ".%" PRIu64, d->psci >> 16,
		 d->psci & 0xffff);
	if (d->smccc_1_1)
		snprintf(d->reason, sizeof(d->reason),
			 "PSCI %s has PSCI_FEATURES, through which a guest "
			 "finds SMCCC 1.1 and then every service listed",
			 v);
	else
		snprintf(d->reason, sizeof(d->reason),
			 "PSCI %s has no PSCI_FEATURES (it came with 1.0), so a "
			 "guest cannot learn that SMCCC 1.1 is there and "
			 "assumes 1.0; KVM still answers the services listed, "
			 "but a guest following the specifications (Linux "
			 "among them) never calls them: unreachable, not "
			 "refused",
			 v);
}

int compat_check(const struct profile *p, const struct hostset *h,
		 struct compat_report *out)
{
	size_t i = 0, j = 0;

	if (!p || !h || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	snprintf(out->kernel_release, sizeof(out->kernel_release), "%s",
		 h->kernel_release);
	while (i < p->npins || j < h->nregs) {
		struct compat_entry *e = &out->entries[out->nentries++];
		const struct profile_pin *pin =
			i < p->npins ? &p->pins[i] : NULL;
		const struct hostset_reg *reg =
			j < h->nregs ? &h->regs[j] : NULL;

		if (pin && reg && pin->id < reg->id)
			reg = NULL;
		else if (pin && reg && reg->id < pin->id)
			pin = NULL;
		if (pin)
			i++;
		if (reg)
			j++;

		e->id = pin ? pin->id : reg->id;
		e->desc = fwreg_lookup_id(e->id);
		e->pinned = pin != NULL;
		e->pinned_host = pin && pin->mode == PROFILE_PIN_HOST;
		e->pin = pin ? pin->value : 0;
		e->host_present = reg != NULL;
		e->host = reg ? reg->value : 0;

		if (pin && reg && e->pinned_host) {
			char name[48];

			reg_name(name, sizeof(name), e);
			e->verdict = COMPAT_HOST_VALUE;
			e->has_guest_sees = true;
			e->guest_sees = e->host;
			reason(e, "%s: pinned \"host\": nothing is written, "
				  "the guest sees the host's 0x%" PRIx64,
			       name, e->host);
		} else if (pin && reg) {
			judge_write(e, e->pin, COMPAT_PINNED, "");
		} else if (pin) {
			judge_pinned_absent(e);
		} else {
			judge_unpinned(e, p);
		}
	}
	out->compatible = true;
	out->pvtime = true;
	out->host_filter = h->smccc_filter;
	for (size_t k = 0; k < out->nentries; k++) {
		const struct compat_entry *e = &out->entries[k];

		if (e->verdict == COMPAT_REFUSED)
			out->compatible = false;
		if (e->id == FWREG_ID_STD_HYP_BMAP)
			out->pvtime = pvtime_bit(e);
		if (e->writes) {
			out->writes[out->nwrites].id = e->id;
			out->writes[out->nwrites].value = e->write;
			out->nwrites++;
		}
	}
	judge_smccc(out, p, h);
	compat_cpu_judge(out, p, h);
	compat_id_judge(out, p, h);
	discover(out, p);
	return 0;
}

static const struct fw_pin *find_write(const struct fw_pin *w,
					     size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].id == id)
			return &w[i];
	return NULL;
}

int compat_check_readback(struct compat_report *r,
			  const struct fw_pin *readback, size_t n)
{
	bool mismatch = false;

	if (!r || (!readback && n))
		return -EINVAL;
	for (size_t k = 0; k < r->nentries; k++) {
		struct compat_entry *e = &r->entries[k];
		const struct fw_pin *rb;
		char name[48];

		if (!e->writes)
			continue;
		reg_name(name, sizeof(name), e);
		rb = find_write(readback, n, e->id);
		if (!rb) {
			refuse(e, RULE_READBACK, -EIO);
			reason(e, "%s: KVM_GET_ONE_REG did not return the "
				  "register after writing 0x%" PRIx64,
			       name, e->write);
			mismatch = true;
			continue;
		}
		if (rb->value == e->write)
			continue;
		if (e->desc && !e->desc->stores) {
			e->verdict = COMPAT_GUEST_SEES_HOST;
			e->guest_sees = rb->value;
			reason(e, "%s: KVM accepted 0x%" PRIx64 " but reads "
				  "back 0x%" PRIx64 ": it stores nothing, the "
				  "guest sees the host's level",
			       name, e->write, rb->value);
			continue;
		}
		refuse(e, RULE_READBACK, -EIO);
		reason(e, "%s: wrote 0x%" PRIx64 ", KVM_GET_ONE_REG reads back "
			  "0x%" PRIx64 "; KVM stores this register, so the "
			  "guest would not see the pinned value",
		       name, e->write, rb->value);
		mismatch = true;
	}
	if (!mismatch)
		return 0;
	r->compatible = false;
	return -EIO;
}

static json_t *entry_json(const struct compat_entry *e)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (ju_set_new(o, "name", e->desc ? json_string(e->desc->name) :
					    json_null()) ||
	    ju_set_new(o, "id", ju_hex(e->id)) ||
	    ju_set_new(o, "pinned", !e->pinned ? json_null() :
				    e->pinned_host ? json_string("host") :
						     ju_hex(e->pin)) ||
	    ju_set_new(o, "host", e->host_present ? ju_hex(e->host) :
						    json_null()) ||
	    ju_set_new(o, "verdict",
		       json_string(compat_verdict_name(e->verdict))) ||
	    (e->rule && ju_set_new(o, "rule", json_string(e->rule))) ||
	    ju_set_new(o, "reason", json_string(e->reason)) ||
	    (e->writes && ju_set_new(o, "write", ju_hex(e->write))) ||
	    (e->has_guest_sees &&
	     ju_set_new(o, "guest_sees", ju_hex(e->guest_sees)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *discovery_json(const struct compat_discovery *d)
{
	json_t *o, *services = json_array(), *unreachable = json_array();
	char v[32];

	snprintf(v, sizeof(v), "%" PRIu64 ".%" PRIu64, d->psci >> 16,
		 d->psci & 0xffff);
	/* "o" steals both arrays, also when json_pack() fails. */
	o = json_pack("{s:o, s:b, s:o, s:o, s:s}", "psci_version",
		      d->psci_known ? json_string(v) : json_null(), "smccc_1_1",
		      d->smccc_1_1, "services", services, "unreachable",
		      unreachable, "reason", d->reason);
	if (!o)
		return NULL;
	for (size_t i = 0; i < d->nservices; i++) {
		const struct compat_service *sv = &d->services[i];
		const struct fwreg_desc *reg = fwreg_lookup_id(sv->reg);

		if (ju_append_new(services,
				  json_pack("{s:s, s:s, s:b, s:b}", "name",
					    sv->name, "register",
					    reg ? reg->name : "unknown",
					    "reachable", sv->reachable,
					    "denied", sv->denied)) ||
		    (!sv->reachable &&
		     ju_append_new(unreachable, json_string(sv->name)))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static const char *smccc_verdict_name(enum compat_smccc_verdict v)
{
	switch (v) {
	case COMPAT_SMCCC_ENFORCED:
		return "enforced";
	case COMPAT_SMCCC_DEGRADED:
		return "degraded";
	case COMPAT_SMCCC_REFUSED:
		return "refused";
	case COMPAT_SMCCC_UNDETERMINED:
	case COMPAT_SMCCC_NONE:
		break;
	}
	return "undetermined";
}

static json_t *smccc_json(const struct compat_smccc *s, int host_filter)
{
	json_t *o, *deny = json_array();

	/* "o" steals deny, also when json_pack() fails. */
	o = json_pack("{s:s, s:o, s:s, s:o, s:s}", "policy", "deny_unlisted",
		      "host_filter",
		      host_filter < 0 ? json_null() : json_boolean(host_filter),
		      "verdict", smccc_verdict_name(s->verdict), "deny", deny,
		      "reason", s->reason);
	if (!o)
		return NULL;
	if (s->verdict == COMPAT_SMCCC_REFUSED &&
	    ju_set_new(o, "rule", json_string("smccc_filter_unavailable")))
		goto fail;
	for (size_t i = 0; i < s->ndeny; i++)
		if (ju_append_new(deny, json_pack("{s:o, s:I}", "base",
						  ju_hex(s->deny[i].base),
						  "count",
						  (json_int_t)s->deny[i].count)))
			goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *compat_report_to_json(const struct compat_report *r)
{
	json_t *doc, *regs = json_array();

	doc = json_pack("{s:b, s:s, s:o, s:o}", "compatible", r->compatible,
			"kernel_release", r->kernel_release, "registers", regs,
			"discovery", discovery_json(&r->discovery));
	if (!doc)
		return NULL;
	for (size_t i = 0; i < r->nentries; i++)
		if (ju_append_new(regs, entry_json(&r->entries[i]))) {
			json_decref(doc);
			return NULL;
		}
	if ((r->smccc.verdict != COMPAT_SMCCC_NONE &&
	     ju_set_new(doc, "smccc", smccc_json(&r->smccc, r->host_filter))) ||
	    (r->cpu.verdict != COMPAT_CPU_NONE &&
	     ju_set_new(doc, "cpu_features", compat_cpu_json(r))) ||
	    (r->ids.verdict != COMPAT_ID_NONE &&
	     ju_set_new(doc, "id_registers", compat_id_json(r)))) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int compat_refusal(const struct compat_report *r, const char *profile_name,
		   struct api_error *err)
{
	for (size_t i = 0; i < r->nentries; i++) {
		const struct compat_entry *e = &r->entries[i];
		char field[64];

		if (e->verdict != COMPAT_REFUSED)
			continue;
		if (e->desc)
			snprintf(field, sizeof(field), "registers.%s",
				 e->desc->name);
		else
			snprintf(field, sizeof(field), "registers.0x%" PRIx64,
				 e->id);
		api_fail(err, 409, "profile_refused", field,
			 "profile %s cannot be applied on %s: %s (rule %s)",
			 profile_name ? profile_name : "(unnamed)",
			 r->kernel_release[0] ? r->kernel_release : "this host",
			 e->reason, e->rule ? e->rule : "unknown");
		return -EPERM;
	}
	if (r->smccc.verdict == COMPAT_SMCCC_REFUSED) {
		api_fail(err, 409, "profile_refused", "smccc",
			 "profile %s cannot be applied on %s: smccc: %s (rule "
			 "smccc_filter_unavailable)",
			 profile_name ? profile_name : "(unnamed)",
			 r->kernel_release[0] ? r->kernel_release : "this host",
			 r->smccc.reason);
		return -EPERM;
	}
	if (r->cpu.verdict == COMPAT_CPU_REFUSED) {
		api_fail(err, 409, "profile_refused", r->cpu.field,
			 "profile %s cannot be applied on %s: %s (rule cpu_feature_unavailable)",
			 profile_name ? profile_name : "(unnamed)",
			 r->kernel_release[0] ? r->kernel_release : "this host",
			 r->cpu.reason);
		return -EPERM;
	}
	return compat_id_refusal(r, profile_name, err);
}
