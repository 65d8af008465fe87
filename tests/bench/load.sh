#!/usr/bin/env bash
# tests/bench/load.sh [PINVMD_PATH] [SECONDS]: pinvmd under HTTP load, next
# to nginx serving the very same bytes.
#
# Starts PINVMD_PATH (default build/bin/pinvmd, built when missing; the
# native build serves the API without KVM) on 127.0.0.1:0 (the port it took
# read from its --ready-file) with a temp state dir, creates the profile
# "bench", then runs wrk (2 threads, 32 connections, SECONDS each, default
# 10) against
#   GET  /v1/profiles/bench
#   POST /v1/compatibility  {"profile":"bench","host":<lab-6.12's registers>}
# and the same two against nginx on another free 127.0.0.1 port, serving
# pinvmd's answers saved to files (tests/bench/nginx.conf.in says how the
# POST is served). Prints a table: requests/s, p99 latency, the
# pinvmd/nginx ratio, non-2xx answers and socket errors.
#
# Like for like: both log one line per request to a file (pinvmd's stderr,
# nginx's access log), both keep connections alive without a request cap;
# nginx runs its default worker count (one per CPU), pinvmd its 4 threads.
# The figures are printed, never judged: wrk, pinvmd and nginx share this
# machine's CPUs, so they say "how far from a static server", not a
# capacity. What is checked, and ends in "N passed, N failed" (exit 1 if any
# failed): the setup requests succeed, nginx serves byte-identical bodies,
# and every answer of every run is 2xx, with at least one answer per run.
# Installs wrk, nginx-light (or nginx), curl, jq and python3 when missing.
# Cleans up every process and file it made on exit; ~4 x SECONDS + 5 s.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/bench
PINVMD=${1:-$ROOT/build/bin/pinvmd}
DURATION=${2:-10}
THREADS=2
CONNECTIONS=32
FIXTURE=$ROOT/tests/fixtures/lab-6.12.json
PROFILE='{"name":"bench","unknown_registers":"disable","registers":{"PSCI_VERSION":"1.0","STD_BMAP":"0x0","STD_HYP_BMAP":"0x0","VENDOR_HYP_BMAP":"0x0","SMCCC_ARCH_WORKAROUND_1":"host","SMCCC_ARCH_WORKAROUND_2":"host","SMCCC_ARCH_WORKAROUND_3":"host"}}'
PASSED=0
FAILED=0
TMP=
PINVMD_PID=
NGINX_PID=
WRK_PID=
RESULT=
POLICY_RC_D=

usage() {
	sed -n '2,3p' "$0" | sed 's/^# //' >&2
	exit 2
}
case $DURATION in '' | *[!0-9]* | 0) usage ;; esac
case ${1:-} in -h | --help) usage ;; esac

