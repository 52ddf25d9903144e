// The change record in the real window, in the practice tenant: TonicDM from Start to Done with
// its mailbox limit, then "Change record" saves a page to print and a Markdown file. Both must
// name every object the practice tenant holds for the app (read from its /_sim control API, not
// from AppGrant) and must not contain the secret that is in the OS keyring. The HTML page is
// opened in a plain WebKit browser and photographed (artifacts/e2e/change-record*.png).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { remote } from "webdriverio";
import { artifactsDir, freePort, launchApp, repoRoot } from "./harness.mjs";
import { keyringHas, PRACTICE_TENANT_ID } from "./practice.mjs";

const ADMIN = "avery.admin@contosopractice.onmicrosoft.com";
const work = mkdtempSync(path.join(tmpdir(), "appgrant-e2e-record-"));
const exportDir = path.join(work, "exports");
const browserScript = path.join(work, "browser.json");
const practicePort = await freePort();
const practice = `http://127.0.0.1:${practicePort}`;

let app;
let browser;

before(async () => {
  mkdirSync(path.join(work, "data"), { recursive: true });
  writeFileSync(browserScript, JSON.stringify({ upn: ADMIN, decision: "accept" }));
  app = await launchApp({
    env: {
      APPGRANT_BROWSER: path.join(repoRoot, "tests/e2e/fake-browser.mjs"),
      APPGRANT_FAKE_BROWSER_SCRIPT: browserScript,
      APPGRANT_DATA_DIR: path.join(work, "data"),
      APPGRANT_EXPORT_DIR: exportDir,
      APPGRANT_PRACTICE_PORT: String(practicePort),
    },
  });
  browser = app.browser;
});

after(async () => {
  await app?.close();
});

async function click(text, timeout = 30_000) {
  const button = await browser.$(`button=${text}`);
  await button.waitForClickable({ timeout });
  await button.click();
}

async function clickLabelled(label, timeout = 30_000) {
  const button = await browser.$(`button[aria-label="${label}"]`);
  await button.waitForClickable({ timeout });
  await button.click();
}

const bodyText = async () => (await browser.$("main")).getText();

async function waitForText(text, timeout = 60_000) {
  try {
    await browser.waitUntil(async () => (await bodyText()).includes(text), { timeout, interval: 250 });
  } catch {
    await app.screenshot(`record-failed-${text.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
    throw new Error(`"${text}" did not appear within ${timeout} ms; the screen said:\n${await bodyText()}`);
  }
}

/**
 * Waits for `target` to show, clicking "Continue" whenever the wizard offers it on the way (the
 * signed-in summary, or Verify): the journey may skip screens that have nothing to decide.
 */
async function continueUntil(target, timeout = 120_000) {
  const wanted = await browser.$(target);
  const next = await browser.$("button=Continue");
  await browser.waitUntil(
    async () => {
      if (await wanted.isDisplayed()) return true;
      if ((await next.isExisting()) && (await next.isClickable())) await next.click();
      return false;
    },
    { timeout, interval: 500, timeoutMsg: `${target} did not appear` },
  );
}

/** Picks the seeded group on Review, signing in again for the picker's permissions if asked. */
async function limitToMailConnectorUsers() {
  const search = await browser.$("#people-search");
  await search.waitForDisplayed({ timeout: 30_000 });
  await search.scrollIntoView();
  await search.setValue("Mail Connector");
  const again = await browser.$("button=Sign in again to allow mailbox limiting");
  const add = await browser.$("button=Add Mail Connector Users");
  await browser.waitUntil(async () => (await again.isExisting()) || (await add.isExisting()), { timeout: 30_000 });
  if (await again.isExisting()) {
    await again.click();
    await again.waitForExist({ reverse: true, timeout: 60_000 });
  }
  await add.waitForClickable({ timeout: 30_000 });
  await add.click();
}

/** Reveals the Done screen's secret (the value the keyring holds) and returns it. */
async function revealSecret(label) {
  await clickLabelled(`Reveal ${label}`);
  const row = await browser.$(`dt=${label}`).parentElement();
  const value = await row.$(".mono");
  await browser.waitUntil(async () => (await value.getText()) !== "••••••", { timeout: 10_000 });
  return value.getText();
}

/** Saves one format with the Done screen's button and returns the file's path and text. */
async function saveRecord(format, label) {
  await clickLabelled(`Save the change record of TonicDM as ${label}`);
  const group = await browser.$('[role="group"][aria-label="Change record of TonicDM"]');
  await browser.waitUntil(async () => (await group.getText()).includes(`.${format} (no secret in it)`), {
    timeout: 30_000,
    timeoutMsg: `the ${format} record was not saved`,
  });
  const file = readdirSync(exportDir).find((f) => f.startsWith("appgrant-change-record-tonicdm-") && f.endsWith(`.${format}`));
  assert.ok(file, `a .${format} record in ${exportDir}: ${readdirSync(exportDir)}`);
  const full = path.join(exportDir, file);
  assert.ok((await group.getText()).includes(full), "the screen says where the file is");
  return { path: full, text: readFileSync(full, "utf8") };
}

/** Every id the practice tenant holds for the app, from its control API. */
async function tenantIds(clientId) {
  const response = await fetch(`${practice}/_sim/apps/${clientId}/objects`);
  assert.equal(response.status, 200);
  const objects = await response.json();
  const ids = [PRACTICE_TENANT_ID];
  for (const value of Object.values(objects)) {
    if (Array.isArray(value)) ids.push(...value);
    else if (typeof value === "string") ids.push(value);
  }
  return { objects, ids };
}

function miniBrowser() {
  return [
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/libexec/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/webkit2gtk-4.1/MiniBrowser",
  ].find((p) => existsSync(p));
}

/**
 * Opens `file` in WebKit's MiniBrowser (WebKitWebDriver, the engine of AppGrant's own window on
 * Linux) and saves screenshots of the page, top to bottom. The app's window cannot show it: its
 * content security policy refuses a page's inline styles, as it should.
 */
async function photograph(file, name) {
  const binary = miniBrowser();
  if (!binary) return [];
  const port = await freePort();
  const driver = spawn("WebKitWebDriver", [`--port=${port}`], { stdio: "ignore" });
  const shots = [];
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    const page = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      connectionRetryCount: 3,
      capabilities: {
        "wdio:enforceWebDriverClassic": true,
        browserName: "MiniBrowser",
        "webkitgtk:browserOptions": { binary, args: ["--automation"] },
      },
    });
    try {
      await page.setWindowSize(1000, 820);
      await page.url(`file://${file}`);
      assert.match(await page.getTitle(), /^Change record: TonicDM in /);
      const scrollShots = async (prefix) => {
        const height = await page.execute(() => document.documentElement.scrollHeight);
        const view = await page.execute(() => window.innerHeight);
        for (let y = 0, i = 1; y < height && i <= 6; y += view - 60, i++) {
          await page.execute((top) => window.scrollTo(0, top), y);
          await page.waitUntil(async () => (await page.execute(() => Math.round(window.scrollY))) >= Math.min(y, height - view) - 2, {
            timeout: 5_000,
          });
          await page.pause(150);
          const shot = path.join(artifactsDir, `${prefix}-${i}.png`);
          await page.saveScreenshot(shot);
          shots.push(shot);
        }
      };
      await scrollShots(name);
      // As printed: the print rules applied on screen, at an A4 page's width (96 dpi).
      await page.execute(() => {
        for (const sheet of document.styleSheets) {
          for (const rule of sheet.cssRules) {
            if (rule instanceof CSSMediaRule && rule.media.mediaText === "print") rule.media.mediaText = "all";
          }
        }
      });
      await page.setWindowSize(794, 1123);
      await scrollShots(`${name}-print`);
    } finally {
      await page.deleteSession();
    }
  } finally {
    driver.kill();
  }
  return shots;
}

