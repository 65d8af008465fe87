/* JSON forms of what the probe guest observed. */
#ifndef PINVM_SERVER_ABI_JSON_H
#define PINVM_SERVER_ABI_JSON_H

#include "probe.h"

#include <jansson.h>

/*
 * Returns a new array [{"name", "function_id", "x1"?, "x0"}] in call order,
 * x0 as 64-bit zero-padded hex (live answers normalised, see smccc.h), or
 * NULL on allocation failure.
 */
json_t *abi_calls_json(const struct probe_result *res);

#endif
