/* baseline_compute(): the common ABI of several hosts, as a profile. */
#include "baseline.h"

#include "compat.h"
#include "fwreg.h"
#include "jsonutil.h"
#include "profile_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Sorted union of the hosts' register ids; -1 when more than `max`. */
static int union_ids(const struct hostset *hosts, size_t n, uint64_t *ids,
		     size_t max, size_t *count)
{
	*count = 0;
	for (size_t h = 0; h < n; h++)
		for (size_t r = 0; r < hosts[h].nregs; r++) {
			uint64_t id = hosts[h].regs[r].id;
			size_t at = 0;

			while (at < *count && ids[at] < id)
				at++;
			if (at < *count && ids[at] == id)
				continue;
			if (*count == max)
				return -1;
			memmove(&ids[at + 1], &ids[at],
				(*count - at) * sizeof(ids[0]));
			ids[at] = id;
			(*count)++;
		}
	return 0;
}

static bool is_bitmap(const struct fwreg_desc *d, uint64_t id)
{
	if (d)
		return d->kind == FWREG_KIND_BITMAP;
	return ((id >> 16) & 0xfff) == FWREG_COPROC_FEAT_BMAP;
}

/* Does every host listing d accept `value` on a fresh VM? */
static bool accepted_by_all(const struct fwreg_desc *d,
			    const struct hostset *hosts, size_t n,
			    uint64_t value)
{
	for (size_t h = 0; h < n; h++) {
		const struct hostset_reg *r = hostset_find(&hosts[h], d->id);
		struct fwreg_vm_state vm = { .vcpu_initialized = true,
					     .vcpu_has_psci_0_2 = true };
		struct fwreg_host host;

		if (!r)
			continue;
		vm.current = r->value;
		fwreg_host_from_value(d, r->value, &host);
		if (fwreg_check_write(d, &host, &vm, value, NULL))
			return false;
	}
	return true;
}

struct decision {
	enum profile_pin_mode mode;
	uint64_t value;
};

/* WORKAROUND_2: the common value, else NOT_REQUIRED, else NOT_AVAIL. */
static bool decide_wa2(const struct fwreg_desc *d, const struct hostset *hosts,
		       size_t n, uint64_t first, bool same,
		       struct decision *out)
{
	const uint64_t candidates[] = { FWREG_WA2_NOT_REQUIRED,
					FWREG_WA2_NOT_AVAIL };

	if (same && accepted_by_all(d, hosts, n, first)) {
		out->value = first;
		return true;
	}
	for (size_t i = 0; i < 2; i++)
		if (accepted_by_all(d, hosts, n, candidates[i])) {
			out->value = candidates[i];
			return true;
		}
	return false;
}

/*
 * PSCI_VERSION: the newest catalogued version at or below every host's
 * newest. The lowest host's own value is not enough: a future kernel
 * reports a version pinvm cannot pin (1.4), and one read without
 * KVM_ARM_VCPU_PSCI_0_2 reports 0.1, which pinvm never sets.
 */
static bool decide_psci(const struct fwreg_desc *d,
			const struct hostset *hosts, size_t n, uint64_t min,
			struct decision *out)
{
	bool found = false;

	for (size_t i = 0; fwreg_psci_version_at(i); i++) {
		uint64_t v = fwreg_psci_version_at(i)->value;

		if (v > min)
			break;
		if (v != FWREG_PSCI(0, 1) && accepted_by_all(d, hosts, n, v)) {
			out->value = v;
			found = true;
		}
	}
	return found;
}

static int decide(uint64_t id, const struct hostset *hosts, size_t n,
		  struct decision *out, struct api_error *err)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);
	uint64_t min = UINT64_MAX, and = UINT64_MAX, first = 0;
	size_t listed = 0;
	bool same = true;
	char field[64];

	profile_pin_field(field, sizeof(field), id);
	for (size_t h = 0; h < n; h++) {
		const struct hostset_reg *r = hostset_find(&hosts[h], id);
		uint64_t v = r ? r->value : 0, derived;

		if (r && d && hosts[h].observed.present &&
		    observed_derive(&hosts[h].observed, id, &derived, NULL, 0))
			v &= derived;
		and &= v;
		if (!r)
			continue;
		if (listed++ == 0)
			first = r->value;
		else if (r->value != first)
			same = false;
		if (r->value < min)
			min = r->value;
	}
	out->mode = PROFILE_PIN_VALUE;
	if (is_bitmap(d, id)) {
		out->value = and;
		return 0;
	}
	if (!d) {
		if (listed == n && same) {
			out->value = first;
			return 0;
		}
		return api_fail(err, 422, "baseline_conflict", field,
				"register 0x%" PRIx64 " is not in pinvm's "
				"catalogue and %s; pinvm cannot tell which "
				"value every host accepts",
				id,
				listed == n ?
					"the hosts disagree on its value" :
					"only some hosts list it");
	}
	if (listed < n && d->kind != FWREG_KIND_PSCI_VERSION) {
		/* Nothing common to require: each guest sees its host's. */
		out->mode = PROFILE_PIN_HOST;
		out->value = 0;
		return 0;
	}
	switch (d->kind) {
	case FWREG_KIND_WORKAROUND_2:
		if (decide_wa2(d, hosts, n, first, same, out))
			return 0;
		return api_fail(err, 422, "baseline_conflict", field,
				"%s: no level every host accepts", d->name);
	case FWREG_KIND_PSCI_VERSION:
		if (decide_psci(d, hosts, n, min, out))
			return 0;
		return api_fail(err, 422, "baseline_conflict", field,
				"%s: no version from 0.2 up that every host "
				"accepts (the lowest host reports 0x%" PRIx64
				"; pinvm always gives vCPUs PSCI 0.2 or later)",
				d->name, min);
	case FWREG_KIND_WORKAROUND:
	case FWREG_KIND_BITMAP:
		break;
	}
	out->value = min;
	return 0;
}

