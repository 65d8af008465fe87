# shellcheck shell=bash
# deploy/lab/kernels.sh, sourced by deploy/lab.sh: the lab's Debian kernels
# and busybox, fetched through the private apt and cached.

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
