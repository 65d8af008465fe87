/*
 * Named stopping points for the kill -9 tests (issue 10): a test makes
 * pinvmd or pinvm-vmm stop at a known place in a snapshot or a restore
 * and kills it there, instead of guessing with a sleep.
 *
 * Off unless asked: only a process started with PINVM_TEST_HOLD_DIR (an
 * existing directory) in its environment, which nothing but the tests
 * sets, ever stops. pinvm-vmm inherits pinvmd's environment.
 *
 * A test arms a point by creating DIR/POINT.arm. test_hold(point) then
 * claims it (unlinks the .arm file: one stop per arming, one process),
 * writes DIR/POINT holding its pid and a newline (the readiness signal),
 * and waits until the test removes DIR/POINT (or kills the process).
 * The environment is read at the first call. Blocks only the calling thread. Every failure lets the caller go on as
 * if the point were not armed: a test then fails on its own bounded wait.
 */
#ifndef PINVM_VMM_TEST_HOLD_H
#define PINVM_VMM_TEST_HOLD_H

void test_hold(const char *point);

#endif
