// Killing the desktop app during Apply, then resuming through the wizard. The practice tenant is
// slowed down (latency, and a replication delay that holds the permission grants back) so Apply
// takes a while; once TonicDM's secret step is done, and before the grants are, the `appgrant`
// process tauri-driver started (found by its binary and this test's data folder) is killed with
// SIGKILL. The app is launched again on the same data folder and practice port (the practice
// tenant keeps its objects in <data>/practice-tenant.json), the admin goes through the wizard
// for TonicDM again: Review offers to bring the half-made app up to date, Apply finishes. What
// a user would check then: Done shows that app's values and its secret gets a token; the tenant
// holds exactly one new app registration and one new enterprise app (read through Graph with an
// admin token), each permission granted once, exactly one client secret on the app; the
// keyring holds that secret, in one entry; connections.json lists TonicDM once.
// Screenshots: artifacts/e2e/kill-resume-*.png.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "./harness.mjs";
import { practiceSession } from "./session.mjs";
import { PRACTICE_TENANT_ID, keyringHas, tokenStatus } from "./practice.mjs";

const ADMIN = "avery.admin@contosopractice.onmicrosoft.com";

const w = await practiceSession("kill-resume", { upn: ADMIN });
const { dataDir, practice } = w;
const { click, heading } = w;
const application = path.resolve(process.env.APPGRANT_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target"), "debug", "appgrant"));

let app;
let browser;

async function launch() {
  await w.launch();
  app = w.app;
  browser = w.browser;
}

before(launch);
after(() => w.close());

// ---- the window ----

/** From the vendor list to the Review screen, signing in through the scripted browser. */
async function toReview(vendor) {
  await heading("Which service do you want to connect");
  await click(`Choose ${vendor}`);
  // Sign in when asked; Review follows by itself when there is nothing to decide.
  const review = await browser.$("h2*=Review what AppGrant will do");
  const signIn = await browser.$("button=Sign in with your browser");
  await browser.waitUntil(async () => (await review.isDisplayed()) || (await signIn.isClickable()), { timeout: 60_000 });
  if (!(await review.isDisplayed())) await signIn.click();
  await heading("Review what AppGrant will do");
  await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
}

/** The Apply screen's steps as { title: state } (state is the step's CSS class). */
const stepStates = () =>
  browser.execute(() =>
    Object.fromEntries(
      [...document.querySelectorAll("ol.steps li.step")].map((li) => [
        li.querySelector(".title")?.textContent ?? "",
        [...li.classList].find((c) => c !== "step"),
      ]),
    ),
  );

// ---- the process ----

/** Pids of the `appgrant` processes running our binary with this test's data folder. */
function ourAppPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv0 = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")[0];
      let exe = "";
      try {
        exe = readlinkSync(`/proc/${entry}/exe`).replace(/ \(deleted\)$/, "");
      } catch {}
      if (argv0 !== application && exe !== application) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(`APPGRANT_DATA_DIR=${dataDir}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return pids;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Ends the WebDriver session of a killed app and its tauri-driver, without waiting forever. */
async function dropDeadSession() {
  const closing = app.close().catch(() => {});
  await Promise.race([closing, new Promise((r) => setTimeout(r, 15_000))]);
}

// ---- the tenant ----

const sim = (pathname, init) => fetch(`${practice}${pathname}`, init);

/** An admin's Graph token for the practice tenant, through the device-code flow. */
async function adminToken() {
  const { publicClientId } = await (await sim("/_sim/info")).json();
  const form = (fields) => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const code = await (
    await sim(
      `/${PRACTICE_TENANT_ID}/oauth2/v2.0/devicecode`,
      form({ client_id: publicClientId, scope: "https://graph.microsoft.com/Application.Read.All" }),
    )
  ).json();
  assert.ok(code.device_code, JSON.stringify(code));
  const approved = await sim("/_sim/devicecode/approve", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userCode: code.user_code, user: ADMIN }),
  });
  assert.equal(approved.status, 204, await approved.text());
  const token = await sim(
    `/${PRACTICE_TENANT_ID}/oauth2/v2.0/token`,
    form({
      client_id: publicClientId,
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: code.device_code,
    }),
  );
  const body = await token.json();
  assert.equal(token.status, 200, JSON.stringify(body));
  return body.access_token;
}

/** Every object in a Graph collection (following nextLink). */
async function graphAll(token, pathAndQuery) {
  const items = [];
  let url = `${practice}/v1.0/${pathAndQuery}`;
  while (url) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    items.push(...body.value);
    url = body["@odata.nextLink"];
  }
  return items;
}

/**
 * App registrations and enterprise apps in the tenant, as { apps, sps } of { id, appId,
 * displayName }, and `roles(spId)`: the app roles granted to an enterprise app.
 */
async function tenantObjects() {
  const token = await adminToken();
  return {
    apps: await graphAll(token, "applications?$select=id,appId,displayName&$top=999"),
    sps: await graphAll(token, "servicePrincipals?$select=id,appId,displayName&$top=999"),
    roles: async (spId) => (await graphAll(token, `servicePrincipals/${spId}/appRoleAssignments`)).map((a) => a.appRoleId),
  };
}

const newSince = (before, now) => {
  const seen = new Set(before.map((o) => o.id));
  return now.filter((o) => !seen.has(o.id));
};

/** The accounts (`secret/{tenant}/{appId}/{keyId}`) of the AppGrant keyring entries for `appId`. */
function keyringAccountsFor(appId) {
  let out = "";
  try {
    out = execFileSync("secret-tool", ["search", "--all", "--unlock", "service", "AppGrant"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch {
    return [];
  }
  const prefix = `secret/${PRACTICE_TENANT_ID}/${appId}/`;
  // One item per secret, labelled `{account}@AppGrant:...` (the `appgrant/accounts` item lists
  // account names in its value, so only labels count).
  return [...out.matchAll(new RegExp(`^label = (${prefix}[0-9a-f-]+)@`, "gm"))].map((m) => m[1]);
}

// ---- the test ----

describe("killing the app during Apply, then resuming", () => {
  /** The tenant's objects before TonicDM's first Apply. */
  let before;
  /** The step states seen just before the kill. */
  let atKill;

  test("Apply for TonicDM is killed with SIGKILL once its secret is made, before the grants", async () => {
    await heading("Where do you want to connect the vendor?");
    await click("Open the practice tenant");
    await toReview("TonicDM");
    before = await tenantObjects();

    // Slow Microsoft down so Apply takes several seconds, and hold the permission grants back
    // until the new enterprise app has "replicated" (knobs live only in this process).
    const knobs = await (await sim("/_sim/knobs")).json();
    const slowed = await sim("/_sim/knobs", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...knobs, latency_ms: 500, replication: { ...knobs.replication, sp_to_grant_ms: 8000 } }),
    });
    assert.equal(slowed.status, 200, await slowed.text());

    const pids = ourAppPids();
    assert.equal(pids.length, 1, `exactly one appgrant process of this test runs (found ${pids})`);
    await click("Apply");
    const secretStep = (states) => Object.entries(states).find(([title]) => title.startsWith("Create the client secret"));
    await browser.waitUntil(
      async () => {
        atKill = await stepStates();
        return secretStep(atKill)?.[1] === "done";
      },
      { timeout: 60_000, interval: 100, timeoutMsg: `the secret step did not finish within a minute: ${JSON.stringify(atKill)}` },
    );
    process.kill(pids[0], "SIGKILL");
    console.log(`killed pid ${pids[0]} with the steps at ${JSON.stringify(atKill, null, 1)}`);
    const grants = Object.entries(atKill).filter(([title]) => title.startsWith("Allow TonicDM"));
    assert.ok(grants.length > 0 && grants.some(([, s]) => s !== "done"), `Apply was not finished when killed: ${JSON.stringify(atKill)}`);
    await browser.waitUntil(async () => !alive(pids[0]), { timeout: 10_000, timeoutMsg: "the app did not die" });
    await dropDeadSession();
  });

  test("after a relaunch, the wizard finishes TonicDM without creating anything twice", async () => {
    await launch();
    // The practice tenant chosen before the kill opens again by itself; Back leads to Start.
    await heading("Which service do you want to connect");
    await click("Back");
    await heading("Where do you want to connect the vendor?");
    // What the Start screen says about saved connections once it has read them.
    await browser.waitUntil(
      async () =>
        browser.execute(() => {
          const text = document.body.innerText;
          return text.includes("Connections you made before") && !text.includes("Reading your saved connections");
        }),
      { timeout: 30_000, timeoutMsg: "the Start screen kept reading the saved connections" },
    );
    console.log(
      `Start screen after the kill: ${await browser.execute(() => document.querySelector(".existing")?.nextElementSibling?.textContent?.trim())}`,
    );
    // A just-launched window paints a moment after its DOM changes: let it catch up.
    await browser.executeAsync((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())));
    await browser.pause(500);
    await app.screenshot("kill-resume-1-start");
    await click("Open the practice tenant");
    await toReview("TonicDM");
    await app.screenshot("kill-resume-2-review");
    // The killed run left TonicDM's app with its secret; the plan brings that app up to date.
    const left = newSince(before.apps, (await tenantObjects()).apps);
    assert.equal(left.length, 1, `the killed run left one app: ${JSON.stringify(left)}`);
    const leftSecrets = await (await sim(`/_sim/apps/${left[0].appId}/secrets`)).json();
    assert.equal(leftSecrets.length, 1, "the killed run had made the secret");
    const review = await (await browser.$("main")).getText();
    assert.match(review, new RegExp(`Already exists\\s*Application \\(client\\) ID ${left[0].appId}`), review);
    await click("Apply");
    // Every check passed: Verify moves on to Done by itself.
    await browser.$("h3*=Values for").waitForDisplayed({ timeout: 180_000 });
    await app.screenshot("kill-resume-4-done");
    const done = await (await browser.$("main")).getText();
    assert.match(done, /✓ Checked: \d+ passed/, `every check passed:\n${done}`);

    const values = {};
    for (const row of await browser.$$(".value")) {
      values[await (await row.$("dt")).getText()] = await (await row.$(".mono")).getText();
    }
    assert.deepEqual(Object.keys(values), ["Application (client) ID", "Tenant ID", "App Secret", "Expiry Date"]);
    assert.equal(values["Tenant ID"], PRACTICE_TENANT_ID);
    const clientId = values["Application (client) ID"];
    assert.equal(clientId, left[0].appId, "Done shows the app the killed run made");
    await app.screenshot("kill-resume-5-done");
    const reveal = await browser.$('button[aria-label="Reveal App Secret"]');
    await reveal.waitForClickable({ timeout: 30_000 });
    await reveal.click();
    const secretCell = await (await browser.$("dt=App Secret").parentElement()).$(".mono");
    await browser.waitUntil(async () => (await secretCell.getText()) !== "••••••", { timeout: 10_000 });
    const secret = await secretCell.getText();

    assert.equal(await tokenStatus(practice, clientId, secret), 200, "the Done screen's client id + secret get a token");

    const now = await tenantObjects();
    const apps = newSince(before.apps, now.apps);
    const sps = newSince(before.sps, now.sps);
    assert.deepEqual(
      apps.map((a) => a.appId),
      [clientId],
      `exactly one new app registration, TonicDM's: ${JSON.stringify(apps)}`,
    );
    assert.deepEqual(
      sps.map((s) => s.appId),
      [clientId],
      `exactly one new enterprise app, TonicDM's: ${JSON.stringify(sps)}`,
    );

    const roles = await now.roles(sps[0].id);
    assert.equal(roles.length, 3, `three application permissions granted: ${JSON.stringify(roles)}`);
    assert.equal(new Set(roles).size, roles.length, `no permission granted twice: ${JSON.stringify(roles)}`);

    const secrets = await (await sim(`/_sim/apps/${clientId}/secrets`)).json();
    assert.equal(secrets.length, 1, `exactly one client secret on the app: ${JSON.stringify(secrets)}`);
    console.log(`the resumed run ${secrets[0].keyId === leftSecrets[0].keyId ? "kept" : "replaced"} the killed run's secret`);
    assert.ok(keyringHas(secret), "the keyring holds the secret");
    assert.deepEqual(
      keyringAccountsFor(clientId),
      [`secret/${PRACTICE_TENANT_ID}/${clientId}/${secrets[0].keyId}`],
      `the keyring holds one secret for the app, the one in the tenant (keyId ${secrets[0].keyId})`,
    );

    const index = JSON.parse(readFileSync(path.join(dataDir, "connections.json"), "utf8"));
    const tonic = index.connections.filter((c) => c.recipe_id === "tonicdm");
    assert.equal(tonic.length, 1, `connections.json lists TonicDM once: ${JSON.stringify(index.connections.map((c) => c.recipe_id))}`);
    assert.deepEqual(
      tonic[0].apps.map((a) => a.app_id),
      [clientId],
    );
  });
});
