#!/usr/bin/env bash
# A stand-in for deploy/lab.sh in tests/lab/fixture-check.sh: takes its
# arguments, prints them and PINVM_LAB_GIC, then as FAKE_LAB says:
#   ready (default)  the ready line half a second later, then runs until
#                    SIGTERM, which it reports
#   fail             exits 1 before the ready line, as a lab whose QEMU died
#   silent           runs until SIGTERM, never ready
set -uo pipefail

echo "fake lab: $* (PINVM_LAB_GIC=${PINVM_LAB_GIC:-})"
port=
while [ $# -gt 0 ]; do
	case $1 in
	--port) port=$2; shift 2 ;;
	*) shift ;;
	esac
done
trap 'echo "fake lab: stopping (SIGTERM)"; exit 0' TERM
case ${FAKE_LAB:-ready} in
fail)
	echo "fake lab: QEMU exited before the lab was ready"
	exit 1
	;;
silent) ;;
*)
	sleep 0.5
	echo "pinvm lab ready: http://127.0.0.1:$port kernel=fake"
	;;
esac
# wait returns at once on SIGTERM, so the trap runs then.
while :; do
	sleep 1 &
	wait $!
done
