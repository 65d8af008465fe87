/*
 * The profile model: construction, checks, capture, canonical JSON.
 * Parsing is in profile_parse.c.
 */
#include "profile.h"

#include "fwreg.h"
#include "jsonutil.h"
#include "profile_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *profile_policy_name(enum profile_policy policy)
{
	return policy == PROFILE_UNKNOWN_DISABLE ? "disable" : "refuse";
}

int profile_check_name(const char *name, struct api_error *err)
{
	size_t len = name ? strlen(name) : 0;
	bool ok = len >= 1 && len <= PROFILE_NAME_MAX;

	for (size_t i = 0; ok && i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			ok = false;
	}
	if (ok)
		return 0;
	return api_fail(err, 422, "bad_name", "name",
			"name must be 1 to %d characters from A-Z a-z 0-9 . _ "
			"-, starting with a letter or digit",
			PROFILE_NAME_MAX);
}

void profile_pin_field(char *buf, size_t size, uint64_t id)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);

	if (d)
		ju_path(buf, size, "registers.%s", d->name);
	else
		ju_path(buf, size, "registers.0x%" PRIx64, id);
}

int profile_check_value(uint64_t id, uint64_t value, const char *field,
			struct api_error *err)
{
	const struct fwreg_desc *d = fwreg_lookup_id(id);
	const uint64_t wa2_valid = FWREG_WA_LEVEL_MASK | FWREG_WA2_ENABLED;
	uint64_t level = value & FWREG_WA_LEVEL_MASK;

	if (!d)
		return 0;
	switch (d->kind) {
	case FWREG_KIND_PSCI_VERSION:
		if (!fwreg_psci_version_lookup(value))
			return api_fail(err, 422, "unknown_psci_version", field,
					"%s: PSCI version %" PRIu64 ".%" PRIu64
					" (0x%" PRIx64 ") is not one KVM "
					"implements (0.1, 0.2, 1.0, 1.1, 1.2, "
					"1.3)",
					field, value >> 16, value & 0xffff,
					value);
		return 0;
	case FWREG_KIND_WORKAROUND:
		if (value & ~(uint64_t)FWREG_WA_LEVEL_MASK)
			return api_fail(err, 422, "bad_value_bits", field,
					"%s: 0x%" PRIx64 " sets bits outside "
					"the level field 0xf; KVM refuses "
					"them on every host",
					field, value);
		return 0;
	case FWREG_KIND_WORKAROUND_2:
		if (value & ~wa2_valid)
			return api_fail(err, 422, "bad_value_bits", field,
					"%s: 0x%" PRIx64 " sets bits outside "
					"0x1f (level and ENABLED); KVM refuses "
					"them on every host",
					field, value);
		if (level > FWREG_WA2_NOT_REQUIRED)
			return api_fail(err, 422, "undefined_level", field,
					"%s: level 0x%" PRIx64 " is not one "
					"KVM defines (NOT_AVAIL 0x0, UNKNOWN "
					"0x1, AVAIL 0x2, NOT_REQUIRED 0x3)",
					field, level);
		if ((value & FWREG_WA2_ENABLED) && level != FWREG_WA2_AVAIL)
			return api_fail(err, 422, "enabled_needs_avail", field,
					"%s: 0x%" PRIx64 " sets ENABLED (0x10) "
					"with level 0x%" PRIx64 "; KVM accepts "
					"ENABLED only with level AVAIL (0x2)",
					field, value, level);
		return 0;
	case FWREG_KIND_BITMAP:
		return 0;
	}
	return 0;
}

int profile_check_applicable(const struct profile *p, struct api_error *err)
{
	const struct profile_pin *psci =
		profile_find_pin(p, FWREG_ID_PSCI_VERSION);
	const struct profile_pin *v2 =
		profile_find_pin(p, FWREG_ID_VENDOR_HYP_BMAP_2);

	if (psci && psci->mode == PROFILE_PIN_VALUE &&
	    psci->value == FWREG_PSCI(0, 1))
		return api_fail(err, 422, "psci_0_1_unsupported",
				"registers.PSCI_VERSION",
				"registers.PSCI_VERSION: PSCI 0.1 cannot be "
				"applied: pinvm initialises every vCPU with "
				"KVM_ARM_VCPU_PSCI_0_2 (standard SMCCC "
				"function ids), and KVM accepts 0.1 only "
				"without it; pin 0.2 or later");
	if (v2 && v2->mode == PROFILE_PIN_VALUE && v2->value)
		return api_fail(err, 422, "unanswered_service",
				"registers.VENDOR_HYP_BMAP_2",
				"registers.VENDOR_HYP_BMAP_2: 0x%" PRIx64
				" would make KVM_FEATURES advertise calls KVM "
				"leaves to the VMM (DISCOVER_IMPL_VER/CPUS), "
				"and pinvm-vmm does not answer them: the guest "
				"would be told of services that answer "
				"NOT_SUPPORTED; pin 0x0",
				v2->value);
	return 0;
}

