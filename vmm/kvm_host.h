/*
 * What the host's KVM offers: identity, capabilities that shape the guest
 * ABI, and the firmware pseudo-registers a freshly initialised vCPU shows.
 *
 * Every query builds its own scratch VM and tears it down before returning,
 * so callers hold no KVM state and may call from any thread.
 */
#ifndef PINVM_VMM_KVM_HOST_H
#define PINVM_VMM_KVM_HOST_H

#include "cpu_features.h"
#include "id_regs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/utsname.h>

#define KVM_HOST_MAX_CAPS 16

struct kvm_host_cap {
	const char *name; /* static string */
	long value;       /* KVM_CHECK_EXTENSION result; 0 means absent */
};

struct kvm_host_info {
	char arch[sizeof(((struct utsname *)0)->machine)];
	char kernel_release[sizeof(((struct utsname *)0)->release)];
	bool hypervisor;          /* arm64 KVM usable by this build */
	char reason[256];         /* why not, when !hypervisor */
	int api_version;          /* KVM_GET_API_VERSION, 0 without KVM */
	struct kvm_host_cap caps[KVM_HOST_MAX_CAPS];
	size_t ncaps;
	/* The optional vCPU features KVM can give (from the caps above), and
	 * SVE's vector lengths as a scratch SVE vCPU lists them. */
	struct cpu_host_caps cpu;
};

/* One firmware pseudo-register as KVM reported it. */
struct kvm_fwreg {
	uint64_t id;
	uint64_t value;
};

/*
 * Fills *info. Never fails: a host without usable arm64 KVM is reported
 * with hypervisor == false and the reason, which is an answer, not an error.
 */
void kvm_host_probe(struct kvm_host_info *info);

/*
 * Enumerates every firmware pseudo-register (coprocessors 0x14 and 0x16)
 * that KVM_GET_REG_LIST lists for a vCPU initialised with the preferred
 * target and PSCI 0.2, and reads each with KVM_GET_ONE_REG.
 *
 * On success returns 0 and stores a malloc'd array in *regs (caller frees)
 * with its length in *nregs, in the order KVM listed them. On failure
 * returns a negative errno, leaves *regs NULL and writes a one-line reason
 * naming the failed step into err (errlen bytes).
 */
int kvm_host_read_fwregs(struct kvm_fwreg **regs, size_t *nregs,
			 char *err, size_t errlen);

/*
 * The feature ID registers (api/id_regs.h) of a vCPU initialised as
 * above, without optional features, read with KVM_GET_ONE_REG, and the
 * bits KVM_ARM_GET_REG_WRITABLE_MASKS says userspace may write (all 0,
 * masks_known false, on kernels without it: before Linux 6.7). 0, or a
 * negative errno with err (errlen bytes) naming the failed step; *out
 * is then known == false.
 */
int kvm_host_read_idregs(struct id_regs *out, char *err, size_t errlen);

#endif
