// The presenter's practice scenarios in the real window at 1280×720: a menu in the header,
// only in the practice tenant, used from the keyboard, one line per scenario saying what it
// will show; and each scenario then shows it. The scripted browser signs in as whoever the
// sign-in page suggests, which is the scenario's account. Screenshots:
// artifacts/e2e/scenarios-*.png.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { practiceSession } from "./session.mjs";

const s = await practiceSession("scenarios", { upn: null });

before(async () => {
  await s.launch();
  await s.browser.setWindowSize(1280, 720);
});

after(async () => {
  await s.close();
});

const menuButton = () => s.browser.$('button[aria-haspopup="menu"]');
const focusedText = () => s.browser.execute(() => document.activeElement?.textContent?.replace(/\s+/g, " ").trim() ?? "");

/** Opens the menu from the keyboard, arrows to `title`, returns its line, and chooses it. */
async function chooseScenario(title) {
  const button = await menuButton();
  await s.browser.execute((el) => el.focus(), button);
  await s.browser.keys(["Enter"]);
  await (await s.browser.$('[role="menu"]')).waitForDisplayed({ timeout: 10_000 });
  let text = await focusedText();
  for (let i = 0; i < 10 && !text.includes(title); i++) {
    await s.browser.keys(["ArrowDown"]);
    text = await focusedText();
  }
  assert.ok(text.includes(title), `the menu has "${title}" (focus is on "${text}")`);
  await s.browser.keys(["Enter"]);
  await s.waitForText(`${title}: done.`);
  return text.slice(text.indexOf(title) + title.length).trim();
}

/** Signs in when the Sign in screen asks (as the account the page suggests). */
async function signInIfAsked() {
  const signIn = await s.browser.$("button=Sign in with your browser");
  await signIn.waitForClickable({ timeout: 15_000 }).catch(() => {});
  if (await signIn.isClickable()) await signIn.click();
}

let tonicAppId;

