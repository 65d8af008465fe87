#include "smccc.h"

/*
 * Function ids from the Arm SMCCC (DEN0028), PSCI (DEN0022), TRNG
 * (DEN0098) and Linux's KVM vendor services (Documentation/virt/kvm/arm/
 * hypercalls.rst, include/linux/arm-smccc.h).
 */
const struct smccc_probe_call smccc_probe_calls[] = {
	{ "PSCI_VERSION", 0x84000000, 0, false },
	{ "PSCI_FEATURES(SYSTEM_RESET2)", 0x8400000a, 0x84000012, false },
	{ "PSCI_FEATURES(SYSTEM_OFF2)", 0x8400000a, 0x84000015, false },
	{ "SMCCC_VERSION", 0x80000000, 0, false },
	{ "SMCCC_ARCH_FEATURES(WORKAROUND_1)", 0x80000001, 0x80008000, false },
	{ "SMCCC_ARCH_FEATURES(WORKAROUND_2)", 0x80000001, 0x80007fff, false },
	{ "SMCCC_ARCH_FEATURES(WORKAROUND_3)", 0x80000001, 0x80003fff, false },
	{ "TRNG_VERSION", 0x84000050, 0, false },
	{ "TRNG_FEATURES(TRNG_RND64)", 0x84000051, 0xc4000053, false },
	{ "PV_TIME_FEATURES(PV_TIME_ST)", 0xc5000020, 0xc5000021, false },
	{ "KVM_VENDOR_UID", 0x8600ff01, 0, false },
	{ "KVM_FEATURES", 0x86000000, 0, false },
	{ "KVM_PTP", 0x86000001, 0, true },
	{ "KVM_DISCOVER_IMPL_VER", 0xc6000040, 0, false },
	/*
	 * What else a guest can ask. PSCI_FEATURES for every PSCI function
	 * (DEN0022: the answer is 0 or feature flags when implemented, -1
	 * otherwise; SMCCC_VERSION through it is how a guest finds SMCCC 1.1),
	 * 64-bit ids where the function has both conventions.
	 */
	{ "PSCI_FEATURES(SMCCC_VERSION)", 0x8400000a, 0x80000000, false },
	{ "PSCI_FEATURES(PSCI_VERSION)", 0x8400000a, 0x84000000, false },
	{ "PSCI_FEATURES(CPU_SUSPEND)", 0x8400000a, 0xc4000001, false },
	{ "PSCI_FEATURES(CPU_OFF)", 0x8400000a, 0x84000002, false },
	{ "PSCI_FEATURES(CPU_ON)", 0x8400000a, 0xc4000003, false },
	{ "PSCI_FEATURES(AFFINITY_INFO)", 0x8400000a, 0xc4000004, false },
	{ "PSCI_FEATURES(MIGRATE)", 0x8400000a, 0xc4000005, false },
	{ "PSCI_FEATURES(MIGRATE_INFO_TYPE)", 0x8400000a, 0x84000006, false },
	{ "PSCI_FEATURES(SYSTEM_OFF)", 0x8400000a, 0x84000008, false },
	{ "PSCI_FEATURES(SYSTEM_RESET)", 0x8400000a, 0x84000009, false },
	{ "PSCI_FEATURES(PSCI_FEATURES)", 0x8400000a, 0x8400000a, false },
	{ "PSCI_FEATURES(CPU_FREEZE)", 0x8400000a, 0x8400000b, false },
	{ "PSCI_FEATURES(SYSTEM_SUSPEND)", 0x8400000a, 0xc400000e, false },
	{ "PSCI_FEATURES(MEM_PROTECT)", 0x8400000a, 0x84000013, false },
	{ "PSCI_FEATURES(MEM_PROTECT_CHECK_RANGE)", 0x8400000a, 0xc4000014,
	  false },
	/* SMCCC_ARCH_FEATURES for the other arch calls, SOC_ID itself. */
	{ "SMCCC_ARCH_FEATURES(ARCH_FEATURES)", 0x80000001, 0x80000001, false },
	{ "SMCCC_ARCH_FEATURES(SOC_ID)", 0x80000001, 0x80000002, false },
	{ "SMCCC_ARCH_SOC_ID(version)", 0x80000002, 0, false },
	/* TRNG's own calls; KVM's TRNG UUID is a constant. */
	{ "TRNG_FEATURES(TRNG_GET_UUID)", 0x84000051, 0x84000052, false },
	{ "TRNG_GET_UUID", 0x84000052, 0, false },
	/* The KVM vendor services' revision. */
	{ "KVM_VENDOR_REVISION", 0x8600ff03, 0, false },
	/*
	 * Ids no one has allocated, one per owning entity a guest might
	 * probe: every kernel must answer NOT_SUPPORTED, and a service that
	 * appears here appeared without anyone asking for it.
	 */
	{ "UNALLOCATED(SIP 0x82000000)", 0x82000000, 0, false },
	{ "UNALLOCATED(OEM 0x83000000)", 0x83000000, 0, false },
	{ "UNALLOCATED(STD 0x8400ff00)", 0x8400ff00, 0, false },
	{ "UNALLOCATED(STD_HYP 0x8500ff00)", 0x8500ff00, 0, false },
	{ "UNALLOCATED(VENDOR_HYP 0x86001000)", 0x86001000, 0, false },
	{ "UNALLOCATED(TRUSTED_OS 0xb2000000)", 0xb2000000, 0, false },
};
const size_t smccc_probe_ncalls =
	sizeof(smccc_probe_calls) / sizeof(smccc_probe_calls[0]);

uint64_t smccc_probe_normalize(size_t i, uint64_t x0)
{
	if (i < smccc_probe_ncalls && smccc_probe_calls[i].volatile_answer &&
	    x0 != SMCCC_RET_NOT_SUPPORTED)
		return 0;
	return x0;
}
