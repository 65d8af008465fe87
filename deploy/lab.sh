#!/usr/bin/env bash
# deploy/lab.sh: the pinvm "lab", an emulated arm64 KVM host serving pinvm's
# REST API on 127.0.0.1.
#
# qemu-system-aarch64 (TCG, virtualization=on, so the guest kernel runs at EL2
# and its KVM is real) boots a stock Debian linux-image-cloud-arm64 kernel with
# a busybox initramfs holding the aarch64 build of pinvm; /init starts pinvmd
# on port 8080, forwarded to 127.0.0.1:PORT. The serial console (the server's
# log) goes to our stdout; progress goes to stderr as "lab: ..." lines; once
# the API answers, exactly one line is printed to stdout, always at the
# start of a line (a newline goes first: the console may be mid-line):
#   pinvm lab ready: http://127.0.0.1:PORT kernel=<uname -r>
#
# Usage: deploy/lab.sh [--kernel 5.10|6.1|6.12|latest] [--port N] [--cpus N]
#                      [--mem MiB] [--prepare] [--extra DIR]... [--selftest]
#                      [--control-port N] [--asan] [--link P] [--peer]
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
#              printed to stdout after the ready line (it too starts a line):
#                pinvm lab link: 169.254.X.Y
#              The other lab's pinvmd reaches it at http://169.254.X.Y:8080.
#              Nothing leaves this machine: the link is a loopback socket.
#   --peer     also carry the peer VMM for the benchmarks: QEMU
#              (qemu-system-aarch64) of the lab kernel's own Debian suite
#              (trixie's for latest), its libraries and that suite's
#              loader, at /peer/qemu (deploy/lab/peer.sh; run it as
#              /peer/qemu/ld-linux-aarch64.so.1 --library-path
#              /peer/qemu/lib /peer/qemu/qemu-system-aarch64 ...); adds
#              16 MB (zstd) to the initramfs. With --prepare, fetch it
#              (and build .lab/initrd/<suite>-peer.cpio.gz).
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
#   PINVM_LAB_GIC         the emulated host's interrupt controller, 3 (default)
#                         or 2: a host with only a GICv2, on which KVM gives
#                         guests a vGICv2 and pinvm falls back to it (max 8
#                         vCPUs); tried 2026-12-01 on 6.12: KVM works (8
#                         vCPUs at most) and a Linux guest starts booting
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
	pax-utils python3-pyelftools zstd
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
PEER=0
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
		--peer) PEER=1 ;;
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

# The jobs, one file each (functions only; they use the globals above).
# shellcheck source=deploy/lab/apt.sh
source "$LAB_DIR/apt.sh"
# shellcheck source=deploy/lab/kernels.sh
source "$LAB_DIR/kernels.sh"
# shellcheck source=deploy/lab/initramfs.sh
source "$LAB_DIR/initramfs.sh"
# shellcheck source=deploy/lab/boot.sh
source "$LAB_DIR/boot.sh"
# shellcheck source=deploy/lab/peer.sh
source "$LAB_DIR/peer.sh"

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
	local busybox kdirs=() peers=() s
	for s in "${suites[@]}"; do
		k=$(fetch_kernel "$s")
		kdirs+=("$k")
	done
	if ((PEER)); then
		for s in "${suites[@]}"; do
			peers+=("$(fetch_peer "$(peer_suite_of "$s")")")
		done
	fi
	busybox=$(fetch_busybox)
	local images
	images=$(build_images "$(fetch_kernel "$GUEST_SUITE")" "$busybox")
	build_pinvm

	if ((PREPARE)); then
		mkdir -p "$CACHE/initrd"
		local i
		for i in "${!suites[@]}"; do
			# (-peer: deploy/images.sh takes the plain one for the lab image.)
			build_initrd "${kdirs[$i]}" \
				"$CACHE/initrd/${suites[$i]}$( ((ASAN)) && echo -asan)$( ((PEER)) && echo -peer).cpio.gz" \
				"$busybox" "$images" "${peers[$i]:-}"
		done
		log "prepared: ${suites[*]}"
		return 0
	fi

	mkdir -p "$CACHE/run"
	# Run directories of labs killed with SIGKILL (a running lab's QEMU read
	# its initrd when it started).
	find "$CACHE/run" -mindepth 1 -maxdepth 1 -name 'lab.*' -mmin +60 -exec rm -rf {} +
	RUN_DIR=$(mktemp -d "$CACHE/run/lab.XXXXXX")
	build_initrd "${kdirs[0]}" "$RUN_DIR/initrd.img" "$busybox" "$images" "${peers[0]:-}"
	flock -u 9
	exec 9>&-
	boot "${kdirs[0]}" "$RUN_DIR/initrd.img"
}

main "$@"
