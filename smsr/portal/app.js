// SPDX-License-Identifier: GPL-2.0-or-later
// The portal: a thin client of the API (/openapi.json) and the live feed (/stream). No framework, no
// build step; every text goes in through textContent, never as HTML.
"use strict";

const $ = (sel) => document.querySelector(sel);
let token = sessionStorage.getItem("smsr-token") || "";
let feed = null;
const listeners = new Set(); // the current view's feed handlers

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function status(msg, kind) {
  const s = $("#status");
  s.textContent = msg || "";
  s.className = kind || "";
}

async function api(method, path, body, raw) {
  const opts = { method, headers: { Authorization: "Bearer " + token } };
  if (raw !== undefined) { opts.body = raw; opts.headers["Content-Type"] = "application/yaml"; }
  else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const r = await fetch(path, opts);
  const ct = r.headers.get("Content-Type") || "";
  const data = ct.startsWith("application/json") ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error(data && data.error ? data.error.message : "HTTP " + r.status);
    e.status = r.status;
    e.field = data && data.error ? data.error.field : undefined;
    throw e;
  }
  return data;
}

const stateTag = (s) => el("span", { class: "state " + s, text: s });
const short = (eid) => eid.slice(0, 6) + "…" + eid.slice(-6);
const when = (t) => (t ? t.replace("T", " ").replace("Z", "") : "–");

function table(headers, rows, caption) {
  return el("table", {},
    caption ? el("caption", { class: "muted", text: caption }) : null,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows));
}

// ---- the live feed
function openFeed() {
  if (feed) feed.close();
  feed = new EventSource("/stream?token=" + encodeURIComponent(token));
  for (const type of ["job", "campaign", "event", "notification", "trace"])
    feed.addEventListener(type, (m) => {
      let d;
      try { d = JSON.parse(m.data); } catch (_) { return; }
      for (const f of listeners) f(type, d);
    });
}

// ---- the views
async function viewFleet(root) {
  const f = { eid: "", tag: "", state: "", operator: "" };
  const body = el("tbody");
  const count = el("p", { class: "muted" });
  async function load() {
    const q = new URLSearchParams();
    if (f.tag) q.set("tag", f.tag);
    if (f.state) q.set("state", f.state);
    if (f.operator) q.set("operator", f.operator);
    const data = await api("GET", "/euiccs?" + q);
    const list = data.euiccs.filter((e) => e.eid.includes(f.eid));
    body.replaceChildren(...list.map((e) => el("tr", {},
      el("td", { class: "mono" }, el("a", { href: "#/euicc/" + e.eid, text: e.eid })),
      el("td", { text: Object.entries(e.tags).map(([k, v]) => k + "=" + v).join(" ") }),
      el("td", { class: "mono", text: e.enabled ? e.enabled.iccid : "–" }),
      el("td", { text: e.enabled && e.enabled.operator ? e.enabled.operator : "–" }),
      el("td", {}, e.isdps.map((p) => stateTag(p.state))),
      el("td", { text: when(e.last_contact) }))));
    count.textContent = list.length + " of " + data.count + " eUICCs";
  }
  const input = (name, label, ph) => el("label", {}, label,
    el("input", { name, placeholder: ph, oninput: (ev) => { f[name] = ev.target.value.trim(); load().catch(fail); } }));
  root.append(el("h2", { text: "Fleet" }),
    el("form", { class: "filters", role: "search", onsubmit: (ev) => ev.preventDefault() },
      input("eid", "EID contains", "8904…"), input("tag", "Tags", "K=V;K=V"),
      el("label", {}, "ISD-P state", el("select", { name: "state", onchange: (ev) => { f.state = ev.target.value; load().catch(fail); } },
        ["", "enabled", "disabled", "installed", "selectable", "personalized"].map((s) => el("option", { value: s, text: s || "any" })))),
      input("operator", "Operator", "home")),
    count,
    table(["EID", "Tags", "Enabled profile", "Operator", "ISD-Ps", "Last contact"], body));
  listeners.add((type) => { if (type === "job") load().catch(() => {}); });
  await load();
}

