#!/usr/bin/env bash
# tests/deploy/images.sh [PORT]: pinvm's container images, built and used as
# a user would (as root, on an x86_64 machine; no registry, no cluster):
#   - ./deploy/images.sh builds localhost/pinvmd (arm64) and
#     localhost/pinvm-lab (x86_64); the build time is printed;
#   - the pinvmd image's metadata (arm64, non-root user, no capabilities,
#     entrypoint, volumes, health check) and files (aarch64 pinvmd and
#     pinvm-vmm, every shared library they and the health check's curl need,
#     the pinvm user and kvm group, volume ownership);
#   - the lab image run with podman on 127.0.0.1:PORT (default 24080):
#     GET /v1/host answers from a real arm64 KVM (kernel 6.12), its firmware
#     registers are those of tests/fixtures/lab-6.12.json, the image's health
#     check passes, a microVM boots to its guest's userspace, the contract
#     tests (tests/contract/run.sh --kvm) pass from outside the container,
#     and podman stop ends it;
#   - the image sizes.
# podman runs with deploy/image/containers.conf (CONTAINERS_CONF): the
# ulimit and runtime settings our machines need (see that file).
# PINVM_IMAGES_NO_BUILD=1 tests the images already in the store.
# Ends with "N passed, N failed".
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${1:-24080}
NAME=pinvm-images-test-$$
TMP=$(mktemp -d)
export CONTAINERS_CONF=$ROOT/deploy/image/containers.conf
passed=0 failed=0 t_start=$SECONDS
MOUNTED=

