/*
 * The catalogue of KVM/arm64 firmware pseudo-registers and its lookups.
 *
 * Ids, levels and bit numbers: arch/arm64/include/uapi/asm/kvm.h.
 * Which ids KVM lists (KVM_GET_REG_LIST, independent of vCPU features):
 *   kvm_arm_fw_reg_ids[] and kvm_arm_get_fw_num_regs() in
 *   arch/arm64/kvm/hypercalls.c.
 * Reset values of the bitmaps: kvm_arm_init_hypercalls() (hypercalls.c)
 *   sets the first three to GENMASK(<BIT_COUNT> - 1, 0) and leaves
 *   vendor_hyp_bmap_2 at 0, as fw-pseudo-registers.rst says ("This is
 *   reset to 0").
 * "since" = first mainline release; the commits are named in since_note.
 */
#include "fwreg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* KVM_REG_ARM_STD_BMAP bits */
static const struct fwreg_bit std_bits[] = {
	{ 0, "TRNG", "KVM_REG_ARM_STD_BIT_TRNG_V1_0", "5.19", FWREG_KV(5, 19),
	  "Arm TRNG 1.0 (DEN0098): TRNG_VERSION/FEATURES/GET_UUID/RND32 "
	  "0x84000050-0x84000053 and RND64 0xC4000053" },
};

/* KVM_REG_ARM_STD_HYP_BMAP bits */
static const struct fwreg_bit std_hyp_bits[] = {
	{ 0, "PV_TIME", "KVM_REG_ARM_STD_HYP_BIT_PV_TIME", "5.19",
	  FWREG_KV(5, 19),
	  "Arm paravirtualised stolen time (DEN0057A): PV_TIME_FEATURES "
	  "0xC5000020 and PV_TIME_ST 0xC5000021 (ST also needs the vCPU's "
	  "PV time IPA)" },
};

/* KVM_REG_ARM_VENDOR_HYP_BMAP bits: vendor function numbers 0-63 */
static const struct fwreg_bit vendor_hyp_bits[] = {
	{ 0, "FUNC_FEAT", "KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT", "5.19",
	  FWREG_KV(5, 19),
	  "KVM vendor service discovery: CALL_UID 0x8600FF01 and "
	  "KVM_FEATURES 0x86000000" },
	{ 1, "PTP", "KVM_REG_ARM_VENDOR_HYP_BIT_PTP", "5.19", FWREG_KV(5, 19),
	  "KVM PTP clock (ptp_kvm): 0x86000001" },
};

/*
 * KVM_REG_ARM_VENDOR_HYP_BMAP_2 bits: vendor function numbers 64-127.
 * KVM does not implement these calls: the bit only makes KVM_FEATURES
 * advertise them (x2), and the VMM answers them through the SMCCC filter
 * (merge "kvm-arm64/pv-cpuid", Linux 6.15).
 */
static const struct fwreg_bit vendor_hyp_2_bits[] = {
	{ 0, "DISCOVER_IMPL_VER", "KVM_REG_ARM_VENDOR_HYP_BIT_DISCOVER_IMPL_VER",
	  "6.15", FWREG_KV(6, 15),
	  "KVM DISCOVER_IMPL_VER (function 64, 0xC6000040): version and count "
	  "of target CPU implementations, answered by the VMM" },
	{ 1, "DISCOVER_IMPL_CPUS",
	  "KVM_REG_ARM_VENDOR_HYP_BIT_DISCOVER_IMPL_CPUS", "6.15",
	  FWREG_KV(6, 15),
	  "KVM DISCOVER_IMPL_CPUS (function 65, 0xC6000041): MIDR/REVIDR/AIDR "
	  "of each target CPU implementation, answered by the VMM" },
};

#define NBITS(a) (sizeof(a) / sizeof((a)[0]))

