#!/usr/bin/env bash
# The sh -c scripts take the root as "$1" on purpose.
# shellcheck disable=SC2016
# tests/deploy/package-chroot.sh DEB: installs pinvm's Debian package with
# dpkg -i into a clean Debian 12 root file system (mmdebstrap, minbase plus
# the package's dependencies) and checks what a user gets: the pinvm user,
# the unit enabled, `systemd-analyze verify` silent about it there, the
# binaries running; then dpkg -r and -P. As root. Ends with
# "N passed, N failed" and prints its time.
# The root file system is cached outside the checkout, in
# ${XDG_CACHE_HOME:-~/.cache}/pinvm/ (built once per machine, about 4 minutes, most of
# it downloading, and shared by every clone); PINVM_CHROOT_REFRESH=1 rebuilds it.
# Installs mmdebstrap when missing.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEB=$(realpath "${1:?usage: package-chroot.sh DEB}")
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/pinvm/bookworm-pinvm-deps.tar
TMP=$(mktemp -d)
passed=0 failed=0 t0=$SECONDS
cleanup() {
	# Nothing may stay mounted in the root before it is removed.
	umount -R "$TMP/root/proc" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

check() { # NAME COMMAND...
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
in_root() { chroot "$TMP/root" "$@"; }

command -v mmdebstrap >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null

# The package's dependencies, versions dropped: what the clean system must
# already hold for dpkg -i (which resolves nothing) to succeed.
deps=$(dpkg-deb -f "$DEB" Depends | sed -E 's/ \([^)]*\)//g; s/ //g')
if [ ! -f "$CACHE" ] || [ "${PINVM_CHROOT_REFRESH:-0}" = 1 ] ||
	[ "$(cat "$CACHE.deps" 2>/dev/null)" != "$deps" ]; then
	mkdir -p "$(dirname "$CACHE")"
	echo "# building a Debian 12 root with $deps (cached in $CACHE)"
	rm -rf "$CACHE"
	# mmdebstrap picks the output format by the name's ending: *.tar.
	if ! mmdebstrap --quiet --variant=minbase --include="$deps" bookworm "$TMP/root.tar" \
		>"$TMP/mmdebstrap.log" 2>&1; then
		tail -n 20 "$TMP/mmdebstrap.log"
		echo "not ok - mmdebstrap made a Debian 12 root file system"
		echo "0 passed, 1 failed"
		exit 1
	fi
	mv "$TMP/root.tar" "$CACHE"
	echo "$deps" >"$CACHE.deps"
fi
mkdir "$TMP/root"
tar -C "$TMP/root" -xf "$CACHE"
cp "$DEB" "$TMP/root/tmp/pinvm.deb"
mount -t proc proc "$TMP/root/proc"

check "dpkg -i pinvm.deb in a clean Debian 12 root" in_root dpkg -i /tmp/pinvm.deb
check "... the package is installed" \
	sh -c 'chroot "$1" dpkg-query -W -f="\${Status}" pinvm | grep -q "install ok installed"' sh "$TMP/root"
check "... the pinvm user exists, in no group but its own" \
	sh -c 'chroot "$1" id pinvm | grep -q "^uid=[0-9]*(pinvm) gid=[0-9]*(pinvm) groups=[0-9]*(pinvm)$"' sh "$TMP/root"
check "... the kvm group exists (SupplementaryGroups=kvm)" in_root getent group kvm
check "... pinvmd.service is enabled (multi-user.target.wants)" \
	test -L "$TMP/root/etc/systemd/system/multi-user.target.wants/pinvmd.service"
check "... systemctl there says enabled" \
	sh -c 'chroot "$1" systemctl is-enabled pinvmd.service | grep -qx enabled' sh "$TMP/root"
# verify exits 0 even on a bad key; anything it says about the unit fails.
check "... systemd-analyze verify says nothing about the unit" \
	sh -c 'out=$(chroot "$1" systemd-analyze verify pinvmd.service 2>&1); echo "$out";
		! echo "$out" | grep -q pinvmd' sh "$TMP/root"
check "... pinvmd runs there (--routes)" \
	sh -c 'chroot "$1" pinvmd --routes | grep -q "^GET /v1/host$"' sh "$TMP/root"
check "... pinvm runs there (--version)" \
	sh -c 'chroot "$1" pinvm --version | grep -q "^pinvm "' sh "$TMP/root"
check "... man pinvm's source is there" test -s "$TMP/root/usr/share/man/man1/pinvm.1"
check "dpkg -r pinvm: its binaries are gone" \
	sh -c 'chroot "$1" dpkg -r pinvm && ! test -e "$1/usr/bin/pinvmd"' sh "$TMP/root"
check "dpkg -P pinvm: the enablement link is gone" \
	sh -c 'chroot "$1" dpkg -P pinvm &&
		! test -e "$1/etc/systemd/system/multi-user.target.wants/pinvmd.service"' sh "$TMP/root"
echo "package in a clean Debian 12 root took $((SECONDS - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
