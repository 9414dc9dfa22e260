#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the apdu tool as a user runs it: one public vector per subcommand, then bad arguments that must
# give a clear message naming the argument and a non-zero exit. Prints TAP.
set -u
APDU=${1:?usage: cli_test.sh PATH_TO_APDU}
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# expect_out NAME EXPECTED_SUBSTRING CMD...: exit 0 and stdout contains the substring
expect_out() {
	local name=$1 want=$2; shift 2
	local out rc
	out=$("$@" 2>/tmp/cli_err.$$); rc=$?
	if [ $rc -eq 0 ] && [[ "$out" == *"$want"* ]]; then ok "$name"
	else not_ok "$name" "exit $rc" "want: $want" "got: $out" "stderr: $(cat /tmp/cli_err.$$)"; fi
}

# expect_fail NAME EXIT_CODE STDERR_SUBSTRING CMD...: given exit code and stderr names the problem
expect_fail() {
	local name=$1 code=$2 want=$3; shift 3
	local err rc
	"$@" >/tmp/cli_out.$$ 2>/tmp/cli_err.$$; rc=$?
	err=$(cat /tmp/cli_err.$$)
	if [ $rc -eq "$code" ] && [[ "$err" == *"$want"* ]]; then ok "$name"
	else not_ok "$name" "exit $rc (want $code)" "want stderr: $want" "got: $err"; fi
}

AES="--kic 22 --kic-key 200102030405060708090a0b0c0d0e0f --kid 22 --kid-key 201102030405060708090a0b0c0d0e0f"
DES="--kic 35 --kic-key C21DD66ACAC13CB3BC8B331B24AFB57B --kid 35 --kid-key 12110C78E678C25408233076AA033615"

# --- ota encode / decode / por: pySim test_ota.py vectors ---
expect_out "ota encode AES-128 ciphered CC (pySim)" \
	00281506192222b00011e87cceebb2d93083011ce294f93fc4d8de80da1abae8c37ca3e72ec4432e5058 \
	"$APDU" ota encode --spi 0619 $AES --tar b00011 --cntr 0000000000 00a40004023f00
expect_out "ota encode 3DES ciphered, hex with spaces and upper case" \
	00180d04193535b00000e3ec80a849b554421276af3883927c20 \
	"$APDU" ota encode --spi 0419 $DES --tar B00000 --cntr "00 00 00 00 00" "00 A4 00 00 02 3F 00"
expect_out "ota encode --json packet key" \
	'"packet": "00281506192222b00011e87cceebb2d93083011ce294f93fc4d8de80da1abae8c37ca3e72ec4432e5058"' \
	"$APDU" --json ota encode --spi 0619 $AES --tar b00011 --cntr 0000000000 00a40004023f00
expect_out "ota encode expanded format" '"script": "aa09220700a40004023f00"' \
	"$APDU" ota encode --json --format expanded --spi 1639 $AES --tar 000001 --cntr 0000000001 00a40004023f00
PKT=00281506192222b00011e87cceebb2d93083011ce294f93fc4d8de80da1abae8c37ca3e72ec4432e5058
expect_out "ota decode JSON apdus" '"00a40004023f00"' "$APDU" ota decode --spi 0619 $AES "$PKT" --json
expect_out "ota decode JSON tar" '"tar": "b00011"' "$APDU" ota decode --spi 0619 $AES "$PKT" --json
expect_out "ota decode human" "APDU 1" "$APDU" ota decode --spi 0619 $AES "$PKT"
expect_out "ota por AES-128 (pySim) status" '"status": 0' "$APDU" --json ota por --spi 0619 $AES \
	027100002412b00011ebc6b497e2cad7aedf36ace0e3a29b38853f0fe9ccde81913be5702b73abce1f
expect_out "ota por AES-128 (pySim) last_sw" '"last_sw": "6132"' "$APDU" --json ota por --spi 0619 $AES \
	027100002412b00011ebc6b497e2cad7aedf36ace0e3a29b38853f0fe9ccde81913be5702b73abce1f
