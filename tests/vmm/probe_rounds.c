#include "probe_rounds.h"

#include "smccc.h"

#include <stdio.h>
#include <string.h>

bool probe_round(const char *s, unsigned r, uint64_t *x0, size_t *n)
{
	char needle[64];
	const char *p;

	*n = 0;
	if (smccc_probe_ncalls > PROBE_ROUNDS_MAX_CALLS)
		return false;
	snprintf(needle, sizeof(needle), "\npinvm-probe-end %u\n", r);
	if (!s || !strstr(s, needle))
		return false;
	for (size_t i = 0; i < smccc_probe_ncalls; i++) {
		unsigned long long fid, v;

		snprintf(needle, sizeof(needle), "\npinvm-probe %u %zu ", r, i);
		p = strstr(s, needle);
		if (!p || sscanf(p + strlen(needle), "%llx %llx", &fid, &v) != 2 ||
		    fid != smccc_probe_calls[i].function_id)
			return false;
		x0[i] = smccc_probe_normalize(i, v);
		*n = i + 1;
	}
	return true;
}

unsigned probe_round_last(const char *s, unsigned after)
{
	uint64_t x0[PROBE_ROUNDS_MAX_CALLS];
	size_t n;
	unsigned r = after;

	while (probe_round(s, r + 1, x0, &n))
		r++;
	return r;
}
