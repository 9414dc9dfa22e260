// SPDX-License-Identifier: GPL-2.0-or-later
// The portal in headless Chromium (Debian's, by executablePath): each step asserts what the page shows
// and what the API then has. Run by portal_test.sh; prints TAP lines, their count in $COUNT.
import { createRequire } from "node:module";
import fs from "node:fs";
const require = createRequire(process.env.NODE_PATH + "/");
const { chromium } = require("playwright-core");

const { URL: base, TOKEN, CHROMIUM, SHOTS, E5, COUNT } = process.env;
let n = 0, failed = 0;
const ok = (name) => console.log(`ok ${++n} - ${name}`);
const notOk = (name, ...d) => { failed++; console.log(`not ok ${++n} - ${name}`); for (const x of d) console.log("#   " + String(x).slice(0, 600)); };
async function step(name, fn) {
  try { await fn(); ok(name); } catch (e) { notOk(name, e.message); }
}
async function api(path, opts = {}) {
  const r = await fetch(base + path.slice(1), { ...opts, headers: { Authorization: "Bearer " + TOKEN, ...(opts.headers || {}) } });
  return r.json();
}
fs.mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text()); });
page.on("response", (r) => { if (r.status() >= 400) errors.push(r.status() + " " + r.request().method() + " " + r.url().replace(/token=[^&]*/, "token=…")); });
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });

