#!/usr/bin/env bash
# tests/deploy/k8s-validate.sh [FILE.yaml...]: the Kubernetes manifests
# (default deploy/k8s/*.yaml) checked offline, without a cluster, by
# tests/deploy/k8s/validate.mjs: Kubernetes' OpenAPI schemas
# (kubernetes-models), its types with unknown fields refused
# (kubernetes-types + tsc), pinvm's policy; and broken copies refused.
# Installs the npm packages pinned in tests/deploy/k8s/package-lock.json into
# tests/.deps/k8s when missing (nodejs and npm with apt-get, as root).
# Ends with "N passed, N failed".
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEPS=$ROOT/tests/.deps/k8s

fail_setup() {
	echo "not ok - setup: $*"
	echo "0 passed, 1 failed"
	exit 1
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
	fi
	command -v node >/dev/null || fail_setup "node is not installed"
fi
if ! cmp -s "$HERE/k8s/package-lock.json" "$DEPS/package-lock.json" ||
	[ ! -f "$DEPS/node_modules/.package-lock.json" ]; then
	mkdir -p "$DEPS"
	cp "$HERE/k8s/package.json" "$HERE/k8s/package-lock.json" "$DEPS/"
	if ! (cd "$DEPS" && npm ci --silent --no-audit --no-fund) >"$DEPS/npm.log" 2>&1; then
		rm -f "$DEPS/package-lock.json"
		fail_setup "npm ci in $DEPS failed: $(tail -n 5 "$DEPS/npm.log")"
	fi
fi
if [ $# -eq 0 ]; then
	set -- "$ROOT"/deploy/k8s/*.yaml
fi
exec node "$HERE/k8s/validate.mjs" --deps "$DEPS" "$@"
