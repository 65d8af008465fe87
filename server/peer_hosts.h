/*
 * The hosts of a fleet check (POST /v1/baselines, POST /v1/compatibility)
 * that a request names by URL: each is fetched from its pinvmd
 * (server/peer.h) into its slot, and every failure is answered together.
 */
#ifndef PINVM_SERVER_PEER_HOSTS_H
#define PINVM_SERVER_PEER_HOSTS_H

#include "hostset.h"
#include "peer_ref.h"
#include "request.h"

#include <stddef.h>

/*
 * For every i with peers[i].url set, fetches hosts[i] (the other slots are
 * left alone), every peer on a thread of its own, so the request waits
 * for its slowest peer (server/peer.h bounds each) rather than their sum. `single` names the one host "host" (a compatibility
 * request) instead of "hosts[i]". Returns 0 when every peer answered with
 * a register set; else fills rep with one problem+json, status 502 (422
 * when every failure is a bad token file), code and field of the first
 * failure, and "peers": [{"field", "url", "code", "detail", "problem"?}]
 * naming each peer that failed, and returns -EIO.
 */
int peer_hosts_fill(struct request *req, struct reply *rep,
		    const struct peer_ref *peers, struct hostset *hosts,
		    size_t n, bool single);

#endif
