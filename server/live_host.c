#include "live_host.h"

#include "abi_json.h"
#include "handlers.h"
#include "kvm_host.h"
#include "probe.h"
#include "vmm_helper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_error_nest(struct api_error *e, const char *prefix)
{
	char inner[sizeof(e->field)];
	int n;

	memcpy(inner, e->field, sizeof(inner));
	n = snprintf(e->field, sizeof(e->field), "%s%s%s", prefix,
		     inner[0] && inner[0] != '[' ? "." : "", inner);
	if (n < 0 || (size_t)n >= sizeof(e->field))
		snprintf(e->field, sizeof(e->field), "%s", prefix);
}

void reply_api_error(struct reply *rep, const struct api_error *e)
{
	reply_problem(rep, e->status ? e->status : 500,
		      e->code[0] ? e->code : "internal_error",
		      e->field[0] ? e->field : NULL, "%s", e->detail);
}

int parse_json_body(const struct request *req, struct reply *rep, json_t **out)
{
	json_error_t jerr;
	json_t *doc;

	*out = NULL;
	if (!req->body_len) {
		reply_problem(rep, 400, "missing_body", "body",
			      "this request needs a JSON object body");
		return -EINVAL;
	}
	doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		reply_problem(rep, 400, "malformed_json", "body",
			      "line %d, column %d: %s", jerr.line, jerr.column,
			      jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		reply_problem(rep, 400, "wrong_type", "body",
			      "the body must be a JSON object");
		return -EINVAL;
	}
	*out = doc;
	return 0;
}

int live_host_read(struct hostset *h, bool with_observed, struct reply *rep)
{
	struct kvm_host_info info;
	struct kvm_fwreg *regs = NULL;
	uint64_t ids[HOSTSET_MAX_REGS], values[HOSTSET_MAX_REGS];
	struct api_error aerr;
	size_t n = 0, i;
	char err[256];
	int ret;

	kvm_host_probe(&info);
	if (!info.hypervisor) {
		reply_problem(rep, 503, "no_hypervisor", NULL,
			      "no arm64 KVM on this host: %s", info.reason);
		return -ENODEV;
	}
	ret = vmm_helper_fwregs(&regs, &n, err, sizeof(err));
	if (ret < 0) {
		reply_problem(rep, 500, "kvm_error", NULL,
			      "reading firmware registers failed: %s", err);
		return ret;
	}
	if (n > HOSTSET_MAX_REGS) {
		free(regs);
		reply_problem(rep, 500, "kvm_error", NULL,
			      "KVM lists %zu firmware registers, pinvm handles %d",
			      n, HOSTSET_MAX_REGS);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		ids[i] = regs[i].id;
		values[i] = regs[i].value;
	}
	free(regs);
	if (hostset_init(h, info.kernel_release, ids, values, n, &aerr) < 0) {
		reply_problem(rep, 500, "kvm_error", NULL,
			      "KVM's register set is not usable: %s", aerr.detail);
		return -EPROTO;
	}
	if (with_observed) {
		struct probe_result res;
		size_t failed;
		json_t *calls;

		ret = vmm_helper_probe(NULL, 0, true, PROBE_TIMEOUT_MS, &res, &failed, err,
				sizeof(err));
		if (ret < 0) {
			reply_problem(rep, 500, "probe_failed", NULL,
				      "the probe guest failed: %s", err);
			return ret;
		}
		calls = abi_calls_json(&res);
		if (!calls) {
			reply_json(rep, 500, NULL);
			return -ENOMEM;
		}
		ret = hostset_set_observed(h, calls, &aerr);
		json_decref(calls);
		if (ret < 0) {
			reply_api_error(rep, &aerr);
			return ret;
		}
		snprintf(h->observed.kernel_release,
			 sizeof(h->observed.kernel_release), "%s",
			 info.kernel_release);
	}
	return 0;
}