static const struct fwreg_desc catalogue[] = {
	{
		.id = FWREG_ID_PSCI_VERSION,
		.name = "PSCI_VERSION",
		.kernel_name = "KVM_REG_ARM_PSCI_VERSION",
		.kind = FWREG_KIND_PSCI_VERSION,
		.scope = FWREG_SCOPE_VM, /* kvm->arch.psci_version */
		.stores = true,
		.since = "4.17",
		.since_kv = FWREG_KV(4, 17),
		.since_note = "commit 85bd0ba1ff98 \"arm/arm64: KVM: Add PSCI "
			      "version selection API\" (April 2018, also in "
			      "4.16.y stable); 1.1 settable from 5.18, 1.2 "
			      "and 1.3 from 6.13",
		.meaning = "PSCI version KVM implements for the guest and "
			   "returns from PSCI_VERSION (default: the newest "
			   "it has)",
	},
	{
		.id = FWREG_ID_WORKAROUND_1,
		.name = "SMCCC_ARCH_WORKAROUND_1",
		.kernel_name = "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1",
		.kind = FWREG_KIND_WORKAROUND,
		.scope = FWREG_SCOPE_HOST,
		.stores = false,
		.since = "5.3",
		.since_kv = FWREG_KV(5, 3),
		.since_note = "commit 99adb567632b \"KVM: arm/arm64: Add "
			      "save/restore support for firmware workaround "
			      "state\"",
		.meaning = "Spectre-v2 (CVE-2017-5715) mitigation level KVM "
			   "reports for SMCCC_ARCH_WORKAROUND_1",
	},
	{
		.id = FWREG_ID_WORKAROUND_2,
		.name = "SMCCC_ARCH_WORKAROUND_2",
		.kernel_name = "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2",
		.kind = FWREG_KIND_WORKAROUND_2,
		.scope = FWREG_SCOPE_HOST,
		.stores = false,
		.since = "5.3",
		.since_kv = FWREG_KV(5, 3),
		.since_note = "commit 99adb567632b; since 5.10 (29e8910a566a "
			      "\"KVM: arm64: Simplify handling of "
			      "ARCH_WORKAROUND_2\") KVM reports only NOT_AVAIL "
			      "or NOT_REQUIRED and stores nothing; since 6.12 "
			      "the level follows the VM's ID_AA64PFR1_EL1.SSBS",
		.meaning = "Spectre-v4/SSB (CVE-2018-3639) mitigation level "
			   "KVM reports for SMCCC_ARCH_WORKAROUND_2",
	},
	{
		.id = FWREG_ID_WORKAROUND_3,
		.name = "SMCCC_ARCH_WORKAROUND_3",
		.kernel_name = "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3",
		.kind = FWREG_KIND_WORKAROUND,
		.scope = FWREG_SCOPE_HOST,
		.stores = false,
		.since = "5.17",
		.since_kv = FWREG_KV(5, 17),
		.since_note = "commit a5905d6af492 \"KVM: arm64: Allow "
			      "SMCCC_ARCH_WORKAROUND_3 to be discovered and "
			      "migrated\" (Spectre-BHB, March 2022), backported "
			      "to stable kernels (Debian's 5.10 lists it)",
		.meaning = "Spectre-BHB (CVE-2022-23960) mitigation level KVM "
			   "reports for SMCCC_ARCH_WORKAROUND_3",
	},
	{
		.id = FWREG_ID_STD_BMAP,
		.name = "STD_BMAP",
		.kernel_name = "KVM_REG_ARM_STD_BMAP",
		.kind = FWREG_KIND_BITMAP,
		.scope = FWREG_SCOPE_VM, /* kvm->arch.smccc_feat.std_bmap */
		.stores = true,
		.since = "5.19",
		.since_kv = FWREG_KV(5, 19),
		.since_note = "hypercall service selection series, merge "
			      "\"kvm-arm64/hcall-selection\"",
		.meaning = "Arm standard secure services offered to the guest",
		.bits = std_bits,
		.nbits = NBITS(std_bits),
		.bits_mask = 0x1,
		.reset_is_all_known = true,
	},
	{
		.id = FWREG_ID_STD_HYP_BMAP,
		.name = "STD_HYP_BMAP",
		.kernel_name = "KVM_REG_ARM_STD_HYP_BMAP",
		.kind = FWREG_KIND_BITMAP,
		.scope = FWREG_SCOPE_VM,
		.stores = true,
		.since = "5.19",
		.since_kv = FWREG_KV(5, 19),
		.since_note = "hypercall service selection series, merge "
			      "\"kvm-arm64/hcall-selection\"",
		.meaning = "Arm standard hypervisor services offered to the "
			   "guest",
		.bits = std_hyp_bits,
		.nbits = NBITS(std_hyp_bits),
		.bits_mask = 0x1,
		.reset_is_all_known = true,
	},
	{
		.id = FWREG_ID_VENDOR_HYP_BMAP,
		.name = "VENDOR_HYP_BMAP",
		.kernel_name = "KVM_REG_ARM_VENDOR_HYP_BMAP",
		.kind = FWREG_KIND_BITMAP,
		.scope = FWREG_SCOPE_VM,
		.stores = true,
		.since = "5.19",
		.since_kv = FWREG_KV(5, 19),
		.since_note = "hypercall service selection series, merge "
			      "\"kvm-arm64/hcall-selection\"",
		.meaning = "KVM vendor hypervisor services, function numbers "
			   "0-63",
		.bits = vendor_hyp_bits,
		.nbits = NBITS(vendor_hyp_bits),
		.bits_mask = 0x3,
		.reset_is_all_known = true,
	},
	{
		.id = FWREG_ID_VENDOR_HYP_BMAP_2,
		.name = "VENDOR_HYP_BMAP_2",
		.kernel_name = "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
		.kind = FWREG_KIND_BITMAP,
		.scope = FWREG_SCOPE_VM,
		.stores = true,
		.since = "6.15",
		.since_kv = FWREG_KV(6, 15),
		.since_note = "commit \"KVM: arm64: Introduce "
			      "KVM_REG_ARM_VENDOR_HYP_BMAP_2\" (KVM/arm64 pull "
			      "for 6.15); reset to 0",
		.meaning = "KVM vendor hypervisor services, function numbers "
			   "64-127 (off until the VMM sets them)",
		.bits = vendor_hyp_2_bits,
		.nbits = NBITS(vendor_hyp_2_bits),
		.bits_mask = 0x3,
		.reset_is_all_known = false,
	},
};

