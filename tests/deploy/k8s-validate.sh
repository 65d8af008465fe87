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
# shellcheck source=tests/npm-deps.sh
. "$ROOT/tests/npm-deps.sh"
why=$(npm_deps "$HERE/k8s" "$DEPS") || fail_setup "$why"
if [ $# -eq 0 ]; then
	set -- "$ROOT"/deploy/k8s/*.yaml
fi
exec node "$HERE/k8s/validate.mjs" --deps "$DEPS" "$@"
