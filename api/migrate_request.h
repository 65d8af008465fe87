/*
 * The two bodies of a live migration between pinvmd hosts (issue 11),
 * parsed and built without I/O:
 *
 *   POST /v1/vms/{id}/migrate  (the source)
 *     {"destination": "http://169.254.1.2:8080",   required, as a peer
 *      "token": "..." | "token_file": "/abs",       reference's "url"
 *      "ca": "-----BEGIN CERTIFICATE-----...",      (peer_ref.h)
 *      "accept": ["el2_feature_differs", ...]}      optional: differences
 *                  the destination may keep its own value for
 *                  (api/accept_rule.h), passed on to it
 *
 *   POST /v1/vms/incoming  (the destination; sent by the source pinvmd)
 *     {"vcpus": 2, "memory_mib": 256,
 *      "firmware_registers": {"kernel_release", "registers": [...]},
 *                  the guest's firmware registers as it sees them (a
 *                  register set, hostset.h), judged by the destination
 *                  with the snapshot restore rules (snapshot_check)
 *      "profile": name | null, "profile_document": {...} | null,
 *      "spec": {...}      the source VM's spec, kept as the new VM's
 *      "source": {"vm": id, "kernel_release": "..."},
 *      "prerun": {...} | null | absent
 *                  the VM's pre-run image (vmm/prerun_image.h: a vm.json
 *                  of vCPU 0, no RAM), which the destination's restore dry
 *                  run judges before it creates anything; absent for a VM
 *                  that has none (then only the replay after the pause
 *                  judges the vCPU and vGIC state). Only its type is
 *                  checked here (api/ parses no vm.json); pinvmd checks the
 *                  rest with prerun_image_check().
 *      "accept": [...]  the source request's, as it gave them (optional)}
 *
 * Strings borrow from the parsed document: keep it alive while the result
 * is used. Thread-safe (no state).
 */
#ifndef PINVM_API_MIGRATE_REQUEST_H
#define PINVM_API_MIGRATE_REQUEST_H

#include "api_error.h"
#include "peer_ref.h"
#include "snapshot_manifest.h"

#include <jansson.h>

struct migrate_request {
	struct peer_ref dest;   /* url is "destination" */
	unsigned accept;        /* api/accept_rule.h mask */
};

/*
 * Parses the source's body. 0, or -EINVAL with err: 400 wrong_type
 * (not an object, a member not a string), 422 unknown_field,
 * missing_field ("destination"), peer_ref_parse()'s errors with
 * "url" named "destination", and accept_rules_parse()'s.
 */
int migrate_request_parse(const json_t *body, struct migrate_request *out,
			  struct api_error *err);

struct migrate_incoming {
	struct snapshot_guest g;         /* vcpus, memory_mib, fw registers */
	const char *profile;             /* NULL: none */
	const json_t *profile_doc;       /* NULL: none */
	const json_t *spec;              /* an object */
	const char *source_vm;           /* NULL when not given */
	const char *source_kernel;       /* NULL when not given */
	const json_t *prerun;            /* an object, or NULL: none */
	unsigned accept;                 /* api/accept_rule.h mask */
};

/*
 * Parses the destination's body into *out (g filled from
 * firmware_registers). 0, or -EINVAL with err: 400 wrong_type, 422
 * unknown_field, missing_field, out_of_range (vcpus 1..VM_SPEC_MAX_VCPUS,
 * memory_mib VM_SPEC_MIN..MAX_MEMORY_MIB), 400 wrong_type "prerun" (not
 * an object or null), and hostset_from_json()'s errors under
 * "firmware_registers".
 */
int migrate_incoming_parse(const json_t *body, struct migrate_incoming *out,
			   struct api_error *err);

/* The destination's body (new reference) from in (g's registers under
 * kernel_release in->source_kernel), or NULL without memory. */
json_t *migrate_incoming_build(const struct migrate_incoming *in);

#endif
