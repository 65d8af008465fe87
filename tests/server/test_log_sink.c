/*
 * server/log_sink.c: lines written by several threads at once through the
 * writer thread all reach stderr, each whole, each thread's in its order,
 * across many turns of the ring; a line larger than the ring comes out
 * whole after those before it; log_sink_stop writes out what is buffered
 * and later lines go direct.
 */
#include "log_sink.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define THREADS 4
#define LINES 20000

/* Line i of thread t: "t<t> <i> " and a filler of i % 3001 letters, so
 * lines of every length up to 3 KiB wrap the 1 MiB ring at every offset. */
static size_t make_line(char *buf, size_t cap, int t, int i)
{
	int n = snprintf(buf, cap, "t%d %d ", t, i);
	size_t fill = (size_t)(i % 3001);

	memset(buf + n, 'a' + (char)(i % 26), fill);
	return (size_t)n + fill;
}

static void *produce(void *arg)
{
	int t = (int)(intptr_t)arg;
	char buf[4096];

	for (int i = 0; i < LINES; i++)
		log_sink_line(buf, make_line(buf, sizeof(buf), t, i));
	return NULL;
}

static void test_threads(void **state)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	pthread_t th[THREADS];
	int next[THREADS] = { 0 };
	size_t big_len = ((size_t)1 << 20) + 100, cap = big_len + 2, lines = 0;
	char *big = malloc(big_len), *line = malloc(cap), want[4096];
	bool big_seen = false, after_last = false;

	(void)state;
	assert_non_null(f);
	assert_non_null(big);
	assert_non_null(line);
	memset(big, 'B', big_len);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	assert_int_equal(log_sink_start(), 0);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, produce, (void *)(intptr_t)t), 0);
	log_sink_line(big, big_len);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	log_sink_stop();
	log_sink_line("after", 5);
	dup2(saved, STDERR_FILENO);
	close(saved);

	rewind(f);
	while (fgets(line, (int)cap, f)) {
		size_t n = strlen(line);
		int t, i;

		assert_true(n > 0 && line[n - 1] == '\n');
		line[--n] = '\0';
		lines++;
		after_last = !strcmp(line, "after");
		if (after_last)
			continue;
		if (line[0] == 'B') {
			assert_int_equal(n, big_len);
			assert_true(strspn(line, "B") == big_len);
			big_seen = true;
			continue;
		}
		assert_int_equal(sscanf(line, "t%d %d ", &t, &i), 2);
		assert_true(t >= 0 && t < THREADS);
		/* Every line of a thread, in its order, each as it was made. */
		assert_int_equal(i, next[t]);
		assert_int_equal(n, make_line(want, sizeof(want), t, i));
		assert_memory_equal(line, want, n);
		next[t]++;
	}
	fclose(f);
	free(big);
	free(line);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(next[t], LINES);
	assert_true(big_seen);
	assert_true(after_last);
	assert_int_equal(lines, (size_t)THREADS * LINES + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
