/* vm.json <-> struct vm_state (vm_state.h). */
#include "vm_state.h"

#include "jsonutil.h"
#include "machine_layout.h"
#include "vm_spec.h"
#include "vmm_config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KVM's uapi (linux/kvm.h), repeated so that this file needs no KVM. */
#define REG_SIZE_SHIFT 52
#define REG_SIZE_MASK 0x00f0000000000000ULL

#define STEP "vm.json"

size_t vm_state_reg_size(uint64_t id)
{
	unsigned shift = (unsigned)((id & REG_SIZE_MASK) >> REG_SIZE_SHIFT);
	size_t size;

	if (shift > 8)
		return 0;
	size = (size_t)1 << shift;
	return size <= VM_STATE_MAX_REG_BYTES ? size : 0;
}

void vm_state_free(struct vm_state *st)
{
	if (!st)
		return;
	if (st->vcpu)
		for (unsigned i = 0; i < st->vcpus; i++) {
			free(st->vcpu[i].regs);
			free(st->vcpu[i].data);
		}
	free(st->vcpu);
	free(st->gic_regs);
	free(st->pins);
	free(st->readback);
	free(st->smccc_deny);
	memset(st, 0, sizeof(*st));
}

int vm_state_vcpu_add(struct vm_state_vcpu *v, uint64_t id, const void *value)
{
	size_t size = vm_state_reg_size(id);
	struct vm_state_reg *regs;
	uint8_t *data;

	if (!size || v->nregs >= VM_STATE_MAX_REGS)
		return -EINVAL;
	regs = realloc(v->regs, (v->nregs + 1) * sizeof(*regs));
	if (!regs)
		return -ENOMEM;
	v->regs = regs;
	data = realloc(v->data, v->data_len + size);
	if (!data)
		return -ENOMEM;
	v->data = data;
	memcpy(data + v->data_len, value, size);
	regs[v->nregs].id = id;
	regs[v->nregs].off = v->data_len;
	v->nregs++;
	v->data_len += size;
	return 0;
}

const uint8_t *vm_state_vcpu_find(const struct vm_state_vcpu *v, uint64_t id)
{
	size_t lo = 0, hi = v->nregs;

	while (lo < hi) { /* ids are ascending */
		size_t mid = lo + (hi - lo) / 2;

		if (v->regs[mid].id == id)
			return v->data + v->regs[mid].off;
		if (v->regs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- encoding ---- */

static json_t *hex64(uint64_t v)
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

static json_t *hex_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *v;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	v = json_string(s);
	free(s);
	return v;
}

static json_t *reg_to_json(const struct vm_state_vcpu *v, size_t i)
{
	size_t size = vm_state_reg_size(v->regs[i].id);
	const uint8_t *p = v->data + v->regs[i].off;
	uint64_t value = 0;

	if (size > sizeof(value))
		return json_pack("{s:o, s:o}", "id", hex_id(v->regs[i].id), "bytes",
				 hex_bytes(p, size));
	memcpy(&value, p, size); /* little-endian host: the low bytes */
	return json_pack("{s:o, s:o}", "id", hex_id(v->regs[i].id), "value",
			 hex64(value));
}

static json_t *vcpu_to_json(const struct vm_state_vcpu *v)
{
	json_t *regs = json_array();

	for (size_t i = 0; regs && i < v->nregs; i++)
		if (json_array_append_new(regs, reg_to_json(v, i)) < 0) {
			json_decref(regs);
			return NULL;
		}
	if (!regs)
		return NULL;
	return json_pack("{s:I, s:o, s:o}", "mp_state", (json_int_t)v->mp_state,
			 "mpidr", hex64(v->mpidr), "regs", regs);
}

static json_t *uart_to_json(const struct uart_16550_state *u)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:b}",
			 "ier", u->ier, "lcr", u->lcr, "mcr", u->mcr, "scr", u->scr,
			 "dll", u->dll, "dlm", u->dlm, "fcr", u->fcr, "rbr", u->rbr,
			 "thre_pending", u->thre_pending, "rx_ready", u->rx_ready,
			 "irq_level", u->irq_level);
}

