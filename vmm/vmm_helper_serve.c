/* pinvm-vmm --helper: the KVM side of vmm_helper.h. */
#include "vmm_helper.h"

#include "accept_rule.h"

#include "jsonutil.h"
#include "smccc.h"
#include "vm.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int answer(FILE *out, json_t *ans)
{
	int ret = ans && json_dumpf(ans, out, JSON_COMPACT) == 0 ? 0 : 1;

	json_decref(ans);
	fputc('\n', out);
	fflush(out);
	return ret;
}

static json_t *failure(int ret, const char *msg)
{
	return json_pack("{s:b, s:i, s:s}", "ok", 0, "errno", -ret, "error", msg);
}

static int serve_fwregs(FILE *out)
{
	struct kvm_fwreg *regs = NULL;
	struct id_regs idregs;
	json_t *ids, *values;
	size_t n = 0;
	char err[256];
	int ret = kvm_host_read_fwregs(&regs, &n, err, sizeof(err));

	if (ret < 0)
		return answer(out, failure(ret, err));
	ids = json_array();
	values = json_array();
	for (size_t i = 0; ids && values && i < n; i++) {
		json_array_append_new(ids, ju_hex(regs[i].id));
		json_array_append_new(values, ju_hex(regs[i].value));
	}
	free(regs);
	/* The ID registers in their document form (api/id_regs.h), which
	 * the client parses with the same rules as any host set's. */
	ret = kvm_host_read_idregs(&idregs, err, sizeof(err));
	if (ret < 0) {
		json_decref(ids);
		json_decref(values);
		return answer(out, failure(ret, err));
	}
	return answer(out, json_pack("{s:b, s:o, s:o, s:o}", "ok", 1, "ids", ids, "values", values,
				     "id_registers", id_regs_to_json(&idregs)));
}

static int serve_probe(const json_t *req, FILE *out)
{
	const json_t *ids = json_object_get(req, "ids"), *values = json_object_get(req, "values");
	const json_t *bases = json_object_get(req, "deny_bases");
	const json_t *counts = json_object_get(req, "deny_counts");
	size_t npins = json_array_size(ids), ndeny = json_array_size(bases), failed = SIZE_MAX;
	/* One allocation: the pins, then their readbacks. */
	struct fw_pin *pins = calloc(2 * (npins + 1), sizeof(*pins));
	struct fw_pin *readback = pins ? pins + npins + 1 : NULL;
	struct smccc_range deny[SMCCC_RANGES_MAX];
	struct probe_result res;
	json_t *x0, *back, *ans;
	char err[256];
	int ret;

	if (!pins || json_array_size(values) != npins || ndeny > SMCCC_RANGES_MAX ||
	    json_array_size(counts) != ndeny) {
		free(pins);
		answer(out, failure(pins ? -EINVAL : -ENOMEM, "bad probe request"));
		return 2;
	}
	for (size_t i = 0; i < npins; i++) {
		if (ju_parse_hex(json_string_value(json_array_get(ids, i)), &pins[i].id) ||
		    ju_parse_hex(json_string_value(json_array_get(values, i)), &pins[i].value)) {
			free(pins);
			answer(out, failure(-EINVAL, "bad pin in probe request"));
			return 2;
		}
	}
	for (size_t i = 0; i < ndeny; i++) {
		uint64_t b, c;

		if (ju_parse_hex(json_string_value(json_array_get(bases, i)), &b) ||
		    ju_parse_hex(json_string_value(json_array_get(counts, i)), &c) ||
		    b > UINT32_MAX) {
			free(pins);
			answer(out, failure(-EINVAL, "bad SMCCC range in probe request"));
			return 2;
		}
		deny[i].base = (uint32_t)b;
		deny[i].count = c;
	}
	ret = probe_run_filtered(pins, readback, npins,
				 json_is_true(json_object_get(req, "pvtime")),
				 ndeny ? deny : NULL, ndeny,
				 (unsigned)json_integer_value(json_object_get(req, "timeout_ms")),
				 &res, &failed, err, sizeof(err));
	back = json_array();
	for (size_t i = 0; back && i < npins; i++)
		json_array_append_new(back, ju_hex(readback[i].value));
	free(pins);
	if (ret < 0) {
		ans = failure(ret, err);
		if (ans && json_object_set_new(ans, "readback", back) == 0)
			back = NULL;
		json_decref(back);
		if (ans && failed != SIZE_MAX)
			json_object_set_new(ans, "failed_pin", json_integer((json_int_t)failed));
		return answer(out, ans);
	}
	x0 = json_array();
	for (size_t i = 0; x0 && i < res.ncalls; i++)
		json_array_append_new(x0, ju_hex(res.x0[i]));
	return answer(out, json_pack("{s:b, s:o, s:o, s:b}", "ok", 1, "x0", x0, "readback", back,
				     "pvtime_ipa_set", res.pvtime_ipa_set));
}

static int serve_restore_check(const json_t *req, FILE *out)
{
	const char *path = json_string_value(json_object_get(req, "path"));
	struct api_error aerr;
	struct vmm_error err;
	unsigned accept;
	json_t *ans;
	int ret;

	if (!path || path[0] != '/') {
		answer(out, failure(-EINVAL, "restore-check needs an absolute \"path\""));
		return 2;
	}
	if (accept_rules_parse(json_object_get(req, "accept"), "accept", &accept, &aerr) < 0) {
		answer(out, failure(-EINVAL, aerr.detail));
		return 2;
	}
	ret = vm_restore_check(path, accept, &ans, &err);
	if (ret < 0) {
		ans = failure(ret, err.detail);
		if (ans)
			json_object_set_new(ans, "step", json_string(err.step));
	}
	return answer(out, ans);
}

static int serve_probe_image(const json_t *req, FILE *out)
{
	const char *path = json_string_value(json_object_get(req, "path"));
	char err[256];
	int ret;

	if (!path || path[0] != '/') {
		answer(out, failure(-EINVAL, "probe-image needs an absolute \"path\""));
		return 2;
	}
	ret = probe_image_write(path, err, sizeof(err));
	if (ret < 0)
		return answer(out, failure(ret, err));
	return answer(out, json_pack("{s:b, s:I}", "ok", 1, "calls",
				     (json_int_t)smccc_probe_ncalls));
}

int vmm_helper_serve(const char *what, FILE *in, FILE *out)
{
	json_error_t jerr;
	json_t *req;
	int ret;

	if (!what || (strcmp(what, "fwregs") && strcmp(what, "probe") &&
		      strcmp(what, "restore-check") && strcmp(what, "probe-image")))
		return 2;
	req = json_loadf(in, 0, &jerr);
	if (!json_is_object(req)) {
		json_decref(req);
		answer(out, failure(-EINVAL, "the request is not a JSON object"));
		return 2;
	}
	if (!strcmp(what, "restore-check"))
		ret = serve_restore_check(req, out);
	else if (!strcmp(what, "probe-image"))
		ret = serve_probe_image(req, out);
	else
		ret = !strcmp(what, "fwregs") ? serve_fwregs(out) : serve_probe(req, out);
	json_decref(req);
	return ret;
}