expect_out "ota por 3DES ciphered without UDH, count" '"count": 1' "$APDU" --json ota por --spi 0619 --kic 35 --kic-key 300102030405060708090a0b0c0d0e0f --kid 35 --kid-key 301102030405060708090a0b0c0d0e0f \
	001c12b000118bb989492c632529326a2f4681feb37c825bc9021c9f6d0b
expect_fail "ota por flipped count byte fails the CC" 1 "CC of the PoR does not verify" \
	"$APDU" ota por --spi 0609 $DES 027100001612b000110000000000000055f47118381175fb02612f

# --- scp03: pySim AES-128 level 33 session ---
SCP="--enc 000102030405060708090a0b0c0d0e0f --mac 101112131415161718191a1b1c1d1e1f --dek 202122232425262728292a2b2c2d2e2f"
expect_out "scp03 EXTERNAL AUTHENTICATE (pySim AES128-33)" '"external_authenticate": "84823300108c36f96bcc00724a4e13ad591d7da3f0"' \
	"$APDU" scp03 --json $SCP --level 33 --host-challenge fdf38259a1e0de44 \
	--card-response 000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003 \
	--cmd 80E2910006BF3E035C015A00 --rsp f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b99000
expect_out "scp03 wrapped command" '"84e2910018267a85dfe4a98fca6fb0527e0dfecce4914e40401433c87f00"' \
	"$APDU" scp03 --json $SCP --level 33 --host-challenge fdf38259a1e0de44 \
	--card-response 000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003 --cmd 80E2910006BF3E035C015A00
expect_out "scp03 unwrapped response" '"bf3e125a10898821199000000000000000000000059000"' \
	"$APDU" scp03 --json $SCP --level 33 --host-challenge fdf38259a1e0de44 \
	--card-response 000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003 \
	--cmd 80E2910006BF3E035C015A00 --rsp f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b99000
expect_fail "scp03 wrong card cryptogram" 1 "card cryptogram does not verify" \
	"$APDU" scp03 $SCP --level 33 --host-challenge fdf38259a1e0de45 \
	--card-response 000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003
expect_fail "scp03 tampered R-MAC" 1 "R-MAC does not verify" \
	"$APDU" scp03 $SCP --level 33 --host-challenge fdf38259a1e0de44 \
	--card-response 000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003 \
	--cmd 80E2910006BF3E035C015A00 --rsp f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b89000
expect_fail "scp03 bad level" 2 "--level" "$APDU" scp03 $SCP --level 02 --host-challenge fdf38259a1e0de44 \
	--card-response 000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003

# --- milenage: TS 35.208 test set 1 ---
M="--k 465b5ce8b199b49faa5f0a2ee238a6bc --rand 23553cbe9637a89d218ae64dae47bf35 --sqn ff9bb4d0b607 --amf b9b9"
expect_out "milenage set 1 res (OP)" '"res": "a54211d5e3ba50bf"' "$APDU" milenage --json $M --op cdc202d5123e20f62b6d676ac72cb318
expect_out "milenage set 1 mac_a (OPc)" "4a9ffac354dfafb3" "$APDU" milenage $M --opc cd63cb71954a9f4e48a5994e37a02baf
expect_out "milenage set 1 ak_star" '"ak_star": "451e8beca43b"' "$APDU" milenage $M --opc cd63cb71954a9f4e48a5994e37a02baf --json
expect_fail "milenage both OP and OPc" 2 "--op and --opc" "$APDU" milenage $M --op 00 --opc 00
expect_fail "milenage short K" 2 "--k: expected 16 bytes" "$APDU" milenage --k 465b5ce8 --rand 23553cbe9637a89d218ae64dae47bf35 \
	--sqn ff9bb4d0b607 --amf b9b9 --opc cd63cb71954a9f4e48a5994e37a02baf

# --- tlv, eid, iccid ---
expect_out "tlv tree" "  5C 1: 5a" "$APDU" tlv "BF30 03 5C 01 5A"
expect_out "tlv json" '"tag": "bf30"' "$APDU" tlv --json bf30035c015a
expect_fail "tlv truncated" 1 "not a well-formed BER-TLV" "$APDU" tlv bf30045c015a
expect_out "eid valid" "check digits valid" "$APDU" eid check 89049032123451234512345678901235
expect_fail "eid invalid" 1 "" "$APDU" eid check 89049032123451234512345678901234
expect_out "eid invalid names the right digits" "expected 35" sh -c "'$APDU' eid check 89049032123451234512345678901234; true"
expect_out "iccid valid" "check digit valid" "$APDU" iccid check 8988211000000467285
expect_fail "iccid short" 2 "expected 19 or 20 digits" "$APDU" iccid check 898821100000046728

