/* Liveness and readiness, for supervisors and load balancers. */
#include "handlers.h"

#include "host_view.h"

#include "server.h"
#include "store.h"

/* Answering at all is the liveness signal. */
void handle_health_get(struct request *req, struct reply *rep)
{
	(void)req;
	reply_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

/*
 * Ready when the state database answers. No hypervisor is not "unready":
 * such a pinvmd still serves profiles and verdicts; it is reported, as
 * probed once at start-up (readiness polls must stay cheap).
 */
void handle_ready_get(struct request *req, struct reply *rep)
{
	char err[256];

	if (store_ping(req->srv->store, err, sizeof(err)) < 0) {
		reply_problem(rep, 503, "not_ready", NULL, "%s", err);
		return;
	}
	reply_json(rep, 200, json_pack("{s:b, s:{s:s, s:s}}", "ready", 1, "checks",
				       "store", "ok", "hypervisor",
				       host_view_info(req->srv->host_view)->hypervisor ? "kvm" : "none"));
}
