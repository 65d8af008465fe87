#!/usr/bin/env bash
# The lab tests' fixture and wrapper without a lab (ctest: test_lab_fixture,
# a native test): ctest runs tests/lab/lab-fixture.sh and run-lab-test.sh
# as tests/lab/CMakeLists.txt registers them, with tests/lab/fake-lab.sh
# as the lab (PINVM_LAB_SH), and the outcome is checked:
#   - a lab that comes up: booted with the ports, --asan and PINVM_LAB_GIC
#     of the environment, alive while the tests run, each test's command
#     with its placeholders replaced, its output and "# took" line in the
#     tests log, stopped by SIGTERM at the end, its pid file gone;
#   - a lab that exits before it is ready, and one that is never ready:
#     the boot fails with the lab's log, the tests are "Not Run" and
#     counted failed by ctest, and no lab is left running;
#   - no PINVM_LAB_KERNEL: every lab test skipped, no lab started;
#   - the wrapper's --if-exists (skipped), --require (not ok) and a
#     command's 77 (failed, not skipped);
#   - tests/lab/wait-mark.sh: marks there, and a mark that never comes.
#
#   fixture-check.sh CTEST
# {url} and the like are the lab tests' placeholders, literal here; the
# single-quoted commands run under the wrapper.
# shellcheck disable=SC1083,SC2016
set -uo pipefail

CTEST=${1:?usage: fixture-check.sh CTEST}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
PASSED=0
FAILED=0
# Whatever the caller's environment says about labs does not apply here.
unset "${!PINVM_LAB_@}" PINVM_RACE_ROUNDS

