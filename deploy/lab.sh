#!/usr/bin/env bash
# deploy/lab.sh: the pinvm "lab", an emulated arm64 KVM host serving pinvm's
# REST API on 127.0.0.1.
#
# qemu-system-aarch64 (TCG, virtualization=on, so the guest kernel runs at EL2
# and its KVM is real) boots a stock Debian linux-image-cloud-arm64 kernel with
# a busybox initramfs holding the aarch64 build of pinvm; /init starts pinvmd
# on port 8080, forwarded to 127.0.0.1:PORT. The serial console (the server's
# log) goes to our stdout; progress goes to stderr as "lab: ..." lines; once
# the API answers, exactly one line is printed to stdout:
#   pinvm lab ready: http://127.0.0.1:PORT kernel=<uname -r>
#
# Usage: deploy/lab.sh [--kernel 5.10|6.1|6.12|latest] [--port N] [--cpus N]
#                      [--mem MiB] [--prepare] [--extra DIR]... [--selftest]
#                      [--control-port N] [--asan] [--link P]
#   --kernel   5.10 = bullseye, 6.1 = bookworm, 6.12 = trixie (default),
#              latest = trixie-backports; with --prepare also "all".
#   --prepare  fetch and cache the kernel(s), build pinvm and the initramfs
#              (.lab/initrd/<suite>.cpio.gz), then exit without booting.
#   --extra    copy DIR's contents into the initramfs at / (repeatable; the
#              lab's own files win on a name clash).
#   --control-port N  tests only: forward 127.0.0.1:N to a busybox httpd in
#              the lab whose /cgi-bin/run executes a POSTed shell command as
#              root (to kill a pinvm-vmm or look for leftovers). Off unless
#              asked; never expose it beyond loopback.
#   --asan     the ASan+UBSan build of pinvm (cmake -DPINVM_SANITIZE=ON, in
#              <repo>/build-aarch64-asan unless PINVM_LAB_BUILD_DIR is set);
#              the lab's /init gives pinvmd (and so pinvm-vmm) and the
#              selftest sanitizer options that put every report in
#              /tmp/asan/ in the lab (read them through --control-port, see
#              deploy/lab/init), and prints them on the console at the end.
#   --link P   join the private emulated link of every lab started with the
#              same P (1024-65535): a second NIC on a QEMU socket netdev
#              over 127.0.0.1:P (the first lab listens there, the next one
#              connects: start them one after the other; two labs per P).
#              Inside, the NIC has the link-local address 169.254.X.Y
#              derived from --port (X = 1 + (port >> 8) % 254, Y = port &
#              255, so labs on different ports never collide), and pinvmd
#              answers there on port 8080; once it does, one more line is
#              printed to stdout after the ready line:
#                pinvm lab link: 169.254.X.Y
#              The other lab's pinvmd reaches it at http://169.254.X.Y:8080.
#              Nothing leaves this machine: the link is a loopback socket.
#   --selftest boot, run pinvm-vmm-selftest (tests/vmm/selftest.c) in the
#              lab instead of serving the API, power off, and exit with the
#              selftest's status (0 = all passed). Its output is on stdout.
#
# The initramfs always carries /images (pinvmd's --image-dir): a guest
# kernel, debian-6.1-arm64.Image (bookworm's cloud kernel, whatever kernel
# the lab itself boots), and busybox-initramfs.cpio.gz, whose /init is
# deploy/lab/guest-init. Kernel arguments for the lab's /init (put them in
# PINVM_LAB_APPEND): pinvm.selftest=1 runs the selftest before pinvmd.
#
# Environment (all optional):
#   PINVM_LAB_CACHE       cache directory (default <repo>/.lab)
#   PINVM_LAB_MIRROR      Debian mirror (default http://deb.debian.org/debian)
#   PINVM_LAB_KEYRING     keyring for the suites' Release files (default
#                         /usr/share/keyrings/debian-archive-keyring.gpg)
#   PINVM_LAB_OFFLINE=1   do not contact the mirror; use the cached kernels
#   PINVM_LAB_RECHECK_MIN ask the mirror for a newer kernel at most every N
#                         minutes (default 60; 0 = on every run)
#   PINVM_LAB_TIMEOUT     seconds to wait for the API (default 300), or with
#                         --selftest for the whole run (default 1500)
#   PINVM_LAB_APPEND      extra kernel command line arguments
#   PINVM_LAB_CPU         QEMU -cpu (default max,pauth-impdef=on: QEMU's
#                         own pointer-authentication algorithm instead of
#                         QARMA boots 2-4x faster under TCG; the CPU's ID
#                         registers, and so the firmware registers, are
#                         the same as with plain max)
#   PINVM_LAB_MODULES     extra kernel modules to load (space separated)
#   PINVM_LAB_BUILD_DIR   aarch64 build directory (default <repo>/build-aarch64,
#                         with --asan <repo>/build-aarch64-asan)
#   PINVM_LAB_ASAN_OPTIONS, PINVM_LAB_UBSAN_OPTIONS  with --asan, appended
#                         to the lab's ASAN_OPTIONS / UBSAN_OPTIONS (e.g.
#                         detect_leaks=0)
#   PINVM_LAB_NO_BUILD=1  do not run cmake; take whatever is in BUILD_DIR/bin
#
# The machine's own apt sources are never changed: other suites' .debs come
# through a private apt configuration under the cache directory.
set -euo pipefail
shopt -s inherit_errexit # set -e inside $(...) too

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=$REPO/deploy/lab
CACHE=${PINVM_LAB_CACHE:-$REPO/.lab}
MIRROR=${PINVM_LAB_MIRROR:-http://deb.debian.org/debian}
KEYRING=${PINVM_LAB_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
BUILD_DIR= # set by parse_args: PINVM_LAB_BUILD_DIR or the default for --asan or not
TIMEOUT=${PINVM_LAB_TIMEOUT:-300}
ARCH_TRIPLET=aarch64-linux-gnu
READELF=$ARCH_TRIPLET-readelf

# Modules that give the guest virtio-net over PCI; whatever of them (and of
# their dependencies) a kernel has built in is skipped.
WANT_MODULES=(virtio_pci virtio_net)
read -r -a _extra_modules <<<"${PINVM_LAB_MODULES:-}"
WANT_MODULES+=("${_extra_modules[@]}")

HOST_PACKAGES=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio
	libasan8-arm64-cross libubsan1-arm64-cross
	xz-utils curl cmake make pkg-config libmicrohttpd-dev:arm64
	libjansson-dev:arm64 libsqlite3-dev:arm64 libfdt-dev:arm64
	libarchive-dev:arm64 libgnutls28-dev:arm64 libcurl4-openssl-dev:arm64)

KERNEL=6.12
PORT=8080
CPUS=2
MEM=2048
PREPARE=0
SELFTEST=0
ASAN=0
CONTROL_PORT=
LINK_PORT=
EXTRA_DIRS=()
# The guest kernel the lab ships in /images comes from this suite.
GUEST_SUITE=bookworm
GUEST_KERNEL_NAME="debian-6.1-arm64.Image"
GUEST_INITRD_NAME="busybox-initramfs.cpio.gz"

QEMU_PID=
RUN_DIR=
STOPPING=0

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^Environment/p' "${BASH_SOURCE[0]}" | sed '$d'
}

