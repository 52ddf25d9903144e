// The connections dashboard in the real window, on the practice tenant. Three connections made
// through the wizard: TonicDM (its secret made to expire in a few days, in the tenant and in
// AppGrant's index), DocBits (healthy) and timetoreply (its app deleted in the tenant behind
// AppGrant's back, through the practice tenant's /_sim API). The dashboard must show each state
// in words and on the timeline; then TonicDM is rotated through to "finish": the old secret is
// refused by the tenant, the new one gets a token, and the keyring holds only the new one.
// Screenshots: artifacts/e2e/dashboard-*.png.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { practiceSession } from "./session.mjs";
import { keyringHas, tokenStatus as practiceToken } from "./practice.mjs";

const ADMIN = "avery.admin@contosopractice.onmicrosoft.com";
const DAY = 86_400_000;

const w = await practiceSession("dashboard", { upn: ADMIN });
const { dataDir, exportDir, practice } = w;
const { click, clickLabelled, heading, waitForText } = w;

let app;
let browser;
/** What the wizard handed over, by vendor: client id and secret. */
const made = {};

async function launch() {
  await w.launch();
  app = w.app;
  browser = w.browser;
}

before(launch);
after(() => w.close());

/** The text of the dashboard card whose heading is `vendor`. */
async function card(vendor) {
  const h = await browser.$(`h3=${vendor}`);
  await h.waitForDisplayed({ timeout: 30_000 });
  return (await h.parentElement()).parentElement();
}

const sim = (pathname, init) => fetch(`${practice}${pathname}`, init);

const tokenStatus = (clientId, secret) => practiceToken(practice, clientId, secret);

/** Reveals the secret shown under `label` (Done or a rotation's hand-off) and returns it. */
async function reveal(label, scope = browser) {
  const button = await scope.$(`button[aria-label="Reveal ${label}"]`);
  await button.waitForClickable({ timeout: 30_000 });
  await button.click();
  const value = await (await button.parentElement()).previousElement();
  await browser.waitUntil(async () => (await value.getText()) !== "••••••", { timeout: 10_000 });
  return value.getText();
}

/** From the vendor list to Done; returns the client id and the revealed secret. */
async function connect(vendor, secretLabel, inputs = {}) {
  await heading("Which service do you want to connect");
  await click(`Choose ${vendor}`);
  for (const [label, value] of Object.entries(inputs)) {
    const input = await browser.$(`#${await (await browser.$(`label=${label}`)).getAttribute("for")}`);
    await input.setValue(value);
  }
  if (Object.keys(inputs).length) await click("Continue");
  // Sign in when asked (the first time); Review, Verify and Done then follow by themselves.
  const review = await browser.$("h2*=Review what AppGrant will do");
  const signIn = await browser.$("button=Sign in with your browser");
  await browser.waitUntil(async () => (await review.isDisplayed()) || (await signIn.isClickable()), { timeout: 60_000 });
  if (!(await review.isDisplayed())) await signIn.click();
  await review.waitForDisplayed({ timeout: 60_000 });
  await click("Apply", 60_000);
  await browser.$("h3*=Values for").waitForDisplayed({ timeout: 180_000 });
  const values = {};
  for (const row of await browser.$$(".value")) {
    values[await (await row.$("dt")).getText()] = await (await row.$(".mono")).getText();
  }
  const clientId = values["Application (client) ID"] ?? values.MS_GRAPH_CLIENT_ID;
  const secret = await reveal(secretLabel);
  await click("Connect another vendor");
  return { clientId, secret };
}

/** Rewrites AppGrant's saved expiry of one app's secret (what a secret made long ago shows). */
function setSavedExpiry(clientId, expiresAt) {
  const file = path.join(dataDir, "connections.json");
  const index = JSON.parse(readFileSync(file, "utf8"));
  for (const c of index.connections) {
    for (const a of c.apps) if (a.app_id === clientId) a.secret.expires_at = expiresAt;
  }
  writeFileSync(file, JSON.stringify(index, null, 2));
}

async function marks() {
  return browser.execute(() =>
    [...document.querySelectorAll('svg[role="group"] g.mark')].map((m) => ({
      label: m.getAttribute("aria-label"),
      tone: [...m.classList].find((c) => c.startsWith("tone-")),
    })),
  );
}