cleanup() {
	local f
	for f in "$WORK"/*/lab.pid; do
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		PASSED=$((PASSED + 1))
	else
		echo "not ok - $what"
		FAILED=$((FAILED + 1))
	fi
}

# The add_test line of a lab test NAME running run-lab-test.sh ARG...,
# with the properties tests/lab/CMakeLists.txt gives every lab test.
lab_test() {
	local name=$1 a line
	shift
	line="add_test($name [==[$HERE/run-lab-test.sh]==]"
	for a in "$@"; do line+=" [==[$a]==]"; done
	echo "$line)"
	echo "set_tests_properties($name PROPERTIES FIXTURES_REQUIRED lab SKIP_RETURN_CODE 77)"
}

# Writes WORK/NAME/CTestTestfile.cmake: the fixture's boot, the tests on
# stdin (lab_test lines), the fixture's stop.
suite() {
	local dir=$WORK/$1
	mkdir -p "$dir"
	{
		echo "add_test(lab_boot [==[$HERE/lab-fixture.sh]==] boot)"
		echo "set_tests_properties(lab_boot PROPERTIES FIXTURES_SETUP lab SKIP_RETURN_CODE 77)"
		cat
		echo "add_test(lab_stop [==[$HERE/lab-fixture.sh]==] stop)"
		echo "set_tests_properties(lab_stop PROPERTIES FIXTURES_CLEANUP lab SKIP_RETURN_CODE 77)"
	} >"$dir/CTestTestfile.cmake"
}

# Runs ctest in WORK/NAME against fake-lab.sh as a lab on 6.12, with the
# environment tests/run.sh gives a boot and then VAR=VALUE...; ctest's
# output goes where the tests' goes, WORK/NAME/tests.log, as in run.sh.
run_suite() {
	local dir=$WORK/$1
	shift
	(cd "$dir" && env PINVM_LAB_SH="$HERE/fake-lab.sh" PINVM_LAB_KERNEL=6.12 \
		PINVM_LAB_URL=http://127.0.0.1:18999 PINVM_LAB_LOG="$dir/lab.log" \
		PINVM_LAB_PIDFILE="$dir/lab.pid" PINVM_LAB_TESTS_LOG="$dir/tests.log" \
		PINVM_LAB_KERNELS="5.10 6.1" PINVM_LAB_PROFILES="$dir/profiles" \
		PINVM_LAB_EXTRA_SELFTESTS="stop pins" "$@" "$CTEST" -j1) >>"$dir/tests.log" 2>&1
	sed "s/^/$(basename "$dir"): /" "$dir/tests.log"
}

has() { grep -qF -- "$2" "$1"; }
has_line() { grep -qx -- "$2" "$1"; }
gone() { [ ! -e "$1" ] && ! pgrep -f "$HERE/fake-lab.sh .*--port 18999" >/dev/null; }

# A lab that comes up.
suite up <<EOF
$(lab_test lab_args printf '%s\n' {url} {control} {kernel} k={sources} pass1-{others} {extra_selftests} {profiles})
$(lab_test lab_alive sh -c 'kill -0 "$(cat "$1")" && echo "lab alive"' - "$WORK/up/lab.pid")
EOF
run_suite up PINVM_LAB_ARGS=--asan PINVM_LAB_GIC=2
d=$WORK/up
check "ctest counts the boot, two tests and the stop, all passed" \
	has "$d/tests.log" "100% tests passed, 0 tests failed out of 4"
check "the lab was booted with its ports, PINVM_LAB_ARGS and PINVM_LAB_GIC" \
	has "$d/lab.log" "fake lab: --kernel 6.12 --port 18999 --control-port 19099 --asan (PINVM_LAB_GIC=2)"
check "the boot's time is in the tests log" grep -qE '^# took [0-9]+ s: fake-lab.sh 6.12$' "$d/tests.log"
check "the placeholders were replaced, lists one argument per item" \
	diff - <(sed -n '/^http:\/\/127.0.0.1:18999$/,/profiles$/p' "$d/tests.log") <<EOF
http://127.0.0.1:18999
http://127.0.0.1:19099
6.12
k=5.10
k=6.1
k=6.12
pass1-5.10
pass1-6.1
stop
pins
$d/profiles
EOF
check "the lab ran while the tests did" has_line "$d/tests.log" "lab alive"
check "each test's time is in the tests log" grep -qE '^# took [0-9]+ s: printf %s' "$d/tests.log"
check "ctest's lines and the tests' output are in one log, in order" \
	grep -qx "lab alive" <(sed -n '/Start 3: lab_alive/,/Test #3: lab_alive/p' "$d/tests.log")
check "the stop sent SIGTERM to the lab" has "$d/lab.log" "fake lab: stopping (SIGTERM)"
check "no lab is left and its pid file is gone" gone "$d/lab.pid"

# A lab that exits before it is ready.
suite fail <<EOF
$(lab_test lab_one true)
$(lab_test lab_two true)
EOF
run_suite fail FAKE_LAB=fail
d=$WORK/fail
check "a failed boot: the boot failed, the tests not run, all counted by ctest" \
	has "$d/tests.log" "25% tests passed, 3 tests failed out of 4"
check "a failed boot: its tests are Not Run" grep -qE 'lab_two .*Not Run' "$d/tests.log"
check "a failed boot: the lab's log is in the tests log" \
	has "$d/tests.log" "fake lab: QEMU exited before the lab was ready"
check "a failed boot says so" has_line "$d/tests.log" "lab 6.12 did not come up; its log:"
check "a failed boot: no lab is left" gone "$d/lab.pid"

# A lab that never says it is ready: given up after 3 looks, and stopped.
suite silent <<EOF
$(lab_test lab_one true)
EOF
run_suite silent FAKE_LAB=silent PINVM_LAB_READY_TRIES=3
d=$WORK/silent
check "a lab never ready: the boot fails" has "$d/tests.log" "33% tests passed, 2 tests failed out of 3"
check "a lab never ready is stopped by the boot" has "$d/lab.log" "fake lab: stopping (SIGTERM)"
check "a lab never ready: no lab is left" gone "$d/lab.pid"

# No lab asked for: a plain ctest without -LE lab.
suite none <<EOF
$(lab_test lab_one true)
EOF
run_suite none PINVM_LAB_KERNEL=
d=$WORK/none
check "no PINVM_LAB_KERNEL: nothing fails" has "$d/tests.log" "100% tests passed, 0 tests failed out of 3"
check "no PINVM_LAB_KERNEL: the boot, the test and the stop are skipped" \
	test "$(grep -c '(Skipped)' "$d/tests.log")" -eq 3
check "no PINVM_LAB_KERNEL: no lab was started" test ! -e "$d/lab.log"

# The wrapper's refusals.
suite wrapper <<EOF
$(lab_test lab_if_exists --if-exists {profiles}/nothing.json true)
$(lab_test lab_require --require {profiles}/nothing "the archives are there" true)
$(lab_test lab_77 sh -c 'exit 77')
EOF
run_suite wrapper
d=$WORK/wrapper
check "--if-exists of nothing: skipped" grep -qE 'lab_if_exists .*Skipped' "$d/tests.log"
check "--require of nothing: failed, saying what" has_line "$d/tests.log" "not ok - the archives are there"
check "--require of nothing: failed" grep -qE 'lab_require .*Failed' "$d/tests.log"
check "a command's 77 is a failure, not a skip" grep -qE 'lab_77 .*Failed' "$d/tests.log"
check "the wrapper's tests: 2 failed of 5 (the boot, the stop and a skip passed)" \
	has "$d/tests.log" "60% tests passed, 2 tests failed out of 5"

# wait-mark.sh
mkdir -p "$WORK/marks"
touch "$WORK/marks/pass1-5.10.done" "$WORK/marks/pass1-6.1.done"
check "wait-mark.sh: marks there" \
	env PINVM_LAB_MARKS="$WORK/marks" "$HERE/wait-mark.sh" 5 "pass 1" pass1-5.10 pass1-6.1
out=$(PINVM_LAB_MARKS=$WORK/marks "$HERE/wait-mark.sh" 1 "the GICv2 host's boot" gicv2)
rc=$?
check "wait-mark.sh: a mark that never comes fails after LIMIT s" test "$rc" -eq 1
check "wait-mark.sh: ... saying so" \
	test "$out" = "not ok - the GICv2 host's boot (gicv2) did not end within 1 s"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
