/* timer_lateness_parse(): see timer_lateness.h. */
#include "timer_lateness.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 100000u

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int timer_lateness_parse(const char *console, struct timer_lateness *out)
{
	const char *p = console ? strstr(console, "pinvm-timer-start ") : NULL, *end;
	uint64_t freq, period, *late;
	unsigned n = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!p || sscanf(p, "pinvm-timer-start %" SCNu64 " %" SCNu64, &freq, &period) != 2 ||
	    !freq)
		return -1;
	end = strstr(p, "pinvm-timer-end");
	if (!end)
		return -1;
	late = malloc(MAX_ROUNDS * sizeof(*late));
	if (!late)
		return -1;
	p = strchr(p, '\n');
	while (p && (p = strstr(p, "pinvm-timer ")) && p < end) {
		unsigned index;
		uint64_t ticks;

		if (sscanf(p, "pinvm-timer %u %" SCNu64, &index, &ticks) != 2 || index != n ||
		    n >= MAX_ROUNDS)
			goto out;
		late[n++] = ticks;
		p += strlen("pinvm-timer ");
	}
	if (!n)
		goto out;
	qsort(late, n, sizeof(*late), cmp_u64);
	out->rounds = n;
	out->period_us = (double)period * 1e6 / (double)freq;
	out->min_us = (double)late[0] * 1e6 / (double)freq;
	out->median_us = (double)late[n / 2] * 1e6 / (double)freq;
	out->p99_us = (double)late[(size_t)n * 99 / 100] * 1e6 / (double)freq;
	out->max_us = (double)late[n - 1] * 1e6 / (double)freq;
	ret = 0;
out:
	free(late);
	return ret;
}

void timer_lateness_format(const struct timer_lateness *t, char *buf, size_t size)
{
	snprintf(buf, size,
		 "%u rounds of a %.1f ms timer: late min %.0f us, median %.0f us, p99 %.0f us, "
		 "max %.0f us",
		 t->rounds, t->period_us / 1000, t->min_us, t->median_us, t->p99_us, t->max_us);
}
