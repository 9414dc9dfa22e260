#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Integration: a real pcscd with the vpcd driver on our own ports, euicc-sim serving two cards, and a
# plain PC/SC client. Also pcsc_scan from pcsc-tools, a pcscd restart (the card reconnects), SIGTERM
# saving the state. Stops only what it started. Prints TAP; exits 77 (skip) when a foreign pcscd holds
# the machine's socket without our readers.
set -u
SIM=${1:?euicc-sim}
PROBE=${2:?pcsc_probe}
OTA=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/pcscd.sh"

work=$(mktemp -d /tmp/euicc-pcscd-XXXXXX)
export XDG_DATA_HOME="$work/data"
SIM_PIDS=()
cleanup() {
	for p in "${SIM_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pcscd_stop
	rm -rf "$work"
}
trap cleanup EXIT

n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && echo "#   $2"; }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name" "$(tail -n 5 "$work/out" | tr '\n' ' ')"; fi; }

P1=$(free_port); P2=$((P1 + 1))
pcscd_start "$work/pcscd" "$PROBE" "$P1"; rc=$?
if [ $rc -eq 77 ]; then echo "1..0 # SKIP foreign pcscd without our readers"; exit 77; fi
[ $rc -eq 0 ] || { echo "not ok 1 - pcscd started"; echo "1..1"; exit 1; }
ok "pcscd with two vpcd readers on ports $P1 and $P2"

check "euicc-sim new (card 1)" "$SIM" new --state "$work/c1.json" --eis "$work/eis1.json" --seed 1
check "euicc-sim new (card 2)" "$SIM" new --state "$work/c2.json" --seed 2
"$SIM" run --state "$work/c1.json" --vpcd "127.0.0.1:$P1" --state "$work/c2.json" --vpcd "127.0.0.1:$P2" \
	--pcap "$work/cards.pcapng" --pcap-plaintext >"$work/sim.log" 2>&1 &
SIM_PIDS+=($!)
R1=$(vpcd_reader_name "$P1" 0); R2=$(vpcd_reader_name "$P1" 1)
EID1=$("$SIM" show --json --state "$work/c1.json" | sed -n 's/.*"eid": "\([0-9]*\)".*/\1/p')

check "SELECT ISD-R through pcscd answers 9000" "$PROBE" --wait 10 "$R1" 00A4040010A0000005591010FFFFFFFF8900000100=9000
check "GET DATA EID via ECASD (card 1)" "$PROBE" "$R1" 00A4040C10A0000005591010FFFFFFFF8900000200=9000 80CA005A00=9000
if grep -q "5a10$EID1 9000" "$work/out"; then ok "the EID read through PC/SC is the card's"; else not_ok "EID matches" "$(cat "$work/out")"; fi
check "second card on its own reader" "$PROBE" --wait 10 "$R2" 00A4040C10A0000005591010FFFFFFFF8900000200=9000 80CA005A00=9000
if ! grep -q "$EID1" "$work/out"; then ok "the second card has another EID"; else not_ok "distinct EIDs"; fi
check "management on the contact interface refused (6982)" "$PROBE" "$R1" \
	00A4040C10A0000005591010FFFFFFFF8900000100=9000 80E28800153A03124F10A0000005591010FFFFFFFF8900001000=6982
if command -v pcsc_scan >/dev/null; then
	timeout 5 pcsc_scan -r >"$work/scan" 2>&1
	if grep -q "$R1" "$work/scan"; then ok "pcsc_scan lists the reader"; else not_ok "pcsc_scan" "$(head -c 300 "$work/scan")"; fi
fi

# the SM-SR's path through pcscd: key establishment, SCP03t download of two profiles, enables with REFRESH
if [ -n "$OTA" ]; then
	check "OTA through pcscd: create, download two profiles, enables alternating (50)" "$OTA" "$R2" "$R1" "$work/eis1.json" \
		"$XDG_DATA_HOME/euicc-bench/pki" 200
fi

