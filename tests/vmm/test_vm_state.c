/*
 * vm.json (vm_state.h): what pinvm-vmm writes reads back the same, and
 * every malformed document is refused naming the key, with nothing left
 * allocated (the ASan build checks that).
 */
#include "vm_state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define REG_X0 0x6030000000100000ULL
#define REG_PC 0x6030000000100040ULL
#define REG_V0 0x6040000000100054ULL   /* 128 bits */
#define REG_FPSR 0x60200000001000d4ULL /* 32 bits */
#define REG_SVE_Z0 0x6080000000150000ULL /* 2048 bits */

/* A state with one register of every size class, two vCPUs. */
static void sample(struct vm_state *st)
{
	uint8_t wide[256];
	uint64_t v;

	memset(st, 0, sizeof(*st));
	snprintf(st->kernel_release, sizeof(st->kernel_release), "6.12.0-test");
	st->vcpus = 2;
	st->memory_mib = 128;
	st->ram_base = 0x80000000ULL;
	st->vcpu_features = 0x4;
	snprintf(st->gic_version, sizeof(st->gic_version), "v3");
	st->gic_nr_irqs = 128;
	st->gic_regs = calloc(3, sizeof(*st->gic_regs));
	assert_non_null(st->gic_regs);
	st->gic_regs[0] = (struct vm_state_gic_reg){ 1, 0x8, 0x43b };
	st->gic_regs[1] = (struct vm_state_gic_reg){ 5, 0x100000000ULL | 0x10100, 0xffff };
	st->gic_regs[2] = (struct vm_state_gic_reg){ 6, 0xc664, 0xffffffff00000007ULL };
	st->ngic_regs = 3;
	st->uart = (struct uart_16550_state){ .ier = 2, .lcr = 3, .mcr = 8, .fcr = 0xc1,
					      .thre_pending = true, .irq_level = true,
					      .tx_bytes = 12345 };
	st->cntvct = 0x123456789aULL;
	st->cntfrq = 62500000;
	st->vcpu = calloc(2, sizeof(*st->vcpu));
	assert_non_null(st->vcpu);
	for (unsigned i = 0; i < 2; i++) {
		struct vm_state_vcpu *c = &st->vcpu[i];

		c->mp_state = i ? 5 : 0;
		c->mpidr = 0x80000000ULL | i;
		v = 0xdead0000 + i;
		assert_int_equal(vm_state_vcpu_add(c, REG_X0, &v), 0);
		v = 0xffff800080001000ULL;
		assert_int_equal(vm_state_vcpu_add(c, REG_PC, &v), 0);
		for (size_t b = 0; b < sizeof(wide); b++)
			wide[b] = (uint8_t)(b * 7 + i);
		assert_int_equal(vm_state_vcpu_add(c, REG_V0, wide), 0);
		v = 0x8000010;
		assert_int_equal(vm_state_vcpu_add(c, REG_FPSR, &v), 0);
		assert_int_equal(vm_state_vcpu_add(c, REG_SVE_Z0, wide), 0);
	}
	/* ids must ascend: FPSR (0x6020...) sorts first; fix the order. */
	for (unsigned i = 0; i < 2; i++) {
		struct vm_state_vcpu *c = &st->vcpu[i];
		struct vm_state_reg t;

		for (size_t a = 0; a < c->nregs; a++)
			for (size_t b = a + 1; b < c->nregs; b++)
				if (c->regs[b].id < c->regs[a].id) {
					t = c->regs[a];
					c->regs[a] = c->regs[b];
					c->regs[b] = t;
				}
	}
	st->pins = calloc(1, sizeof(*st->pins));
	st->readback = calloc(1, sizeof(*st->readback));
	assert_non_null(st->pins);
	assert_non_null(st->readback);
	st->pins[0] = (struct fw_pin){ 0x6030000000140000ULL, 0x10001 };
	st->readback[0] = (struct fw_pin){ 0x6030000000140000ULL, 0x10000 };
	st->npins = 1;
	st->smccc_deny = calloc(1, sizeof(*st->smccc_deny));
	assert_non_null(st->smccc_deny);
	st->smccc_deny[0] = (struct smccc_range){ 0x86000000, 0x10000 };
	st->nsmccc_deny = 1;
}