cleanup() {
	podman rm -f -t 5 "$NAME" >/dev/null 2>&1
	[ -n "$MOUNTED" ] && podman image unmount "$MOUNTED" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
finish() {
	echo "the images test took $((SECONDS - t_start)) s"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
# jq EXPR over an image's inspect document must be true.
img_is() { # IMAGE EXPR
	podman image inspect "$1" | jq -e ".[0] | $2" >/dev/null || {
		echo "false in $1: $2"
		podman image inspect "$1" | jq '.[0] | {Architecture, Os, User: .Config.User, Entrypoint: .Config.Entrypoint, Cmd: .Config.Cmd, Volumes: .Config.Volumes, Healthcheck}'
		return 1
	}
}
http_get() { curl -s --max-time 10 "http://127.0.0.1:$PORT$1"; }

for tool in jq curl; do
	command -v $tool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $tool >/dev/null
done

# ------------------------------------------------------------------ build
if [ "${PINVM_IMAGES_NO_BUILD:-0}" != 1 ]; then
	t0=$SECONDS
	check "deploy/images.sh builds localhost/pinvmd and localhost/pinvm-lab" \
		sh -c '"$1/deploy/images.sh" >"$2/build.out" 2>"$2/build.err" || { tail -n 30 "$2/build.err"; exit 1; }' \
		sh "$ROOT" "$TMP"
	echo "images: built in $((SECONDS - t0)) s (deploy/images.sh: $(tail -n1 "$TMP/build.out" 2>/dev/null))"
	grep -E 'root: (made|cached)' "$TMP/build.err" | sed 's/^/# /'
fi
version=$(sed -n 's/^project(pinvm VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
for img in pinvmd pinvm-lab; do
	check "localhost/$img:latest and :$version exist, the same image" sh -c '
		a=$(podman image inspect --format "{{.Id}}" "localhost/$1:latest") &&
		b=$(podman image inspect --format "{{.Id}}" "localhost/$1:$2") && [ "$a" = "$b" ]' sh "$img" "$version"
done
if ! podman image exists localhost/pinvmd:latest || ! podman image exists localhost/pinvm-lab:latest; then
	finish
fi

# ------------------------------------------------------ the arm64 pinvmd image
I=localhost/pinvmd:latest
check "pinvmd image: linux/arm64" img_is $I '.Architecture == "arm64" and .Os == "linux"'
check "pinvmd image: runs as 10001:10001, not root" img_is $I '.Config.User == "10001:10001"'
check "pinvmd image: entrypoint /usr/bin/pinvmd, serving the Unix socket in its volume" \
	img_is $I '.Config.Entrypoint == ["/usr/bin/pinvmd"] and (.Config.Cmd | join(" ") |
		contains("--listen unix:/run/pinvm/pinvmd.sock") and contains("--state-dir /var/lib/pinvm"))'
check "pinvmd image: volumes /var/lib/pinvm (state) and /run/pinvm (socket)" \
	img_is $I '(.Config.Volumes | keys) == ["/run/pinvm", "/var/lib/pinvm"]'
check "pinvmd image: health check GET /v1/health over the socket" \
	img_is $I '.Healthcheck.Test[0] == "CMD" and (.Healthcheck.Test | index("http://localhost/v1/health")) != null
		and (.Healthcheck.Test | index("/run/pinvm/pinvmd.sock")) != null'
check "pinvmd image: asks for no capability (no io.containers.capabilities label)" \
	img_is $I '(.Config.Labels // {}) | has("io.containers.capabilities") | not'
check "pinvmd image: a container of it has no effective capability" sh -c '
	podman create --name "$1-caps" "$2" >/dev/null 2>&1 || exit 1
	caps=$(podman container inspect --format "{{json .EffectiveCaps}}" "$1-caps")
	podman rm "$1-caps" >/dev/null 2>&1
	echo "EffectiveCaps: $caps"; [ "$caps" = null ] || [ "$caps" = "[]" ]' sh "$NAME" $I

if MNT=$(podman image mount $I 2>"$TMP/mount.err"); then
	MOUNTED=$I
	for exe in usr/bin/pinvmd usr/bin/pinvm-vmm usr/bin/curl; do
		check "pinvmd image: /$exe is an aarch64 executable" \
			sh -c 'readelf -h "$1" | grep -q "Machine:.*AArch64"' sh "$MNT/$exe"
	done
	# Every DT_NEEDED library (recursively) and the program interpreter
	# must be in the image, where the arm64 loader looks.
	deps_present() { # ROOT ELF...
		local root=$1 lib found d queue seen=" " missing=0 elf interp; shift
		queue=("$@")
		for elf in "$@"; do
			interp=$(readelf -l "$elf" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
			[ -e "$root$interp" ] || { echo "${elf#"$root"}: interpreter $interp is missing"; missing=1; }
		done
		while [ ${#queue[@]} -gt 0 ]; do
			elf=${queue[0]}; queue=("${queue[@]:1}")
			for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
				case $seen in *" $lib "*) continue ;; esac
				seen+="$lib "
				found=
				for d in usr/lib/aarch64-linux-gnu lib/aarch64-linux-gnu; do
					[ -e "$root/$d/$lib" ] && { found=$root/$d/$lib; break; }
				done
				if [ -z "$found" ]; then
					echo "${elf#"$root"} needs $lib: not in the image"
					missing=1
				else
					queue+=("$(readlink -f "$found")")
				fi
			done
		done
		echo "libraries found: $seen"
		return $missing
	}
	check "pinvmd image: every library pinvmd, pinvm-vmm and curl need is there" \
		deps_present "$MNT" "$MNT/usr/bin/pinvmd" "$MNT/usr/bin/pinvm-vmm" "$MNT/usr/bin/curl"
	grep '^libraries found' "$TMP/check.log" | sed 's/^/# /'
	check "pinvmd image: user pinvm is 10001:10001, in group kvm" sh -c '
		grep -qx "pinvm:x:10001:10001:[^:]*:/var/lib/pinvm:/usr/sbin/nologin" "$1/etc/passwd" &&
		grep -qE "^kvm:x:[0-9]+:(.*,)?pinvm(,.*)?$" "$1/etc/group"' sh "$MNT"
	check "pinvmd image: /var/lib/pinvm and /run/pinvm belong to 10001, mode 0750" sh -c '
		for d in var/lib/pinvm run/pinvm; do
			s=$(stat -c "%u:%g %a" "$1/$d"); echo "$d: $s"; [ "$s" = "10001:10001 750" ] || exit 1
		done' sh "$MNT"
	podman image unmount $I >/dev/null 2>&1
	MOUNTED=
else
	check "podman image mount $I" sh -c 'cat "$1"; false' sh "$TMP/mount.err"
fi

# ------------------------------------------------------- the x86 lab image
L=localhost/pinvm-lab:latest
check "lab image: linux/amd64, entrypoint pinvm-lab, default --kernel 6.12, port 8080" \
	img_is $L '.Architecture == "amd64" and .Config.Entrypoint == ["/usr/local/bin/pinvm-lab"]
		and .Config.Cmd == ["--kernel", "6.12"] and (.Config.ExposedPorts | has("8080/tcp"))'
check "lab image: health check GET /v1/health" \
	img_is $L '(.Healthcheck.Test | index("http://127.0.0.1:8080/v1/health")) != null'
echo "# lab image kernels: $(podman image inspect --format '{{index .Config.Labels "io.pinvm.lab.kernels"}}' $L)"

t0=$SECONDS
check "podman run -d -p 127.0.0.1:$PORT:8080 $L --kernel 6.12" \
	podman run -d --name "$NAME" -p "127.0.0.1:$PORT:8080" $L --kernel 6.12
# A user waits for the ready line, which the image prints once its own poll
# of the API succeeded; the API may answer the host's port a moment before
# that, so the line, not the port, is the event waited for (polling the port
# and then reading the logs once raced the image's poll and failed a CI run).
# The lab boots a kernel in QEMU TCG inside the container: generous bound.
# The logs are read whole before grep: "podman logs | grep -m1" fails
# under pipefail whenever grep exits before podman has written everything
# (SIGPIPE), which failed an idle run with the ready line in hand.
ready_line() {
	local logs
	logs=$(podman logs "$NAME" 2>/dev/null)
	grep -m1 "^pinvm lab ready: .* kernel=6\.12\." <<<"$logs"
}
ready=0
for _ in $(seq 1 600); do
	ready_line >/dev/null && { ready=1; break; }
	[ "$(podman container inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
	sleep 1
done
boot_s=$((SECONDS - t0))
check "podman logs: the ready line" ready_line
check "once the ready line is out, the lab container answers GET /v1/host on the host's port $PORT" \
	sh -c '[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 10 "$1")" = 200 ]' sh "http://127.0.0.1:$PORT/v1/host"
echo "# lab container: ready line $boot_s s after podman run"
if [ $ready = 0 ]; then
	podman logs "$NAME" 2>&1 | tail -n 30 | sed 's/^/# /'
	finish
fi
http_get /v1/host >"$TMP/host.json"
check "GET /v1/host: aarch64, hypervisor kvm, a 6.12 cloud-arm64 kernel" jq -e \
	'.arch == "aarch64" and .hypervisor == "kvm" and (.kernel_release | test("^6\\.12\\..*-cloud-arm64$"))' \
	"$TMP/host.json"
http_get /v1/host/firmware-registers >"$TMP/fw.json"
check "GET /v1/host/firmware-registers: the 6.12 lab's registers (tests/fixtures/lab-6.12.json)" sh -c '
	a=$(jq -c "[.registers[] | {id, value}] | sort_by(.id)" "$1") &&
	b=$(jq -c "[.firmware_registers.registers[] | {id, value}] | sort_by(.id)" "$2") &&
	echo "got $a" && echo "want $b" && [ "$a" = "$b" ]' sh "$TMP/fw.json" "$ROOT/tests/fixtures/lab-6.12.json"
check "podman healthcheck run: healthy" podman healthcheck run "$NAME"

# A microVM: the lab's Debian 6.1 guest kernel with its busybox initramfs,
# which prints "pinvm-guest-ready 1" and, with pinvm.poweroff=1, powers off.
vm_boots() {
	local id state con
	id=$(curl -s --max-time 60 -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/vms" -d '{
		"vcpus": 1, "memory_mib": 256, "kernel": "debian-6.1-arm64.Image",
		"initrd": "busybox-initramfs.cpio.gz", "cmdline": "console=ttyS0 pinvm.poweroff=1"}' | jq -r '.id // empty')
	[ -n "$id" ] || { echo "POST /v1/vms made no VM"; return 1; }
	echo "VM $id created"
	state=$(curl -s --max-time 60 -X POST -H 'Content-Type: application/json' \
		"http://127.0.0.1:$PORT/v1/vms/$id/actions" -d '{"action": "start"}' | jq -r .state)
	echo "after start: $state"
	[ "$state" = running ] || return 1
	local t0=$SECONDS
	for _ in $(seq 1 600); do
		con=$(http_get "/v1/vms/$id/console?offset=0")
		grep -q 'pinvm-guest-ready 1' <<<"$con" && break
		sleep 1
	done
	grep -q 'pinvm-guest-ready 1' <<<"$con" || { echo "no pinvm-guest-ready on the console:"; tail -n 20 <<<"$con"; return 1; }
	echo "guest userspace after $((SECONDS - t0)) s"
	grep -m1 'psci: PSCIv' <<<"$con"
	for _ in $(seq 1 120); do
		state=$(http_get "/v1/vms/$id" | jq -r .state)
		[ "$state" = stopped ] && break
		sleep 1
	done
	echo "state after poweroff: $state"
	[ "$state" = stopped ] || return 1
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X DELETE "http://127.0.0.1:$PORT/v1/vms/$id")" = 204 ]
}
check "a microVM in the container's lab: created, started, its guest's userspace runs, it powers off, deleted" vm_boots
grep -E '^guest userspace|PSCIv' "$TMP/check.log" | sed 's/^/# /'

t0=$SECONDS
check "contract tests (tests/contract/run.sh --kvm) from outside the container" sh -c '
	"$1/tests/contract/run.sh" "http://127.0.0.1:$2" --kvm >"$3/contract.log" 2>&1; rc=$?
	grep "^not ok" "$3/contract.log" | head -n 20; exit $rc' sh "$ROOT" "$PORT" "$TMP"
echo "# contract tests: $(tail -n1 "$TMP/contract.log") in $((SECONDS - t0)) s"

t0=$SECONDS
check "podman stop: the lab stops (QEMU with it) and the container exits 0" sh -c '
	podman stop -t 30 "$1" >/dev/null &&
	[ "$(podman container inspect --format "{{.State.ExitCode}}" "$1")" = 0 ]' sh "$NAME"
echo "# podman stop took $((SECONDS - t0)) s"

# ------------------------------------- the pinvmd image on real arm64 KVM
# No container runtime runs arm64 here, but the lab is an arm64 KVM host:
# boot it with the image's root file system in /pinvmd-image and start the
# image's entrypoint and command there as a runtime would: chrooted, as
# 10001:10001 with the kvm group (10002, from the image's /etc/group) as
# supplementary group, no capability, /dev/kvm root:kvm 0660 as with
# `--device /dev/kvm --group-add`. tests/deploy/runas.c does the user switch.
lab_pid=
lab_stop() {
	[ -n "$lab_pid" ] && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
	lab_pid=
}
trap 'lab_stop; cleanup' EXIT
LPORT=$((PORT + 1)) CPORT=$((PORT + 101))
ctl() { curl -s --max-time "${2:-120}" -X POST --data-binary "$1" "http://127.0.0.1:$CPORT/cgi-bin/run"; }
image_in_lab() {
	local mnt extra=$TMP/extra
	mnt=$(podman image mount $I) || return 1
	mkdir -p "$extra/pinvmd-image"
	cp -a "$mnt/." "$extra/pinvmd-image/"
	podman image unmount $I >/dev/null
	aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -static \
		-o "$extra/pinvmd-image/tmp/runas" "$ROOT/tests/deploy/runas.c" || return 1
	PINVM_LAB_NO_BUILD=1 "$ROOT/deploy/lab.sh" --kernel 6.12 --port "$LPORT" --control-port "$CPORT" \
		--extra "$extra" </dev/null >"$TMP/lab.log" 2>&1 &
	lab_pid=$!
	for _ in $(seq 1 600); do
		grep -q '^pinvm lab ready:' "$TMP/lab.log" && return 0
		kill -0 "$lab_pid" 2>/dev/null || break
		sleep 1
	done
	tail -n 20 "$TMP/lab.log"
	return 1
}
if command -v aarch64-linux-gnu-gcc >/dev/null; then
	t0=$SECONDS
	check "the lab (6.12) boots with the pinvmd image's root file system in it" image_in_lab
	echo "# lab with the image's root: ready in $((SECONDS - t0)) s"
	run_args=$(podman image inspect $I | jq -r '.[0].Config | .Entrypoint + .Cmd | join(" ")')
	health=$(podman image inspect $I | jq -r '.[0].Healthcheck.Test[1:] | join(" ")')
	as_image='chroot /pinvmd-image /tmp/runas 10001 10001 10002'
	# Inside the lab, as root: the image's root made ready as a runtime
	# would mount it, then its entrypoint and command started as the image's
	# user; prints the process's ids and capabilities.
	{
		cat <<-'EOF'
			R=/pinvmd-image
			mkdir -p $R/dev $R/proc
			mount -o bind /dev $R/dev
			mount -t proc proc $R/proc
			# a volume's first use copies the image's directory, owner included
			# (the initramfs archive made everything root's)
			chown -R 10001:10001 $R/var/lib/pinvm $R/run/pinvm
			chmod 0750 $R/var/lib/pinvm $R/run/pinvm
			cp /images/* $R/var/lib/pinvm/images/
			chown 10001:10001 $R/var/lib/pinvm/images/*
			chgrp 10002 /dev/kvm
			chmod 0660 /dev/kvm
		EOF
		echo "$as_image $run_args </dev/null >/tmp/image-pinvmd.log 2>&1 &"
		cat <<-'EOF'
			i=0
			while [ ! -S $R/run/pinvm/pinvmd.sock ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
			for p in /proc/[0-9]*; do
				if tr '\0' ' ' <$p/cmdline 2>/dev/null | grep -q '^/usr/bin/pinvmd .*unix:/run/pinvm/pinvmd.sock'; then
					grep -E '^(Uid|Gid|Groups|CapEff):' $p/status
				fi
			done
			cat /tmp/image-pinvmd.log
		EOF
	} >"$TMP/start-image.sh"
	image_starts() {
		local out
		out=$(ctl "$(cat "$TMP/start-image.sh")")
		echo "$out"
		grep -qE '^Uid:[[:space:]]+10001[[:space:]]+10001' <<<"$out" &&
			grep -qE '^Gid:[[:space:]]+10001[[:space:]]+10001' <<<"$out" &&
			grep -qE '^Groups:[[:space:]]+10002[[:space:]]*$' <<<"$out" &&
			grep -qE '^CapEff:[[:space:]]+0+$' <<<"$out"
	}
	check "the image's entrypoint and command start there as 10001:10001 (+kvm), no capability" image_starts
	image_healthy() {
		local out
		out=$(ctl "$as_image $health; echo health-status \$?")
		echo "$out"
		grep -qx 'health-status 0' <<<"$out"
	}
	check "the image's HEALTHCHECK command passes there (GET /v1/health over the socket)" image_healthy
	icurl="$as_image /usr/bin/curl -s --max-time 60 --unix-socket /run/pinvm/pinvmd.sock"
	ctl "$icurl http://localhost/v1/host" >"$TMP/image-host.json"
	check "the image's pinvmd: GET /v1/host answers from arm64 KVM" \
		jq -e '.arch == "aarch64" and .hypervisor == "kvm"' "$TMP/image-host.json"
	image_vm_boots() {
		local id state con
		id=$(ctl "$icurl -X POST -H 'Content-Type: application/json' -d '{\"vcpus\": 1, \"memory_mib\": 256, \"kernel\": \"debian-6.1-arm64.Image\", \"initrd\": \"busybox-initramfs.cpio.gz\", \"cmdline\": \"console=ttyS0\"}' http://localhost/v1/vms" | jq -r '.id // empty')
		[ -n "$id" ] || { echo "no VM made"; ctl "cat /tmp/image-pinvmd.log" | tail -n 5; return 1; }
		state=$(ctl "$icurl -X POST -H 'Content-Type: application/json' -d '{\"action\": \"start\"}' http://localhost/v1/vms/$id/actions" | jq -r .state)
		echo "VM $id: $state"
		[ "$state" = running ] || return 1
		local t0=$SECONDS
		for _ in $(seq 1 600); do
			con=$(ctl "$icurl 'http://localhost/v1/vms/$id/console?offset=0'")
			grep -q 'pinvm-guest-ready 1' <<<"$con" && break
			sleep 1
		done
		grep -q 'pinvm-guest-ready 1' <<<"$con" || { echo "no guest marker:"; tail -n 10 <<<"$con"; return 1; }
		echo "guest userspace after $((SECONDS - t0)) s"
		ctl "ps -o user,pid,args | grep '[p]invm-vmm'"
		ctl "$icurl -X DELETE -o /dev/null -w '%{http_code}' http://localhost/v1/vms/$id" | grep -qx 204
	}
	check "the image's pinvmd and pinvm-vmm boot a microVM to its guest's userspace" image_vm_boots
	grep -E '^guest userspace|pinvm-vmm' "$TMP/check.log" | sed 's/^/# image VM: /'
	lab_stop
else
	echo "# the pinvmd image in the lab: skipped, no aarch64-linux-gnu-gcc (deploy/lab.sh installs it)"
fi

# ------------------------------------------------------------------ figures
for img in pinvmd pinvm-lab; do
	podman image inspect --format "images: localhost/$img:latest {{.Architecture}} {{.Size}} bytes" \
		"localhost/$img:latest" | awk '{ printf "%s %s %s (%.1f MB)\n", $1, $2, $3, $4 / 1e6 }'
done
finish
