#!/usr/bin/env bash
# After the ASan lab's tests: stops pinvmd with SIGTERM, so LeakSanitizer
# runs at its exit (as in every pinvm-vmm that exited by itself and was
# given the time), and prints every sanitizer report the lab's /tmp/asan/
# holds (deploy/lab/init); passes if there is none. A lab that powered off
# already (pinvmd died) printed them on its console: they are taken from
# its log then (once tests/run.sh's lab_asan_reports).
#
#   asan-reports.sh CONTROL CONSOLE_LOG
set -uo pipefail

control=${1:?usage: asan-reports.sh CONTROL CONSOLE_LOG}
console=${2:?CONSOLE_LOG}
out=$(curl -s --max-time 240 -X POST --data-binary @- "$control/cgi-bin/run" <<'EOF'
p=$(pidof pinvmd)
if [ -z "$p" ]; then
	echo "FAIL: pinvmd was not running any more"
else
	grep -q libasan "/proc/$p/maps" || echo "FAIL: pinvmd (pid $p) has no libasan mapped"
	kill -TERM "$p"
	i=0
	while [ -e "/proc/$p" ] && [ "$i" -lt 1200 ]; do usleep 100000; i=$((i + 1)); done
	if [ -e "/proc/$p" ]; then
		echo "FAIL: pinvmd (pid $p) did not stop within 120 s of SIGTERM"
	else
		echo "pinvmd stopped $((i / 10)) s after SIGTERM"
	fi
fi
# pinvmd leaves running VMs to the next pinvmd: stop their pinvm-vmm (as
# a stop request would), which then runs its own leak check.
live=
for v in $(pidof pinvm-vmm); do
	grep -q '^State:.*Z' "/proc/$v/status" 2>/dev/null || live="$live $v"
done
if [ -n "$live" ]; then
	echo "pinvm-vmm left running after pinvmd stopped:$live; SIGTERM"
	# shellcheck disable=SC2086 # one pid per word
	kill -TERM $live
fi
i=0
while [ -n "$(pidof pinvm-vmm)" ] && [ "$i" -lt 300 ]; do usleep 100000; i=$((i + 1)); done
[ -z "$(pidof pinvm-vmm)" ] || echo "FAIL: pinvm-vmm still running 30 s later: $(pidof pinvm-vmm)"
# What UBSan logged last is in its file once syslogd passed on a mark
# logged after it (deploy/lab/init's awk touches /tmp/syslog.mark).
rm -f /tmp/syslog.mark
logger pinvm-syslog-mark
i=0
while [ ! -e /tmp/syslog.mark ] && [ "$i" -lt 250 ]; do usleep 20000; i=$((i + 1)); done
[ -e /tmp/syslog.mark ] || echo "FAIL: syslogd passed on no mark within 5 s"
n=0
for f in /tmp/asan/*; do
	[ -s "$f" ] || continue
	n=$((n + 1))
	echo "== sanitizer report $f"
	cat "$f"
done
echo "sanitizer reports: $n"
touch /tmp/asan.collected
EOF
)
if ! grep -q '^sanitizer reports: ' <<<"$out"; then
	echo "the lab's control port did not answer; its console's sanitizer reports:"
	out=$(sed -n '/^lab-init: sanitizer report /,$p' "$console")
	printf '%s\n' "$out"
	[ -n "$out" ] || echo "(none printed)"
	echo "not ok - sanitizer reports collected from the lab"
	echo "0 passed, 1 failed"
	exit 1
fi
printf '%s\n' "$out"
if grep -q '^FAIL: ' <<<"$out" || ! grep -q '^sanitizer reports: 0$' <<<"$out"; then
	echo "not ok - no ASan, LeakSanitizer or UBSan report from pinvmd and pinvm-vmm"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok - no ASan, LeakSanitizer or UBSan report from pinvmd and pinvm-vmm"
echo "1 passed, 0 failed"
