/* /v1/host and its firmware registers: what this machine's KVM offers. */
#include "handlers.h"

#include "hostset.h"
#include "kvm_host.h"
#include "host_view.h"
#include "server.h"

#include <stdlib.h>

void handle_host_get(struct request *req, struct reply *rep)
{
	const struct kvm_host_info *ip = host_view_info(req->srv->host_view), info = *ip;
	json_t *body, *caps;

	body = json_pack("{s:s, s:s, s:s, s:s}", "pinvm_version", PINVM_VERSION,
			 "arch", info.arch, "kernel_release",
			 info.kernel_release, "hypervisor",
			 info.hypervisor ? "kvm" : "none");
	if (!body)
		goto oom;
	if (!info.hypervisor) {
		if (json_object_set_new(body, "reason", json_string(info.reason)))
			goto oom;
		reply_json(rep, 200, body);
		return;
	}
	caps = json_object();
	if (json_object_set_new(body, "kvm_api_version",
				json_integer(info.api_version)) ||
	    json_object_set_new(body, "capabilities", caps))
		goto oom;
	for (size_t i = 0; i < info.ncaps; i++)
		if (json_object_set_new(caps, info.caps[i].name,
					json_integer(info.caps[i].value)))
			goto oom;
	if (json_object_set_new(body, "cpu_features", cpu_host_caps_to_json(&info.cpu)))
		goto oom;
	reply_json(rep, 200, body);
	return;
oom:
	json_decref(body);
	reply_json(rep, 500, NULL);
}

void handle_host_fwregs_get(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct hostset host;

	if (host_view_read(req->srv->host_view, false, &host, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	/* The whole set (no observation: that costs a probe guest), so that a
	 * peer judging a profile against this host knows its filter and vCPU
	 * features too. */
	reply_json(rep, 200, hostset_to_json(&host));
}

void handle_host_observed_abi_get(struct request *req, struct reply *rep)
{
	struct api_error err;
	struct hostset host;
	json_t *obs;

	if (host_view_read(req->srv->host_view, true, &host, &err) < 0) {
		reply_api_error(rep, &err);
		return;
	}
	obs = observed_abi_to_json(&host.observed);
	reply_json(rep, 200, obs ? json_pack("{s:s, s:s, s:O}", "kernel_release",
					     host.kernel_release, "profile",
					     "host defaults", "calls",
					     json_object_get(obs, "calls"))
				 : NULL);
	json_decref(obs);
}
