#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# `smsr serve` over an in-process farm of 6 cards: every endpoint, its success and each error (bad JSON,
# unknown EID/ICCID/job, no or a wrong token, a viewer writing, an oversized body, a conflicting state,
# a wrong method), every answer checked against docs/openapi.json; a webhook receiver that checks each
# signature and answers 500 to first attempts (so every delivery is retried); the live feed; the rules
# engine acting on a posted event; slow and idle clients by the thousand while others are served; TLS
# with openssl s_client as the peer; SIGTERM. No key of the fleet appears in any answer. Prints TAP.
# Usage: api_test.py EUICC_SIM SMSR OPENAPI.json
import hashlib, hmac, http.client, http.server, json, os, re, shutil, signal, socket, sqlite3
import subprocess, sys, tempfile, threading, time, urllib.parse

import jsonschema

SIM, SMSR, DOC = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="euicc-api-")
env = dict(os.environ, XDG_DATA_HOME=work + "/data")
DB = work + "/smsr.db"
n = failed = 0
procs = []
seen = []  # every answer body, to look for keys in


def ok(name):
    global n
    n += 1
    print("ok %d - %s" % (n, name), flush=True)


def not_ok(name, *detail):
    global n, failed
    n += 1
    failed += 1
    print("not ok %d - %s" % (n, name), flush=True)
    for d in detail:
        print("#   " + str(d)[:800], flush=True)


def check(name, cond, *detail):
    (ok if cond else lambda nm: not_ok(nm, *detail))(name)