parse_args() {
	while (($#)); do
		case $1 in
		--kernel) KERNEL=${2:?--kernel needs a value}; shift ;;
		--kernel=*) KERNEL=${1#*=} ;;
		--port) PORT=${2:?--port needs a value}; shift ;;
		--port=*) PORT=${1#*=} ;;
		--cpus) CPUS=${2:?--cpus needs a value}; shift ;;
		--cpus=*) CPUS=${1#*=} ;;
		--mem) MEM=${2:?--mem needs a value}; shift ;;
		--mem=*) MEM=${1#*=} ;;
		--prepare) PREPARE=1 ;;
		--selftest) SELFTEST=1 ;;
		--asan) ASAN=1 ;;
		--control-port) CONTROL_PORT=${2:?--control-port needs a value}; shift ;;
		--control-port=*) CONTROL_PORT=${1#*=} ;;
		--link) LINK_PORT=${2:?--link needs a port}; shift ;;
		--link=*) LINK_PORT=${1#*=} ;;
		--extra) EXTRA_DIRS+=("${2:?--extra needs a directory}"); shift ;;
		--extra=*) EXTRA_DIRS+=("${1#*=}") ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
	local n
	for n in "$PORT" "$CPUS" "$MEM"; do
		[[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
	done
	((PORT > 0 && PORT < 65536)) || die "bad port: $PORT"
	if [[ -n $LINK_PORT ]]; then
		[[ $LINK_PORT =~ ^[0-9]+$ ]] && ((LINK_PORT >= 1024 && LINK_PORT <= 65535)) ||
			die "--link: not a port in 1024-65535: $LINK_PORT"
		((LINK_PORT != PORT)) || die "--link $LINK_PORT is the API port"
	fi
	local d
	for d in "${EXTRA_DIRS[@]}"; do
		[[ -d $d ]] || die "--extra: not a directory: $d"
	done
	if [[ $KERNEL == all && $PREPARE == 0 ]]; then
		die "--kernel all only goes with --prepare"
	fi
	if ((SELFTEST && PREPARE)); then
		die "--selftest and --prepare do not go together"
	fi
	if ((SELFTEST)); then
		TIMEOUT=${PINVM_LAB_TIMEOUT:-1500}
	fi
	if ((ASAN)); then
		BUILD_DIR=${PINVM_LAB_BUILD_DIR:-$REPO/build-aarch64-asan}
	else
		BUILD_DIR=${PINVM_LAB_BUILD_DIR:-$REPO/build-aarch64}
	fi
}

# Debian suite of a --kernel value.
suite_of() {
	case $1 in
	5.10 | bullseye) echo bullseye ;;
	6.1 | bookworm) echo bookworm ;;
	6.12 | trixie) echo trixie ;;
	latest | trixie-backports) echo trixie-backports ;;
	*) die "unknown kernel '$1' (5.10, 6.1, 6.12 or latest)" ;;
	esac
}

# ---------------------------------------------------------------- host setup

