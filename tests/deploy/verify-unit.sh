#!/usr/bin/env bash
# tests/deploy/verify-unit.sh [UNIT]: checks deploy/pinvmd.service (or UNIT)
# without a running systemd (CI is a container where systemd is not PID 1;
# systemd-analyze works offline). Ends with "N passed, N failed"; exits 1 if
# anything failed.
#
#   1. systemd-analyze verify says nothing about the unit. It exits 0 even
#      for an unknown key or a bad value (it prints "..., ignoring"), so any
#      line naming the unit fails the check. A copy with a typo'd key must be
#      flagged the same way, or the check has no teeth.
#      verify also insists that ExecStart's binary exists, and
#      /usr/local/bin/pinvmd is not installed here, so it reads a copy whose
#      ExecStart names the built build/bin/pinvmd, every other line the same.
#   2. deploy/pinvmd.sysusers.conf, applied to an empty root, makes the User=,
#      Group= and SupplementaryGroups= the unit runs with.
#   3. the settings the design rests on (Type=notify, KillMode=process, the
#      device ACL, no capabilities, ...) are there, and ExecStart's paths lie
#      in the RuntimeDirectory=/StateDirectory= systemd makes writable.
#   4. systemd-analyze security --offline=yes: prints the exposure score;
#      fails above MAX_EXPOSURE (hardening lost by accident).
#   5. ExecStart's own command line, paths moved under a temp dir, run with
#      $NOTIFY_SOCKET as systemd would set it: pinvmd serves on the socket,
#      sends READY=1 from its main pid once the socket answers, and on
#      SIGTERM sends STOPPING=1, exits 0 and removes its socket.
# Installs systemd (for systemd-analyze), python3, curl and jq when missing.
# PINVMD=path overrides the pinvmd binary (default build/bin/pinvmd, built
# when missing).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$(realpath "${1:-$ROOT/deploy/pinvmd.service}")
SYSUSERS=$ROOT/deploy/pinvmd.sysusers.conf
PINVMD=${PINVMD:-$ROOT/build/bin/pinvmd}
MAX_EXPOSURE=2.0
PASSED=0
FAILED=0
TMP=
DAEMON_PID=
LISTENER_PID=

