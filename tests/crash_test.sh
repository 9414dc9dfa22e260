#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash safety: euicc-sim is killed with SIGKILL at random moments (KILLS times, default 60) while
# crash_host drives create/download/enable/delete over OTA. After each kill the NVM must load, hold at
# most one enabled profile and only whole ISD-Ps, its counters must never go back, and the last change
# the card acknowledged must be there (unless the operation in flight at the kill touched the same
# ISD-P). Prints TAP.
set -u
SIM=${1:?euicc-sim}
HOST=${2:?crash_host}
KILLS=${KILLS:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/pcscd.sh"
work=$(mktemp -d /tmp/euicc-crash-XXXXXX)
export XDG_DATA_HOME="$work/data"
HPID=""; SPID=""
cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
"$SIM" new --state "$work/card.json" --eis "$work/eis.json" --seed 99 >/dev/null || { echo "not ok 1 - new"; exit 1; }
PORT=$(free_port)
"$HOST" "$PORT" "$work/eis.json" "$XDG_DATA_HOME/euicc-bench/pki" 3600 >"$work/host.log" 2>&1 &
HPID=$!
for i in $(seq 50); do grep -q listening "$work/host.log" && break; sleep 0.1; done
failed=0; prev="{}"; durable_checked=0
for i in $(seq "$KILLS"); do
	"$SIM" run --state "$work/card.json" --vpcd "127.0.0.1:$PORT" >>"$work/sim.log" 2>&1 &
	SPID=$!
	# 50..650 ms: long enough for some complete operations, short enough to land inside others
	sleep "0.$(printf '%03d' $((50 + RANDOM % 600)))"
	kill -9 "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
	if ! "$SIM" show --json --show-secrets --state "$work/card.json" >"$work/show.json" 2>"$work/err"; then
		echo "not ok $i - NVM loads after kill $i: $(cat "$work/err")"; failed=$((failed + 1)); continue
	fi
	if out=$(python3 - "$work/show.json" "$prev" "$work/host.log" 2>&1 <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); prev = json.loads(sys.argv[2])
# the last acknowledged change: ISD-P k in state st, unless a later operation may have changed it
log = [l.split() for l in open(sys.argv[3]) if l.startswith(("begin ", "acked "))]
acks = [i for i, l in enumerate(log) if l[0] == "acked"]
durable = "-"
if acks:
    _, k, st = log[acks[-1]]
    later = [l for l in log[acks[-1] + 1:] if l[0] == "begin"]
    if not any(l[1] == k or (l[2] == "enable" and st == "enabled") for l in later):
        aid_tail = "%04x" % (0x10 + int(k))
        have = [p["state"] for p in s["profiles"] if p["aid"].lower()[26:30] == aid_tail]
        got = have[0] if have else "absent"
        assert got == st, "ISD-P %s was acknowledged %s but is %s after the kill" % (k, st, got)
        durable = "ISD-P %s %s" % (k, st)
ps = s["profiles"]
assert len(ps) <= 4, "more than 4 profiles"
assert sum(p["state"] == "enabled" for p in ps) <= 1, "more than one profile enabled"
for p in ps:
    assert p["state"] in ("selectable", "personalized", "disabled", "enabled"), "bad state " + p["state"]
    if p["state"] in ("disabled", "enabled"):
        assert p["iccid"] and p["package_bytes"] > 0, "installed profile without its package"
    else:
        assert p["package_bytes"] == 0, "half-downloaded package kept"
assert len({p["aid"] for p in ps}) == len(ps), "duplicate AIDs"
for k in s["keysets"]:
    old = {x["kvn"]: x["counter"] for x in prev.get("keysets", [])}.get(k["kvn"], "0000000000")
    assert int(k["counter"], 16) >= int(old, 16), "counter went back for keyset %d" % k["kvn"]
assert int(s["mo_counter"], 16) >= int(prev.get("mo_counter", "0"), 16), "MO counter went back"
print(" ".join("%s:%s" % (p["aid"][-6:], p["state"]) for p in ps) + " cntr=" + s["keysets"][0]["counter"] +
      "; last acknowledged: " + durable)
PY
); then
		echo "ok $i - kill $i: NVM consistent ($out)"
		case "$out" in *"last acknowledged: ISD-P"*) durable_checked=$((durable_checked + 1)) ;; esac
		prev=$(cat "$work/show.json")
	else
		echo "not ok $i - kill $i: $out"; failed=$((failed + 1))
	fi
done
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; HPID=""
ops=$(grep -o 'ops=[0-9]*' "$work/host.log" | tail -n1)
echo "# host: ${ops:-still running when stopped}"
# the counter moved: the loop really ran operations between the kills
c=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["keysets"][0]["counter"],16))' "$work/show.json")
if [ "$c" -gt "$KILLS" ]; then echo "ok $((KILLS + 1)) - $c OTA packets accepted across $KILLS kills"; else
	echo "not ok $((KILLS + 1)) - only $c OTA packets accepted"; failed=$((failed + 1)); fi
# the durability check really ran (the kills that land inside an operation on the same ISD-P skip it)
if [ "$durable_checked" -ge $((KILLS / 6)) ]; then
	echo "ok $((KILLS + 2)) - an acknowledged change was checked after $durable_checked of $KILLS kills"
else
	echo "not ok $((KILLS + 2)) - an acknowledged change was checked after only $durable_checked of $KILLS kills"
	failed=$((failed + 1))
fi
echo "1..$((KILLS + 2))"
[ $failed -eq 0 ]
