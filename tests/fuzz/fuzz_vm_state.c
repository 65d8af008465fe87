/*
 * vm_state_from_json() (vmm/vm_state_json.c) on arbitrary JSON: vm.json
 * comes from snapshot archives pinvmd imports from outside. A refusal
 * names its key under step "vm.json" and leaves nothing allocated; an
 * accepted state is within every limit the header states and survives
 * vm_state_to_json() and a second parse unchanged.
 */
#include "fuzz.h"

#include "machine_layout.h"
#include "vm_state.h"
#include "vm_spec.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static void check_limits(const struct vm_state *st)
{
	FUZZ_CHECK(st->vcpus >= 1 && st->vcpus <= VM_SPEC_MAX_VCPUS);
	FUZZ_CHECK(st->vcpu != NULL);
	bool v2 = !strcmp(st->gic_version, "v2");

	FUZZ_CHECK(v2 || !strcmp(st->gic_version, "v3"));
	FUZZ_CHECK(!v2 || st->vcpus <= MACHINE_GICV2_MAX_VCPUS);
	FUZZ_CHECK(st->gic_nr_irqs % 32 == 0);
	FUZZ_CHECK(st->ngic_regs <= VM_STATE_MAX_GIC_REGS);
	/* Only the version's register groups (vgic-v2.rst, vgic-v3.rst). */
	for (size_t i = 0; i < st->ngic_regs; i++) {
		uint32_t g = st->gic_regs[i].group;

		FUZZ_CHECK(v2 ? g == 1 || g == 2 : g == 1 || (g >= 5 && g <= 7));
	}
	FUZZ_CHECK(st->cntfrq != 0);
	for (unsigned i = 0; i < st->vcpus; i++) {
		const struct vm_state_vcpu *v = &st->vcpu[i];
		size_t len = 0;

		FUZZ_CHECK(v->nregs <= VM_STATE_MAX_REGS);
		for (size_t r = 0; r < v->nregs; r++) {
			size_t size = vm_state_reg_size(v->regs[r].id);

			FUZZ_CHECK(size != 0);
			FUZZ_CHECK(r == 0 || v->regs[r].id > v->regs[r - 1].id);
			FUZZ_CHECK(v->regs[r].off == len);
			len += size;
			FUZZ_CHECK(vm_state_vcpu_find(v, v->regs[r].id) ==
				   v->data + v->regs[r].off);
		}
		FUZZ_CHECK(v->data_len == len);
	}
}

static void check_same(const struct vm_state *a, const struct vm_state *b)
{
	FUZZ_CHECK(!strcmp(a->kernel_release, b->kernel_release));
	FUZZ_CHECK(a->vcpus == b->vcpus && a->memory_mib == b->memory_mib);
	FUZZ_CHECK(a->ram_base == b->ram_base && a->vcpu_features == b->vcpu_features);
	FUZZ_CHECK(!strcmp(a->gic_version, b->gic_version));
	FUZZ_CHECK(a->ngic_regs == b->ngic_regs);
	FUZZ_CHECK(!a->ngic_regs || !memcmp(a->gic_regs, b->gic_regs,
					   a->ngic_regs * sizeof(*a->gic_regs)));
	FUZZ_CHECK(!memcmp(&a->uart, &b->uart, sizeof(a->uart)));
	FUZZ_CHECK(a->cntvct == b->cntvct && a->cntfrq == b->cntfrq);
	for (unsigned i = 0; i < a->vcpus; i++) {
		FUZZ_CHECK(a->vcpu[i].nregs == b->vcpu[i].nregs);
		FUZZ_CHECK(a->vcpu[i].data_len == b->vcpu[i].data_len);
		FUZZ_CHECK(!a->vcpu[i].data_len ||
			   !memcmp(a->vcpu[i].data, b->vcpu[i].data, a->vcpu[i].data_len));
		FUZZ_CHECK(a->vcpu[i].mp_state == b->vcpu[i].mp_state);
		FUZZ_CHECK(a->vcpu[i].mpidr == b->vcpu[i].mpidr);
	}
	FUZZ_CHECK(a->npins == b->npins && a->nsmccc_deny == b->nsmccc_deny);
}

int fuzz_run(const uint8_t *data, size_t size)
{
	struct vm_state st, again;
	struct vmm_error err;
	json_t *doc, *out;
	int ret;

	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!doc)
		return -1;
	memset(&err, 0, sizeof(err));
	ret = vm_state_from_json(doc, &st, &err);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		FUZZ_CHECK(!strcmp(err.step, "vm.json"));
		FUZZ_CHECK(err.detail[0] != '\0');
		FUZZ_CHECK(st.vcpu == NULL && st.gic_regs == NULL && st.pins == NULL);
		FUZZ_CHECK(vm_state_from_json(doc, &st, NULL) == ret);
		json_decref(doc);
		return 0;
	}
	check_limits(&st);
	out = vm_state_to_json(&st);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(vm_state_from_json(out, &again, &err) == 0);
	check_same(&st, &again);
	json_decref(out);
	vm_state_free(&again);
	vm_state_free(&st);
	json_decref(doc);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
