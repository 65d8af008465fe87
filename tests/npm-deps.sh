# Sourced by the test scripts that run node (tests/contract/run.sh,
# tests/deploy/k8s-validate.sh): npm_deps SRC DEPS installs the packages
# pinned in SRC/package-lock.json into DEPS (npm ci) unless DEPS already
# holds that lock, installing nodejs and npm with apt-get first when
# missing (as root). Returns 1 with the reason on stdout when it cannot.
npm_deps() {
	local src=$1 deps=$2
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
		fi
		command -v node >/dev/null || { echo "node is not installed"; return 1; }
	fi
	if cmp -s "$src/package-lock.json" "$deps/package-lock.json" &&
		[ -f "$deps/node_modules/.package-lock.json" ]; then
		return 0
	fi
	mkdir -p "$deps"
	cp "$src/package.json" "$src/package-lock.json" "$deps/"
	if ! (cd "$deps" && npm ci --silent --no-audit --no-fund) >"$deps/npm.log" 2>&1; then
		rm -f "$deps/package-lock.json"
		echo "npm ci in $deps failed: $(tail -n 5 "$deps/npm.log")"
		return 1
	fi
}
