/* The PL061 model: what a Linux guest's gpio-pl061 and a power button
 * pressed by pinvm-vmm see. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pl061.h"

#define DATA_ALL 0x3fcu /* every mask bit set */
#define DIR 0x400u
#define IS 0x404u
#define IBE 0x408u
#define IEV 0x40cu
#define IE 0x410u
#define RIS 0x414u
#define MIS 0x418u
#define IC 0x41cu

static void test_ids(void **state)
{
	static const uint8_t want[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl061 g;

	(void)state;
	pl061_reset(&g);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(pl061_read(&g, 0xfe0u + 4 * i), want[i]);
}

static void test_data_masks(void **state)
{
	struct pl061 g;

	(void)state;
	pl061_reset(&g);
	pl061_set_input(&g, 3, true);
	assert_int_equal(pl061_read(&g, DATA_ALL), 0x08);
	assert_int_equal(pl061_read(&g, 0x08u << 2), 0x08); /* only line 3 */
	assert_int_equal(pl061_read(&g, 0x04u << 2), 0);    /* line 3 masked out */
	/* Outputs show what the guest wrote, through the address mask. */
	pl061_write(&g, DIR, 0x01);
	pl061_write(&g, 0x01u << 2, 0xff);
	assert_int_equal(pl061_read(&g, DATA_ALL), 0x09);
	pl061_write(&g, 0x02u << 2, 0x00); /* mask excludes line 0: no change */
	assert_int_equal(pl061_read(&g, DATA_ALL), 0x09);
}

/* gpio-keys asks for both edges: press and release each interrupt. */
static void test_both_edges(void **state)
{
	struct pl061 g;

	(void)state;
	pl061_reset(&g);
	pl061_write(&g, IBE, 0x08);
	pl061_write(&g, IE, 0x08);
	assert_false(pl061_irq(&g));
	pl061_set_input(&g, 3, true);
	assert_true(pl061_irq(&g));
	assert_int_equal(pl061_read(&g, MIS), 0x08);
	pl061_write(&g, IC, 0x08);
	assert_false(pl061_irq(&g));
	pl061_set_input(&g, 3, true); /* no change, no edge */
	assert_false(pl061_irq(&g));
	pl061_set_input(&g, 3, false);
	assert_true(pl061_irq(&g));
}

static void test_rising_edge_masked(void **state)
{
	struct pl061 g;

	(void)state;
	pl061_reset(&g);
	pl061_write(&g, IEV, 0x08);        /* rising only */
	pl061_set_input(&g, 3, true);      /* latched though disabled */
	assert_int_equal(pl061_read(&g, RIS), 0x08);
	assert_false(pl061_irq(&g));
	pl061_write(&g, IE, 0x08);
	assert_true(pl061_irq(&g));
	pl061_write(&g, IC, 0x08);
	pl061_set_input(&g, 3, false);     /* falling: nothing */
	assert_false(pl061_irq(&g));
}

static void test_level(void **state)
{
	struct pl061 g;

	(void)state;
	pl061_reset(&g);
	pl061_write(&g, IS, 0x08);
	pl061_write(&g, IEV, 0x08); /* high level */
	pl061_write(&g, IE, 0x08);
	assert_false(pl061_irq(&g));
	pl061_set_input(&g, 3, true);
	assert_true(pl061_irq(&g));
	pl061_write(&g, IC, 0x08); /* a level stays while it holds */
	assert_true(pl061_irq(&g));
	pl061_set_input(&g, 3, false);
	assert_false(pl061_irq(&g));
	pl061_set_input(&g, 9, true); /* no such line: ignored */
	assert_int_equal(pl061_read(&g, DATA_ALL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_data_masks),
		cmocka_unit_test(test_both_edges),
		cmocka_unit_test(test_rising_edge_masked),
		cmocka_unit_test(test_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
