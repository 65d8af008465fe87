/*
 * pinvmd as a client of another pinvmd (a "peer"), over libcurl
 * (net/httpc.h): the base URL, bearer token and CA of a struct peer_ref
 * (api/peer_ref.h), bounded timeouts, and one api_error per failure class,
 * each naming the peer's URL:
 *   502 peer_unreachable   no connection, connection cut, or a timeout
 *   502 peer_tls           TLS handshake or certificate verification
 *   502 peer_unauthorized  the peer answered 401
 *   502 peer_refused       the peer answered another error (its
 *                          problem+json quoted, and handed back)
 *   502 peer_bad_answer    an answer that is not what the route serves,
 *                          or larger than PEER_BODY_LIMIT
 *   422 bad_token_file     the reference's token_file cannot be used
 * Fields are left empty: the caller nests them ("hosts[2]").
 *
 * Thread-safe: every call uses its own libcurl handle; the process must
 * have called httpc_global_init() before starting threads (main does).
 * Calls block the calling request thread for at most
 * PEER_CONNECT_TIMEOUT_MS + PEER_TIMEOUT_MS.
 */
#ifndef PINVM_SERVER_PEER_H
#define PINVM_SERVER_PEER_H

#include "api_error.h"
#include "hostset.h"
#include "httpc.h"
#include "peer_ref.h"

#include <jansson.h>

#define PEER_CONNECT_TIMEOUT_MS 5000L
#define PEER_TIMEOUT_MS 30000L
#define PEER_BODY_LIMIT (4u << 20)

/*
 * Sends method path (body: JSON text or NULL) to the peer. default_ca is
 * the daemon's --peer-ca PEM text (NULL: the system's CAs), used unless
 * ref->ca_pem is given. 0 with *ans holding an HTTP answer of any status
 * (free it with httpc_answer_free), or -EIO/-EINVAL with err filled as
 * above (*ans then holds nothing to free).
 */
int peer_request(const struct peer_ref *ref, const char *default_ca,
		 const char *method, const char *path, const char *body,
		 struct httpc_answer *ans, struct api_error *err);

/*
 * GET PEER_REGISTERS_PATH from the peer into *out. 0, or -errno with err
 * as above; *problem (when non-NULL) gets the peer's problem+json for a
 * peer_refused (new reference), else NULL.
 */
int peer_fetch_hostset(const struct peer_ref *ref, const char *default_ca,
		       struct hostset *out, struct api_error *err,
		       json_t **problem);

#endif
