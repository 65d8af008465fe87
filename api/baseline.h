/*
 * Baselines: the greatest hypercall ABI every host of a fleet can honour,
 * as a profile (pin it, and a guest can move between those hosts).
 */
#ifndef PINVM_API_BASELINE_H
#define PINVM_API_BASELINE_H

#include "api_error.h"
#include "hostset.h"
#include "profile.h"

#include <stddef.h>

#define BASELINE_MAX_HOSTS 64

/*
 * Computes the baseline of hosts[0..n) (borrowed) as a new profile named
 * `name` (*out; free it with profile_free()):
 *   PSCI_VERSION       the newest catalogued version from 0.2 up to the
 *                      lowest of the hosts' versions (a host accepts
 *                      every version from 0.2 up to its newest)
 *   WORKAROUND_1/_3    the lowest level (KVM accepts any level <= its own)
 *   WORKAROUND_2       the hosts' common value, else the best level KVM's
 *                      mapping lets every host accept (NOT_REQUIRED, else
 *                      NOT_AVAIL)
 *   a workaround some host does not list: "host"
 *   bitmaps            AND over the hosts, a host without the register
 *                      counting as 0; a host with an observed ABI counts
 *                      with what its guest saw (observed_derive())
 *   uncatalogued       coprocessor 0x16 (feature bitmaps): AND as above;
 *                      0x14: the hosts' common value
 *   ID registers       when every host set says them (id_regs.h): each
 *                      pinnable field the hosts disagree on, at the
 *                      lowest value, which every host showing more must
 *                      take as a write (KVM's writable masks, Linux
 *                      6.7+); registers some host does not list: not
 *                      pinned
 * unknown_registers "refuse"; source {"kind": "baseline", "hosts":
 * [kernel releases]}; no observed ABI. Every pin is checked with
 * fwreg_check_write() on every host, and the result with compat_check():
 * a returned baseline is compatible with each input host.
 * Errors (-EINVAL unless noted; *out NULL):
 *   422 bad_name, 422 no_hosts (n == 0), 422 too_many_hosts
 *   422 impossible_value      a value no kernel reports
 *                             (hostset_check(), field
 *                             "hosts[i].registers[j].value")
 *   422 psci_version_missing  a host without PSCI_VERSION (field "hosts[i]")
 *   422 baseline_conflict     no value every host accepts (field
 *                             "registers.<name or id>", detail says why),
 *                             or an ID register field no value of which
 *                             every host can show ("id_registers.<name>":
 *                             6.1 shows ID_AA64DFR0_EL1.DebugVer 6, 5.10
 *                             shows 9, and neither takes a write)
 *   422 too_many_registers    the hosts list more than 64 registers together
 *   500 out_of_memory (-ENOMEM)
 */
int baseline_compute(const char *name, const struct hostset *hosts, size_t n,
		     struct profile **out, struct api_error *err);

enum baseline_cpu {
	BASELINE_CPU_NONE,   /* every optional vCPU feature off */
	BASELINE_CPU_COMMON, /* the greatest set every host offers */
};

/*
 * Pins p's vCPU features (profile.h) for hosts[0..n) (borrowed):
 * BASELINE_CPU_NONE all off, which any host gives (and which keeps a VM
 * snapshottable and movable); BASELINE_CPU_COMMON the PMU and pointer
 * authentication where every host has them, and SVE up to the longest
 * vector length below which every host offers the same lengths, so that
 * a guest finds one set of lengths wherever it runs (no SVE when there is
 * none, or when a host does not say its lengths). Errors (p unchanged):
 * 422 cpu_features_unknown at "hosts[i]" (COMMON, a host set that does
 * not say what it offers). 0 or -EINVAL.
 */
int baseline_pin_cpu(struct profile *p, const struct hostset *hosts, size_t n,
		     enum baseline_cpu mode, struct api_error *err);

#endif
