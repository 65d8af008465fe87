# shellcheck shell=bash
# deploy/lab/peer.sh, sourced by deploy/lab.sh: the peer VMM (--peer), QEMU
# from the lab kernel's own Debian suite, for the benchmark that boots the
# same guest with pinvm and with QEMU/KVM in one lab run (issue 16).
#
# The suite's arm64 qemu-system-arm and the library packages it needs come
# through the private apt configuration (apt.sh); the machine's own apt
# sources are never read. Into the lab's initramfs goes only
#   /peer/qemu/qemu-system-aarch64
#   /peer/qemu/ld-linux-aarch64.so.1        the suite's own loader
#   /peer/qemu/lib/                         every library in its ELF
#                                           NEEDED closure (that suite's
#                                           glibc among them)
#   /peer/qemu/version                      "qemu-system-arm <version>"
# and it runs as
#   /peer/qemu/ld-linux-aarch64.so.1 --library-path /peer/qemu/lib \
#       /peer/qemu/qemu-system-aarch64 ...
# so that it never meets the lab's own (the build machine's suite's)
# libraries. No firmware, ROMs or modules: the benchmark boots with
# -kernel/-initrd, -nodefaults and no NIC.

# apt-cache for SUITE's arm64 packages (apt_suite's configuration; an empty
# dpkg status, so nothing counts as installed).
apt_cache_suite() {
	local suite=$1
	shift
	local d=$CACHE/apt/$suite
	apt-cache \
		-o Dir::Etc::SourceList="$d/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::Etc::Preferences=/dev/null \
		-o Dir::Etc::PreferencesParts=/dev/null \
		-o Dir::State::Lists="$d/lists" \
		-o Dir::State::status=/dev/null \
		-o Dir::Cache="$d/cache" \
		-o APT::Architecture=arm64 \
		-o APT::Architectures=arm64 \
		"$@"
}

# The suite whose QEMU is the peer of a lab on SUITE: its own, except that
# trixie-backports has no QEMU of its own (its kernel's base is trixie).
peer_suite_of() {
	case $1 in
	trixie-backports) echo trixie ;;
	*) echo "$1" ;;
	esac
}