describe("change record in practice mode", () => {
  test("TonicDM to Done, both files name every object the tenant holds and not the secret", async () => {
    await waitForText("Where do you want to connect the vendor?");
    await click("Open the practice tenant");
    await waitForText("Which service do you want to connect");
    await click("Choose TonicDM");
    const next = await browser.$("button=Continue");
    if (await next.isExisting()) await next.click();
    const signIn = await browser.$("button=Sign in with your browser");
    await signIn.waitForClickable({ timeout: 30_000 });
    await signIn.click();
    await continueUntil("h2*=Review what AppGrant will do");
    await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
    await limitToMailConnectorUsers();
    await click("Apply");
    await click("Limit mailbox access", 120_000);
    await waitForText("Limited to", 120_000);
    await continueUntil("h3*=Values for");

    const clientId = await (await (await browser.$("dt=Application (client) ID").parentElement()).$(".mono")).getText();
    const secret = await revealSecret("App Secret");
    assert.ok(secret.length >= 16 && keyringHas(secret), "the revealed secret is the one in the OS keyring");

    const record = await browser.$("#record-heading");
    await record.scrollIntoView();
    const html = await saveRecord("html", "Page to print (.html)");
    const md = await saveRecord("md", "Markdown (.md)");
    await app.screenshot("done-change-record");

    const { objects, ids } = await tenantIds(clientId);
    assert.ok(objects.exchangeScopeIds.length === 1 && objects.exchangeRoleAssignmentIds.length >= 1, "the limit is in Exchange");
    assert.ok(ids.length >= 8, `app, secret, enterprise app, grants and Exchange objects: ${ids}`);
    for (const file of [html, md]) {
      for (const id of ids) assert.ok(file.text.includes(id), `${path.basename(file.path)} names ${id}`);
      assert.ok(!file.text.includes(secret), `${path.basename(file.path)} does not contain the secret`);
      assert.ok(file.text.includes(ADMIN), "who signed in");
      assert.match(file.text, /Limited to \d+ users?/, "the mailbox limit");
      assert.match(file.text, /Refused/, "its proof");
    }
    assert.ok(html.text.startsWith("<!DOCTYPE html>") && !html.text.includes("<script"), "a standalone page, no script");
    assert.match(md.text, /^# Change record: TonicDM in contosopractice\.onmicrosoft\.com/);

    const shots = await photograph(html.path, "change-record");
    if (shots.length === 0) console.log("no MiniBrowser on this machine: the change record was not photographed");
  });
});
