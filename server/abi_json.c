#include "abi_json.h"

#include "smccc.h"

#include <stdio.h>

json_t *abi_calls_json(const struct probe_result *res)
{
	json_t *calls = json_array();
	size_t i;

	if (!calls)
		return NULL;
	for (i = 0; i < res->ncalls; i++) {
		const struct smccc_probe_call *c = &smccc_probe_calls[i];
		char fid[16], x1[24], x0[24];
		json_t *e;

		snprintf(fid, sizeof(fid), "0x%08x", c->function_id);
		snprintf(x0, sizeof(x0), "0x%016llx",
			 (unsigned long long)smccc_probe_normalize(i, res->x0[i]));
		e = json_pack("{s:s, s:s, s:s}", "function_id", fid, "name",
			      c->name, "x0", x0);
		if (e && c->x1) {
			snprintf(x1, sizeof(x1), "0x%llx", (unsigned long long)c->x1);
			if (json_object_set_new(e, "x1", json_string(x1))) {
				json_decref(e);
				e = NULL;
			}
		}
		if (json_array_append_new(calls, e)) {
			json_decref(calls);
			return NULL;
		}
	}
	return calls;
}
