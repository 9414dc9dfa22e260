#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fleets and campaigns over an in-process device farm: fleet import (errors name the line, nothing
# imported), the SM-DP's sealed inventory (a wrong key and a flipped byte refused), campaigns over N farm
# cards (swap keeping the fall-back, disable, delete), kill -9 of `campaign run` at random moments then
# resume (nothing done twice, no profile on two cards, no half profile, every job final), pool exhaustion,
# a POL1 refusal not retried, an unreachable endpoint retried then expired, dry-run changes nothing.
# Prints TAP.
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; N=${3:-200}; KILLS=${4:-20}
work=$(mktemp -d /tmp/euicc-fleet-XXXXXX)
export XDG_DATA_HOME="$work/data"
RUN_PID=""
cleanup() { [ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/tap.sh"
S=("$SMSR" --db "$work/smsr.db")
q() { python3 - "$work/smsr.db" "$@"; }

expect "farm new" 0 "$N cards" "$SIM" farm new "$work/farm" --count "$N" --seed 5
expect "farm show: nothing changed yet" 0 "0 changed since made" "$SIM" farm show "$work/farm"

# ---- fleet import: a bad line is refused with its number, nothing is imported
head -4 "$work/farm/fleet.csv" >"$work/bad.csv"
sed -i '4s/farm:/frob:/' "$work/bad.csv"
sed -i "s|eis.jsonl|$work/farm/eis.jsonl|" "$work/bad.csv"
expect "fleet import: a bad endpoint names its line" 1 "line 4: field 'endpoint'" "${S[@]}" fleet import "$work/bad.csv"
printf 'eis,endpoint,tags\n%s/farm/eis.jsonl#0,farm:%s/farm#0,bad tag\n' "$work" "$work" >"$work/bad2.csv"
expect "fleet import: a bad tag names its line" 1 "line 2: field 'tags'" "${S[@]}" fleet import "$work/bad2.csv"
printf 'eis,endpoint,tags\n%s/farm/eis.jsonl#%d,farm:%s/farm#0,\n' "$work" "$N" "$work" >"$work/bad3.csv"
expect "fleet import: an EIS past the bundle names its line" 1 "line 2: field 'eis'" "${S[@]}" fleet import "$work/bad3.csv"
n0=$(q <<<'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from euicc").fetchone()[0])' 2>/dev/null || echo 0)
[ "$n0" = 0 ] && ok "nothing imported from the refused files" || not_ok "refused imports left $n0 eUICCs"
expect "fleet import" 0 "imported $N eUICCs" "${S[@]}" fleet import "$work/farm/fleet.csv"
expect "list filters by tag" 0 "endpoint farm:$work/farm#7" "${S[@]}" list --tag slot=7
out=$("${S[@]}" --json list --tag farm=farm | python3 -c "import json,sys; print(len(json.load(sys.stdin)['euiccs']))")
[ "$out" = "$N" ] && ok "every card carries its farm tag" || not_ok "tag farm=farm: $out of $N"

# ---- the SM-DP's inventory, sealed
M=$((N + N / 2))
expect "smdp generate home" 0 "$M profiles of home" "${S[@]}" smdp generate --operator home --pool home --count "$M" \
	--iccid-from 8949000000000000000 --imsi-from 262010000000001
expect "smdp generate de" 0 "$N profiles of acme-de" "${S[@]}" smdp generate --operator acme-de --pool de \
	--count "$N" --iccid-from 8949000000001000009 --imsi-from 262020000000001
[ "$(stat -c %a "$work/smdp.kek")" = 600 ] && ok "the key-encryption key is 0600" || not_ok "kek mode $(stat -c %a "$work/smdp.kek")"
if "${S[@]}" --json smdp list | grep -qiE '"k"|"opc"|"key"'; then not_ok "keys in smdp list"; else ok "smdp list prints no keys"; fi
out=$("${S[@]}" --json smdp list --pool de --state available | python3 -c "
import json,sys; p=json.load(sys.stdin)['profiles']; print(len(p), sorted(p[0].keys()))")
[[ "$out" == "$N ["*"'eid', 'iccid'"*"'operator', 'pool', 'state'"* ]] && ok "smdp list --json: one object per profile" || not_ok "smdp list" "$out"
# the ICCID as the package carries it (swapped BCD): found in a package in clear, in no sealed row
"$SMSR" profile new --iccid 8949000000000000018 --imsi 262010000000002 --k 000102030405060708090a0b0c0d0e0f \
	--opc 00112233445566778899aabbccddeeff --out "$work/plain.der" >/dev/null
clear=$(q "$work/plain.der" <<'PY'
import sqlite3, sys
d = "8949000000000000018f"
probe = bytes(int(d[i + 1] + d[i], 16) for i in range(0, 20, 2))
plain = open(sys.argv[2], "rb").read()
rows = b"".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select sealed from smdp_profile"))
print(probe in plain, probe in rows)
PY
)
[ "$clear" = "True False" ] && ok "packages are not stored in clear (the probe finds the ICCID in a plain one)" ||
	not_ok "a package may be stored in clear" "probe in plain, in rows: $clear"
E0=$("${S[@]}" --json list --tag slot=0 | python3 -c "import json,sys; print(json.load(sys.stdin)['euiccs'][0]['eid'])")
head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 64 >"$work/wrong.kek"; chmod 600 "$work/wrong.kek"
expect "a wrong key is refused before anything is sent" 1 "not the one this inventory was sealed with" \
	"${S[@]}" --kek "$work/wrong.kek" download "$E0" --pool home
q <<<'import sqlite3,sys
db=sqlite3.connect(sys.argv[1]); i,b=db.execute("select iccid, sealed from smdp_profile where pool=\"home\" order by iccid limit 1").fetchone()
b=bytearray(b); b[40]^=1; db.execute("update smdp_profile set sealed=? where iccid=?", (bytes(b), i)); db.commit()'
expect "a flipped byte is refused" 1 "fails authentication" "${S[@]}" download "$E0" --iccid 8949000000000000000
st=$("${S[@]}" --json smdp list --pool home | python3 -c "
import json,sys; print([p['state'] for p in json.load(sys.stdin)['profiles'] if p['iccid']=='8949000000000000000'][0])")
[ "$st" = available ] && ok "the refused profile stays available, no card has it" || not_ok "tampered profile is $st"
# the tampered one is taken out so the campaigns below use sound profiles only
q <<<'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("update smdp_profile set state=\"deleted\" where iccid=\"8949000000000000000\""); db.commit()'

# ---- dry-run changes nothing
dump() { q <<<'import sqlite3,sys; print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' | sha256sum; }
before=$(dump); farm_before=$("$SIM" farm show "$work/farm")
expect "campaign dry-run" 0 "nothing stored, nothing sent" "${S[@]}" campaign create --op swap --pool home --target all --dry-run
[ "$(dump)" = "$before" ] && ok "dry-run changed nothing in the store" || not_ok "dry-run changed the store"
[ "$("$SIM" farm show "$work/farm")" = "$farm_before" ] && ok "the farm is untouched by the dry-run" || not_ok "dry-run touched the farm"

# ---- a home profile on every card, as fall-back, under kill -9
# (a rate limit keeps the campaign going long enough for every kill to land while it works)
expect "campaign create swap home" 0 "campaign 1: swap over $N eUICCs" "${S[@]}" campaign create --op swap --pool home \
	--target all --concurrency 2 --rate $((N / 4))/s
kills=0
for i in $(seq $((KILLS * 2))); do
	[ "$kills" -ge "$KILLS" ] && break
	"${S[@]}" campaign run 1 >"$work/run.$i.log" 2>&1 &
	RUN_PID=$!
	sleep "0.$((RANDOM % 2))$((RANDOM % 10))"
	if kill -9 "$RUN_PID" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$RUN_PID" 2>/dev/null; RUN_PID=""
done
expect "campaign run resumes after $kills kill -9s" 0 "campaign 1 done: $N done, 0 failed" "${S[@]}" campaign run 1
[ "$kills" -ge "$KILLS" ] && ok "$kills runs were killed while working" || not_ok "only $kills kills landed"
ic=$(q <<<'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("pragma integrity_check").fetchone()[0])' 2>&1 | tail -1)
[ "$ic" = ok ] && ok "after the kills the store passes its integrity check" || not_ok "store integrity" "$ic"
check_cards() { # every card loadable, no half profile, ICCIDs on one card each, the store agreeing with the cards
	python3 - "$SIM" "$work/farm/cards" "$work/smsr.db" "$1" <<'PY'
import json, sys, sqlite3, subprocess, glob
cards = []
if not glob.glob(sys.argv[2] + "/*/card.nvm"): print("no cards found"); sys.exit(0)
for f in sorted(glob.glob(sys.argv[2] + "/*/card.nvm")):
    p = subprocess.run([sys.argv[1], "show", "--json", "--state", f], capture_output=True, text=True)
    cards.append(json.loads(p.stdout) if p.returncode == 0 else {"bad": f})
db = sqlite3.connect(sys.argv[3]); pool = sys.argv[4]
bad = [c for c in cards if "bad" in c]
half = [c["eid"] for c in cards if any(not p.get("iccid") for p in c.get("profiles", []))]
seen = {}
for c in cards:
    for p in c.get("profiles", []):
        if p.get("iccid"): seen.setdefault(p["iccid"], []).append(c["eid"])
twice = {k: v for k, v in seen.items() if len(v) > 1}
inst = {i: e for i, e in db.execute("select iccid, eid from smdp_profile where state='installed'")}
wrong = [i for i, e in inst.items() if seen.get(i) != [e]]
per = {}
for c in cards:
    n = sum(1 for p in c.get("profiles", []) if p.get("iccid") in inst and
            db.execute("select pool from smdp_profile where iccid=?", (p["iccid"],)).fetchone()[0] == pool)
    per[n] = per.get(n, 0) + 1
print(f"unloadable={len(bad)} half={len(half)} twice={len(twice)} store_wrong={len(wrong)} per_card_{pool}={per}")
PY
}
out=$(check_cards home)
[[ "$out" == "unloadable=0 half=0 twice=0 store_wrong=0 per_card_home={1: $N}" ]] && ok "after the kills: one home profile per card, none half, none twice" || not_ok "cards after the kills" "$out"
left=$(q <<<'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from job where state not in (\"done\",\"failed\",\"expired\",\"cancelled\")").fetchone()[0])')
[ "$left" = 0 ] && ok "every job ended in a final state" || not_ok "$left jobs not final"
out=$("${S[@]}" campaign report 1 --format junit)
[[ "$out" == *"tests=\"$N\" failures=\"0\""* ]] && ok "junit report" || not_ok "junit report" "${out:0:300}"

# ---- swap to de keeping home as fall-back, then disable de (home takes over), then delete de
expect "campaign swap de" 0 "campaign 2: swap" "${S[@]}" campaign create --op swap --pool de --old fallback --target all --concurrency 2
expect "campaign 2 run" 0 "campaign 2 done: $N done, 0 failed" "${S[@]}" campaign run 2
out=$("${S[@]}" --json list --operator acme-de | python3 -c "import json,sys; print(len(json.load(sys.stdin)['euiccs']))")
[ "$out" = "$N" ] && ok "every card's enabled profile is acme-de's" || not_ok "operator acme-de enabled on $out of $N"
expect "campaign create refuses an exhausted pool" 1 "pool de has 0 available profiles" "${S[@]}" campaign create --op swap --pool de --target all
expect "campaign disable pool:de" 0 "campaign 3: disable" "${S[@]}" campaign create --op disable --profile pool:de --target operator:acme-de --concurrency 2
expect "campaign 3 run" 0 "campaign 3 done: $N done, 0 failed" "${S[@]}" campaign run 3
out=$("${S[@]}" --json list --operator home | python3 -c "import json,sys; print(len(json.load(sys.stdin)['euiccs']))")
[ "$out" = "$N" ] && ok "disable: the home fall-back took over on every card" || not_ok "home enabled on $out of $N"
expect "campaign delete pool:de" 0 "campaign 4: delete" "${S[@]}" campaign create --op delete --profile pool:de --target all
expect "campaign 4 run" 0 "campaign 4 done: $N done, 0 failed" "${S[@]}" campaign run 4
out=$(check_cards de)
[[ "$out" == "unloadable=0 half=0 twice=0 store_wrong=0 per_card_de={0: $N}" ]] && ok "delete: no card keeps a de profile" || not_ok "cards after delete" "$out"
nd=$("${S[@]}" --json smdp list --pool de --state deleted | python3 -c "import json,sys; print(len(json.load(sys.stdin)['profiles']))")
[ "$nd" = "$N" ] && ok "the inventory knows the de profiles as deleted" || not_ok "deleted: $nd"

# ---- a POL1 refusal fails its job with the reason and is not retried
E1=$("${S[@]}" --json list --tag slot=1 | python3 -c "import json,sys; print(json.load(sys.stdin)['euiccs'][0]['eid'])")
expect "download a second profile on one card" 0 "installed" "${S[@]}" download "$E1" --pool home
I2=$("${S[@]}" --json smdp list --pool home --state installed | python3 -c "
import json,sys; print([p['iccid'] for p in json.load(sys.stdin)['profiles'] if p['eid']=='$E1'][-1])")
expect "enable it" 0 "done" "${S[@]}" enable "$E1" "$I2"
expect "set POL1 'no disable'" 0 "done" "${S[@]}" set-pol1 "$E1" "$I2" 01
expect "campaign disable under POL1" 0 "campaign 5" "${S[@]}" campaign create --op disable --profile "$I2" --target "eids:$E1" --retries 3
expect "the job fails with the reason" 0 "POL1 forbids it" "${S[@]}" campaign run 5
a=$("${S[@]}" --json jobs --campaign 5 | python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print(j['state'], j['attempts'], j['result']['kind'])")
[ "$a" = "failed 1 refused" ] && ok "a refusal is not retried" || not_ok "POL1 job" "$a"

# ---- an unreachable endpoint retries, then expires
"$SIM" new --state "$work/gone.json" --eis "$work/gone.eis" --seed 1000000 >/dev/null
expect "register at an endpoint that will be gone" 0 "registered" "${S[@]}" register "$work/gone.eis" --endpoint "inproc:$work/gone-missing.json" --tag kind=gone
expect "campaign over it" 0 "campaign 6" "${S[@]}" campaign create --op audit --target tag:kind=gone --retries 1 --validity 1m
expect "the job expires" 0 "0 done, 0 failed, 1 expired" "${S[@]}" campaign run 6
a=$("${S[@]}" --json jobs --campaign 6 | python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print(j['state'], j['attempts'], j['result']['kind'])")
[ "$a" = "expired 2 transport" ] && ok "retried once after a transport failure, then expired" || not_ok "unreachable job" "$a"

# ---- a single-card command still works on a farm card, by its endpoint
expect "audit by endpoint" 0 "enabled" "${S[@]}" audit "$E0"
echo "1..$n"
exit $((failed > 0))
