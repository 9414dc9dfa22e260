#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The SM-SR end to end, MODE inproc (links the card) or pcscd (a real pcscd + vpcd + euicc-sim):
# the demo flow; all five TS.48 packages (four fit, the fifth is refused cleanly), each enabled in turn
# and deleted; failure paths (wrong keys in the store, stale counter, foreign SM-DP PKI, POL1, card
# killed mid-download in pcscd mode). Prints TAP; exits 77 when pcscd mode cannot get a pcscd.
set -u
MODE=${1:?inproc|pcscd}; SIM=${2:?euicc-sim}; SMSR=${3:?smsr}; PROBE=${4:?pcsc_probe}; APDU=${5:?apdu}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/pcscd.sh"
PROFILES="$ROOT/../shared/profiles"
work=$(mktemp -d /tmp/euicc-smsr-XXXXXX)
export XDG_DATA_HOME="$work/data"
SIM_PID=""
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null; pcscd_stop; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/tap.sh"
state_of() { "$SIM" show --json --state "$work/card.json" | python3 -c "
import json,sys
for p in json.load(sys.stdin)['profiles']:
    if p['iccid'] == sys.argv[1]: print(p['state'])" "$1"; }

"$SIM" new --state "$work/card.json" --eis "$work/eis.json" --seed 11 >/dev/null || { echo "not ok 1 - new"; exit 1; }
# pcscd-t0: the card behaves as a strict T=0 card (docs/real-cards.md); everything must pass the same
T0=()
[ "$MODE" = pcscd-t0 ] && { T0=(--t0-strict); MODE=pcscd; }
start_card() {
	"$SIM" run --state "$work/card.json" --vpcd "127.0.0.1:$PORT" "${T0[@]}" 2>>"$work/sim.log" &
	SIM_PID=$!
	"$PROBE" --wait 10 "$READER" 00A4040C10A0000005591010FFFFFFFF8900000200=9000 >/dev/null 2>&1
}
if [ "$MODE" = pcscd ]; then
	PORT=$(free_port)
	pcscd_start "$work/pcscd" "$PROBE" "$PORT"; rc=$?
	[ $rc -eq 77 ] && { echo "1..0 # SKIP no pcscd of our own"; exit 77; }
	[ $rc -eq 0 ] || { echo "not ok 1 - pcscd"; echo "1..1"; exit 1; }
	READER=$(vpcd_reader_name "$PORT" 0)
	start_card || { echo "not ok 1 - card in pcscd"; echo "1..1"; exit 1; }
	CARD=(--reader "$READER")
else
	CARD=(--inproc "$work/card.json")
fi
S=("$SMSR" --db "$work/smsr.db" "${CARD[@]}")

expect "register" 0 "registered eUICC" "$SMSR" --db "$work/smsr.db" register "$work/eis.json"
expect "register twice is refused" 1 "already registered" "$SMSR" --db "$work/smsr.db" register "$work/eis.json"
expect "profile new" 0 "wrote" "$SMSR" profile new --iccid 8988211000000467285 --imsi 001010123456063 \
	--k 000102030405060708090a0b0c0d0e0f --opc 00112233445566778899aabbccddeeff --out "$work/A.der" --spn "Bench Net"
expect "profile show reads it back" 0 "IMSI  001010123456063" "$SMSR" profile show "$work/A.der"
expect "profile show lists the files" 0 "6f07 (usim) 080910101032540636" "$SMSR" profile show "$work/A.der"
expect "download A (json aid, iccid)" 0 '"iccid": "8988211000000467285"' "${S[@]}" --json download "$work/A.der"
expect "enable A" 0 "enable 8988211000000467285: done" "${S[@]}" enable 8988211000000467285
[ "$(state_of 8988211000000467285)" = enabled ] && ok "the card has A enabled" || not_ok "card state of A"
expect "apdu read-ids: a modem sees A's ICCID" 0 "ICCID  8988211000000467285" "$APDU" read-ids "${CARD[@]}"
expect "apdu read-ids: and its IMSI" 0 "IMSI   001010123456063" "$APDU" read-ids "${CARD[@]}"
expect "apdu read-ids: and its SPN" 0 "SPN    Bench Net" "$APDU" read-ids "${CARD[@]}"
expect "notifications stored and confirmed" 0 '"confirmed": "' "$SMSR" --db "$work/smsr.db" --json notifications
if [ ${#T0[@]} -gt 0 ]; then
	# a T=0 card: a READ BINARY whose P3 is too long gets 6C0A, and apdu resends it as a T=0 host does
	expect "T=0: 6Cxx is resent with the right P3" 0 "988812010000407682f5 9000" \
		"$APDU" send "${CARD[@]}" 00A4080C022FE2 00B0000010
	expect "T=0: no extended length (6700)" 0 "6700" "$APDU" send "${CARD[@]}" 00B00000000100
fi
# what a modem writes (EF.LOCI) survives a restart of the card process
expect "modem writes EF.LOCI" 0 "9000" "$APDU" send "${CARD[@]}" 00A4080C047FFF6F7E 00D600000B12345678001010fffe0000
if [ "$MODE" = pcscd ]; then
	kill -TERM "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=""
	start_card || not_ok "card restarted" "$(tail -5 "$work/sim.log")"
fi
expect "EF.LOCI after a restart of euicc-sim" 0 "12345678001010fffe0000 9000" \
	"$APDU" send "${CARD[@]}" 00A4080C047FFF6F7E 00B000000B

# all five TS.48 packages: A is already there, so three more fit; the rest are refused cleanly
if [ -d "$PROFILES" ]; then
	i=0
	for f in "$PROFILES"/*.der; do
		i=$((i + 1))
		if [ $i -le 3 ]; then
			expect "download TS.48 $(basename "$f")" 0 "installed:" "${S[@]}" download "$f"
		else
			expect "download TS.48 $(basename "$f") refused: card full" 1 "not enough memory" "${S[@]}" download "$f"
		fi
	done
	for iccid in $("$SMSR" --db "$work/smsr.db" --json list | python3 -c "
import json,sys
for e in json.load(sys.stdin)['euiccs']:
    for p in e['isdps']:
        if p['iccid'] and p['iccid'] != '8988211000000467285': print(p['iccid'])"); do
		expect "enable $iccid" 0 "done" "${S[@]}" enable "$iccid"
		[ "$(state_of "$iccid")" = enabled ] && ok "card: $iccid enabled" || not_ok "card: $iccid enabled"
		out=$("$APDU" --json read-ids "${CARD[@]}" 2>&1)
		if [[ "$out" == *"\"iccid\": \"$iccid\""* && "$out" == *'"imsi": "001010123456063"'* ]]; then
			ok "read-ids after enabling $iccid: its ICCID and IMSI 001010123456063"; else not_ok "read-ids $iccid" "$out"; fi
		# interop: another PC/SC program (OpenSC) selects ADF.USIM and reads EF.IMSI the same way
		if [ "$MODE" = pcscd ] && command -v opensc-tool >/dev/null; then
			opensc-tool --reader 0 --send-apdu 00A4040C07A0000000871002 --send-apdu 00A4000C026F07 \
				--send-apdu 00B0000009 >"$work/osc" 2>&1
			if tr '\n' ' ' <"$work/osc" | grep -qi "08 09 10 10 10 32 54 06 36"; then
				ok "opensc-tool reads EF.IMSI of $iccid: 080910101032540636"; else
				not_ok "opensc-tool EF.IMSI" "$(tr '\n' ' ' <"$work/osc" | head -c 400)"; fi
		fi
	done
	expect "enable A again" 0 "done" "${S[@]}" enable 8988211000000467285
	for iccid in $("$SMSR" --db "$work/smsr.db" --json list | python3 -c "
import json,sys
for e in json.load(sys.stdin)['euiccs']:
    for p in e['isdps']:
        if p['state'] == 'disabled': print(p['iccid'])"); do
		expect "delete $iccid" 0 "done" "${S[@]}" delete "$iccid"
	done
	expect "audit: only A left" 0 "8988211000000467285" "${S[@]}" audit
else
	if [ "${CI:-}" = true ]; then not_ok "../shared/profiles is missing (TS.48 packages)"; else
		echo "# ../shared/profiles is missing: the TS.48 downloads were not run (this fails in CI)"; fi
fi

# fall-back and POL1
expect "profile B" 0 "wrote" "$SMSR" profile new --iccid 8949449999999990015 --imsi 001010000000002 \
	--k 0f0e0d0c0b0a09080706050403020100 --opc ffeeddccbbaa99887766554433221100 --out "$work/B.der"
expect "download B" 0 "installed:" "${S[@]}" download "$work/B.der"
expect "set-fallback A" 0 "done" "${S[@]}" set-fallback 8988211000000467285
expect "enable B" 0 "done" "${S[@]}" enable 8949449999999990015
expect "connectivity loss: fall-back to A" 0 "switched to its fall-back profile" "${S[@]}" connectivity-loss
[ "$(state_of 8988211000000467285)" = enabled ] && ok "card: A enabled after fall-back" || not_ok "fall-back state"
expect "POL1 on A: disable not allowed" 0 "done" "${S[@]}" set-pol1 8988211000000467285 01
expect "enable B refused by POL1 (69E1)" 1 "POL1 forbids it" "${S[@]}" enable 8949449999999990015
expect "delete the enabled profile refused" 1 "6985" "${S[@]}" delete 8988211000000467285
expect "update connectivity parameters" 0 "SMSC 447700900123" "${S[@]}" update-connectivity 447700900123
expect "unknown target named" 1 "no ISD-P with AID or ICCID 1234" "${S[@]}" enable 1234

# a stale counter in the store: the SM-SR resynchronises
python3 - "$work/smsr.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE keyset SET counter = 2 WHERE kvn = 1"); db.commit()
PY
expect "stale counter: resynchronised and retried" 0 "resynchronised to" "${S[@]}" audit
# wrong OTA keys in the store: the card answers with PoR 01
cp "$work/smsr.db" "$work/good.db"
python3 - "$work/smsr.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE keyset SET kid = zeroblob(16) WHERE kvn = 1"); db.commit()
PY
expect "wrong keys in the store: reported" 1 "RC/CC/DS failed" "${S[@]}" audit
cp "$work/good.db" "$work/smsr.db"; rm -f "$work/smsr.db-wal" "$work/smsr.db-shm"
# one ICCID, one ISD-P: the same package again is refused before anything is sent
expect "download B again: refused, ICCID installed" 1 "is already installed in ISD-P" "${S[@]}" download "$work/B.der"
"$SMSR" profile new --iccid 8988211000000467301 --imsi 001010000000003 --k 0f0e0d0c0b0a09080706050403020100 \
	--opc ffeeddccbbaa99887766554433221100 --out "$work/C.der" >/dev/null
# a foreign SM-DP (another test PKI): the card refuses key establishment, no ISD-P is left behind
before=$("$SIM" show --json --state "$work/card.json" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['profiles']))")
expect "another CI: the SM-DP refuses the card's certificate" 1 "ECASD certificate does not verify up to the CI" \
	env XDG_DATA_HOME="$work/other" "${S[@]}" download "$work/C.der"
# the same CI, but an SM-DP certificate from another CI: the card refuses key establishment
mkdir -p "$work/mixed/euicc-bench/pki"
python3 - "$XDG_DATA_HOME/euicc-bench/pki/pki.json" "$work/other/euicc-bench/pki/pki.json" "$work/mixed/euicc-bench/pki/pki.json" <<'PY'
import json, sys
good, other = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
good["smdp"] = other["smdp"]
json.dump(good, open(sys.argv[3], "w"))
PY
expect "SM-DP certificate from a foreign CI: the card refuses key establishment" 1 "3A01 refused" \
	env XDG_DATA_HOME="$work/mixed" "${S[@]}" download "$work/C.der"
after=$("$SIM" show --json --state "$work/card.json" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['profiles']))")
[ "$before" = "$after" ] && ok "no ISD-P left behind after the refused download" || not_ok "ISD-Ps $before -> $after"

# two SM-SR sessions on one reader (pcscd mode): one at a time, the other waits or is told it is busy,
# never interleaved
if [ "$MODE" = pcscd ] && [ -d "$PROFILES" ]; then
	f=$(ls "$PROFILES"/*.der | head -n1)
	"$SMSR" --db "$work/smsr.db" --trace "${CARD[@]}" download "$f" >"$work/dl1.out" 2>&1 &
	DL=$!
	for i in $(seq 1000); do [ "$(grep -c "SCP03t segment" "$work/dl1.out")" -ge 1 ] && break; sleep 0.005; done
	out=$("$SMSR" --db "$work/smsr.db" "${CARD[@]}" audit 2>&1); rc2=$?
	wait "$DL"; rc1=$?
	[ $rc1 -eq 0 ] && ok "a download with a second session knocking: installed" || not_ok "download disturbed" "$(tail -3 "$work/dl1.out")"
	if [ $rc2 -eq 0 ] || [[ "$out" == *"is busy: another program has the card"* ]]; then
		ok "the second session waited or was told busy (${out:0:60})"
	else
		not_ok "the second session failed otherwise" "$out"
	fi
	expect "delete what the download installed" 0 "done" "${S[@]}" delete "$(python3 -c "
import json,subprocess,sys
d=json.loads(subprocess.run([sys.argv[1],'profile','show','--json',sys.argv[2]],capture_output=True,text=True).stdout)
print(d['iccid'])" "$SMSR" "$f")"
fi

# the card process killed in the middle of a download (pcscd mode)
if [ "$MODE" = pcscd ] && [ -d "$PROFILES" ]; then
	f=$(ls "$PROFILES"/*.der | head -n1)
	"$SMSR" --db "$work/smsr.db" --trace "${CARD[@]}" download "$f" >"$work/dl.out" 2>&1 &
	DL=$!
	# kill the card once the package is on its way: a few segments sent, most still to come
	for i in $(seq 1000); do [ "$(grep -c "SCP03t segment" "$work/dl.out")" -ge 3 ] && break; sleep 0.005; done
	kill -9 "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=""
	wait "$DL"; rc=$?
	[ $rc -ne 0 ] && ok "download interrupted: reported ($(tail -n1 "$work/dl.out" | cut -c1-80))" || not_ok "interrupted download exit 0"
	start_card
	half=$("$SIM" show --json --state "$work/card.json" | python3 -c "
import json,sys
print(sum(1 for p in json.load(sys.stdin)['profiles'] if p['state'] in ('selectable','personalized') and p['package_bytes']))")
	[ "$half" = 0 ] && ok "no half profile on the card" || not_ok "half profile found"
	expect "audit settles the store" 0 "8988211000000467285" "$SMSR" --db "$work/smsr.db" --trace "${CARD[@]}" audit
	left=$("$SMSR" --db "$work/smsr.db" --json list | python3 -c "
import json,sys
print(sum(1 for e in json.load(sys.stdin)['euiccs'] for p in e['isdps'] if p['state'] == 'unknown'))")
	[ "$left" = 0 ] && ok "no 'unknown' entry after the audit" || not_ok "unknown entries remain"
	empty=$("$SMSR" --db "$work/smsr.db" --json "${CARD[@]}" audit | python3 -c "
import json,sys
print(sum(1 for p in json.load(sys.stdin)['isdps'] if p['state'] in ('selectable','personalized','installed')))")
	[ "$empty" = 0 ] && ok "the audit deleted the ISD-P the interrupted download left" || not_ok "$empty empty ISD-Ps remain"
fi
if [ "$MODE" = inproc ]; then
	# the command line: bad arguments name what is wrong and exit 2
	expect "help" 0 "usage: smsr" "$SMSR" --help
	expect "unknown command" 2 "unknown command 'frob'" "$SMSR" --db "$work/smsr.db" frob
	expect "--reader and --inproc together" 2 "give one of them" "$SMSR" --reader 0 --inproc x.json list
	expect "unknown global option" 2 "unknown option '--frob'" "$SMSR" --db "$work/smsr.db" --frob list
	expect "no card given" 2 "give --reader NAME|N (PC/SC) or --inproc" "$SMSR" --db "$work/smsr.db" audit
	expect "profile new: bad ICCID check digit" 2 "--iccid 8988211000000467284" "$SMSR" profile new --iccid 8988211000000467284 \
		--imsi 001010123456063 --k 000102030405060708090a0b0c0d0e0f --opc 00112233445566778899aabbccddeeff
	expect "profile new: short K" 2 "--k: expected 16 bytes" "$SMSR" profile new --iccid 8988211000000467285 \
		--imsi 001010123456063 --k 0001 --opc 00112233445566778899aabbccddeeff
	expect "profile new: bad SPN" 2 "--spn" "$SMSR" profile new --iccid 8988211000000467285 --imsi 001010123456063 \
		--k 000102030405060708090a0b0c0d0e0f --opc 00112233445566778899aabbccddeeff --spn "way too long a provider name"
	expect "profile new: bad IMSI" 2 "--imsi 0010x" "$SMSR" profile new --iccid 8988211000000467285 --imsi 0010x \
		--k 000102030405060708090a0b0c0d0e0f --opc 00112233445566778899aabbccddeeff
	head -c 100 "$work/A.der" >"$work/cut.der"
	expect "profile show: truncated package" 1 "not a profile package" "$SMSR" profile show "$work/cut.der"
	expect "download: truncated package refused before any OTA" 1 "not a profile package" "${S[@]}" download "$work/cut.der"
	expect "download: missing file" 1 "nope.der" "${S[@]}" download "$work/nope.der"
	expect "register: not an EIS" 1 "not an EIS file" "$SMSR" --db "$work/smsr.db" register "$work/card.json"
	expect "unknown EID" 1 "is not registered" "${S[@]}" audit 89049032123451234512345678901235
	expect "json error object" 2 '"error"' "$SMSR" --json --db "$work/smsr.db" frob
	expect "pki init" 0 "test PKI ready" "$SMSR" pki init "$work/pki2"
	# the shell, fed from a pipe: help, status, trace, quit
	out=$(printf 'help\nstatus\ntrace on\nstatus\ntrace off\nquit\n' | "${S[@]}" shell 2>&1)
	if [[ "$out" == *"connectivity-loss"* && "$out" == *"ISD-P AID"* && "$out" == *"SCP80 packet"* ]]; then ok "shell: help, status, trace"; else
		not_ok "shell" "${out:0:500}"; fi
fi
perm=$(stat -c %a "$work/smsr.db")
[ "$perm" = 600 ] && ok "store is 0600" || not_ok "store mode $perm"
if ! "$SMSR" --db "$work/smsr.db" --json list | grep -qi '"kic\|"key"'; then ok "no keys printed"; else not_ok "keys printed"; fi
echo "1..$n"
[ $failed -eq 0 ]
