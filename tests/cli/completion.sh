#!/usr/bin/env bash
# The bash completion of pinvm: what a user gets after TAB in a few places.
# usage: completion.sh COMPLETION-FILE PINVM
set -u
# shellcheck disable=SC1090 # the file is the argument
source "$1"
PINVM=$2
passed=0 failed=0

# expect "words on the line" "a word the completions must hold"
expect() {
	local line=$1 want=$2
	read -r -a COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=('')
	COMP_WORDS[0]=$PINVM
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_pinvm
	if printf '%s\n' "${COMPREPLY[@]}" | grep -qxF -- "$want"; then
		echo "ok - '$line' completes to $want"
		passed=$((passed + 1))
	else
		echo "not ok - '$line' completes to $want: got ${COMPREPLY[*]:-nothing}"
		failed=$((failed + 1))
	fi
}

expect 'pinvm ' vm
expect 'pinvm pro' profile
expect 'pinvm --json vm ' console
expect 'pinvm vm create --ke' --kernel
expect 'pinvm vm console abc -' --offset
expect 'pinvm profile ' capture
expect 'pinvm profile check p --h' --host
expect 'pinvm host ' registers
expect 'pinvm profile capture p --cp' --cpu-features
expect 'pinvm profile capture p --cpu-features ' host
expect 'pinvm baseline create b --cpu-features ' common
expect 'pinvm --url ' http://
expect 'pinvm ' snapshot
expect 'pinvm snapshot ' download
expect 'pinvm snapshot check s --h' --host
expect 'pinvm snapshot create vm -' -q
expect 'pinvm vm ' restore
expect 'pinvm vm ' migrate
expect 'pinvm vm restore s --ac' --accept
expect 'pinvm vm restore s --accept ' el2_feature_differs
expect 'pinvm vm migrate v --to' --to-token-file
expect 'pinvm vm migrate v --to ' https://
expect 'pinvm vm migrate v --to http://h:1 --ca' --cancel
# The archive's file: the second argument of download, the first of upload.
files=$(mktemp -d)
trap 'rm -rf "$files"' EXIT
: >"$files/snap.tar"
expect "pinvm snapshot download s $files/sn" "$files/snap.tar"
expect "pinvm snapshot upload $files/sn" "$files/snap.tar"
expect "pinvm vm migrate v --to-cacert $files/sn" "$files/snap.tar"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
