// Apps made by hand before AppGrant, in the real window, on the practice tenant (which seeds
// them the way the vendors' guides make them): find the hand-made TonicDM and Totalview apps,
// adopt TonicDM, see its drift (an extra Calendars.Read, "assignment required" used as a
// mailbox limit), rotate its secret, fix the drift, and prove with the app's own token that
// it holds exactly the recipe's permissions. Also reads the tenant-wide expiry report.
// Screenshots: artifacts/e2e/adopt-*.png.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { practiceSession } from "./session.mjs";

const TENANT_ID = "5f3c2b1a-7d6e-4f80-9a1b-2c3d4e5f6a7b";
const ADMIN = "avery.admin@contosopractice.onmicrosoft.com";

const w = await practiceSession("adopt", { upn: ADMIN });
const { practice } = w;
const { click, heading, bodyText, waitForText } = w;

let app;
let browser;
let tonicAppId;

before(async () => {
  await w.launch();
  app = w.app;
  browser = w.browser;
});
after(() => w.close());

/** The secret value the keyring holds for `appId`'s secret `keyId` (AppGrant's account name). */
function keyringSecret(appId, keyId) {
  const out = execFileSync("secret-tool", ["search", "--all", "--unlock", "service", "AppGrant"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Match the entry's own account attribute: AppGrant's list of accounts is an item in the
  // same store whose value names every account, so a plain substring match could pick it.
  const account = `secret/${TENANT_ID}/${appId}/${keyId}`;
  for (const block of out.split(/\n(?=\[)/)) {
    const lines = block.split("\n").filter((line) => !line.startsWith("secret = "));
    if (lines.some((line) => line.includes(account))) {
      return block.match(/^secret = (.*)$/m)?.[1] ?? null;
    }
  }
  return null;
}

/** The application permissions in an app-only token for `appId` (what the vendor gets). */
async function tokenRoles(appId, secret) {
  const response = await fetch(`${practice}/${TENANT_ID}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: appId,
      client_secret: secret,
      scope: "https://graph.microsoft.com/.default",
      grant_type: "client_credentials",
    }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const { access_token } = await response.json();
  const claims = JSON.parse(Buffer.from(access_token.split(".")[1], "base64url").toString("utf8"));
  return [...(claims.roles ?? [])].sort();
}

describe("adopting a hand-made vendor app in the real window", () => {
  test("sign in to the practice tenant and find the hand-made apps", async () => {
    await heading("Where do you want to connect the vendor?");
    await click("Open the practice tenant");
    await heading("Which service do you want to connect");
    await click("Choose TonicDM");
    await heading("Sign in to");
    // The sign-in button, unless the practice tenant's sign-in is already there.
    const signIn = await browser.$("button=Sign in with your browser");
    const adoptEntry = await browser.$("button=Apps in this tenant");
    await browser.waitUntil(async () => (await signIn.isClickable()) || (await adoptEntry.isExisting()), {
      timeout: 60_000,
    });
    if (await signIn.isExisting()) await signIn.click();
    await adoptEntry.waitForClickable({ timeout: 60_000 });
    await app.screenshot("adopt-signed-in");
    await adoptEntry.click();
    await heading("Apps already in this tenant");
    await click("Find apps already in this tenant");
    await waitForText("look like a vendor app AppGrant knows");
    const text = await bodyText();
    assert.match(text, /TonicDM O365 Org Token/);
    assert.match(text, /Totalview Calendar Sync/);
    assert.match(text, /Totalview Email/);
    assert.match(text, /TonicDM, high confidence\. Holds MailboxSettings\.ReadWrite, Mail\.ReadWrite and User\.Read\.All as application permissions, like TonicDM/);
    assert.match(text, /Legacy Mail Archiver: Matches no recipe but holds Mail\.Read/);
    await app.screenshot("adopt-found");
  });

  test("adopt TonicDM and see its drift in the portal's order", async () => {
    const adopt = await browser.$('button[aria-label="Adopt TonicDM O365 Org Token as TonicDM"]');
    await adopt.waitForClickable({ timeout: 30_000 });
    await adopt.click();
    await waitForText("TonicDM: adopted");
    const text = await bodyText();
    assert.match(text, /not held by AppGrant/);
    const calendars = text.indexOf("Remove the application permission Calendars.Read");
    const assignment = text.indexOf('Switch off "Assignment required"');
    assert.ok(calendars > 0 && assignment > calendars, "API permissions before enterprise app properties");
    await app.screenshot("adopt-drift");
  });

  test("rotate the secret, fix the drift: exactly the recipe's permissions", async () => {
    // The hand-made secret's app id, from the match (the sim lists its secrets by app id).
    tonicAppId = await browser.execute(() =>
      document.querySelector('[aria-labelledby^="m-"] h4')?.id.replace(/^m-/, ""),
    );
    const before = await (await fetch(`${practice}/_sim/apps/${tonicAppId}/secrets`)).json();
    assert.equal(before.length, 1, "the hand-made secret");
    await click("Rotate the secret now");
    await click("Fix these differences", 180_000);
    await waitForText("The app matches the recipe", 180_000);
    await app.screenshot("adopt-fixed");

    const after = await (await fetch(`${practice}/_sim/apps/${tonicAppId}/secrets`)).json();
    assert.equal(after.length, 1, "one secret left");
    assert.notEqual(after[0].keyId, before[0].keyId, "the hand-made secret is gone");
    const secret = keyringSecret(tonicAppId, after[0].keyId);
    assert.ok(secret, "the keyring holds the new secret");
    assert.deepEqual(await tokenRoles(tonicAppId, secret), [
      "Mail.ReadWrite",
      "MailboxSettings.ReadWrite",
      "User.Read.All",
    ]);
  });

  test("the tenant-wide expiry report lists the expired and the expiring", async () => {
    await click("Read the tenant");
    await (await browser.$("table")).waitForDisplayed({ timeout: 60_000 });
    const text = await bodyText();
    // Seeded to expire 12 days before the tenant started; whole days round down, as on the
    // dashboard, so a few seconds later it reads 13.
    assert.match(text, /Totalview Calendar Sync[\s\S]*expired 13 days ago/);
    assert.match(text, /Legacy Mail Archiver/);
    const csv = await (await browser.$("a=Export CSV")).getAttribute("href");
    assert.match(decodeURIComponent(csv), /^data:text\/csv;charset=utf-8,App name,Application \(client\) ID,/);
    await (await browser.$("#expiry-heading")).scrollIntoView();
    await app.screenshot("adopt-expiry-report");
  });
});
