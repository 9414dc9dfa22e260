#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The vector library replayed by `apdu replay`, MODE inproc (a fresh in-process card per case) or pcscd
# (a real pcscd + vpcd + euicc-sim, reset to a fresh state file before every case by --reset-cmd: SIGHUP
# with `euicc-sim run --reset-from`).
# Also: a deliberately wrong expected byte fails with a clear diff, JUnit output parses (xmllint) and
# counts what TAP counted, a broken vector file is refused with its line, --stop-on-fail stops.
# Prints TAP; exits 77 when pcscd mode cannot get a pcscd.
set -u
MODE=${1:?inproc|pcscd}; SIM=${2:?euicc-sim}; PROBE=${3:?pcsc_probe}; APDU=${4:?apdu}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/pcscd.sh"
VEC="$ROOT/vectors"
work=$(mktemp -d /tmp/euicc-replay-XXXXXX)
export XDG_DATA_HOME="$work/data"
cleanup() {
	[ -f "$work/sim.pid" ] && kill "$(cat "$work/sim.pid")" 2>/dev/null && sleep 0.1
	pcscd_stop; rm -rf "$work"
}
trap cleanup EXIT
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# a reproducible card: the same EID and keys on every machine
"$SIM" new --state "$work/fresh.json" --eis "$work/eis.json" --seed 1 >/dev/null || { echo "not ok 1 - new"; echo "1..1"; exit 1; }
ncases=$(cat "$VEC"/*.vec | grep -c '^case ')

T0=()
[ "$MODE" = pcscd-t0 ] && { T0=(--t0-strict); MODE=pcscd; }
if [ "$MODE" = pcscd ]; then
	PORT=$(free_port)
	pcscd_start "$work/pcscd" "$PROBE" "$PORT"; rc=$?
	[ $rc -eq 77 ] && { echo "1..0 # SKIP no pcscd of our own"; exit 77; }
	[ $rc -eq 0 ] || { echo "not ok 1 - pcscd"; echo "1..1"; exit 1; }
	READER=$(vpcd_reader_name "$PORT" 0)
	# one euicc-sim for the whole run; the reset command sends it SIGHUP (back to fresh.json, a power
	# cycle) and waits for its log line
	cp -f "$work/fresh.json" "$work/card.json"
	"$SIM" run --state "$work/card.json" --reset-from "$work/fresh.json" --vpcd "127.0.0.1:$PORT" "${T0[@]}" \
		</dev/null >/dev/null 2>>"$work/sim.log" &
	echo $! >"$work/sim.pid"
	"$PROBE" --wait 10 "$READER" 00A4040C10A0000005591010FFFFFFFF8900000100=9000 >/dev/null 2>&1 ||
		{ echo "not ok 1 - euicc-sim in pcscd"; echo "1..1"; exit 1; }
	cat >"$work/reset.sh" <<RESET
#!/usr/bin/env bash
before=\$(grep -c "reset to" "$work/sim.log")
kill -HUP "\$(cat "$work/sim.pid")" || exit 1
for i in \$(seq 250); do [ "\$(grep -c "reset to" "$work/sim.log")" -gt "\$before" ] && exit 0; sleep 0.02; done
echo "euicc-sim did not reset" >&2; exit 1
RESET
	chmod +x "$work/reset.sh"
	CARD=(--reader "$READER" --reset-cmd "$work/reset.sh")
else
	CARD=(--inproc "$work/fresh.json")
fi

# 1. the whole library
"$APDU" replay "${CARD[@]}" --eis "$work/eis.json" --junit "$work/all.xml" --pcap "$work/all.pcap" "$VEC"/*.vec \
	>"$work/all.tap" 2>&1; rc=$?
passed=$(grep '^ok ' "$work/all.tap" | grep -vc '# SKIP'); nok=$(grep -c '^not ok ' "$work/all.tap")
skipped=$(grep -c '^ok .*# SKIP' "$work/all.tap")
# only a strict T=0 card skips (the cases marked `protocol t1`), and it must skip exactly those
want_skip=0
[ ${#T0[@]} -gt 0 ] && want_skip=$(grep -c '^  protocol t1' "$VEC"/*.vec | awk -F: '{s += $2} END {print s}')
if [ $rc -eq 0 ] && [ $((passed + skipped)) -eq "$ncases" ] && [ "$skipped" -eq "$want_skip" ] && [ "$nok" -eq 0 ]; then
	ok "the vector library: $passed of $ncases cases pass, $skipped skipped as T=1-only ($MODE${T0[*]:+ ${T0[*]}})"
else
	not_ok "the vector library ($MODE): exit $rc, $passed passed, $nok failed of $ncases" "$(grep -A8 '^not ok' "$work/all.tap" | head -40)"
fi
[ "$ncases" -ge 50 ] && ok "the library has $ncases cases" || not_ok "only $ncases cases"
# apdu replay --pcap, read by the Lua dissector (tshark as a user that is not root): the packets sent in
# clear (SCP80-06, SPI 1239) show their counter and the command inside by name
if [ "$MODE" = inproc ] && command -v tshark >/dev/null; then
	pub=$(mktemp -d /tmp/euicc-replay-pub-XXXXXX); chmod 755 "$pub"
	cp "$work/all.pcap" "$ROOT/tools/wireshark/sgp02.lua" "$pub/" && chmod 644 "$pub"/*
	run_ts() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- tshark "$@"; else tshark "$@"; fi 2>/dev/null; }
	clear=$(run_ts -X "lua_script:$pub/sgp02.lua" -r "$pub/all.pcap" -Y 'sgp02.spi == 0x1239' -T fields \
		-e sgp02.cntr -e sgp02.apdu | sort -u | head -3)
	n80=$(run_ts -r "$pub/all.pcap" -Y 'gsm_sim' | wc -l)
	rm -rf "$pub"
	[[ "$clear" == *"GET STATUS (audit)"* ]] && [[ "$clear" =~ ^[0-9a-f]{10} ]] && [ "$n80" -gt 500 ] &&
		ok "replay --pcap ($n80 APDUs); sgp02.lua shows a packet in clear with its counter and its GET STATUS" ||
		not_ok "replay capture" "$clear" "$n80 packets"
fi
# every group file has cases and every case a unique ID
dups=$(cat "$VEC"/*.vec | awk '/^case /{print $2}' | sort | uniq -d)
[ -z "$dups" ] && ok "case IDs are unique" || not_ok "duplicate case IDs" "$dups"

# --list: every case with the state it requires, nothing run
out=$("$APDU" replay --list "$VEC"/*.vec 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"ES5-ENABLE-01"*"two-profiles"*"es5.vec:"* ]] && [[ "$out" == *"# $ncases cases"* ]] &&
	ok "--list names each case, its state and place" || not_ok "--list" "exit $rc" "${out:0:300}"

# 2. JUnit: well-formed, and the same counts as TAP
if command -v xmllint >/dev/null; then
	if xmllint --noout "$work/all.xml" 2>"$work/xml.err"; then ok "JUnit XML is well-formed"; else
		not_ok "JUnit XML" "$(head -5 "$work/xml.err")"; fi
	tc=$(xmllint --xpath 'count(//testcase)' "$work/all.xml" 2>/dev/null)
	fc=$(xmllint --xpath 'count(//failure)' "$work/all.xml" 2>/dev/null)
	[ "$tc" = "$ncases" ] && [ "$fc" = 0 ] && ok "JUnit counts $tc test cases, $fc failures" ||
		not_ok "JUnit counts" "testcases $tc (want $ncases), failures $fc"
else
	not_ok "xmllint is missing (Debian package libxml2-utils)"
fi

# 3. a wrong expected byte: the case fails, the diff shows expected, got and where
sed 's/R: 5A10 \$EID 9000/R: 5A10 $EID 9001/' "$VEC/files.vec" >"$work/wrong.vec"
cp "$VEC/states.vec" "$work/states.vec"
wline=$(grep -n 'R: 5A10 \$EID 9001' "$work/wrong.vec" | head -n1 | cut -d: -f1)
"$APDU" replay "${CARD[@]}" --eis "$work/eis.json" --junit "$work/wrong.xml" "$work/wrong.vec" >"$work/wrong.tap" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q '^not ok 1 - CARD-01' "$work/wrong.tap" && grep -q 'status words differ at byte 1' "$work/wrong.tap" &&
	grep -q 'expected: 9001' "$work/wrong.tap" && grep -q 'got:      9000' "$work/wrong.tap" &&
	grep -q "wrong.vec:$wline: R: 5A10" "$work/wrong.tap"; then
	ok "a wrong expected byte fails with a diff naming file, line, expected and got"
else
	not_ok "wrong expected byte" "exit $rc" "$(head -20 "$work/wrong.tap")"
fi
if command -v xmllint >/dev/null; then
	fc=$(xmllint --xpath 'count(//failure)' "$work/wrong.xml" 2>/dev/null)
	[ "$fc" = 1 ] && ok "JUnit records the one failure" || not_ok "JUnit failure count $fc"
fi
# --stop-on-fail: the first failure ends the run, the rest is reported as not run
"$APDU" replay "${CARD[@]}" --eis "$work/eis.json" --stop-on-fail "$work/wrong.vec" >"$work/stop.tap" 2>&1; rc=$?
[ $rc -eq 1 ] && [ "$(grep -c '^ok \|^not ok ' "$work/stop.tap")" -eq 1 ] && grep -q 'not run' "$work/stop.tap" &&
	ok "--stop-on-fail stops at the first failure" || not_ok "--stop-on-fail" "$(tail -5 "$work/stop.tap")"

# 4. bad vector files: refused before anything runs, with file and line
printf 'case X-01 a case\n  C: 00A4\n  R: 9000\nbogus line outside\n' >"$work/bad1.vec"
printf '  C: 00A4040000\n' >"$work/bad2.vec"
printf 'case X-02 needs a state\n  requires nowhere\n' >"$work/bad3.vec"
out=$("$APDU" replay "${CARD[@]}" --eis "$work/eis.json" "$work/bad2.vec" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"bad2.vec:1: a step outside any case"* ]] && ok "a step outside a case is refused with its line" ||
	not_ok "bad2" "exit $rc: $out"
out=$("$APDU" replay "${CARD[@]}" --eis "$work/eis.json" "$work/bad3.vec" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"requires state 'nowhere'"* ]] && ok "an undefined state is refused" || not_ok "bad3" "exit $rc: $out"
printf 'case X-03 unknown step\n  FROB 00\n' >"$work/bad4.vec"
out=$("$APDU" replay "${CARD[@]}" --eis "$work/eis.json" "$work/bad4.vec" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"unknown step: FROB 00"* ]] && ok "an unknown step fails its case" || not_ok "bad4" "exit $rc: $out"
printf 'case X-05 segment zero\n  DOWNLOAD A0000005591010FFFFFFFF8900001100 generated:8988211000000467285:001010123456063 segment=0\n  EXPECT ok\n' >"$work/bad6.vec"
out=$(timeout 20 "$APDU" replay "${CARD[@]}" --eis "$work/eis.json" "$work/bad6.vec" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"'segment=0' is not a number from 1 to 65535"* ]] && ok "DOWNLOAD segment=0 fails its case (no hang)" ||
	not_ok "bad6" "exit $rc: $out"
printf 'case X-04 unknown variable\n  C: 00A4040C10 $NOPE\n  R: 9000\n' >"$work/bad5.vec"
out=$("$APDU" replay "${CARD[@]}" --eis "$work/eis.json" "$work/bad5.vec" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *'unknown variable $NOPE'* ]] && ok "an unknown variable fails its case" || not_ok "bad5" "exit $rc: $out"
out=$("$APDU" replay --inproc "$work/nocard.json" --eis "$work/eis.json" "$VEC/es5.vec" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"--inproc $work/nocard.json: No such file"* ]] && ok "a missing --inproc card is refused before any case" ||
	not_ok "missing card" "exit $rc: ${out:0:300}"
out=$("$APDU" replay "${CARD[@]}" --eis "$work/eis.json" "$work/missing.vec" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"missing.vec: No such file"* ]] && ok "a missing file is named" || not_ok "missing" "exit $rc: $out"
if [ "$MODE" = inproc ]; then
	out=$("$APDU" replay --inproc "$work/fresh.json" --reader 0 "$VEC/es5.vec" 2>&1); rc=$?
	[ $rc -eq 2 ] && [[ "$out" == *"give one of them"* ]] && ok "--reader with --inproc is refused" || not_ok "both" "$out"
	# the in-process state file is never modified
	sum1=$(sha256sum <"$work/fresh.json")
	"$APDU" replay --inproc "$work/fresh.json" --eis "$work/eis.json" "$VEC/es5.vec" >/dev/null 2>&1
	[ "$sum1" = "$(sha256sum <"$work/fresh.json")" ] && ok "the --inproc state file is left as it was" || not_ok "state file changed"
fi
echo "1..$n"
[ $failed -eq 0 ]
