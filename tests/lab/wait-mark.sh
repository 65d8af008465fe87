#!/usr/bin/env bash
# Waits until the other lane (or an earlier boot of this one) has marked
# every MARK done, PINVM_LAB_MARKS/MARK.done (tests/run.sh touches them
# when a boot has ended), for at most LIMIT seconds in all; past that
# prints "not ok" and fails. Then prints how long it waited.
#
#   wait-mark.sh LIMIT WHAT MARK...
#
# Without PINVM_LAB_MARKS (a lab test run by hand, no lanes) nothing is
# waited for. Once tests/run.sh's wait_mark, pass1_wait_others and gicv2_wait.
set -uo pipefail

limit=${1:?usage: wait-mark.sh LIMIT WHAT MARK...}
what=${2:?WHAT}
shift 2
t0=$SECONDS
if [ -z "${PINVM_LAB_MARKS:-}" ]; then
	echo "# PINVM_LAB_MARKS is unset: not waiting for $what"
	exit 0
fi
for mark in "$@"; do
	until [ -e "$PINVM_LAB_MARKS/$mark.done" ]; do
		if [ $((SECONDS - t0)) -gt "$limit" ]; then
			echo "not ok - $what ($mark) did not end within $limit s"
			exit 1
		fi
		sleep 1
	done
done
printf '# waited %d s for %s\n' $((SECONDS - t0)) "$what"
