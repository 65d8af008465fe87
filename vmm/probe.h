/*
 * The probe microVM: one vCPU running the probe guest, which makes the
 * SMCCC calls of api/smccc.h and reports what each returned. It observes
 * the hypercall ABI a guest really gets, under host defaults or pins.
 */
#ifndef PINVM_VMM_PROBE_H
#define PINVM_VMM_PROBE_H

#include "fw_pin.h"
#include "probe_layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct probe_result {
	uint64_t x0[PROBE_MAX_CALLS]; /* raw x0 of call i, as the guest saw it */
	size_t ncalls;
	bool pvtime_ipa_set;          /* PV time was reachable (IPA configured) */
};

/*
 * Builds the probe VM, applies pins (may be NULL/0) after KVM_ARM_VCPU_INIT
 * and before the first KVM_RUN, gives the guest a PV time (stolen time)
 * area when pvtime is true and KVM supports it, runs the guest to
 * SYSTEM_OFF, tears it all down. Returns 0 with *res filled and
 * readback[0..npins) set (the caller's array; pins are borrowed). When KVM refuses
 * a pin, returns its negative errno with *failed_pin = its index; any other
 * failure returns a negative errno with *failed_pin = SIZE_MAX. err always
 * says what happened on failure. A guest that does not finish within
 * timeout_ms is stopped (-ETIMEDOUT).
 */
int probe_run(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
	      bool pvtime, unsigned timeout_ms,
	      struct probe_result *res, size_t *failed_pin,
	      char *err, size_t errlen);

/*
 * The same with KVM's SMCCC filter: every range of deny[0..ndeny) (sorted,
 * disjoint, outside the architecture ranges; smccc_filter_deny_ranges())
 * is set to DENY with KVM_SET_DEVICE_ATTR (KVM_ARM_VM_SMCCC_CTRL /
 * KVM_ARM_VM_SMCCC_FILTER) before the first KVM_RUN, so the guest gets
 * NOT_SUPPORTED there whatever the kernel implements. A range KVM refuses
 * fails the run (*failed_pin = SIZE_MAX, err names the range).
 */
struct smccc_range;
int probe_run_filtered(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
		       bool pvtime,
		       const struct smccc_range *deny, size_t ndeny,
		       unsigned timeout_ms, struct probe_result *res,
		       size_t *failed_pin, char *err, size_t errlen);

/*
 * Writes the periodic probe guest (probe_image.S) to path as an arm64
 * Image that pinvm-vmm boots like a kernel (1 vCPU, no initrd needed): it
 * makes the calls of api/smccc.h once a second forever and prints
 * "pinvm-probe-round R", "pinvm-probe R I 0xFID 0xX0" per call and
 * "pinvm-probe-end R" on the console. 0 or -errno with err.
 */
int probe_image_write(const char *path, char *err, size_t errlen);
/*
 * The same guest that also writes write_bytes of RAM (a multiple of 4 KiB)
 * over and over while it waits between rounds, from 16 MiB into RAM: the
 * VM needs at least 16 MiB + write_bytes of memory. For the live-migration
 * benchmark (a working set that stays dirty).
 */
int probe_image_write_writer(const char *path, uint64_t write_bytes, char *err,
			     size_t errlen);

/*
 * The same guest that first measures its timer's lateness: `rounds` times
 * a virtual timer `period_us` ahead, printing "pinvm-timer-start FREQ
 * TICKS", "pinvm-timer I LATE_TICKS" per round and "pinvm-timer-end"
 * (probe_image.S), then goes on as probe_image_write()'s. For the timer
 * latency benchmark (issue 16).
 */
int probe_image_write_timer(const char *path, uint64_t period_us, uint64_t rounds, char *err,
			    size_t errlen);

#endif
