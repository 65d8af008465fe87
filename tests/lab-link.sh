#!/usr/bin/env bash
# Two labs on one emulated link (deploy/lab.sh --link, issue 11): lab A's
# pinvmd asks lab B's over the link (POST /v1/baselines and
# /v1/compatibility with B by URL, compared with B's set inline), then B is
# stopped and A must name it unreachable (tests/http/test_lab_link.c).
# Between the two, live migration: the probe guest moved A -> B -> A under
# the baseline of both, and an unpinned one refused naming PSCI_VERSION
# (test_lab_link migrate). Each lab's control port is its API port + 100.
#
#   tests/lab-link.sh PORT_A PORT_B LINK_PORT [KERNEL_A [KERNEL_B]]
#
# PORT_A, PORT_B: the labs' API ports on 127.0.0.1; LINK_PORT: the link's
# loopback port (all three free). Kernels default to 6.12 and latest, a pair
# whose vCPU state moves; 6.12 and 5.10 are run as "accepting": refused both
# ways before the pause by default (the destination's restore dry run of
# the pre-run image names the rule), then moved 6.12 -> 5.10 -> 6.12 with
# every rule of api/accept_rule.h accepted (the probe guest, and a ticking
# 2-vCPU Linux guest whose clock must go on); any other pair of different
# kernels (docs/snapshot-design.md section 10) is run as "refused". Logs go
# to $PINVM_LINK_LOGDIR (default build/test-logs). Prints the programs'
# "ok"/"not ok" lines and "N passed, N failed"; exits non-zero on failure.
# Nothing leaves this machine: the link is a socket on 127.0.0.1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PINVM_BIN:-$ROOT/build/bin}
LOGDIR=${PINVM_LINK_LOGDIR:-$ROOT/build/test-logs}
PORT_A=${1:?usage: tests/lab-link.sh PORT_A PORT_B LINK_PORT [KERNEL_A [KERNEL_B]]}
PORT_B=${2:?PORT_B}
LINK=${3:?LINK_PORT}
KERNEL_A=${4:-6.12}
KERNEL_B=${5:-latest}
PID_A= PID_B= LAB_PID= LAB_ADDR=

stop_lab() {
	local pid=$1
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null
	fi
}
trap 'stop_lab "$PID_B"; stop_lab "$PID_A"' EXIT

# Starts a lab on the link: LAB_PID, and LAB_ADDR once it is up there.
start_lab() {
	local kernel=$1 port=$2 log=$3 i
	"$ROOT/deploy/lab.sh" --kernel "$kernel" --port "$port" --link "$LINK" \
		--control-port $((port + 100)) \
		</dev/null >"$log" 2>&1 &
	LAB_PID=$!
	for i in $(seq 1 1200); do
		if grep -q '^pinvm lab link: ' "$log"; then
			LAB_ADDR=$(sed -n 's/^pinvm lab link: //p' "$log" | head -n1)
			return 0
		fi
		kill -0 "$LAB_PID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

mkdir -p "$LOGDIR"
t0=$SECONDS
# One after the other: the first lab listens on the link port, the second
# connects to it.
start_lab "$KERNEL_A" "$PORT_A" "$LOGDIR/lab-link-a.log"
ok=$?
PID_A=$LAB_PID ADDR_A=$LAB_ADDR
if [ $ok -ne 0 ]; then
	echo "not ok - lab A ($KERNEL_A) came up on the link; see $LOGDIR/lab-link-a.log"
	tail -n 20 "$LOGDIR/lab-link-a.log"
	echo "0 passed, 1 failed"
	exit 1
fi
start_lab "$KERNEL_B" "$PORT_B" "$LOGDIR/lab-link-b.log"
ok=$?
PID_B=$LAB_PID ADDR_B=$LAB_ADDR
if [ $ok -ne 0 ]; then
	echo "not ok - lab B ($KERNEL_B) came up on the link; see $LOGDIR/lab-link-b.log"
	tail -n 20 "$LOGDIR/lab-link-b.log"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "# lab A $KERNEL_A at $ADDR_A, lab B $KERNEL_B at $ADDR_B, both up after $((SECONDS - t0)) s"
# Whether a guest's vCPU state moves between the two kernels (measured:
# docs/snapshot-design.md section 10).
case "$KERNEL_A:$KERNEL_B" in
"$KERNEL_B:$KERNEL_A" | 6.12:latest | latest:6.12) MOVES=moves ;;
6.12:5.10 | 5.10:6.12) MOVES=accepting ;;
*) MOVES=refused ;;
esac
echo "# migration between $KERNEL_A and $KERNEL_B: expected to be $MOVES"
rc=0
"$BIN/test_lab_link" pair "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B" \
	"http://$ADDR_B:8080" || rc=1
"$BIN/test_lab_link" migrate "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B" \
	"http://$ADDR_A:8080" "http://$ADDR_B:8080" \
	"http://127.0.0.1:$((PORT_A + 100))" "http://127.0.0.1:$((PORT_B + 100))" "$MOVES" || rc=1
# Each destination's dry run of a pre-run image, as its pinvmd logged it.
grep -ho 'migration check: [^"]*' "$LOGDIR/lab-link-a.log" "$LOGDIR/lab-link-b.log" |
	sed 's/^/# /' || true
stop_lab "$PID_B"
PID_B=
"$BIN/test_lab_link" down "http://127.0.0.1:$PORT_A" "http://$ADDR_B:8080" || rc=1
echo "# the linked labs took $((SECONDS - t0)) s"
exit $rc
