#!/usr/bin/env bash
# Contract tests: every operation of openapi.yaml called, every response
# validated against the spec with Ajv (JSON Schema 2020-12); a status, a
# Content-Type, a body or a header the spec does not describe fails the run.
#
#   tests/contract/run.sh BASE_URL [--kvm]        a running pinvmd (--kvm: the arm64 lab)
#   tests/contract/run.sh --spawn PATH_TO_PINVMD  start a native pinvmd for the run
#
# Other options: --spec FILE (another copy of the spec), --kernel NAME and
# --initrd NAME (images for the --kvm VM; default the lab's), --token-file F
# (the server's bearer token; --spawn makes one, so 401 is tested too).
# Prints one line per call and ends with "N passed, N failed"; exits non-zero
# on any failure. Installs its pinned npm packages (package-lock.json here)
# into tests/.deps/contract when they are missing.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEPS=$ROOT/tests/.deps/contract
SPAWN=
BASE=
ARGS=()

usage() {
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--spawn) [ $# -ge 2 ] || usage; SPAWN=$2; shift 2 ;;
	--kvm) ARGS+=(--kvm); shift ;;
	--spec | --kernel | --initrd | --boot-timeout | --token-file)
		[ $# -ge 2 ] || usage; ARGS+=("$1" "$2"); shift 2 ;;
	-h | --help) usage ;;
	http://* | https://*) BASE=$1; shift ;;
	*) echo "run.sh: unknown argument $1" >&2; usage ;;
	esac
done
if [ -z "$BASE" ] && [ -z "$SPAWN" ]; then usage; fi
if [ -n "$BASE" ] && [ -n "$SPAWN" ]; then echo "run.sh: a URL or --spawn, not both" >&2; exit 2; fi

fail_setup() {
	echo "not ok - setup: $*"
	echo "0 passed, 1 failed"
	exit 1
}

# node and the pinned packages
# shellcheck source=tests/npm-deps.sh
. "$ROOT/tests/npm-deps.sh"
why=$(npm_deps "$HERE" "$DEPS") || fail_setup "$why"

PID=
TMP=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$SPAWN" ]; then
	[ -x "$SPAWN" ] || fail_setup "$SPAWN is not an executable"
	TMP=$(mktemp -d /tmp/pinvm-contract.XXXXXX)
	mkdir -p "$TMP/state" "$TMP/images"
	printf 'not a kernel\n' >"$TMP/images/dummy.Image"
	(umask 077 && node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))' >"$TMP/token")
	ARGS+=(--token-file "$TMP/token")
	started=
	# Port 0: pinvmd takes a free port and names it in its ready file,
	# written once it serves (no port to guess, no race to retry).
	"$SPAWN" --listen tcp:127.0.0.1:0 --ready-file "$TMP/ready" --state-dir "$TMP/state" \
		--image-dir "$TMP/images" --token-file "$TMP/token" >"$TMP/pinvmd.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 300); do
		kill -0 "$PID" 2>/dev/null || break
		if [ -s "$TMP/ready" ]; then
			PORT=$(sed -n '1s/^tcp:127\.0\.0\.1://p' "$TMP/ready")
			[ -n "$PORT" ] && started=1
			break
		fi
		sleep 0.1
	done
	[ -n "$started" ] || fail_setup "pinvmd did not come up: $(tail -n 5 "$TMP/pinvmd.log")"
	BASE=http://127.0.0.1:$PORT
	echo "# spawned $SPAWN (pid $PID) on $BASE, state and images in $TMP"
fi

node "$HERE/contract.mjs" --base "$BASE" --deps "$DEPS" "${ARGS[@]}"
rc=$?
if [ -n "$SPAWN" ] && ! kill -0 "$PID" 2>/dev/null; then
	echo "# pinvmd exited during the run; its log:"
	sed 's/^/#   /' "$TMP/pinvmd.log" | tail -n 20
	rc=1
fi
exit $rc