if command -v opensc-tool >/dev/null; then
	opensc-tool --reader 0 --send-apdu 00A4040010A0000005591010FFFFFFFF8900000100 >"$work/osc" 2>&1
	if grep -qi "SW1=0x90, SW2=0x00\|90 00" "$work/osc"; then ok "opensc-tool --reader 0 SELECT ISD-R: 9000"; else
		not_ok "opensc-tool" "$(tr '\n' ' ' <"$work/osc" | head -c 300)"; fi
fi

# pcscd restarts: the card reconnects with back-off (only when we own pcscd)
if [ $PCSCD_REUSED -eq 0 ]; then
	pcscd_stop
	pcscd_start "$work/pcscd" "$PROBE" "$P1" >/dev/null 2>&1
	check "card reconnects after a pcscd restart" "$PROBE" --wait 15 "$R1" 00A4040C10A0000005591010FFFFFFFF8900000200=9000
fi

# the random-APDU storm through pcscd: every APDU answered (one byte ones too), the card still answers,
# its saved state unchanged (but for the MO counter, which notifications move)
stable() { "$SIM" show --json --show-secrets --state "$work/c1.json" | python3 -c "
import json,sys; d=json.load(sys.stdin); d.pop('mo_counter',None); print(json.dumps(d,sort_keys=True))"; }
before=$(stable)
check "20,000 random APDUs through pcscd, each answered" timeout 300 "$PROBE" --storm 20000 "$R1" \
	00A4040010A0000005591010FFFFFFFF8900000100=9000
grep -h "storm:" "$work/out" | sed 's/^/# /'
[ "$before" = "$(stable)" ] && ok "the storm left the card's saved state as it was" ||
	not_ok "the storm changed the saved state"

# SIGTERM: saves and exits cleanly
kill -TERM "${SIM_PIDS[0]}"
wait "${SIM_PIDS[0]}"; rc=$?
SIM_PIDS=()
if [ $rc -eq 0 ] && grep -q "state saved" "$work/sim.log"; then ok "SIGTERM saves and exits 0"; else not_ok "SIGTERM" "rc=$rc $(tail -n 3 "$work/sim.log")"; fi
check "the state loads after the stop" "$SIM" show --state "$work/c1.json"
# euicc-sim run --pcap --pcap-plaintext: the card side's capture, one stream per card, the card's own
# view of an exchange as its comment
if command -v tshark >/dev/null; then
	sel=$(tshark -r "$work/cards.pcapng" -Y 'ip.src == 10.0.0.1 && gsm_sim.apdu.ins == 0xa4 && gsm_sim.apdu.sw == 0x9000' 2>/dev/null | wc -l)
	eid2=$(tshark -r "$work/cards.pcapng" -Y 'ip.src == 10.0.0.2 && gsm_sim.apdu.ins == 0xca' 2>/dev/null | wc -l)
	all=$(tshark -r "$work/cards.pcapng" -Y 'udp.payload[12:1] == 00' 2>/dev/null | wc -l)
	atr=$(tshark -r "$work/cards.pcapng" -Y 'udp.payload[12:1] == 01' 2>/dev/null | wc -l)
	[ "$sel" -ge 2 ] && [ "$eid2" -ge 1 ] && [ "$all" -ge 20000 ] && [ "$atr" -ge 2 ] &&
		ok "euicc-sim run --pcap: card 1's SELECTs from 10.0.0.1, card 2's GET DATA from 10.0.0.2, $all APDUs and $atr ATRs" ||
		not_ok "euicc-sim --pcap" "select $sel, card 2 $eid2, apdus $all, atrs $atr"
	noted=$(tshark -r "$work/cards.pcapng" -Y 'gsm_sim.apdu.ins == 0xa4 && frame.comment contains "SELECT ISD-R"' 2>/dev/null | wc -l)
	[ "$noted" -ge 1 ] && ok "--pcap-plaintext on the card: its SELECT ISD-R noted on the packet ($noted)" ||
		not_ok "card notes" "$noted"
fi
perm=$(stat -c %a "$work/c1.json")
if [ "$perm" = "600" ]; then ok "NVM file is 0600"; else not_ok "NVM file mode $perm"; fi

echo "1..$n"
[ $failed -eq 0 ]
