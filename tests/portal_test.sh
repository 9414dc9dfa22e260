#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The portal in a real browser: Debian's chromium, driven by playwright-core (npm, never a browser
# download), against `smsr serve` over a farm of 20 cards. Sign in, the fleet, a swap campaign on 10
# cards watched to its end, a profile enabled from one card's page and its table changed, a rule's
# decision, the SM-DP inventory, the live trace. Screenshots of each page go to $SCREENSHOTS (default:
# the work directory; scripts/screenshots refreshes docs/portal). Prints TAP.
# Usage: portal_test.sh EUICC_SIM SMSR TESTS_DIR NODE_DIR
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; TESTS=$(realpath "${3:?tests dir}"); NODE_DIR=$(realpath -m "${4:?node dir}")
work=$(mktemp -d /tmp/euicc-portal-XXXXXX)
export XDG_DATA_HOME="$work/data"
SERVE_PID=""
cleanup() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; echo "# work $work"; }
trap cleanup EXIT
source "$TESTS/tap.sh"
S=("$SMSR" --db "$work/smsr.db")
luhn() { python3 -c "
s='$1'; d=[int(c) for c in s][::-1]
t=sum((x*2-9 if x*2>9 else x*2) if i%2==0 else x for i,x in enumerate(d)); print(s+str((10-t%10)%10))"; }

CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "1..0 # SKIP no chromium, node or npm: scripts/test installs them (packages chromium, nodejs, npm)"
	exit 77
fi
# playwright-core at the version of tests/portal/package-lock.json, once per build directory
if [ ! -f "$NODE_DIR/node_modules/playwright-core/package.json" ] ||
	! cmp -s "$TESTS/portal/package-lock.json" "$NODE_DIR/package-lock.json"; then
	mkdir -p "$NODE_DIR" && cp "$TESTS/portal/package.json" "$TESTS/portal/package-lock.json" "$NODE_DIR/" &&
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$NODE_DIR" --no-audit --no-fund >"$work/npm.log" 2>&1 ||
		{ echo "not ok 1 - npm ci playwright-core"; sed 's/^/# /' "$work/npm.log"; exit 1; }
fi

# the farm: 20 cards, each with a home profile (so the fleet shows one), pools for the campaign
"$SIM" farm new "$work/farm" --count 20 --seed 31 >/dev/null || exit 1
"${S[@]}" fleet import "$work/farm/fleet.csv" >/dev/null || exit 1
"${S[@]}" smdp generate --operator home --pool home --count 20 --iccid-from "$(luhn 894400000000000000)" --imsi-from 234150000000001 >/dev/null
"${S[@]}" smdp generate --operator opb --pool b --count 12 --iccid-from "$(luhn 894400000000100000)" --imsi-from 234200000000001 >/dev/null
"${S[@]}" campaign create --op swap --pool home --old delete --target all --concurrency 4 >/dev/null &&
	"${S[@]}" campaign run 1 >/dev/null || { echo "not ok 1 - setup campaign"; exit 1; }
printf 'rules:\n  - name: roaming-audit\n    when: {type: location, mcc: "262"}\n    then: {op: audit}\n' >"$work/rules.yaml"
"${S[@]}" rules load "$work/rules.yaml" >/dev/null || exit 1
TOKEN=$("${S[@]}" token create --role operator --name portal 2>/dev/null)
"${S[@]}" --json serve --listen 127.0.0.1:0 --quiet >"$work/serve.out" 2>"$work/serve.err" &
SERVE_PID=$!
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['port'])" "$work/serve.out") || { echo "not ok 1 - serve"; cat "$work/serve.err"; exit 1; }
# a roaming event for one card: the engine decides it (the rules page shows it)
E5=$("${S[@]}" --json list | python3 -c "
import json,sys
print([e['eid'] for e in json.load(sys.stdin)['euiccs'] if e['tags']['slot'] == '5'][0])")
curl -s -H "Authorization: Bearer $TOKEN" -d "{\"id\":\"portal-roam-1\",\"eid\":\"$E5\",\"type\":\"location\",\"mcc\":\"262\",\"mnc\":\"01\"}" \
	"http://127.0.0.1:$PORT/events" >/dev/null

NODE_PATH="$NODE_DIR/node_modules" URL="http://127.0.0.1:$PORT/" TOKEN="$TOKEN" CHROMIUM="$CHROMIUM" \
	SHOTS="${SCREENSHOTS:-$work/shots}" E5="$E5" COUNT="$work/tap.n" node "$TESTS/portal_test.mjs"
rc=$?
# nothing the browser did may have broken the store
integ=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma integrity_check').fetchone()[0])" "$work/smsr.db")
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; src=$?; SERVE_PID=""
n=$(($(cat "$work/tap.n" 2>/dev/null || echo 0) + 1))
if [ "$src" -eq 0 ] && [ "$integ" = ok ]; then echo "ok $n - serve stopped cleanly, the store whole"; else echo "not ok $n - serve stop $src, integrity $integ"; rc=1; fi
echo "1..$n"
exit $rc
