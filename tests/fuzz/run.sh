#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each for
# SECONDS (default 20) from its seed corpus. New interesting inputs go to
# build-fuzz/corpus/<target>/ (not the repository); a crash leaves
# build-fuzz/artifacts/<target>/crash-* and fails the script: copy the
# file into tests/fuzz/corpus/<target>/ as a regression case once fixed.
# usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
SECONDS_EACH=${1:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build-fuzz

command -v clang >/dev/null || { echo "run.sh: clang is required" >&2; exit 2; }
CC=clang cmake -S "$ROOT/tests/fuzz" -B "$BUILD" -DPINVM_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
# Every target tests/fuzz/CMakeLists.txt builds (PINVM_FUZZ_TARGETS), so a
# new one cannot be left out here.
TARGETS=$(find "$BUILD" -maxdepth 1 -name 'fuzz_*' -type f -perm -u+x -printf '%f\n' |
	sed 's/^fuzz_//' | sort)
[ -n "$TARGETS" ] || { echo "run.sh: no fuzz targets were built in $BUILD" >&2; exit 1; }

# One fuzzer per core at a time: each still gets SECONDS_EACH of its own,
# and the step's wall time halves on the suite's two cores.
fuzz_one() {
	local t=$1 rc=0
	mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts/$t"
	# Seeds are read from the repository, new inputs written to build-fuzz.
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$BUILD/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=16384 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$BUILD/artifacts/$t/" \
		"$BUILD/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" \
		>"$BUILD/fuzz_$t.log" 2>&1 || rc=$?
	echo "$rc" >"$BUILD/fuzz_$t.rc"
}

JOBS=${PINVM_FUZZ_JOBS:-$(nproc)}
for t in $TARGETS; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
	rm -f "$BUILD/fuzz_$t.rc"
	fuzz_one "$t" &
done
wait

failed=0
for t in $TARGETS; do
	echo "== fuzz_$t for ${SECONDS_EACH}s"
	if [ "$(cat "$BUILD/fuzz_$t.rc" 2>/dev/null)" != 0 ]; then
		echo "fuzz_$t FAILED; log: $BUILD/fuzz_$t.log; inputs:" \
			"$(ls "$BUILD/artifacts/$t")"
		tail -n 40 "$BUILD/fuzz_$t.log"
		failed=1
	else
		grep -E '^stat::(number_of_executed_units|new_units_added)' \
			"$BUILD/fuzz_$t.log" || true
	fi
done
# The regression corpus must still pass through the plain replay drivers.
(cd "$BUILD" && ctest --output-on-failure) >/dev/null || {
	echo "corpus replay failed" >&2
	failed=1
}
exit $failed
