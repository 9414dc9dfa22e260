#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What a red team broke (issue 12), as a user meets it: one writer per card for real (a refused second
# writer or `new --force` touches nothing; clients racing on one --inproc card never lose an
# acknowledged change), a counter the store cannot commit is never sent, `register` validates every
# field. Prints TAP.
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; APDU=${3:?apdu}
work=$(mktemp -d /tmp/euicc-redteam-XXXXXX)
export XDG_DATA_HOME="$work/data"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/tap.sh"
same_files() { # NAME FILE... : each FILE equals its copy FILE.before
	local name=$1; shift
	for f in "$@"; do
		if ! cmp -s "$f" "$f.before"; then not_ok "$name" "$f changed"; return; fi
	done
	ok "$name"
}
snap() { for f in "$@"; do cp "$f" "$f.before"; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

S="$work/card.json"
"$SIM" new --state "$S" --eis "$work/eis.json" --seed 5 >/dev/null || { echo "not ok 1 - new"; echo "1..1"; exit 1; }
D=("$SMSR" --db "$work/smsr.db")
expect "register" 0 "registered eUICC" "${D[@]}" register "$work/eis.json"
"$SMSR" profile new --iccid 8988211000000467285 --imsi 001010123456063 --k 000102030405060708090a0b0c0d0e0f \
	--opc 00112233445566778899aabbccddeeff --out "$work/A.der" >/dev/null
"$SMSR" profile new --iccid 8988211000000467293 --imsi 001010123456071 --k 000102030405060708090a0b0c0d0e0f \
	--opc 00112233445566778899aabbccddeeff --out "$work/B.der" >/dev/null
expect "download A" 0 "installed:" "${D[@]}" --inproc "$S" download "$work/A.der"
expect "download B" 0 "installed:" "${D[@]}" --inproc "$S" download "$work/B.der"
expect "enable A" 0 "done" "${D[@]}" --inproc "$S" enable 8988211000000467285

# ---- 1 and 11: a card served by one process; a second writer and `new --force` are refused, nothing moves
port=$(free_port)
"$SIM" run --state "$S" --vpcd "127.0.0.1:$port" 2>"$work/run1.log" &
PIDS+=($!)
for _ in $(seq 50); do grep -q "not reachable" "$work/run1.log" && break; sleep 0.1; done
# the running card has written its journal: make one change through nobody (it holds the lock), so
# compare the files as they are while it runs
snap "$S"; [ -e "$S.journal" ] && snap "$S.journal"
expect "a second euicc-sim run is refused" 1 "is in use by another process" \
	timeout 10 "$SIM" run --state "$S" --vpcd "127.0.0.1:$(free_port)"
expect "new --force over a served card is refused" 1 "is in use by another process" \
	"$SIM" new --state "$S" --force --seed 9
expect "an --inproc smsr is refused" 1 "is in use by another process" "${D[@]}" --inproc "$S" audit
expect "an --inproc apdu send is refused" 1 "is in use by another process" "$APDU" send --inproc "$S" 00A4040000
files=("$S"); [ -e "$S.journal" ] && files+=("$S.journal")
same_files "the refused writers left the served card's files as they were" "${files[@]}"
[ -e "$S.journal" ] || ok "no journal appeared"
expect "show still reads the served card (read-only)" 0 "enabled" "$SIM" show --state "$S"
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null; PIDS=()
expect "the card served before is intact" 0 "8988211000000467285" "$SIM" show --state "$S"

# ---- 2: clients racing on one --inproc card: each one either runs whole or is refused; nothing lost
enabled_iccid() { "$SIM" show --json --state "$S" | python3 -c "
import json,sys
print(''.join(p.get('iccid') or '' for p in json.load(sys.stdin)['profiles'] if p['state'] == 'enabled'))"; }
lost=0; ran=0; refused=0
for i in $(seq 1 16); do
	if [ "$(enabled_iccid)" = 8988211000000467285 ]; then want=8988211000000467293; else want=8988211000000467285; fi
	"${D[@]}" --inproc "$S" enable "$want" >"$work/e.out" 2>&1 &
	e=$!
	sleep "0.0$((i % 4))"
	for _ in 1 2 3; do "$APDU" send --inproc "$S" 00A4040C07A0000000871002 >/dev/null 2>&1; done
	wait $e; rc=$?
	if [ $rc -eq 0 ]; then
		ran=$((ran + 1))
		[ "$(enabled_iccid)" = "$want" ] || lost=$((lost + 1))
	elif grep -q "in use by another process" "$work/e.out"; then
		refused=$((refused + 1))
	else
		not_ok "race $i: enable failed otherwise" "$(cat "$work/e.out")"
	fi
done
[ $lost -eq 0 ] && [ $ran -gt 0 ] && ok "16 races: $ran enables ran, $refused refused as busy, none lost" ||
	not_ok "races lost an acknowledged enable" "ran $ran, refused $refused, lost $lost"

# ---- 9: two cards in one euicc-sim; the first card's reader sends half a frame and stalls: the second
# card still answers (the readers here are two small TCP servers speaking vpcd's framing)
"$SIM" new --state "$work/c2.json" --seed 6 >/dev/null
python3 - "$SIM" "$S" "$work/c2.json" <<'PY' >"$work/stall.out" 2>&1
import socket, struct, subprocess, sys, time
sim, s1, s2 = sys.argv[1:4]
def server():
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", 0)); l.listen(1); l.settimeout(10); return l
a, b = server(), server()
p = subprocess.Popen([sim, "run", "--state", s1, "--vpcd", "127.0.0.1:%d" % a.getsockname()[1],
                      "--state", s2, "--vpcd", "127.0.0.1:%d" % b.getsockname()[1]], stderr=subprocess.DEVNULL)
try:
    ca, _ = a.accept(); cb, _ = b.accept()
    ca.sendall(b"\x00\x05\x00")          # a length of 5, one byte of it, then nothing
    time.sleep(0.3)
    cb.settimeout(5)
    def frame(c, payload):
        c.sendall(struct.pack(">H", len(payload)) + payload)
    def answer(c):
        h = b""
        while len(h) < 2: h += c.recv(2 - len(h))
        n = struct.unpack(">H", h)[0]; d = b""
        while len(d) < n: d += c.recv(n - len(d))
        return d
    frame(cb, b"\x04")                      # ATR
    atr = answer(cb)
    frame(cb, bytes.fromhex("00A4040010A0000005591010FFFFFFFF8900000100"))
    sw = answer(cb)[-2:].hex()
    print("atr", atr.hex(), "sw", sw)
    # the stalled reader finishes its frame later: that card answers too
    ca.sendall(b"\xa4\x04\x00\x00")
    ca.settimeout(5)
    print("late", answer(ca)[-2:].hex())
finally:
    p.terminate(); p.wait(10)
PY
grep -Eq "sw (9000|61..)" "$work/stall.out" && ok "a stalled vpcd peer does not freeze the other card" ||
	not_ok "the second card froze behind a stalled peer" "$(cat "$work/stall.out")"
grep -q "late 6" "$work/stall.out" || grep -q "late 9" "$work/stall.out" && ok "the stalled card answers once its frame is whole" ||
	not_ok "the stalled card never answered" "$(cat "$work/stall.out")"

# ---- 3: the store cannot commit the counter: nothing is sent, the card is unchanged
"$SIM" show --json --show-secrets --state "$S" >"$work/show.before"
python3 - "$work/smsr.db" "$work/hold.ready" <<'PY' &
import sqlite3, sys, time, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA busy_timeout=100")
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(30)
PY
holder=$!; PIDS+=($holder)
for _ in $(seq 100); do [ -e "$work/hold.ready" ] && break; sleep 0.05; done
expect "a counter the store cannot commit is not sent" 1 "packet not sent" \
	"${D[@]}" --inproc "$S" enable 8988211000000467285
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; PIDS=()
"$SIM" show --json --show-secrets --state "$S" >"$work/show.after"
cmp -s "$work/show.before" "$work/show.after" && ok "the card saw no packet (counters, profiles as before)" ||
	not_ok "the card changed" "$(diff "$work/show.before" "$work/show.after" | head -5)"

# ---- 6: register validates every field
python3 - "$work/eis.json" "$work" <<'PY'
import json, sys, copy
eis = json.load(open(sys.argv[1])); w = sys.argv[2]
def variant(name, f):
    e = copy.deepcopy(eis); f(e); json.dump(e, open(f"{w}/{name}.json", "w"))
variant("neg", lambda e: e["ota_keysets"][0].__setitem__("counter", "-5"))
variant("big", lambda e: e["ota_keysets"][0].__setitem__("counter", "10000000000"))
variant("alg", lambda e: e["ota_keysets"][0]["kic"].__setitem__("algorithm", 99))
variant("noalg", lambda e: e["ota_keysets"][0]["kid"].pop("algorithm"))
variant("keylen", lambda e: e["ota_keysets"][0]["kic"].__setitem__("key", "00112233445566778899"))
variant("cert", lambda e: e["ecasd"].__setitem__("certificate", "00"))
variant("eid", lambda e: e.__setitem__("eid", e["eid"][:-1] + ("0" if e["eid"][-1] != "0" else "1")))
text = open(sys.argv[1]).read()
i = text.index('"eid"')
open(f"{w}/dup.json", "w").write(text[:i] + '"eid": "89049032123451234512345678901235", ' + text[i:])
open(f"{w}/huge.json", "w").write('{"eid": "' + "0" * (2 << 20) + '"}')
PY
R=("$SMSR" --db "$work/other.db")
expect "register: negative counter refused" 1 "counter" "${R[@]}" register "$work/neg.json"
expect "register: counter over 2^40-1 refused" 1 "counter" "${R[@]}" register "$work/big.json"
expect "register: algorithm 99 refused" 1 "algorithm" "${R[@]}" register "$work/alg.json"
expect "register: missing algorithm refused" 1 "algorithm" "${R[@]}" register "$work/noalg.json"
expect "register: key of the wrong length refused" 1 "key" "${R[@]}" register "$work/keylen.json"
expect "register: certificate 00 refused" 1 "ecasd.certificate" "${R[@]}" register "$work/cert.json"
expect "register: EID check digits refused" 1 "eid" "${R[@]}" register "$work/eid.json"
expect "register: duplicate JSON keys refused" 1 "duplicate" "${R[@]}" register "$work/dup.json"
expect "register: an EIS over 1 MiB refused" 1 "larger than" "${R[@]}" register "$work/huge.json"
expect "nothing was registered" 0 "" "${R[@]}" list
[ "$("${R[@]}" --json list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["euiccs"]))')" = 0 ] &&
	ok "the store has no eUICC after the refusals" || not_ok "a refused EIS was stored"

# the store keeps the OTA keys once (keyset table), not again inside the stored EIS
python3 - "$work/smsr.db" "$work/eis.json" <<'PY' && ok "the stored EIS holds no OTA key" || not_ok "OTA keys kept twice in the store"
import json, sqlite3, sys
eis = json.load(open(sys.argv[2]))
keys = [k[x]["key"] for k in eis["ota_keysets"] for x in ("kic", "kid")]
text = sqlite3.connect(sys.argv[1]).execute("SELECT eis FROM euicc").fetchone()[0]
sys.exit(1 if any(k.lower() in text.lower() for k in keys) else 0)
PY

# a store on a read-only file system: list still reads it (as root: a private read-only bind mount)
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir -p "$work/ro"; cp "$work/smsr.db" "$work/ro/smsr.db"
	out=$(unshare -m sh -c "mount --bind -o ro '$work/ro' '$work/ro' && '$SMSR' --db '$work/ro/smsr.db' list" 2>&1); rc=$?
	[ $rc -eq 0 ] && [[ "$out" == *8988211000000467285* ]] && ok "smsr list reads a read-only store" ||
		not_ok "smsr list on a read-only store" "exit $rc: $out"
else
	echo "# not root or no unshare: the read-only store check needs a private read-only mount (not run)"
fi

# ---- the low ones
snap "$S"; [ -e "$S.journal" ] && rm -f "$S.journal.before"
expect "apdu send --inproc with a bad APDU is refused" 2 "not a valid C-APDU" "$APDU" send --inproc "$S" 00A4040C07A0000000871002 00
same_files "a refused apdu send left the state file as it was" "$S"
expect "a session that changed nothing leaves the file as it was" 0 "9000" "$APDU" send --inproc "$S" 00A4040C07A0000000871002
same_files "(state file unchanged)" "$S"
expect "profile new --out over an existing file is refused" 2 "give --force" "$SMSR" profile new --iccid 8988211000000467285 \
	--imsi 001010123456063 --k 000102030405060708090a0b0c0d0e0f --opc 00112233445566778899aabbccddeeff --out "$work/A.der"
expect "profile new --out --force overwrites" 0 "wrote" "$SMSR" profile new --iccid 8988211000000467285 \
	--imsi 001010123456063 --k 000102030405060708090a0b0c0d0e0f --opc 00112233445566778899aabbccddeeff --out "$work/A.der" --force
expect "euicc-sim new --seed -1 is refused" 2 "--seed" "$SIM" new --state "$work/s-1.json" --seed -1
expect "euicc-sim new --seed 2^64 is refused" 2 "--seed" "$SIM" new --state "$work/s-1.json" --seed 18446744073709551616
echo secret >"$S.new.4242"; echo other >"$work/card.json.new.x"
expect "an --inproc session opens the card" 0 "9000" "$APDU" send --inproc "$S" 00A4040C07A0000000871002
[ ! -e "$S.new.4242" ] && [ -e "$work/card.json.new.x" ] && ok "a killed writer's STATE.new.PID is removed by the next writer" ||
	not_ok "STATE.new.PID left (or the wrong file removed)"
python3 - "$S" "$work/bad-eid.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); e = d["eid"]
d["eid"] = e[:-1] + ("0" if e[-1] != "0" else "1")
json.dump(d, open(sys.argv[2], "w"))
PY
expect "a state whose EID check digits are wrong is refused" 1 "field 'eid'" "$SIM" show --state "$work/bad-eid.json"
python3 - "$work/A.der" "$work/two-headers.der" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
# the header is the first element: its length from the DER header
n = d[1] if d[1] < 0x80 else int.from_bytes(d[2:2 + (d[1] & 0x7f)], "big")
hl = 2 if d[1] < 0x80 else 2 + (d[1] & 0x7f)
open(sys.argv[2], "wb").write(d[:hl + n] + d[:hl + n] + d[hl + n:])
PY
expect "a package with two headers is refused" 1 "second header" "$SMSR" profile show "$work/two-headers.der"

echo "1..$n"
[ $failed -eq 0 ]