int profile_new(const char *name, struct profile **out,
		struct api_error *err)
{
	struct profile *p;
	int ret;

	*out = NULL;
	ret = profile_check_name(name, err);
	if (ret)
		return ret;
	p = ju_malloc(sizeof(*p));
	if (!p)
		return ju_oom(err);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->unknown_registers = PROFILE_UNKNOWN_REFUSE;
	p->refs = 1;
	*out = p;
	return 0;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return; /* not the last reference */
	json_decref(p->observed_abi);
	json_decref(p->source);
	ju_free(p);
}

struct profile *profile_ref(struct profile *p)
{
	__atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

const struct profile_pin *profile_find_pin(const struct profile *p,
					   uint64_t id)
{
	size_t lo = 0, hi = p->npins;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->pins[mid].id == id)
			return &p->pins[mid];
		if (p->pins[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int profile_insert_pin(struct profile *p, const struct profile_pin *pin,
		       const char *field, struct api_error *err)
{
	size_t at;

	if (!fwreg_id_is_firmware(pin->id))
		return api_fail(err, 422, "not_firmware_register", field,
				"%s: 0x%" PRIx64 " is not a KVM/arm64 firmware "
				"register id (64-bit, coprocessor 0x14 or "
				"0x16)",
				field, pin->id);
	if (profile_find_pin(p, pin->id))
		return api_fail(err, 422, "duplicate_register", field,
				"%s: register 0x%" PRIx64 " is pinned twice",
				field, pin->id);
	if (p->npins == PROFILE_MAX_PINS)
		return api_fail(err, 422, "too_many_registers", "registers",
				"more than %d registers", PROFILE_MAX_PINS);
	for (at = p->npins; at > 0 && p->pins[at - 1].id > pin->id; at--)
		p->pins[at] = p->pins[at - 1];
	p->pins[at] = *pin;
	if (pin->mode == PROFILE_PIN_HOST)
		p->pins[at].value = 0;
	p->npins++;
	return 0;
}

int profile_add_pin(struct profile *p, uint64_t id,
		    enum profile_pin_mode mode, uint64_t value,
		    struct api_error *err)
{
	struct profile_pin pin = { id, mode,
				   mode == PROFILE_PIN_VALUE ? value : 0 };
	char field[64];
	int ret;

	profile_pin_field(field, sizeof(field), id);
	if (mode == PROFILE_PIN_VALUE) {
		ret = profile_check_value(id, value, field, err);
		if (ret)
			return ret;
	}
	return profile_insert_pin(p, &pin, field, err);
}

/* The observation for a capture, as JSON (new reference) or NULL. */
static json_t *capture_observation(const struct hostset *host,
				   const json_t *observed, int *ret,
				   struct api_error *err)
{
	json_t *obs = NULL;

	*ret = 0;
	if (json_is_array(observed)) {
		/* "o" steals the copy, also when json_pack() fails. */
		obs = json_pack("{s:s, s:o}", "kernel_release",
				host->kernel_release, "calls",
				json_deep_copy(observed));
	} else if (observed) {
		obs = json_deep_copy(observed);
	} else if (host->observed.present) {
		obs = observed_abi_to_json(&host->observed);
		if (obs && !host->observed.kernel_release[0] &&
		    ju_set_new(obs, "kernel_release",
			       json_string(host->kernel_release))) {
			json_decref(obs);
			obs = NULL;
		}
	} else {
		return NULL;
	}
	if (!obs)
		*ret = ju_oom(err);
	return obs;
}

int profile_capture(const char *name, const struct hostset *host,
		    const json_t *observed_calls, enum profile_policy policy,
		    struct profile **out, struct api_error *err)
{
	struct profile *p;
	int ret;

	*out = NULL;
	ret = profile_new(name, &p, err);
	if (ret)
		return ret;
	p->unknown_registers = policy;
	for (size_t i = 0; i < host->nregs; i++) {
		ret = profile_add_pin(p, host->regs[i].id, PROFILE_PIN_VALUE,
				      host->regs[i].value, err);
		if (ret)
			goto fail;
	}
	p->observed_abi = capture_observation(host, observed_calls, &ret, err);
	if (ret)
		goto fail;
	if (p->observed_abi) {
		ret = observed_abi_from_json(p->observed_abi, "observed_abi",
					     &p->observed, err);
		if (ret)
			goto fail;
	}
	p->source = json_pack("{s:s, s:s}", "kind", "capture",
			      "kernel_release", host->kernel_release);
	if (!p->source) {
		ret = ju_oom(err);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	profile_free(p);
	*out = NULL;
	return ret;
}

static json_t *pin_json(const struct profile_pin *pin)
{
	const struct fwreg_desc *d = fwreg_lookup_id(pin->id);
	json_t *e = json_object();

	if (!e)
		return NULL;
	if (ju_set_new(e, "id", ju_hex(pin->id)) ||
	    ju_set_new(e, "name", d ? json_string(d->name) : json_null()))
		goto fail;
	if (pin->mode == PROFILE_PIN_HOST) {
		if (ju_set_new(e, "pin", json_string("host")))
			goto fail;
		return e;
	}
	if (ju_set_new(e, "pin", json_string("value")) ||
	    ju_set_new(e, "value", ju_hex(pin->value)) ||
	    ju_set_new(e, "decoded", fwreg_decode(pin->id, pin->value)))
		goto fail;
	return e;
fail:
	json_decref(e);
	return NULL;
}

json_t *profile_to_json(const struct profile *p)
{
	json_t *doc = json_object(), *regs = json_array();

	if (!doc || !regs) {
		json_decref(doc);
		json_decref(regs);
		return NULL;
	}
	if (ju_set_new(doc, "name", json_string(p->name)))
		goto fail_regs;
	if (p->has_description &&
	    ju_set_new(doc, "description", json_string(p->description)))
		goto fail_regs;
	if (ju_set_new(doc, "unknown_registers",
		       json_string(profile_policy_name(p->unknown_registers))))
		goto fail_regs;
	if (ju_set_new(doc, "registers", regs))
		goto fail;
	for (size_t i = 0; i < p->npins; i++)
		if (ju_append_new(regs, pin_json(&p->pins[i])))
			goto fail;
	if (p->observed_abi &&
	    ju_set_new(doc, "observed_abi", json_deep_copy(p->observed_abi)))
		goto fail;
	if (p->smccc.present &&
	    ju_set_new(doc, "smccc", smccc_filter_to_json(&p->smccc)))
		goto fail;
	if (p->has_cpu_features &&
	    ju_set_new(doc, "cpu_features", cpu_features_to_json(&p->cpu_features)))
		goto fail;
	if (p->nid_pins &&
	    ju_set_new(doc, "id_registers", id_pins_to_json(p->id_pins, p->nid_pins)))
		goto fail;
	if (p->source && ju_set_new(doc, "source", json_deep_copy(p->source)))
		goto fail;
	return doc;
fail_regs:
	json_decref(regs);
fail:
	json_decref(doc);
	return NULL;
}

static bool json_same(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return json_equal(a, b);
}

bool profile_equal(const struct profile *a, const struct profile *b)
{
	if (strcmp(a->name, b->name) != 0 ||
	    a->has_description != b->has_description ||
	    (a->has_description &&
	     strcmp(a->description, b->description) != 0) ||
	    a->unknown_registers != b->unknown_registers ||
	    a->npins != b->npins)
		return false;
	for (size_t i = 0; i < a->npins; i++)
		if (a->pins[i].id != b->pins[i].id ||
		    a->pins[i].mode != b->pins[i].mode ||
		    a->pins[i].value != b->pins[i].value)
			return false;
	return json_same(a->observed_abi, b->observed_abi) &&
	       json_same(a->source, b->source) &&
	       smccc_filter_equal(&a->smccc, &b->smccc) &&
	       a->has_cpu_features == b->has_cpu_features &&
	       (!a->has_cpu_features || cpu_features_equal(&a->cpu_features, &b->cpu_features)) &&
	       a->nid_pins == b->nid_pins &&
	       !memcmp(a->id_pins, b->id_pins, a->nid_pins * sizeof(a->id_pins[0]));
}