static int set_source(struct profile *p, const struct hostset *hosts,
		      size_t n, struct api_error *err)
{
	json_t *list = json_array();

	p->source = json_pack("{s:s, s:o}", "kind", "baseline", "hosts", list);
	if (!p->source)
		return ju_oom(err);
	for (size_t h = 0; h < n; h++)
		if (ju_append_new(list, json_string(hosts[h].kernel_release)))
			return ju_oom(err);
	return 0;
}

/* The promise of the header: compatible with every input host. */
static int verify(const struct profile *p, const struct hostset *hosts,
		  size_t n, struct api_error *err)
{
	struct compat_report *r = ju_malloc(sizeof(*r));
	int ret = 0;

	if (!r)
		return ju_oom(err);
	for (size_t h = 0; h < n && !ret; h++) {
		struct api_error e;

		compat_check(p, &hosts[h], r);
		if (compat_refusal(r, p->name, &e) == 0)
			continue;
		ret = api_fail(err, 422, "baseline_conflict", e.field,
			       "no value every host accepts: %s", e.detail);
	}
	ju_free(r);
	return ret;
}

/* The 4-bit field at shift of v. */
static unsigned field_of(uint64_t v, unsigned shift)
{
	return (unsigned)((v >> shift) & 0xf);
}

/*
 * One field of register id (regs[h]: host h's) the hosts disagree on:
 * the lowest value, which every host showing another must be able to be
 * written down to. 0 with *low the host whose value it is, or -EINVAL.
 */
static int lowest_field(uint64_t id, unsigned shift, const struct id_reg *const regs[],
			const struct hostset *hosts, size_t n, size_t *low, struct api_error *err)
{
	char name[24], field[64];
	bool ordered = true;

	*low = 0;
	for (size_t h = 1; h < n; h++)
		if (id_field_cmp(id, shift, regs[h]->value, regs[*low]->value, &ordered) < 0)
			*low = h;
	id_reg_name(id, name, sizeof(name));
	snprintf(field, sizeof(field), "id_registers.%s", name);
	for (size_t h = 0; h < n; h++) {
		uint64_t fm = 0xfULL << shift;

		if (field_of(regs[h]->value, shift) == field_of(regs[*low]->value, shift))
			continue;
		if (!ordered)
			return api_fail(err, 422, "baseline_conflict", field,
					"%s[%u:%u]: %s shows %u and %s shows %u, and the field has "
					"no order: no value is one every host shows",
					name, shift + 3, shift, hosts[h].kernel_release,
					field_of(regs[h]->value, shift), hosts[*low].kernel_release,
					field_of(regs[*low]->value, shift));
		if ((regs[h]->writable & fm) != fm)
			return api_fail(err, 422, "baseline_conflict", field,
					"%s[%u:%u]: %s shows %u and %s shows %u, and %s takes no "
					"write of the field%s: no value is one every host shows, "
					"so a guest cannot move between them without seeing it "
					"change",
					name, shift + 3, shift, hosts[h].kernel_release,
					field_of(regs[h]->value, shift), hosts[*low].kernel_release,
					field_of(regs[*low]->value, shift), hosts[h].kernel_release,
					regs[h]->writable ? ""
							  : " (Linux before 6.7 takes no write of "
							    "an ID register)");
	}
	return 0;
}

/*
 * Pins the ID register fields the hosts disagree on at their lowest
 * value (id_regs.h), when every host set says its ID registers; a set
 * that does not leaves them unpinned (nothing to judge by). Registers
 * some host does not list are left alone.
 */
static int pin_ids(struct profile *p, const struct hostset *hosts, size_t n,
		   struct api_error *err)
{
	const struct id_reg *regs[BASELINE_MAX_HOSTS];

