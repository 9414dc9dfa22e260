# SPDX-License-Identifier: GPL-2.0-or-later
# A private pcscd with vsmartcard's vpcd readers on our own ports, for tests, the demo and the benchmark.
# Source it, then: pcscd_start DIR PORT...; ... ; pcscd_stop. Only the pcscd this started is stopped.
# shellcheck shell=bash

PCSCD_PID=""
PCSCD_DIR=""
PCSCD_REUSED=0

vpcd_driver() {
	local f
	for f in /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/pcsc/drivers/serial/libifdvpcd.so.0.8; do
		[ -e "$f" ] && { echo "$f"; return 0; }
	done
	ls /usr/lib/pcsc/drivers/serial/libifdvpcd.so* 2>/dev/null | head -n1
}

# The vpcd driver keeps its slots in one table per process: one reader.conf entry with base port P gives
# two readers, "NAME 00 00" on port P and "NAME 00 01" on port P+1 (more entries collide). So the bench
# serves at most two vpcd cards through one pcscd.
# vpcd_reader_name BASEPORT SLOT: the reader name pcsc_probe looks for
vpcd_reader_name() { echo "euicc-bench vpcd $1 00 0${2:-0}"; }

# pcscd_start DIR PROBE BASEPORT: returns 0 when the readers are up (own pcscd or a running one that has
# them), 77 when a foreign pcscd holds the machine's socket without our readers (message on stderr).
pcscd_start() {
	local dir=$1 probe=$2; shift 2
	local drv port
	drv=$(vpcd_driver)
	[ -n "$drv" ] || { echo "pcscd: the vpcd driver (vsmartcard-vpcd) is not installed" >&2; return 1; }
	PCSCD_DIR="$dir"
	mkdir -p "$dir/reader.conf.d"
	for port in "$@"; do
		cat >"$dir/reader.conf.d/euicc-bench-$port" <<EOC
FRIENDLYNAME "euicc-bench vpcd $port"
DEVICENAME   /dev/null:$port
LIBPATH      $drv
CHANNELID    $port
EOC
	done
	if pgrep -x pcscd >/dev/null 2>&1; then
		local missing=0
		"$probe" --list "$(vpcd_reader_name "$1" 0)" >/dev/null 2>&1 || missing=1
		if [ $missing -eq 0 ]; then
			PCSCD_REUSED=1
			echo "pcscd: reusing the running pcscd (pid $(pgrep -x pcscd | head -n1)), it has our readers" >&2
			return 0
		fi
		echo "pcscd: a pcscd (pid $(pgrep -x pcscd | tr '\n' ' ')) already runs without the euicc-bench readers;" \
			"there is one pcscd socket per machine (/run/pcscd/pcscd.comm), so a private one cannot start." \
			"Stop it or give it the readers of $dir/reader.conf.d." >&2
		return 77
	fi
	pcscd -f ${PCSCD_DEBUG:+-d} -c "$dir/reader.conf.d" >"$dir/pcscd.log" 2>&1 &
	PCSCD_PID=$!
	local i
	for i in $(seq 1 100); do
		if ! kill -0 "$PCSCD_PID" 2>/dev/null; then
			echo "pcscd: exited at start; its log:" >&2
			tail -n 20 "$dir/pcscd.log" >&2
			PCSCD_PID=""
			return 1
		fi
		"$probe" --list "$(vpcd_reader_name "$1" 0)" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "pcscd: readers did not appear within 10 s; log in $dir/pcscd.log" >&2
	return 1
}

pcscd_stop() {
	if [ -n "$PCSCD_PID" ]; then
		kill "$PCSCD_PID" 2>/dev/null
		wait "$PCSCD_PID" 2>/dev/null
		PCSCD_PID=""
	fi
}

# a free pair of TCP ports P, P+1 on 127.0.0.1 (best effort)
free_port() {
	python3 -c '
import socket
for _ in range(100):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    if p >= 65535: a.close(); continue
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass
    finally: a.close(); b.close()
'
}
