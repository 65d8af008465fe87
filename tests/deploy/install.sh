#!/usr/bin/env bash
# The sh -c scripts below take their paths as "$1", "$2" on purpose.
# shellcheck disable=SC2016
# tests/deploy/install.sh BUILD_DIR: what `cmake --install` and the Debian
# package (CPack) hold. Ends with "N passed, N failed".
#   1. cmake --install --prefix /usr into a staging directory (DESTDIR):
#      exactly the expected files; the unit names /usr/bin/pinvmd and is
#      otherwise deploy/pinvmd.service; the installed pinvm runs.
#   2. the default prefix (/usr/local): the unit is deploy/pinvmd.service
#      as it is.
#   3. cpack -G DEB: dpkg-deb -c lists the same files under /usr, dpkg-deb
#      -I shows the package's name, version, architecture, its library
#      dependencies (dpkg-shlibdeps) and the maintainer scripts that create
#      the user and enable the unit.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: install.sh BUILD_DIR}" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

check() { # NAME COMMAND...: passes when COMMAND succeeds
	local name=$1; shift
	if "$@" >"$TMP/check.log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name:"
		sed 's/^/    /' "$TMP/check.log" | head -n 30
		failed=$((failed + 1))
	fi
}

# What an install under PREFIX holds, relative to it. Man pages only when
# scdoc built them; the CLI and its completion only with libcurl.
expected() {
	{
		echo bin/pinvmd
		echo bin/pinvm-vmm
		echo lib/systemd/system/pinvmd.service
		echo lib/sysusers.d/pinvm.conf
		echo share/pinvm/openapi.yaml
		if [ -e "$BUILD/bin/pinvm" ]; then
			echo bin/pinvm
			echo share/bash-completion/completions/pinvm
		fi
		if [ -e "$BUILD/man/pinvm.1" ]; then
			echo share/man/man1/pinvm.1
			echo share/man/man8/pinvmd.8
		fi
	} | sort
}

same_files() { # DIR: the files under DIR are exactly the expected ones
	diff <(expected) <(cd "$1" && find . -type f | sed 's|^\./||' | sort)
}

unit_for() { # BINDIR: deploy/pinvmd.service with ExecStart in BINDIR
	sed "s|^ExecStart=/usr/local/bin/pinvmd |ExecStart=$1/pinvmd |" "$ROOT/deploy/pinvmd.service"
}

stage=$TMP/stage
DESTDIR=$stage cmake --install "$BUILD" --prefix /usr >"$TMP/install.log" 2>&1
check "cmake --install --prefix /usr into a staging directory" test -d "$stage/usr/bin"
check "... installs exactly the expected files" same_files "$stage/usr"
check "... the unit's ExecStart names /usr/bin/pinvmd, the rest as deploy/ has it" \
	diff <(unit_for /usr/bin) "$stage/usr/lib/systemd/system/pinvmd.service"
check "... the sysusers file is deploy/pinvmd.sysusers.conf" \
	cmp "$ROOT/deploy/pinvmd.sysusers.conf" "$stage/usr/lib/sysusers.d/pinvm.conf"
check "... pinvmd and pinvm-vmm side by side, executable" \
	test -x "$stage/usr/bin/pinvmd" -a -x "$stage/usr/bin/pinvm-vmm"
check "... the installed pinvmd runs (--routes)" \
	sh -c '"$1" --routes | grep -q "^GET /v1/host$"' sh "$stage/usr/bin/pinvmd"
if [ -e "$BUILD/bin/pinvm" ]; then
	check "... the installed pinvm runs (--version)" \
		sh -c '"$1" --version | grep -q "^pinvm [0-9]"' sh "$stage/usr/bin/pinvm"
fi

local_stage=$TMP/stage-local
DESTDIR=$local_stage cmake --install "$BUILD" >"$TMP/install-local.log" 2>&1
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
check "cmake --install with the configured prefix ($prefix)" \
	same_files "$local_stage$prefix"
check "... its unit names $prefix/bin/pinvmd" \
	diff <(unit_for "$prefix/bin") "$local_stage$prefix/lib/systemd/system/pinvmd.service"

if ! command -v dpkg-shlibdeps >/dev/null; then
	echo "# the Debian package is not checked: dpkg-shlibdeps (Debian's dpkg-dev) is missing"
else
	(cd "$BUILD" && cpack -G DEB -B "$TMP/pkg") >"$TMP/cpack.log" 2>&1
	deb=$(find "$TMP/pkg" -maxdepth 1 -name 'pinvm_*.deb' | head -n 1)
	check "cpack -G DEB makes pinvm_VERSION_ARCH.deb" test -n "$deb"
	if [ -n "$deb" ]; then
		version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
		check "... named pinvm_${version}_$(dpkg --print-architecture).deb" \
			test "$(basename "$deb")" = "pinvm_${version}_$(dpkg --print-architecture).deb"
		check "... dpkg-deb -c: the same files, under /usr" diff \
			<(expected | sed 's|^|usr/|') \
			<(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||' | sort)
		field() { dpkg-deb -f "$deb" "$1"; }
		check "... Package: pinvm, Version: $version" \
			test "$(field Package) $(field Version)" = "pinvm $version"
		check "... Architecture: $(dpkg --print-architecture)" \
			test "$(field Architecture)" = "$(dpkg --print-architecture)"
		deps=$(field Depends)
		for d in libc6 libmicrohttpd12 libjansson4 libsqlite3-0 libcurl4 systemd init-system-helpers; do
			[ "$d" = libcurl4 ] && [ ! -e "$BUILD/bin/pinvm" ] && continue
			check "... Depends: $d" grep -qE "(^|, )$d( |,|$)" <<<"$deps"
		done
		check "... dpkg-deb -I: postinst creates the user and enables the unit" \
			sh -c 'dpkg-deb -I "$1" postinst | grep -q "systemd-sysusers pinvm.conf" &&
				dpkg-deb -I "$1" postinst | grep -q "deb-systemd-helper enable pinvmd.service"' \
			sh "$deb"
		check "... prerm and postrm are there" \
			sh -c 'dpkg-deb -I "$1" prerm >/dev/null && dpkg-deb -I "$1" postrm >/dev/null' sh "$deb"
		check "... its binaries are stripped" \
			sh -c 'dpkg-deb -x "$1" "$2/x" && ! readelf -S "$2/x/usr/bin/pinvmd" | grep -q "\.debug_info"' \
			sh "$deb" "$TMP"
	else
		tail -n 20 "$TMP/cpack.log"
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