pkg_installed() {
	[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

ensure_host_packages() {
	local missing=() p
	dpkg --print-foreign-architectures | grep -qx arm64 || missing+=(arch:arm64)
	for p in "${HOST_PACKAGES[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "missing on this machine: ${missing[*]}"
	((EUID == 0)) || die "run as root (or install: ${HOST_PACKAGES[*]})"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		log "dpkg --add-architecture arm64"
		dpkg --add-architecture arm64
	fi
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get -q update >&2
	log "apt-get install ${HOST_PACKAGES[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends \
		"${HOST_PACKAGES[@]}" </dev/null >&2
}

# ---------------------------------------------- private apt for other suites

# apt-get for SUITE's arm64 packages, with its own sources.list, lists and
# cache under $CACHE/apt/SUITE; the machine's sources are not read.
apt_suite() {
	local suite=$1
	shift
	local d=$CACHE/apt/$suite
	apt-get -q \
		-o Dir::Etc::SourceList="$d/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o Dir::State::Lists="$d/lists" \
		-o Dir::Cache="$d/cache" \
		-o APT::Architecture=arm64 \
		-o APT::Architectures=arm64 \
		-o APT::Sandbox::User=root \
		-o Acquire::Retries=2 \
		-o Acquire::http::Timeout=30 \
		"$@"
}

write_sources() {
	local suite=$1 keyring=$2 d=$CACHE/apt/$1
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb [arch=arm64 signed-by=$keyring] $MIRROR $suite main" >"$d/sources.list"
}

# The union of the Debian archive keyrings installed by debian-archive-keyring
# (debian-archive-keyring.gpg and the per-release ones; never the removed
# keys): a newer suite's key can be in a per-release file only.
all_debian_keyrings() {
	local out=$CACHE/apt/debian-archive-all.gpg f
	: >"$out.tmp"
	for f in /usr/share/keyrings/debian-archive-*.gpg; do
		[[ $f == *removed* ]] && continue
		cat "$f" >>"$out.tmp"
	done
	mv "$out.tmp" "$out"
	echo "$out"
}

# apt-get update for SUITE. Verifies the Release signature with $KEYRING; if
# that lacks the signing key, with all of Debian's installed archive keyrings;
# never without verification. Returns non-zero if the mirror is unreachable.
apt_update_suite() {
	local suite=$1 out rc=0
	write_sources "$suite" "$KEYRING"
	out=$(apt_suite "$suite" update 2>&1) || rc=$?
	if ((rc)) && grep -qE 'NO_PUBKEY|EXPKEYSIG|not signed|GPG error|signatures (were|could)' <<<"$out"; then
		local all
		all=$(all_debian_keyrings)
		log "$suite: Release signature not verifiable with $KEYRING:"
		grep -E '^(W|E):' <<<"$out" | sed 's/^/lab:   /' >&2 || true
		log "$suite: retrying with all Debian archive keyrings in /usr/share/keyrings"
		write_sources "$suite" "$all"
		rc=0
		out=$(apt_suite "$suite" update 2>&1) || rc=$?
		if ((rc)) && grep -qE 'NO_PUBKEY|EXPKEYSIG|not signed|GPG error' <<<"$out"; then
			printf '%s\n' "$out" >&2
			die "$suite: cannot verify the Release signature with any installed Debian keyring;" \
				"update debian-archive-keyring or point PINVM_LAB_KEYRING at a keyring with the key above"
		fi
	fi
	# An unreachable mirror is only a warning for apt-get update.
	if ((rc)) || grep -qE '^W: Failed to fetch' <<<"$out"; then
		log "$suite: apt-get update failed:"
		grep -E '^(W|E):' <<<"$out" | sed 's/^/lab:   /' >&2 || true
		return 1
	fi
}

# ------------------------------------------------------------------ kernels

# Name of the .ko (without the path and compression suffix), as modules see it.
mod_name() {
	local n=${1##*/}
	n=${n%.xz}
	n=${n%.zst}
	n=${n%.gz}
	n=${n%.ko}
	echo "${n//-/_}"
}

# Turns the kernel .debs in KDIR/debs into KDIR/vmlinuz, KDIR/modules/*.ko
# (uncompressed, for busybox insmod) and KDIR/modules.load (load order,
# dependencies first, from each module's .modinfo depends=).
unpack_kernel() {
	local kdir=$1 tmp deb
	rm -f "$kdir/wanted" # marks a finished unpack, written last
	tmp=$(mktemp -d "$kdir/.unpack.XXXXXX")
	for deb in "$kdir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp"
	done
	local moddir release
	moddir=$(find "$tmp/lib/modules" "$tmp/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n1 || true)
	[[ -n $moddir ]] || die "no lib/modules/<release> in $kdir/debs"
	release=${moddir##*/}

	local img cand
	img=
	for cand in "$tmp/boot/vmlinuz-$release" "$moddir/vmlinuz" "$moddir/vmlinuz.unsigned"; do
		[[ -f $cand ]] && { img=$cand; break; }
	done
	[[ -n $img ]] || die "no kernel image for $release in $kdir/debs"
	# An arm64 Image has the magic "ARM\x64" at offset 56.
	[[ $(dd if="$img" bs=1 skip=56 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n') == 41524d64 ]] ||
		die "$img is not an arm64 Image"

	declare -A path=() builtin=() seen=()
	local f
	while IFS= read -r f; do
		path[$(mod_name "$f")]=$f
	done < <(find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
	if [[ -f $moddir/modules.builtin ]]; then
		while IFS= read -r f; do
			builtin[$(mod_name "$f")]=1
		done <"$moddir/modules.builtin"
	fi

	rm -rf "$kdir/modules" "$kdir/modules.load"
	mkdir -p "$kdir/modules"
	: >"$kdir/modules.load"
	local loaded=() builtins=()
	add_module() {
		local m=$1 src dst deps d
		[[ -n ${seen[$m]:-} ]] && return 0
		seen[$m]=1
		if [[ -n ${builtin[$m]:-} ]]; then
			builtins+=("$m")
			return 0
		fi
		src=${path[$m]:-}
		[[ -n $src ]] || die "$release: module $m is neither built in nor shipped"
		dst=$kdir/modules/$m.ko
		case $src in
		*.xz) xz -dc "$src" >"$dst" ;;
		*.zst) zstd -qdc "$src" >"$dst" ;;
		*.gz) gzip -dc "$src" >"$dst" ;;
		*) cp "$src" "$dst" ;;
		esac
		deps=$("$READELF" -p .modinfo "$dst" | sed -n 's/^ *\[ *[0-9a-f]*\] *depends=//p')
		for d in ${deps//,/ }; do
			add_module "$(mod_name "$d")"
		done
		echo "$m.ko" >>"$kdir/modules.load"
		loaded+=("$m")
	}
	local m
	for m in "${WANT_MODULES[@]}"; do
		add_module "$(mod_name "$m")"
	done
	unset -f add_module

	mv "$img" "$kdir/vmlinuz"
	echo "$release" >"$kdir/release"
	rm -rf "$tmp"
	printf '%s\n' "${WANT_MODULES[*]}" >"$kdir/wanted"
	log "$release: modules to load: ${loaded[*]:-none}; built in: ${builtins[*]:-none}"
}

# Downloads (into KDIR/debs) the versioned kernel package IMGPKG and, when it
# holds no kernel image itself (trixie-backports' linux-image-<release> is a
# stub), its linux-binary-/linux-modules-/linux-base-<release> dependencies.
download_kernel() {
	local suite=$1 imgpkg=$2 kdir=$3 pkgs deb
	mkdir -p "$kdir/debs"
	rm -f "$kdir"/debs/*.deb
	(cd "$kdir/debs" && apt_suite "$suite" download "$imgpkg" >&2)
	deb=$(echo "$kdir"/debs/*.deb)
	# (grep reads to the end: with pipefail, grep -q would break dpkg-deb's pipe)
	if ! dpkg-deb -c "$deb" | grep '/vmlinuz' >/dev/null; then
		local rel=${imgpkg#linux-image-}
		rel=${rel%-unsigned}
		local p
		pkgs=
		for p in $(dpkg-deb -f "$deb" Depends | tr ',|' '\n' | sed 's/^ *//; s/ .*//'); do
			case $p in
			linux-binary-"$rel" | linux-modules-"$rel" | linux-base-"$rel") pkgs+=" $p" ;;
			esac
		done
		[[ -n $pkgs ]] || die "$imgpkg has no kernel image and no linux-binary-* dependency"
		# shellcheck disable=SC2086 # word splitting of the package list is intended
		(cd "$kdir/debs" && apt_suite "$suite" download $pkgs >&2)
	fi
	local f
	for f in "$kdir"/debs/*.deb; do
		log "$suite: downloaded $(dpkg-deb -f "$f" Package) $(dpkg-deb -f "$f" Version) ($(du -h "$f" | cut -f1))"
	done
}

# Makes $CACHE/kernels/SUITE/current point at an unpacked, up-to-date kernel
# and prints that path. Asks the mirror for the metapackage's current version
# at most every PINVM_LAB_RECHECK_MIN minutes (default 60; 0 = every run);
# without network, falls back to what is cached.
fetch_kernel() {
	local suite=$1 kroot=$CACHE/kernels/$1 metadir
	mkdir -p "$kroot"
	rm -rf "$kroot"/.meta.* "$kroot"/*/.unpack.* # left by an interrupted run
	local recheck=${PINVM_LAB_RECHECK_MIN:-60} why=''
	if [[ ${PINVM_LAB_OFFLINE:-0} == 1 ]]; then
		why="PINVM_LAB_OFFLINE=1"
	elif [[ -f $kroot/current/.ok && $recheck -gt 0 &&
		-n $(find "$kroot/.checked" -mmin "-$recheck" 2>/dev/null) ]]; then
		why="checked the mirror less than $recheck min ago"
	fi

	local imgpkg='' imgver='' metaver=''
	if [[ -z $why ]]; then
		if apt_update_suite "$suite"; then
			metadir=$(mktemp -d "$kroot/.meta.XXXXXX")
			if (cd "$metadir" && apt_suite "$suite" download linux-image-cloud-arm64 >/dev/null 2>&1); then
				local meta
				meta=$(echo "$metadir"/*.deb)
				metaver=$(dpkg-deb -f "$meta" Version)
				# Depends: linux-image-<release>-cloud-arm64[-unsigned] (= version), ...
				read -r imgpkg imgver < <(dpkg-deb -f "$meta" Depends | tr ',' '\n' |
					sed -n 's/^ *\(linux-image-[^ ]*\) *(= *\([^)]*\)).*/\1 \2/p' | head -n1) || true
			fi
			rm -rf "$metadir"
		fi
		[[ -n $imgpkg ]] || why="the mirror was not reached"
	fi

	local kdir
	if [[ -z $imgpkg ]]; then
		[[ -f $kroot/current/.ok ]] || die "$suite: no kernel cached in $kroot ($why)"
		kdir=$kroot/current
		log "$suite: $(cat "$kdir/info") (cached; $why)"
	else
		log "$suite: linux-image-cloud-arm64 $metaver -> $imgpkg $imgver"
		local key=${imgpkg}_$imgver
		kdir=$kroot/$key
		if [[ ! -f $kdir/.ok ]]; then
			rm -rf "$kdir"
			mkdir -p "$kdir"
			download_kernel "$suite" "$imgpkg" "$kdir"
			unpack_kernel "$kdir"
			echo "$imgpkg $imgver (linux-image-cloud-arm64 $metaver)" >"$kdir/info"
			touch "$kdir/.ok"
		fi
		ln -sfn "$key" "$kroot/current"
		touch "$kroot/.checked"
		# Older kernels of this suite are not needed any more.
		local old
		for old in "$kroot"/*/; do
			old=${old%/}
			[[ ${old##*/} == "$key" || ${old##*/} == current ]] || rm -rf "$old"
		done
		kdir=$kroot/current
	fi
	# Re-pick the modules from the cached .debs if the wanted set changed.
	[[ $(cat "$kdir/wanted" 2>/dev/null) == "${WANT_MODULES[*]}" ]] || unpack_kernel "$kdir"
	echo "$kdir"
}

# ------------------------------------------------------- userland of the lab

# busybox-static for arm64, from the machine's own suite (arm64 is a foreign
# architecture here, so apt-get download works without installing it).
fetch_busybox() {
	local d=$CACHE/busybox
	if [[ -x $d/busybox ]]; then
		echo "$d/busybox"
		return
	fi
	mkdir -p "$d"
	rm -f "$d"/*.deb
	if ! (cd "$d" && apt-get -q -o APT::Sandbox::User=root download busybox-static:arm64 >&2); then
		log "apt-get download busybox-static:arm64 failed; apt-get update and retry"
		apt-get -q update >&2
		(cd "$d" && apt-get -q -o APT::Sandbox::User=root download busybox-static:arm64 >&2)
	fi
	local deb tmp
	deb=$(echo "$d"/busybox-static_*.deb)
	log "downloaded $(dpkg-deb -f "$deb" Package):arm64 $(dpkg-deb -f "$deb" Version)"
	tmp=$(mktemp -d "$d/.x.XXXXXX")
	dpkg-deb -x "$deb" "$tmp"
	"$READELF" -h "$tmp/bin/busybox" | grep AArch64 >/dev/null || die "busybox-static:arm64 is not an arm64 binary"
	mv "$tmp/bin/busybox" "$d/busybox"
	rm -rf "$tmp"
	echo "$d/busybox"
}

# /images for the lab's pinvmd and pinvm-vmm-selftest, as an uncompressed
# newc cpio that build_initrd puts first: the GUEST_SUITE (6.1) cloud
# kernel's Image (Debian's arm64 vmlinuz is an uncompressed Image) and a
# busybox initramfs whose /init is deploy/lab/guest-init. Uncompressed
# because an arm64 Image shrinks only ~2.5x and the emulated lab would
# spend seconds inflating it at every boot. Cached under $CACHE/images,
# keyed by the kernel package, busybox and guest-init.
build_images() {
	local gkdir=$1 busybox=$2 d=$CACHE/images key stage
	key=$({
		cat "$gkdir/info"
		sha256sum "$busybox" "$LAB_DIR/guest-init" | cut -d' ' -f1
	} | sha256sum | cut -c1-16)
	if [[ -f $d/$key.cpio ]]; then
		echo "$d/$key.cpio"
		return
	fi
	mkdir -p "$d"
	rm -rf "$d"/.stage.* "$d"/*.cpio "$d"/*.tmp
	stage=$(mktemp -d "$d/.stage.XXXXXX")
	mkdir -p "$stage/guest"/{bin,dev,proc,sys,tmp} "$stage/images"
	cp "$busybox" "$stage/guest/bin/busybox"
	ln -s busybox "$stage/guest/bin/sh"
	install -m 0755 "$LAB_DIR/guest-init" "$stage/guest/init"
	mknod -m 0600 "$stage/guest/dev/console" c 5 1 2>/dev/null || true
	(cd "$stage/guest" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9) \
		>"$stage/images/$GUEST_INITRD_NAME"
	cp "$gkdir/vmlinuz" "$stage/images/$GUEST_KERNEL_NAME"
	chmod 0644 "$stage/images"/*
	(cd "$stage" && find images | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$d/$key.cpio.tmp"
	mv "$d/$key.cpio.tmp" "$d/$key.cpio"
	rm -rf "$stage"
	log "guest images: $GUEST_KERNEL_NAME ($(cat "$gkdir/release")), $GUEST_INITRD_NAME -> $d/$key.cpio ($(du -h "$d/$key.cpio" | cut -f1))"
	echo "$d/$key.cpio"
}

build_pinvm() {
	if [[ ${PINVM_LAB_NO_BUILD:-0} == 1 ]]; then
		log "PINVM_LAB_NO_BUILD=1: taking $BUILD_DIR/bin as it is"
	else
		local sanitize=OFF
		((ASAN)) && sanitize=ON
		log "building pinvm for aarch64 in $BUILD_DIR (PINVM_SANITIZE=$sanitize)"
		cmake -S "$REPO" -B "$BUILD_DIR" \
			-DCMAKE_TOOLCHAIN_FILE="$REPO/cmake/aarch64-linux-gnu.cmake" \
			-DPINVM_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
			-DPINVM_SANITIZE="$sanitize" >&2 ||
			die "cmake configure for aarch64 failed"
		cmake --build "$BUILD_DIR" -j2 >&2 || die "aarch64 build of pinvm failed"
	fi
	[[ -x $BUILD_DIR/bin/pinvmd ]] || die "$BUILD_DIR/bin/pinvmd was not built"
	if ((ASAN)); then
		local exe
		for exe in "$BUILD_DIR/bin/pinvmd" "$BUILD_DIR/bin/pinvm-vmm"; do
			"$READELF" -d "$exe" | grep -F '[libasan.so' >/dev/null ||
				die "--asan: $exe is not linked with libasan (a build without PINVM_SANITIZE=ON?)"
		done
	fi
}

# With --asan, the lab's /etc/lab/asan: the sanitizer options /init exports.
# ASan and LeakSanitizer reports go to /tmp/asan/asan.<program>.<pid>.
# UBSan, whose runtime in GCC shares the process with ASan's, ignores
# log_path and writes to stderr; log_to_syslog=1 also sends its reports to
# syslog, which /init keeps in /tmp/asan/ubsan.syslog. The tests read
# /tmp/asan/ through the control port; /init prints it on the console when
# pinvmd ends. halt_on_error: the first error ends the process (the build
# has -fno-sanitize-recover=all too). LeakSanitizer runs when a process
# exits by itself (pinvmd on SIGTERM, pinvm-vmm when its VM ended); in the
# emulated lab one leak check takes ~5 s, even for a trivial program.
write_asan_options() {
	local out=$1
	local asan="log_path=/tmp/asan/asan:log_exe_name=1:detect_leaks=1:halt_on_error=1"
	asan+=":detect_stack_use_after_return=1"
	local ubsan="log_to_syslog=1:print_stacktrace=1:halt_on_error=1"
	asan+=${PINVM_LAB_ASAN_OPTIONS:+:$PINVM_LAB_ASAN_OPTIONS}
	ubsan+=${PINVM_LAB_UBSAN_OPTIONS:+:$PINVM_LAB_UBSAN_OPTIONS}
	printf "ASAN_OPTIONS='%s'\nUBSAN_OPTIONS='%s'\n" "$asan" "$ubsan" >"$out"
}

# Directories searched for the binaries' shared libraries.
LIB_DIRS=("/usr/lib/$ARCH_TRIPLET" "/lib/$ARCH_TRIPLET" "/usr/$ARCH_TRIPLET/lib")
# Libraries (and the loader) already copied into the initramfs being built.
declare -A COPIED=()

find_lib() {
	local d
	for d in "${LIB_DIRS[@]}"; do
		[[ -e $d/$1 ]] && { echo "$d/$1"; return 0; }
	done
	return 1
}

# Copies the shared libraries of ELF file $2 (DT_NEEDED, recursively) and its
# program interpreter into the root $1.
copy_libs() {
	local root=$1 elf=$2 interp lib src
	interp=$("$READELF" -l "$elf" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	if [[ -n $interp && -z ${COPIED[$interp]:-} ]]; then
		COPIED[$interp]=1
		src=$interp
		if [[ ! -e $src ]] || ! "$READELF" -h "$src" 2>/dev/null | grep AArch64 >/dev/null; then
			src=$(find_lib "${interp##*/}") || die "program interpreter $interp of $elf not found"
		fi
		mkdir -p "$root$(dirname "$interp")"
		cp -L "$src" "$root$interp"
	fi
	for lib in $("$READELF" -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[[ -n ${COPIED[$lib]:-} ]] && continue
		COPIED[$lib]=1
		src=$(find_lib "$lib") || die "shared library $lib (needed by $elf) not found in ${LIB_DIRS[*]}"
		cp -L "$src" "$root/usr/lib/$ARCH_TRIPLET/$lib"
		copy_libs "$root" "$src"
	done
}

# Builds the initramfs for the kernel in KDIR into OUT: a gzip'ed newc cpio of
# busybox, /init, the kernel's modules, and every executable of BUILD_DIR/bin
# with its shared libraries; before it the /images cpio (IMAGES) and each
# --extra DIR as an uncompressed cpio (no time spent compressing or, in the
# emulated guest, decompressing tens of MB). The extras come first: the
# kernel unpacks the archives in order, so the lab's own files win on a clash.
build_initrd() {
	local kdir=$1 out=$2 busybox=$3 images=$4 stage
	stage=$(mktemp -d "${out%/*}/.stage.XXXXXX")
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/lib/$ARCH_TRIPLET,lib/modules,etc/lab,proc,sys,dev,tmp,run,root,var/lib/pinvm}
	# Libraries live in /usr/lib/aarch64-linux-gnu (the loader's default
	# path, as /lib/aarch64-linux-gnu is); the loader at PT_INTERP's path.
	ln -s ../usr/lib/"$ARCH_TRIPLET" "$stage/lib/$ARCH_TRIPLET"
	cp "$busybox" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	install -m 0755 "$LAB_DIR/init" "$stage/init"
	mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null || true
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\n' >"$stage/etc/group"
	printf '127.0.0.1 localhost\n' >"$stage/etc/hosts"

	cp "$kdir"/modules/*.ko "$stage/lib/modules/" 2>/dev/null || true
	cp "$kdir/modules.load" "$stage/etc/lab/modules"
	((ASAN)) && write_asan_options "$stage/etc/lab/asan"

	COPIED=()
	local exe
	for exe in "$BUILD_DIR"/bin/*; do
		[[ -f $exe && -x $exe ]] || continue
		cp "$exe" "$stage/usr/bin/"
		if "$READELF" -h "$exe" >/dev/null 2>&1; then
			copy_libs "$stage" "$exe"
		fi
	done

	local base=$out.base.tmp d
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$base"
	# newc archives are padded to 512 bytes, so each next one starts aligned.
	cat "$images" >"$out.tmp"
	for d in "${EXTRA_DIRS[@]}"; do
		# newc archives are padded to 512 bytes, so the next one starts aligned.
		(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >>"$out.tmp"
	done
	cat "$base" >>"$out.tmp"
	rm -f "$base"
	mv "$out.tmp" "$out"
	rm -rf "$stage"
	log "initramfs for $(cat "$kdir/release"): $out ($(du -h "$out" | cut -f1); executables: $(cd "$BUILD_DIR/bin" && echo *)$( ((ASAN)) && echo ', ASan+UBSan build'))"
}

# -------------------------------------------------------------------- boot

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop_qemu() {
	[[ -n $QEMU_PID ]] || return 0
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -TERM "$QEMU_PID" 2>/dev/null || true
		local i
		for ((i = 0; i < 50; i++)); do
			kill -0 "$QEMU_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$QEMU_PID" 2>/dev/null || true
	fi
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
}

cleanup() {
	stop_qemu
	[[ -n $RUN_DIR ]] && rm -rf "$RUN_DIR"
	return 0
}

on_signal() {
	STOPPING=1
	log "stopping the lab ($1)"
	stop_qemu
	exit 0
}

# --selftest: QEMU's console goes to a file we follow; the lab's /init runs
# pinvm-vmm-selftest, prints "pinvm-vmm-selftest: exit status N" and powers
# off. Returns N.
selftest_wait() {
	local log=$1 t0=$2 rc=0 tail_pid status
	tail -n +1 -f --pid="$QEMU_PID" "$log" &
	tail_pid=$!
	local deadline=$((SECONDS + TIMEOUT))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "the selftest did not finish within ${TIMEOUT}s"
			stop_qemu
			break
		fi
		sleep 0.5
	done
	if [[ -n $QEMU_PID ]]; then
		wait "$QEMU_PID" || rc=$?
		QEMU_PID=
	fi
	wait "$tail_pid" 2>/dev/null || true
	status=$(sed -n 's/^pinvm-vmm-selftest: exit status \([0-9]*\).*/\1/p' "$log" | tail -n1)
	log "the lab ran $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s (QEMU status $rc)"
	if [[ -z $status ]]; then
		log "no selftest result on the console"
		return 1
	fi
	log "pinvm-vmm-selftest exit status $status"
	return "$status"
}

# The lab's address on the --link network, from its API port: 169.254.0.x
# and 169.254.255.x are reserved (RFC 3927), so X runs 1-254.
link_addr() {
	echo "169.254.$((1 + ($1 >> 8) % 254)).$(($1 & 255))"
}

# A locally administered MAC from the same two bytes (two labs on one
# link must not share QEMU's default MAC).
link_mac() {
	printf '52:54:a9:fe:%02x:%02x\n' $((1 + ($1 >> 8) % 254)) $(($1 & 255))
}

# Waits until the lab's /init says pinvmd answers on the link address.
link_wait() {
	local console=$1 addr=$2 deadline=$((SECONDS + TIMEOUT))
	while ! grep -q "^lab-init: link up: $addr\b" "$console" 2>/dev/null; do
		kill -0 "$QEMU_PID" 2>/dev/null || return 1
		if ((SECONDS >= deadline)); then
			log "pinvmd did not answer on the link address $addr within ${TIMEOUT}s"
			return 1
		fi
		sleep 0.5
	done
	echo "pinvm lab link: $addr"
}

boot() {
	local kdir=$1 initrd=$2 release
	release=$(cat "$kdir/release")
	local chardev="stdio,id=con,signal=off" link_args=() link_ip=
	if [[ -n $LINK_PORT ]] && ((!SELFTEST)); then
		link_ip=$(link_addr "$PORT")
		local mode=listen
		# A lab already listening on the link port: join it.
		port_in_use "$LINK_PORT" && mode=connect
		log "link 127.0.0.1:$LINK_PORT ($mode): $link_ip"
		link_args=(-netdev "socket,id=n1,$mode=127.0.0.1:$LINK_PORT"
			-device "virtio-net-pci,netdev=n1,mac=$(link_mac "$PORT"),romfile=")
		# A copy of the console, to see when /init reports the link up.
		chardev+=",logfile=$RUN_DIR/console.log"
	fi
	local append="console=ttyAMA0 panic=-1 quiet"
	local netdev="user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:8080"
	if ((SELFTEST)); then
		append+=" pinvm.selftest=1 pinvm.selftest.exit=1"
		netdev="user,id=n0" # nothing to serve, no port to take
	elif [[ -n $CONTROL_PORT ]]; then
		# Tests only: a shell inside the lab, on the loopback port given.
		append+=" pinvm.control=1"
		netdev+=",hostfwd=tcp:127.0.0.1:$CONTROL_PORT-:8081"
	fi
	[[ -n $link_ip ]] && append+=" pinvm.link=$link_ip pinvm.link.mac=$(link_mac "$PORT")"
	append+="${PINVM_LAB_APPEND:+ $PINVM_LAB_APPEND}"
	# shellcheck disable=SC2054 # the commas are QEMU's
	local qemu=(qemu-system-aarch64
		-M virt,virtualization=on,gic-version=3 -cpu "${PINVM_LAB_CPU:-max,pauth-impdef=on}" -smp "$CPUS" -m "$MEM"
		-display none -no-reboot -monitor none
		-chardev "$chardev" -serial chardev:con
		-kernel "$kdir/vmlinuz" -initrd "$initrd"
		-append "$append"
		-netdev "$netdev"
		-device virtio-net-pci,netdev=n0,romfile= "${link_args[@]}")
	# Own session: a Ctrl-C on the terminal reaches lab.sh only, which stops
	# QEMU itself. --pdeathsig: QEMU dies with lab.sh even on SIGKILL.
	# stdin is /dev/null, so QEMU never reads (or stops on) the terminal.
	local t0=$EPOCHREALTIME
	if ((SELFTEST)); then
		log "booting $release: ${CPUS} vCPUs, ${MEM} MiB, to run pinvm-vmm-selftest"
		setsid setpriv --pdeathsig KILL -- "${qemu[@]}" </dev/null >"$RUN_DIR/console.log" &
		QEMU_PID=$!
		local st=0
		selftest_wait "$RUN_DIR/console.log" "$t0" || st=$?
		exit "$st"
	fi
	log "booting $release: ${CPUS} vCPUs, ${MEM} MiB, API on 127.0.0.1:$PORT"
	setsid setpriv --pdeathsig KILL -- "${qemu[@]}" </dev/null &
	QEMU_PID=$!

	local deadline=$((SECONDS + TIMEOUT)) code rc=0
	while :; do
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			wait "$QEMU_PID" || rc=$?
			QEMU_PID=
			die "QEMU exited (status $rc) before the lab was ready"
		fi
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/v1/host" || true)
		[[ $code != 000 && -n $code ]] && break
		if ((SECONDS >= deadline)); then
			stop_qemu
			die "the lab did not answer on 127.0.0.1:$PORT within ${TIMEOUT}s"
		fi
		sleep 0.5
	done
	log "the API answered $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after QEMU started"
	echo "pinvm lab ready: http://127.0.0.1:$PORT kernel=$release"
	if [[ -n $link_ip ]] && ! link_wait "$RUN_DIR/console.log" "$link_ip"; then
		stop_qemu
		die "the lab's link did not come up"
	fi

	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	((STOPPING)) && exit 0
	log "QEMU exited by itself (status $rc): the guest powered off or crashed"
	exit $((rc ? rc : 1))
}

main() {
	parse_args "$@"
	local suites=() k
	if [[ $KERNEL == all ]]; then
		for k in 5.10 6.1 6.12 latest; do suites+=("$(suite_of "$k")"); done
	else
		suites=("$(suite_of "$KERNEL")")
	fi
	if ((!PREPARE && !SELFTEST)) && port_in_use "$PORT"; then
		die "port 127.0.0.1:$PORT is already in use"
	fi

	mkdir -p "$CACHE"
	trap cleanup EXIT
	trap 'on_signal SIGINT' INT
	trap 'on_signal SIGTERM' TERM
	trap 'on_signal SIGHUP' HUP

	# One lab.sh at a time prepares (apt lists, cache, build directory).
	exec 9>"$CACHE/.lock"
	if ! flock -n 9; then
		log "waiting for another lab.sh to finish preparing"
		flock 9
	fi
	rm -rf "$CACHE"/initrd/.stage.* # left by an interrupted --prepare
	ensure_host_packages
	local busybox kdirs=() s
	for s in "${suites[@]}"; do
		k=$(fetch_kernel "$s")
		kdirs+=("$k")
	done
	busybox=$(fetch_busybox)
	local images
	images=$(build_images "$(fetch_kernel "$GUEST_SUITE")" "$busybox")
	build_pinvm

	if ((PREPARE)); then
		mkdir -p "$CACHE/initrd"
		local i
		for i in "${!suites[@]}"; do
			build_initrd "${kdirs[$i]}" "$CACHE/initrd/${suites[$i]}$( ((ASAN)) && echo -asan).cpio.gz" \
				"$busybox" "$images"
		done
		log "prepared: ${suites[*]}"
		return 0
	fi

	mkdir -p "$CACHE/run"
	# Run directories of labs killed with SIGKILL (a running lab's QEMU read
	# its initrd when it started).
	find "$CACHE/run" -mindepth 1 -maxdepth 1 -name 'lab.*' -mmin +60 -exec rm -rf {} +
	RUN_DIR=$(mktemp -d "$CACHE/run/lab.XXXXXX")
	build_initrd "${kdirs[0]}" "$RUN_DIR/initrd.img" "$busybox" "$images"
	flock -u 9
	exec 9>&-
	boot "${kdirs[0]}" "$RUN_DIR/initrd.img"
}

main "$@"