cleanup() {
	local pid
	for pid in "$DAEMON_PID" "$LISTENER_PID"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

ok() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() {
	FAILED=$((FAILED + 1))
	printf 'FAIL %s\n' "$1"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/     /'
}

install_deps() {
	local need=()
	command -v systemd-analyze >/dev/null || need+=(systemd)
	command -v python3 >/dev/null || need+=(python3-minimal)
	command -v curl >/dev/null || need+=(curl)
	command -v jq >/dev/null || need+=(jq)
	[ ${#need[@]} -eq 0 ] && return 0
	echo "installing ${need[*]}"
	apt-get update -qq </dev/null >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${need[@]}" </dev/null >/dev/null
}

build_pinvmd() {
	[ -x "$PINVMD" ] && return 0
	echo "building pinvmd"
	local try
	for try in 1 2; do
		cmake -S "$ROOT" -B "$ROOT/build" >/dev/null &&
			cmake --build "$ROOT/build" -j2 --target pinvmd pinvm-vmm >/dev/null &&
			return 0
		[ "$try" -eq 1 ] && sleep 10
	done
	return 1
}

# The value of KEY in the unit's [SECTION] (the last one set, as systemd
# reads it; an empty assignment resets a list, so it is kept as "").
unit_get() {
	awk -v sect="[$2]" -v key="$3" '
		/^\[/ { in_s = ($0 == sect); next }
		in_s && index($0, key "=") == 1 { v = substr($0, length(key) + 2); found = 1 }
		END { if (found) print v; else exit 1 }' "$1"
}

# All values of a list KEY, space-joined, reset by an empty assignment.
unit_list() {
	awk -v sect="[$2]" -v key="$3" '
		/^\[/ { in_s = ($0 == sect); next }
		in_s && index($0, key "=") == 1 {
			v = substr($0, length(key) + 2)
			all = (v == "") ? "" : (all == "" ? v : all " " v)
		}
		END { print all }' "$1"
}

# 1. systemd-analyze verify on a copy in DIR whose ExecStart names $PINVMD.
# Prints what it said about the unit; returns 1 if it said anything.
verify_copy() {
	local src=$1 dir=$2 out
	mkdir -p "$dir"
	sed -E "s#^(ExecStart=[-@:+!]*)/usr/local/bin/pinvmd( |$)#\1$PINVMD\2#" \
		"$src" >"$dir/pinvmd.service"
	out=$(cd "$dir" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no \
		--generators=no "$dir/pinvmd.service" 2>&1)
	local rc=$?
	# Lines about other units (a broken unit elsewhere on the machine) are
	# shown but do not count.
	grep -v -F -e "$dir/pinvmd.service" -e 'pinvmd.service' <<<"$out" | sed '/^$/d; s/^/     (other) /'
	out=$(grep -F -e "$dir/pinvmd.service" -e 'pinvmd.service' <<<"$out")
	[ -n "$out" ] && printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}

check_verify() {
	local out
	if out=$(verify_copy "$UNIT" "$TMP/verify"); then
		ok "systemd-analyze verify: no complaint about $(basename "$UNIT")"
	else
		fail "systemd-analyze verify: $(basename "$UNIT")" "$out"
	fi
	# Only the ExecStart binary may differ between the copy and the unit.
	if [ "$(diff "$UNIT" "$TMP/verify/pinvmd.service" | grep -c '^[<>]')" -eq 2 ]; then
		ok "the verified copy differs from the unit in ExecStart's binary only"
	else
		fail "the verified copy differs from the unit in ExecStart's binary only" \
			"$(diff "$UNIT" "$TMP/verify/pinvmd.service")"
	fi
	sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$UNIT" >"$TMP/typo.service"
	if grep -q '^NoNewPrivilege=' "$TMP/typo.service" &&
		! out=$(verify_copy "$TMP/typo.service" "$TMP/verify-typo"); then
		ok "a copy with a typo'd key (NoNewPrivilege=) is caught: ${out//$'\n'/ }"
	else
		fail "a copy with a typo'd key (NoNewPrivilege=) is caught" "${out:-no NoNewPrivileges= line to break}"
	fi
}

check_sysusers() {
	local root=$TMP/sysroot user group sup g missing=()
	mkdir -p "$root/etc"
	if ! systemd-sysusers --root="$root" - <"$SYSUSERS" >"$TMP/sysusers.log" 2>&1; then
		fail "systemd-sysusers applies ${SYSUSERS#"$ROOT"/}" "$(cat "$TMP/sysusers.log")"
		return
	fi
	user=$(unit_get "$UNIT" Service User) || user=root
	group=$(unit_get "$UNIT" Service Group) || group=$user
	sup=$(unit_list "$UNIT" Service SupplementaryGroups)
	grep -q "^$user:" "$root/etc/passwd" || missing+=("user $user")
	for g in $group $sup; do
		grep -q "^$g:" "$root/etc/group" || missing+=("group $g")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "${SYSUSERS#"$ROOT"/} makes User=$user Group=$group SupplementaryGroups=$sup"
	else
		fail "${SYSUSERS#"$ROOT"/} makes what the unit runs as" "missing: ${missing[*]}"
	fi
}

# True if PATH is PREFIX/D for one of the space-separated DIRS.
one_of() {
	local d
	for d in $3; do
		[ "$1" = "$2/$d" ] && return 0
	done
	return 1
}

# KEY and the value the design needs. ExecStart's paths are checked below.
check_settings() {
	local want key val got bad=() state runtime listen sdir idir args i a
	for want in Type=notify KillMode=process Restart=on-failure \
		DevicePolicy=closed 'DeviceAllow=/dev/kvm rw' CapabilityBoundingSet= \
		AmbientCapabilities= NoNewPrivileges=yes ProtectSystem=strict \
		MemoryDenyWriteExecute=yes SystemCallArchitectures=native \
		'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' RestrictNamespaces=yes \
		LockPersonality=yes ProtectHome=yes PrivateTmp=yes \
		ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
		ProtectControlGroups=yes; do
		key=${want%%=*} val=${want#*=}
		got=$(unit_get "$UNIT" Service "$key") || got='(unset)'
		[ "$got" = "$val" ] || bad+=("$key=$got, wanted $key=$val")
	done
	# pinvm-vmm must not run as root either, nor the daemon in a dynamic uid.
	got=$(unit_get "$UNIT" Service User) || got=root
	[ "$got" != root ] && [ "$got" != 0 ] || bad+=("User=$got: runs as root")
	got=$(unit_get "$UNIT" Service DynamicUser) || got=no
	[ "$got" = no ] || bad+=("DynamicUser=$got: its uid goes while VMs may outlive the unit")
	if [ ${#bad[@]} -eq 0 ]; then
		ok "the unit has the settings the design needs (Type=notify, KillMode=process, /dev/kvm only, no capabilities, ...)"
	else
		fail "the unit has the settings the design needs" "${bad[@]}"
	fi

	# --listen's directory, --state-dir and --image-dir must be directories
	# systemd makes and keeps writable (ProtectSystem=strict makes everything
	# else read-only); pinvmd refuses an --image-dir that does not exist.
	bad=()
	read -r -a args <<<"$(unit_get "$UNIT" Service ExecStart)"
	state=$(unit_list "$UNIT" Service StateDirectory)
	runtime=$(unit_list "$UNIT" Service RuntimeDirectory)
	listen='' sdir='' idir=''
	for ((i = 1; i < ${#args[@]}; i++)); do
		case ${args[i]} in
		--listen) listen=${args[i + 1]#unix:} ;;
		--state-dir) sdir=${args[i + 1]} ;;
		--image-dir) idir=${args[i + 1]} ;;
		esac
	done
	one_of "${listen%/*}" /run "$runtime" ||
		bad+=("--listen ${listen:-(none)}: not in a RuntimeDirectory= ($runtime)")
	one_of "$sdir" /var/lib "$state" ||
		bad+=("--state-dir ${sdir:-(none)}: not a StateDirectory= ($state)")
	one_of "$idir" /var/lib "$state" ||
		bad+=("--image-dir ${idir:-(none)}: not a StateDirectory= ($state), so nothing makes it")
	# Every flag ExecStart passes must be one pinvmd knows.
	for a in "${args[@]:1}"; do
		case $a in
		--*) "$PINVMD" --help 2>&1 | grep -q -- "$a" || bad+=("$a is not in pinvmd --help") ;;
		esac
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "ExecStart's socket, state and image dirs are systemd-made and writable (RuntimeDirectory=$runtime, StateDirectory=$state)"
	else
		fail "ExecStart's paths and flags" "${bad[@]}"
	fi
}

check_security() {
	local out score
	if ! systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
		echo "skip systemd-analyze security --offline (systemd $(systemd-analyze --version | head -n 1)) has no --offline"
		return
	fi
	out=$(cd "$TMP/verify" && SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=yes \
		--no-pager pinvmd.service 2>&1)
	# The settings that cost exposure, then the score.
	grep -E '^✗' <<<"$out" | sed 's/^/     /'
	score=$(sed -nE 's/.*Overall exposure level for pinvmd\.service: ([0-9.]+).*/\1/p' <<<"$out")
	if [ -z "$score" ]; then
		fail "systemd-analyze security --offline=yes gives a score" "$out"
	elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
		ok "systemd-analyze security --offline=yes: exposure $score (0 best, 10 worst; at most $MAX_EXPOSURE)"
	else
		fail "systemd-analyze security --offline=yes: exposure $score above $MAX_EXPOSURE (the ✗ lines above cost it)"
	fi
}

# Receives sd_notify datagrams on $1 the way systemd does (SO_PASSCRED, so
# the sender's pid is known); each one goes to $2 as "PID LINE" lines. On
# READY=1 it connects to the API socket $3 at once and writes
# "PID api-on-ready 200" (or the error), for READY=1 must mean "serving".
notify_listener() {
	exec python3 - "$@" <<'EOF'
import http.client, os, socket, struct, sys

path, log, api = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
open(log + ".up", "w").close()

class UnixHTTP(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(api)

parent = os.getppid()
s.settimeout(0.5)
with open(log, "a", buffering=1) as out:
    while os.getppid() == parent:  # gone with the script, however it ends
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = -1
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        lines = msg.decode(errors="replace").split("\n")
        for line in lines:
            if line:
                out.write(f"{pid} {line}\n")
        if "READY=1" in lines:
            try:
                c = UnixHTTP("localhost")
                c.request("GET", "/v1/host")
                out.write(f"{pid} api-on-ready {c.getresponse().status}\n")
            except OSError as e:
                out.write(f"{pid} api-on-ready {e}\n")
EOF
}

# ExecStart with /run and /var/lib moved under $TMP/root; systemd's part
# (making RuntimeDirectory= and StateDirectory=) done by hand.
check_run() {
	local root=$TMP/root notify=$TMP/notify.sock log=$TMP/notify.log cmd args
	local sock d status i rc got mode
	cmd=$(unit_get "$UNIT" Service ExecStart | sed -E "s|(/run/\|/var/lib/)|$root&|g")
	read -r -a args <<<"$cmd"
	args[0]=$PINVMD
	for d in $(unit_list "$UNIT" Service RuntimeDirectory); do mkdir -p "$root/run/$d"; done
	for d in $(unit_list "$UNIT" Service StateDirectory); do mkdir -p "$root/var/lib/$d"; done
	sock=$(sed -nE 's/.*--listen unix:([^ ]+).*/\1/p' <<<"$cmd")

	# (exec in the function: $! is python's own pid, for cleanup)
	notify_listener "$notify" "$log" "$sock" 2>"$TMP/listener.err" &
	LISTENER_PID=$!
	for ((i = 0; i < 50; i++)); do [ -e "$log.up" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$notify "${args[@]}" >"$TMP/pinvmd.log" 2>&1 &
	DAEMON_PID=$!

	status=
	for ((i = 0; i < 100; i++)); do
		status=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/v1/host)
		[ "$status" = 200 ] && break
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$status" = 200 ]; then
		ok "ExecStart's command line serves GET /v1/host on ${sock#"$root"}"
	else
		fail "ExecStart's command line serves GET /v1/host on ${sock#"$root"}" \
			"${args[*]}" "$(cat "$TMP/pinvmd.log")"
	fi
	mode=$(stat -c %a "$sock" 2>/dev/null)
	if [ "$mode" = 660 ]; then
		ok "the API socket is mode 0660 (the pinvm group may use it)"
	else
		fail "the API socket is mode 0660" "mode ${mode:-missing}"
	fi

	for ((i = 0; i < 20; i++)); do grep -q " api-on-ready" "$log" 2>/dev/null && break; sleep 0.1; done
	got=$(grep -E ' (READY=1|api-on-ready)' "$log" 2>/dev/null)
	if grep -qx "$DAEMON_PID READY=1" <<<"$got" && grep -qx "$DAEMON_PID api-on-ready 200" <<<"$got"; then
		ok "READY=1 from pinvmd's main pid (NotifyAccess=main), the socket answering by then"
	else
		fail "READY=1 from pinvmd's main pid $DAEMON_PID, the socket answering by then (Type=notify needs it)" \
			"notifications: $(tr '\n' ';' <"$log" 2>/dev/null)"
	fi

	kill -TERM "$DAEMON_PID" 2>/dev/null
	rc=timeout
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID"
			rc=$?
			DAEMON_PID=
			break
		fi
		sleep 0.1
	done
	sleep 0.2 # the listener may still be writing the last datagram
	if [ "$rc" = 0 ] && [ ! -e "$sock" ]; then
		ok "SIGTERM: pinvmd exits 0 and removes its socket"
	else
		fail "SIGTERM: pinvmd exits 0 and removes its socket" "exit: $rc" \
			"socket: $([ -e "$sock" ] && echo left behind || echo removed)"
	fi
	if grep -q ' STOPPING=1$' "$log" 2>/dev/null; then
		ok "STOPPING=1 sent on SIGTERM"
	else
		fail "STOPPING=1 sent on SIGTERM" "notifications: $(tr '\n' ';' <"$log" 2>/dev/null)"
	fi
	if [ -s "$TMP/listener.err" ]; then
		echo "     notify listener said: $(cat "$TMP/listener.err")"
	fi
}

install_deps || { echo "cannot install systemd/python3/curl/jq"; echo "0 passed, 1 failed"; exit 1; }
if ! build_pinvmd; then
	echo "cannot build $PINVMD"
	echo "0 passed, 1 failed"
	exit 1
fi
TMP=$(mktemp -d /tmp/pinvm-unit.XXXXXX)
echo "unit: $UNIT"
systemd-analyze --version | head -n 1
check_verify
check_sysusers
check_settings
check_security
check_run
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
