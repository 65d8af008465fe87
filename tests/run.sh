#!/usr/bin/env bash
# Runs every pinvm test and ends with "N passed, N failed":
#   1. unit and server tests (ctest), native build
#   2. every CMake build type with gcc and clang, and one without the
#      test-only dependencies (compile only: tests/build-matrix.sh); the
#      unit and server tests again under ASan+UBSan
#   3. the Debian package (CPack) installed with dpkg -i into a clean Debian 12
#      root file system (mmdebstrap; cached in ~/.cache/pinvm/);
#      openapi.yaml through a real OpenAPI linter (Redocly CLI, from npm),
#      checked against pinvmd's route table; every route's answers validated
#      against it (tests/contract); the JSON parsers fuzzed briefly
#   4. the lab: real arm64 KVM under each Debian kernel (5.10, 6.1, 6.12,
#      latest), two boots each; on one kernel the second boot runs the
#      ASan+UBSan aarch64 build of pinvmd and pinvm-vmm, failing on any
#      report; two labs joined on an emulated link; a 6.12 host with
#      only a GICv2, whose guests' snapshots must restore there and be
#      refused on a GICv3 host, and the reverse
#   5. the container images (deploy/images.sh: localhost/pinvmd for arm64,
#      localhost/pinvm-lab for x86) built, inspected, the lab image run with
#      podman and driven from outside (tests/deploy/images.sh); the
#      Kubernetes manifests checked offline (tests/deploy/k8s-validate.sh)
# The totals add up each step's count. A lab boot (step 4) counts its
# ctest tests: each program run against the lab is one
# (tests/lab/CMakeLists.txt), and so are the lab's boot and stop (the
# fixture); one boot is one ctest -L run of the labels of that boot, and
# a boot that fails leaves its tests "Not Run", which count failed. The
# lab programs' own "N passed, N failed" lines (checks) stay in the logs
# but are not summed. The other steps count as before: the programs'
# checks where they print such lines (the linked labs among them), else
# ctest's tests, else 1 per step. The native ctest runs leave the lab
# tests out (-LE lab).
# Installs what it needs (Debian packages, one npm package) when missing.
# PINVM_TEST_KERNELS="6.12" narrows the lab kernels (default: all four);
# PINVM_ASAN_KERNEL sets the kernel whose second boot runs the ASan+UBSan
# build (default 6.12; empty: none, every boot runs the plain build);
# PINVM_FUZZ_SECONDS sets how long each fuzzer runs (default 20).
# PINVM_RACE_ROUNDS sets the rounds of the ASan lab's DELETE race (default 200).
# PINVM_IMAGES_PORT sets the host port of step 5's lab container (default 18380).
# PINVM_LAB_PORT sets the first of the lab's host ports (default 18180: the
# API there, its control port +100, the second lane's labs +40, the linked
# labs +10 and +11, their link +19), so that two runs can share a machine.
# PINVM_LAB_LANES=1 boots one lab at a time (default 2: two lanes of lab
# boots side by side, see lab_steps).
# PINVM_TEST_STEPS picks steps after the native build and its tests
# (default "native lab images": 2-3, 4, 5), e.g. "lab" while working on
# the lab tests.
# PINVM_TEST_STRESS=1 runs the whole suite beside two CPU hogs and an
# fsync-heavy disk writer (a loaded, shared machine): it must pass that way too.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
KERNELS=${PINVM_TEST_KERNELS:-"5.10 6.1 6.12 latest"}
ASAN_KERNEL=${PINVM_ASAN_KERNEL-6.12}
FUZZ_SECONDS=${PINVM_FUZZ_SECONDS:-20}
LAB_PORT=${PINVM_LAB_PORT:-18180}
LAB_LANES=${PINVM_LAB_LANES:-2}
STEPS=${PINVM_TEST_STEPS:-"native lab images"}
LOGDIR=$ROOT/build/test-logs
DEPS=$ROOT/tests/.deps
REDOCLY_VERSION=2.77.0
PASSED=0
FAILED=0
STEP_T0=$SECONDS # when the step now being tallied began (roughly: the last tally)
# The pid file of the lab boot under way (lab_run), for lab_stop.
LAB_PIDFILE=
PROFILES=$ROOT/build/test-profiles
# The lab lanes' output, counts and "pass 1 done" marks (lab_steps).
JOBDIR=$ROOT/build/test-jobs
JOB_NAMES=()
JOB_PIDS=()
IMAGES_DONE=
# Snapshot archives of pass 1 (one per source kernel and kind), restored
# on every kernel in pass 2.
SNAPSHOTS=$ROOT/build/test-snapshots
# The GICv2 host's profile and snapshots (gicv2_lab); its snapshots/
# appears once every archive is there.
GICV2_DIR=$ROOT/build/test-lab-gicv2
GICV2_LANE= # which lane of pass 2 boots the GICv2 host (lab_steps), empty: none
LAB_PEER= # --peer once lab_steps fetched the peer VMM for 6.12's benchmarks

say() { printf '== %s\n' "$*"; }

