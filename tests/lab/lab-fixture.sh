#!/usr/bin/env bash
# The lab tests' fixture (tests/lab/CMakeLists.txt: lab_boot sets it up,
# lab_stop cleans it up), what tests/run.sh's lab_start and lab_stop were:
#
#   lab-fixture.sh boot   deploy/lab.sh on PINVM_LAB_KERNEL in the
#                         background (the API and control ports of
#                         PINVM_LAB_URL and PINVM_LAB_CONTROL, then
#                         PINVM_LAB_ARGS), its output in PINVM_LAB_LOG, its
#                         pid in PINVM_LAB_PIDFILE; passes once the log
#                         says "pinvm lab ready:", fails (and stops it) if
#                         it ends first or is not ready after 600 looks
#                         half a second apart
#   lab-fixture.sh stop   SIGTERM to that lab.sh, which stops its QEMU, and
#                         waits until it is gone; nothing to stop passes
#
# The variables: tests/lab/lab-env.sh. The lab outlives the boot test, as
# ctest's fixtures mean it to: ctest never sees its output (its log is
# its stdout), and its pid is only in the pid file.
set -uo pipefail
# shellcheck source=tests/lab/lab-env.sh
source "$(dirname "$0")/lab-env.sh"

# 600 as in tests/run.sh; tests/lab/fixture-check.sh makes it short.
READY_TRIES=${PINVM_LAB_READY_TRIES:-600}

# Whether PID is a lab this fixture started and still running: pids are
# reused, and a lab.sh nobody waits for may linger as a zombie until init
# reaps it.
lab_alive() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" != Z ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "${LAB_SH##*/}"
}

boot() {
	local port=${LAB_URL##*:} control=${LAB_CONTROL##*:} args pid i t0=$SECONDS
	read -r -a args <<<"${PINVM_LAB_ARGS:-}"
	mkdir -p "$(dirname "$LAB_LOG")" "$(dirname "$LAB_PIDFILE")"
	"$LAB_SH" --kernel "$LAB_KERNEL" --port "$port" --control-port "$control" \
		"${args[@]}" </dev/null >"$LAB_LOG" 2>&1 &
	pid=$!
	echo "$pid" >"$LAB_PIDFILE"
	for ((i = 0; i < READY_TRIES; i++)); do
		if grep -q '^pinvm lab ready:' "$LAB_LOG"; then
			printf '# took %d s: %s %s\n' $((SECONDS - t0)) "${LAB_SH##*/}" "$LAB_KERNEL"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	echo "lab $LAB_KERNEL did not come up; its log:"
	tail -n 40 "$LAB_LOG"
	stop
	return 1
}

# tests/run.sh's lab_stop waited for its child; this lab.sh is no child
# of ours, so its end is watched for (bounded: SIGKILL after 120 s, which
# its QEMU does not outlive: --pdeathsig, deploy/lab/boot.sh).
stop() {
	local pid i
	[ -s "$LAB_PIDFILE" ] || return 0
	pid=$(cat "$LAB_PIDFILE")
	if lab_alive "$pid"; then
		kill -TERM "$pid"
		for ((i = 0; i < 1200; i++)); do
			lab_alive "$pid" || break
			sleep 0.1
		done
		if lab_alive "$pid"; then
			echo "not ok - the lab (pid $pid) did not stop within 120 s of SIGTERM: SIGKILL"
			kill -KILL "$pid"
			rm -f "$LAB_PIDFILE"
			return 1
		fi
	fi
	rm -f "$LAB_PIDFILE"
}

case ${1:-} in
boot)
	lab_wanted
	lab_logged boot
	;;
stop)
	# Skipped like the rest only when there is no lab to stop either.
	[ -s "$LAB_PIDFILE" ] || lab_wanted
	lab_logged stop
	;;
*)
	echo "usage: $0 boot|stop" >&2
	exit 2
	;;
esac
