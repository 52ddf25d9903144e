// Presenter mode in the real window at 1280×720 (a projector), in the practice tenant: turned
// on from the header, it is kept across a restart; TonicDM goes from Start to Done at a calm
// pace (nothing moves on by itself), the current step's explanation stays in view, every
// Review step and Done value says where it lives in the Entra admin center (no portal link
// for the practice tenant), Reveal is off with a one-line why while Copy works, no secret
// ever reaches the page (every text the page showed is recorded and compared with the
// keyring), and the change record is saved from Done with every object id the tenant holds
// for the app and no secret. Screenshots: artifacts/e2e/presenter-*.png.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { keyringSecretValues } from "./practice.mjs";
import { practiceSession } from "./session.mjs";

const s = await practiceSession("presenter");

before(async () => {
  await s.launch();
});

after(async () => {
  await s.close();
});

/** Records every text the page shows from now on (added nodes and changed text). */
async function recordPageText() {
  await s.browser.execute(() => {
    window.__seen = document.body.innerText;
    new MutationObserver((changes) => {
      for (const c of changes) {
        if (c.type === "characterData") window.__seen += `\n${c.target.textContent}`;
        for (const n of c.addedNodes) window.__seen += `\n${n.textContent}`;
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

/** The explanation strip presenter mode keeps in view. */
async function note() {
  const aside = await s.browser.$('aside[aria-label="What this step is for"]');
  await aside.waitForDisplayed({ timeout: 10_000 });
  assert.ok(await aside.isDisplayed({ withinViewport: true }), "the explanation is in view");
  return aside.getText();
}

/** Nothing moves on by itself: the screen stays on `heading` for a while. */
async function staysOn(heading, ms = 2_500) {
  await s.browser.pause(ms);
  await s.heading(heading, 1_000);
}

describe("presenter mode", () => {
  test("the header toggle turns it on at 1280×720: large type, high contrast, the step explained", async () => {
    await s.browser.setWindowSize(1280, 720);
    await s.heading("Where do you want to connect the vendor?");
    await recordPageText();
    const toggle = await s.browser.$("button=Presenter mode");
    assert.equal(await toggle.getAttribute("aria-pressed"), "false");
    await toggle.click();
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    const look = await s.browser.execute(() => ({
      size: getComputedStyle(document.documentElement).fontSize,
      bg: getComputedStyle(document.body).backgroundColor,
      fg: getComputedStyle(document.body).color,
    }));
    assert.equal(look.size, "20px", "type is 125 %");
    assert.equal(look.bg, "rgb(255, 255, 255)");
    assert.equal(look.fg, "rgb(0, 0, 0)", "black on white");
    assert.match(await note(), /Step 1 of 7, Start: Choose where to work/);
    await s.screenshot("start");
  });

  test("it is remembered: after a restart the window opens presenting, in the practice tenant chosen last", async () => {
    await s.click("Open the practice tenant");
    await s.heading("Which service do you want to connect");
    await s.close();
    await s.launch();
    await s.browser.setWindowSize(1280, 720);
    await s.heading("Which service do you want to connect");
    await recordPageText();
    assert.equal(await (await s.browser.$("button=Presenter mode")).getAttribute("aria-pressed"), "true");
    assert.match(await note(), /Step 2 of 7, Choose vendor/);
    await s.screenshot("choose-vendor");
  });

  test("TonicDM to Done at a calm pace, each step explained and placed in the portal", async () => {
    await s.click("Choose TonicDM");
    await staysOn("Which service do you want to connect");
    await s.click("Continue");
    await s.heading("Sign in to");
    assert.match(await note(), /Step 3 of 7, Sign in/);
    await s.click("Sign in with your browser");
    await s.waitForText("What this account can do");
    await staysOn("Sign in to");
    await s.screenshot("signed-in");
    await s.click("Continue");
    await s.heading("Review what AppGrant will do");
    await s.browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
    const review = await s.bodyText();
    assert.match(review, /In the portal: Entra ID → App registrations → TonicDM[^\n]* → Overview/);
    assert.match(review, /In the portal: Entra ID → App registrations → [^\n]*→ API permissions → Microsoft Graph · Mail\.ReadWrite \(Application\) → Grant admin consent for/);
    assert.match(review, /In the portal: Entra ID → App registrations → [^\n]*→ Certificates & secrets → Client secrets/);
    assert.doesNotMatch(review, /Show in the/, "the practice tenant has no portal to link to");
    assert.match(await note(), /Step 4 of 7, Review: Nothing has been changed yet/);
    await s.screenshot("review");
    await s.click("Apply");
    await s.click("Check the connection", { timeout: 120_000 });
    await s.heading("Checking that the connection works");
    await s.browser.$("button=Continue").waitForClickable({ timeout: 120_000 });
    assert.match(await note(), /Step 6 of 7, Verify/);
    await s.screenshot("verify");
    await s.click("Continue");
    const values = await s.doneValues();
    assert.equal(values["App Secret"], "••••••");
    await s.screenshot("done");
  });

  test("on Done the secret stays hidden: Reveal is off with a one-line why, Copy works", async () => {
    const reveal = await s.browser.$('button[aria-label="Reveal App Secret"]');
    assert.equal(await reveal.isEnabled(), false, "Reveal is disabled");
    const why = await s.browser.$(`#${await reveal.getAttribute("aria-describedby")}`);
    assert.equal(await why.getText(), "Presenter mode hides secrets from the room. Copy still works.");
    await (await s.browser.$('button[aria-label="Copy App Secret"]')).click();
    await s.waitForText("App Secret copied");
    await why.scrollIntoView({ block: "center" });
    const done = await s.bodyText();
    assert.match(done, /In the portal: Entra ID → App registrations → [^\n]* → Overview → Application \(client\) ID/);
    assert.match(done, /In the portal: Entra ID → Overview → Tenant ID/);
    const seen = await s.browser.execute(() => window.__seen);
    const secrets = keyringSecretValues();
    assert.ok(secrets.length > 0, "the keyring holds TonicDM's secret");
    for (const secret of secrets) assert.ok(!seen.includes(secret), "no secret was ever on the page");
    await s.screenshot("done-copied");
  });

  test("the change record from Done lists every object the tenant holds for TonicDM, and no secret", async () => {
    const values = await s.doneValues();
    const appId = values["Application (client) ID"];
    await (await s.browser.$('button[aria-label="Save the change record of TonicDM as Markdown (.md)"]')).click();
    await s.waitForText("(no secret in it)");
    const path = await (await s.browser.$(".record .status .mono")).getText();
    const record = readFileSync(path, "utf8");
    const objects = await (await s.sim(`/_sim/apps/${appId}/objects`)).json();
    const ids = [
      objects.objectId,
      objects.servicePrincipalId,
      ...(objects.secretKeyIds ?? []),
      ...(objects.appRoleAssignmentIds ?? []),
      ...(objects.oauth2PermissionGrantIds ?? []),
    ].filter(Boolean);
    assert.ok(ids.length >= 3, JSON.stringify(objects));
    for (const id of [appId, ...ids]) assert.ok(record.includes(id), `the record names ${id}`);
    for (const secret of keyringSecretValues()) assert.ok(!record.includes(secret), "no secret in the record");
    await s.screenshot("done-record-saved");
  });
});
