/*
 * Stored profiles parsed once (server/profile_cache.c): a hit hands out a
 * reference of its own, DELETE's forget makes the next get miss while
 * holders keep a valid profile (ASan reports a use after the last
 * reference), a load that raced a forget is not kept, the oldest entry
 * makes room, and threads hammering one cache leave every count right.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prepared.h"
#include "profile_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct profile *make(const char *name)
{
	struct profile *p = NULL;
	struct api_error err;

	assert_int_equal(profile_new(name, &p, &err), 0);
	return p;
}

static void test_hit_and_forget(void **state)
{
	struct profile_cache *c = profile_cache_new(4);
	struct profile *p = make("base"), *a, *b;
	unsigned long gen;

	(void)state;
	assert_non_null(c);
	assert_null(profile_cache_get(c, "base", &gen));
	profile_cache_put(c, p, gen);
	a = profile_cache_get(c, "base", &gen);
	b = profile_cache_get(c, "base", &gen);
	assert_ptr_equal(a, p);
	assert_ptr_equal(b, p);
	profile_free(p); /* the loader's reference */
	profile_cache_forget(c, "base");
	assert_null(profile_cache_get(c, "base", &gen));
	/* Holders still read it after the cache let go. */
	assert_string_equal(a->name, "base");
	profile_free(a);
	assert_string_equal(b->name, "base");
	profile_free(b); /* the last: freed here */
	profile_cache_free(c);
}

static void test_stale_load_not_kept(void **state)
{
	struct profile_cache *c = profile_cache_new(4);
	struct profile *p = make("gone");
	unsigned long gen;

	(void)state;
	assert_null(profile_cache_get(c, "gone", &gen));
	/* DELETE lands between the store read and the put. */
	profile_cache_forget(c, "gone");
	profile_cache_put(c, p, gen);
	assert_null(profile_cache_get(c, "gone", &gen));
	profile_free(p);
	profile_cache_free(c);
}

static void test_capacity(void **state)
{
	struct profile_cache *c = profile_cache_new(2);
	const char *names[] = { "one", "two", "three" };
	unsigned long gen;
	struct profile *p;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		p = make(names[i]);
		assert_null(profile_cache_get(c, names[i], &gen));
		profile_cache_put(c, p, gen);
		profile_free(p);
	}
	/* "one" was the least recently used. */
	assert_null(profile_cache_get(c, "one", &gen));
	p = profile_cache_get(c, "two", &gen);
	assert_non_null(p);
	profile_free(p);
	p = profile_cache_get(c, "three", &gen);
	assert_non_null(p);
	profile_free(p);
	profile_cache_free(c);
}

#define THREADS 4
#define ROUNDS 20000

static void *hammer(void *arg)
{
	struct profile_cache *c = arg;
	char name[16];

	for (int i = 0; i < ROUNDS; i++) {
		unsigned long gen;
		struct profile *p;

		snprintf(name, sizeof(name), "p%d", i % 5);
		p = profile_cache_get(c, name, &gen);
		if (!p) {
			struct api_error err;

			if (profile_new(name, &p, &err))
				return "profile_new failed";
			profile_cache_put(c, p, gen);
		}
		if (strcmp(p->name, name))
			return "a get answered another profile";
		profile_free(p);
		if (i % 7 == 0)
			profile_cache_forget(c, name);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct profile_cache *c = profile_cache_new(3);
	pthread_t t[THREADS];
	void *res;

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
	profile_cache_free(c); /* LeakSanitizer: nothing left behind */
}

/* Prepared answers: the same bytes to every get, a reference each; a
 * forget of any profile drops them all (a verdict may come from it); one
 * made before a forget is not kept; the holders outlive the cache's own. */
static void test_answers(void **state)
{
	struct profile_cache *c = profile_cache_new(2);
	json_t *doc = json_pack("{s:s}", "name", "base");
	struct prepared *p = prepared_new(doc), *a, *b, *q;
	unsigned long gen, stale;
	char etag[ETAG_SIZE];

	(void)state;
	assert_non_null(c);
	assert_non_null(p);
	assert_string_equal(p->text, "{\"name\":\"base\"}\n");
	assert_int_equal(p->len, strlen(p->text));
	etag_of(p->text, p->len - 1, etag);
	assert_string_equal(p->etag, etag); /* of the body without its newline */
	assert_null(profile_cache_get_answer(c, "k1", 2, &gen));
	profile_cache_put_answer(c, "k1", 2, p, gen);
	a = profile_cache_get_answer(c, "k1", 2, &gen);
	b = profile_cache_get_answer(c, "k1", 2, &gen);
	assert_ptr_equal(a, p);
	assert_ptr_equal(b, p);
	assert_null(profile_cache_get_answer(c, "k", 1, &gen)); /* a prefix is no key */
	prepared_unref(p); /* the maker's reference */
	assert_null(profile_cache_get_answer(c, "k2", 2, &stale));
	profile_cache_forget(c, "other");
	assert_null(profile_cache_get_answer(c, "k1", 2, &gen));
	/* Made before the forget: may come from the forgotten profile. */
	q = prepared_new(doc);
	profile_cache_put_answer(c, "k2", 2, q, stale);
	assert_null(profile_cache_get_answer(c, "k2", 2, &gen));
	/* Keys past the bound are not kept. */
	{
		static char big[PROFILE_CACHE_KEY_MAX + 1];

		profile_cache_put_answer(c, big, sizeof(big), q, gen);
		assert_null(profile_cache_get_answer(c, big, sizeof(big), &gen));
	}
	/* Capacity 2: the least recently used answer makes room. */
	profile_cache_put_answer(c, "x1", 2, q, gen);
	profile_cache_put_answer(c, "x2", 2, q, gen);
	prepared_unref(profile_cache_get_answer(c, "x1", 2, &gen));
	profile_cache_put_answer(c, "x3", 2, q, gen);
	assert_null(profile_cache_get_answer(c, "x2", 2, &gen));
	prepared_unref(profile_cache_get_answer(c, "x1", 2, &gen));
	prepared_unref(q);
	profile_cache_free(c);
	/* The holders still read theirs (ASan: no use after free). */
	assert_string_equal(a->text, "{\"name\":\"base\"}\n");
	prepared_unref(a);
	assert_int_equal(b->len, 16);
	prepared_unref(b);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_forget),
		cmocka_unit_test(test_stale_load_not_kept),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
