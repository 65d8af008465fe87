/* The MMIO bus: registration rules and dispatch by address. */
#include "mmio_bus.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

struct dev {
	uint64_t last_off;
	unsigned last_len;
	int reads, writes;
	uint8_t value;
};

static void dev_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	memset(data, d->value, len);
}

static void dev_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	d->value = *(const uint8_t *)data;
}

static const struct mmio_ops ops = { .read = dev_read, .write = dev_write };

static void test_dispatch(void **state)
{
	struct dev a = { .value = 0xaa }, b = { .value = 0xbb };
	struct mmio_bus bus;
	uint32_t v = 0;
	uint8_t w = 0x42;

	(void)state;
	mmio_bus_init(&bus);
	assert_int_equal(mmio_bus_register(&bus, 0x2000, 0x100, &ops, &b), 0);
	assert_int_equal(mmio_bus_register(&bus, 0x1000, 0x1000, &ops, &a), 0);
	assert_true(mmio_bus_access(&bus, 0x1ffc, &v, 4, false));
	assert_int_equal(v, 0xaaaaaaaa);
	assert_int_equal(a.last_off, 0xffc);
	assert_int_equal(a.last_len, 4);
	assert_true(mmio_bus_access(&bus, 0x2010, &w, 1, true));
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.last_off, 0x10);
	assert_int_equal(b.value, 0x42);
	mmio_bus_free(&bus);
}

static void test_unclaimed(void **state)
{
	struct dev a = { .value = 0xaa };
	struct mmio_bus bus;
	uint64_t v = ~0ULL;

	(void)state;
	mmio_bus_init(&bus);
	assert_false(mmio_bus_access(&bus, 0x1000, &v, 8, false)); /* empty bus */
	assert_int_equal(v, 0);
	assert_int_equal(mmio_bus_register(&bus, 0x1000, 0x10, &ops, &a), 0);
	v = ~0ULL;
	assert_false(mmio_bus_access(&bus, 0xfff, &v, 1, false));
	assert_false(mmio_bus_access(&bus, 0x1010, &v, 1, false));
	assert_false(mmio_bus_access(&bus, 0x100c, &v, 8, false)); /* crosses the end */
	assert_int_equal(v, 0);
	assert_false(mmio_bus_access(&bus, 0x2000, &v, 4, true));
	assert_int_equal(a.reads + a.writes, 0);
	mmio_bus_free(&bus);
}

static void test_register_rules(void **state)
{
	struct mmio_bus bus;
	int i;

	(void)state;
	mmio_bus_init(&bus);
	assert_int_equal(mmio_bus_register(&bus, 0x1000, 0, &ops, NULL), -EINVAL);
	assert_int_equal(mmio_bus_register(&bus, UINT64_MAX, 2, &ops, NULL), -EINVAL);
	assert_int_equal(mmio_bus_register(&bus, 0x1000, 0x100, NULL, NULL), -EINVAL);
	assert_int_equal(mmio_bus_register(&bus, 0x1000, 0x100, &ops, NULL), 0);
	assert_int_equal(mmio_bus_register(&bus, 0x10ff, 1, &ops, NULL), -EEXIST);
	assert_int_equal(mmio_bus_register(&bus, 0x0f00, 0x101, &ops, NULL), -EEXIST);
	assert_int_equal(mmio_bus_register(&bus, 0x0f00, 0x100, &ops, NULL), 0);
	assert_int_equal(mmio_bus_register(&bus, 0x1100, 0x100, &ops, NULL), 0);
	/* Growth past the initial capacity keeps the order. */
	for (i = 0; i < 40; i++)
		assert_int_equal(mmio_bus_register(&bus, 0x100000 - (uint64_t)i * 0x200,
						   0x200, &ops, NULL), 0);
	for (size_t k = 1; k < bus.n; k++)
		assert_true(bus.regions[k - 1].base + bus.regions[k - 1].size <=
			    bus.regions[k].base);
	mmio_bus_free(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_unclaimed),
		cmocka_unit_test(test_register_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
