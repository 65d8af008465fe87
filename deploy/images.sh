#!/usr/bin/env bash
# deploy/images.sh: builds pinvm's two container images into the local
# podman store, from Debian packages and this repository only (no registry,
# no base image):
#
#   localhost/pinvmd:latest, :VERSION     arm64: pinvmd, pinvm-vmm and the
#       libraries they need, for arm64 KVM hosts. Runs as pinvm (10001:10001,
#       group kvm in /etc/group), no capabilities asked; state in the volume
#       /var/lib/pinvm (guest images in its images/), the API's Unix socket
#       in the volume /run/pinvm; health check GET /v1/health over that
#       socket. Run it with
#         podman run -d --device /dev/kvm --group-add "$(stat -c %g /dev/kvm)" \
#             -v pinvm-state:/var/lib/pinvm -v pinvm-run:/run/pinvm localhost/pinvmd
#       (--group-add: /dev/kvm keeps the host's group, whose number varies by
#       host). TCP is optional: give pinvmd's arguments in place of the
#       default ones, e.g. ... localhost/pinvmd --listen unix:/run/pinvm/pinvmd.sock
#         --listen tcp:0.0.0.0:8080 --token-file /run/secrets/pinvm-token
#         --state-dir /var/lib/pinvm --image-dir /var/lib/pinvm/images
#   localhost/pinvm-lab:latest, :VERSION  x86_64: the lab (deploy/lab.sh) in a
#       container: qemu-system-aarch64, the lab's Debian arm64 kernels and
#       initramfs with the aarch64 pinvm; entrypoint deploy/image/pinvm-lab.
#         podman run -d -p 8080:8080 localhost/pinvm-lab:latest --kernel 6.12
#       serves the API of a real arm64 KVM (nested in QEMU TCG) on port 8080.
#
# Usage: deploy/images.sh [--only pinvmd|lab] [--kernels "5.10 6.1 6.12 latest"]
#   --only     build one of the two images
#   --kernels  the lab kernels the lab image carries (default all four;
#              each adds 29-47 MB)
#
# How: deploy/lab.sh --prepare cross-builds pinvm for aarch64 (build-aarch64/)
# and the lab's kernels and initramfs (.lab/); mmdebstrap makes each image's
# root file system from Debian bookworm packages, cached as a tar in
# ${XDG_CACHE_HOME:-~/.cache}/pinvm/ (keyed by the package list; made once per
# machine); buildah assembles the image from scratch and commits it in Docker
# format (the OCI format has no HEALTHCHECK). The arm64 root is made with
# --variant=extract (packages unpacked, no maintainer script run), so no
# arm64 emulation (qemu-user, binfmt) is needed: the image needs no package
# database, and /etc/passwd and /etc/group are written here.
#
# As root (apt-get installs podman, buildah, runc and mmdebstrap if missing).
# Environment: PINVM_LAB_OFFLINE=1 is passed on to deploy/lab.sh;
# PINVM_IMAGES_REFRESH=1 rebuilds the cached root file systems.
# Prints "images: ..." progress on stderr and, at the end, one line per
# image on stdout: "image NAME:TAG arch=ARCH size=BYTES" and the time taken.
set -euo pipefail
shopt -s inherit_errexit
# Docker format from the start: buildah config drops HEALTHCHECK otherwise.
export BUILDAH_FORMAT=docker

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/pinvm
LAB_CACHE=${PINVM_LAB_CACHE:-$REPO/.lab}
BUILD_DIR=${PINVM_LAB_BUILD_DIR:-$REPO/build-aarch64}
SUITE=bookworm
ONLY=
KERNELS="5.10 6.1 6.12 latest"
# The image's user and groups. Numeric in the image config, so Kubernetes'
# runAsNonRoot can check it without the image's /etc/passwd.
PINVM_UID=10001
PINVM_GID=10001
KVM_GID=10002
TMP=
CTR=

log() { printf 'images: %s\n' "$*" >&2; }
die() {
	printf 'images: error: %s\n' "$*" >&2
	exit 1
}
usage() { sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "${BASH_SOURCE[0]}"; }

cleanup() {
	[[ -n $CTR ]] && buildah rm "$CTR" >/dev/null 2>&1
	[[ -n $TMP ]] && rm -rf "$TMP"
	return 0
}

parse_args() {
	while (($#)); do
		case $1 in
		--only) ONLY=${2:?--only needs pinvmd or lab}; shift ;;
		--only=*) ONLY=${1#*=} ;;
		--kernels) KERNELS=${2:?--kernels needs a list}; shift ;;
		--kernels=*) KERNELS=${1#*=} ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
	case $ONLY in '' | pinvmd | lab) ;; *) die "--only pinvmd or --only lab, not '$ONLY'" ;; esac
	local k
	for k in $KERNELS; do
		case $k in 5.10 | 6.1 | 6.12 | latest) ;; *) die "unknown lab kernel '$k'" ;; esac
	done
	[[ -n ${KERNELS// /} ]] || die "--kernels is empty"
}

suite_of() {
	case $1 in
	5.10) echo bullseye ;;
	6.1) echo bookworm ;;
	6.12) echo trixie ;;
	latest) echo trixie-backports ;;
	esac
}