static void assert_same(const struct vm_state *a, const struct vm_state *b)
{
	assert_string_equal(a->kernel_release, b->kernel_release);
	assert_int_equal(a->vcpus, b->vcpus);
	assert_int_equal(a->memory_mib, b->memory_mib);
	assert_int_equal(a->ram_base, b->ram_base);
	assert_int_equal(a->vcpu_features, b->vcpu_features);
	assert_string_equal(a->gic_version, b->gic_version);
	assert_int_equal(a->gic_nr_irqs, b->gic_nr_irqs);
	assert_int_equal(a->ngic_regs, b->ngic_regs);
	assert_memory_equal(a->gic_regs, b->gic_regs, a->ngic_regs * sizeof(*a->gic_regs));
	assert_memory_equal(&a->uart, &b->uart, sizeof(a->uart));
	assert_int_equal(a->cntvct, b->cntvct);
	assert_int_equal(a->cntfrq, b->cntfrq);
	for (unsigned i = 0; i < a->vcpus; i++) {
		const struct vm_state_vcpu *x = &a->vcpu[i], *y = &b->vcpu[i];

		assert_int_equal(x->mp_state, y->mp_state);
		assert_int_equal(x->mpidr, y->mpidr);
		assert_int_equal(x->nregs, y->nregs);
		for (size_t r = 0; r < x->nregs; r++) {
			assert_int_equal(x->regs[r].id, y->regs[r].id);
			assert_memory_equal(x->data + x->regs[r].off, y->data + y->regs[r].off,
					    vm_state_reg_size(x->regs[r].id));
			assert_ptr_equal(vm_state_vcpu_find(y, x->regs[r].id),
					 y->data + y->regs[r].off);
		}
	}
	assert_int_equal(a->npins, b->npins);
	assert_memory_equal(a->pins, b->pins, a->npins * sizeof(*a->pins));
	assert_memory_equal(a->readback, b->readback, a->npins * sizeof(*a->readback));
	assert_int_equal(a->nsmccc_deny, b->nsmccc_deny);
	assert_memory_equal(a->smccc_deny, b->smccc_deny,
			    a->nsmccc_deny * sizeof(*a->smccc_deny));
}

static void test_round_trip(void **state)
{
	struct vm_state a, b;
	struct vmm_error err;
	char dir[] = "/tmp/test_vm_state.XXXXXX", path[64];
	json_t *obj;

	(void)state;
	sample(&a);
	assert_int_equal(vm_state_reg_size(REG_SVE_Z0), 256);
	assert_int_equal(vm_state_reg_size(REG_FPSR), 4);
	obj = vm_state_to_json(&a);
	assert_non_null(obj);
	assert_int_equal(vm_state_from_json(obj, &b, &err), 0);
	assert_same(&a, &b);
	vm_state_free(&b);
	/* Through a file, as pinvm-vmm and pinvmd use it. */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vm_state_save(&a, dir, &err), 0);
	assert_int_equal(vm_state_load(dir, &b, &err), 0);
	assert_same(&a, &b);
	vm_state_free(&b);
	snprintf(path, sizeof(path), "%s/vm.json", dir);
	unlink(path);
	rmdir(dir);
	/* The contract's spellings (docs/snapshot-format.md). */
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(obj, "time"), "semantics")), "paused");
	assert_int_equal(json_integer_value(json_object_get(obj, "console_offset")), 12345);
	json_decref(obj);
	vm_state_free(&a);
}

/* A GICv2's state: distributor (banked by vCPU index) and CPU interface
 * registers, 32 bits each. */
static void test_round_trip_v2(void **state)
{
	struct vm_state a, b;
	struct vmm_error err;
	json_t *obj;

	(void)state;
	sample(&a);
	snprintf(a.gic_version, sizeof(a.gic_version), "v2");
	a.gic_regs[1] = (struct vm_state_gic_reg){ 1, 0x100000000ULL | 0xf20, 0x3 };
	a.gic_regs[2] = (struct vm_state_gic_reg){ 2, 0x100000000ULL | 0xd0, 0x80000000 };
	obj = vm_state_to_json(&a);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "gic"),
							      "version")), "v2");
	assert_int_equal(vm_state_from_json(obj, &b, &err), 0);
	assert_same(&a, &b);
	vm_state_free(&b);
	json_decref(obj);
	vm_state_free(&a);
}

/* Edits a valid document with fn, expects a refusal mentioning want. */
static void refused(void (*fn)(json_t *doc), const char *want)
{
	struct vm_state a, b;
	struct vmm_error err;
	json_t *obj;

	sample(&a);
	obj = vm_state_to_json(&a);
	vm_state_free(&a);
	fn(obj);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vm_state_from_json(obj, &b, &err), -EINVAL);
	if (!strstr(err.detail, want))
		fail_msg("refusal \"%s\" does not name \"%s\"", err.detail, want);
	assert_string_equal(err.step, "vm.json");
	assert_null(b.vcpu);
	assert_null(b.gic_regs);
	json_decref(obj);
}

