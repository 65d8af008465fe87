/*
 * The restore dry run (docs/snapshot-format.md section 3): a scratch VM
 * shaped like the snapshot's, every saved register but the firmware ones
 * tried with KVM_SET_ONE_REG, the vGIC state replayed, nothing run. Only
 * this host's KVM knows what it accepts, so this is the exact answer
 * across kernels; the rules name what the guest could observe.
 */
#include "vm.h"

#include "gic.h"
#include "gic_state.h"
#include "machine_layout.h"
#include "vcpu_features.h"
#include "vcpu_state.h"
#include "vm_internal.h"
#include "vm_state.h"
#include "vm_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

struct check {
	json_t *refused;
	json_t *accepted; /* differences a rule in accept covers */
	unsigned accept;
	int gic_fd;
	json_t *left;    /* registers only this host lists, left at reset */
	json_t *zeroed;  /* ID registers only this host lists, written 0 */
	const struct vm_state *st;
};

static json_t *hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *hex_id(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
	return json_string(buf);
}

static bool already(json_t *arr, uint64_t id)
{
	char buf[24];
	size_t i;
	json_t *v;

	snprintf(buf, sizeof(buf), "0x%016" PRIx64, id);
	json_array_foreach(arr, i, v) {
		const json_t *r = json_is_object(v) ? json_object_get(v, "register") : v;

		if (json_is_string(r) && !strcmp(json_string_value(r), buf))
			return true;
	}
	return false;
}

static uint64_t value_of(const uint8_t *p, uint64_t id)
{
	uint64_t v = 0;
	size_t size = vm_state_reg_size(id);

	memcpy(&v, p, size < sizeof(v) ? size : sizeof(v));
	return v;
}

/*
 * One answer entry: {"register", "rule", "detail"} and, when given,
 * "wanted", offered under offered_key ("offered", or "kept" when the
 * target's value stays) and "errno". reg is taken. NULL when out of
 * memory (the entry is then left out, as every append here does).
 */
static json_t *entry(json_t *reg, const char *rule, const char *detail, const uint64_t *wanted,
		     const char *offered_key, const uint64_t *offered, int errnum)
{
	json_t *o = json_pack("{s:o, s:s, s:s}", "register", reg, "rule", rule, "detail", detail);

	if (o && wanted)
		json_object_set_new(o, "wanted", hex(*wanted));
	if (o && offered)
		json_object_set_new(o, offered_key, hex(*offered));
	if (o && errnum)
		json_object_set_new(o, "errno", json_integer(errnum));
	return o;
}

static void refuse(struct check *c, uint64_t id, const char *rule, const uint8_t *wanted,
		   const uint8_t *offered, int errnum, const char *detail)
{
	bool small = vm_state_reg_size(id) <= 8;
	uint64_t w = wanted && small ? value_of(wanted, id) : 0;
	uint64_t o = offered && small ? value_of(offered, id) : 0;
	json_t *e;

	if (already(c->refused, id))
		return;
	e = entry(hex_id(id), rule, detail, wanted && small ? &w : NULL, "offered",
		  offered && small ? &o : NULL, errnum);
	if (e)
		json_array_append_new(c->refused, e);
}

/* A difference rule covers: accepted when the caller accepts it (this
 * host's value stays), else refused under the rule's own name. name:
 * the register's name when it is no vCPU register (the vGIC's IIDR). */
static void covered(struct check *c, const char *name, uint64_t id, unsigned rule,
		    uint64_t wanted, const uint64_t *kept, int errnum, const char *what)
{
	bool ok = rule & c->accept;
	char detail[200];
	json_t *arr = ok ? c->accepted : c->refused, *e;

	if (!name && already(arr, id))
		return;
	snprintf(detail, sizeof(detail), "%s; %s \"%s\": this host's value %s", what,
		 ok ? "accepted as" : "accepting", accept_rule_name(rule), ok ? "stays" : "would stay");
	e = entry(name ? json_string(name) : hex_id(id), accept_rule_name(rule), detail, &wanted,
		  ok ? "kept" : "offered", kept, errnum);
	if (e)
		json_array_append_new(arr, e);
}