cleanup() {
	local pid
	# nginx: TERM is its fast shutdown (master and workers).
	for pid in "$WRK_PID" "$NGINX_PID" "$PINVMD_PID"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	[ -n "$POLICY_RC_D" ] && rm -f "$POLICY_RC_D"
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
die() {
	fail "$@"
	echo "$PASSED passed, $FAILED failed"
	exit 1
}

apt_install() {
	apt-get update -qq </dev/null >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"$@" </dev/null >/dev/null
}

install_deps() {
	local need=()
	command -v wrk >/dev/null || need+=(wrk)
	command -v curl >/dev/null || need+=(curl)
	command -v jq >/dev/null || need+=(jq)
	command -v python3 >/dev/null || need+=(python3-minimal)
	if [ ${#need[@]} -gt 0 ]; then
		echo "installing ${need[*]}"
		apt_install "${need[@]}" || return 1
	fi
	[ -x /usr/sbin/nginx ] && return 0
	# The package would start the system's nginx on port 80 where nothing
	# stops it (no policy-rc.d on a machine without an init system): deny
	# service starts for the length of the install, the Debian way.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		POLICY_RC_D=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D" && chmod 755 "$POLICY_RC_D"
	fi
	echo "installing nginx-light"
	apt_install nginx-light || apt_install nginx
	if [ -n "$POLICY_RC_D" ]; then
		rm -f "$POLICY_RC_D"
		POLICY_RC_D=
	fi
	[ -x /usr/sbin/nginx ]
}

build_pinvmd() {
	[ -x "$PINVMD" ] && return 0
	[ "$PINVMD" = "$ROOT/build/bin/pinvmd" ] || return 1
	echo "building pinvmd"
	local try
	for try in 1 2; do
		cmake -S "$ROOT" -B "$ROOT/build" >/dev/null &&
			cmake --build "$ROOT/build" -j2 --target pinvmd >/dev/null &&
			return 0
		[ "$try" -eq 1 ] && sleep 10
	done
	return 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 5 s for URL to answer 200.
wait_200() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# One wrk run, in this shell (so cleanup can stop it); its RESULT line's
# fields (key=value ...) go to $RESULT.
run_wrk() {
	local url=$1 method=$2 body=${3:-} out=$TMP/wrk.out
	local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$HERE/wrk-count.lua"
		"$url" -- "$method")
	[ -n "$body" ] && args+=("$body")
	wrk "${args[@]}" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID"
	WRK_PID=
	cat "$out" >>"$TMP/wrk.log"
	RESULT=$(sed -n 's/^RESULT //p' "$out")
}

field() { # FIELD "k=v k=v ...": the value of FIELD
	tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

install_deps || die "install wrk, nginx, curl, jq, python3"
build_pinvmd || die "no pinvmd at $PINVMD (and cannot build it)"
[ -r "$FIXTURE" ] || die "no fixture $FIXTURE"

TMP=$(mktemp -d /tmp/pinvm-bench.XXXXXX)
WWW=$TMP/www
mkdir -p "$WWW/v1/profiles" "$TMP/nginx"

# pinvmd, on a port of its own choosing, named in its ready file
"$PINVMD" --listen tcp:127.0.0.1:0 --ready-file "$TMP/ready" --state-dir "$TMP/state" \
	>/dev/null 2>"$TMP/pinvmd.log" &
PINVMD_PID=$!
for ((i = 0; i < 300; i++)); do
	[ -s "$TMP/ready" ] || ! kill -0 "$PINVMD_PID" 2>/dev/null && break
	sleep 0.1
done
P1=$(sed -n '1s/^tcp:127\.0\.0\.1://p' "$TMP/ready" 2>/dev/null)
API=http://127.0.0.1:$P1
[ -n "$P1" ] && wait_200 "$API/v1/host" "$PINVMD_PID" ||
	die "pinvmd serves on 127.0.0.1:0 (its ready file: ${P1:-none})" "$(tail -n 5 "$TMP/pinvmd.log")"

status=$(curl -s -o "$TMP/created.json" -w '%{http_code}' -XPOST \
	-H 'Content-Type: application/json' -d "$PROFILE" "$API/v1/profiles")
case $status in
2??) ok "POST /v1/profiles creates \"bench\" ($status)" ;;
*) die "POST /v1/profiles creates \"bench\" ($status)" "$(cat "$TMP/created.json")" ;;
esac
jq -c '{profile: "bench", host: .firmware_registers}' "$FIXTURE" >"$TMP/compat-request.json"
s1=$(curl -s -o "$WWW/v1/profiles/bench" -w '%{http_code}' "$API/v1/profiles/bench")
s2=$(curl -s -o "$WWW/v1/compatibility" -w '%{http_code}' -XPOST \
	-H 'Content-Type: application/json' --data-binary @"$TMP/compat-request.json" \
	"$API/v1/compatibility")
if [ "$s1" = 200 ] && [ "$s2" = 200 ] && jq -e '.compatible == true' "$WWW/v1/compatibility" >/dev/null; then
	ok "GET /v1/profiles/bench and POST /v1/compatibility answer 200 (compatible: true)"
else
	die "GET /v1/profiles/bench ($s1) and POST /v1/compatibility ($s2) answer 200, compatible" \
		"$(head -c 400 "$WWW/v1/compatibility")"
fi

# nginx, from the template
P2=$(free_port)
user=''
if [ "$(id -u)" = 0 ]; then
	user='user nobody nogroup;'
	chmod 755 "$TMP" # the workers (nobody) read $WWW
fi
sed -e "s#@PREFIX@#$TMP/nginx#g" -e "s#@PORT@#$P2#g" -e "s#@WWW@#$WWW#g" \
	-e "s#@USER@#$user#g" "$HERE/nginx.conf.in" >"$TMP/nginx/nginx.conf"
/usr/sbin/nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
	2>"$TMP/nginx/stderr.log" &
NGINX_PID=$!
STATIC=http://127.0.0.1:$P2
wait_200 "$STATIC/v1/profiles/bench" "$NGINX_PID" ||
	die "nginx serves on 127.0.0.1:$P2" "$(tail -n 5 "$TMP/nginx/error.log" "$TMP/nginx/stderr.log")"
curl -s -o "$TMP/nginx-get" "$STATIC/v1/profiles/bench"
s2=$(curl -s -o "$TMP/nginx-post" -w '%{http_code}' -XPOST \
	-H 'Content-Type: application/json' --data-binary @"$TMP/compat-request.json" \
	"$STATIC/v1/compatibility")
if [ "$s2" = 200 ] && cmp -s "$TMP/nginx-get" "$WWW/v1/profiles/bench" &&
	cmp -s "$TMP/nginx-post" "$WWW/v1/compatibility"; then
	ok "nginx answers both routes 200 with pinvmd's bytes"
else
	die "nginx answers both routes 200 with pinvmd's bytes (POST: $s2)"
fi

echo "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per run, 127.0.0.1 only;" \
	"$(nproc) CPUs shared by wrk, pinvmd and nginx ($(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'));" \
	"load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bodies: GET answer $(wc -c <"$WWW/v1/profiles/bench") B;" \
	"POST request $(wc -c <"$TMP/compat-request.json") B, answer $(wc -c <"$WWW/v1/compatibility") B"

ROWS=()
for route in "GET /v1/profiles/bench" "POST /v1/compatibility"; do
	method=${route%% *} path=${route#* } body=
	[ "$method" = POST ] && body=$TMP/compat-request.json
	echo "running $route: pinvmd, then nginx"
	run_wrk "$API$path" "$method" "$body"
	r1=$RESULT
	run_wrk "$STATIC$path" "$method" "$body"
	r2=$RESULT
	for who in pinvmd nginx; do
		r=$r1
		[ "$who" = nginx ] && r=$r2
		answers=$(field answers "$r")
		bad=$(field non2xx "$r")
		errs=$(field sock_errors "$r")
		if [ -z "$r" ]; then
			fail "$who $route: wrk gave no result" "$(tail -n 5 "$TMP/wrk.out")"
		elif [ "$bad" = 0 ] && [ "${answers:-0}" -gt 0 ]; then
			ok "$who $route: $answers answers, all 2xx ($errs socket errors)"
		else
			fail "$who $route: $bad of $answers answers not 2xx"
		fi
	done
	ROWS+=("$route|$r1|$r2")
done

echo
printf '%-24s %12s %15s %12s %15s %6s %12s %12s\n' route "pinvmd req/s" "p50/p99 ms" \
	"nginx req/s" "p50/p99 ms" ratio "non-2xx p/n" "sock err p/n"
for row in "${ROWS[@]}"; do
	IFS='|' read -r route r1 r2 <<<"$row"
	if [ -z "$r1" ] || [ -z "$r2" ]; then continue; fi
	awk -v route="$route" \
		-v a="$(field rps "$r1")" -v am="$(field p50_us "$r1")" -v ap="$(field p99_us "$r1")" \
		-v b="$(field rps "$r2")" -v bm="$(field p50_us "$r2")" -v bp="$(field p99_us "$r2")" \
		-v bad="$(field non2xx "$r1")/$(field non2xx "$r2")" \
		-v err="$(field sock_errors "$r1")/$(field sock_errors "$r2")" \
		'BEGIN { printf "%-24s %12.0f %15s %12.0f %15s %6.2f %12s %12s\n",
			route, a, sprintf("%.2f/%.2f", am / 1000, ap / 1000),
			b, sprintf("%.2f/%.2f", bm / 1000, bp / 1000), (b > 0 ? a / b : 0), bad, err }'
done
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
