#!/usr/bin/env bash
# Runs every pinvm test and ends with "N passed, N failed":
#   1. unit and server tests (ctest), native build
#   2. the same under ASan+UBSan
#   3. openapi.yaml through a real OpenAPI linter (Redocly CLI, from npm)
#   4. the lab: real arm64 KVM under each Debian kernel (5.10, 6.1, 6.12, latest)
# Installs what it needs (Debian packages, one npm package) when missing.
# PINVM_TEST_KERNELS="6.12" narrows the lab kernels (default: all four).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
KERNELS=${PINVM_TEST_KERNELS:-"5.10 6.1 6.12 latest"}
LOGDIR=$ROOT/build/test-logs
DEPS=$ROOT/tests/.deps
REDOCLY_VERSION=2.77.0
PASSED=0
FAILED=0
LAB_PID=

say() { printf '== %s\n' "$*"; }

# Adds the counts of one step: from its own "N passed, N failed" line, or
# from ctest's summary, or 1/0 by exit status.
tally() {
	local name=$1 rc=$2 log=$3 p f line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*, }; f=${f%% failed}
	elif line=$(grep -E 'tests? passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1); then
		f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
		p=$(( $(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line") - f ))
	else
		p=0 f=0
	fi
	# A failing step that counted no failure still fails.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	say "$name: $p passed, $f failed (log: ${log#"$ROOT"/})"
}

install_deps() {
	local need=() p
	for p in build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev \
		libcurl4-openssl-dev libcmocka-dev libsqlite3-dev curl nodejs npm; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	# nodesource's nodejs ships npm itself
	if command -v npm >/dev/null; then
		need=("${need[@]/npm}")
	fi
	if command -v node >/dev/null; then
		need=("${need[@]/nodejs}")
	fi
	read -r -a need <<<"${need[*]}"
	if [ ${#need[@]} -gt 0 ]; then
		say "installing ${need[*]}"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
}

build() {
	local dir=$1; shift
	cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
		cmake --build "$dir" -j"$(nproc)"
}

run_ctest() {
	local name=$1 dir=$2 log=$LOGDIR/ctest-$(basename "$2").log
	(cd "$dir" && ctest --output-on-failure -j2) >"$log" 2>&1
	tally "$name" $? "$log"
}

lint_openapi() {
	local log=$LOGDIR/openapi-lint.log
	if [ ! -x "$DEPS/node_modules/.bin/redocly" ]; then
		npm install --silent --no-audit --no-fund --prefix "$DEPS" \
			"@redocly/cli@$REDOCLY_VERSION" >"$LOGDIR/npm.log" 2>&1
	fi
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		"$DEPS/node_modules/.bin/redocly" lint --format=stylish "$ROOT/openapi.yaml" >"$log" 2>&1
	tally "openapi lint" $? "$log"
}

lab_stop() {
	if [ -n "$LAB_PID" ] && kill -0 "$LAB_PID" 2>/dev/null; then
		kill -TERM "$LAB_PID"
		wait "$LAB_PID" 2>/dev/null
	fi
	LAB_PID=
}
trap lab_stop EXIT

# Boots the lab on one kernel and waits for its ready line.
lab_start() {
	local kernel=$1 port=$2 log=$3 i
	"$ROOT/deploy/lab.sh" --kernel "$kernel" --port "$port" </dev/null >"$log" 2>&1 &
	LAB_PID=$!
	for i in $(seq 1 600); do
		grep -q '^pinvm lab ready:' "$log" && return 0
		kill -0 "$LAB_PID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

lab_tests() {
	local kernel=$1 port=$2 log=$LOGDIR/lab-$1.log tlog=$LOGDIR/lab-$1-tests.log
	local url=http://127.0.0.1:$port
	say "lab $kernel: booting"
	if ! lab_start "$kernel" "$port" "$log"; then
		echo "lab $kernel did not come up; its log:" >"$tlog"
		tail -n 40 "$log" >>"$tlog"
		lab_stop
		tally "lab $kernel" 1 "$tlog"
		return
	fi
	"$ROOT/build/bin/test_lab_host" "$url" "$ROOT/tests/fixtures/lab-$kernel.json" >"$tlog" 2>&1
	local rc=$?
	lab_stop
	tally "lab $kernel" $rc "$tlog"
}

main() {
	install_deps
	mkdir -p "$LOGDIR"
	say "native build"
	if build "$ROOT/build" >"$LOGDIR/build.log" 2>&1; then
		run_ctest "unit+server (native)" "$ROOT/build"
	else
		tally "native build" 1 "$LOGDIR/build.log"
	fi
	say "sanitizer build (ASan+UBSan)"
	if build "$ROOT/build-asan" -DPINVM_SANITIZE=ON >"$LOGDIR/build-asan.log" 2>&1; then
		run_ctest "unit+server (asan+ubsan)" "$ROOT/build-asan"
	else
		tally "sanitizer build" 1 "$LOGDIR/build-asan.log"
	fi
	say "openapi lint"
	lint_openapi

	say "lab: preparing kernels $KERNELS"
	if ! "$ROOT/deploy/lab.sh" --prepare --kernel all </dev/null >"$LOGDIR/lab-prepare.log" 2>&1; then
		tally "lab prepare" 1 "$LOGDIR/lab-prepare.log"
	else
		local port=18180 k
		for k in $KERNELS; do
			lab_tests "$k" "$port"
			port=$((port + 1))
		done
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
