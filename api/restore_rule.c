#include "restore_rule.h"

#define COPROC_MASK 0x000000000fff0000ULL
#define COPROC_FW 0x0000000000140000ULL
#define COPROC_FW_BMAP 0x0000000000160000ULL
#define SYSREG_MASK 0x000000000000ffffULL
/* KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG */
#define SYSREG_U64 0x6030000000130000ULL

bool restore_reg_is_firmware(uint64_t id)
{
	uint64_t c = id & COPROC_MASK;

	return (id >> 56) == 0x60 && (c == COPROC_FW || c == COPROC_FW_BMAP);
}

bool restore_reg_is_host_level(uint64_t id)
{
	return id >= 0x6030000000140001ULL && id <= 0x6030000000140003ULL;
}

bool restore_reg_is_id(uint64_t id)
{
	/* op0=3 op1=0 CRn=0 CRm=0..7 op2=any: encodings 0xc000..0xc03f. */
	return (id & ~SYSREG_MASK) == SYSREG_U64 && (id & SYSREG_MASK) >= 0xc000 &&
	       (id & SYSREG_MASK) <= 0xc03f;
}

enum restore_extra restore_extra_rule(uint64_t id, uint64_t reset)
{
	if (restore_reg_is_firmware(id))
		return RESTORE_EXTRA_FIRMWARE;
	if (restore_reg_is_id(id) && reset != 0)
		return RESTORE_EXTRA_WRITE_ZERO;
	return RESTORE_EXTRA_LEFT_AT_RESET;
}

const char *restore_extra_name(enum restore_extra r)
{
	switch (r) {
	case RESTORE_EXTRA_FIRMWARE:
		return "firmware";
	case RESTORE_EXTRA_WRITE_ZERO:
		return "id_register_raz";
	case RESTORE_EXTRA_LEFT_AT_RESET:
		break;
	}
	return "left_at_reset";
}
