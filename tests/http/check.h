/*
 * A tiny test reporter for the HTTP-level tests: each check prints one
 * "ok"/"not ok" line; check_summary() prints "N passed, N failed" and gives
 * the exit status.
 */
#ifndef PINVM_TESTS_CHECK_H
#define PINVM_TESTS_CHECK_H

#include <stdbool.h>

/* Records one result; detail is printf-formatted and shown on failure. */
bool check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* How many checks failed so far (a test keeps its logs when any did). */
unsigned check_failures(void);

/* Prints the closing line; returns 0 if nothing failed, else 1. */
int check_summary(void);

#endif