#define NREGS (sizeof(catalogue) / sizeof(catalogue[0]))

/*
 * PSCI versions KVM implements (include/kvm/arm_psci.h KVM_ARM_PSCI_*;
 * the accepted set in kvm_arm_set_fw_reg()). 0.1 and 0.2 predate the
 * register (no KVM_SET_ONE_REG before 4.17); the later "since" values are
 * the releases that added them to KVM. 1.0 (4.16), 1.1 (5.18: commit
 * 512865d83fd9) and 1.2/1.3 (6.13: commit 8be82d536a9f) were checked
 * against the kernel history; 0.1 (3.11) and 0.2 (3.16) are recalled.
 */
static const struct fwreg_psci_version psci_versions[] = {
	{ FWREG_PSCI(0, 1), "0.1", "3.11",
	  "KVM's pre-standard PSCI with its own function ids (vCPUs without "
	  "KVM_ARM_VCPU_PSCI_0_2)" },
	{ FWREG_PSCI(0, 2), "0.2", "3.16",
	  "standard SMCCC function ids: CPU_ON/OFF/SUSPEND, AFFINITY_INFO, "
	  "SYSTEM_OFF/RESET" },
	{ FWREG_PSCI(1, 0), "1.0", "4.16", "PSCI_FEATURES" },
	{ FWREG_PSCI(1, 1), "1.1", "5.18", "SYSTEM_RESET2" },
	{ FWREG_PSCI(1, 2), "1.2", "6.13", "nothing KVM implements" },
	{ FWREG_PSCI(1, 3), "1.3", "6.13", "SYSTEM_OFF2 (hibernation)" },
};

size_t fwreg_count(void)
{
	return NREGS;
}

const struct fwreg_desc *fwreg_at(size_t i)
{
	return i < NREGS ? &catalogue[i] : NULL;
}

bool fwreg_id_is_firmware(uint64_t id)
{
	unsigned coproc = (unsigned)((id >> 16) & 0xfff);

	/*
	 * guest.c kvm_arm_set_reg(): the id minus its size field must have
	 * KVM_REG_ARM64 and nothing else in its upper 32 bits (else EINVAL),
	 * then KVM_REG_ARM_COPROC_MASK (0x0fff0000) selects the firmware code.
	 */
	if ((id & UINT64_C(0xff0fffff00000000)) != UINT64_C(0x6000000000000000))
		return false;
	if ((id & UINT64_C(0x00f0000000000000)) != UINT64_C(0x0030000000000000))
		return false;
	return coproc == FWREG_COPROC_FW || coproc == FWREG_COPROC_FEAT_BMAP;
}

const struct fwreg_desc *fwreg_lookup_id(uint64_t id)
{
	for (size_t i = 0; i < NREGS; i++)
		if (catalogue[i].id == id)
			return &catalogue[i];
	return NULL;
}

const struct fwreg_desc *fwreg_lookup_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NREGS; i++)
		if (strcmp(catalogue[i].name, name) == 0)
			return &catalogue[i];
	return NULL;
}

const struct fwreg_bit *fwreg_bit_lookup(const struct fwreg_desc *d,
					 unsigned bit)
{
	if (!d)
		return NULL;
	for (size_t i = 0; i < d->nbits; i++)
		if (d->bits[i].bit == bit)
			return &d->bits[i];
	return NULL;
}

const struct fwreg_psci_version *fwreg_psci_version_lookup(uint64_t value)
{
	for (size_t i = 0; i < NBITS(psci_versions); i++)
		if (psci_versions[i].value == value)
			return &psci_versions[i];
	return NULL;
}

const struct fwreg_psci_version *fwreg_psci_version_at(size_t i)
{
	return i < NBITS(psci_versions) ? &psci_versions[i] : NULL;
}

void fwreg_format_hex(char out[19], uint64_t v)
{
	snprintf(out, 19, "0x%" PRIx64, v);
}

uint64_t fwreg_guest_value(const struct fwreg_desc *d, uint64_t host_value,
			   uint64_t written)
{
	if (d && !d->stores)
		return host_value;
	return written;
}

void fwreg_host_from_value(const struct fwreg_desc *d, uint64_t value,
			   struct fwreg_host *out)
{
	out->present = true;
	out->value = value;
	out->known_bits = 0;
	if (d && d->kind == FWREG_KIND_BITMAP)
		out->known_bits = d->reset_is_all_known ?
					  value : value | d->bits_mask;
}