async function viewEuicc(root, eid) {
  const box = el("div");
  root.append(el("p", {}, el("a", { href: "#/fleet", text: "← Fleet" })), el("h2", { class: "mono", text: "eUICC " + eid }), box);
  async function act(fn, body, label) {
    status(label + " …");
    try {
      const j = await api("POST", fn + "?wait=60", Object.assign({ eid }, body || {}));
      status(label + ": " + j.state + (j.result && j.result.message ? " (" + j.result.message + ")" : ""), j.state === "done" ? "done" : "error");
    } catch (e) { fail(e); }
    await load();
  }
  async function load() {
    const e = await api("GET", "/euiccs/" + eid);
    const rows = e.isdps.map((p) => el("tr", {},
      el("td", { class: "mono", text: p.aid }), el("td", { class: "mono", text: p.iccid || "–" }),
      el("td", {}, stateTag(p.state)), el("td", { text: p.fallback ? "yes" : "" }), el("td", { text: p.emergency ? "yes" : "" }),
      el("td", { class: "row-actions" },
        p.state !== "enabled" ? el("button", { type: "button", onclick: () => act("/es4/EnableProfile", { iccid: p.iccid || p.aid }, "Enable " + (p.iccid || p.aid)) }, "Enable") : null,
        p.state === "enabled" ? el("button", { type: "button", class: "secondary", onclick: () => act("/es4/DisableProfile", { iccid: p.iccid || p.aid }, "Disable " + (p.iccid || p.aid)) }, "Disable") : null,
        p.state !== "enabled" ? el("button", { type: "button", class: "secondary", onclick: () => act("/es4/DeleteProfile", { iccid: p.iccid || p.aid }, "Delete " + (p.iccid || p.aid)) }, "Delete") : null,
        !p.fallback ? el("button", { type: "button", class: "secondary", onclick: () => act("/es4/SetFallBackAttribute", { iccid: p.iccid || p.aid }, "Set fall-back") }, "Set fall-back") : null,
        !p.emergency ? el("button", { type: "button", class: "secondary", onclick: () => act("/es4/SetEmergencyProfileAttribute", { iccid: p.iccid || p.aid }, "Set emergency") }, "Set emergency") : null)));
    const jobs = e.jobs.slice(-15).reverse().map((j) => el("tr", {},
      el("td", { text: j.id }), el("td", { text: j.op }), el("td", {}, stateTag(j.state)),
      el("td", { text: j.rule || j.who || "cli" }), el("td", { text: when(j.finished) }),
      el("td", { text: j.result && j.result.message ? j.result.message : "" })));
    const decisions = e.decisions.slice(-15).reverse().map((d) => el("tr", {},
      el("td", { text: d.rule }), el("td", {}, stateTag(d.outcome === "acted" ? "done" : "new"), " ", d.outcome),
      el("td", { text: d.detail }), el("td", { class: "mono", text: d.event })));
    const notifs = e.notifications.slice(-10).reverse().map((n) => el("tr", {},
      el("td", { text: n.seq }), el("td", { text: n.kind || n.type }), el("td", { class: "mono", text: n.aid }),
      el("td", { text: when(n.received) }), el("td", { text: when(n.confirmed) })));
    box.replaceChildren(
      el("p", {}, "Endpoint ", el("code", { text: e.endpoint || "–" }), " · tags ",
        Object.entries(e.tags).map(([k, v]) => k + "=" + v).join(" ") || "none", " · last contact " + when(e.last_contact), " ",
        el("button", { type: "button", onclick: () => act("/es4/AuditEIS", {}, "Audit") }, "Audit")),
      el("h3", { text: "Profiles" }),
      table(["ISD-P", "ICCID", "State", "Fall-back", "Emergency", "Actions"], rows),
      el("div", { class: "grid" },
        el("section", {}, el("h3", { text: "Jobs" }), table(["Job", "Operation", "State", "By", "Finished", "Message"], jobs)),
        el("section", {}, el("h3", { text: "Rule decisions" }), table(["Rule", "Outcome", "Why", "Event"], decisions))),
      el("h3", { text: "Notifications" }), table(["Seq", "Type", "ISD-P", "Received", "Confirmed"], notifs));
  }
  listeners.add((type, d) => { if (type === "job" && d.eid === eid) load().catch(() => {}); });
  await load();
}

