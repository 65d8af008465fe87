/*
 * timer_lateness: the probe guest's timer rounds reduced to figures
 * (ticks to microseconds at the printed frequency, the order statistics),
 * and every console it must refuse rather than report from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "timer_lateness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reduces_rounds(void **state)
{
	/* 1 MHz: a tick is a microsecond. Rounds out of order of size. */
	const char *con = "boot noise\npinvm-timer-start 1000000 10000\n"
			  "pinvm-timer 0 300\npinvm-timer 1 100\npinvm-timer 2 200\n"
			  "pinvm-timer 3 5000\npinvm-timer-end\npinvm-probe-round 1\n";
	struct timer_lateness t;
	char line[256];

	(void)state;
	assert_int_equal(timer_lateness_parse(con, &t), 0);
	assert_int_equal(t.rounds, 4);
	assert_true(t.period_us == 10000.0);
	assert_true(t.min_us == 100.0);
	assert_true(t.median_us == 300.0); /* element n/2 of 100, 200, 300, 5000 */
	assert_true(t.max_us == 5000.0);
	assert_true(t.p99_us == 5000.0);
	timer_lateness_format(&t, line, sizeof(line));
	assert_string_equal(line, "4 rounds of a 10.0 ms timer: late min 100 us, median 300 us, "
				  "p99 5000 us, max 5000 us");
}

static void converts_ticks(void **state)
{
	/* QEMU's 62.5 MHz counter: 625 ticks are 10 us. */
	const char *con = "pinvm-timer-start 62500000 625000\npinvm-timer 0 625\n"
			  "pinvm-timer-end\n";
	struct timer_lateness t;

	(void)state;
	assert_int_equal(timer_lateness_parse(con, &t), 0);
	assert_true(t.period_us == 10000.0);
	assert_true(t.median_us == 10.0);
}

static void refuses_what_is_not_a_measurement(void **state)
{
	static const char *const bad[] = {
		NULL,
		"",
		"pinvm-timer 0 100\npinvm-timer-end\n",                         /* no start */
		"pinvm-timer-start 1000000 10000\npinvm-timer 0 100\n",          /* no end */
		"pinvm-timer-start 1000000 10000\npinvm-timer-end\n",            /* no rounds */
		"pinvm-timer-start 0 10000\npinvm-timer 0 1\npinvm-timer-end\n", /* no frequency */
		"pinvm-timer-start 1000000 10000\npinvm-timer 1 100\npinvm-timer-end\n", /* skips 0 */
		"pinvm-timer-start 1000000 10000\npinvm-timer 0 100\npinvm-timer 0 100\n"
		"pinvm-timer-end\n",                                             /* repeats */
		"pinvm-timer-start 1000000 10000\npinvm-timer 0 x\npinvm-timer-end\n",
	};
	struct timer_lateness t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timer_lateness_parse(bad[i], &t) != -1)
			fail_msg("accepted case %zu: %s", i, bad[i] ? bad[i] : "(null)");
}

/* Six pairs, pinvm-vmm later in all: p = 2/64; the medians of medians. */
static void compares_interleaved_pairs(void **state)
{
	const double floor[] = { 500, 900, 700, 1300, 600, 800 };
	const double vmm[] = { 600, 950, 900, 1400, 650, 1000 };
	const double mixed[] = { 400, 950, 600, 1400, 550, 1000 };
	struct timer_compare c;
	char line[256];

	(void)state;
	timer_compare(floor, vmm, 6, &c);
	assert_int_equal(c.vmm_later, 6);
	assert_int_equal(c.ties, 0);
	assert_true(c.floor_us == 750.0 && c.vmm_us == 925.0);
	assert_true(c.p_value > 0.0312 && c.p_value < 0.0313);
	/* Later in 3 of 6: no evidence either way. */
	timer_compare(floor, mixed, 6, &c);
	assert_int_equal(c.vmm_later, 3);
	assert_true(c.p_value == 1.0);
	/* Ties leave the test. */
	timer_compare(floor, floor, 6, &c);
	assert_int_equal(c.ties, 6);
	assert_true(c.p_value == 1.0);
	timer_compare_format(&c, line, sizeof(line));
	assert_non_null(strstr(line, "6 interleaved pairs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reduces_rounds),
		cmocka_unit_test(converts_ticks),
		cmocka_unit_test(refuses_what_is_not_a_measurement),
		cmocka_unit_test(compares_interleaved_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
