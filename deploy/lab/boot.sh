# shellcheck shell=bash
# deploy/lab/boot.sh, sourced by deploy/lab.sh: QEMU booting the lab, its
# ports, the emulated link, and stopping it.

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

# Prints one of the lines lab.sh promises on stdout. QEMU writes the
# guest's console to this same stdout, byte runs that need not end a line:
# a newline first, so the line always starts one (one printf, one write:
# the console cannot land inside it).
announce() {
	printf '\n%s\n' "$*"
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
	announce "pinvm lab link: $addr"
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
		-M virt,virtualization=on,gic-version="${PINVM_LAB_GIC:-3}" -cpu "${PINVM_LAB_CPU:-max,pauth-impdef=on}" -smp "$CPUS" -m "$MEM"
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
	announce "pinvm lab ready: http://127.0.0.1:$PORT kernel=$release"
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