async function viewSmdp(root) {
  const [pools, profiles] = await Promise.all([api("GET", "/smdp/pools"), api("GET", "/smdp/profiles")]);
  root.append(el("h2", { text: "SM-DP inventory" }),
    el("p", { class: "muted", text: "Profiles are kept sealed (AES-256-GCM); no key is ever shown." }),
    table(["Pool", "Operator", "Available", "Reserved", "Installed", "Deleted", "Total"], pools.pools.map((p) => el("tr", {},
      el("td", { text: p.pool || "–" }), el("td", { text: p.operator }), el("td", { text: p.available }), el("td", { text: p.reserved }),
      el("td", { text: p.installed }), el("td", { text: p.deleted }), el("td", { text: p.total })))),
    el("h3", { text: "Profiles" }),
    table(["ICCID", "IMSI", "Operator", "Pool", "State", "eUICC"], profiles.profiles.slice(0, 200).map((p) => el("tr", {},
      el("td", { class: "mono", text: p.iccid }), el("td", { class: "mono", text: p.imsi }), el("td", { text: p.operator }),
      el("td", { text: p.pool || "–" }), el("td", {}, stateTag(p.state)),
      el("td", { class: "mono" }, p.eid ? el("a", { href: "#/euicc/" + p.eid, text: short(p.eid) }) : "–")))));
}

function progress(c) {
  const n = c.jobs, fin = n.done + n.failed + n.expired + n.cancelled;
  const pct = n.total ? Math.round((100 * fin) / n.total) : 100;
  const fill = el("span");
  fill.style.width = pct + "%"; // through the CSSOM: the page's CSP allows no inline style
  return el("span", {}, el("span", { class: "bar", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-label": "campaign " + c.id }, fill),
    " " + fin + "/" + n.total + (n.failed ? ", " + n.failed + " failed" : ""));
}

async function download(path, name) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function viewCampaigns(root) {
  const list = el("tbody");
  const preview = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "card", "aria-label": "New campaign" },
    el("h3", { text: "New campaign" }),
    el("div", { class: "filters" },
      el("label", {}, "Operation", el("select", { name: "op" }, ["swap", "download", "enable", "disable", "delete", "set-fallback", "audit"].map((o) => el("option", { value: o, text: o })))),
      el("label", {}, "Target", el("input", { name: "target", value: "all", size: 32, "aria-describedby": "target-help" })),
      el("label", {}, "Pool", el("input", { name: "pool", size: 10 })),
      el("label", {}, "Profile (enable, …)", el("input", { name: "profile", size: 14, placeholder: "ICCID, enabled, pool:P" })),
      el("label", {}, "Old profile (swap)", el("select", { name: "old" }, el("option", { value: "fallback", text: "keep as fall-back" }), el("option", { value: "delete", text: "delete" }))),
      el("label", {}, "Concurrency", el("input", { name: "concurrency", type: "number", min: 1, max: 64, value: 2, size: 4 }))),
    el("p", { id: "target-help", class: "muted", text: "Target: all, tag:K=V, eids:EID,EID…, operator:NAME" }),
    el("button", { type: "button", class: "secondary", onclick: () => submit(true) }, "Preview (dry run)"), " ",
    el("button", { type: "button", onclick: () => submit(false) }, "Create and run"),
    preview);
  function spec(dry) {
    const v = (n) => form.elements[n].value.trim();
    const s = { op: v("op"), target: v("target"), concurrency: Number(v("concurrency")) || 1, dry_run: dry };
    if (v("pool")) s.pool = v("pool");
    if (v("profile")) s.profile = v("profile");
    if (s.op === "swap") s.old = v("old");
    return s;
  }
  async function submit(dry) {
    try {
      const r = await api("POST", "/campaigns", spec(dry));
      if (dry) preview.replaceChildren(el("p", { text: "Dry run: " + r.op + " over " + r.jobs + " eUICCs; nothing stored, nothing sent." }),
        el("ul", {}, r.eids.slice(0, 10).map((e) => el("li", { class: "mono", text: e })), r.eids.length > 10 ? el("li", { text: "… and " + (r.eids.length - 10) + " more" }) : null));
      else { preview.replaceChildren(el("p", { text: "Campaign " + r.id + " created: " + r.jobs.total + " jobs." })); status("campaign " + r.id + " runs", "done"); }
      await load();
    } catch (e) { fail(e); }
  }
  async function change(id, verb) {
    try { await api("POST", "/campaigns/" + id + "/" + verb); } catch (e) { fail(e); }
    await load();
  }
  async function load() {
    const cs = (await api("GET", "/campaigns")).campaigns.filter((c) => c.op !== "api" && c.op !== "rules").reverse();
    list.replaceChildren(...cs.map((c) => el("tr", { "data-campaign": c.id },
      el("td", { text: c.id }), el("td", { text: c.op }),
      el("td", { class: "mono", title: c.target, text: c.target.length > 40 ? c.target.slice(0, 36) + "… (" + c.jobs.total + " eUICCs)" : c.target }),
      el("td", {}, stateTag(c.state)), el("td", {}, progress(c)), el("td", { text: c.who || "cli" }),
      el("td", { class: "row-actions" },
        ["ready", "running"].includes(c.state) ? el("button", { type: "button", class: "secondary", onclick: () => change(c.id, "pause") }, "Pause") : null,
        c.state === "paused" ? el("button", { type: "button", class: "secondary", onclick: () => change(c.id, "resume") }, "Resume") : null,
        !["done", "cancelled"].includes(c.state) ? el("button", { type: "button", class: "secondary", onclick: () => change(c.id, "cancel") }, "Cancel") : null,
        el("button", { type: "button", class: "secondary", onclick: () => download("/campaigns/" + c.id + "/report?format=csv", "campaign-" + c.id + ".csv") }, "Report (CSV)")))));
  }
  let pending = null;
  listeners.add((type) => {
    if ((type === "job" || type === "campaign") && !pending) pending = setTimeout(() => { pending = null; load().catch(() => {}); }, 300);
  });
  root.append(el("h2", { text: "Campaigns" }), form,
    table(["Id", "Operation", "Target", "State", "Progress", "By", "Actions"], list));
  await load();
}