try {
  await step("the portal loads with no external resource and asks for a token", async () => {
    const outside = [];
    page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
    await page.goto(base);
    await page.getByLabel("Token").waitFor();
    if (outside.length) throw new Error("requests outside the server: " + outside.join(" "));
    await shot("signin");
  });
  await step("a wrong token is refused on the page", async () => {
    await page.getByLabel("Token").fill("smsr_" + "0".repeat(64));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token is not known.").waitFor();
  });
  await step("sign in with the keyboard alone: the fleet of 20 cards", async () => {
    await page.getByLabel("Token").fill(TOKEN);
    await page.keyboard.press("Enter");
    await page.getByText("20 of 20 eUICCs").waitFor();
    errors.length = 0; // the wrong token's 401s are the browser's to log; from here on, none
    const rows = await page.locator("tbody tr").count();
    if (rows !== 20) throw new Error(rows + " rows");
    await shot("fleet");
  });
  await step("the fleet filters by tag", async () => {
    await page.getByLabel("Tags").fill("slot=5");
    await page.getByText("1 of 1 eUICCs").waitFor();
    const eid = await page.locator("tbody tr td a").first().textContent();
    if (eid !== E5) throw new Error("got " + eid);
    await page.getByLabel("Tags").fill("");
    await page.getByText("20 of 20 eUICCs").waitFor();
  });
  const fleet = (await api("/euiccs")).euiccs.sort((a, b) => Number(a.tags.slot) - Number(b.tags.slot));
  const ten = fleet.slice(0, 10).map((e) => e.eid);
  let campaignId;
  await step("a swap campaign on 10 cards: the dry run previews 10, nothing stored", async () => {
    await page.getByRole("link", { name: "Campaigns" }).click();
    await page.getByLabel("Operation").selectOption("swap");
    await page.getByLabel("Target").fill("eids:" + ten.join(","));
    await page.getByLabel("Pool").fill("b");
    await page.getByRole("button", { name: "Preview (dry run)" }).click();
    await page.getByText("Dry run: swap over 10 eUICCs; nothing stored, nothing sent.").waitFor();
    const cs = (await api("/campaigns")).campaigns.filter((c) => c.op === "swap");
    if (cs.length !== 1) throw new Error(cs.length + " swap campaigns stored");
  });
  await step("created, it runs and the page shows it finish: 10/10 done", async () => {
    await page.getByRole("button", { name: "Create and run" }).click();
    await page.getByText(/Campaign \d+ created: 10 jobs\./).waitFor();
    campaignId = Number((await page.getByText(/Campaign \d+ created/).textContent()).match(/\d+/)[0]);
    const row = page.locator(`tr[data-campaign="${campaignId}"]`);
    await row.getByText("10/10").waitFor({ timeout: 60000 });
    await row.locator(".state.done").waitFor();
    await shot("campaigns");
    const c = await api(`/campaigns/${campaignId}`);
    if (c.state !== "done" || c.jobs.done !== 10) throw new Error(JSON.stringify(c.jobs));
    const pools = (await api("/smdp/pools")).pools.find((p) => p.pool === "b");
    if (pools.installed !== 10) throw new Error("pool b installed " + pools.installed);
  });
  await step("the campaign's report downloads as CSV", async () => {
    const row = page.locator(`tr[data-campaign="${campaignId}"]`);
    const [dl] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Report (CSV)" }).click()]);
    const text = fs.readFileSync(await dl.path(), "utf8").trim().split("\n");
    if (text.length !== 11 || !text[0].startsWith("job,eid")) throw new Error(text.slice(0, 2).join(" | "));
  });
  const card = ten[0];
  await step("one card's page: enable its home profile again and see the table change", async () => {
    await page.goto(base + "#/euicc/" + card);
    const rowOf = (state) => page.locator("tr", { has: page.locator(`.state.${state}`) }).filter({ hasText: "8944000000000" });
    await page.getByRole("heading", { name: "Profiles" }).waitFor();
    const home = rowOf("disabled").first();
    await home.waitFor();
    const iccid = (await home.locator("td").nth(1).textContent()).trim();
    await home.getByRole("button", { name: "Enable" }).click();
    await page.getByText(`Enable ${iccid}: done`).waitFor({ timeout: 60000 });
    await page.locator("tr", { hasText: iccid }).locator(".state.enabled").waitFor();
    await shot("euicc");
    const e = await api("/euiccs/" + card);
    if (!e.enabled || e.enabled.iccid !== iccid) throw new Error("API says " + JSON.stringify(e.enabled));
    const last = e.jobs[e.jobs.length - 1];
    if (last.op !== "enable" || last.who !== "api:portal") throw new Error(JSON.stringify(last).slice(0, 200));
  });
  await step("a rule's decision shows on its card and explains on the rules page", async () => {
    await page.goto(base + "#/euicc/" + E5);
    await page.getByRole("cell", { name: "roaming-audit" }).first().waitFor({ timeout: 30000 });
    await page.getByRole("link", { name: "Rules" }).click();
    await page.getByLabel("Event", { exact: true }).fill("portal-roam-1");
    await page.getByRole("button", { name: "Explain" }).click();
    await page.getByText("Event portal-roam-1 (location)").waitFor();
    await page.getByRole("cell", { name: "acted" }).first().waitFor();
    await shot("rules");
  });
  await step("a rules file with a fault: the check names its line", async () => {
    await page.getByLabel("Rules file (YAML, docs/rules.md)").fill("rules:\n  - name: x\n    when: {type: location, mcx: \"1\"}\n    then: {op: audit}\n");
    await page.getByRole("button", { name: "Check" }).click();
    await page.getByText(/line 3.*mcx/).waitFor();
  });
  await step("the SM-DP inventory: pools and their counts", async () => {
    await page.getByRole("link", { name: "SM-DP inventory" }).click();
    const b = page.locator("tr", { has: page.getByRole("cell", { name: "opb", exact: true }) }).first();
    await b.waitFor();
    const cells = await b.locator("td").allTextContents();
    if (cells[0] !== "b" || cells[4] !== "10") throw new Error(cells.join(","));
    await shot("smdp");
  });
  await step("the live trace shows an operation's steps as it runs", async () => {
    await page.getByRole("link", { name: "Live trace" }).click();
    await page.getByRole("heading", { name: "Live trace" }).waitFor();
    await api("/es4/AuditEIS?wait=30", { method: "POST", body: JSON.stringify({ eid: card }) });
    const log = page.getByLabel("Live trace");
    await log.getByText(/ENVELOPE SMS-PP/).waitFor({ timeout: 20000 });
    await log.getByText(/PoR: status 00/).waitFor();
    await log.getByText(/audit: done/).waitFor();
    await shot("trace");
  });
  await step("no script error and no failed request on any page after sign-in", async () => { if (errors.length) throw new Error(errors.join(" | ")); });
} finally {
  await browser.close();
  fs.writeFileSync(COUNT, String(n));
}
process.exit(failed ? 1 : 0);