static json_t *gic_to_json(const struct vm_state *st)
{
	json_t *regs = json_array();

	for (size_t i = 0; regs && i < st->ngic_regs; i++) {
		const struct vm_state_gic_reg *r = &st->gic_regs[i];

		if (json_array_append_new(regs, json_pack("{s:I, s:o, s:o}",
				"group", (json_int_t)r->group, "attr", hex64(r->attr),
				"value", hex64(r->value))) < 0) {
			json_decref(regs);
			return NULL;
		}
	}
	if (!regs)
		return NULL;
	return json_pack("{s:s, s:I, s:o}", "version", st->gic_version, "nr_irqs",
			 (json_int_t)st->gic_nr_irqs, "regs", regs);
}

json_t *vm_state_to_json(const struct vm_state *st)
{
	json_t *vcpus = json_array(), *pins = json_array(), *deny = json_array();
	json_t *obj;
	size_t i;

	for (i = 0; vcpus && i < st->vcpus; i++)
		if (json_array_append_new(vcpus, vcpu_to_json(&st->vcpu[i])) < 0)
			goto oom;
	for (i = 0; pins && i < st->npins; i++)
		if (json_array_append_new(pins, json_pack("{s:o, s:o, s:o}",
				"id", hex_id(st->pins[i].id), "value", hex64(st->pins[i].value),
				"readback", hex64(st->readback[i].value))) < 0)
			goto oom;
	for (i = 0; deny && i < st->nsmccc_deny; i++)
		if (json_array_append_new(deny, json_pack("{s:o, s:o}",
				"base", hex64(st->smccc_deny[i].base),
				"count", hex64(st->smccc_deny[i].count))) < 0)
			goto oom;
	if (!vcpus || !pins || !deny)
		goto oom;
	obj = json_pack("{s:i, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:I, "
			"s:{s:s, s:o, s:o}, s:o, s:o, s:o}",
			"format", VM_STATE_FORMAT,
			"kernel_release", st->kernel_release,
			"vcpus", (json_int_t)st->vcpus,
			"memory_mib", (json_int_t)st->memory_mib,
			"ram_base", hex64(st->ram_base),
			"vcpu_features", hex64(st->vcpu_features),
			"gic", gic_to_json(st),
			"uart", uart_to_json(&st->uart),
			"console_offset", (json_int_t)st->uart.tx_bytes,
			"time", "semantics", "paused", "cntvct", hex64(st->cntvct),
			"cntfrq", hex64(st->cntfrq),
			"vcpu", vcpus, "pins", pins, "smccc_deny", deny);
	return obj;
oom:
	json_decref(vcpus);
	json_decref(pins);
	json_decref(deny);
	return NULL;
}

/* ---- decoding ---- */

static int bad(struct vmm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad(struct vmm_error *err, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vmm_error_set(err, STEP, EINVAL, "%s", what);
}

static int oom(struct vmm_error *err)
{
	return vmm_error_set(err, STEP, ENOMEM, "out of memory");
}

/* Every key of obj is one of keys[]; else names the first stranger. */
static int only_keys(const json_t *obj, const char *path, const char *const *keys,
		     size_t nkeys, struct vmm_error *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return bad(err, "%s: must be an object", path[0] ? path : "(top level)");
	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; i < nkeys && strcmp(key, keys[i]); i++)
			;
		if (i == nkeys)
			return bad(err, "%s%s%s: unknown key", path, path[0] ? "." : "", key);
	}
	return 0;
}

static const json_t *need(const json_t *obj, const char *path, const char *key,
			  int *ret, struct vmm_error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		*ret = bad(err, "%s%s%s: missing", path, path[0] ? "." : "", key);
	return v;
}

static int get_hex(const json_t *obj, const char *path, const char *key,
		   uint64_t *out, struct vmm_error *err)
{
	int ret = 0;
	const json_t *v = need(obj, path, key, &ret, err);

	if (!v)
		return ret;
	if (ju_parse_hex(json_string_value(v), out) < 0)
		return bad(err, "%s%s%s: must be a 0x-prefixed hex string", path,
			   path[0] ? "." : "", key);
	return 0;
}