# --- bad arguments: wrong hex, wrong key length, unknown SPI bits ---
expect_fail "wrong hex digit names the argument and position" 2 "--kic-key: 'z' at position 3" \
	"$APDU" ota encode --spi 0619 --kic 22 --kic-key 20z102030405060708090a0b0c0d0e0f --kid 22 \
	--kid-key 201102030405060708090a0b0c0d0e0f --tar b00011 --cntr 0000000000 00a40004023f00
expect_fail "odd hex" 2 "--tar: odd number of hex digits" \
	"$APDU" ota encode --spi 0619 $AES --tar b0001 --cntr 0000000000 00a40004023f00
expect_fail "wrong 3DES key length" 2 "--kic-key: 3DES 2-key needs 16 bytes, got 15" \
	"$APDU" ota encode --spi 0619 --kic 35 --kic-key C21DD66ACAC13CB3BC8B331B24AFB5 --kid 35 \
	--kid-key 12110C78E678C25408233076AA033615 --tar b00000 --cntr 0000000000 00a40000023f00
expect_fail "wrong AES key length" 2 "--kid-key: AES needs 16, 24 or 32 bytes, got 17" \
	"$APDU" ota encode --spi 0619 --kic 22 --kic-key 200102030405060708090a0b0c0d0e0f --kid 22 \
	--kid-key 201102030405060708090a0b0c0d0e0f00 --tar b00011 --cntr 0000000000 00a40004023f00
expect_fail "reserved SPI bits" 2 "--spi: reserved bits set in the first byte" \
	"$APDU" ota encode --spi 2619 $AES --tar b00011 --cntr 0000000000 00a40004023f00
expect_fail "reserved SPI PoR bits" 2 "--spi: reserved bits set in the second byte" \
	"$APDU" ota encode --spi 06d9 $AES --tar b00011 --cntr 0000000000 00a40004023f00
expect_fail "missing --cntr" 2 "--cntr is required" "$APDU" ota encode --spi 0619 $AES --tar b00011 00a40004023f00
expect_fail "not an APDU" 2 "APDU #1: not a valid C-APDU" \
	"$APDU" ota encode --spi 0619 $AES --tar b00011 --cntr 0000000000 00a4
expect_fail "decode with wrong key: CC" 1 "PoR status 01" \
	"$APDU" ota decode --spi 0619 --kic 22 --kic-key 200102030405060708090a0b0c0d0e0f --kid 22 \
	--kid-key 201102030405060708090a0b0c0d0e0e "$PKT"
expect_fail "decode truncated" 1 "malformed packet header" "$APDU" ota decode --spi 0619 $AES 0028150619
expect_fail "unknown option" 2 "unknown or incomplete option '--bogus'" "$APDU" ota encode --bogus 1
expect_fail "unknown command" 2 "unknown command 'frobnicate'" "$APDU" frobnicate
expect_out "json error object" '"error"' sh -c "'$APDU' --json ota encode --spi 2619 $AES --tar b00011 --cntr 0000000000 00a40004023f00; true"

# --- help texts ---
expect_fail "send: --reader and --inproc together" 2 "give one of them" "$APDU" send --reader 0 --inproc x.json 00A4040000
expect_fail "send: a missing in-process card is named" 1 "nope.json" "$APDU" send --inproc /nonexistent/nope.json 00A4040000
for sub in "" "ota" "ota encode" "ota decode" "ota por" "scp03" "milenage" "tlv" "eid check" "iccid check" "send" "read-ids"; do
	expect_out "help: apdu $sub --help" "usage: apdu" "$APDU" $sub --help
done

rm -f /tmp/cli_err.$$ /tmp/cli_out.$$
echo "1..$n"
[ $failed -eq 0 ]