describe("connections dashboard in the real window", () => {
  test("three practice connections: expiring, app deleted, healthy", async () => {
    await heading("Where do you want to connect the vendor?");
    await click("Open the practice tenant");
    made.TonicDM = await connect("TonicDM", "App Secret");
    made.DocBits = await connect("DocBits", "Client secret");
    made.timetoreply = await connect("timetoreply", "MS_GRAPH_CLIENT_SECRET", {
      "Your timetoreply portal address": "https://ttr.contoso.example",
    });

    // TonicDM's secret runs out in 5 days, in the tenant and in AppGrant's records.
    const soon = new Date(Date.now() + 5 * DAY + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
    const [tonicSecret] = await (await sim(`/_sim/apps/${made.TonicDM.clientId}/secrets`)).json();
    const expired = await sim(`/_sim/apps/${made.TonicDM.clientId}/secrets/${tonicSecret.keyId}/expire`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ endDateTime: soon }),
    });
    assert.equal(expired.status, 204);
    setSavedExpiry(made.TonicDM.clientId, soon);
    // Someone deletes timetoreply's app in the portal.
    assert.equal((await sim(`/_sim/apps/${made.timetoreply.clientId}`, { method: "DELETE" })).status, 204);
  });

  test("the dashboard shows each state in words and the year ahead", async () => {
    await click("Your connections");
    await heading("Your connections");
    await waitForText("The year ahead");
    const tonic = await (await card("TonicDM")).getText();
    assert.match(tonic, /The secret of .* expires in 5 days/, tonic);
    assert.match(tonic, new RegExp(made.TonicDM.clientId), "each app with its client id");
    assert.match(await (await card("DocBits")).getText(), /✓\s*OK|Last checked|OK/);
    // The deleted app shows once the tenant is read: Check now, with the wizard's sign-in.
    await clickLabelled("Check timetoreply in contosopractice.onmicrosoft.com now");
    await browser.waitUntil(async () => /deleted/i.test(await (await card("timetoreply")).getText()), {
      timeout: 60_000,
      timeoutMsg: "timetoreply's deleted app was not reported",
    });
    const ttr = await (await card("timetoreply")).getText();
    assert.match(ttr, /practice tenant starts afresh|deleted in the tenant/i, ttr);

    const all = await marks();
    assert.equal(all.length, 3, JSON.stringify(all));
    const tonicMark = all.find((m) => m.label.startsWith("TonicDM"));
    assert.match(tonicMark.label, /^TonicDM, contosopractice\.onmicrosoft\.com, secret expires .+, in 5 days$/);
    assert.equal(tonicMark.tone, "tone-warn");
    assert.equal(all.find((m) => m.label.startsWith("DocBits")).tone, "tone-ok");
    await browser.execute(() => window.scrollTo(0, 0));
    await app.screenshot("dashboard-overview");

    // Keyboard: the timeline is one Tab stop; Enter selects the connection's card.
    await browser.execute(() => document.querySelector('svg[role="group"] g.mark[tabindex="0"]').focus());
    await browser.keys(["End"]);
    await browser.keys(["Enter"]);
    const focused = await browser.execute(() => document.activeElement?.textContent);
    assert.ok(["TonicDM", "DocBits", "timetoreply"].includes(focused), `focus moved to a card heading, got ${focused}`);
    await app.screenshot("dashboard-selected");
  });

  test("rotate the expiring secret through to finish", async () => {
    await clickLabelled("Rotate the secret of TonicDM in contosopractice.onmicrosoft.com");
    const grace = await browser.$(".ask select");
    await grace.selectByVisibleText("3 days");
    await click("Start the rotation");
    await waitForText("Give TonicDM the new values", 180_000);
    const tonic = await card("TonicDM");
    const fresh = await reveal("new App Secret", tonic);
    assert.notEqual(fresh, made.TonicDM.secret);
    assert.match(await tonic.getText(), /Overlap: the old secret still works\s*until/);
    // Both work while the overlap is open.
    assert.equal(await tokenStatus(made.TonicDM.clientId, made.TonicDM.secret), 200, "old secret during overlap");
    assert.equal(await tokenStatus(made.TonicDM.clientId, fresh), 200, "new secret during overlap");
    assert.ok(keyringHas(fresh), "the new secret is in the keyring");
    // A fresh calendar reminder for the new expiry.
    await click("Expiry reminder for your calendar (.ics)");
    await waitForText("Saved to");
    const ics = readdirSync(exportDir).find((f) => f.endsWith(".ics"));
    const text = readFileSync(path.join(exportDir, ics), "utf8");
    assert.match(text, /BEGIN:VALARM/);
    assert.doesNotMatch(text, new RegExp(fresh.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "no secret in the reminder");
    await (await browser.$("h4=Rotating the secret")).scrollIntoView();
    await app.screenshot("dashboard-rotation-overlap");

    await click("TonicDM now uses the new secret");
    await waitForText("Rotation finished", 180_000);
    await (await card("TonicDM")).scrollIntoView();
    await app.screenshot("dashboard-rotation-finished");
    assert.notEqual(await tokenStatus(made.TonicDM.clientId, made.TonicDM.secret), 200, "the old secret is refused");
    assert.equal(await tokenStatus(made.TonicDM.clientId, fresh), 200, "the new secret gets a token");
    assert.ok(keyringHas(fresh), "the keyring holds the new secret");
    assert.ok(!keyringHas(made.TonicDM.secret), "the keyring no longer holds the old secret");
  });

  test("after a restart the practice connections are still there, and Check asks for a sign-in first", async () => {
    await app.close();
    await launch();
    // The practice tenant chosen last time opens again by itself.
    await heading("Which service do you want to connect");
    await click("Your connections");
    await heading("Your connections");
    await clickLabelled("Check DocBits in contosopractice.onmicrosoft.com now");
    await waitForText("sign in to contosopractice.onmicrosoft.com (the practice tenant) as an administrator");
    await app.screenshot("dashboard-sign-in-needed");
    await click("Sign in with your browser");
    await browser.waitUntil(async () => /Checked just now/.test(await (await card("DocBits")).getText()), {
      timeout: 60_000,
      timeoutMsg: "DocBits was not checked after signing in",
    });
    const docbits = await (await card("DocBits")).getText();
    assert.doesNotMatch(docbits, /deleted/i, `the saved practice tenant still has DocBits' app:\n${docbits}`);
    assert.equal(await tokenStatus(made.DocBits.clientId, made.DocBits.secret), 200, "DocBits' secret still works");
  });
});
