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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n), n <= 64 (the mean of the middle two when even). */
static double median_of(const double *v, unsigned n)
{
	double s[64];

	if (!n || n > 64)
		return 0;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void timer_compare(const double *floor, const double *vmm, unsigned n,
		   struct timer_compare *out)
{
	unsigned m, k;
	double tail = 0, c = 1;

	memset(out, 0, sizeof(*out));
	out->pairs = n;
	out->floor_us = median_of(floor, n);
	out->vmm_us = median_of(vmm, n);
	for (unsigned i = 0; i < n; i++) {
		out->vmm_later += vmm[i] > floor[i];
		out->ties += vmm[i] == floor[i];
	}
	/* P(X <= k) for X ~ Binomial(m, 1/2), k the smaller side, doubled. */
	m = n - out->ties;
	k = out->vmm_later < m - out->vmm_later ? out->vmm_later : m - out->vmm_later;
	for (unsigned i = 0; i <= k; i++) {
		tail += c;
		c = c * (double)(m - i) / (double)(i + 1);
	}
	for (unsigned i = 0; i < m; i++)
		tail /= 2;
	out->p_value = m ? (2 * tail < 1 ? 2 * tail : 1) : 1;
}

void timer_compare_format(const struct timer_compare *c, char *buf, size_t size)
{
	snprintf(buf, size,
		 "%u interleaved pairs: median of medians floor %.0f us, pinvm-vmm %.0f us; "
		 "pinvm-vmm later in %u, ties %u, sign test p=%.3f",
		 c->pairs, c->floor_us, c->vmm_us, c->vmm_later, c->ties, c->p_value);
}
