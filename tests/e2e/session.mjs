// A practice session in the real window, shared by the end-to-end tests that walk the wizard:
// launches AppGrant through the harness with the scripted browser (fake-browser.mjs), a fixed
// practice-tenant port (for its /_sim API) and a data folder of its own, and offers the verbs
// the tests speak: click a button by its text (counted as a user action), wait for a heading
// or a text, read the screen, sign in through the browser, and talk to the practice tenant.

import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, launchApp, repoRoot } from "./harness.mjs";

export const TENANT_DOMAIN = "contosopractice.onmicrosoft.com";
export const ADMIN = `avery.admin@${TENANT_DOMAIN}`;

/**
 * Starts a session. `name` prefixes screenshots; `upn` is who the browser signs in as (null:
 * the account the sign-in page suggests); `env` adds to the app's environment.
 */
export async function practiceSession(name, { upn = ADMIN, env = {} } = {}) {
  const work = mkdtempSync(path.join(tmpdir(), `appgrant-e2e-${name}-`));
  const dataDir = path.join(work, "data");
  mkdirSync(dataDir, { recursive: true });
  const browserScript = path.join(work, "browser.json");
  const practicePort = await freePort();
  const practice = `http://127.0.0.1:${practicePort}`;
  const appEnv = {
    APPGRANT_BROWSER: path.join(repoRoot, "tests/e2e/fake-browser.mjs"),
    APPGRANT_FAKE_BROWSER_SCRIPT: browserScript,
    APPGRANT_DATA_DIR: dataDir,
    APPGRANT_EXPORT_DIR: path.join(work, "exports"),
    APPGRANT_PRACTICE_PORT: String(practicePort),
    ...env,
  };
  let app = null;
  let shot = 0;

  const s = {
    work,
    dataDir,
    practice,
    exportDir: appEnv.APPGRANT_EXPORT_DIR,
    /** User actions since the last `resetActions` (clicks and typed fields). */
    actions: 0,
    /** The running app (the harness's handle: `browser`, `screenshot(name)`, `close()`). */
    get app() {
      return app;
    },
    get browser() {
      return app.browser;
    },
    async launch(extraEnv = {}) {
      app = await launchApp({ env: { ...appEnv, ...extraEnv } });
      return s;
    },
    /** Closes the window (the data folder stays, as after quitting AppGrant). */
    async close() {
      await app?.close();
      app = null;
    },
    signInAs(who, decision = "accept") {
      writeFileSync(browserScript, JSON.stringify({ upn: who, decision }));
    },
    /** The actions taken in the browser's sign-in pages since the last call. */
    browserActions() {
      const file = `${browserScript}.actions`;
      if (!existsSync(file)) return 0;
      const total = readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .reduce((sum, n) => sum + Number(n), 0);
      rmSync(file);
      return total;
    },
    resetActions() {
      s.actions = 0;
      s.browserActions();
    },
    async screenshot(label) {
      shot += 1;
      return app.screenshot(`${name}-${String(shot).padStart(2, "0")}-${label}`);
    },
    /** Clicks a button by its visible text (exact), once it is there and enabled. */
    async click(text, { timeout = 30_000, count = true } = {}) {
      const button = await app.browser.$(`button=${text}`);
      await button.waitForClickable({ timeout });
      await button.click();
      if (count) s.actions += 1;
    },
    /** Clicks a button by its accessible name (`aria-label`). */
    async clickLabelled(label, { timeout = 30_000, count = true } = {}) {
      const button = await app.browser.$(`button[aria-label="${label}"]`);
      await button.waitForClickable({ timeout });
      await button.click();
      if (count) s.actions += 1;
    },
    async heading(textPart, timeout = 60_000) {
      const h = await app.browser.$(`h2*=${textPart}`);
      await h.waitForDisplayed({ timeout });
      return h;
    },
    async bodyText() {
      return (await app.browser.$("main")).getText();
    },
    async pageText() {
      return (await app.browser.$("body")).getText();
    },
    /** Waits until the whole window shows `text`. */
    async waitForText(text, timeout = 60_000) {
      try {
        await app.browser.waitUntil(async () => (await s.pageText()).includes(text), { timeout, interval: 250 });
      } catch {
        await app.screenshot(`${name}-failed-waiting-for-${text.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
        throw new Error(`"${text}" did not appear within ${timeout} ms; the window said:\n${await s.pageText()}`);
      }
    },
    /** Types `value` into the field labelled `label` (one action). */
    async type(label, value) {
      const labelElement = await app.browser.$(`label=${label}`);
      const input = await app.browser.$(`#${await labelElement.getAttribute("for")}`);
      await input.setValue(value);
      s.actions += 1;
    },
    /**
     * After a vendor is chosen: signs in through the browser when the Sign in screen asks,
     * then waits for Review (which follows by itself when there is nothing to decide).
     */
    async toReview(timeout = 90_000) {
      const review = await app.browser.$("h2*=Review what AppGrant will do");
      const signIn = await app.browser.$("button=Sign in with your browser");
      await app.browser.waitUntil(async () => (await review.isDisplayed()) || (await signIn.isClickable()), {
        timeout,
        timeoutMsg: "neither Review nor the sign-in button appeared",
      });
      if (!(await review.isDisplayed())) await s.click("Sign in with your browser");
      await review.waitForDisplayed({ timeout });
      await app.browser.$("button=Apply").waitForClickable({ timeout });
    },
    /** The practice tenant's control API. */
    async sim(pathname, init) {
      return fetch(`${practice}${pathname}`, init);
    },
    async knobs() {
      return (await s.sim("/_sim/knobs")).json();
    },
    /** The Done screen's values by their labels (secrets show as dots). */
    async doneValues() {
      await app.browser.$("h3*=Values for").waitForDisplayed({ timeout: 120_000 });
      const values = {};
      for (const row of await app.browser.$$(".value")) {
        values[await (await row.$("dt")).getText()] = await (await row.$(".mono")).getText();
      }
      return values;
    },
  };
  s.signInAs(upn);
  return s;
}
