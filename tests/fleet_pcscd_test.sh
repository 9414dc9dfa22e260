#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A farm served to a real pcscd: `euicc-sim farm run` puts 2 farm cards on vpcd readers, the fleet is
# registered at their pcsc: endpoints, a swap campaign runs through pcscd, and pcsc_probe (a plain
# PC/SC client) sees the profile it enabled. Prints TAP; exits 77 when no pcscd of our own can run.
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; PROBE=${3:?pcsc_probe}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/pcscd.sh"
work=$(mktemp -d /tmp/euicc-fleet-pcscd-XXXXXX)
export XDG_DATA_HOME="$work/data"
FARM_PID=""
cleanup() { [ -n "$FARM_PID" ] && kill "$FARM_PID" 2>/dev/null && wait "$FARM_PID" 2>/dev/null; pcscd_stop; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/tap.sh"
S=("$SMSR" --db "$work/smsr.db")
N=${FLEET_PCSCD_CARDS:-2}
P=$(free_port)
ports=(); for ((k = 0; k < N; k += 2)); do ports+=($((P + k))); done
pcscd_start "$work/pcscd" "$PROBE" "${ports[@]}"; rc=$?
[ $rc -eq 77 ] && { echo "1..0 # SKIP no pcscd of our own"; exit 77; }
[ $rc -eq 0 ] || { echo "not ok 1 - pcscd"; echo "1..1"; exit 1; }
expect "farm new" 0 "$N cards" "$SIM" farm new "$work/farm" --count "$N" --seed 3
expect "farm run refuses a card past the farm" 2 "--first '9'" "$SIM" farm run "$work/farm" --first 9
"$SIM" farm run "$work/farm" --vpcd "127.0.0.1:$P" --count "$N" 2>"$work/farm.log" &
FARM_PID=$!
reader() { vpcd_reader_name "$((P + $1 - $1 % 2))" "$(($1 % 2))"; }
up=0
for i in $(seq 0 $((N - 1))); do
	"$PROBE" --wait 10 "$(reader "$i")" 00A4040C10A0000005591010FFFFFFFF8900000200=9000 >/dev/null 2>&1 && up=$((up + 1))
done
[ "$up" = "$N" ] && ok "the $N farm cards answer as pcscd readers" || not_ok "$up of $N readers answer" "$(cat "$work/farm.log")"
# the fleet at its pcsc: endpoints (the farm's bundle, other endpoints)
{ echo "eis,endpoint,tags"; for i in $(seq 0 $((N - 1))); do echo "farm/eis.jsonl#$i,pcsc:$(reader "$i"),via=pcscd"; done; } >"$work/fleet.csv"
expect "fleet import at pcsc: endpoints" 0 "imported $N eUICCs" "${S[@]}" fleet import "$work/fleet.csv"
expect "smdp generate" 0 "$N profiles" "${S[@]}" smdp generate --operator acme --pool de --count "$N" \
	--iccid-from 8949000000001000009 --imsi-from 262020000000001
expect "campaign create" 0 "campaign 1" "${S[@]}" campaign create --op swap --pool de --target tag:via=pcscd --concurrency 2
expect "swap through pcscd" 0 "campaign 1 done: $N done, 0 failed" "${S[@]}" campaign run 1
# a client nobody here wrote the code of sees the result: the enabled profile's EF.ICCID through pcscd
I0=$("${S[@]}" --json jobs --campaign 1 | python3 -c "
import json,sys; j=[j for j in json.load(sys.stdin)['jobs'] if j['result']][0]; print(j['result']['iccid'], j['eid'])")
E0=${I0#* }; I0=${I0% *}
idx=$(python3 -c "
import json,sys
for i,l in enumerate(open(sys.argv[1])):
    if json.loads(l)['eid']==sys.argv[2]: print(i)" "$work/farm/eis.jsonl" "$E0")
bcd=$(python3 -c "d=sys.argv[1]+'f'*(20-len(sys.argv[1])); print(''.join(d[i+1]+d[i] for i in range(0,20,2)).upper())" "$I0" 2>/dev/null ||
	python3 -c "import sys; d=sys.argv[1]+'f'*(20-len(sys.argv[1])); print(''.join(d[i+1]+d[i] for i in range(0,20,2)).upper())" "$I0")
out=$("$PROBE" "$(reader "$idx")" 00A40004022FE2 00B000000A 2>&1)
[[ "${out^^}" == *"$bcd"* ]] && ok "pcsc_probe reads EF.ICCID $I0 of the enabled profile" || not_ok "EF.ICCID through pcscd" "want $bcd" "$out"
expect "audit through the endpoint" 0 "enabled" "${S[@]}" audit "$E0"
kill "$FARM_PID"; wait "$FARM_PID"; rc=$?; FARM_PID=""
[ $rc -eq 0 ] && ok "farm run saves its cards and exits 0 on SIGTERM" || not_ok "farm run exited $rc" "$(tail -3 "$work/farm.log")"
expect "farm show: the served cards keep their profile" 0 "$N with 1" "$SIM" farm show "$work/farm"
echo "1..$n"
exit $((failed > 0))
