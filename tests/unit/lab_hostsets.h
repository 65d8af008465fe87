/*
 * The lab kernels' firmware registers as GET /v1/host/firmware-registers
 * bodies, small enough to read in a test. test_lab_fixtures checks them
 * against tests/fixtures/lab-*.json, which pinvmd captured from the real
 * kernels, so these can never drift from what the kernels reported.
 * Observed ABIs carry a subset of the probe's calls (PSCI_VERSION,
 * SMCCC_VERSION, TRNG_VERSION, KVM_FEATURES).
 */
#ifndef PINVM_TESTS_LAB_HOSTSETS_H
#define PINVM_TESTS_LAB_HOSTSETS_H

#define LAB_REG(id, name, value) \
	"{\"id\": \"" id "\", \"name\": \"" name "\", \"value\": \"" value "\"}"

#define LAB_PSCI(v) LAB_REG("0x6030000000140000", "PSCI_VERSION", v)
#define LAB_WA1(v) LAB_REG("0x6030000000140001", "SMCCC_ARCH_WORKAROUND_1", v)
#define LAB_WA2(v) LAB_REG("0x6030000000140002", "SMCCC_ARCH_WORKAROUND_2", v)
#define LAB_WA3(v) LAB_REG("0x6030000000140003", "SMCCC_ARCH_WORKAROUND_3", v)
#define LAB_STD(v) LAB_REG("0x6030000000160000", "STD_BMAP", v)
#define LAB_STD_HYP(v) LAB_REG("0x6030000000160001", "STD_HYP_BMAP", v)
#define LAB_VENDOR(v) LAB_REG("0x6030000000160002", "VENDOR_HYP_BMAP", v)
#define LAB_VENDOR2(v) LAB_REG("0x6030000000160003", "VENDOR_HYP_BMAP_2", v)

/* Whether KVM has the SMCCC filter (6.4+), and the vCPU features it
 * offered there (the lab's CPU is QEMU's "max"): all of them, SVE in every
 * length; pmu_without_request: whether a vCPU made without a PMU still
 * reads a PMU version (5.10 only). */
#define LAB_CAPS(smccc_filter, pmu_without_request)                        \
	", \"smccc_filter\": " smccc_filter ", \"cpu_features\": "                  \
	"{\"pmu\": true, \"sve\": true, \"pauth\": true, "                       \
	"\"sve_vector_lengths\": [128, 256, 384, 512, 640, 768, 896, 1024, "     \
	"1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048], "                   \
	"\"pmu_without_request\": " pmu_without_request "}"

#define LAB_CALL(fid, name, x0) \
	"{\"function_id\": \"" fid "\", \"name\": \"" name "\", \"x0\": \"" x0 "\"}"

/* What the bare-metal probe guest saw (arm64-lab.md, second table). */
#define LAB_CALLS_5_10                                                    \
	"[" LAB_CALL("0x84000000", "PSCI_VERSION", "0x0000000000010000") ","  \
	LAB_CALL("0x80000000", "SMCCC_VERSION", "0x0000000000010001") ","     \
	LAB_CALL("0x84000050", "TRNG_VERSION", "0xffffffffffffffff") ","      \
	LAB_CALL("0x86000000", "KVM_FEATURES", "0xffffffffffffffff") "]"
#define LAB_CALLS_6_12                                                    \
	"[" LAB_CALL("0x84000000", "PSCI_VERSION", "0x0000000000010001") ","  \
	LAB_CALL("0x80000000", "SMCCC_VERSION", "0x0000000000010001") ","     \
	LAB_CALL("0x84000050", "TRNG_VERSION", "0x0000000000010000") ","      \
	LAB_CALL("0x86000000", "KVM_FEATURES", "0x0000000000000003") "]"

#define LAB_5_10_JSON                                                     \
	"{\"kernel_release\": \"5.10.0-32-cloud-arm64\", \"registers\": ["       \
	LAB_PSCI("0x10000") "," LAB_WA1("0x2") "," LAB_WA2("0x0") ","          \
	LAB_WA3("0x2") "]" LAB_CAPS("false", "true") "}"
#define LAB_6_1_JSON                                                      \
	"{\"kernel_release\": \"6.1.0-50-cloud-arm64\", \"registers\": ["        \
	LAB_PSCI("0x10001") "," LAB_WA1("0x2") "," LAB_WA2("0x0") ","          \
	LAB_WA3("0x0") "," LAB_STD("0x1") "," LAB_STD_HYP("0x1") ","           \
	LAB_VENDOR("0x3") "]" LAB_CAPS("false", "false") "}"
#define LAB_6_12_JSON                                                     \
	"{\"kernel_release\": \"6.12.117+deb13-cloud-arm64\", \"registers\": [" \
	LAB_PSCI("0x10001") "," LAB_WA1("0x2") "," LAB_WA2("0x0") ","          \
	LAB_WA3("0x0") "," LAB_STD("0x1") "," LAB_STD_HYP("0x1") ","           \
	LAB_VENDOR("0x3") "]" LAB_CAPS("true", "false") "}"
#define LAB_7_3_JSON                                                      \
	"{\"kernel_release\": \"7.3.4+deb13-cloud-arm64\", \"registers\": ["        \
	LAB_PSCI("0x10003") "," LAB_WA1("0x2") "," LAB_WA2("0x0") ","          \
	LAB_WA3("0x0") "," LAB_STD("0x1") "," LAB_STD_HYP("0x1") ","           \
	LAB_VENDOR("0x3") "," LAB_VENDOR2("0x0") "]" LAB_CAPS("true", "false") "}"

/* The same with the probe guest's observation attached. */
#define LAB_5_10_OBSERVED_JSON                                            \
	"{\"kernel_release\": \"5.10.0-32-cloud-arm64\", \"registers\": ["       \
	LAB_PSCI("0x10000") "," LAB_WA1("0x2") "," LAB_WA2("0x0") ","          \
	LAB_WA3("0x2") "]" LAB_CAPS("false", "true")                    \
	", \"observed_abi\": {\"calls\": " LAB_CALLS_5_10 "}}"
#define LAB_6_12_OBSERVED_JSON                                            \
	"{\"kernel_release\": \"6.12.117+deb13-cloud-arm64\", \"registers\": [" \
	LAB_PSCI("0x10001") "," LAB_WA1("0x2") "," LAB_WA2("0x0") ","          \
	LAB_WA3("0x0") "," LAB_STD("0x1") "," LAB_STD_HYP("0x1") ","           \
	LAB_VENDOR("0x3") "]" LAB_CAPS("true", "false")             \
	", \"observed_abi\": {\"calls\": " LAB_CALLS_6_12 "}}"

#endif
