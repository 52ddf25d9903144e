// Limiting a vendor's mailbox access in the real window, in practice mode: TonicDM is limited
// to the seeded group "Mail Connector Users" from Review's people picker; after Apply, the
// Verify screen's "Limit mailbox access" shows a member's mailbox allowed, an outsider's
// refused, and "Limited to N users". The admin first signed in for Apply only, so the app
// asks to sign in again for the people-picker and Exchange permissions (incremental consent).

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, launchApp, repoRoot } from "./harness.mjs";

const ADMIN = "avery.admin@contosopractice.onmicrosoft.com";

const work = mkdtempSync(path.join(tmpdir(), "appgrant-e2e-scope-"));
const browserScript = path.join(work, "browser.json");
const practicePort = await freePort();

let app;
let browser;

async function screenshot(name) {
  await app.screenshot(`scope-${name}`);
}

async function click(text, timeout = 30_000) {
  const button = await browser.$(`button=${text}`);
  await button.waitForClickable({ timeout });
  await button.click();
}

async function heading(textPart, timeout = 60_000) {
  const h = await browser.$(`h2*=${textPart}`);
  await h.waitForDisplayed({ timeout });
}

async function bodyText() {
  return (await browser.$("main")).getText();
}

async function waitForText(text, timeout = 60_000) {
  try {
    await browser.waitUntil(async () => (await bodyText()).includes(text), { timeout, interval: 250 });
  } catch {
    await app.screenshot(`scope-failed-waiting-for-${text.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
    throw new Error(`"${text}" did not appear within ${timeout} ms; the screen said:\n${await bodyText()}`);
  }
}

before(async () => {
  mkdirSync(path.join(work, "data"), { recursive: true });
  writeFileSync(browserScript, JSON.stringify({ upn: ADMIN, decision: "accept" }));
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
});

after(async () => {
  await app?.close();
});

describe("mailbox limit in practice mode", () => {
  test("TonicDM limited to Mail Connector Users: inside allowed, outside refused, Limited to N users", async () => {
    await heading("Where do you want to connect the vendor?");
    await click("Open the practice tenant");
    await heading("Which service do you want to connect");
    await click("Choose TonicDM");
    await heading("Sign in to");
    await click("Sign in with your browser");
    // Nothing to decide on the signed-in screen: Review follows by itself.
    await heading("Review what AppGrant will do");
    await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });

    const search = await browser.$("#people-search");
    await search.scrollIntoView();
    await search.setValue("Mail Connector");
    // Signed in for Apply only: the picker asks for the extra permissions first.
    const again = await browser.$("button=Sign in again to allow mailbox limiting");
    const add = await browser.$("button=Add Mail Connector Users");
    await browser.waitUntil(async () => (await again.isExisting()) || (await add.isExisting()), { timeout: 30_000 });
    if (await again.isExisting()) {
      await screenshot("01-consent-needed");
      await again.click();
      await again.waitForExist({ reverse: true, timeout: 60_000 });
      // The search runs again by itself after the sign-in.
    }
    await add.waitForClickable({ timeout: 30_000 });
    await add.click();
    await browser.$(`button[aria-label="Remove Mail Connector Users"]`).waitForDisplayed({ timeout: 10_000 });
    await screenshot("02-review-picker");

    await click("Apply");
    await heading("Checking that the connection works", 120_000);
    await browser.$("button=Continue").waitForClickable({ timeout: 120_000 });
    await click("Limit mailbox access");
    await waitForText("Limited to", 120_000);
    const limitSection = await browser.$("#limit-heading").parentElement();
    await limitSection.scrollIntoView();
    await screenshot("03-verify-limited");
    const text = await limitSection.getText();
    assert.match(text, /Limited to \d+ users?/, text);
    assert.match(text, /Mailbox on the list — \S+: allowed \(as it should be\)/, text);
    assert.match(text, /Mailbox outside the list — \S+: refused \(as it should be\)/, text);
    assert.doesNotMatch(text, /pending/i, text);

    await click("Continue");
    await browser.$("h3*=Values for").waitForDisplayed({ timeout: 60_000 });
    await waitForText("Limited to");
    const access = await browser.$("#limit-status-heading");
    await access.scrollIntoView();
    await screenshot("04-done-limit-status");
  });
});
