# shellcheck shell=bash
# deploy/lab/apt.sh, sourced by deploy/lab.sh: the host's packages, and a
# private apt configuration for other Debian suites' arm64 packages (the
# machine's own sources are never changed).

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
