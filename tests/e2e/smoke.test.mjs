// Smoke test: the built app opens a window titled AppGrant whose first screen lists the four
// built-in vendors, with what each will be able to do. Saves a screenshot for a human to look at.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchApp } from "./harness.mjs";

let app;

before(async () => {
  app = await launchApp();
});

after(async () => {
  await app?.close();
});

test("the window is titled AppGrant", async () => {
  assert.equal(await app.browser.getTitle(), "AppGrant");
});

test("the start screen offers the practice tenant, then the vendors are listed", async () => {
  const { browser } = app;
  const start = await browser.$("h2=Where do you want to connect the vendor?");
  await start.waitForDisplayed({ timeout: 20_000 });
  await (await browser.$("button=Open the practice tenant")).click();
  const heading = await browser.$("h2=Which service do you want to connect to Microsoft 365?");
  await heading.waitForDisplayed({ timeout: 20_000 });
  const cards = await browser.$$("article h3");
  const vendors = [];
  for (const card of cards) vendors.push(await card.getText());
  assert.deepEqual(vendors, ["TonicDM", "Totalview", "DocBits", "timetoreply"]);

  const totalview = await browser.$('[data-testid="recipe-totalview"]');
  const text = await totalview.getText();
  assert.match(text, /Send e-mail as any person in your organisation/, "Mail.Send explained in plain words");
  assert.match(text, /2 app registrations/, "Totalview needs two apps");
  await app.screenshot("01-choose-vendor");
});

test("searching and choosing work from the keyboard", async () => {
  const { browser } = app;
  const search = await browser.$("#vendor-search");
  await search.setValue("calendar");
  const cards = await browser.$$("article h3");
  const vendors = [];
  for (const card of cards) vendors.push(await card.getText());
  assert.deepEqual(vendors, ["Totalview"], "only Totalview touches calendars");
  const choose = await browser.$("button=Choose Totalview");
  await choose.click();
  // Totalview asks for nothing more: Sign in follows; Back returns with it chosen.
  await (await browser.$("h2*=Sign in to")).waitForDisplayed({ timeout: 20_000 });
  await (await browser.$("button=Back")).click();
  const chosen = await browser.$("button=Totalview chosen");
  await chosen.waitForDisplayed({ timeout: 20_000 });
  assert.equal(await chosen.getAttribute("aria-pressed"), "true");
  await app.screenshot("02-vendor-chosen");
});
