/* page_hash: what the migration's last check relies on (migrate_send.c):
 * equal pages hash equal, and a change of any one word always shows. */
#include "page_hash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static uint8_t a[PAGE_HASH_SIZE], b[PAGE_HASH_SIZE];

static void fill(uint8_t *p, uint32_t seed)
{
	for (size_t i = 0; i < PAGE_HASH_SIZE; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void equal_pages_hash_equal(void **state)
{
	(void)state;
	fill(a, 7);
	memcpy(b, a, sizeof(a));
	assert_int_equal(page_hash(a), page_hash(b));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(page_hash(a), page_hash(b));
}

/* Every byte position of every lane, one bit and a whole word. */
static void any_one_word_changed_shows(void **state)
{
	uint64_t h;

	(void)state;
	fill(a, 11);
	h = page_hash(a);
	for (size_t i = 0; i < PAGE_HASH_SIZE; i++) {
		memcpy(b, a, sizeof(a));
		b[i] ^= 0x01;
		assert_true(page_hash(b) != h);
		b[i] ^= 0x81;
		assert_true(page_hash(b) != h);
	}
	for (size_t w = 0; w < PAGE_HASH_SIZE / 8; w++) {
		memcpy(b, a, sizeof(a));
		memset(b + w * 8, 0, 8);
		if (memcmp(a, b, sizeof(a)))
			assert_true(page_hash(b) != h);
	}
}

/* The zero page against pages with one word set, as a freshly cleared
 * page and one the guest wrote into (the case the check exists for). */
static void zero_page_against_one_written_word(void **state)
{
	uint64_t z, one = 0x2f62696e2f627573ULL;

	(void)state;
	memset(a, 0, sizeof(a));
	z = page_hash(a);
	for (size_t w = 0; w < PAGE_HASH_SIZE / 8; w++) {
		memset(b, 0, sizeof(b));
		memcpy(b + w * 8, &one, 8);
		assert_true(page_hash(b) != z);
	}
}

/* Two words swapped: a sum would miss it. */
static void swapped_words_show(void **state)
{
	uint64_t h, x, y;

	(void)state;
	fill(a, 13);
	h = page_hash(a);
	memcpy(b, a, sizeof(a));
	memcpy(&x, b, 8);
	memcpy(&y, b + 8, 8);
	memcpy(b, &y, 8);
	memcpy(b + 8, &x, 8);
	assert_true(page_hash(b) != h);
	memcpy(b, a, sizeof(a));
	memcpy(&x, b, 8);
	memcpy(&y, b + 32, 8); /* the same lane */
	memcpy(b, &y, 8);
	memcpy(b + 32, &x, 8);
	assert_true(page_hash(b) != h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_pages_hash_equal),
		cmocka_unit_test(any_one_word_changed_shows),
		cmocka_unit_test(zero_page_against_one_written_word),
		cmocka_unit_test(swapped_words_show),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
