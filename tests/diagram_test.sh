#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sequence diagrams: the demo's flow on an in-process card (two downloads, enable with its REFRESH and
# notification, fall-back, connectivity loss, audit, delete), each step drawn by smsr --diagram and
# joined by smsr diagram, equal to tests/golden/demo.mmd once the timings are left out; the SVG parses
# as XML and holds one arrow per step; no key in either. Prints TAP.
# Usage: diagram_test.sh EUICC_SIM SMSR TESTS_DIR [--update]
set -u
SIM=${1:?euicc-sim}; SMSR=${2:?smsr}; TESTS=${3:?tests dir}; UPDATE=${4:-}
work=$(mktemp -d /tmp/euicc-diagram-XXXXXX)
export XDG_DATA_HOME="$work/data"
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$work"; echo "# work $work"; }
trap cleanup EXIT
source "$TESTS/tap.sh"
cd "$work" || exit 1
K=000102030405060708090a0b0c0d0e0f; OPC=00112233445566778899aabbccddeeff
"$SIM" new --state card.json --eis eis.json >/dev/null || exit 1
"$SMSR" --db smsr.db register eis.json >/dev/null || exit 1
"$SMSR" profile new --iccid 8988211000000467285 --imsi 001010123456063 --k $K --opc $OPC --out A.der >/dev/null
"$SMSR" profile new --iccid 8949449999999990015 --imsi 001010000000002 --k $OPC --opc $K --out B.der >/dev/null
i=0
step() { i=$((i + 1)); "$SMSR" --db smsr.db --inproc card.json --diagram "$(printf %02d $i).mmd" "$@" >/dev/null 2>&1 || echo "step $i ($*) failed"; }
fails=$(
	step download A.der; step download B.der; step enable 8949449999999990015
	step set-fallback 8988211000000467285; step connectivity-loss; step audit; step delete 8949449999999990015
)
[ -z "$fails" ] && ok "the demo's seven steps, each with --diagram" || not_ok "steps" "$fails"
expect "smsr diagram joins them as Mermaid" 0 "steps" "$SMSR" diagram 0*.mmd --out demo.mmd
expect "and as SVG" 0 "steps" "$SMSR" diagram 0*.mmd --out demo.svg
sed -E 's/ \(\+[0-9.]+ ms\)$//' demo.mmd >demo.notimes.mmd
if [ "$UPDATE" = --update ]; then cp demo.notimes.mmd "$TESTS/golden/demo.mmd"; fi
if cmp -s demo.notimes.mmd "$TESTS/golden/demo.mmd"; then
	ok "the diagram equals tests/golden/demo.mmd ($(grep -c -- '->>\|Note over' demo.mmd) steps, timings left out)"
else
	not_ok "golden" "$(diff "$TESTS/golden/demo.mmd" demo.notimes.mmd | head -12 | tr '\n' '|')"
fi
timed=$(grep -cE '\(\+[0-9.]+ ms\)$' demo.mmd)
[ "$timed" -gt 20 ] && ok "arrows carry their timings ($timed)" || not_ok "timings" "$timed"
python3 - demo.svg demo.mmd <<'PY' && ok "the SVG parses as XML, one arrow or note per step, nothing outside it" || not_ok "svg"
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
steps = sum(1 for l in open(sys.argv[2]) if "->>" in l or "Note over" in l)
arrows = [e for e in t.iter(ns + "line") if e.get("marker-end")] + [e for e in t.iter(ns + "rect") if e.get("fill") == "#fff8d6"]
assert len(arrows) == steps, (len(arrows), steps)
assert not any("href" in str(e.attrib) and "http" in str(e.attrib) for e in t.iter()), "an external reference"
PY
keys=$(python3 -c "
import json; e = json.load(open('eis.json'))
print(' '.join(k[x]['key'] for k in e['ota_keysets'] for x in ('kic', 'kid')))")
leak=""
for k in $keys $K $OPC; do grep -qi "$k" demo.mmd demo.svg && leak="$leak $k"; done
[ -z "$leak" ] && ok "no key in the diagrams" || not_ok "keys" "$leak"
expect "a diagram name that is neither .mmd nor .svg is refused" 2 "ends in .mmd" "$SMSR" --db smsr.db --diagram x.png audit
echo "1..$n"
exit $((failed > 0 ? 1 : 0))
