// The whole wizard in the real window, in practice mode, for every built-in recipe: Start →
// Choose vendor → Sign in (through a scripted browser) → Review → Apply → Verify → Done.
// Checks the Done screen's values against the practice tenant (a real client-credentials token
// with the revealed secret) and the OS keyring, counts the user's actions from launch (or from
// "Connect another vendor") to a verified Done, in the window and in the browser's sign-in
// pages, writes them to artifacts/e2e/action-counts.txt and holds each recipe to at most 6, and
// saves a screenshot of every screen. Also: a recipe import with an error, a non-admin who
// gets the consent hand-off, and a fault during apply that the UI survives and resumes.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { artifactsDir, freePort, launchApp, repoRoot } from "./harness.mjs";
import { keyringHas, tokenStatus } from "./practice.mjs";

const TENANT_DOMAIN = "contosopractice.onmicrosoft.com";
const ADMIN = `avery.admin@${TENANT_DOMAIN}`;
const CLOUD_APP_ADMIN = `casey.cloudapps@${TENANT_DOMAIN}`;

const work = mkdtempSync(path.join(tmpdir(), "appgrant-e2e-"));
const browserScript = path.join(work, "browser.json");
const practicePort = await freePort();
const practice = `http://127.0.0.1:${practicePort}`;
/** Per recipe: each user action from launch to a verified Done, in order. */
const actions = {};
const MAX_ACTIONS = 6;

function signInAs(upn, decision = "accept") {
  writeFileSync(browserScript, JSON.stringify({ upn, decision }));
}

let app;
let browser;
let shot = 0;

async function screenshot(name) {
  shot += 1;
  await app.screenshot(`${String(shot).padStart(2, "0")}-${name}`);
}

/** Clicks a button by its visible text (exact), waiting until it is there and enabled. */
async function click(text, { count = null, timeout = 30_000 } = {}) {
  const button = await browser.$(`button=${text}`);
  await button.waitForClickable({ timeout });
  await button.click();
  if (count) counted(count, text);
}

function counted(recipe, what) {
  (actions[recipe] ??= []).push(what);
}

/** The actions the scripted browser took on the sign-in pages (fake-browser.mjs counts them). */
function browserActions() {
  const file = `${browserScript}.actions`;
  if (!existsSync(file)) return 0;
  const n = readFileSync(file, "utf8").split("\n").filter(Boolean).reduce((a, b) => a + Number(b), 0);
  rmSync(file);
  return n;
}

async function heading(textPart, timeout = 60_000) {
  const h = await browser.$(`h2*=${textPart}`);
  await h.waitForDisplayed({ timeout });
  return h;
}

async function bodyText() {
  return (await browser.$("main")).getText();
}

