#!/usr/bin/env bash
# Runs pinvm-vmm-selftest CASES... inside the lab through its control
# port, printing its output; fails unless it exits 0 (tests/run.sh's
# lab_selftest once).
#
#   selftest.sh CONTROL CASE...
set -uo pipefail

control=${1:?usage: selftest.sh CONTROL CASE...}
shift
out=$(curl -s --max-time 900 -X POST --data-binary \
	"pinvm-vmm-selftest --image-dir /images --work-dir /tmp/pinvm-vmm-selftest $* 2>&1
echo \"pinvm-vmm-selftest: exit status \$?\"" "$control/cgi-bin/run")
printf '%s\n' "$out"
if ! grep -q '^pinvm-vmm-selftest: exit status 0$' <<<"$out"; then
	grep -qE '^[0-9]+ passed, [0-9]+ failed$' <<<"$out" ||
		printf 'not ok - pinvm-vmm-selftest %s\n0 passed, 1 failed\n' "$*"
	exit 1
fi
