#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Captures for Wireshark: an in-process card's download, enable and audit captured by smsr --pcap and
# read by tshark (Debian): one gsm_sim packet per APDU the SM-SR counted, TERMINAL PROFILE then
# ENVELOPE (91xx), FETCH, TERMINAL RESPONSE (9000) in order; the modem's SELECTs from apdu read-ids;
# the same packets live over UDP (--gsmtap) as in the file, byte for byte; --pcap-plaintext comments on
# the OTA packets (SPI, TAR, counter, PoR) and none without it; no key of the card or the profile in any
# capture. The Lua dissector (tools/wireshark/sgp02.lua), run by tshark as an unprivileged user (tshark
# refuses Lua as root): every command packet's SPI, TAR and counter and every PoR's status equal to what
# smsr --trace printed. Prints TAP.
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; APDU=${3:?apdu}; TESTS=${4:?tests dir}; LUA=${5:?sgp02.lua}
work=$(mktemp -d /tmp/euicc-capture-XXXXXX)
export XDG_DATA_HOME="$work/data"
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$work"; echo "# work $work"; }
trap cleanup EXIT
source "$TESTS/tap.sh"
if ! command -v tshark >/dev/null; then echo "1..0 # SKIP no tshark (scripts/test installs it)"; exit 77; fi
TS() { tshark "$@" 2>/dev/null; }
cd "$work" || exit 1
K=000102030405060708090a0b0c0d0e0f; OPC=00112233445566778899aabbccddeeff
"$SIM" new --state card.json --eis eis.json >/dev/null || exit 1
S=("$SMSR" --db smsr.db)
"${S[@]}" register eis.json >/dev/null || exit 1
"${S[@]}" profile new --iccid 8988211000000467285 --imsi 001010123456063 --k $K --opc $OPC --out A.der >/dev/null || exit 1

"${S[@]}" --inproc card.json --pcap dl.pcap --json download A.der >dl.json
expect "smsr --pcap: the download runs and writes its capture" 0 "" test -s dl.pcap
apdus=$(python3 -c "import json; print(json.load(open('dl.json'))['apdus'])")
got=$(TS -r dl.pcap -Y 'gsm_sim && udp.payload[12:1] == 00' | wc -l)
atrs=$(TS -r dl.pcap -Y 'udp.payload[12:1] == 01' | wc -l)
[ "$got" -eq "$apdus" ] && [ "$atrs" -eq 1 ] && ok "tshark reads one gsm_sim packet per APDU exchanged ($got) and the ATR" ||
	not_ok "packets" "apdus $apdus, gsm_sim $got, ATR $atrs"
TS -r dl.pcap -Y 'udp.payload[12:1] == 00' -T fields -e gsm_sim.apdu.ins -e gsm_sim.apdu.sw >ins.txt
python3 - ins.txt <<'PY' && ok "TERMINAL PROFILE, then ENVELOPE (91xx), FETCH, TERMINAL RESPONSE (9000), in order" || not_ok "order" "$(head -8 ins.txt | tr '\n' ' ')"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ins = [int(r[0], 16) for r in rows]
assert ins[0] == 0x10, ins[:3]                       # TERMINAL PROFILE at attach
i = ins.index(0xC2)                                  # the first ENVELOPE
assert rows[i][1].startswith("0x91"), rows[i]        # proactive command pending
assert ins[i + 1] == 0x12 and ins[i + 2] == 0x14     # FETCH, TERMINAL RESPONSE
assert rows[i + 2][1] == "0x9000"
assert ins.count(0xC2) >= 3
PY
envs=$(TS -r dl.pcap -Y 'gsm_sim.apdu.ins == 0xc2' | grep -c "SMS-PP Download")
[ "$envs" -ge 3 ] && ok "ENVELOPEs decode as SMS-PP download (etsi_cat, gsm_sms): $envs" || not_ok "envelopes" "$envs"

# the same packets live over UDP, as in the file
python3 - <<'PY' >udp.port &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); s.settimeout(5)
out = open("udp.hex", "w")
try:
    while True:
        d, _ = s.recvfrom(70000); out.write(d.hex() + "\n"); out.flush()
except socket.timeout:
    pass
PY
LPID=$!
for _ in $(seq 50); do [ -s udp.port ] && break; sleep 0.1; done
"${S[@]}" --inproc card.json --pcap live.pcap --gsmtap "127.0.0.1:$(cat udp.port)" enable 8988211000000467285 >/dev/null
wait $LPID
TS -r live.pcap -T fields -e udp.payload | tr -d ':' >file.hex
[ -s file.hex ] && cmp -s file.hex udp.hex && ok "--gsmtap: the listener got the file's $(wc -l <file.hex) packets, byte for byte" ||
	not_ok "live" "file $(wc -l <file.hex) udp $(wc -l <udp.hex 2>/dev/null)"