/** Waits until the page shows `text` somewhere (WebdriverIO's `*=` only matches links). */
async function waitForText(text, timeout = 60_000) {
  try {
    await browser.waitUntil(async () => (await bodyText()).includes(text), { timeout, interval: 250 });
  } catch (error) {
    await app.screenshot(`failed-waiting-for-${text.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
    throw new Error(`"${text}" did not appear within ${timeout} ms; the screen said:\n${await bodyText()}`);
  }
}

async function sim(pathname, init) {
  const response = await fetch(`${practice}${pathname}`, init);
  return response;
}

async function launch() {
  app = await launchApp({
    env: {
      APPGRANT_BROWSER: path.join(repoRoot, "tests/e2e/fake-browser.mjs"),
      APPGRANT_FAKE_BROWSER_SCRIPT: browserScript,
      APPGRANT_DATA_DIR: path.join(work, "data"),
      APPGRANT_EXPORT_DIR: path.join(work, "exports"),
      APPGRANT_PRACTICE_PORT: String(practicePort),
    },
  });
  browser = app.browser;
}

before(async () => {
  mkdirSync(path.join(work, "data"), { recursive: true });
  signInAs(ADMIN);
  await launch();
});

after(async () => {
  await app?.close();
  const lines = Object.entries(actions).map(
    ([recipe, list]) => `${recipe}: ${list.length} user actions from launch to a verified Done (${list.join(", ")})`,
  );
  const report = path.join(artifactsDir, "action-counts.txt");
  writeFileSync(report, `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
});

async function openPractice(id) {
  await heading("Where do you want to connect the vendor?");
  await click("Open the practice tenant", { count: id });
}

async function chooseVendor(id, vendor, inputs = {}) {
  await heading("Which service do you want to connect");
  await click(`Choose ${vendor}`, { count: id });
  for (const [label, value] of Object.entries(inputs)) {
    const labelElement = await browser.$(`label=${label}`);
    const input = await browser.$(`#${await labelElement.getAttribute("for")}`);
    await input.setValue(value);
    counted(id, `type ${label}`);
  }
  // A vendor that asks for nothing goes on by itself; one with inputs waits for Continue.
  if (Object.keys(inputs).length) await click("Continue", { count: id });
}

/**
 * Runs a recipe from the vendor screen to a verified Done, counting every action on the way;
 * returns the Done screen's values.
 */
async function runRecipe(id, vendor, inputs = {}) {
  browserActions(); // sign-ins of earlier tests are theirs, not this recipe's
  await chooseVendor(id, vendor, inputs);
  await heading("Sign in to").catch(() => {}); // skipped by itself when already signed in
  if (shot < 4) await screenshot("sign-in");
  const review = await browser.$("h2*=Review what AppGrant will do");
  const signInButton = await browser.$("button=Sign in with your browser");
  await browser.waitUntil(async () => (await review.isDisplayed()) || (await signInButton.isClickable()), {
    timeout: 60_000,
  });
  if (!(await review.isDisplayed())) {
    await click("Sign in with your browser", { count: id });
    await review.waitForDisplayed({ timeout: 60_000 });
    for (let i = browserActions(); i > 0; i--) counted(id, "in the browser");
  }
  // Nothing to decide on the signed-in screen: Review came by itself, the account in the header.
  const header = await (await browser.$("header")).getText();
  assert.match(header, /Avery Admin/, "the header names who signed in");
  await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
  await screenshot(`review-${id}`);
  await click("Apply", { count: id });
  // Everything succeeded: Verify and then Done follow without a click.
  await browser.$("h3*=Values for").waitForDisplayed({ timeout: 180_000 });
  const doneText = await bodyText();
  assert.match(doneText, /✓ Checked: \d+ passed(, \d+ did not apply)?\./, `${id}: every check passed:\n${doneText}`);
  await screenshot(`done-${id}`);
  assert.ok(
    actions[id].length <= MAX_ACTIONS,
    `${id}: ${actions[id].length} actions from launch to a verified Done: ${actions[id].join(", ")}`,
  );

  const values = {};
  for (const row of await browser.$$(".value")) {
    const label = await (await row.$("dt")).getText();
    values[label] = await (await row.$(".mono")).getText();
  }
  return values;
}

async function revealSecret(label) {
  const reveal = await browser.$(`button[aria-label="Reveal ${label}"]`);
  await reveal.waitForClickable({ timeout: 30_000 });
  await reveal.click();
  const row = await browser.$(`dt=${label}`).parentElement();
  const value = await row.$(".mono");
  await browser.waitUntil(async () => (await value.getText()) !== "••••••", { timeout: 10_000 });
  return value.getText();
}

async function tokenWorks(clientId, secret) {
  return (await tokenStatus(practice, clientId, secret)) === 200;
}

async function startOver(id = null) {
  await click("Connect another vendor", { count: id });
}

describe("the wizard in practice mode", () => {
  test("TonicDM from Start to Done, with the vendor's labels and a working secret", async () => {
    await screenshot("start");
    await openPractice("tonicdm");
    await heading("Which service do you want to connect");
    const header = await (await browser.$("header")).getText();
    assert.match(header, /Practice/, "the Practice badge is shown");
    await screenshot("choose-vendor");
    const values = await runRecipe("tonicdm", "TonicDM");
    assert.deepEqual(Object.keys(values), ["Application (client) ID", "Tenant ID", "App Secret", "Expiry Date"]);
    assert.equal(values["Tenant ID"], "5f3c2b1a-7d6e-4f80-9a1b-2c3d4e5f6a7b");
    assert.equal(values["App Secret"], "••••••", "the secret is hidden until revealed");
    const secret = await revealSecret("App Secret");
    await screenshot("done-revealed");
    assert.ok(secret.length >= 16 && secret !== "••••••");
    assert.ok(await tokenWorks(values["Application (client) ID"], secret), "client id + secret get a token from the tenant");
    assert.ok(keyringHas(secret), "the secret is in the OS keyring");
  });

  test("Totalview: two apps, both secrets work", async () => {
    await startOver("totalview");
    const values = await runRecipe("totalview", "Totalview");
    for (const app of ["Calendar", "E-Mail"]) {
      const id = values[`${app}: Application (client) ID`];
      const secret = await revealSecret(`${app}: Client secret value`);
      assert.ok(await tokenWorks(id, secret), `${app} app works`);
      assert.ok(keyringHas(secret), `${app} secret in the keyring`);
    }
  });

  test("DocBits: delegated, multi-tenant", async () => {
    await startOver("docbits");
    const values = await runRecipe("docbits", "DocBits");
    const secret = await revealSecret("Client secret");
    assert.ok(await tokenWorks(values["Application (client) ID"], secret));
  });

  test("timetoreply: the portal URL drives the redirect variables", async () => {
    await startOver("timetoreply");
    const values = await runRecipe("timetoreply", "timetoreply", {
      "Your timetoreply portal address": "https://ttr.contoso.example",
    });
    assert.equal(values.MS_GRAPH_REDIRECT, "https://ttr.contoso.example/account/microsoft/auth");
    assert.equal(values.MS_GRAPH_REDIRECT_FOR_ADMIN, "https://ttr.contoso.example/msgraph-grant-admin-permission");
    const secret = await revealSecret("MS_GRAPH_CLIENT_SECRET");
    assert.ok(await tokenWorks(values.MS_GRAPH_CLIENT_ID, secret));
  });

  test("a recipe file with a mistake is refused with its line number", async () => {
    await startOver();
    await heading("Which service do you want to connect");
    const bad = path.join(work, "acme.toml");
    writeFileSync(
      bad,
      'schema = 1\nid = "acme"\nvendor = "Acme"\ndisplay_name = "Acme"\ndescription = "x"\n\n[[apps]]\nkey = "main"\ndisplay_name = "Acme"\npurpose = "x"\naudience = "single_tenant"\ndefault_user_read = "remove"\nadmin_consent = true\n\n[apps.permissions]\napplication = ["Email.Send"]\n\n[apps.credential]\nkind = "secret"\ndescription = "s"\nlifetime_months = 12\n',
    );
    const input = await browser.$('input[type="file"]');
    await input.setValue(bad);
    await waitForText("did you mean Mail.Send?", 20_000);
    const text = await bodyText();
    assert.match(text, /line 16/, "names the line");
    await screenshot("import-error");
  });

  test("Microsoft failing during apply: waits are explained, Cancel stops, the run resumes", async () => {
    await heading("Which service do you want to connect");
    const knobs = await (await sim("/_sim/knobs")).json();
    const setKnobs = (k) =>
      sim("/_sim/knobs", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(k) });
    // Still signed in: choosing DocBits leads straight to Review.
    await click("Choose DocBits");
    await heading("Review what AppGrant will do");
    await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
    // DocBits was connected before: re-running it must not create anything twice.
    await setKnobs({ ...knobs, faults: { rate: 1.0, seed: 3 } });
    await click("Apply");
    await waitForText("trying again", 30_000);
    await screenshot("apply-waiting-for-microsoft");
    await click("Cancel");
    const resume = await browser.$("button=Continue where it stopped");
    await resume.waitForClickable({ timeout: 30_000 });
    const stopped = await bodyText();
    assert.doesNotMatch(stopped, /Failed/, "a cancelled step is shown as stopped, not failed");
    assert.match(stopped, /continues where it stopped/);
    await screenshot("apply-cancelled");
    await setKnobs(knobs);
    await resume.click();
    await browser.$("h3*=Values for").waitForDisplayed({ timeout: 180_000 });
  });

  test("a Cloud Application Administrator gets the consent hand-off for a new vendor", async () => {
    await continueToDoneAndStartOver();
    // A vendor nobody has connected yet: an imported recipe.
    const good = path.join(work, "acme-archive.toml");
    writeFileSync(
      good,
      'schema = 1\nid = "acme-archive"\nvendor = "Acme Archive"\ndisplay_name = "Acme mail archive"\ndescription = "Archives mail."\nnext_steps = ["Enter the values in Acme."]\n\n[[apps]]\nkey = "main"\ndisplay_name = "Acme Archive"\npurpose = "Mail archive"\naudience = "single_tenant"\ndefault_user_read = "remove"\nadmin_consent = true\n\n[apps.permissions]\napplication = ["Mail.Read"]\n\n[apps.credential]\nkind = "secret"\ndescription = "Acme archive"\nlifetime_months = 6\n\n[[handoff]]\nlabel = "Client ID"\nvalue = "{apps.main.client_id}"\n',
    );
    await heading("Which service do you want to connect");
    await (await browser.$('input[type="file"]')).setValue(good);
    // An imported recipe is chosen straight away.
    await (await browser.$("button=Acme Archive chosen")).waitForDisplayed({ timeout: 20_000 });
    signInAs(CLOUD_APP_ADMIN);
    await click("Continue");
    // Avery is still signed in, so Review comes by itself; Back shows who signed in.
    await heading("Review what AppGrant will do");
    await click("Back");
    await heading("Sign in to");
    await click("Sign in as someone else");
    await click("Sign in with your browser");
    await waitForText("Cloud Application Administrator");
    await waitForText("Your account cannot grant this consent.");
    const message = await (await browser.$("#handoff-message")).getValue();
    assert.match(message, /Mail\.Read/, "the message names the permission to grant");
    assert.match(message, /Global Administrator or Privileged Role Administrator/);
    await screenshot("non-admin-handoff");
    signInAs(ADMIN);
  });

  test("after a restart the practice tenant opens by itself: DocBits again from launch to a verified Done", async () => {
    signInAs(ADMIN);
    await app.close();
    await launch();
    const id = "docbits-after-a-restart";
    actions[id] = [];
    const values = await runRecipe(id, "DocBits");
    assert.ok(values["Application (client) ID"], "Done shows the client id");
  });
});

async function continueToDoneAndStartOver() {
  await browser.$("h3*=Values for").waitForDisplayed({ timeout: 60_000 });
  await startOver();
}