describe("practice scenarios", () => {
  test("the menu shows only in the practice tenant, lists each scenario with its line, and works from the keyboard", async () => {
    await s.heading("Where do you want to connect the vendor?");
    assert.equal(await (await menuButton()).isExisting(), false, "no scenarios outside the practice tenant");
    await s.click("Open the practice tenant");
    await s.heading("Which service do you want to connect");
    const button = await menuButton();
    await s.browser.execute((el) => el.focus(), button);
    await s.browser.keys(["ArrowDown"]);
    const items = await s.browser.$$('[role="menu"] [role^="menuitem"]');
    const titles = [];
    for (const item of items) titles.push(await (await item.$(".title")).getText());
    assert.deepEqual(
      titles.map((t) => t.replace(/^[●○↺]\s*/, "")),
      [
        "An ordinary day",
        "Reset the practice tenant",
        "Sign in as someone who cannot consent",
        "Microsoft is slow today",
        "No Exchange administrator",
        "Strict secret policy",
        "An app made by hand last year",
      ],
    );
    for (const item of items) assert.match(await (await item.$(".shows")).getText(), /^[A-Z].+\.$/, "one line each");
    assert.match(await focusedText(), /An ordinary day/, "↓ opens the menu on its first entry");
    assert.equal(await items[0].getAttribute("aria-checked"), "true", "an ordinary day is in effect");
    await s.screenshot("menu");
    await s.browser.keys(["Escape"]);
    assert.equal(await s.browser.execute(() => document.activeElement?.getAttribute("aria-haspopup")), "menu", "Escape returns to the button");
  });

  test("Microsoft is slow today: Apply explains each wait", async () => {
    const line = await chooseScenario("Microsoft is slow today");
    assert.match(line, /Apply explains each wait/);
    const knobs = await s.knobs();
    assert.ok(knobs.replication.app_to_sp_ms >= 1000 && knobs.replication.secret_to_token_ms >= 1000, JSON.stringify(knobs));
    assert.match(await (await menuButton()).getText(), /Practice scenarios: Microsoft is slow today/);
    await s.click("Choose TonicDM");
    await s.toReview();
    await s.click("Apply");
    await s.waitForText("Waiting for Microsoft", 60_000);
    await s.screenshot("slow-waiting");
    const values = await s.doneValues();
    tonicAppId = values["Application (client) ID"];
    assert.match(await s.bodyText(), /✓ Checked/, "it got there, only slower");
  });

  test("strict secret policy: Review shortens the secret's lifetime to 180 days and says why", async () => {
    const line = await chooseScenario("Strict secret policy");
    assert.match(line, /180 days/);
    assert.equal((await s.knobs()).secret_max_lifetime_days, 180);
    // Chosen on Done: the next vendor starts from the list, in the new scenario.
    await s.heading("Which service do you want to connect");
    await s.click("Choose Totalview");
    await s.toReview();
    await s.waitForText("Your organisation's policy allows secrets of at most 180 days");
    await (await s.browser.$("#secret-lifetime")).scrollIntoView();
    await s.screenshot("strict-secret-policy");
  });

  test("someone who cannot consent: Casey gets a message to forward", async () => {
    const line = await chooseScenario("Sign in as someone who cannot consent");
    assert.match(line, /message to forward/);
    // Another account: signed out, back at Sign in with Totalview still chosen.
    await s.heading("Sign in to");
    await s.waitForText("Sign in as casey.cloudapps@");
    await s.click("Sign in with your browser");
    await s.waitForText("Your account cannot grant this consent.");
    const header = await (await s.browser.$("header")).getText();
    assert.match(header, /Casey Cloudapps · Cloud Application Administrator/);
    const message = await (await s.browser.$("#handoff-message")).getValue();
    assert.match(message, /Global Administrator or Privileged Role Administrator/);
    await s.screenshot("cannot-consent");
  });

  test("reset: the practice tenant is back to its seed, every app made in practice gone", async () => {
    assert.ok(tonicAppId, "TonicDM was connected in the slow scenario");
    assert.equal((await s.sim(`/_sim/apps/${tonicAppId}/secrets`)).status, 200, "before: the app exists");
    const line = await chooseScenario("Reset the practice tenant");
    assert.match(line, /every app made in practice is gone/);
    assert.equal((await s.sim(`/_sim/apps/${tonicAppId}/secrets`)).status, 404, "after: it is gone");
    const knobs = await s.knobs();
    assert.equal(knobs.replication.app_to_sp_ms, 0, "an ordinary day again");
    assert.equal(knobs.secret_max_lifetime_days, null);
    assert.equal((await (await menuButton()).getText()).trim(), "Practice scenarios");
    await s.waitForText("Sign in again.");
    await s.screenshot("reset");
  });
  test("no Exchange administrator: limiting mailboxes hands over the PowerShell", async () => {
    const line = await chooseScenario("No Exchange administrator");
    assert.match(line, /PowerShell/);
    // After the reset TonicDM is new again: Pat registers it (any member may), grants the
    // permissions (a Privileged Role Administrator may) but has no Exchange role.
    if (!(await (await s.browser.$("h2*=Which service")).isDisplayed())) await s.click("Back");
    await s.click("Choose TonicDM");
    await s.waitForText("Sign in as pat.privileged@");
    await s.toReview();
    const search = await s.browser.$("#people-search");
    await search.scrollIntoView();
    await search.setValue("Mail Connector");
    const again = await s.browser.$("button=Sign in again to allow mailbox limiting");
    const add = await s.browser.$("button=Add Mail Connector Users");
    await s.browser.waitUntil(async () => (await again.isExisting()) || (await add.isExisting()), { timeout: 30_000 });
    if (await again.isExisting()) {
      await again.click();
      await again.waitForExist({ reverse: true, timeout: 60_000 });
    }
    await add.waitForClickable({ timeout: 30_000 });
    await add.click();
    await s.click("Apply");
    await s.waitForText("Limit mailbox access", 120_000);
    await s.click("Limit mailbox access", { timeout: 120_000 });
    await s.waitForText("PowerShell", 120_000);
    const limit = await (await s.browser.$("#limit-heading")).parentElement();
    await limit.scrollIntoView();
    const text = await limit.getText();
    assert.match(text, /Exchange/);
    assert.doesNotMatch(text, /Limited to \d+ users?/, "no limit is claimed before the Exchange administrator ran it");
    await s.screenshot("no-exchange-admin");
  });

  test("an app made by hand last year: the hand-made TonicDM app is there to adopt", async () => {
    const line = await chooseScenario("An app made by hand last year");
    assert.match(line, /TonicDM/);
    // Finding apps needs a sign-in: through a vendor's Sign in screen when nobody is signed in.
    if (!(await (await s.browser.$("button=Apps in this tenant")).isExisting())) {
      if (await (await s.browser.$("h2*=Which service")).isDisplayed()) await s.click("Choose DocBits");
      await signInIfAsked();
    }
    await s.click("Apps in this tenant", { timeout: 60_000 });
    await s.heading("Apps already in this tenant");
    await s.click("Find apps already in this tenant");
    await s.waitForText("TonicDM O365 Org Token", 60_000);
    await s.screenshot("hand-made-app");
    await s.click("Back to the wizard");
  });

});