"$APDU" read-ids --inproc card.json --pcap ids.pcap >/dev/null
sel=$(TS -r ids.pcap -Y 'gsm_sim.apdu.ins == 0xa4' | wc -l)
[ "$sel" -ge 3 ] && ok "apdu read-ids --pcap (profile enabled): the modem's SELECTs ($sel)" || not_ok "selects" "$sel"

# annotations only when asked, on the packets they explain
"${S[@]}" --inproc card.json --pcap plain.pcapng --pcap-plaintext audit >/dev/null
TS -r plain.pcapng -T fields -e frame.number -e gsm_sim.apdu.ins -e frame.comment >notes.txt
python3 - notes.txt <<'PY' && ok "--pcap-plaintext: the ENVELOPE carries its SPI, TAR, counter and command; the FETCH its PoR" || not_ok "notes" "$(grep -v '^[0-9]*\s*0x..\s*$' notes.txt | head -4)"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
env = [r for r in rows if len(r) > 2 and r[1] == "0xc2" and r[2]]
fetch = [r for r in rows if len(r) > 2 and r[1] == "0x12" and r[2]]
assert env and "SPI 1639" in env[0][2] and "TAR 000001" in env[0][2] and "CNTR" in env[0][2] and "GET STATUS" in env[0][2], env[:1]
assert fetch and "PoR: status 00" in fetch[-1][2], fetch[-1:]
PY
ncom=$(TS -r dl.pcap -T fields -e frame.comment | grep -c .)
[ "$ncom" -eq 0 ] && ok "no annotation without --pcap-plaintext" || not_ok "comments" "$ncom"

# the Lua dissector, as a user that is not root, on a traced download
"${S[@]}" profile new --iccid 8949449999999990015 --imsi 001010000000002 --k $K --opc $OPC --out B.der >/dev/null
"${S[@]}" --inproc card.json --trace --pcap lua.pcapng --pcap-plaintext download B.der >/dev/null 2>trace.txt
pub=$(mktemp -d /tmp/euicc-capture-pub-XXXXXX); chmod 755 "$pub"
cp lua.pcapng dl.pcap "$LUA" "$pub/" && chmod 644 "$pub"/*
LS() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- tshark -X "lua_script:$pub/sgp02.lua" "$@"; else tshark -X "lua_script:$pub/sgp02.lua" "$@"; fi 2>/dev/null; }
LS -r "$pub/lua.pcapng" -Y sgp02 -T fields -E separator=, -e sgp02.packet -e sgp02.spi -e sgp02.tar -e sgp02.cntr -e sgp02.por.status >lua.txt
python3 - trace.txt lua.txt <<'PY' && ok "sgp02.lua (tshark, not root): every OTA packet's SPI, TAR, counter and every PoR status as smsr --trace printed them" || not_ok "lua" "$(head -4 lua.txt | tr '\n' ' ')" "$(grep -E 'SCP80 packet|PoR: status' trace.txt | head -4 | tr '\n' ' ')"
import re, sys
tr = open(sys.argv[1]).read()
want_cmd = re.findall(r"SCP80 packet: SPI (\w{4}) KIc \w+ KID \w+ TAR (\w{6}) CNTR (\w{10})", tr)
want_por = [int(x, 16) for x in re.findall(r"PoR: status (\w\w)", tr)]
rows = [l.strip().split(",") for l in open(sys.argv[2]) if l.strip()]
cmd = [(r[1][2:], r[2], r[3].split(",")[-1]) for r in rows if r[0] == "command"]
por = [int(r[4].split(",")[-1], 16) for r in rows if r[0] == "response" and r[4]]
assert want_cmd and cmd == [(a.lower(), b, c) for a, b, c in want_cmd], (cmd[:3], want_cmd[:3])
assert por == want_por, (por, want_por)
PY
plainspi=$(LS -r "$pub/dl.pcap" -Y 'sgp02.packet == "command"' -T fields -e sgp02.spi -e sgp02.tar -e sgp02.ciphered | sort -u)
[[ "$plainspi" == 0x1639*000001*"CNTR, PCNTR and the secured data"* ]] && ok "sgp02.lua without annotations: SPI and TAR in clear, the counter said to be ciphered" || not_ok "lua plain" "$plainspi"
rm -rf "$pub"

# no key in any capture: the card's OTA keys, the profile's K and OPc
keys=$(python3 -c "
import json; e = json.load(open('eis.json'))
print(' '.join(k[x]['key'] for k in e['ota_keysets'] for x in ('kic', 'kid')))")
leak=""
for f in dl.pcap ids.pcap live.pcap plain.pcapng lua.pcapng; do
	hex=$(od -An -v -tx1 "$f" | tr -d ' \n'); txt=$(strings -n 8 "$f" | tr 'A-F' 'a-f')
	for k in $keys $K $OPC; do [[ "$hex" == *"$k"* || "$txt" == *"$k"* ]] && leak="$leak $f:$k"; done
done
[ -z "$leak" ] && ok "no OTA key, K or OPc in any capture or annotation" || not_ok "keys" "$leak"
echo "1..$n"
exit $((failed > 0 ? 1 : 0))
