#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# euicc-sim as a user runs it: help, new/show, JSON keys, and bad input with clear messages. Prints TAP.
set -u
SIM=${1:?euicc-sim}
work=$(mktemp -d /tmp/euicc-simcli-XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_DATA_HOME="$work/data"
n=0; failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
expect() { # NAME CODE SUBSTRING CMD...  (stdout+stderr)
	local name=$1 code=$2 want=$3; shift 3
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ $rc -eq "$code" ] && [[ "$out" == *"$want"* ]]; then ok "$name"; else not_ok "$name" "exit $rc (want $code)" "want: $want" "got: ${out:0:400}"; fi
}
expect "help" 0 "usage: euicc-sim" "$SIM" --help
expect "new needs --state" 2 "--state FILE is required" "$SIM" new
expect "new with a bad EID names it" 2 "--eid 89049032123451234512345678901234: wrong check digits" \
	"$SIM" new --state "$work/x.json" --eid 89049032123451234512345678901234
expect "new with a given EID" 0 "created eUICC 89049032123451234512345678901235" \
	"$SIM" new --state "$work/a.json" --eid 89049032123451234512345678901235 --eis "$work/a-eis.json"
expect "new refuses to overwrite" 2 "not overwritten without --force" "$SIM" new --state "$work/a.json"
expect "run --reset-from needs exactly one --state" 2 "--reset-from goes with exactly one --state" \
	"$SIM" run --state "$work/a.json" --state "$work/a.json" --vpcd 127.0.0.1:1 --vpcd 127.0.0.1:2 --reset-from "$work/a.json"
expect "run --reset-from without a card" 2 "--reset-from goes with exactly one --state" "$SIM" run --echo --reset-from "$work/a.json"
expect "show --json eid" 0 '"eid": "89049032123451234512345678901235"' "$SIM" show --json --state "$work/a.json"
expect "show --json profiles and notifications" 0 '"notifications"' "$SIM" --json show --state "$work/a.json"
out=$("$SIM" show --json --state "$work/a.json")
if [[ "$out" != *'"key"'* && "$out" != *ecasd_sk* ]]; then ok "no secrets without --show-secrets"; else not_ok "secrets leaked"; fi
expect "secrets with --show-secrets" 0 '"key"' "$SIM" show --json --show-secrets --state "$work/a.json"
expect "EIS carries the keysets" 0 '"ota_keysets"' cat "$work/a-eis.json"
if [ "$(stat -c %a "$work/a-eis.json")" = 600 ]; then ok "EIS file is 0600"; else not_ok "EIS mode"; fi
expect "--seed is reproducible (same EID twice)" 0 "" sh -c "'$SIM' new --state '$work/s1.json' --seed 9 >/dev/null && '$SIM' new --state '$work/s2.json' --seed 9 >/dev/null && \
	[ \"\$('$SIM' show --json --state '$work/s1.json' | grep '\"eid\"')\" = \"\$('$SIM' show --json --state '$work/s2.json' | grep '\"eid\"')\" ]"
head -c 500 "$work/a.json" >"$work/trunc.json"
expect "truncated NVM refused" 1 "corrupt or truncated" "$SIM" show --state "$work/trunc.json"
expect "missing NVM named" 1 "nope.json" "$SIM" show --state "$work/nope.json"
expect "run without a card" 2 "--state FILE (or --echo) is required" "$SIM" run
expect "run --echo with --state" 2 "--echo serves no card state" "$SIM" run --echo --state "$work/a.json"
expect "run with a bad --vpcd" 2 "is not HOST:PORT" "$SIM" run --state "$work/a.json" --vpcd localhost:99999
# one card file, one writer: a second run on the same state is refused while the first serves it;
# show still reads it
"$SIM" run --state "$work/a.json" --vpcd 127.0.0.1:1 >/dev/null 2>"$work/run1.log" &
rpid=$!
# it has the card (and its lock) once it tries the reader
for i in $(seq 100); do grep -q "not reachable" "$work/run1.log" && break; sleep 0.05; done
expect "a second run on the same state is refused" 1 "is in use by another process" \
	"$SIM" run --state "$work/a.json" --vpcd 127.0.0.1:2
expect "show reads a card that runs" 0 '"eid"' "$SIM" show --json --state "$work/a.json"
kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null
expect "the state is free again after the run stops" 0 '"eid"' sh -c "'$SIM' run --state '$work/a.json' --vpcd 127.0.0.1:1 >/dev/null 2>&1 & p=\$!; sleep 0.3; kill -0 \$p && kill \$p && wait \$p; '$SIM' show --json --state '$work/a.json'"
expect "unknown command" 2 "unknown command 'frob'" "$SIM" frob
expect "json error object" 2 '"error"' "$SIM" --json new
echo "1..$n"
[ $failed -eq 0 ]
