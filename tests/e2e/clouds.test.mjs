// The cloud choice on Start, in the real window: folded at Global, opened it lists the four
// Microsoft clouds with one line each, a national cloud reaches the shell (the header then
// names it, as the shell reports it), and China asks for the organisation's own sign-in app.
// Screenshots (start-clouds*.png) go to the artifacts folder for a human to look at.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { launchApp } from "./harness.mjs";

let app;

before(async () => {
  app = await launchApp({ env: { APPGRANT_DATA_DIR: mkdtempSync(path.join(tmpdir(), "appgrant-clouds-")) } });
});

after(async () => {
  await app?.close();
});

async function radioLabels(browser) {
  const labels = await browser.$$("details.cloud label.radio .name");
  const texts = [];
  for (const label of labels) texts.push(await label.getText());
  return texts;
}

test("the cloud choice opens from the keyboard and explains each cloud", async () => {
  const { browser } = app;
  await browser.setWindowSize(1180, 860);
  await (await browser.$("h2=Where do you want to connect the vendor?")).waitForDisplayed({ timeout: 20_000 });
  const summary = await browser.$("details.cloud summary");
  assert.equal(await summary.getText(), "Microsoft cloud: Global");
  assert.equal(await (await browser.$("details.cloud fieldset")).isDisplayed(), false, "folded at first");

  // Tab from the domain field reaches the summary; Enter opens it.
  await (await browser.$("#tenant-domain")).click();
  await browser.keys(["Tab"]);
  assert.equal(await browser.execute(() => document.activeElement?.tagName), "SUMMARY");
  await browser.keys(["Enter"]);
  const group = await browser.$("details.cloud fieldset");
  await group.waitForDisplayed({ timeout: 5_000 });
  assert.deepEqual(await radioLabels(browser), [
    "Global",
    "US Government (GCC High)",
    "US Government (DoD)",
    "China (21Vianet)",
  ]);
  assert.match(await group.getText(), /Microsoft 365 GCC uses Global too/);
  const overflow = await browser.execute(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, "the open choice fits the window");

  // Arrow keys move through the radio group.
  await browser.keys(["Tab", "ArrowDown"]);
  assert.equal(await (await browser.$('input[name="cloud"][value="us_gov"]')).isSelected(), true);
  assert.equal(await summary.getText(), "Microsoft cloud: US Government (GCC High)");
  const submit = await browser.$("button=Use my organisation's tenant");
  assert.ok(await submit.isDisplayed({ withinViewport: true }), "the whole card fits at 1180×860");
  await app.screenshot("start-clouds");
});

test("China asks for the organisation's own sign-in app", async () => {
  const { browser } = app;
  await (await browser.$('input[name="cloud"][value="china"]')).click();
  await (await browser.$("button=Use my organisation's tenant")).click();
  const field = await browser.$("#client-id");
  await field.waitForDisplayed({ timeout: 5_000 });
  assert.equal(await field.getAttribute("aria-invalid"), "true");
  assert.match(await (await browser.$("#client-id-help")).getText(), /Enter the ID first/);
  await app.screenshot("start-clouds-china");
});

test("a national cloud reaches the shell, and the header names it", async () => {
  const { browser } = app;
  await (await browser.$('input[name="cloud"][value="us_gov_dod"]')).click();
  await (await browser.$("#tenant-domain")).setValue("army.example.mil");
  await (await browser.$("button=Use my organisation's tenant")).click();
  await (await browser.$("h2*=Which service")).waitForDisplayed({ timeout: 20_000 });
  const badge = await browser.$("header .cloud");
  assert.equal(await badge.getText(), "US Government (DoD)");
  assert.equal(await badge.getAttribute("title"), "Signs in at login.microsoftonline.us");
  await app.screenshot("start-clouds-header");
});
