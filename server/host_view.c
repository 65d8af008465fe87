#include "host_view.h"

#include "abi_json.h"
#include "log.h"
#include "probe.h"
#include "vmm_helper.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct host_view {
	struct kvm_host_info info; /* constant after host_view_new */
	pthread_mutex_t lock;
	bool have_regs;            /* set holds the register set */
	bool have_observed;        /* set.observed holds the probe's answers */
	struct hostset set;
};

/* Reads the register set through the helper. Call with the lock. */
static int read_regs(struct host_view *v, struct api_error *err)
{
	uint64_t ids[HOSTSET_MAX_REGS], values[HOSTSET_MAX_REGS];
	struct kvm_fwreg *regs = NULL;
	struct api_error aerr;
	struct id_regs idregs;
	size_t n = 0;
	char msg[256];
	int ret;

	ret = vmm_helper_fwregs(&regs, &n, &idregs, msg, sizeof(msg));
	if (ret < 0)
		return api_fail(err, 500, "kvm_error", "", "reading firmware registers failed: %s",
				msg);
	if (n > HOSTSET_MAX_REGS) {
		free(regs);
		return api_fail(err, 500, "kvm_error", "",
				"KVM lists %zu firmware registers, pinvm handles %d", n,
				HOSTSET_MAX_REGS);
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = regs[i].id;
		values[i] = regs[i].value;
	}
	free(regs);
	if (hostset_init(&v->set, v->info.kernel_release, ids, values, n, &aerr) < 0)
		return api_fail(err, 500, "kvm_error", "", "KVM's register set is not usable: %s",
				aerr.detail);
	v->set.idregs = idregs;
	v->have_regs = true;
	return 0;
}

/* Runs the probe guest under host defaults. Call with the lock. */
static int observe(struct host_view *v, struct api_error *err)
{
	struct probe_result res;
	struct api_error aerr;
	size_t failed;
	char msg[256];
	json_t *calls;
	int ret;

	ret = vmm_helper_probe(NULL, NULL, 0, true, NULL, 0, PROBE_TIMEOUT_MS, &res, &failed, msg,
			       sizeof(msg));
	if (ret < 0)
		return api_fail(err, 500, "probe_failed", "", "the probe guest failed: %s", msg);
	calls = abi_calls_json(&res);
	if (!calls)
		return api_fail(err, 500, "out_of_memory", "", "out of memory");
	ret = hostset_set_observed(&v->set, calls, &aerr);
	json_decref(calls);
	if (ret < 0) {
		*err = aerr;
		return ret;
	}
	snprintf(v->set.observed.kernel_release, sizeof(v->set.observed.kernel_release), "%s",
		 v->info.kernel_release);
	v->have_observed = true;
	return 0;
}

int host_view_new(struct host_view **out)
{
	struct host_view *v = calloc(1, sizeof(*v));
	struct api_error err;

	if (!v)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	kvm_host_probe(&v->info);
	if (!v->info.hypervisor)
		log_msg(LOG_INFO, "no hypervisor: %s", v->info.reason);
	else if (read_regs(v, &err) < 0)
		log_msg(LOG_WARN, "%s; trying again on the next request", err.detail);
	*out = v;
	return 0;
}

void host_view_free(struct host_view *v)
{
	if (!v)
		return;
	pthread_mutex_destroy(&v->lock);
	free(v);
}

const struct kvm_host_info *host_view_info(const struct host_view *v)
{
	return &v->info;
}

int host_view_read(struct host_view *v, bool with_observed, struct hostset *out,
		   struct api_error *err)
{
	int ret = 0;

	if (!v->info.hypervisor)
		return api_fail(err, 503, "no_hypervisor", "", "no arm64 KVM on this host: %s",
				v->info.reason);
	pthread_mutex_lock(&v->lock);
	if (!v->have_regs)
		ret = read_regs(v, err);
	if (!ret && with_observed && !v->have_observed)
		ret = observe(v, err);
	if (!ret) {
		*out = v->set;
		if (!with_observed)
			memset(&out->observed, 0, sizeof(out->observed));
		/* Whether a default-deny profile can be enforced here. */
		out->smccc_filter = 0;
		for (size_t i = 0; i < v->info.ncaps; i++)
			if (!strcmp(v->info.caps[i].name, "smccc_filter"))
				out->smccc_filter = v->info.caps[i].value != 0;
		out->cpu_known = true;
		out->cpu = v->info.cpu;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}
