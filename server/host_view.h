/*
 * This host as the api/ layer models hosts, probed once: its capabilities
 * (kvm_host_probe) and its firmware register set (read in a pinvm-vmm
 * helper, vmm_helper.h) at start-up, and what the probe guest observes
 * under host defaults on first use. Neither changes while the kernel runs
 * (a new kernel means a reboot, and so a new pinvmd), so every route reads
 * this view instead of creating a scratch VM per request. A read that
 * failed at start-up (KVM refused the scratch vCPU) is tried again on the
 * next request rather than kept as the answer.
 *
 * Thread-safe: one mutex, held only to copy or to fill the view (the
 * first observation runs the probe guest under it, so concurrent first
 * requests wait for one probe instead of starting several).
 */
#ifndef PINVM_SERVER_HOST_VIEW_H
#define PINVM_SERVER_HOST_VIEW_H

#include "api_error.h"
#include "hostset.h"
#include "kvm_host.h"

#include <stdbool.h>

struct host_view;

/* How long a probe guest may run before it is stopped. */
#define PROBE_TIMEOUT_MS 10000

/* Probes the host (never fails for lack of KVM: info says why). 0 or -ENOMEM. */
int host_view_new(struct host_view **out);
void host_view_free(struct host_view *v);

/* The capabilities probed at start-up; constant, borrowed. */
const struct kvm_host_info *host_view_info(const struct host_view *v);

/*
 * Copies the register set (with the observed ABI when with_observed) into
 * *out. 0, or -errno with err filled: 503 no_hypervisor, 500 kvm_error,
 * 500 probe_failed.
 */
int host_view_read(struct host_view *v, bool with_observed, struct hostset *out,
		   struct api_error *err);

#endif
