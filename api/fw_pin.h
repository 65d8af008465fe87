/*
 * A firmware pseudo-register and a value: the one pin type from a
 * compatibility report's plan (compat.h) through pinvm-vmm's config, the
 * KVM_SET_ONE_REG that writes it, the KVM_GET_ONE_REG that reads it back,
 * its event and a snapshot's record, in pinvmd and pinvm-vmm alike.
 *
 * A profile's pin (profile.h) is a different thing: what a profile says of
 * a register, which may be "leave the host's value" and writes nothing.
 * compat_check() turns those statements into the fw_pin writes of a plan.
 *
 * Plain data: arrays of them are owned by whoever holds the array.
 */
#ifndef PINVM_API_FW_PIN_H
#define PINVM_API_FW_PIN_H

#include <stdint.h>

struct fw_pin {
	uint64_t id;    /* KVM register id (coprocessor 0x14 or 0x16) */
	uint64_t value; /* written, or as read back */
};

#endif
