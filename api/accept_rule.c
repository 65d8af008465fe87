#include "accept_rule.h"

#include "id_regs.h"
#include "jsonutil.h"
#include "restore_rule.h"

#include <errno.h>
#include <string.h>

/* KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_DEMUX | DEMUX_ID_CCSIDR */
#define CCSIDR_BASE 0x6020000000110000ULL
#define CLIDR_EL1 0x603000000013c801ULL
#define IIDR_REVISION 0xf000u       /* GICD_IIDR [15:12] */

static const char *const names[] = {
	"cache_geometry_differs",
	"el2_feature_differs",
	"pmu_id_differs",
	"vgic_revision_differs",
	"workaround_level_differs",
};
#define NRULES (sizeof(names) / sizeof(names[0]))
_Static_assert(ACCEPT_RULES_ALL == (1u << NRULES) - 1, "a name for every rule");

bool accept_reg_is_cache_geometry(uint64_t id)
{
	return id == CLIDR_EL1 || (id & ~0xffULL) == CCSIDR_BASE;
}

/* Whether wanted and offered differ only within mask (and do differ). */
static bool only_in(uint64_t wanted, uint64_t offered, uint64_t mask)
{
	uint64_t d = wanted ^ offered;

	return d && !(d & ~mask);
}

unsigned accept_rule_for_reg(uint64_t id, uint64_t wanted, uint64_t offered, bool listed,
			     bool has_pmu)
{
	if (accept_reg_is_cache_geometry(id))
		return ACCEPT_CACHE_GEOMETRY;
	if (!listed)
		return 0;
	if (id == ID_AA64MMFR1_EL1 && only_in(wanted, offered, ID_MMFR1_EL2_ONLY))
		return ACCEPT_EL2_FEATURES;
	/* With a PMU the version says which counters and events work. */
	if (has_pmu)
		return 0;
	if (id == ID_DFR0_EL1 && only_in(wanted, offered, ID_DFR0_PERFMON))
		return ACCEPT_PMU_ID;
	if (id == ID_AA64DFR0_EL1 && only_in(wanted, offered, ID_AA64DFR0_PMUVER))
		return ACCEPT_PMU_ID;
	return 0;
}

unsigned accept_rule_for_gic_iidr(uint32_t wanted, uint32_t offered)
{
	return only_in(wanted, offered, IIDR_REVISION) ? ACCEPT_VGIC_REVISION : 0;
}

const char *accept_refusal_rule(uint64_t id, unsigned rule, bool listed)
{
	if (accept_rule_name(rule))
		return accept_rule_name(rule);
	if (!listed)
		return "register_absent_on_target";
	if (id == RESTORE_REG_SVE_VLS)
		return "sve_lengths_differ";
	return restore_reg_is_id(id) ? "id_register_differs" : "register_refused";
}

const char *accept_rule_name(unsigned rule)
{
	for (unsigned i = 0; i < NRULES; i++)
		if (rule == 1u << i)
			return names[i];
	return NULL;
}

int accept_rules_parse(const json_t *arr, const char *field, unsigned *mask,
		       struct api_error *err)
{
	char path[96];
	size_t i;
	json_t *v;

	*mask = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return ju_wrong_type(err, field, "an array of rule names", arr);
	json_array_foreach(arr, i, v) {
		unsigned bit = 0;

		ju_path(path, sizeof(path), "%s[%zu]", field, i);
		if (!json_is_string(v))
			return ju_wrong_type(err, path, "a rule name", v);
		for (unsigned k = 0; k < NRULES && !bit; k++)
			if (!strcmp(json_string_value(v), names[k]))
				bit = 1u << k;
		if (!bit)
			return api_fail(err, 422, "unknown_rule", path,
					"\"%.64s\" is not a rule that can be accepted; these can: "
					"%s, %s, %s, %s, %s", json_string_value(v), names[0],
					names[1], names[2], names[3], names[4]);
		if (*mask & bit)
			return api_fail(err, 422, "duplicate_rule", path,
					"\"%s\" is listed twice", names[__builtin_ctz(bit)]);
		*mask |= bit;
	}
	return 0;
}

json_t *accept_rules_to_json(unsigned mask)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < NRULES; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (json_array_append_new(a, json_string(names[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
