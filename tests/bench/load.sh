#!/usr/bin/env bash
# tests/bench/load.sh [PINVMD_PATH] [SECONDS] [ROUNDS]: pinvmd under HTTP
# load, next to nginx serving the very same bytes.
#
# Starts PINVMD_PATH (default build/bin/pinvmd, built when missing; the
# native build serves the API without KVM) on 127.0.0.1:0 (the port it took
# read from its --ready-file) with a temp state dir, creates the profile
# "bench", then runs wrk (2 threads, 32 connections, SECONDS each, default
# 5) against
#   GET  /v1/profiles/bench
#   POST /v1/compatibility  {"profile":"bench","host":<lab-6.12's registers>}
# and the same two against nginx on another free 127.0.0.1 port, serving
# pinvmd's answers saved to files (tests/bench/nginx.conf.in says how the
# POST is served): ROUNDS rounds (default 3), each pinvmd then nginx on
# one route, so that both share whatever else the machine does (one 10 s
# run of each gave ratios of 0.70 to 0.93 for the same binary on an idle
# machine). Prints a table of medians over the rounds: requests/s, p50 and
# p99 latency, the median of the rounds' pinvmd/nginx ratios (requests/s,
# and p99), non-2xx answers and socket errors (summed).
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
# Cleans up every process and file it made on exit; ~4 x ROUNDS x SECONDS + 5 s.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/bench
PINVMD=${1:-$ROOT/build/bin/pinvmd}
DURATION=${2:-5}
ROUNDS=${3:-3}
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
case $ROUNDS in '' | *[!0-9]* | 0) usage ;; esac
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

echo "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per run, $ROUNDS rounds, 127.0.0.1 only;" \
	"$(nproc) CPUs shared by wrk, pinvmd and nginx ($(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'));" \
	"load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bodies: GET answer $(wc -c <"$WWW/v1/profiles/bench") B;" \
	"POST request $(wc -c <"$TMP/compat-request.json") B, answer $(wc -c <"$WWW/v1/compatibility") B"

# One run's result: checked (all 2xx, some answers), and appended as
# "who|route|rps|p50_us|p99_us|non2xx|sock_errors" to $TMP/runs.
record_run() {
	local who=$1 route=$2 r=$3 answers bad errs
	answers=$(field answers "$r")
	bad=$(field non2xx "$r")
	errs=$(field sock_errors "$r")
	if [ -z "$r" ]; then
		fail "$who $route: wrk gave no result" "$(tail -n 5 "$TMP/wrk.out")"
		return
	elif [ "$bad" = 0 ] && [ "${answers:-0}" -gt 0 ]; then
		ok "$who $route: $answers answers, all 2xx ($errs socket errors)"
	else
		fail "$who $route: $bad of $answers answers not 2xx"
	fi
	printf '%s|%s|%s|%s|%s|%s|%s\n' "$who" "$route" "$(field rps "$r")" "$(field p50_us "$r")" \
		"$(field p99_us "$r")" "$bad" "$errs" >>"$TMP/runs"
}

: >"$TMP/runs"
for ((round = 1; round <= ROUNDS; round++)); do
	for route in "GET /v1/profiles/bench" "POST /v1/compatibility"; do
		method=${route%% *} path=${route#* } body=
		[ "$method" = POST ] && body=$TMP/compat-request.json
		echo "round $round, $route: pinvmd, then nginx"
		run_wrk "$API$path" "$method" "$body"
		record_run pinvmd "$route" "$RESULT"
		run_wrk "$STATIC$path" "$method" "$body"
		record_run nginx "$route" "$RESULT"
	done
done

echo
printf '%-24s %12s %15s %12s %15s %6s %9s %12s %12s\n' route "pinvmd req/s" "p50/p99 ms" \
	"nginx req/s" "p50/p99 ms" ratio "p99 x" "non-2xx p/n" "sock err p/n"
# Rounds pair up in order: the k-th pinvmd run of a route with its k-th
# nginx run.
awk -F'|' '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		k = $1 SUBSEP $2; n[k]++
		rps[k, n[k]] = $3; p50[k, n[k]] = $4; p99[k, n[k]] = $5
		bad[k] += $6; err[k] += $7
		if (!($2 in seen)) { seen[$2] = 1; order[++routes] = $2 }
	}
	END {
		for (i = 1; i <= routes; i++) {
			r = order[i]; a = "pinvmd" SUBSEP r; b = "nginx" SUBSEP r
			m = n[a] < n[b] ? n[a] : n[b]
			if (!m) continue
			for (j = 1; j <= m; j++) {
				ra[j] = rps[a, j]; rb[j] = rps[b, j]
				ma[j] = p50[a, j]; mb[j] = p50[b, j]
				pa[j] = p99[a, j]; pb[j] = p99[b, j]
				q[j] = rps[b, j] > 0 ? rps[a, j] / rps[b, j] : 0
				x[j] = p99[b, j] > 0 ? p99[a, j] / p99[b, j] : 0
			}
			printf "%-24s %12.0f %15s %12.0f %15s %6.2f %9.2f %12s %12s\n", r,
				median(ra, m), sprintf("%.2f/%.2f", median(ma, m) / 1000, median(pa, m) / 1000),
				median(rb, m), sprintf("%.2f/%.2f", median(mb, m) / 1000, median(pb, m) / 1000),
				median(q, m), median(x, m), bad[a] "/" bad[b], err[a] "/" err[b]
		}
	}' "$TMP/runs"
echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