static bool on_refused(void *opaque, unsigned index, uint64_t id, int errnum,
		       const uint8_t *wanted, const uint8_t *offered, bool have_offered)
{
	struct check *c = opaque;
	unsigned rule = vcpu_state_accept_rule(c->st->vcpu_features, id, wanted, offered,
					       have_offered);
	char detail[160];

	(void)index;
	if (rule) {
		uint64_t kept = have_offered ? value_of(offered, id) : 0;

		covered(c, NULL, id, rule, value_of(wanted, id), have_offered ? &kept : NULL,
			errnum,
			"this host will not take the guest's value");
	} else {
		snprintf(detail, sizeof(detail), "%s: %s",
			 !have_offered ? "this host does not list it"
			 : restore_reg_is_id(id) ? "an ID register the guest read at boot; this "
						   "host will not take the value"
						 : "KVM_SET_ONE_REG",
			 strerror(errnum));
		refuse(c, id, accept_refusal_rule(id, 0, have_offered), wanted,
		       have_offered ? offered : NULL, errnum, detail);
	}
	return true;
}

static void on_extra(void *opaque, uint64_t id, enum restore_extra rule, uint64_t reset,
		     int errnum)
{
	struct check *c = opaque;
	uint64_t zero = 0;

	if (rule == RESTORE_EXTRA_FIRMWARE)
		return;
	if (rule == RESTORE_EXTRA_LEFT_AT_RESET) {
		if (!already(c->left, id))
			json_array_append_new(c->left, hex_id(id));
	} else if (!errnum) {
		if (!already(c->zeroed, id))
			json_array_append_new(c->zeroed, hex_id(id));
	} else {
		refuse(c, id, "id_register_differs", (const uint8_t *)&zero,
		       (const uint8_t *)&reset, errnum,
		       "an ID register the source did not list (its guest read 0) is not 0 "
		       "here and KVM will not take 0");
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool listed(const uint64_t *ids, size_t n, uint64_t id)
{
	return bsearch(&id, ids, n, sizeof(*ids), cmp_u64) != NULL;
}

static int check_vcpu(struct check *c, int fd, unsigned index,
		      const struct vm_state_vcpu *v, struct vmm_error *err)
{
	struct vm_state_vcpu sub = { 0 };
	uint64_t *ids;
	size_t n;
	int ret = vcpu_state_reg_list(fd, &ids, &n, err);

	if (ret < 0)
		return ret;
	/* What the snapshot has: absent here, or tried. */
	for (size_t i = 0; i < v->nregs && ret == 0; i++) {
		uint64_t id = v->regs[i].id;
		const uint8_t *p = v->data + v->regs[i].off;

		if (restore_reg_is_firmware(id) || vcpu_state_is_counter(id))
			continue;
		if (!listed(ids, n, id)) {
			unsigned rule = vcpu_state_accept_rule(c->st->vcpu_features, id, p, NULL,
							       false);

			if (vcpu_state_absent_tolerated(c->st->vcpu_features, v, id, p))
				continue;
			if (rule)
				covered(c, NULL, id, rule, value_of(p, id), NULL, 0,
					"this host's KVM does not list it");
			else
				refuse(c, id, "register_absent_on_target", p, NULL, 0,
				       "the snapshot has it, this host's KVM does not list it");
			continue;
		}
		if (vm_state_vcpu_add(&sub, id, p) < 0)
			ret = vmm_error_set(err, "restore-check", ENOMEM, "out of memory");
	}
	if (ret == 0)
		ret = vcpu_state_restore_regs(fd, index, &sub, on_refused, c);
	/* What this host has and the snapshot does not, as the restore
	 * will treat it (api/restore_rule.h). */
	if (ret == 0)
		ret = vcpu_state_restore_extra(fd, index, ids, n, v, on_extra, c, err);
	free(sub.regs);
	free(sub.data);
	free(ids);
	return ret;
}

static void on_gic_refused(void *opaque, size_t index, int errnum)
{
	struct check *c = opaque;
	const struct vm_state_gic_reg *r = &c->st->gic_regs[index];
	char detail[200];
	json_t *o;

	if (gic_state_is_iidr(c->st, index)) {
		uint64_t here = gic_state_iidr(c->gic_fd);
		unsigned rule = accept_rule_for_gic_iidr((uint32_t)r->value, (uint32_t)here);

		if (rule) {
			covered(c, "GICD_IIDR", 0, rule, r->value, &here, errnum,
				errnum ? "this host's vGIC will not take the guest's GICD_IIDR"
				       : "this host's vGIC answered 0 to the guest's GICD_IIDR "
					 "and kept its own");
			return;
		}
	}
	snprintf(detail, sizeof(detail),
		 "vGIC group %u attr 0x%" PRIx64 " = 0x%" PRIx64 " (gic.regs[%zu]): %s",
		 r->group, r->attr, r->value, index,
		 errnum ? strerror(errnum) : "taken, but it reads back otherwise");
	o = json_pack("{s:s, s:s, s:o, s:i, s:s}", "register", "vgic", "rule",
		      "vgic_incompatible", "wanted", hex(r->value), "errno", errnum,
		      "detail", detail);
	if (o)
		json_array_append_new(c->refused, o);
}

/* A refusal of something other than one register's value. */
static void refuse_named(struct check *c, const char *what, const char *rule,
			 const char *detail)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "register", what, "rule", rule, "detail",
			      detail);

	if (o)
		json_array_append_new(c->refused, o);
}

