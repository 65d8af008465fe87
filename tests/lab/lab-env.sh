# shellcheck shell=bash
# tests/lab/lab-env.sh, sourced by the lab tests' scripts: which lab the
# tests run against, from the environment ctest passes on (tests/run.sh
# sets it for each boot; the tests are in tests/lab/CMakeLists.txt), and
# how their output reaches both ctest and the boot's tests log.
#
#   PINVM_LAB_KERNEL     the lab's kernel (5.10, 6.1, 6.12, latest); unset:
#                        no lab was asked for, and every lab test skips
#   PINVM_LAB_URL        its API (default http://127.0.0.1:18180)
#   PINVM_LAB_CONTROL    its test-only control port (default: the API's
#                        port + 100); both on 127.0.0.1, where the lab
#                        forwards them
#   PINVM_LAB_ARGS       more deploy/lab.sh arguments, one per word (the
#                        ASan boot: --asan); PINVM_LAB_GIC and the rest of
#                        deploy/lab.sh's own variables reach it as they are
#   PINVM_LAB_LOG        deploy/lab.sh's output, the lab's console (default
#                        build/test-logs/lab-KERNEL.log)
#   PINVM_LAB_PIDFILE    where the boot leaves deploy/lab.sh's pid for the
#                        stop (default: PINVM_LAB_LOG with .pid for .log)
#   PINVM_LAB_TESTS_LOG  each test's output is appended there as it runs,
#                        as tests/run.sh has always written its
#                        lab-KERNEL-STEP-tests.log; unset: ctest only
#   PINVM_LAB_KERNELS    the kernels pass 1 ran on, one per word (default:
#                        PINVM_LAB_KERNEL)
#   PINVM_LAB_PROFILES   the captures (default build/test-profiles)
#   PINVM_LAB_SNAPSHOTS  the snapshot archives (default build/test-snapshots)
#   PINVM_LAB_GICV2_DIR  the GICv2 host's captures and archives (default
#                        build/test-lab-gicv2)
#   PINVM_LAB_MARKS      the directory of the lanes' NAME.done marks
#                        (tests/lab/wait-mark.sh); unset: nothing waits
#   PINVM_LAB_EXTRA_SELFTESTS  more pinvm-vmm-selftest cases for pass 2's
#                        selftest, one per word (the ASan boot: stop pins)
#   PINVM_RACE_ROUNDS    test_lab_races' rounds (default 200)
#   PINVM_LAB_SH         the lab command (default deploy/lab.sh;
#                        tests/lab/fixture-check.sh puts a fake one there)

# shellcheck disable=SC2034 # used by the scripts that source this file
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_KERNEL=${PINVM_LAB_KERNEL:-}
LAB_URL=${PINVM_LAB_URL:-http://127.0.0.1:18180}
LAB_CONTROL=${PINVM_LAB_CONTROL:-http://127.0.0.1:$((${LAB_URL##*:} + 100))}
LAB_LOG=${PINVM_LAB_LOG:-$LAB_ROOT/build/test-logs/lab-$LAB_KERNEL.log}
LAB_PIDFILE=${PINVM_LAB_PIDFILE:-${LAB_LOG%.log}.pid}
LAB_SH=${PINVM_LAB_SH:-$LAB_ROOT/deploy/lab.sh}

# Exits 77 (the lab tests' SKIP_RETURN_CODE) when no lab was asked for: a
# plain ctest without -LE lab then lists the lab tests as skipped.
lab_wanted() {
	[ -n "$LAB_KERNEL" ] && return 0
	echo "# skipped: no lab asked for (PINVM_LAB_KERNEL is unset; tests/run.sh sets it)"
	exit 77
}

# Runs "$@" with its output appended to PINVM_LAB_TESTS_LOG as it comes
# (the command's stdout is that file, as it always was under tests/run.sh:
# nothing it leaves running can hold ctest's pipe open), then prints
# what it added there for ctest. Returns the command's status.
lab_logged() {
	local log=${PINVM_LAB_TESTS_LOG:-} tmp='' size rc
	if [ -z "$log" ]; then
		tmp=$(mktemp)
		log=$tmp
	fi
	size=$(stat -c %s "$log" 2>/dev/null || echo 0)
	"$@" >>"$log" 2>&1
	rc=$?
	tail -c +$((size + 1)) "$log"
	[ -z "$tmp" ] || rm -f "$tmp"
	return $rc
}
