#!/usr/bin/env bash
# Runs one lab test of tests/lab/CMakeLists.txt against the lab its
# fixture booted: COMMAND with the lab's placeholders replaced from the
# environment (tests/lab/lab-env.sh), its output appended to the boot's
# tests log as it runs and then handed to ctest, and after it
# "# took N s: PROGRAM ARG1", the line tests/run.sh prints per boot to
# show where the boot's time went.
#
#   run-lab-test.sh [--if-exists PATH] [--require PATH WHAT] COMMAND [ARG]...
#
#   --if-exists PATH     skip the test (exit 77) unless PATH exists
#   --require PATH WHAT  unless PATH exists, fail with "not ok - WHAT"
#
# In any argument: {url} {control} {kernel} {profiles} {snapshots}
# {gicv2_dir} {lab_log} {race_rounds}; and the lists {kernels} (pass 1's),
# {sources} ({kernels} and {kernel}), {others} ({kernels} but {kernel})
# and {extra_selftests}: an argument holding one becomes one argument per
# item, the rest of the argument around each (pass1-{others}:
# pass1-5.10 pass1-6.1 ...), or none when the list is empty.
# Exits with the command's status; 77, which ctest would take for
# "skipped", becomes 1.
set -uo pipefail
# shellcheck source=tests/lab/lab-env.sh
source "$(dirname "$0")/lab-env.sh"

lab_wanted

IF_EXISTS='' REQUIRE='' REQUIRE_WHAT=''
while :; do
	case ${1:-} in
	--if-exists) IF_EXISTS=$2; shift 2 ;;
	--require) REQUIRE=$2 REQUIRE_WHAT=$3; shift 3 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--if-exists PATH] [--require PATH WHAT] COMMAND [ARG]..." >&2; exit 2; }

read -r -a KERNELS <<<"${PINVM_LAB_KERNELS:-$LAB_KERNEL}"
SOURCES=("${KERNELS[@]}")
[[ " ${KERNELS[*]} " == *" $LAB_KERNEL "* ]] || SOURCES+=("$LAB_KERNEL")
OTHERS=()
for k in "${KERNELS[@]}"; do
	[ "$k" = "$LAB_KERNEL" ] || OTHERS+=("$k")
done
read -r -a EXTRA_SELFTESTS <<<"${PINVM_LAB_EXTRA_SELFTESTS:-}"

# One argument, its placeholders replaced, appended to ARGS (several
# arguments, or none, for a list).
ARGS=()
expand() {
	local a=$1 list=() name item
	a=${a//\{url\}/$LAB_URL}
	a=${a//\{control\}/$LAB_CONTROL}
	a=${a//\{kernel\}/$LAB_KERNEL}
	a=${a//\{profiles\}/${PINVM_LAB_PROFILES:-$LAB_ROOT/build/test-profiles}}
	a=${a//\{snapshots\}/${PINVM_LAB_SNAPSHOTS:-$LAB_ROOT/build/test-snapshots}}
	a=${a//\{gicv2_dir\}/${PINVM_LAB_GICV2_DIR:-$LAB_ROOT/build/test-lab-gicv2}}
	a=${a//\{lab_log\}/$LAB_LOG}
	a=${a//\{race_rounds\}/${PINVM_RACE_ROUNDS:-200}}
	for name in kernels sources others extra_selftests; do
		[[ $a == *"{$name}"* ]] || continue
		case $name in
		kernels) list=("${KERNELS[@]}") ;;
		sources) list=("${SOURCES[@]}") ;;
		others) list=("${OTHERS[@]}") ;;
		extra_selftests) list=("${EXTRA_SELFTESTS[@]}") ;;
		esac
		for item in "${list[@]}"; do
			ARGS+=("${a%%"{$name}"*}$item${a#*"{$name}"}")
		done
		return
	done
	ARGS+=("$a")
}

# The options' paths first (one argument each), then the command.
if [ -n "$IF_EXISTS" ]; then
	expand "$IF_EXISTS"
	IF_EXISTS=${ARGS[0]}
	ARGS=()
	if [ ! -e "$IF_EXISTS" ]; then
		lab_logged echo "# skipped: $IF_EXISTS is not there"
		exit 77
	fi
fi
if [ -n "$REQUIRE" ]; then
	expand "$REQUIRE"
	REQUIRE=${ARGS[0]}
	ARGS=()
	if [ ! -e "$REQUIRE" ]; then
		lab_logged echo "not ok - $REQUIRE_WHAT"
		exit 1
	fi
fi
for arg in "$@"; do
	expand "$arg"
done

# The command, then how long it took.
# shellcheck disable=SC2317 # called through lab_logged
timed() {
	local t0=$SECONDS rc
	"$@"
	rc=$?
	printf '# took %d s: %s %s\n' $((SECONDS - t0)) "${1##*/}" "${2:-}"
	return "$rc"
}

lab_logged timed "${ARGS[@]}"
rc=$?
[ $rc -ne 77 ] || rc=1
exit $rc