async function viewRules(root) {
  const cur = el("pre", { "aria-label": "Rules in use" });
  const result = el("div", { "aria-live": "polite" });
  const text = el("textarea", { id: "rules-text", spellcheck: "false" });
  const explainOut = el("div", { "aria-live": "polite" });
  const events = el("tbody");
  async function load() {
    const r = await api("GET", "/rules");
    cur.textContent = r.version === null ? "(no rules loaded)" : "# version " + r.version + " (" + r.name + ", " + r.loaded + ")\n" + r.text;
    if (!text.value && r.text) text.value = r.text;
    const ev = (await api("GET", "/events?limit=30")).events.reverse();
    events.replaceChildren(...ev.map((e) => el("tr", {},
      el("td", { class: "mono" }, el("a", { href: "#", onclick: (x) => { x.preventDefault(); explain(e.id); }, text: e.id })),
      el("td", { class: "mono", text: short(e.eid) }), el("td", { text: e.type }),
      el("td", { text: Object.entries(e.fields).map(([k, v]) => k + "=" + v).join(" ") }),
      el("td", { text: e.decided ? "decided" : "waiting" }))));
  }
  async function explain(id) {
    try {
      const e = await api("GET", "/events/" + encodeURIComponent(id));
      explainOut.replaceChildren(el("p", { text: "Event " + e.id + " (" + e.type + ") on " + e.eid }),
        table(["Rule", "Outcome", "Why"], (e.decisions || []).map((d) => el("tr", {}, el("td", { text: d.rule }), el("td", { text: d.outcome }), el("td", { text: d.detail })))),
        e.explain ? el("pre", { text: JSON.stringify(e.explain, null, 1) }) : null);
    } catch (x) { fail(x); }
  }
  async function check(load_) {
    try {
      if (load_) {
        const r = await api("PUT", "/rules?name=portal", undefined, text.value);
        result.replaceChildren(el("p", { class: "state done", text: "Loaded as version " + r.version + " (" + r.rules.length + " rules)" }));
        await load();
      } else {
        const r = await api("POST", "/rules/check", undefined, text.value);
        result.replaceChildren(el("p", { class: "state " + (r.ok ? "done" : "failed"), text: r.ok ? "No fault found: " + r.rules.length + " rules" : r.message }));
      }
    } catch (e) { result.replaceChildren(el("p", { class: "state failed", text: e.message })); }
  }
  const eventId = el("input", { id: "explain-id", size: 30, placeholder: "event id or number" });
  root.append(el("h2", { text: "Rules" }),
    el("div", { class: "grid" },
      el("section", {}, el("h3", { text: "In use" }), cur),
      el("section", {}, el("h3", { text: "Upload" }), el("label", { for: "rules-text", text: "Rules file (YAML, docs/rules.md)" }), text,
        el("input", { type: "file", accept: ".yaml,.yml,.json", "aria-label": "Read a rules file", onchange: async (ev) => { text.value = await ev.target.files[0].text(); } }), " ",
        el("button", { type: "button", class: "secondary", onclick: () => check(false) }, "Check"), " ",
        el("button", { type: "button", onclick: () => check(true) }, "Load"), result)),
    el("h3", { text: "Explain an event" }),
    el("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); explain(eventId.value.trim()); } },
      el("label", { for: "explain-id" }, "Event"), eventId, el("button", { type: "submit" }, "Explain")),
    explainOut,
    el("h3", { text: "Last events" }), table(["Id", "eUICC", "Type", "Fields", "Decided"], events));
  listeners.add((type) => { if (type === "event") load().catch(() => {}); });
  await load();
}