	for (size_t h = 0; h < n; h++)
		if (!hosts[h].idregs.known)
			return 0;
	for (size_t i = 0; i < hosts[0].idregs.n; i++) {
		uint64_t id = hosts[0].idregs.regs[i].id, pinnable = id_reg_pinnable(id);
		struct id_pin pin = { .id = id };
		bool all = true;

		for (size_t h = 0; all && h < n; h++)
			all = (regs[h] = id_regs_find(&hosts[h].idregs, id)) != NULL;
		for (unsigned shift = 0; all && shift < 64; shift += 4) {
			bool differ = false;
			size_t low;

			if (!((pinnable >> shift) & 0xf))
				continue;
			for (size_t h = 1; h < n; h++)
				differ |= field_of(regs[h]->value, shift) !=
					  field_of(regs[0]->value, shift);
			if (!differ)
				continue;
			if (lowest_field(id, shift, regs, hosts, n, &low, err) < 0)
				return -EINVAL;
			pin.mask |= 0xfULL << shift;
			pin.value |= regs[low]->value & (0xfULL << shift);
		}
		if (pin.mask)
			p->id_pins[p->nid_pins++] = pin;
	}
	return 0;
}

int baseline_compute(const char *name, const struct hostset *hosts, size_t n,
		     struct profile **out, struct api_error *err)
{
	uint64_t ids[PROFILE_MAX_PINS];
	struct profile *p = NULL;
	size_t nids;
	int ret;

	*out = NULL;
	ret = profile_check_name(name, err);
	if (ret)
		return ret;
	if (n == 0 || !hosts)
		return api_fail(err, 422, "no_hosts", "hosts",
				"a baseline needs at least one host");
	if (n > BASELINE_MAX_HOSTS)
		return api_fail(err, 422, "too_many_hosts", "hosts",
				"%zu hosts; at most %d are allowed", n,
				BASELINE_MAX_HOSTS);
	for (size_t h = 0; h < n; h++) {
		char field[32];

		/* Values no kernel reports would be pinned as they are. */
		snprintf(field, sizeof(field), "hosts[%zu]", h);
		ret = hostset_check(&hosts[h], field, err);
		if (ret)
			return ret;
		if (hostset_find(&hosts[h], FWREG_ID_PSCI_VERSION))
			continue;
		snprintf(field, sizeof(field), "hosts[%zu]", h);
		return api_fail(err, 422, "psci_version_missing", field,
				"host %zu (%s) does not list PSCI_VERSION; "
				"pinvm cannot tell which PSCI versions it "
				"accepts",
				h, hosts[h].kernel_release);
	}
	if (union_ids(hosts, n, ids, PROFILE_MAX_PINS, &nids))
		return api_fail(err, 422, "too_many_registers", "registers",
				"the hosts list more than %d registers "
				"together",
				PROFILE_MAX_PINS);
	ret = profile_new(name, &p, err);
	for (size_t i = 0; !ret && i < nids; i++) {
		struct decision dec = { PROFILE_PIN_VALUE, 0 };

		ret = decide(ids[i], hosts, n, &dec, err);
		if (!ret)
			ret = profile_add_pin(p, ids[i], dec.mode, dec.value,
					      err);
	}
	if (!ret)
		ret = pin_ids(p, hosts, n, err);
	if (!ret)
		ret = set_source(p, hosts, n, err);
	if (!ret)
		ret = verify(p, hosts, n, err);
	if (ret) {
		profile_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* The longest SVE vector length (bits) below which every host offers
 * the same lengths, 0 when there is none. */
static unsigned common_sve_length(const struct hostset *hosts, size_t n)
{
	uint32_t common = UINT32_MAX;

	for (size_t h = 0; h < n; h++) {
		if (!hosts[h].cpu.sve || !hosts[h].cpu.sve_vls)
			return 0;
		common &= hosts[h].cpu.sve_vls;
	}
	for (unsigned vq = 32; vq >= 1; vq--) {
		uint32_t upto = vq == 32 ? UINT32_MAX : (UINT32_C(1) << vq) - 1;
		bool same = common >> (vq - 1) & 1;

		for (size_t h = 1; same && h < n; h++)
			same = (hosts[h].cpu.sve_vls & upto) == (hosts[0].cpu.sve_vls & upto);
		if (same)
			return vq * CPU_SVE_VL_STEP;
	}
	return 0;
}

int baseline_pin_cpu(struct profile *p, const struct hostset *hosts, size_t n,
		     enum baseline_cpu mode, struct api_error *err)
{
	struct cpu_features f = { 0 };

	if (mode == BASELINE_CPU_COMMON) {
		f.pmu = f.pauth = n > 0;
		for (size_t h = 0; h < n; h++) {
			char field[32];

			snprintf(field, sizeof(field), "hosts[%zu]", h);
			if (!hosts[h].cpu_known)
				return api_fail(err, 422, "cpu_features_unknown", field,
						"host %zu (%s) does not say which vCPU features its "
						"KVM offers (no cpu_features)", h,
						hosts[h].kernel_release);
			f.pmu = f.pmu && hosts[h].cpu.pmu;
			f.pauth = f.pauth && hosts[h].cpu.pauth_address &&
				  hosts[h].cpu.pauth_generic;
		}
		f.sve_vector_length = n ? common_sve_length(hosts, n) : 0;
		f.sve = f.sve_vector_length != 0;
	}
	p->cpu_features = f;
	p->has_cpu_features = true;
	return 0;
}