static int get_int(const json_t *obj, const char *path, const char *key,
		   uint64_t min, uint64_t max, uint64_t *out, struct vmm_error *err)
{
	int ret = 0;
	const json_t *v = need(obj, path, key, &ret, err);
	json_int_t i;

	if (!v)
		return ret;
	if (!json_is_integer(v))
		return bad(err, "%s%s%s: must be an integer", path, path[0] ? "." : "", key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return bad(err, "%s%s%s: %" JSON_INTEGER_FORMAT " is outside %" PRIu64
			   "..%" PRIu64, path, path[0] ? "." : "", key, i, min, max);
	*out = (uint64_t)i;
	return 0;
}

static int get_bool(const json_t *obj, const char *path, const char *key,
		    bool *out, struct vmm_error *err)
{
	int ret = 0;
	const json_t *v = need(obj, path, key, &ret, err);

	if (!v)
		return ret;
	if (!json_is_boolean(v))
		return bad(err, "%s.%s: must be true or false", path, key);
	*out = json_is_true(v);
	return 0;
}

static const json_t *get_array(const json_t *obj, const char *path, const char *key,
			       size_t max, int *ret, struct vmm_error *err)
{
	const json_t *v = need(obj, path, key, ret, err);

	if (!v)
		return NULL;
	if (!json_is_array(v)) {
		*ret = bad(err, "%s%s%s: must be an array", path, path[0] ? "." : "", key);
		return NULL;
	}
	if (json_array_size(v) > max) {
		*ret = bad(err, "%s%s%s: more than %zu entries", path, path[0] ? "." : "",
			   key, max);
		return NULL;
	}
	return v;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int reg_from_json(const json_t *r, const char *path, struct vm_state_vcpu *v,
			 uint64_t prev, bool first, struct vmm_error *err)
{
	static const char *const keys[] = { "id", "value", "bytes" };
	uint8_t buf[VM_STATE_MAX_REG_BYTES];
	uint64_t id, value;
	size_t size;
	int ret;

	if ((ret = only_keys(r, path, keys, 3, err)) < 0 ||
	    (ret = get_hex(r, path, "id", &id, err)) < 0)
		return ret;
	if (!first && id <= prev)
		return bad(err, "%s.id: 0x%016" PRIx64 " is not above the one before",
			   path, id);
	size = vm_state_reg_size(id);
	if (!size)
		return bad(err, "%s.id: 0x%016" PRIx64 " has no size pinvm knows", path, id);
	if (size <= sizeof(value)) {
		if (json_object_get(r, "bytes"))
			return bad(err, "%s.bytes: a %zu-byte register has \"value\"", path,
				   size);
		if ((ret = get_hex(r, path, "value", &value, err)) < 0)
			return ret;
		if (size < sizeof(value) && value >> (8 * size))
			return bad(err, "%s.value: wider than the register's %zu bytes", path,
				   size);
		memcpy(buf, &value, size);
	} else {
		const json_t *b = json_object_get(r, "bytes");
		const char *s = json_string_value(b);

		if (json_object_get(r, "value"))
			return bad(err, "%s.value: a %zu-byte register has \"bytes\"", path,
				   size);
		if (!s || json_string_length(b) != 2 * size)
			return bad(err, "%s.bytes: must be %zu hex digits", path, 2 * size);
		for (size_t i = 0; i < size; i++) {
			int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return bad(err, "%s.bytes: must be %zu hex digits", path,
					   2 * size);
			buf[i] = (uint8_t)(hi << 4 | lo);
		}
	}
	if (vm_state_vcpu_add(v, id, buf) < 0)
		return oom(err);
	return 0;
}

static int vcpu_from_json(const json_t *o, unsigned idx, struct vm_state_vcpu *v,
			  struct vmm_error *err)
{
	static const char *const keys[] = { "mp_state", "mpidr", "regs" };
	const json_t *regs;
	char path[48], rpath[80];
	uint64_t n;
	int ret = 0;

	snprintf(path, sizeof(path), "vcpu[%u]", idx);
	if ((ret = only_keys(o, path, keys, 3, err)) < 0 ||
	    (ret = get_int(o, path, "mp_state", 0, UINT32_MAX, &n, err)) < 0 ||
	    (ret = get_hex(o, path, "mpidr", &v->mpidr, err)) < 0)
		return ret;
	v->mp_state = (uint32_t)n;
	regs = get_array(o, path, "regs", VM_STATE_MAX_REGS, &ret, err);
	if (!regs)
		return ret;
	for (size_t i = 0; i < json_array_size(regs); i++) {
		snprintf(rpath, sizeof(rpath), "%s.regs[%zu]", path, i);
		ret = reg_from_json(json_array_get(regs, i), rpath, v,
				    i ? v->regs[i - 1].id : 0, i == 0, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int gic_from_json(const json_t *g, struct vm_state *st, struct vmm_error *err)
{
	static const char *const keys[] = { "version", "nr_irqs", "regs" };
	static const char *const rkeys[] = { "group", "attr", "value" };
	const json_t *regs, *ver;
	char path[48];
	uint64_t n;
	bool v2;
	int ret = 0;

	if ((ret = only_keys(g, "gic", keys, 3, err)) < 0)
		return ret;
	ver = json_object_get(g, "version");
	if (!json_is_string(ver) || (strcmp(json_string_value(ver), "v3") &&
				     strcmp(json_string_value(ver), "v2")))
		return bad(err, "gic.version: must be \"v3\" or \"v2\"");
	v2 = strcmp(json_string_value(ver), "v2") == 0;
	if (v2 && st->vcpus > MACHINE_GICV2_MAX_VCPUS)
		return bad(err, "gic.version: a GICv2 serves at most %u vCPUs, not %u",
			   MACHINE_GICV2_MAX_VCPUS, st->vcpus);
	snprintf(st->gic_version, sizeof(st->gic_version), "%s", v2 ? "v2" : "v3");
	if ((ret = get_int(g, "gic", "nr_irqs", 64, 1024, &n, err)) < 0)
		return ret;
	if (n % 32)
		return bad(err, "gic.nr_irqs: must be a multiple of 32");
	st->gic_nr_irqs = (unsigned)n;
	regs = get_array(g, "gic", "regs", VM_STATE_MAX_GIC_REGS, &ret, err);
	if (!regs)
		return ret;
	if (json_array_size(regs)) {
		st->gic_regs = calloc(json_array_size(regs), sizeof(*st->gic_regs));
		if (!st->gic_regs)
			return oom(err);
	}
	for (size_t i = 0; i < json_array_size(regs); i++) {
		const json_t *r = json_array_get(regs, i);
		struct vm_state_gic_reg *gr = &st->gic_regs[i];

		snprintf(path, sizeof(path), "gic.regs[%zu]", i);
		if ((ret = only_keys(r, path, rkeys, 3, err)) < 0 ||
		    (ret = get_int(r, path, "group", 1, 7, &n, err)) < 0 ||
		    (ret = get_hex(r, path, "attr", &gr->attr, err)) < 0 ||
		    (ret = get_hex(r, path, "value", &gr->value, err)) < 0)
			return ret;
		/* v3: distributor, redistributor, CPU sysregs, line levels;
		 * v2: distributor, CPU interface. */
		if (v2 ? n != 1 && n != 2 : n != 1 && n != 5 && n != 6 && n != 7)
			return bad(err, "%s.group: %" PRIu64 " is not a vGIC%s register group",
				   path, n, st->gic_version);
		if (n != 6 && gr->value > UINT32_MAX)
			return bad(err, "%s.value: a 32-bit register", path);
		gr->group = (uint32_t)n;
		st->ngic_regs++;
	}
	return 0;
}

static int uart_from_json(const json_t *u, struct uart_16550_state *s,
			  struct vmm_error *err)
{
	static const char *const keys[] = { "ier", "lcr", "mcr", "scr", "dll", "dlm",
					    "fcr", "rbr", "thre_pending", "rx_ready",
					    "irq_level" };
	uint8_t *bytes[] = { &s->ier, &s->lcr, &s->mcr, &s->scr,
			     &s->dll, &s->dlm, &s->fcr, &s->rbr };
	uint64_t n;
	int ret;

	if ((ret = only_keys(u, "uart", keys, 11, err)) < 0)
		return ret;
	for (size_t i = 0; i < 8; i++) {
		if ((ret = get_int(u, "uart", keys[i], 0, 255, &n, err)) < 0)
			return ret;
		*bytes[i] = (uint8_t)n;
	}
	if ((ret = get_bool(u, "uart", "thre_pending", &s->thre_pending, err)) < 0 ||
	    (ret = get_bool(u, "uart", "rx_ready", &s->rx_ready, err)) < 0 ||
	    (ret = get_bool(u, "uart", "irq_level", &s->irq_level, err)) < 0)
		return ret;
	return 0;
}

static int time_from_json(const json_t *t, struct vm_state *st, struct vmm_error *err)
{
	static const char *const keys[] = { "semantics", "cntvct", "cntfrq" };
	const json_t *sem;
	int ret;

	if ((ret = only_keys(t, "time", keys, 3, err)) < 0)
		return ret;
	sem = json_object_get(t, "semantics");
	if (!json_is_string(sem) || strcmp(json_string_value(sem), "paused"))
		return bad(err, "time.semantics: must be \"paused\"");
	if ((ret = get_hex(t, "time", "cntvct", &st->cntvct, err)) < 0 ||
	    (ret = get_hex(t, "time", "cntfrq", &st->cntfrq, err)) < 0)
		return ret;
	if (!st->cntfrq || st->cntfrq > UINT32_MAX)
		return bad(err, "time.cntfrq: must be a non-zero 32-bit value");
	return 0;
}

static int pins_from_json(const json_t *obj, struct vm_state *st, struct vmm_error *err)
{
	static const char *const keys[] = { "id", "value", "readback" };
	const json_t *arr;
	char path[48];
	int ret = 0;

	arr = get_array(obj, "", "pins", VMM_CONFIG_MAX_PINS, &ret, err);
	if (!arr)
		return ret;
	if (json_array_size(arr) &&
	    (!(st->pins = calloc(json_array_size(arr), sizeof(*st->pins))) ||
	     !(st->readback = calloc(json_array_size(arr), sizeof(*st->readback)))))
		return oom(err);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *p = json_array_get(arr, i);
		struct fw_pin *pin = &st->pins[i];

		snprintf(path, sizeof(path), "pins[%zu]", i);
		if ((ret = only_keys(p, path, keys, 3, err)) < 0 ||
		    (ret = get_hex(p, path, "id", &pin->id, err)) < 0 ||
		    (ret = get_hex(p, path, "value", &pin->value, err)) < 0 ||
		    (ret = get_hex(p, path, "readback", &st->readback[i].value, err)) < 0)
			return ret;
		st->readback[i].id = pin->id;
		st->npins++;
	}
	return 0;
}

static int deny_from_json(const json_t *obj, struct vm_state *st, struct vmm_error *err)
{
	static const char *const keys[] = { "base", "count" };
	const json_t *arr;
	char path[48];
	int ret = 0;

	arr = get_array(obj, "", "smccc_deny", VMM_CONFIG_MAX_SMCCC_DENY, &ret, err);
	if (!arr)
		return ret;
	if (json_array_size(arr) &&
	    !(st->smccc_deny = calloc(json_array_size(arr), sizeof(*st->smccc_deny))))
		return oom(err);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *d = json_array_get(arr, i);
		uint64_t b, c;

		snprintf(path, sizeof(path), "smccc_deny[%zu]", i);
		if ((ret = only_keys(d, path, keys, 2, err)) < 0 ||
		    (ret = get_hex(d, path, "base", &b, err)) < 0 ||
		    (ret = get_hex(d, path, "count", &c, err)) < 0)
			return ret;
		if (b > UINT32_MAX || !c || c > (1ULL << 32) - b)
			return bad(err, "%s: not a range of 32-bit function ids", path);
		st->smccc_deny[i].base = (uint32_t)b;
		st->smccc_deny[i].count = c;
		st->nsmccc_deny++;
	}
	return 0;
}

static int decode(const json_t *obj, struct vm_state *st, struct vmm_error *err)
{
	static const char *const keys[] = {
		"format", "kernel_release", "vcpus", "memory_mib", "ram_base",
		"vcpu_features", "gic", "uart", "console_offset", "time", "vcpu",
		"pins", "smccc_deny",
	};
	const json_t *v, *vcpus;
	uint64_t n;
	int ret = 0;

	if ((ret = only_keys(obj, "", keys, sizeof(keys) / sizeof(keys[0]), err)) < 0)
		return ret;
	v = need(obj, "", "format", &ret, err);
	if (!v)
		return ret;
	if (!json_is_integer(v) || json_integer_value(v) != VM_STATE_FORMAT)
		return bad(err, "format: only format %d is known", VM_STATE_FORMAT);
	v = need(obj, "", "kernel_release", &ret, err);
	if (!v)
		return ret;
	if (!json_is_string(v) || json_string_length(v) >= VM_STATE_RELEASE_LEN ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, "kernel_release: must be a string of at most %d bytes",
			   VM_STATE_RELEASE_LEN - 1);
	snprintf(st->kernel_release, sizeof(st->kernel_release), "%s",
		 json_string_value(v));
	if ((ret = get_int(obj, "", "vcpus", 1, VM_SPEC_MAX_VCPUS, &n, err)) < 0)
		return ret;
	st->vcpus = (unsigned)n;
	if ((ret = get_int(obj, "", "memory_mib", VM_SPEC_MIN_MEMORY_MIB,
			   VM_SPEC_MAX_MEMORY_MIB, &st->memory_mib, err)) < 0 ||
	    (ret = get_hex(obj, "", "ram_base", &st->ram_base, err)) < 0 ||
	    (ret = get_hex(obj, "", "vcpu_features", &st->vcpu_features, err)) < 0)
		return ret;
	if (st->vcpu_features > UINT32_MAX)
		return bad(err, "vcpu_features: a 32-bit bitmap");
	if ((v = need(obj, "", "gic", &ret, err)) == NULL ||
	    (ret = gic_from_json(v, st, err)) < 0)
		return ret;
	if ((v = need(obj, "", "uart", &ret, err)) == NULL ||
	    (ret = uart_from_json(v, &st->uart, err)) < 0)
		return ret;
	if ((ret = get_int(obj, "", "console_offset", 0, INT64_MAX, &st->uart.tx_bytes,
			   err)) < 0)
		return ret;
	if ((v = need(obj, "", "time", &ret, err)) == NULL ||
	    (ret = time_from_json(v, st, err)) < 0)
		return ret;
	vcpus = get_array(obj, "", "vcpu", VM_SPEC_MAX_VCPUS, &ret, err);
	if (!vcpus)
		return ret;
	if (json_array_size(vcpus) != st->vcpus)
		return bad(err, "vcpu: %zu entries for %u vCPUs", json_array_size(vcpus),
			   st->vcpus);
	st->vcpu = calloc(st->vcpus, sizeof(*st->vcpu));
	if (!st->vcpu)
		return oom(err);
	for (unsigned i = 0; i < st->vcpus; i++)
		if ((ret = vcpu_from_json(json_array_get(vcpus, i), i, &st->vcpu[i], err)) < 0)
			return ret;
	if ((ret = pins_from_json(obj, st, err)) < 0)
		return ret;
	return deny_from_json(obj, st, err);
}

int vm_state_from_json(const json_t *obj, struct vm_state *st, struct vmm_error *err)
{
	int ret;

	memset(st, 0, sizeof(*st));
	ret = decode(obj, st, err);
	if (ret < 0)
		vm_state_free(st);
	return ret;
}

int vm_state_load(const char *dir, struct vm_state *st, struct vmm_error *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *obj;
	int ret;

	memset(st, 0, sizeof(*st));
	if ((size_t)snprintf(path, sizeof(path), "%s/vm.json", dir) >= sizeof(path))
		return vmm_error_set(err, STEP, ENAMETOOLONG, "%s: path too long", dir);
	obj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return vmm_error_set(err, STEP,
				     json_error_code(&jerr) == json_error_cannot_open_file
					     ? ENOENT : EINVAL,
				     "%s: %s (line %d)", path, jerr.text, jerr.line);
	ret = vm_state_from_json(obj, st, err);
	json_decref(obj);
	return ret;
}

int vm_state_save(const struct vm_state *st, const char *dir, struct vmm_error *err)
{
	char path[PATH_MAX];
	json_t *obj;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/vm.json", dir) >= sizeof(path))
		return vmm_error_set(err, STEP, ENAMETOOLONG, "%s: path too long", dir);
	obj = vm_state_to_json(st);
	if (!obj)
		return oom(err);
	ret = vmm_json_save(obj, JSON_COMPACT, path, STEP, err);
	json_decref(obj);
	return ret;
}
