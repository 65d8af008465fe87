/*
 * The VM registry and its entries' reference counts: the --max-vms limit
 * with reservations, lookups handing out references that keep an entry
 * alive after it is taken off the list, and the last reference freeing it
 * (checked under ASan: a use after the last put is a report).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vm_registry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct vm_entry *entry(const char *id)
{
	struct vm_entry *e = vm_entry_new();

	assert_non_null(e);
	snprintf(e->id, sizeof(e->id), "%s", id);
	return e;
}

static void test_limit(void **state)
{
	struct vm_registry *r;
	unsigned held;

	(void)state;
	assert_int_equal(vm_registry_new(&r, 2), 0);
	assert_int_equal(vm_registry_reserve(r, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(vm_registry_reserve(r, &held), 0);
	/* Two creations under way fill a limit of two. */
	assert_int_equal(vm_registry_reserve(r, &held), -ENOSPC);
	assert_int_equal(held, 2);
	vm_registry_unreserve(r);
	vm_registry_add(r, entry("a"), true); /* one listed, none under way */
	assert_int_equal(vm_registry_reserve(r, &held), 0);
	assert_int_equal(held, 1);
	assert_int_equal(vm_registry_reserve(r, &held), -ENOSPC);
	assert_int_equal(held, 2);
	/* A VM taken back at start-up is listed whatever the limit. */
	vm_registry_add(r, entry("b"), false);
	vm_registry_add(r, entry("c"), true);
	assert_int_equal(vm_registry_reserve(r, &held), -ENOSPC);
	assert_int_equal(held, 3);
	for (struct vm_entry *e; (e = vm_registry_pop(r));)
		vm_entry_put(e);
	assert_int_equal(vm_registry_reserve(r, &held), 0);
	assert_int_equal(held, 0);
	vm_registry_unreserve(r);
	vm_registry_free(r);
}

static bool collect(struct vm_entry *e, void *arg)
{
	strcat(arg, e->id);
	return true;
}

static void test_find_take(void **state)
{
	struct vm_registry *r;
	struct vm_entry *held, *taken;
	char order[16] = "";

	(void)state;
	assert_int_equal(vm_registry_new(&r, 8), 0);
	vm_registry_add(r, entry("a"), false);
	vm_registry_add(r, entry("b"), false);
	vm_registry_foreach(r, collect, order);
	assert_string_equal(order, "ba"); /* newest first */
	assert_null(vm_registry_find(r, "nope"));

	held = vm_registry_find(r, "a");
	assert_non_null(held);
	assert_int_equal(atomic_load(&held->refs), 2);
	taken = vm_registry_take(r, "a");
	assert_ptr_equal(taken, held);
	assert_null(vm_registry_find(r, "a"));
	assert_null(vm_registry_take(r, "a"));
	/* Taken off the list, it lives on for whoever still holds it. */
	vm_entry_put(taken);
	assert_string_equal(held->id, "a");
	assert_int_equal(atomic_load(&held->refs), 1);
	vm_entry_put(held); /* the last reference frees it */

	order[0] = '\0';
	vm_registry_foreach(r, collect, order);
	assert_string_equal(order, "b");
	vm_entry_put(vm_registry_pop(r));
	assert_null(vm_registry_pop(r));
	vm_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_find_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
