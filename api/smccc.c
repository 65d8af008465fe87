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