static json_t *reg(json_t *doc, int cpu, int i)
{
	return json_array_get(json_object_get(json_array_get(json_object_get(doc, "vcpu"),
							     (size_t)cpu), "regs"),
			      (size_t)i);
}

static void e_unknown_top(json_t *d) { json_object_set_new(d, "extra", json_true()); }
static void e_format(json_t *d) { json_object_set_new(d, "format", json_integer(2)); }
static void e_no_vcpu(json_t *d) { json_object_del(d, "vcpu"); }
static void e_vcpus(json_t *d) { json_object_set_new(d, "vcpus", json_integer(3)); }
static void e_reg_order(json_t *d)
{
	json_object_set_new(reg(d, 1, 1), "id", json_string("0x6020000000100000"));
}
static void e_reg_wide_value(json_t *d)
{
	json_object_set_new(reg(d, 0, 0), "value", json_string("0x100000000"));
}
static void e_reg_bytes_short(json_t *d)
{
	json_object_set_new(reg(d, 0, 3), "bytes", json_string("abcd"));
}
static void e_reg_bytes_hex(json_t *d)
{
	char s[513];

	memset(s, 'g', 512);
	s[512] = '\0';
	json_object_set_new(reg(d, 0, 4), "bytes", json_string(s));
}
static void e_reg_key(json_t *d) { json_object_set_new(reg(d, 1, 0), "size", json_integer(8)); }
static void e_reg_size(json_t *d)
{
	json_object_set_new(reg(d, 0, 1), "id", json_string("0x6090000000100040"));
}
static void e_gic_version(json_t *d)
{
	json_object_set_new(json_object_get(d, "gic"), "version", json_string("v4"));
}
/* The sample's redistributor register under a GICv2. */
static void e_gic_v2_group(json_t *d)
{
	json_object_set_new(json_object_get(d, "gic"), "version", json_string("v2"));
}
static void e_gic_v2_vcpus(json_t *d)
{
	json_object_set_new(json_object_get(d, "gic"), "version", json_string("v2"));
	json_object_set_new(d, "vcpus", json_integer(9));
}
static void e_gic_group(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(json_object_get(d, "gic"), "regs"), 1),
			    "group", json_integer(2));
}
static void e_uart(json_t *d)
{
	json_object_set_new(json_object_get(d, "uart"), "lcr", json_integer(256));
}
static void e_time(json_t *d)
{
	json_object_set_new(json_object_get(d, "time"), "semantics", json_string("catch-up"));
}
static void e_pin(json_t *d)
{
	json_object_del(json_array_get(json_object_get(d, "pins"), 0), "readback");
}
static void e_deny(json_t *d)
{
	json_object_set_new(json_array_get(json_object_get(d, "smccc_deny"), 0), "count",
			    json_string("0x0"));
}
static void e_top_array(json_t *d)
{
	json_object_clear(d);
}

static void test_refusals(void **state)
{
	(void)state;
	refused(e_unknown_top, "extra: unknown key");
	refused(e_format, "format");
	refused(e_no_vcpu, "vcpu: missing");
	refused(e_vcpus, "vcpu: 2 entries for 3 vCPUs");
	refused(e_reg_order, "vcpu[1].regs[1].id");
	refused(e_reg_wide_value, "vcpu[0].regs[0].value");
	refused(e_reg_bytes_short, "vcpu[0].regs[3].bytes");
	refused(e_reg_bytes_hex, "vcpu[0].regs[4].bytes");
	refused(e_reg_key, "vcpu[1].regs[0].size: unknown key");
	refused(e_reg_size, "vcpu[0].regs[1].id");
	refused(e_gic_version, "gic.version: must be \"v3\" or \"v2\"");
	refused(e_gic_v2_group, "gic.regs[1].group: 5 is not a vGICv2 register group");
	refused(e_gic_v2_vcpus, "gic.version: a GICv2 serves at most 8 vCPUs, not 9");
	refused(e_gic_group, "gic.regs[1].group");
	refused(e_uart, "uart.lcr");
	refused(e_time, "time.semantics");
	refused(e_pin, "pins[0].readback: missing");
	refused(e_deny, "smccc_deny[0]");
	refused(e_top_array, "format: missing");
}

static void test_not_an_object(void **state)
{
	struct vm_state st;
	struct vmm_error err;
	json_t *arr = json_array();

	(void)state;
	assert_int_equal(vm_state_from_json(arr, &st, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "must be an object"));
	json_decref(arr);
	assert_int_equal(vm_state_load("/nonexistent-dir", &st, &err), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_v2),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_not_an_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
