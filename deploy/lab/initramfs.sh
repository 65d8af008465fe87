# shellcheck shell=bash
# deploy/lab/initramfs.sh, sourced by deploy/lab.sh: the guest images, the
# aarch64 build of pinvm and the lab's initramfs.

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
# spend seconds inflating it at every boot. The guest also gets
# /bin/pinvm-pmu-count (deploy/lab/pmu-count.c, built static here).
# Cached under $CACHE/images, keyed by the kernel package, busybox,
# guest-init and pmu-count.c.
build_images() {
	local gkdir=$1 busybox=$2 d=$CACHE/images key stage
	key=$({
		cat "$gkdir/info"
		sha256sum "$busybox" "$LAB_DIR/guest-init" "$LAB_DIR/pmu-count.c" | cut -d' ' -f1
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
	"$ARCH_TRIPLET-gcc" -static -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE \
		-o "$stage/guest/bin/pinvm-pmu-count" "$LAB_DIR/pmu-count.c"
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

# Copies the shared libraries of the ELF files "$@" (DT_NEEDED, recursively,
# resolved by lddtree from pax-utils) and their program interpreter into the
# root $1: libraries into /usr/lib/aarch64-linux-gnu (the loader's default
# path, as /lib/aarch64-linux-gnu is through the symlink), the loader at its
# PT_INTERP path. lddtree searches the arm64 multiarch directory first, then
# the cross toolchain's (where libasan and libubsan of the --asan build are).
# The Debian python3 runs it: a python3 earlier in PATH may lack pyelftools.
copy_libs() {
	local root=$1 list path
	shift
	# The first line of each list is the ELF itself; an unresolved library
	# is listed by its bare name.
	list=$(for f in "$@"; do
		LD_LIBRARY_PATH=/usr/lib/$ARCH_TRIPLET:/usr/$ARCH_TRIPLET/lib \
			/usr/bin/python3 /usr/bin/lddtree -l "$f" | tail -n +2 || exit 1
	done | sort -u) || die "lddtree failed on $*"
	while read -r path; do
		case $path in
		/*/ld-linux-aarch64.so.*)
			mkdir -p "$root$(dirname "$path")"
			cp -L "$path" "$root$path"
			;;
		/*) cp -L "$path" "$root/usr/lib/$ARCH_TRIPLET/${path##*/}" ;;
		*) die "shared library $path not found for $*" ;;
		esac
	done <<<"$list"
}

# Builds the initramfs for the kernel in KDIR into OUT: a gzip'ed newc cpio of
# busybox, /init, the kernel's modules, and every executable of BUILD_DIR/bin
# with its shared libraries; before it the /images cpio (IMAGES), the peer's
# (PEER, with --peer: peer.sh's zstd cpio of /peer/qemu) and each
# --extra DIR as an uncompressed cpio (no time spent compressing or, in the
# emulated guest, decompressing tens of MB). The extras come first: the
# kernel unpacks the archives in order, so the lab's own files win on a clash.
build_initrd() {
	local kdir=$1 out=$2 busybox=$3 images=$4 peer=${5:-} stage
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

	local exe elves=()
	for exe in "$BUILD_DIR"/bin/*; do
		[[ -f $exe && -x $exe ]] || continue
		cp "$exe" "$stage/usr/bin/"
		"$READELF" -h "$exe" >/dev/null 2>&1 && elves+=("$exe")
	done
	((${#elves[@]} == 0)) || copy_libs "$stage" "${elves[@]}"

	local base=$out.base.tmp d
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$base"
	# newc archives are padded to 512 bytes, so each next one starts aligned.
	cat "$images" >"$out.tmp"
	# A compressed archive ends where its stream does; the next one is
	# looked for after it (the kernel skips zero padding between them).
	[[ -z $peer ]] || cat "$peer" >>"$out.tmp"
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
