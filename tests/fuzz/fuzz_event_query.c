/*
 * event_query_parse() on arbitrary inputs: the bytes are split at NULs
 * into header, parameter, vm and type (a missing part is absent). An
 * accepted query round-trips (its id printed back parses to itself, its
 * filters match what they name); a refusal is a 400 the header lists,
 * with *q zeroed.
 */
#include "fuzz_common.h"

#include "event_query.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

int fuzz_run(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *part[4] = { NULL, NULL, NULL, NULL };
	static const char *const codes[] = { "conflicting_resume", "bad_last_event_id",
					     "bad_vm_id", "bad_event_type" };
	struct event_query q, again;
	struct api_error err;
	size_t n = 0, i;
	bool known = false;
	int ret;

	FUZZ_CHECK(copy);
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* A leading byte says which parts are present. */
	for (i = 1; size > 0 && i <= size && n < 4; n++) {
		part[n] = (data[0] >> n) & 1 ? copy + i : NULL;
		i += strlen(copy + i) + 1;
	}
	memset(&q, 0xa5, sizeof(q));
	ret = event_query_parse(part[0], part[1], part[2], part[3], &q, &err);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL);
		fuzz_check_error(ret, &err);
		FUZZ_CHECK(err.status == 400);
		for (i = 0; i < 4; i++)
			known |= !strcmp(err.code, codes[i]);
		FUZZ_CHECK(known);
		FUZZ_CHECK(!q.resume && q.after == 0 && !q.vm[0] && !q.type[0]);
		free(copy);
		return 0;
	}
	FUZZ_CHECK(q.resume == (part[0] || part[1]));
	FUZZ_CHECK(q.after <= (uint64_t)INT64_MAX);
	if (q.resume) {
		char text[32];

		snprintf(text, sizeof(text), "%" PRIu64, q.after);
		FUZZ_CHECK(event_query_parse(text, NULL, NULL, NULL, &again, NULL) == 0);
		FUZZ_CHECK(again.after == q.after);
	}
	if (part[2])
		FUZZ_CHECK(event_query_matches(&q, q.type[0] ? "x" : "vm.state", part[2]) ||
			   q.type[0]);
	if (part[3] && part[3][strlen(part[3]) - 1] != '.') {
		FUZZ_CHECK(event_type_valid(part[3]));
		FUZZ_CHECK(event_query_matches(&q, part[3], part[2] ? part[2] : ""));
	}
	free(copy);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