# "PACKAGE=VERSION" of qemu-system-arm and of every library package it
# depends on, directly or through other library packages (the first of
# each alternative; only lib* and zlib1g: the rest, qemu-system-common and
# -data, holds no library the binary loads), one per line, sorted. One
# apt-cache call per level of the dependency tree.
peer_packages() {
	local suite=$1 info kind v
	local level=(qemu-system-arm) next
	local -A seen=([qemu-system-arm]=1)
	while ((${#level[@]})); do
		info=$(apt_cache_suite "$suite" show --no-all-versions "${level[@]}" 2>/dev/null) ||
			die "$suite: not all of ${level[*]} are in the private apt lists"
		next=()
		while read -r kind v; do
			case $kind in
			P) echo "$v" ;;
			D) [[ -n ${seen[$v]:-} ]] || { seen[$v]=1; next+=("$v"); } ;;
			esac
		done < <(awk '
			/^Package: / { p = $2 }
			/^Version: / { print "P", p "=" $2 }
			/^(Pre-)?Depends: / {
				sub(/^[^:]*: /, "")
				n = split($0, dep, ",")
				for (i = 1; i <= n; i++) {
					d = dep[i]
					sub(/\|.*/, "", d)
					sub(/^ +/, "", d)
					sub(/[ (:].*/, "", d)
					if (d ~ /^lib/ || d == "zlib1g") print "D", d
				}
			}' <<<"$info")
		level=("${next[@]}")
	done | LC_ALL=C sort
}

# Makes $CACHE/peer/SUITE/current/peer.cpio (a zstd-compressed newc cpio
# of /peer/qemu, see above: 70 MB as it is, 16 MB so, 19 MB with gzip)
# for the suite's current qemu-system-arm and prints its path. The package
# versions come from the apt lists fetch_kernel keeps fresh, looked at
# at most every PINVM_LAB_RECHECK_MIN minutes, as the kernels are; with PINVM_LAB_OFFLINE=1, what is cached.
fetch_peer() {
	local suite=$1 root=$CACHE/peer/$1 pkgs key dir why=''
	local recheck=${PINVM_LAB_RECHECK_MIN:-60}
	mkdir -p "$root"
	rm -rf "$root"/*/.stage.*
	if [[ ${PINVM_LAB_OFFLINE:-0} == 1 ]]; then
		why="PINVM_LAB_OFFLINE=1"
	elif [[ $recheck -gt 0 && -n $(find "$root/.checked" -mmin "-$recheck" 2>/dev/null) ]]; then
		why="looked less than $recheck min ago"
	fi
	if [[ -n $why ]]; then
		[[ -f $root/current/.ok ]] || die "$suite: no peer QEMU cached in $root ($why)"
		log "peer: $(cat "$root/current/version") (cached; $why)"
		echo "$root/current/peer.cpio"
		return
	fi
	[[ -d $CACHE/apt/$suite/lists ]] || apt_update_suite "$suite" ||
		die "$suite: apt-get update failed"
	if ! pkgs=$(peer_packages "$suite"); then
		log "$suite: the package lists lack the peer's packages; apt-get update"
		apt_update_suite "$suite" || die "$suite: apt-get update failed"
		pkgs=$(peer_packages "$suite")
	fi
	key=$(sha256sum <<<"$pkgs" | cut -c1-16)
	dir=$root/$key
	if [[ ! -f $dir/.ok ]]; then
		build_peer "$suite" "$dir" "$pkgs"
	fi
	ln -sfn "$key" "$root/current"
	touch "$root/.checked"
	local old
	for old in "$root"/*/; do
		old=${old%/}
		[[ ${old##*/} == "$key" || ${old##*/} == current ]] || rm -rf "$old"
	done
	log "peer: $(cat "$dir/version") ($(du -h "$dir/peer.cpio" | cut -f1) in the initramfs)"
	echo "$dir/peer.cpio"
}

# Downloads the packages PKGS ("name=version" lines) into DIR/debs,
# unpacks them, and packs QEMU with its library closure into DIR/peer.cpio.
build_peer() {
	local suite=$1 dir=$2 pkgs=$3 stage deb
	rm -rf "$dir"
	mkdir -p "$dir/debs"
	log "peer: downloading $(wc -l <<<"$pkgs") $suite packages (qemu-system-arm and its libraries)"
	# shellcheck disable=SC2046 # one argument per package
	(cd "$dir/debs" && apt_suite "$suite" download $(cat <<<"$pkgs") >&2) ||
		die "$suite: downloading the peer's packages failed"
	stage=$(mktemp -d "$dir/.stage.XXXXXX")
	mkdir -p "$stage/root" "$stage/cpio/peer/qemu/lib"
	for deb in "$dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$stage/root"
	done
	# What libc-bin and the merged-/usr symlinks would give the root: the
	# library paths of libc6's ld.so.conf.d, /lib for the PT_INTERP path.
	[[ -e $stage/root/etc/ld.so.conf ]] ||
		echo 'include /etc/ld.so.conf.d/*.conf' >"$stage/root/etc/ld.so.conf"
	[[ -e $stage/root/lib ]] || ln -s usr/lib "$stage/root/lib"
	local qemu=/usr/bin/qemu-system-aarch64 list path out=$stage/cpio/peer/qemu
	[[ -f $stage/root$qemu ]] || die "$suite: qemu-system-arm has no $qemu"
	# Paths as in the suite's root (-R), every NEEDED resolved there only.
	list=$(/usr/bin/python3 /usr/bin/lddtree -R "$stage/root" -l "$qemu") ||
		die "lddtree failed on $suite's $qemu"
	while read -r path; do
		path=${path#"$stage/root"}
		case $path in
		"$qemu") cp "$stage/root$path" "$out/" ;;
		/*/ld-linux-aarch64.so.*) cp -L "$stage/root$path" "$out/ld-linux-aarch64.so.1" ;;
		/*) cp -L "$stage/root$path" "$out/lib/" ;;
		*) die "$suite's $qemu needs $path, which none of the downloaded packages holds" ;;
		esac
	done <<<"$list"
	[[ -x $out/ld-linux-aarch64.so.1 ]] || die "$suite: no ld-linux-aarch64.so.1 in libc6"
	echo "qemu-system-arm $(grep '^qemu-system-arm=' <<<"$pkgs" | cut -d= -f2)" >"$out/version"
	printf '%s\n' "$pkgs" >"$dir/packages"
	(cd "$stage/cpio" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet |
		zstd -q -19 -T0) >"$dir/peer.cpio.tmp"
	# Zero padding to 512 bytes, which the kernel skips: an uncompressed
	# archive after this one (an --extra) starts aligned, as it must.
	truncate -s %512 "$dir/peer.cpio.tmp"
	mv "$dir/peer.cpio.tmp" "$dir/peer.cpio"
	cp "$out/version" "$dir/version"
	rm -rf "$stage" "$dir/debs"
	touch "$dir/.ok"
}
