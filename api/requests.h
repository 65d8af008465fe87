/*
 * The bodies of the requests that are not documents of their own: a
 * capture (POST /v1/profiles {"capture": ...}), a compatibility check
 * (POST /v1/compatibility) and a baseline (POST /v1/baselines). Each is
 * checked here, member by member, before the server does anything with it;
 * errors are struct api_error with the field path (400 wrong types, 422
 * the rest), the same ones the HTTP answer carries.
 *
 * Strings borrow from the body passed in: keep it alive while the request
 * is used. What a request owns is released by its _clear function, which
 * is safe on a zeroed or failed request too.
 */
#ifndef PINVM_API_REQUESTS_H
#define PINVM_API_REQUESTS_H

#include "api_error.h"
#include "baseline.h"
#include "cpu_features.h"
#include "firecracker.h"
#include "hostset.h"
#include "peer_ref.h"
#include "profile.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * {"capture": "host", "name", "description"?, "unknown_registers"?,
 *  "smccc"?: "deny_unlisted" | "deny_unlisted_degrade",
 *  "cpu_features"?: "host" | "none" | {cpu_features object}}
 *   422 unknown_field   <key>    a member other than those
 *   400 wrong_type / 422 bad_policy   "smccc"
 *   422 bad_value       "cpu_features"   a string but "host" or "none";
 *                       an object: cpu_features_parse()'s errors
 *   422 bad_value       "capture"   not "host"
 *   400 wrong_type / 422 missing_field   "name"; and profile_check_name()'s
 * description and unknown_registers are checked later, by the profile
 * document parser the capture goes through.
 */
struct capture_request {
	const char *name;
	const json_t *description;        /* NULL when absent */
	const json_t *unknown_registers;  /* NULL when absent */
	bool smccc_deny;                  /* "smccc" given */
	bool smccc_degrade;               /* ... as "deny_unlisted_degrade" */
	bool cpu_host;                    /* "cpu_features": "host" */
	struct cpu_features cpu_features; /* an object given (else all off) */
};
int capture_request_parse(const json_t *body, struct capture_request *out,
			  struct api_error *err);

/*
 * The vCPU features a capture pins on host (borrowed; its cpu_known set):
 * "host" all it offers (cpu_features_host_offer()); an object that, once
 * cpu_features_check_host() agrees (422 unsupported_by_host,
 * "cpu_features..."); absent or "none" none at all, which is what a VM
 * gets without asking. A host set that does not say what it offers: 500
 * kvm_error. 0 or -EINVAL.
 */
int capture_request_cpu_features(const struct capture_request *cr, const struct hostset *host,
				 struct cpu_features *out, struct api_error *err);

/*
 * {"profile": {document} | "stored name", "host": {register set, a
 *  Firecracker template/fingerprint, or a peer reference (peer_ref.h)}}
 *   422 unknown_field <key>; 422 missing_field "profile", "host";
 *   400 wrong_type "profile"; the profile document's errors under
 *   "profile", the host's under "host".
 * An inline profile is parsed into *profile (owned); a stored one is named
 * by profile_name, for the server to load. A peer reference leaves host
 * empty with peer.url set: the server fetches the set and fills host.
 */
struct compat_request {
	const char *profile_name;   /* a stored profile, or NULL */
	struct profile *profile;    /* an inline one (owned), or NULL */
	struct hostset host;
	struct fc_import import;    /* .format FC_FORMAT_NONE: a pinvm host set */
	struct peer_ref peer;       /* .url NULL: the host was given inline */
};
int compat_request_parse(const json_t *body, struct compat_request *out,
			 struct api_error *err);
void compat_request_clear(struct compat_request *r);

/*
 * {"name", "hosts": [host sets, Firecracker documents or peer references],
 *  "description"?, "cpu_features"?: "none" (default) | "common"}
 *   422 unknown_field <key>; "name" and "hosts" missing (422) or of the
 *   wrong type (400), name first; 422 too_many_hosts (more than
 *   BASELINE_MAX_HOSTS); each host's errors under "hosts[i]";
 *   "cpu_features" not a string (400 wrong_type) or another one (422
 *   bad_value); see baseline_pin_cpu().
 * The name and description are checked by baseline_compute() and the
 * profile document parser. hosts[i] of a peer reference (peers[i].url
 * set) is left empty for the server to fetch and fill.
 */
struct baseline_request {
	const char *name;
	const json_t *description;  /* NULL when absent */
	size_t nhosts;
	struct hostset *hosts;      /* nhosts of them (owned) */
	struct fc_import *imports;  /* one per host (owned) */
	struct peer_ref *peers;     /* one per host (owned); .url NULL: inline */
	enum baseline_cpu cpu;      /* "cpu_features" */
};
int baseline_request_parse(const json_t *body, struct baseline_request *out,
			   struct api_error *err);
void baseline_request_clear(struct baseline_request *r);

#endif
