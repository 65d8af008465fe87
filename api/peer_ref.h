/*
 * Another pinvmd named in a request, and what its answers mean: the pure
 * half of talking to a peer (server/peer.c does the I/O).
 *
 * A peer reference is an object in place of an inline register set:
 *
 *   {"url": "https://169.254.0.2:8080",   required: http or https, host
 *                                         and port only (no path, query,
 *                                         user or fragment)
 *    "token": "...",                      optional bearer token, visible
 *                                         ASCII, PEER_TOKEN_MIN..MAX
 *    "token_file": "/abs/path",           optional, instead of "token": a
 *                                         file holding the token alone
 *                                         (server/peer.c sets its rules)
 *    "ca": "-----BEGIN CERTIFICATE-----..."}  optional PEM to verify an
 *                                         https peer (else --peer-ca,
 *                                         else the system's CAs)
 *
 * Strings borrow from the parsed document: keep it alive while the
 * reference is used. Plain data, nothing to free. Thread-safe (no state).
 */
#ifndef PINVM_API_PEER_REF_H
#define PINVM_API_PEER_REF_H

#include "api_error.h"
#include "hostset.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PEER_URL_MAX 256
#define PEER_TOKEN_MIN 16
#define PEER_TOKEN_MAX 255
#define PEER_CA_MAX (64u * 1024u)

/* The route a peer's register set is read from (the inline form's source). */
#define PEER_REGISTERS_PATH "/v1/host/firmware-registers"

struct peer_ref {
	const char *url;         /* NULL: no peer (an inline host) */
	const char *token;       /* NULL when none */
	const char *token_file;  /* NULL when none */
	const char *ca_pem;      /* NULL when none */
};

/* Whether v is meant as a peer reference (an object with "url"). */
bool peer_ref_is(const json_t *v);

/*
 * Parses the object above into *out (borrowing from v). 0, or -EINVAL
 * with err filled, fields relative to v ("url", "token", ...):
 *   400 wrong_type            v not an object, a member not a string
 *   422 unknown_field         another member
 *   422 missing_field         no "url"
 *   422 bad_url               not http(s)://host[:port][/], too long,
 *                             control characters, user info
 *   422 bad_token             wrong length or characters (a token goes in
 *                             a header line: visible ASCII only)
 *   422 token_conflict        both "token" and "token_file"
 *   422 bad_value             token_file not absolute; ca not PEM
 *                             ("-----BEGIN CERTIFICATE-----") or too long
 */
int peer_ref_parse(const json_t *v, struct peer_ref *out,
		   struct api_error *err);

/* The URL rule of peer_ref_parse() alone (422 bad_url at `field`). */
int peer_url_check(const char *url, const char *field, struct api_error *err);

/* The token rule alone (422 bad_token at `field`). */
int peer_token_check(const char *token, size_t len, const char *field,
		     struct api_error *err);

/*
 * What a peer's answer to GET PEER_REGISTERS_PATH means. `url` names the
 * peer in every message; body (len bytes, need not be NUL-terminated) is
 * outside input. On 200 with a valid register set: *out filled, 0. Else
 * -EINVAL and err (status 502, field empty, the caller nests it):
 *   peer_unauthorized   the peer answered 401 (wrong or missing token)
 *   peer_refused        any other non-200; the peer's own code, field and
 *                       detail are quoted when its body is problem+json
 *   peer_bad_answer     200 that is not JSON or not a register set (the
 *                       parse error is quoted)
 * *problem (when problem is non-NULL) gets the peer's problem+json object
 * for a refusal (new reference), else NULL.
 */
int peer_answer_hostset(const char *url, long status, const char *body,
			size_t len, struct hostset *out, struct api_error *err,
			json_t **problem);

#endif