def smsr(*args, check_rc=True):
    r = subprocess.run([SMSR, "--db", DB] + list(args), env=env, capture_output=True, text=True)
    if check_rc and r.returncode:
        raise SystemExit("smsr %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


def luhn(s):
    d = [int(c) for c in s][::-1]
    t = sum((x * 2 - 9 if x * 2 > 9 else x * 2) if i % 2 == 0 else x for i, x in enumerate(d))
    return s + str((10 - t % 10) % 10)


# ---- the OpenAPI document, and a check of an answer against it
doc = json.load(open(DOC))
jsonschema.Draft202012Validator.check_schema({"$defs": {}})
routes = []
for path, ops in doc["paths"].items():
    rx = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
    routes.append((re.compile(rx), path, ops))


def schema_for(method, path, status, ctype):
    for rx, tmpl, ops in routes:
        if rx.match(path) and method.lower() in ops:
            resp = ops[method.lower()]["responses"].get(str(status))
            if resp is None:
                return None, "status %d is not documented for %s %s" % (status, method, tmpl)
            if "$ref" in resp:
                resp = doc["components"]["responses"][resp["$ref"].split("/")[-1]]
            content = resp.get("content", {})
            if ctype not in content:
                return None, "%s is not documented for %s %s %d" % (ctype, method, tmpl, status)
            return content[ctype]["schema"], None
    return None, "%s %s is not in the document" % (method, path)


def validate(method, path, status, ctype, body):
    schema, err = schema_for(method, path, status, ctype)
    if err and status in (404, 405) and " is not in the document" in err:
        schema, err = {"$ref": "#/components/schemas/Error"}, None  # no such path or method: the error shape
    if err:
        return err
    if ctype != "application/json":
        return None
    try:
        jsonschema.validate(body, {**schema, "components": doc["components"]}, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as e:
        return "does not match the document: %s at %s" % (e.message[:300], "/".join(map(str, e.absolute_path)))
    return None


mismatches = []


def call(method, path, body=None, token=None, raw=None, headers=None, port=None):
    """one request; the answer checked against the document (mismatches collected)"""
    c = http.client.HTTPConnection("127.0.0.1", port or PORT, timeout=60)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode("utf-8", "replace")
    ctype = (r.getheader("Content-Type") or "").split(";")[0]
    seen.append(text)
    obj = json.loads(text) if ctype == "application/json" else text
    p = urllib.parse.urlsplit(path).path
    err = validate(method, p, r.status, ctype, obj)
    if err:
        mismatches.append("%s %s -> %d: %s" % (method, path, r.status, err))
    c.close()
    return r.status, obj, r


def expect_error(name, status, field, method, path, body=None, token=None, raw=None):
    st, o, _ = call(method, path, body, token, raw)
    good = st == status and isinstance(o, dict) and "error" in o and (field is None or o["error"].get("field") == field)
    check(name, good, "got %d %s" % (st, o))
    return o


# ---- the farm, the inventory, two tokens
subprocess.run([SIM, "farm", "new", work + "/farm", "--count", "6", "--seed", "23"], env=env, check=True,
               capture_output=True)
smsr("fleet", "import", work + "/farm/fleet.csv")
smsr("smdp", "generate", "--operator", "home", "--pool", "home", "--count", "12", "--iccid-from",
     luhn("894400000000000000"), "--imsi-from", "234150000000001")
smsr("smdp", "generate", "--operator", "opb", "--pool", "b", "--count", "2", "--iccid-from",
     luhn("894400000000100000"), "--imsi-from", "234200000000001")
OPS = json.loads(smsr("--json", "token", "create", "--role", "operator", "--name", "ops"))["token"]
VIEW = json.loads(smsr("--json", "token", "create", "--role", "viewer", "--name", "watcher"))["token"]
tok_rows = sqlite3.connect(DB).execute("select hash from token").fetchall()
check("tokens are stored hashed, never as given", all(OPS not in h[0] and VIEW not in h[0] for h in tok_rows)
      and len(tok_rows) == 2)
fleet = json.loads(smsr("--json", "list"))["euiccs"]
E = sorted((e for e in fleet), key=lambda e: int(e["tags"]["slot"]))
E = [e["eid"] for e in E]
keys = set()  # every OTA key of the fleet's EIS bundle
for line in open(work + "/farm/eis.jsonl"):
    for ks in json.loads(line)["ota_keysets"]:
        keys.update(ks[k]["key"].lower() for k in ("kic", "kid"))

# ---- the webhook receiver: checks every signature, answers 500 to each delivery's first attempt
hooks = []
attempts = {}
hook_lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        secret = open(DB + ".webhook.key").read().strip().encode()
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(want, self.headers.get("X-Smsr-Signature", ""))
        d = self.headers.get("X-Smsr-Delivery")
        with hook_lock:
            attempts[d] = attempts.get(d, 0) + 1
            first = attempts[d] == 1
            hooks.append((json.loads(body), good, self.headers.get("X-Smsr-Event"), first))
        self.send_response(500 if first else 204)
        self.end_headers()

    def log_message(self, *a):
        pass


hook_srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook_srv.serve_forever, daemon=True).start()


def start_serve(*extra):
    log = open(work + "/serve%d.err" % len(procs), "w")
    p = subprocess.Popen([SMSR, "--db", DB, "--json", "serve", "--listen", "127.0.0.1:0"] + list(extra), env=env,
                         stdout=subprocess.PIPE, stderr=log, text=True)
    procs.append(p)
    line = p.stdout.readline()
    return p, json.loads(line)


server, info = start_serve("--webhook", "http://127.0.0.1:%d/hook" % hook_srv.server_address[1], "--timeout", "3")
PORT = info["port"]
check("serve announces its port and runs the rules engine", PORT > 0 and info["rules"] is True, info)

try:
    # ---- the document, and who may do what
    st, o, _ = call("GET", "/openapi.json")
    check("/openapi.json is docs/openapi.json, without a token", st == 200 and o == doc)
    st, o, r = call("GET", "/euiccs")
    check("no token: 401 with WWW-Authenticate", st == 401 and r.getheader("WWW-Authenticate", "").startswith("Bearer"),
          st, o)
    expect_error("a wrong token: 401", 401, None, "GET", "/euiccs", token="smsr_" + "0" * 64)
    st, o, _ = call("GET", "/euiccs", headers={"Authorization": "Basic b3BzOm9wcw=="})
    check("a header that is not Bearer: 401", st == 401 and "Bearer" in o["error"]["message"], o)
    st, o, _ = call("GET", "/euiccs", token=VIEW)
    check("a viewer reads the fleet: 6 eUICCs", st == 200 and o["count"] == 6 and [e["eid"] for e in o["euiccs"]] ==
          sorted(E), st)
    expect_error("a viewer changing anything: 403", 403, None, "POST", "/es4/AuditEIS", {"eid": E[0]}, VIEW)
    st, o, _ = call("GET", "/euiccs?tag=slot%3D2", token=OPS)
    check("filter by tag", st == 200 and [e["eid"] for e in o["euiccs"]] == [E[2]], o)
    expect_error("a bad tag filter names ?tag", 400, "tag", "GET", "/euiccs?tag=noequals", token=OPS)
    st, o, _ = call("GET", "/euiccs?limit=2&offset=3", token=VIEW)
    check("a page of the fleet: 2 from the 4th, count of all", st == 200 and o["count"] == 6 and
          [e["eid"] for e in o["euiccs"]] == sorted(E)[3:5], o.get("count"))
    expect_error("a bad page size names ?limit", 400, "limit", "GET", "/euiccs?limit=0", token=VIEW)
    expect_error("an unknown resource: 404", 404, None, "GET", "/nothing", token=OPS)
    expect_error("a wrong method: 405", 405, None, "GET", "/es4/EnableProfile", token=OPS)

    # ---- ES2 DownloadProfile and ES4 from the inventory, waited for
    st, j, _ = call("POST", "/es2/DownloadProfile?wait=60", {"eid": E[0], "pool": "home"}, OPS)
    iccid = (j.get("result") or {}).get("iccid")
    check("DownloadProfile from a pool, waited: 200 done with the pool's ICCID", st == 200 and j["state"] == "done"
          and iccid and iccid.startswith("894400000000000"), st, j)
    check("the job records the token's name", j.get("who") == "api:ops", j.get("who"))
    st, j2, _ = call("POST", "/es4/EnableProfile?wait=60", {"eid": E[0], "iccid": iccid}, OPS)
    check("EnableProfile, waited: done", st == 200 and j2["state"] == "done", st, j2)
    st, e0, _ = call("GET", "/euiccs/" + E[0], token=VIEW)
    check("the eUICC shows the profile enabled, its jobs and last contact", st == 200 and e0["enabled"]["iccid"] ==
          iccid and len(e0["jobs"]) == 2 and e0["last_contact"], e0.get("enabled"))
    expect_error("EnableProfile of an enabled profile: 409 naming iccid", 409, "iccid", "POST", "/es4/EnableProfile",
                 {"eid": E[0], "iccid": iccid}, OPS)
    expect_error("DeleteProfile of the enabled profile: 409", 409, "iccid", "POST", "/es4/DeleteProfile",
                 {"eid": E[0], "iccid": iccid}, OPS)
    expect_error("an ICCID the eUICC does not have: 404", 404, "iccid", "POST", "/es4/DisableProfile",
                 {"eid": E[0], "iccid": luhn("894400000000999999")}, OPS)
    expect_error("an unknown EID: 404 naming eid", 404, "eid", "POST", "/es4/AuditEIS", {"eid": "8" * 32}, OPS)
    expect_error("no eid: 400 naming eid", 400, "eid", "POST", "/es4/AuditEIS", {}, OPS)
    expect_error("an unknown field: 400 naming it", 400, "iccidd", "POST", "/es4/EnableProfile",
                 {"eid": E[0], "iccidd": iccid}, OPS)
    expect_error("a field of the wrong type: 400 naming it", 400, "eid", "POST", "/es4/AuditEIS", {"eid": 5}, OPS)
    expect_error("bad JSON: 400", 400, None, "POST", "/es4/AuditEIS", token=OPS, raw=b'{"eid": ')
    expect_error("a body that is not an object: 400", 400, None, "POST", "/es4/AuditEIS", token=OPS, raw=b'[1]')
    expect_error("POL1 out of range: 400 naming pol1", 400, "pol1", "POST", "/es4/UpdatePolicyRules",
                 {"eid": E[0], "iccid": iccid, "pol1": 9}, OPS)
    expect_error("an SMSC that is not digits: 400 naming smsc", 400, "smsc", "POST",
                 "/es4/UpdateConnectivityParameters", {"eid": E[0], "smsc": "12ab"}, OPS)
    expect_error("a download from an unknown ICCID: 404", 404, "iccid", "POST", "/es2/DownloadProfile",
                 {"eid": E[1], "iccid": luhn("894400000000777777")}, OPS)
    expect_error("a download of an installed ICCID: 409", 409, "iccid", "POST", "/es2/DownloadProfile",
                 {"eid": E[1], "iccid": iccid}, OPS)
    expect_error("a download with iccid and pool: 400", 400, None, "POST", "/es2/DownloadProfile",
                 {"eid": E[1], "iccid": iccid, "pool": "home"}, OPS)
    expect_error("a bad ?wait: 400 naming wait", 400, "wait", "POST", "/es4/AuditEIS?wait=forever", {"eid": E[0]}, OPS)
    # a client that asks first (Expect: 100-continue) hears 413 before it sends the body
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.sendall(("POST /es4/AuditEIS HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n"
               "Expect: 100-continue\r\n\r\n" % (OPS, 2 * 1024 * 1024)).encode())
    head = s.recv(4096).decode("utf-8", "replace")
    s.close()
    check("a body over 1 MiB announced: 413 before it is sent", head.startswith("HTTP/1.1 413") and "too_large" in head,
          head[:200])
    # one sent in chunks, with no length said: read up to the limit, then 413
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.putrequest("POST", "/es4/AuditEIS")
    c.putheader("Authorization", "Bearer " + OPS)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    chunk = b"1" * 65536
    try:
        for _ in range(20):
            c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        c.send(b"0\r\n\r\n")
    except OSError:
        pass
    r = c.getresponse()
    body = json.loads(r.read())
    check("a chunked body over 1 MiB: 413", r.status == 413 and body["error"]["code"] == "too_large", r.status, body)
    c.close()
    st, j3, _ = call("POST", "/es4/UpdatePolicyRules?wait=60", {"eid": E[0], "iccid": iccid, "pol1": "02"}, OPS)
    check("UpdatePolicyRules with hex POL1: done", st == 200 and j3["state"] == "done", j3)
    st, j4, _ = call("POST", "/es4/AuditEIS", {"eid": E[0]}, OPS)
    check("without ?wait: 202 and the job", st == 202 and j4["state"] in ("new", "running", "done"), st)
    for _ in range(100):
        st, j5, _ = call("GET", "/jobs/%d" % j4["id"], token=VIEW)
        if j5["state"] == "done":
            break
        time.sleep(0.1)
    check("GET /jobs/ID follows it to done", j5["state"] == "done", j5["state"])
    expect_error("an unknown job: 404", 404, "job", "GET", "/jobs/99999", token=VIEW)
    st, o, _ = call("GET", "/jobs?campaign=%d" % j["campaign"], token=VIEW)
    check("GET /jobs filters by campaign", st == 200 and len(o["jobs"]) >= 4, len(o.get("jobs", [])))

    # ---- the inventory
    st, o, _ = call("GET", "/smdp/pools", token=VIEW)
    pools = {p["pool"]: p for p in o["pools"]}
    check("pools with their counts", st == 200 and pools["home"]["installed"] == 1 and pools["home"]["available"] ==
          11 and pools["b"]["total"] == 2, o)
    st, o, _ = call("GET", "/smdp/profiles?pool=home&state=installed", token=VIEW)
    check("profiles by pool and state, with their eUICC", st == 200 and [(p["iccid"], p["eid"]) for p in o["profiles"]]
          == [(iccid, E[0])], o)

    # ---- campaigns
    st, o, _ = call("POST", "/campaigns", {"op": "swap", "pool": "home", "target": "tag:farm=farm", "dry_run": True}, OPS)
    check("a campaign's dry run: a preview of 6 jobs, nothing stored", st == 200 and o["jobs"] == 6 and
          len(call("GET", "/campaigns", token=VIEW)[1]["campaigns"]) == 2, o)
    expect_error("a campaign without op: 400 naming op", 400, "op", "POST", "/campaigns", {"target": "all"}, OPS)
    expect_error("a swap without pool: 400 naming pool", 400, "pool", "POST", "/campaigns", {"op": "swap", "target": "all"}, OPS)
    expect_error("a pool too small: 409", 409, "pool", "POST", "/campaigns", {"op": "swap", "pool": "b", "target": "all"}, OPS)
    expect_error("a target naming no eUICC: 409", 409, "target", "POST", "/campaigns",
                 {"op": "audit", "target": "tag:slot=77"}, OPS)
    expect_error("concurrency out of range: 400", 400, "concurrency", "POST", "/campaigns",
                 {"op": "audit", "target": "all", "concurrency": 0}, OPS)
    target = "eids:" + ",".join(E[1:4])
    st, c, _ = call("POST", "/campaigns", {"op": "swap", "pool": "home", "target": target, "concurrency": 2}, OPS)
    check("a swap campaign over 3 cards: 201, ready", st == 201 and c["state"] == "ready" and c["jobs"]["total"] == 3,
          st, c)
    for _ in range(300):
        st, c2, _ = call("GET", "/campaigns/%d" % c["id"], token=VIEW)
        if c2["state"] == "done":
            break
        time.sleep(0.1)
    check("the server runs it to done", c2["state"] == "done" and c2["jobs"]["done"] == 3, c2)
    st, rep, _ = call("GET", "/campaigns/%d/report" % c["id"], token=VIEW)
    check("its report (json): 3 jobs done", st == 200 and [x["state"] for x in rep["job_list"]] == ["done"] * 3)
    st, csv, r = call("GET", "/campaigns/%d/report?format=csv" % c["id"], token=VIEW)
    lines = csv.strip().split("\n")
    check("its report (csv): a header and 3 lines", st == 200 and r.getheader("Content-Type") == "text/csv" and
          len(lines) == 4 and lines[0].startswith("job,eid"), csv)
    expect_error("a bad report format: 400", 400, "format", "GET", "/campaigns/%d/report?format=xml" % c["id"], token=VIEW)
    expect_error("pausing a done campaign: 409", 409, "campaign", "POST", "/campaigns/%d/pause" % c["id"], token=OPS)
    expect_error("an unknown campaign: 404", 404, "campaign", "POST", "/campaigns/9999/cancel", token=OPS)
    # two jobs at one per 100 s: the first may run at once, the second waits and is cancelled
    st, c3, _ = call("POST", "/campaigns", {"op": "audit", "target": "eids:%s,%s" % (E[4], E[5]), "rate": 0.01}, OPS)
    st2, c4, _ = call("POST", "/campaigns/%d/cancel" % c3["id"], token=OPS)
    time.sleep(1)
    c5 = call("GET", "/campaigns/%d" % c3["id"], token=VIEW)[1]
    check("a campaign cancelled: its jobs not run are cancelled, and it stays so", st2 == 200 and c4["state"] ==
          "cancelled" and c5["state"] == "cancelled" and c5["jobs"]["cancelled"] >= 1, c4, c5)
    st, e1, _ = call("GET", "/euiccs/" + E[1], token=VIEW)
    check("the swap shows on the eUICC", e1["enabled"] and e1["enabled"]["operator"] == "home", e1.get("enabled"))

    # ---- events and rules
    rules = 'rules:\n  - name: roam-audit\n    when: {type: location, mcc: "262"}\n    then: {op: audit}\n'
    st, o, _ = call("PUT", "/rules?name=api-test", token=OPS, raw=b'rules:\n  - name: a\n    when: {type: location, mcx: "1"}\n    then: {op: audit}\n')
    check("PUT /rules refuses a fault, naming line and field", st == 400 and "line 3" in o["error"]["message"] and
          "mcx" in o["error"]["message"], o)
    st, o, _ = call("POST", "/rules/check", token=OPS, raw=rules.encode())
    check("POST /rules/check: ok, nothing stored", st == 200 and o["ok"] and call("GET", "/rules", token=VIEW)[1]["version"]
          is None, o)
    st, o, _ = call("PUT", "/rules?name=api-test", token=OPS, raw=rules.encode())
    check("PUT /rules stores a version", st == 200 and o["version"] == 1, o)
    st, o, _ = call("GET", "/rules", token=VIEW)
    check("GET /rules shows it", st == 200 and o["version"] == 1 and o["rules"][0]["name"] == "roam-audit", o)
    ev = {"id": "api-roam-1", "eid": E[2], "type": "location", "mcc": "262", "mnc": "01"}
    expect_error("an event with an unknown field: 400 naming it", 400, None, "POST", "/events",
                 {"eid": E[2], "type": "location", "mcx": "262"}, OPS)
    expect_error("an event for an unknown eUICC: 404", 404, "eid", "POST", "/events",
                 {"eid": "8" * 32, "type": "location", "mcc": "262"}, OPS)
    st, o, _ = call("POST", "/events", [ev, ev], OPS)
    check("POST /events: one stored, its duplicate counted", st == 202 and o["stored"] == 1 and o["duplicates"] == 1, o)
    job = None
    for _ in range(200):
        st, o, _ = call("GET", "/jobs?eid=" + E[2], token=VIEW)
        ruled = [x for x in o["jobs"] if x.get("rule") == "roam-audit"]
        if ruled and ruled[0]["state"] == "done":
            job = ruled[0]
            break
        time.sleep(0.1)
    check("the rules engine in serve acts on the event: an audit job by rule roam-audit, done", job is not None, o)
    st, o, _ = call("GET", "/events/api-roam-1", token=VIEW)
    check("GET /events/ID explains the decision", st == 200 and o["decisions"] and o["decisions"][0]["rule"] ==
          "roam-audit", o)
    expect_error("an unknown event: 404", 404, "event", "GET", "/events/none-such", token=VIEW)

    # ---- the live feed: a job's steps and outcome arrive on /stream
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    sock.sendall(("GET /stream?token=%s HTTP/1.1\r\nHost: x\r\n\r\n" % VIEW).encode())
    time.sleep(0.3)
    st, ja, _ = call("POST", "/es4/AuditEIS", {"eid": E[3]}, OPS)
    buf, t0 = b"", time.time()
    while time.time() - t0 < 20 and ('"job":%d' % ja["id"]).encode() not in buf:
        try:
            buf += sock.recv(65536)
        except socket.timeout:
            break
    sock.close()
    text = buf.decode("utf-8", "replace")
    seen.append(text)
    check("/stream sends the job's trace and its outcome", "200 OK" in text.split("\r\n")[0] and "event: trace" in text
          and ('"job":%d' % ja["id"]) in text and "event: job" in text, text[:400])
    expect_error("/stream without a token: 401", 401, None, "GET", "/stream")

    # ---- webhooks: signed, each retried after its 500
    deadline = time.time() + 40
    while time.time() < deadline:
        with hook_lock:
            types = [h[0]["type"] for h in hooks if not h[3]]
            all_retried = all(v == 2 for v in attempts.values())
        if "profile.enabled" in types and "download.completed" in types and types.count("job.finished") >= 8 \
                and all_retried:
            break
        time.sleep(0.2)
    with hook_lock:
        snap = list(hooks)
    check("every webhook delivery is signed right", snap and all(h[1] for h in snap), [h for h in snap if not h[1]][:2])
    check("a 500 is tried again: every delivery arrived twice", snap and all(v == 2 for v in attempts.values()),
          attempts)
    enabled = [h[0] for h in snap if h[0]["type"] == "profile.enabled" and not h[3]]
    check("profile.enabled notification with the eUICC and ICCID", enabled and enabled[0]["data"]["eid"] == E[0]
          and enabled[0]["data"]["iccid"] == iccid, enabled)
    seen.extend(json.dumps(h[0]) for h in snap)

    # ---- hostile clients: idle and slow connections by the thousand, others still served
    idle = []
    for _ in range(1500):
        try:
            s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            idle.append(s)
        except OSError:
            break
    for s in idle[:300]:
        try:
            s.sendall(b"GET /euiccs HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        except OSError:
            pass
    st, o, _ = call("GET", "/euiccs", token=VIEW)
    check("1500 open connections, 300 half-sent: another client is served", len(idle) == 1500 and st == 200 and
          o["count"] == 6, len(idle), st)
    time.sleep(5)
    closed = 0
    for s in idle[:300]:
        s.settimeout(0.5)
        try:
            closed += s.recv(1) == b""
        except (socket.timeout, OSError):
            pass
    check("a slow client is dropped after --timeout", closed >= 290, closed)
    for s in idle:
        s.close()
    st, o, _ = call("GET", "/euiccs", token=VIEW)
    check("the server is up after them", st == 200)

    # ---- TLS, with openssl s_client as the peer
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=localhost", "-days", "2", "-keyout", work + "/key.pem", "-out", work + "/cert.pem"],
                   check=True, capture_output=True)
    tls, tinfo = start_serve("--tls-cert", work + "/cert.pem", "--tls-key", work + "/key.pem", "--quiet")
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % tinfo["port"], "-quiet", "-CAfile",
                        work + "/cert.pem", "-verify_return_error", "-servername", "localhost"],
                       input=("GET /smdp/pools HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                              "Connection: close\r\n\r\n" % VIEW).encode(), capture_output=True, timeout=20)
    out = r.stdout.decode("utf-8", "replace")
    check("TLS: openssl s_client verifies the certificate and gets 200 with the pools", tinfo["url"].startswith("https")
          and out.startswith("HTTP/1.1 200") and '"pools"' in out, r.stderr[-300:], out[:200])
    tls.send_signal(signal.SIGTERM)
    tls.wait(timeout=30)

    # ---- every change is recorded with the token's name
    db = sqlite3.connect(DB)
    log = db.execute("select who, what from oplog where what like 'campaign cancel%' or what = 'rules load'").fetchall()
    src = db.execute("select source from event where id = 'api-roam-1'").fetchone()
    hist = smsr("history", E[0])
    check("changes carry the token's name: the log, events, the history", ("api:ops", "campaign cancel %d" % c3["id"])
          in log and ("api:ops", "rules load") in log and src == ("api:ops",) and "(by api:ops)" in hist, log, src,
          hist[-300:])
    db.close()

    # ---- the OpenAPI document held for every answer
    check("every answer matches docs/openapi.json", not mismatches, *mismatches[:5])
    leaked = [k for k in keys if any(k in s.lower() for s in seen)]
    check("no OTA key of the fleet appears in any answer, feed or webhook (%d keys looked for)" % len(keys),
          keys and not leaked, leaked[:2])

    # ---- SIGTERM: a clean stop, the store whole
    server.send_signal(signal.SIGTERM)
    rc = server.wait(timeout=60)
    err = open(work + "/serve0.err").read()
    integ = sqlite3.connect(DB).execute("pragma integrity_check").fetchone()[0]
    check("SIGTERM: serve stops with 0, the store's integrity ok", rc == 0 and "serve: stopped" in err and integ == "ok",
          rc, err[-300:], integ)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    hook_srv.shutdown()
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
print("1..%d" % n)
print("# work %s" % work)
sys.exit(1 if failed else 0)
