#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The rules engine over an in-process farm, on a virtual clock (--now): the shipped examples (roaming
# with a hold, a data cap, recovery after fall-back with a daily limit), a border device that flips
# every minute and never acts, a duplicate event acting once, a refusal by the card (POL1) recorded and
# not retried, dry-run, kill -9 of `rules run` mid-way (no event lost, no action twice), and the rules
# file's and events' faults named by line and field. Prints TAP.
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; EX=${3:?examples/rules}
work=$(mktemp -d /tmp/euicc-rules-XXXXXX)
export XDG_DATA_HOME="$work/data"
RUN_PID=""
cleanup() { [ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; echo "# work $work"; }
trap cleanup EXIT
source "$(dirname "$0")/tap.sh"
S=("$SMSR" --db "$work/smsr.db")
q() { python3 - "$work/smsr.db" "$@"; }
sql() { q "$1" <<'PY'
import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall():
    print("|".join("" if v is None else str(v) for v in r))
PY
}
luhn() { python3 -c "
s='$1'; d=[int(c) for c in s][::-1]
t=sum((x*2-9 if x*2>9 else x*2) if i%2==0 else x for i,x in enumerate(d)); print(s+str((10-t%10)%10))"; }
T0=1767225600 # 2026-01-01T00:00:00Z
at() { "${S[@]}" --now $((T0 + $1)) "${@:2}"; }
run() { at "$1" rules run --once >>"$work/run.log" 2>&1; }
enabled_op() { "${S[@]}" --json list | python3 -c "
import json,sys
for e in json.load(sys.stdin)['euiccs']:
    if e['eid'] == sys.argv[1]: print((e['enabled'] or {}).get('operator'))" "$1"; }
rule_jobs() { sql "select count(*) from job j join decision d on d.id = j.decision where d.rule = '$1' and j.eid = '$2'${3:+ and j.state = '$3'}"; }

# ---- the farm, the inventory, every card on the home operator
expect "farm new" 0 "6 cards" "$SIM" farm new "$work/farm" --count 6 --seed 11
expect "fleet import" 0 "imported 6" "${S[@]}" fleet import "$work/farm/fleet.csv"
at 0 smdp generate --operator home --pool home --count 12 --iccid-from "$(luhn 894400000000000000)" --imsi-from 234150000000001 >/dev/null
at 0 smdp generate --operator detel --pool de --count 6 --iccid-from "$(luhn 894900000000000000)" --imsi-from 262010000000001 >/dev/null
at 0 smdp generate --operator opb --pool b --count 6 --iccid-from "$(luhn 894400000000100000)" --imsi-from 234200000000001 >/dev/null
at 0 smdp generate --operator fb --pool fb --count 6 --iccid-from "$(luhn 894400000000200000)" --imsi-from 234300000000001 >/dev/null
# E[i] is farm card i (the list is in EID order; the farm's slot tag says which card is which)
mapfile -t E < <("${S[@]}" --json list | python3 -c "
import json,sys
[print(e['eid']) for e in sorted(json.load(sys.stdin)['euiccs'], key=lambda e: int(e['tags']['slot']))]")
at 0 campaign create --op swap --pool home --old delete --target all >/dev/null && at 0 campaign run 1 >/dev/null
[ "$(enabled_op "${E[0]}")" = home ] && [ "$(enabled_op "${E[5]}")" = home ] && ok "setup: every card on the home operator" || not_ok "setup" "$(enabled_op "${E[0]}")"

# ---- the rules file's faults, each named by line and field
bad() { printf '%b' "$2" >"$work/bad.yaml"; expect "rules check: $1" 1 "$3" "${S[@]}" rules check "$work/bad.yaml"; }
bad "an unknown field" 'rules:\n  - name: a\n    when:\n      type: location\n      mcx: "262"\n    then: {op: audit}\n' "line 5: when.mcx: location events have no field 'mcx'"
bad "a bad duration" 'rules:\n  - name: a\n    when: {type: location, mcc: "262"}\n    hold: 10x\n    then: {op: audit}\n' "line 4: hold: '10x' is not a duration"
bad "a swap without its pool" 'rules:\n  - name: a\n    when: {type: location}\n    then:\n      op: swap\n' "line 5: then.pool: missing"
bad "an unknown operation" 'rules:\n  - name: a\n    when: {type: location}\n    then: {op: frobnicate}\n' "then.op: 'frobnicate' is not an operation"
bad "a notification kind mistyped" 'rules:\n  - name: a\n    when: {type: notification, kind: fallback}\n    then: {op: audit}\n' "'fallback' is not a notification kind"
bad "an empty range" 'rules:\n  - name: a\n    when: {type: data-usage, bytes: {range: [9, 1]}}\n    then: {op: audit}\n' "line 3: when.bytes: the range [9, 1] is empty"
bad "conditions that never hold" 'rules:\n  - name: a\n    when:\n      type: location\n      mcc: {above: 300, below: 200}\n    then: {op: audit}\n' "can never all hold"
bad "two rules that contradict" 'rules:\n  - name: a\n    when: {type: location, mcc: "262"}\n    then: {op: audit}\n  - name: b\n    when: {type: location, mcc: "262"}\n    then: {op: swap, pool: de}\n' "line 5: rule 'b' takes the same events for the same eUICCs as rule 'a' (line 2)"
bad "a name given twice" 'rules:\n  - name: a\n    when: {type: location, mcc: "1"}\n    then: {op: audit}\n  - name: a\n    when: {type: location, mcc: "2"}\n    then: {op: audit}\n' "line 5: name: rule 'a' is named twice"
bad "not YAML" 'rules: [\n  - {name: a\n' "not YAML"
bad "a timer as a rule type" 'rules:\n  - name: a\n    when: {type: timer}\n    then: {op: audit}\n' "timers are the engine's own"
for f in "$EX"/*.yaml; do expect "rules check $(basename "$f")" 0 "no fault found" "${S[@]}" rules check "$f"; done

# ---- events in: faults named, nothing stored
expect "event: an unknown eUICC" 1 "field 'eid'" "${S[@]}" event 89049032000000000000000000000000 location mcc=262
expect "event: an unknown type" 1 "field 'type'" "${S[@]}" event "${E[0]}" weather rain=1
expect "event: a misspelt field" 1 "field 'mcx': location events have no such field" "${S[@]}" event "${E[0]}" location mcx=262
expect "event: a status no rule knows" 1 "field 'status': 'dark' is not one of" "${S[@]}" event "${E[0]}" connectivity status=dark
printf '{"eid":"%s","type":"location","mcc":"262"}\n{"eid":"%s","type":"location","time":"yesterday"}\n' "${E[0]}" "${E[0]}" >"$work/ev.jsonl"
expect "event --file: a bad line is named" 1 "line 2: field 'time'" "${S[@]}" event --file "$work/ev.jsonl"
[ "$(sql "select count(*) from event where source in ('cli', 'file')")" = 0 ] && ok "refused events left nothing stored" || not_ok "refused events were stored"

# ---- roaming (examples/rules/roaming.yaml): card 0 enters Germany, stays, comes back
expect "rules load roaming" 0 "loaded as version 1" "${S[@]}" rules load "$EX/roaming.yaml"
at 60 event "${E[0]}" location mcc=234 mnc=15 --id r-1 >/dev/null
at 120 event "${E[0]}" location mcc=262 mnc=01 --id r-2 >/dev/null
at 300 event "${E[0]}" location mcc=262 mnc=01 --id r-3 >/dev/null
run 300
[ "$(enabled_op "${E[0]}")" = home ] && ok "roaming: 3 minutes in 262 is not enough (hold 10m)" || not_ok "roaming acted early"
expect "explain: the rule held, and why" 0 "held: the condition holds since 2026-01-01T00:02:00Z, acts once it has for 600s (at 2026-01-01T00:12:00Z)" "${S[@]}" rules explain r-3
expect "explain: the rule that did not match says why" 0 "mcc is '262', wants equals \"234\"" "${S[@]}" rules explain r-3
run 721
[ "$(enabled_op "${E[0]}")" = detel ] && ok "roaming: after 10 minutes in 262 the local profile is enabled" || not_ok "roaming: enabled $(enabled_op "${E[0]}")"
[ "$("${S[@]}" --json list | python3 -c "
import json,sys
e=[e for e in json.load(sys.stdin)['euiccs'] if e['eid']==sys.argv[1]][0]
print([p['fallback'] for p in e['isdps'] if p['iccid'].startswith('8944')])" "${E[0]}")" = "[True]" ] && ok "roaming: the home profile is kept as the fall-back" || not_ok "roaming: fall-back"
at 900 event "${E[0]}" location mcc=234 mnc=15 --id r-4 >/dev/null
run 960
[ "$(enabled_op "${E[0]}")" = detel ] && ok "back home: held 2 minutes first" || not_ok "back home acted early"
run 1030
[ "$(enabled_op "${E[0]}")" = home ] && ok "back home: the home profile is enabled again" || not_ok "back home: enabled $(enabled_op "${E[0]}")"
[ "$(rule_jobs roam-to-de "${E[0]}" done)|$(rule_jobs back-home "${E[0]}" done)" = "1|1" ] && ok "roaming: one job per rule, both done" || not_ok "roaming jobs" "$(rule_jobs roam-to-de "${E[0]}")|$(rule_jobs back-home "${E[0]}")"
expect "jobs show the rule that made them" 0 "roam-to-de" "${S[@]}" jobs --eid "${E[0]}"
expect "history: the decision with its job" 0 "rule roam-to-de: acted" "${S[@]}" history "${E[0]}"

# ---- a border device (card 1) that flips between 234 and 262 every minute for an hour never acts
for m in $(seq 0 59); do
	printf '{"id":"b-%d","eid":"%s","type":"location","time":%d,"mcc":"%s"}\n' "$m" "${E[1]}" $((T0 + 2000 + m * 60)) \
		"$([ $((m % 2)) = 0 ] && echo 262 || echo 234)"
done >"$work/border.jsonl"
expect "event --file: 60 events" 0 "60 events stored" "${S[@]}" event --file "$work/border.jsonl"
run 6000
[ "$(sql "select count(*) from job where eid = '${E[1]}' and decision is not null")" = 0 ] && ok "border: no action in an hour of flipping" || not_ok "border: it flapped"
[ "$(sql "select count(*) from decision where eid = '${E[1]}' and outcome = 'held'")" = 30 ] && ok "border: each entry into 262 was held" || not_ok "border: held $(sql "select count(*) from decision where eid = '${E[1]}' and outcome = 'held'")"
t=$(sql "select id from event where eid = '${E[1]}' and type = 'timer' order by time limit 1")
expect "border: the hold's timer finds the episode over" 0 "stale" "${S[@]}" rules explain "$t"

# ---- duplicates act once
out1=$(at 6100 event "${E[1]}" location mcc=262 --id dup-1); out2=$(at 6100 event "${E[1]}" location mcc=262 --id dup-1)
[[ "$out1" == *stored* && "$out2" == *duplicate* ]] && ok "an event id given twice is stored once" || not_ok "duplicate id" "$out1" "$out2"
out1=$("${S[@]}" event "${E[1]}" location mcc=234 --time $((T0 + 6101))); out2=$("${S[@]}" event "${E[1]}" location mcc=234 --time $((T0 + 6101)))
[[ "$out1" == *stored* && "$out2" == *duplicate* ]] && ok "the same report twice without an id is stored once" || not_ok "duplicate content" "$out1" "$out2"

# ---- data cap (examples/rules/data-cap.yaml): card 2 goes over 500 MB on the third day
expect "rules load data-cap" 0 "version 2" "${S[@]}" rules load "$EX/data-cap.yaml"
for d in 1 2 3 4; do at $((86400 * d)) event "${E[2]}" data-usage bytes=$((d * 200))MB period=2026-01 --id u-$d >/dev/null; run $((86400 * d + 10)); done
[ "$(enabled_op "${E[2]}")" = opb ] && ok "data cap: over 500 MB the profile of operator B is enabled" || not_ok "data cap: $(enabled_op "${E[2]}")"
[ "$(rule_jobs cap-reached "${E[2]}")" = 1 ] && ok "data cap: one swap, not one per report" || not_ok "data cap jobs $(rule_jobs cap-reached "${E[2]}")"
expect "data cap: the report under the cap did not match" 0 "bytes is '400000000', wants above 5e+08" "${S[@]}" rules explain u-2

# ---- recovery (examples/rules/recovery.yaml): card 3 falls back, is audited, the primary is tried again
at 90000 campaign create --op download --pool fb --target "eids:${E[3]}" >/dev/null
c=$(sql "select max(id) from campaign"); at 90000 campaign run "$c" >/dev/null
at 90000 campaign create --op set-fallback --profile pool:fb --target "eids:${E[3]}" >/dev/null
c=$(sql "select max(id) from campaign"); at 90000 campaign run "$c" >/dev/null
expect "rules load recovery" 0 "version 3" "${S[@]}" rules load "$EX/recovery.yaml"
for k in 1 2 3 4; do
	base=$((100000 + k * 3600))
	at $base connectivity-loss "${E[3]}" >/dev/null
	run $((base + 5))
	[ "$k" = 1 ] && { [ "$(enabled_op "${E[3]}")" = fb ] && ok "recovery: the card fell back; the primary waits 30 minutes" || not_ok "recovery: $(enabled_op "${E[3]}")"; }
	run $((base + 1900))
done
[ "$(sql "select count(*) from decision where rule = 'recover-primary' and outcome = 'acted'")|$(sql "select count(*) from decision where rule = 'recover-primary' and outcome = 'limit'")" = "3|1" ] \
	&& ok "recovery: three times in the day, the fourth refused by the limit" || not_ok "recovery decisions" "$(sql "select outcome from decision where rule = 'recover-primary'")"
[ "$(rule_jobs recover-primary "${E[3]}" done)" = 6 ] && ok "recovery: each time an audit, then the enable" || not_ok "recovery jobs $(rule_jobs recover-primary "${E[3]}" done)"
[ "$(enabled_op "${E[3]}")" = fb ] && ok "recovery: after the limit the card stays on its fall-back" || not_ok "recovery end: $(enabled_op "${E[3]}")"

# ---- a refusal by the card (POL1: the home profile may not be disabled) is recorded, not retried
at 200000 campaign create --op set-pol1 --profile enabled --pol1 01 --target "eids:${E[4]}" >/dev/null
c=$(sql "select max(id) from campaign"); at 200000 campaign run "$c" >/dev/null
expect "rules load data-cap again" 0 "version 4" "${S[@]}" rules load "$EX/data-cap.yaml"
for d in 1 2 3; do at $((200000 + d * 60)) event "${E[4]}" data-usage bytes=$((500 + d))MB --id p-$d >/dev/null; run $((200000 + d * 60 + 5)); done
[ "$(rule_jobs cap-reached "${E[4]}")|$(rule_jobs cap-reached "${E[4]}" failed)" = "1|1" ] && ok "POL1: the action failed once and was not tried again" || not_ok "POL1 jobs" "$(rule_jobs cap-reached "${E[4]}")"
[ "$(sql "select json_extract(result, '\$.kind') || ' ' || attempts from job j join decision d on d.id = j.decision where d.rule = 'cap-reached' and j.eid = '${E[4]}'")" = "refused 1" ] && ok "POL1: the job says the card refused it, in one attempt" || not_ok "POL1 result" "$(sql "select result from job where eid = '${E[4]}' order by id desc limit 1")"
expect "POL1: the later reports are told why nothing happens" 0 "acted already in this episode" "${S[@]}" rules explain p-3

# ---- dry-run decides and records, sends nothing
expect "rules load roaming again" 0 "version 5" "${S[@]}" rules load "$EX/roaming.yaml"
at 300000 event "${E[5]}" location mcc=262 --id d-1 >/dev/null
at 300700 event "${E[5]}" location mcc=262 --id d-2 >/dev/null
before=$(sql "select count(*) from job")
expect "rules run --dry-run" 0 "dry run: none taken" at 300701 rules run --once --dry-run
[ "$(sql "select count(*) from job")" = "$before" ] && [ "$(enabled_op "${E[5]}")" = home ] && ok "dry-run: no job, the card untouched" || not_ok "dry-run made jobs"
[ "$(sql "select count(*) from decision where eid = '${E[5]}' and outcome = 'dry-run'")" = 1 ] && ok "dry-run: the decision is recorded as one" || not_ok "dry-run decisions"

# ---- an audit that finds the store wrong says so, as an event a rule can take
q "${E[5]}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("update isdp set state = 'disabled' where eid = ? and state = 'enabled'", (sys.argv[2],)); db.commit()
PY
at 300800 audit "${E[5]}" >/dev/null
[ "$(sql "select json_extract(fields, '\$.what') || ' ' || json_extract(fields, '\$.store') || ' ' || json_extract(fields, '\$.card') from event where type = 'audit-mismatch' and eid = '${E[5]}'")" = "state disabled enabled" ] \
	&& ok "audit: the store's wrong state is an audit-mismatch event" || not_ok "audit-mismatch" "$(sql "select fields from event where type = 'audit-mismatch'")"
[ "$(sql "select count(*) from event where type = 'audit-mismatch'")" = 1 ] && ok "audit: operations' own audits report nothing" || not_ok "audit-mismatch noise: $(sql "select count(*) from event where type = 'audit-mismatch'")"

# ---- kill -9 of `rules run` mid-way: no event lost, no action twice
cat >"$work/flip.yaml" <<'Y'
rules:
  - name: audit-when-dark
    when: {type: connectivity, status: no-service}
    then: {op: audit}
Y
expect "rules load flip" 0 "version 6" "${S[@]}" rules load "$work/flip.yaml"
for k in $(seq 0 149); do
	printf '{"id":"k-%d","eid":"%s","type":"connectivity","time":%d,"status":"%s"}\n' "$k" "${E[$((k % 6))]}" \
		$((T0 + 400000 + k)) "$([ $(((k / 6) % 2)) = 0 ] && echo no-service || echo service)"
done >"$work/kill.jsonl"
"${S[@]}" event --file "$work/kill.jsonl" >/dev/null
for k in $(seq 5); do
	"${S[@]}" --now $((T0 + 400200)) rules run >/dev/null 2>&1 & RUN_PID=$!
	sleep "0.$((RANDOM % 7 + 2))"; kill -9 "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; RUN_PID=""
done
"${S[@]}" --now $((T0 + 400200)) rules run >/dev/null 2>&1 & RUN_PID=$!
sleep 0.5
expect "a second engine is refused while one runs" 1 "another process runs the rules engine" "${S[@]}" rules run --once
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null; RUN_PID=""
run 400200
out=$(q <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
und = db.execute("select count(*) from event where id like 'k-%' and decided is null").fetchone()[0]
dec = db.execute("select count(*) from (select event, rule, count(*) n from decision group by event, rule having n > 1)").fetchone()[0]
acted = db.execute("select count(*) from decision d join event e on e.seq = d.event where e.id like 'k-%' and d.outcome = 'acted'").fetchone()[0]
jobs = db.execute("select count(*), count(distinct decision) from job where decision in (select d.id from decision d join event e on e.seq = d.event where e.id like 'k-%')").fetchone()
notfinal = db.execute("select count(*) from job where decision is not null and state not in ('done','failed','expired','cancelled')").fetchone()[0]
print(und, dec, acted, jobs[0], jobs[1], notfinal)
PY
)
[ "$out" = "0 0 78 78 78 0" ] && ok "after 5 kill -9s: every event decided once, 78 actions, one job each, all final" || not_ok "kill -9" "undecided, doubled, acted, jobs, distinct, not final: $out"

# ---- the farm plays its devices (euicc-sim farm events): card 0 travels, card 2's cell goes dark
cat >"$work/trip.json" <<J
{"name": "trip", "start": "2026-01-07T22:40:00Z", "steps": [
  {"at": "0m", "cards": [0], "location": {"mcc": "234", "mnc": "15", "lac": 4660, "cell": 17}},
  {"at": "5m", "cards": [0], "every": "4m", "times": 4, "location": {"mcc": "262", "mnc": "01", "lac": 8721, "cell": 301}},
  {"at": "1h", "cards": [2], "connectivity": "no-service"},
  {"at": "1d", "cards": [0, 1], "every": "1d", "times": 2, "data-usage": {"grow": "200MB"}}]}
J
printf '{"start": "2026-01-07T22:40:00Z", "steps": [{"at": "0m", "cards": [9], "connectivity": "service"}]}' >"$work/bad.json"
expect "farm events: a bad step is named" 1 "steps[0].cards[0]: no card 9 in a farm of 6" "$SIM" farm events "$work/farm" "$work/bad.json"
expect "rules load roaming (farm events)" 0 "version 7" "${S[@]}" rules load "$EX/roaming.yaml"
expect "farm events: the cards hear it, the network reports it" 0 "10 events for the SM-SR, 8 event downloads to cards, 1 fall-backs" \
	"$SIM" farm events "$work/farm" "$work/trip.json" --out "$work/trip.jsonl"
[ "$(python3 -c "
import json,sys
e=[json.loads(l) for l in open(sys.argv[1])]
print(sorted(set(x['type'] for x in e)), e[0]['id'], e[0]['mnc'], max(x.get('bytes', 0) for x in e))" "$work/trip.jsonl")" = "['connectivity', 'data-usage', 'location'] trip:0:0:0 15 400000000" ] \
	&& ok "farm events: location, connectivity and usage lines, with ids and growing usage" || not_ok "farm events output" "$(head -2 "$work/trip.jsonl")"
expect "farm events: the lines go in" 0 "10 events stored" "${S[@]}" event --file "$work/trip.jsonl"
expect "farm events: played again, each a duplicate" 0 "0 events stored, 10 duplicates" "${S[@]}" event --file "$work/trip.jsonl"
run 640000
[ "$(enabled_op "${E[0]}")" = detel ] && ok "farm events: the traveller got the local profile" || not_ok "farm events roaming: $(enabled_op "${E[0]}")"
at 640000 audit "${E[2]}" >/dev/null
[ "$(enabled_op "${E[2]}")" = home ] && ok "farm events: the dark cell made card 2 fall back to its home profile" || not_ok "farm events fall-back: $(enabled_op "${E[2]}")"
[ "$(sql "select count(*) from event where type = 'notification' and eid = '${E[2]}' and json_extract(fields, '\$.kind') = 'fall-back'")" = 1 ] \
	&& ok "farm events: the card's fall-back notification reached the SM-SR at its next contact" || not_ok "fall-back notification"

# the shipped scenario plays on a farm of its own
"$SIM" farm new "$work/farm2" --count 3 --seed 12 >/dev/null
expect "farm events: examples/scenarios/trip.json plays" 0 "20 events for the SM-SR" "$SIM" farm events "$work/farm2" "$EX/../scenarios/trip.json" --out "$work/trip2.jsonl"
[ "$(wc -l <"$work/trip2.jsonl")" = 20 ] && ok "farm events: one line per event reported" || not_ok "trip2 lines $(wc -l <"$work/trip2.jsonl")"

# ---- other processes using the store while the engine's workers come and go leave it intact (a
# process that opened and closed the store's file dropped its own connections' locks, and another
# process closing the store then deleted the WAL under them)
for k in $(seq 0 59); do
	printf '{"id":"c-%d","eid":"%s","type":"connectivity","time":%d,"status":"%s"}\n' "$k" "${E[$((k % 6))]}" \
		$((T0 + 500000 + k)) "$([ $(((k / 6) % 2)) = 0 ] && echo no-service || echo service)"
done >"$work/conc.jsonl"
"${S[@]}" --now $((T0 + 500100)) rules run >/dev/null 2>&1 & RUN_PID=$!
for k in $(seq 0 5); do
	# halfway, a new version: the running engine decides the later events with it
	[ "$k" = 3 ] && { expect "rules load while the engine runs" 0 "loaded as version 8" "${S[@]}" rules load "$work/flip.yaml"; sleep 1.2; }
	sed -n "$((k * 10 + 1)),$((k * 10 + 10))p" "$work/conc.jsonl" >"$work/conc.$k"
	"${S[@]}" event --file "$work/conc.$k" >/dev/null; "${S[@]}" jobs >/dev/null; "${S[@]}" list >/dev/null; sleep 0.3
done
sleep 1.5; kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null; RUN_PID=""
[ "$(sql "select count(*) from decision d join event e on e.seq = d.event where e.id like 'c-%' and d.outcome = 'acted'")" -gt 0 ] \
	&& ok "the running engine took up the new rules" || not_ok "the running engine kept the old rules"
ic=$(q <<<'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("pragma integrity_check").fetchone()[0])' 2>&1 | tail -1)
[ "$ic" = ok ] && ok "concurrent processes: the store passes its integrity check" || not_ok "store corrupted" "$ic"
run 500100
[ "$(sql "select count(*) from event where id like 'c-%' and decided is null")" = 0 ] && ok "concurrent processes: every event decided" || not_ok "undecided events"

if grep -qiE '"(kic|kid|k|opc)"' <("${S[@]}" --json history "${E[0]}"; "${S[@]}" --json rules explain r-3); then not_ok "keys in history or explain"; else ok "no keys in history or explain"; fi
echo "1..$n"
[ "$failed" = 0 ]