ensure_tools() {
	local need=() p
	for p in podman buildah runc mmdebstrap; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || need+=("$p")
	done
	((${#need[@]})) || return 0
	((EUID == 0)) || die "run as root (or install: ${need[*]})"
	log "apt-get install ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${need[@]}" \
		</dev/null >&2 || {
		apt-get -q update >&2
		DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${need[@]}" \
			</dev/null >&2
	}
}

project_version() {
	sed -n 's/^project(pinvm VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt"
}

# A root file system of Debian $SUITE for ARCH with PACKAGES (and their
# dependencies), as a tar cached under $CACHE; prints its path.
root_tar() {
	local arch=$1 variant=$2 packages=$3 key out
	key=$(printf '%s %s %s %s\n' "$SUITE" "$arch" "$variant" "$packages" | sha256sum | cut -c1-12)
	out=$CACHE/image-root-$SUITE-$arch-$key.tar
	if [[ -f $out && ${PINVM_IMAGES_REFRESH:-0} != 1 ]]; then
		log "$arch root: cached $out"
		echo "$out"
		return
	fi
	mkdir -p "$CACHE"
	log "$arch root: mmdebstrap --variant=$variant $SUITE with $packages"
	local t0=$SECONDS
	# mmdebstrap picks the output format by the name's ending: *.tar.
	mmdebstrap --quiet --arch="$arch" --variant="$variant" --include="$packages" \
		"$SUITE" "$TMP/root-$arch.tar" >"$TMP/mmdebstrap-$arch.log" 2>&1 || {
		tail -n 20 "$TMP/mmdebstrap-$arch.log" >&2
		die "mmdebstrap of the $arch root failed"
	}
	# One tar per key; older keys of this arch are not needed any more.
	rm -f "$CACHE/image-root-$SUITE-$arch-"*.tar
	mv "$TMP/root-$arch.tar" "$out"
	log "$arch root: made in $((SECONDS - t0)) s ($(du -h "$out" | cut -f1))"
	echo "$out"
}

# Unpacks a cached root into DIR without what a container never reads.
unpack_root() {
	local tar=$1 dir=$2
	mkdir -p "$dir"
	tar -C "$dir" -xf "$tar" --exclude='./dev/*'
	rm -rf "$dir"/usr/share/{doc,man,info,locale,lintian,bug} "$dir"/var/cache/apt/* \
		"$dir"/var/lib/apt/lists/* "$dir"/var/log/*
	# The tar's resolv.conf and hostname are the build machine's; podman
	# mounts its own.
	: >"$dir/etc/resolv.conf"
	: >"$dir/etc/hostname"
}

# The Debian packages (arm64) holding the libraries the aarch64 binaries
# need, found by dpkg on this machine (the cross build linked against them).
lib_packages() {
	local exe lib path pkg pkgs=()
	for exe in "$@"; do
		for lib in $(aarch64-linux-gnu-readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			# dpkg knows a file under the path its package shipped it at,
			# /lib or /usr/lib (the same directory, merged).
			pkg=
			for path in {/usr,}/lib/aarch64-linux-gnu/"$lib"; do
				pkg=$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1) && [[ -n $pkg ]] && break
			done
			[[ -n $pkg ]] || die "$exe needs $lib, which no arm64 package installed here holds"
			pkgs+=("$pkg")
		done
	done
	printf '%s\n' "${pkgs[@]}" libc6 | sort -u | paste -sd,
}

# Commits the container being built as localhost/NAME:latest and :VERSION.
commit_image() {
	local name=$1 version old
	version=$(project_version)
	old=$(podman image inspect --format '{{.Id}}' "localhost/$name:latest" 2>/dev/null || true)
	buildah commit --quiet --format docker --rm "$CTR" "localhost/$name:latest" >/dev/null
	CTR=
	buildah tag "localhost/$name:latest" "localhost/$name:$version"
	# The image this one replaces, now untagged, unless a container uses it.
	if [[ -n $old && $old != $(podman image inspect --format '{{.Id}}' "localhost/$name:latest") ]] &&
		[[ -z $(podman image inspect --format '{{.RepoTags}}' "$old" | tr -d '[]') ]]; then
		podman rmi "$old" >/dev/null 2>&1 || true
	fi
	log "committed localhost/$name:latest and :$version"
}

common_labels() {
	local version rev
	version=$(project_version)
	rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
	buildah config \
		--label org.opencontainers.image.title="$1" \
		--label org.opencontainers.image.description="$2" \
		--label org.opencontainers.image.version="$version" \
		--label org.opencontainers.image.revision="$rev" \
		--label org.opencontainers.image.source="pinvm" \
		"$CTR"
}

build_pinvmd() {
	local bin=$BUILD_DIR/bin exe stage root pkgs
	for exe in pinvmd pinvm-vmm; do
		aarch64-linux-gnu-readelf -h "$bin/$exe" | grep -q AArch64 ||
			die "$bin/$exe is not an aarch64 executable"
	done
	# curl: the health check's client (the API's Unix socket needs no token).
	pkgs=$(lib_packages "$bin/pinvmd" "$bin/pinvm-vmm"),curl
	root=$(root_tar arm64 extract "$pkgs")
	stage=$TMP/pinvmd-root
	unpack_root "$root" "$stage"
	for exe in pinvmd pinvm-vmm; do
		# pinvmd execs pinvm-vmm from its own directory: side by side.
		aarch64-linux-gnu-strip --strip-debug -o "$stage/usr/bin/$exe" "$bin/$exe"
		chmod 0755 "$stage/usr/bin/$exe"
	done
	# The extract variant runs no maintainer script: no base-passwd. Only
	# the accounts the image uses.
	cat >"$stage/etc/passwd" <<-EOF
		root:x:0:0:root:/root:/usr/sbin/nologin
		pinvm:x:$PINVM_UID:$PINVM_GID:pinvm microVM manager:/var/lib/pinvm:/usr/sbin/nologin
	EOF
	cat >"$stage/etc/group" <<-EOF
		root:x:0:
		pinvm:x:$PINVM_GID:
		kvm:x:$KVM_GID:pinvm
	EOF
	chmod 0644 "$stage/etc/passwd" "$stage/etc/group"
	mkdir -p "$stage/var/lib/pinvm/images" "$stage/run/pinvm" "$stage/tmp" "$stage/root"
	chown -R "$PINVM_UID:$PINVM_GID" "$stage/var/lib/pinvm" "$stage/run/pinvm"
	chmod 0750 "$stage/var/lib/pinvm" "$stage/run/pinvm"
	chmod 1777 "$stage/tmp"

	CTR=$(buildah from --arch arm64 scratch)
	local mnt
	mnt=$(buildah mount "$CTR")
	tar -C "$stage" -cf - . | tar -C "$mnt" -xpf -
	buildah umount "$CTR" >/dev/null
	buildah config --arch arm64 --os linux \
		--user "$PINVM_UID:$PINVM_GID" \
		--workingdir /var/lib/pinvm \
		--env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		--entrypoint '["/usr/bin/pinvmd"]' \
		--cmd '["--listen", "unix:/run/pinvm/pinvmd.sock", "--state-dir", "/var/lib/pinvm", "--image-dir", "/var/lib/pinvm/images"]' \
		--volume /var/lib/pinvm --volume /run/pinvm \
		--port 8080/tcp \
		--stop-signal SIGTERM \
		--healthcheck 'CMD /usr/bin/curl -fsS -o /dev/null --max-time 5 --unix-socket /run/pinvm/pinvmd.sock http://localhost/v1/health' \
		--healthcheck-interval 30s --healthcheck-timeout 10s --healthcheck-retries 3 \
		--healthcheck-start-period 10s \
		"$CTR"
	common_labels pinvmd "pinvm's REST API for arm64 KVM hosts (run with --device /dev/kvm)"
	commit_image pinvmd
}

build_lab() {
	local root stage k suite kdir images
	root=$(root_tar amd64 essential "qemu-system-arm,curl,bash,coreutils,gawk")
	stage=$TMP/lab-root
	unpack_root "$root" "$stage"
	# QEMU's firmware and ROMs for other machines; the lab boots -kernel
	# with no ROM (virtio-net romfile=), and needs the device tree of virt,
	# which QEMU builds itself.
	rm -rf "$stage"/usr/share/qemu/{edk2-*,*.fd,openbios-*,skiboot.lid,slof.bin,u-boot*,opensbi-*,s390*,hppa*,palcode*,qboot.rom,bios*.bin,vgabios*,pxe-*,efi-*}
	# The 32-bit ARM emulator beside qemu-system-aarch64 in the package, and
	# tools and the Perl library that dependencies bring but nothing run here
	# uses (perl-base, which is Essential, stays).
	rm -rf "$stage"/usr/bin/{qemu-system-arm,qemu-storage-daemon,qemu-img,qemu-io,qemu-nbd,qemu-pr-helper} \
		"$stage"/usr/share/perl "$stage"/usr/lib/x86_64-linux-gnu/perl "$stage"/usr/bin/perl5*
	local lab=$stage/opt/pinvm-lab
	mkdir -p "$lab/kernels"
	# The initramfs deploy/lab.sh --prepare made is the shared /images
	# archive followed by the kernel's own part: keep the first once.
	images=
	for k in $KERNELS; do
		suite=$(suite_of "$k")
		kdir=$LAB_CACHE/kernels/$suite/current
		local initrd=$LAB_CACHE/initrd/$suite.cpio.gz
		[[ -f $kdir/vmlinuz && -f $initrd ]] || die "no prepared lab for $k ($kdir, $initrd)"
		if [[ -z $images ]]; then
			local c
			for c in "$LAB_CACHE"/images/*.cpio; do
				cmp -s -n "$(stat -c %s "$c")" "$c" "$initrd" && { images=$c; break; }
			done
			[[ -n $images ]] || die "$initrd does not start with any of $LAB_CACHE/images/*.cpio"
			cp "$images" "$lab/images.cpio"
		fi
		cmp -s -n "$(stat -c %s "$images")" "$images" "$initrd" ||
			die "$initrd does not start with $images"
		mkdir -p "$lab/kernels/$k"
		tail -c +"$(($(stat -c %s "$images") + 1))" "$initrd" >"$lab/kernels/$k/initrd.cpio.gz"
		cp "$kdir/vmlinuz" "$kdir/release" "$lab/kernels/$k/"
	done
	install -m 0755 "$REPO/deploy/image/pinvm-lab" "$stage/usr/local/bin/pinvm-lab"
	# The lab needs no privilege: QEMU emulates, no /dev/kvm is opened.
	printf 'lab:x:%s:%s:pinvm lab:/tmp:/usr/sbin/nologin\n' "$PINVM_UID" "$PINVM_GID" >>"$stage/etc/passwd"
	printf 'lab:x:%s:\n' "$PINVM_GID" >>"$stage/etc/group"
	chmod -R a+rX "$lab"

	CTR=$(buildah from --arch amd64 scratch)
	local mnt
	mnt=$(buildah mount "$CTR")
	tar -C "$stage" -cf - . | tar -C "$mnt" -xpf -
	buildah umount "$CTR" >/dev/null
	buildah config --arch amd64 --os linux \
		--user "$PINVM_UID:$PINVM_GID" \
		--workingdir /tmp \
		--env PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--entrypoint '["/usr/local/bin/pinvm-lab"]' \
		--cmd '["--kernel", "6.12"]' \
		--port 8080/tcp \
		--stop-signal SIGTERM \
		--healthcheck 'CMD /usr/bin/curl -fsS -o /dev/null --max-time 5 http://127.0.0.1:8080/v1/health' \
		--healthcheck-interval 15s --healthcheck-timeout 10s --healthcheck-retries 3 \
		--healthcheck-start-period 300s \
		--label "io.pinvm.lab.kernels=$KERNELS" \
		"$CTR"
	common_labels pinvm-lab "the pinvm lab: pinvm's API on real arm64 KVM in QEMU TCG, for x86 CI"
	commit_image pinvm-lab
}

report() {
	local name=$1
	podman image inspect --format "image localhost/$name:latest arch={{.Architecture}} size={{.Size}}" \
		"localhost/$name:latest"
}

main() {
	parse_args "$@"
	local t0=$SECONDS
	ensure_tools
	TMP=$(mktemp -d)
	trap cleanup EXIT

	local prep=() k
	if [[ $ONLY == pinvmd ]]; then
		prep=(--kernel 6.12) # lab.sh always prepares one kernel; the build is what we want
	elif [[ $KERNELS == "5.10 6.1 6.12 latest" ]]; then
		prep=(--kernel all)
	fi
	log "deploy/lab.sh --prepare: the aarch64 build of pinvm, the lab's kernels and initramfs"
	if ((${#prep[@]})); then
		"$REPO/deploy/lab.sh" --prepare "${prep[@]}" </dev/null >"$TMP/prepare.log" 2>&1 ||
			{ tail -n 30 "$TMP/prepare.log" >&2; die "deploy/lab.sh --prepare failed"; }
	else
		for k in $KERNELS; do
			"$REPO/deploy/lab.sh" --prepare --kernel "$k" </dev/null >"$TMP/prepare.log" 2>&1 ||
				{ tail -n 30 "$TMP/prepare.log" >&2; die "deploy/lab.sh --prepare --kernel $k failed"; }
		done
	fi

	[[ $ONLY == lab ]] || build_pinvmd
	[[ $ONLY == pinvmd ]] || build_lab
	[[ $ONLY == lab ]] || report pinvmd
	[[ $ONLY == pinvmd ]] || report pinvm-lab
	echo "images built in $((SECONDS - t0)) s"
}

main "$@"