async function viewTrace(root) {
  const log = el("pre", { id: "trace-log", "aria-label": "Live trace", "aria-live": "off" });
  const only = el("input", { placeholder: "EID contains", "aria-label": "Only the eUICC whose EID contains" });
  let paused = false;
  const pause = el("button", { type: "button", class: "secondary", onclick: () => { paused = !paused; pause.textContent = paused ? "Resume" : "Pause"; } }, "Pause");
  const lines = [];
  listeners.add((type, d) => {
    if (paused) return;
    const eid = d.eid || (d.data && d.data.eid) || "";
    if (only.value && !eid.includes(only.value.trim())) return;
    let line;
    if (type === "trace") line = short(eid) + "  " + d.line;
    else if (type === "job") line = short(eid) + "  job " + d.job + " " + d.operation + ": " + d.state + (d.message ? " (" + d.message + ")" : "");
    else if (type === "notification") line = short(eid) + "  notification " + d.type;
    else if (type === "event") line = short(eid) + "  event " + d.type + " " + d.id;
    else return;
    lines.push(line);
    if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    log.textContent = lines.join("\n");
    log.scrollTop = log.scrollHeight;
  });
  root.append(el("h2", { text: "Live trace" }),
    el("p", { class: "muted", text: "Each step of the operations as they run: ENVELOPE, SCP80 packets, C-APDUs, PoR, REFRESH, notifications." }),
    el("div", { class: "filters" }, only, pause, el("button", { type: "button", class: "secondary", onclick: () => { lines.length = 0; log.textContent = ""; } }, "Clear")),
    log);
}

function fail(e) {
  status(e.message + (e.field ? " (field " + e.field + ")" : ""), "error");
  if (e.status === 401) signOut();
}

async function route() {
  const view = $("#view");
  listeners.clear();
  view.replaceChildren();
  status("");
  if (!token) return;
  const [, name, arg] = (location.hash || "#/fleet").split("/");
  for (const a of document.querySelectorAll("nav a"))
    if (a.getAttribute("href") === "#/" + (name === "euicc" ? "fleet" : name)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  const views = { fleet: viewFleet, euicc: viewEuicc, smdp: viewSmdp, campaigns: viewCampaigns, rules: viewRules, trace: viewTrace };
  try {
    await (views[name] || viewFleet)(view, arg && decodeURIComponent(arg));
    document.title = "euicc-bench SM-SR · " + (name || "fleet");
  } catch (e) { fail(e); }
}

function signedIn(yes) {
  $("#signin").hidden = yes;
  $("#nav").hidden = !yes;
  if (yes) { openFeed(); route(); } else if (feed) { feed.close(); feed = null; }
}

function signOut() {
  token = "";
  sessionStorage.removeItem("smsr-token");
  $("#view").replaceChildren();
  signedIn(false);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    token = $("#token").value.trim();
    try {
      await api("GET", "/smdp/pools");
      sessionStorage.setItem("smsr-token", token);
      $("#token").value = "";
      status("signed in", "done");
      if (!location.hash) location.hash = "#/fleet";
      signedIn(true);
    } catch (e) { token = ""; status(e.status === 401 ? "That token is not known." : e.message, "error"); }
  });
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  signedIn(!!token);
});