# Adds the counts of one step: from its programs' "N passed, N failed"
# lines (summed), or from ctest's summary, or 1/0 by exit status.
tally() {
	local name=$1 rc=$2 log=$3 p f line
	if grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$log"; then
		read -r p f < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" |
			awk '{p += $1; f += $3} END {print p, f}')
	elif line=$(grep -E 'tests? passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1); then
		f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
		p=$(( $(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line") - f ))
	else
		p=$((rc == 0)) f=0
	fi
	add_counts "$name" "$rc" "$log" "$p" "$f" ""
}

# Adds the counts of a lab boot: its ctest tests, from the last ctest
# summary in its log ("N% tests passed, M tests failed out of T"); the
# programs' own "N passed, N failed" lines there are checks, not summed.
# A test ctest skipped is neither passed nor failed here; a log without
# a summary (ctest itself failed) is 1 failed.
tally_tests() {
	local name=$1 rc=$2 log=$3 line t f s=0
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		add_counts "$name" "$rc" "$log" 0 1 " tests"
		return
	fi
	read -r f t < <(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+)$/\1 \2/' <<<"$line")
	# ctest counts a skipped test passed; its list follows the summary.
	s=$(tac "$log" | sed '/ tests\{0,1\} failed out of /q' | grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$')
	add_counts "$name" "$rc" "$log" $((t - f - s)) "$f" " tests" "$s"
}

# add_counts NAME RC LOG PASSED FAILED UNIT [SKIPPED]
add_counts() {
	local name=$1 rc=$2 log=$3 p=$4 f=$5 unit=$6 skipped=''
	[ "${7:-0}" -eq 0 ] || skipped=", $7 skipped"
	# A failing step that counted no failure still fails.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	# A file, not a variable: lanes tally in subshells.
	[ "$f" -eq 0 ] || printf '%s\t%s\t%s\n' "$f" "$name" "$log" >>"$LOGDIR/failed-steps.txt"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	say "$name: $p$unit passed, $f failed$skipped, $((SECONDS - STEP_T0)) s (log: ${log#"$ROOT"/})"
	STEP_T0=$SECONDS
}

install_deps() {
	local need=() p
	for p in build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev \
		libcurl4-openssl-dev libcmocka-dev libsqlite3-dev libarchive-dev \
		libgnutls28-dev curl jq clang \
		libclang-rt-14-dev nodejs npm openssl scdoc ninja-build dpkg-dev \
		libasan8-arm64-cross libubsan1-arm64-cross mmdebstrap podman buildah runc; do
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

# The unit and server tests of a build tree: every ctest test but the lab
# tests (label "lab", run per boot by lab_run).
run_ctest() {
	local name=$1 dir=$2 log=$LOGDIR/ctest-$(basename "$2").log
	(cd "$dir" && ctest --output-on-failure -j2 -LE lab) >"$log" 2>&1
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

	# The spec and the route table are the same set of (method, path).
	log=$LOGDIR/openapi-routes.log
	command -v jq >/dev/null || apt-get install -y -qq --no-install-recommends jq >/dev/null
	if REDOCLY_TELEMETRY=off "$DEPS/node_modules/.bin/redocly" bundle "$ROOT/openapi.yaml" \
		--ext json -o "$LOGDIR/openapi.json" >"$log" 2>&1; then
		diff <(jq -r '.paths | to_entries[] | .key as $p | .value | keys[]
			| select(. != "parameters") | "\(ascii_upcase) \($p)"' "$LOGDIR/openapi.json" |
			sed -E 's/\{[a-z_]+\}/{}/g' | sort) \
			<("$ROOT/build/bin/pinvmd" --routes | sed -E 's/\{[a-z_]+\}/{}/g' | sort) >>"$log" 2>&1
		tally "openapi.yaml matches the route table" $? "$log"
	else
		tally "openapi bundle" 1 "$log"
	fi
}

# /metrics of a native pinvmd that answered a few requests, through
# promtool (from Debian's prometheus package, unpacked, not installed).
check_metrics() {
	local log=$LOGDIR/metrics.log dir port pid rc
	if [ ! -x "$DEPS/prometheus/usr/bin/promtool" ]; then
		(cd "$DEPS" && apt-get download -qq prometheus >/dev/null 2>&1 &&
			dpkg-deb -x prometheus_*.deb prometheus && rm -f prometheus_*.deb)
	fi
	dir=$(mktemp -d)
	port=18170
	"$ROOT/build/bin/pinvmd" --listen "tcp:127.0.0.1:$port" --state-dir "$dir/state" 2>"$dir/log" &
	pid=$!
	for _ in $(seq 1 50); do curl -sf "127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.1; done
	curl -s "127.0.0.1:$port/v1/host" >/dev/null
	curl -s "127.0.0.1:$port/nope" >/dev/null
	curl -s -XPOST -H 'Content-Type: application/json' "127.0.0.1:$port/v1/profiles" -d '{"name":"m","registers":{}}' >/dev/null
	curl -s "127.0.0.1:$port/metrics" >"$dir/metrics"
	kill "$pid"; wait "$pid" 2>/dev/null
	{
		"$DEPS/prometheus/usr/bin/promtool" check metrics <"$dir/metrics" &&
			grep -q '^pinvm_http_requests_total{route="/v1/profiles",method="POST",status="201"} 1$' "$dir/metrics" &&
			grep -q '^pinvm_http_requests_total{route="unmatched",method="GET",status="404"} 1$' "$dir/metrics" &&
			grep -q '^pinvm_build_info{version=' "$dir/metrics"
	} >"$log" 2>&1
	rc=$?
	cat "$dir/metrics" >>"$log"
	rm -rf "$dir"
	tally "metrics (promtool check metrics)" $rc "$log"
}

STRESS_PIDS=()
STRESS_DIR=

# Two busy loops and a loop of 200 MiB writes each ended by fsync, for the
# whole run; stopped at exit.
stress_start() {
	local i
	STRESS_DIR=$(mktemp -d "$ROOT/build/stress.XXXXXX")
	for i in 1 2; do
		sh -c 'while :; do :; done' &
		STRESS_PIDS+=($!)
	done
	sh -c 'while :; do dd if=/dev/zero of="$1/fsync" bs=1M count=200 conv=fsync 2>/dev/null; done' \
		sh "$STRESS_DIR" &
	STRESS_PIDS+=($!)
	say "stress: two CPU hogs and an fsync writer beside the suite (pids ${STRESS_PIDS[*]})"
}

stress_stop() {
	[ ${#STRESS_PIDS[@]} -gt 0 ] || return 0
	kill "${STRESS_PIDS[@]}" 2>/dev/null
	wait "${STRESS_PIDS[@]}" 2>/dev/null
	STRESS_PIDS=()
	rm -rf "$STRESS_DIR"
}

# Stops the lab of the boot under way when its fixture did not (the boot
# ended in the middle of its ctest: the suite was stopped), as the fixture
# would (tests/lab/lab-fixture.sh stop).
lab_stop() {
	if [ -n "$LAB_PIDFILE" ] && [ -s "$LAB_PIDFILE" ]; then
		PINVM_LAB_PIDFILE=$LAB_PIDFILE "$ROOT/tests/lab/lab-fixture.sh" stop >/dev/null 2>&1
	fi
	LAB_PIDFILE=
}
trap 'jobs_kill; lab_stop; stress_stop' EXIT

# Runs the function "$@" in the background as lane job NAME: its output
# and its counts go to files, which jobs_wait prints and adds in the
# order the jobs started, so that two lanes' lines never interleave. The
# job stops its own lab when it ends; jobs_kill stops a job's lab and
# programs when the suite itself is stopped.
job_start() {
	local name=$1; shift
	say "lane job $name: started (output when the lanes are done)"
	(
		LAB_PIDFILE="" PASSED=0 FAILED=0 STEP_T0=$SECONDS
		trap 'lab_stop' EXIT
		"$@"
		echo "$PASSED $FAILED" >"$JOBDIR/$name.count"
	) >"$JOBDIR/$name.out" 2>&1 &
	JOB_NAMES+=("$name")
	JOB_PIDS+=($!)
}

jobs_wait() {
	local i p f
	for i in "${!JOB_PIDS[@]}"; do
		wait "${JOB_PIDS[$i]}"
	done
	for i in "${!JOB_NAMES[@]}"; do
		cat "$JOBDIR/${JOB_NAMES[$i]}.out"
		if read -r p f 2>/dev/null <"$JOBDIR/${JOB_NAMES[$i]}.count"; then
			PASSED=$((PASSED + p))
			FAILED=$((FAILED + f))
		else
			say "lane job ${JOB_NAMES[$i]}: ended without its counts (log: ${JOBDIR#"$ROOT"/}/${JOB_NAMES[$i]}.out)"
			FAILED=$((FAILED + 1))
			printf '1\tlane job %s (no counts)\t%s\n' "${JOB_NAMES[$i]}" \
				"$JOBDIR/${JOB_NAMES[$i]}.out" >>"$LOGDIR/failed-steps.txt"
		fi
	done
	JOB_NAMES=()
	JOB_PIDS=()
	STEP_T0=$SECONDS
}

# PID's descendants, each before its own children.
descendants() {
	local child
	for child in $(pgrep -P "$1"); do
		echo "$child"
		descendants "$child"
	done
}

# SIGTERM to each lane and to everything under it at once: its ctest, the
# test that runs and that test's programs (a lab that has booted is no
# one's child any more: the lane's lab_stop stops it, at its exit).
jobs_kill() {
	local pid pids
	for pid in "${JOB_PIDS[@]}"; do
		pids=$(descendants "$pid")
		# shellcheck disable=SC2086 # one pid per word
		kill -TERM $pids "$pid" 2>/dev/null
	done
}

# Runs two lane functions side by side (one after the other with
# PINVM_LAB_LANES=1) and tallies both.
in_lanes() {
	if [ "$LAB_LANES" -ge 2 ]; then
		job_start "$1" "$1"
		job_start "$2" "$2"
		jobs_wait
	else
		"$1"
		"$2"
	fi
}

# Boots the lab on one kernel and runs against it, with ctest, the lab
# tests labelled LABEL... (tests/lab/CMakeLists.txt), one at a time in
# their order: the fixture there boots and stops the lab. The lab's
# output goes to lab-KERNEL-STEP.log; ctest's lines, each test's output
# as it runs and its "# took N s" line to lab-KERNEL-STEP-tests.log
# (not --output-on-failure, which would put a failed test's output
# there twice); ctest's summary is tallied under "lab KERNEL STEP", the
# took lines printed. From the caller, when set: LAB_ARGS (more
# deploy/lab.sh arguments), LAB_PROFILES and LAB_SNAPSHOTS (instead of
# PROFILES and SNAPSHOTS), EXTRA_SELFTESTS (pass 2's selftest cases),
# and deploy/lab.sh's own variables (PINVM_LAB_GIC).
#   lab_run KERNEL PORT STEP LABEL...
lab_run() {
	local kernel=$1 port=$2 step=$3; shift 3
	local log=$LOGDIR/lab-$kernel-$step.log tlog=$LOGDIR/lab-$kernel-$step-tests.log
	local dir=$JOBDIR/ctest-$kernel-$step rc
	say "lab $kernel ($step): booting"
	# ctest keeps its files (Testing/) in the directory it runs in, and the
	# other lane runs one at the same time: a directory per boot, whose
	# tests are tests/lab's of the native build.
	mkdir -p "$dir"
	printf 'subdirs([==[%s]==])\n' "$ROOT/build/tests/lab" >"$dir/CTestTestfile.cmake"
	LAB_PIDFILE=$dir/lab.pid
	# The lab and the directories, for tests/lab/lab-env.sh.
	local env=(
		PINVM_LAB_KERNEL="$kernel"
		PINVM_LAB_URL="http://127.0.0.1:$port"
		PINVM_LAB_CONTROL="http://127.0.0.1:$((port + 100))"
		PINVM_LAB_ARGS="${LAB_ARGS:-}"
		PINVM_LAB_LOG="$log"
		PINVM_LAB_TESTS_LOG="$tlog"
		PINVM_LAB_PIDFILE="$LAB_PIDFILE"
		PINVM_LAB_KERNELS="$KERNELS"
		PINVM_LAB_PROFILES="${LAB_PROFILES:-$PROFILES}"
		PINVM_LAB_SNAPSHOTS="${LAB_SNAPSHOTS:-$SNAPSHOTS}"
		PINVM_LAB_GICV2_DIR="$GICV2_DIR"
		PINVM_LAB_MARKS="$JOBDIR"
		PINVM_LAB_EXTRA_SELFTESTS="${EXTRA_SELFTESTS:-}"
	)
	: >"$tlog"
	# One test at a time, as the lab always ran them; ctest's lines go into
	# the tests log beside the tests' output (whatever
	# CTEST_OUTPUT_ON_FAILURE says: each output is there once already).
	(cd "$dir" && env -u CTEST_OUTPUT_ON_FAILURE "${env[@]}" \
		ctest -j1 --no-tests=error -L "$(label_regex "$@")") >>"$tlog" 2>&1
	rc=$?
	lab_stop
	tally_tests "lab $kernel $step" $rc "$tlog"
	grep '^# took ' "$tlog"
}

# The ctest -L expression of exactly the labels LABEL... (6.12's dot is
# no wildcard there).
label_regex() {
	local IFS='|' labels=("${@//./\\.}")
	echo "^(${labels[*]})\$"
}

# Pass 1 on one kernel: the host against its fixture, then its capture as
# a profile and two snapshots (saved for pass 2): lab-pass1. On the ASan
# kernel also its matrix cells, after every other kernel's pass 1 (in the
# plain build: they took four times as long in the ASan boot):
# lab-matrix-pass1. On 6.12 also the figures, here because this boot runs
# the plain build: pass 2 on 6.12 is the ASan boot, whose timings would
# measure the sanitizers: lab-bench, in a lab that also carries the peer
# VMM, QEMU (deploy/lab.sh --peer, unless lab_steps could not fetch it:
# LAB_PEER empty). Then the mark the ASan kernel's pass 1 waits for.
lab_pass1() {
	local kernel=$1 port=$2 labels=(lab-pass1) args=''
	[ "$kernel" != "$ASAN_KERNEL" ] || labels+=(lab-matrix-pass1)
	if [ "$kernel" = 6.12 ]; then
		labels+=(lab-bench)
		args=$LAB_PEER
	fi
	LAB_ARGS=$args lab_run "$kernel" "$port" host "${labels[@]}"
	touch "$JOBDIR/pass1-$kernel.done"
}

# The labels of pass 2 on KERNEL, one per line: with MATRICES non-empty
# every capture applied on this host and every snapshot restored here
# (lab-matrix-pass2); Linux microVMs through the API, on 6.12 also under a
# profile, the contract tests and the CLI against real KVM and kill -9
# mid-snapshot (lab-6.12-pass2), elsewhere without (lab-other-pass2); on
# 6.12, when the GICv2 host boots, its archives refused
# (lab-from-gicv2); two Debian guests with and without cpu_features
# (lab-pass2); pinvm-vmm-selftest with smccc-deny on the kernels with the
# SMCCC filter, 6.4+ (lab-smccc-pass2), without on 5.10 and 6.1
# (lab-nosmccc-pass2).
#   pass2_labels KERNEL MATRICES
pass2_labels() {
	local kernel=$1 matrices=$2
	[ -z "$matrices" ] || echo lab-matrix-pass2
	if [ "$kernel" = 6.12 ]; then
		echo lab-6.12-pass2
		[ -z "$GICV2_LANE" ] || echo lab-from-gicv2
	else
		echo lab-other-pass2
	fi
	echo lab-pass2
	case $kernel in
	5.10 | 6.1) echo lab-nosmccc-pass2 ;;
	*) echo lab-smccc-pass2 ;;
	esac
}

# The GICv2 host's boot on PORT (lab-gicv2), its figures and cells
# printed, then the mark 6.12's pass 2 waits for (lab-from-gicv2),
# whatever happened. Its archives are taken into taking/, renamed
# snapshots/ in the boot once they are all there.
gicv2_lab() {
	local t0=$SECONDS
	rm -rf "$GICV2_DIR"
	mkdir -p "$GICV2_DIR/profiles" "$GICV2_DIR/taking"
	PINVM_LAB_GIC=2 lab_run 6.12 "$1" gicv2 lab-gicv2
	touch "$JOBDIR/gicv2.done"
	say "lab 6.12 gicv2 took $((SECONDS - t0)) s (boot included)"
	grep -h '^SNAPSHOT' "$LOGDIR/lab-6.12-gicv2-tests.log" 2>/dev/null | sed 's/^/GICv2 /'
}

# Pass 2 on ASAN_KERNEL, in one boot of the ASan+UBSan build (deploy/lab.sh
# --asan): the host against its fixture, a capture and two snapshots taken
# by this build (lab-asan, with pass 1's own tests), then pass 2's tests
# with them beside pass 1's of the other kernels (the matrix cells only
# when pass 1 did not run on this kernel), DELETE racing every other
# request, and the selftest cases that stop guests; then the sanitizer
# reports (lab-asan).
lab_asan() {
	local kernel=$ASAN_KERNEL dir=$ROOT/build/test-lab-asan k matrices=1 labels
	rm -rf "$dir"
	mkdir -p "$dir/profiles" "$dir/snapshots"
	# Pass 1's captures and snapshots of the other kernels, beside the ones
	# this build takes in the boot.
	for k in $KERNELS; do
		[ "$k" = "$kernel" ] && continue
		cp "$PROFILES/profile-$k.json" "$dir/profiles/" 2>/dev/null
		cp "$SNAPSHOTS/snap-$k-"* "$dir/snapshots/" 2>/dev/null
	done
	# Its matrix cells ran in its pass 1, when that ran (it is in KERNELS).
	[[ " $KERNELS " != *" $kernel "* ]] || matrices=
	mapfile -t labels < <(pass2_labels "$kernel" "$matrices")
	# pinvm-vmm's leak check takes ~5 s in the emulated lab, and pinvmd
	# SIGKILLs a pinvm-vmm that is not gone 5 s after it said "exited"; the
	# selftest waits longer, so these cases (a running guest stopped, a
	# pinned guest powering off) get pinvm-vmm through LeakSanitizer.
	LAB_ARGS=--asan LAB_PROFILES=$dir/profiles LAB_SNAPSHOTS=$dir/snapshots \
		EXTRA_SELFTESTS="stop pins" lab_run "$kernel" "$LAB_PORT" asan lab-asan "${labels[@]}"
}

# Everything that needs no lab: builds, unit and server tests (also under
# ASan+UBSan), the spec, contract, load and abuse runs, packages, fuzzing.
native_steps() {
	say "build matrix: every CMake build type with gcc, clang, no test deps (compile only)"
	"$ROOT/tests/build-matrix.sh" >"$LOGDIR/build-matrix.log" 2>&1
	tally "build matrix" $? "$LOGDIR/build-matrix.log"
	grep -E '^(not )?ok|took' "$LOGDIR/build-matrix.log"
	say "sanitizer build (ASan+UBSan)"
	if build "$ROOT/build-asan" -DPINVM_SANITIZE=ON >"$LOGDIR/build-asan.log" 2>&1; then
		run_ctest "unit+server (asan+ubsan)" "$ROOT/build-asan"
	else
		tally "sanitizer build" 1 "$LOGDIR/build-asan.log"
	fi
	say "openapi lint"
	lint_openapi
	say "contract: every route against openapi.yaml (Ajv)"
	"$ROOT/tests/contract/run.sh" --spawn "$ROOT/build/bin/pinvmd" >"$LOGDIR/contract.log" 2>&1
	tally "contract (native)" $? "$LOGDIR/contract.log"
	say "metrics"
	check_metrics
	say "load: pinvmd next to nginx serving the same JSON (wrk)"
	"$ROOT/tests/bench/load.sh" "$ROOT/build/bin/pinvmd" >"$LOGDIR/load.log" 2>&1
	tally "load (wrk, zero non-2xx)" $? "$LOGDIR/load.log"
	sed -n '/^route /,/^[0-9]* passed/p' "$LOGDIR/load.log" | grep -v passed
	say "abuse: a legitimate client under slowloris, abandoned requests and 1 MiB uploads"
	"$ROOT/build/bin/bench_abuse" "$ROOT/build/bin/pinvmd" >"$LOGDIR/abuse.log" 2>&1
	tally "abuse benchmark (runs; figures not judged)" $? "$LOGDIR/abuse.log"
	grep '^abuse' "$LOGDIR/abuse.log"
	say "snapshot files: page digest beside plain SHA-256, archive out and in (1 GiB, 256 MiB)"
	{ "$ROOT/build/bin/bench_snapshot_io" 1024 64 && "$ROOT/build/bin/bench_snapshot_io" 256 16; } \
		>"$LOGDIR/snapshot-io.log" 2>&1
	tally "snapshot file benchmark (runs; figures not judged)" $? "$LOGDIR/snapshot-io.log"
	grep '^BENCH' "$LOGDIR/snapshot-io.log"
	say "systemd unit"
	PINVMD="$ROOT/build/bin/pinvmd" "$ROOT/tests/deploy/verify-unit.sh" >"$LOGDIR/unit.log" 2>&1
	tally "systemd unit (systemd-analyze verify)" $? "$LOGDIR/unit.log"
	say "Debian package: dpkg -i into a clean Debian 12 root (mmdebstrap, cached)"
	local t0=$SECONDS
	rm -rf "$ROOT/build/package"
	if (cd "$ROOT/build" && cpack -G DEB -B "$ROOT/build/package") >"$LOGDIR/cpack.log" 2>&1; then
		"$ROOT/tests/deploy/package-chroot.sh" "$ROOT"/build/package/pinvm_*.deb \
			>"$LOGDIR/package-chroot.log" 2>&1
		tally "Debian package in a clean Debian 12 root" $? "$LOGDIR/package-chroot.log"
	else
		tally "cpack -G DEB" 1 "$LOGDIR/cpack.log"
	fi
	say "Debian package step took $((SECONDS - t0)) s"
	say "fuzzing the JSON parsers (${FUZZ_SECONDS}s each)"
	"$ROOT/tests/fuzz/run.sh" "$FUZZ_SECONDS" >"$LOGDIR/fuzz.log" 2>&1
	tally "fuzz (libFuzzer, ASan+UBSan)" $? "$LOGDIR/fuzz.log"
}

# Every lab boot: pass 1 and 2 on each kernel (pass 2 on ASAN_KERNEL in the
# ASan+UBSan build), two linked labs; then the matrices and figures.
#
# Two lanes of boots run side by side: alone, a lab keeps about 1.3 of 2
# cores busy (a nested guest leaves one of its vCPUs idle), so two fill the
# machine. Lane 1 uses LAB_PORT, lane 2 LAB_PORT + 40.
#   pass 1: the other kernels dealt to the lanes in turn, ASAN_KERNEL last in
#           lane 2; its matrix cells and the benchmarks wait for the other
#           lane (lab_wait_pass1_others), so the figures are taken alone;
#   pass 2: lane 1 the ASan boot and, when that step is asked for, the
#           images; lane 2 the other kernels' boots and the linked labs
#           (measured: 1990 s + 200 s against 2240 s + the link's faults).
lab_steps() {
	say "lab: preparing kernels $KERNELS"
	if ! "$ROOT/deploy/lab.sh" --prepare --kernel all </dev/null >"$LOGDIR/lab-prepare.log" 2>&1; then
		tally "lab prepare" 1 "$LOGDIR/lab-prepare.log"
		return
	elif [ -n "$ASAN_KERNEL" ] && ! "$ROOT/deploy/lab.sh" --prepare --asan --kernel "$ASAN_KERNEL" \
		</dev/null >"$LOGDIR/lab-prepare-asan.log" 2>&1; then
		tally "lab prepare (ASan+UBSan build)" 1 "$LOGDIR/lab-prepare-asan.log"
		return
	fi
	# The peer VMM for 6.12's benchmarks (lab-bench), fetched now so that
	# no download happens mid-boot; without it that boot runs all the same
	# and only its peer benchmark fails.
	LAB_PEER=
	if [[ " $KERNELS " == *" 6.12 "* ]]; then
		if "$ROOT/deploy/lab.sh" --prepare --peer --kernel 6.12 </dev/null \
			>"$LOGDIR/lab-prepare-peer.log" 2>&1; then
			LAB_PEER=--peer
		else
			tally "lab prepare (peer QEMU)" 1 "$LOGDIR/lab-prepare-peer.log"
		fi
	fi
	local k n=0 t0=$SECONDS
	P1_LANE1=() P1_LANE2=()
	for k in $KERNELS; do
		[ "$k" = "$ASAN_KERNEL" ] && continue
		if ((n++ % 2 == 0)); then P1_LANE1+=("$k"); else P1_LANE2+=("$k"); fi
	done
	[[ " $KERNELS " != *" $ASAN_KERNEL "* ]] || P1_LANE2+=("$ASAN_KERNEL")
	say "lab pass 1 in $LAB_LANES lane(s): ${P1_LANE1[*]:-} | ${P1_LANE2[*]:-}"
	in_lanes pass1_lane1 pass1_lane2
	say "lab pass 1 took $((SECONDS - t0)) s"
	if [ "$LAB_LANES" -ge 2 ] && [[ " $STEPS " == *" images "* ]]; then
		IMAGES_DONE=1
	fi
	t0=$SECONDS
	# The GICv2 host (6.12 only): in the shorter lane of pass 2, or first.
	GICV2_LANE=
	if [[ " $KERNELS " == *" 6.12 "* ]]; then
		GICV2_LANE=2
		[ "$LAB_LANES" -ge 2 ] || GICV2_LANE=1
	fi
	in_lanes pass2_asan pass2_rest
	say "lab pass 2, link${IMAGES_DONE:+ and images} took $((SECONDS - t0)) s"
	asan_summary
	say "fidelity matrix (profile captured on a kernel, applied on a host):"
	cat "$LOGDIR"/lab-*-{host,vms,asan}-tests.log 2>/dev/null | grep '^MATRIX' | sort
	say "snapshot matrix (a guest snapshotted on a kernel, restored on a host):"
	cat "$LOGDIR"/lab-*-{host,vms,asan}-tests.log 2>/dev/null | grep '^SNAPSHOT' | sort
	say "benchmarks (figures, not pass/fail):"
	grep -H '^BENCH' "$LOGDIR"/lab-*-tests.log 2>/dev/null | sed "s|$LOGDIR/||"
}

pass1_lane1() {
	local k
	for k in "${P1_LANE1[@]}"; do lab_pass1 "$k" "$LAB_PORT"; done
}

pass1_lane2() {
	local k
	for k in "${P1_LANE2[@]}"; do lab_pass1 "$k" $((LAB_PORT + 40)); done
}

# Pass 2 on ASAN_KERNEL in one boot of the ASan+UBSan build, then the
# images when lab_steps moved them here (measured loaded: this lane 2505 s,
# the other 2040 s, which therefore takes the GICv2 host). With one lane,
# the GICv2 host first: 6.12's pass 2 waits for its archives.
pass2_asan() {
	local t0
	[ "$GICV2_LANE" != 1 ] || gicv2_lab "$LAB_PORT"
	t0=$SECONDS
	if [ -n "$ASAN_KERNEL" ]; then
		lab_asan
		say "lab $ASAN_KERNEL asan took $((SECONDS - t0)) s (ASan+UBSan build, boot included)"
	fi
	[ -z "$IMAGES_DONE" ] || image_steps
}

# Pass 2 on every other kernel, and the linked labs; first the GICv2 host
# when there are two lanes.
pass2_rest() {
	local k port=$((LAB_PORT + 40)) t_link labels
	[ "$GICV2_LANE" != 2 ] || gicv2_lab "$port"
	for k in $KERNELS; do
		[ "$k" = "$ASAN_KERNEL" ] && continue
		mapfile -t labels < <(pass2_labels "$k" 1)
		lab_run "$k" "$port" vms "${labels[@]}"
	done
	# Two labs on one emulated link: lab A's pinvmd asks lab B's by URL
	# (issue 11); B's link address comes from its API port.
	t_link=$SECONDS
	# latest: the pair whose guests move both ways (the snapshot matrix);
	# 6.12 and 5.10, the refused pair, come next.
	say "lab link: 6.12 asks latest over an emulated link, and live migration between them (tests/lab-link.sh)"
	PINVM_LINK_LOGDIR=$LOGDIR "$ROOT/tests/lab-link.sh" $((LAB_PORT + 10)) $((LAB_PORT + 11)) \
		$((LAB_PORT + 19)) 6.12 latest \
		>"$LOGDIR/lab-link.log" 2>&1
	tally "lab link (fleet checks by URL, live migration)" $? "$LOGDIR/lab-link.log"
	grep -E '^(not ok|#|MIGRATE)' "$LOGDIR/lab-link.log"
	say "lab link took $((SECONDS - t_link)) s (two boots included)"
	# 6.12 and 5.10: a pair whose vCPU state differs in what no userspace
	# can write on one side; each way is refused before the guest is
	# paused (the destination's restore dry run of its pre-run image),
	# then moves 6.12 -> 5.10 -> 6.12 accepting the rules of
	# api/accept_rule.h.
	t_link=$SECONDS
	say "lab link: 6.12 and 5.10, refused before the pause, then moved both ways accepting named differences (tests/lab-link.sh)"
	mkdir -p "$LOGDIR/link-5.10"
	PINVM_LINK_LOGDIR=$LOGDIR/link-5.10 "$ROOT/tests/lab-link.sh" $((LAB_PORT + 12)) \
		$((LAB_PORT + 13)) $((LAB_PORT + 18)) 6.12 5.10 \
		>"$LOGDIR/lab-link-5.10.log" 2>&1
	tally "lab link 6.12/5.10 (refused, then moved accepting named differences)" $? \
		"$LOGDIR/lab-link-5.10.log"
	grep -E '^(not ok|#|MIGRATE)' "$LOGDIR/lab-link-5.10.log"
	say "lab link 6.12/5.10 took $((SECONDS - t_link)) s (two boots included)"
}

# The ASan boot's sanitizer reports, summed up, when it had any.
asan_summary() {
	[ -n "$ASAN_KERNEL" ] || return 0
	grep -qi '^not ok - .*sanitizer' "$LOGDIR/lab-$ASAN_KERNEL-asan-tests.log" 2>/dev/null || return 0
	say "sanitizer reports (the first 100 lines and every summary; all in" \
		"build/test-logs/lab-$ASAN_KERNEL-asan-tests.log):"
	sed -n '/^pinvmd stopped\|^FAIL: \|^== sanitizer report\|^the lab.s control port/,$p' \
		"$LOGDIR/lab-$ASAN_KERNEL-asan-tests.log" >"$LOGDIR/lab-asan-reports.txt"
	head -n 100 "$LOGDIR/lab-asan-reports.txt"
	echo "..."
	grep -E '^== sanitizer report|SUMMARY|runtime error|^FAIL: ' "$LOGDIR/lab-asan-reports.txt"
	say "frames in pinvm's own sources in those reports, by count:"
	grep -oE ' in [A-Za-z0-9_]+ [^ ]*/(server|api|vmm|tests)/[^ ]+:[0-9]+' \
		"$LOGDIR/lab-asan-reports.txt" | sed -E 's# [^ ]*/(server|api|vmm|tests)/# \1/#' |
		sort | uniq -c | sort -rn | head -n 20
}

# The container images (the lab image boots a lab of its own) and the
# Kubernetes manifests.
image_steps() {
	local t0=$SECONDS
	say "container images: build, inspect, run the lab image with podman (tests/deploy/images.sh)"
	"$ROOT/tests/deploy/images.sh" "${PINVM_IMAGES_PORT:-18380}" </dev/null >"$LOGDIR/images.log" 2>&1
	tally "container images" $? "$LOGDIR/images.log"
	grep -E '^(images|# lab container|# contract tests|# guest userspace|the images test)' "$LOGDIR/images.log"
	say "Kubernetes manifests: schemas, fields and policy, offline (tests/deploy/k8s-validate.sh)"
	"$ROOT/tests/deploy/k8s-validate.sh" >"$LOGDIR/k8s.log" 2>&1
	tally "Kubernetes manifests" $? "$LOGDIR/k8s.log"
	say "container images and manifests step took $((SECONDS - t0)) s"
}

# What failed, last, where a reader of only the output's tail (CI keeps
# the tail) finds it: each failing step and its first failed checks.
failure_summary() {
	local f name log
	[ -s "$LOGDIR/failed-steps.txt" ] || return 0
	say "what failed (each step, then the first of its failed checks):"
	while IFS=$'\t' read -r f name log; do
		echo "$name: $f failed (log: ${log#"$ROOT"/})"
		grep -m 10 -E '^(not ok|FAIL)|\*\*\*(Failed|Timeout|Exception|Not Run)| FAILED' "$log" 2>/dev/null | cut -c 1-300 | sed 's/^/    /'
	done <"$LOGDIR/failed-steps.txt"
}

main() {
	local step
	install_deps
	rm -rf "$PROFILES" "$SNAPSHOTS" "$JOBDIR" "$LOGDIR/failed-steps.txt"
	mkdir -p "$LOGDIR" "$PROFILES" "$SNAPSHOTS" "$JOBDIR"
	local t_start=$SECONDS
	[ "${PINVM_TEST_STRESS:-0}" = 1 ] && stress_start
	# The lab tests and the images use the native build's binaries.
	say "native build"
	if build "$ROOT/build" >"$LOGDIR/build.log" 2>&1; then
		run_ctest "unit+server (native)" "$ROOT/build"
	else
		tally "native build" 1 "$LOGDIR/build.log"
	fi
	for step in $STEPS; do
		case $step in
		native) native_steps ;;
		lab) lab_steps ;;
		images) [ -n "$IMAGES_DONE" ] || image_steps ;;
		*) tally "PINVM_TEST_STEPS: unknown step $step" 1 /dev/null ;;
		esac
	done
	stress_stop
	failure_summary
	say "the whole suite took $((SECONDS - t_start)) s"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
