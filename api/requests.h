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
#include "firecracker.h"
#include "hostset.h"
#include "peer_ref.h"
#include "profile.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * {"capture": "host", "name", "description"?, "unknown_registers"?,
 *  "smccc"?: "deny_unlisted" | "deny_unlisted_degrade"}
 *   422 unknown_field   <key>    a member other than those
 *   400 wrong_type / 422 bad_policy   "smccc"
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
};
int capture_request_parse(const json_t *body, struct capture_request *out,
			  struct api_error *err);

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
 *  "description"?}
 *   422 unknown_field <key>; "name" and "hosts" missing (422) or of the
 *   wrong type (400), name first; 422 too_many_hosts (more than
 *   BASELINE_MAX_HOSTS); each host's errors under "hosts[i]".
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
};
int baseline_request_parse(const json_t *body, struct baseline_request *out,
			   struct api_error *err);
void baseline_request_clear(struct baseline_request *r);

#endif
