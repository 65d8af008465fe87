/* /v1/host and its firmware registers: what this machine's KVM offers. */
#include "handlers.h"

#include "abi_json.h"
#include "fwreg.h"
#include "kvm_host.h"
#include "probe.h"

#include <stdlib.h>

void handle_host_get(struct request *req, struct reply *rep)
{
	struct kvm_host_info info;
	json_t *body, *caps;

	(void)req;
	kvm_host_probe(&info);
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
	reply_json(rep, 200, body);
	return;
oom:
	json_decref(body);
	reply_json(rep, 500, NULL);
}

void handle_host_fwregs_get(struct request *req, struct reply *rep)
{
	struct kvm_host_info info;
	struct kvm_fwreg *regs = NULL;
	json_t *body = NULL, *list;
	size_t n = 0;
	char err[256];
	int ret;

	(void)req;
	kvm_host_probe(&info);
	if (!info.hypervisor) {
		reply_problem(rep, 503, "no_hypervisor", NULL,
			      "no arm64 KVM on this host: %s", info.reason);
		return;
	}
	ret = kvm_host_read_fwregs(&regs, &n, err, sizeof(err));
	if (ret < 0) {
		reply_problem(rep, 500, "kvm_error", NULL,
			      "reading firmware registers failed: %s", err);
		return;
	}
	list = json_array();
	body = json_pack("{s:s, s:o}", "kernel_release", info.kernel_release,
			 "registers", list);
	if (!body)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(list, fwreg_entry_json(regs[i].id,
								 regs[i].value)))
			goto oom;
	free(regs);
	reply_json(rep, 200, body);
	return;
oom:
	free(regs);
	json_decref(body);
	reply_json(rep, 500, NULL);
}

void handle_host_observed_abi_get(struct request *req, struct reply *rep)
{
	struct kvm_host_info info;
	struct probe_result res;
	size_t failed;
	char err[256];
	json_t *calls;
	int ret;

	(void)req;
	kvm_host_probe(&info);
	if (!info.hypervisor) {
		reply_problem(rep, 503, "no_hypervisor", NULL,
			      "no arm64 KVM on this host: %s", info.reason);
		return;
	}
	ret = probe_run(NULL, 0, true, PROBE_TIMEOUT_MS, &res, &failed, err, sizeof(err));
	if (ret < 0) {
		reply_problem(rep, 500, "probe_failed", NULL,
			      "the probe guest failed: %s", err);
		return;
	}
	calls = abi_calls_json(&res);
	reply_json(rep, 200, json_pack("{s:s, s:s, s:o*}", "kernel_release",
				       info.kernel_release, "profile", "host defaults",
				       "calls", calls));
}