int vm_restore_check(const char *dir, unsigned accept, json_t **answer,
		     struct vmm_error *err)
{
	struct check c = { .accept = accept, .gic_fd = -1 };
	struct vmm_error gerr = { 0 };
	struct cpu_features features;
	bool gic_ok = true;
	struct vm_state st;
	struct vm *vm = NULL;
	uint64_t freq = vm_time_host_frequency();
	int ret;

	*answer = NULL;
	ret = vm_state_load(dir, &st, err);
	if (ret < 0)
		return ret;
	c.st = &st;
	c.refused = json_array();
	c.left = json_array();
	c.zeroed = json_array();
	c.accepted = json_array();
	if (!c.refused || !c.left || !c.zeroed || !c.accepted) {
		ret = vmm_error_set(err, "restore-check", ENOMEM, "out of memory");
		goto out;
	}
	if (freq && st.cntfrq != freq) {
		char detail[128];

		snprintf(detail, sizeof(detail), "the guest counter ran at %" PRIu64
			 " Hz, this host's runs at %" PRIu64 " Hz", st.cntfrq, freq);
		json_array_append_new(c.refused,
			json_pack("{s:s, s:s, s:o, s:o, s:s}", "register", "cntfrq", "rule",
				  "counter_frequency_differs", "wanted", hex(st.cntfrq),
				  "offered", hex(freq), "detail", detail));
	}
	ret = vcpu_features_of_state(&st, &features, err);
	if (ret < 0)
		goto out;
	ret = vm_create_scratch(st.vcpus, st.memory_mib, gic_want_named(st.gic_version),
				&features, &vm, &gerr);
	if (ret < 0 && strcmp(gerr.step, "cpu_features") == 0) {
		/* The guest's vCPUs cannot be made here: that is the verdict;
		 * their registers cannot be tried without them. */
		refuse_named(&c, "cpu_features", "cpu_feature_unavailable", gerr.detail);
		goto answer;
	}
	if (ret < 0 && strcmp(gerr.step, "gic") == 0) {
		/* KVM here will not make the guest's GIC: refused; the vCPUs
		 * are still checked, beside the GIC it does make. */
		refuse_named(&c, "vgic", "vgic_incompatible", gerr.detail);
		gic_ok = false;
		ret = vm_create_scratch(st.vcpus, st.memory_mib, GIC_WANT_ANY, &features, &vm,
					&gerr);
	}
	if (ret < 0) {
		if (err)
			*err = gerr;
		goto out;
	}
	if (st.gic_nr_irqs != MACHINE_GIC_NR_IRQS)
		refuse_named(&c, "vgic", "vgic_incompatible", "a different number of interrupts");
	for (unsigned i = 0; i < vm->nr_vcpus && ret == 0; i++)
		ret = check_vcpu(&c, vm->vcpus[i].fd, i, &st.vcpu[i], err);
	if (ret < 0)
		goto out;
	if (gic_ok) {
		c.gic_fd = gic_fd(vm->gic);
		gic_state_try(c.gic_fd, &st, on_gic_refused, &c);
	}
answer:
	ret = 0;
	*answer = json_pack("{s:b, s:b, s:s, s:O, s:O, s:O, s:O}", "ok", 1, "compatible",
			    json_array_size(c.refused) == 0, "source_kernel",
			    st.kernel_release, "refused", c.refused, "accepted", c.accepted,
			    "left_at_reset", c.left, "id_registers_zeroed", c.zeroed);
	if (!*answer)
		ret = vmm_error_set(err, "restore-check", ENOMEM, "out of memory");
out:
	vm_destroy(vm);
	json_decref(c.refused);
	json_decref(c.left);
	json_decref(c.zeroed);
	json_decref(c.accepted);
	vm_state_free(&st);
	return ret;
}
