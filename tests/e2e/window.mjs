// One practice-tenant window for an end-to-end test file: its own data, export and
// scripted-browser folders, its own practice port, and the small steps every test takes (click a
// button, wait for a heading or a text, read the screen), so a test file says only what it checks.
//
//   const w = await practiceWindow("dashboard", { admin: ADMIN });
//   before(() => w.launch());  after(() => w.close());
//   await w.click("Continue"); await w.heading("Review"); await w.waitForText("Done");

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, launchApp, repoRoot } from "./harness.mjs";

/** Folders and a practice port for test file `name`; the scripted browser signs in as `admin`. */
export async function practiceWindow(name, { admin, decision = "accept", env = {} } = {}) {
  const work = mkdtempSync(path.join(tmpdir(), `appgrant-e2e-${name}-`));
  const dataDir = path.join(work, "data");
  const exportDir = path.join(work, "exports");
  const browserScript = path.join(work, "browser.json");
  const practicePort = await freePort();
  mkdirSync(dataDir, { recursive: true });

  const w = {
    name,
    work,
    dataDir,
    exportDir,
    browserScript,
    practicePort,
    practice: `http://127.0.0.1:${practicePort}`,
    /** The running app (`launchApp`'s handle) and its WebdriverIO session, once launched. */
    app: null,
    browser: null,

    /** What the scripted system browser does at the next sign-in (see fake-browser.mjs). */
    scriptBrowser(script) {
      writeFileSync(browserScript, JSON.stringify(script));
    },

    /** Starts the app (again) on this file's data folder and practice port. */
    async launch(extraEnv = {}) {
      w.app = await launchApp({
        env: {
          APPGRANT_BROWSER: path.join(repoRoot, "tests/e2e/fake-browser.mjs"),
          APPGRANT_FAKE_BROWSER_SCRIPT: browserScript,
          APPGRANT_DATA_DIR: dataDir,
          APPGRANT_EXPORT_DIR: exportDir,
          APPGRANT_PRACTICE_PORT: String(practicePort),
          ...env,
          ...extraEnv,
        },
      });
      w.browser = w.app.browser;
      return w.app;
    },

    async close() {
      await w.app?.close();
      w.app = null;
      w.browser = null;
    },

    async click(text, timeout = 30_000) {
      const button = await w.browser.$(`button=${text}`);
      await button.waitForClickable({ timeout });
      await button.click();
    },

    async clickLabelled(label, timeout = 30_000) {
      const button = await w.browser.$(`button[aria-label="${label}"]`);
      await button.waitForClickable({ timeout });
      await button.click();
    },

    async heading(textPart, timeout = 60_000) {
      const h = await w.browser.$(`h2*=${textPart}`);
      await h.waitForDisplayed({ timeout });
      return h;
    },

    async bodyText() {
      return (await w.browser.$("main")).getText();
    },

    /** Waits for `text` on the screen; on failure saves a screenshot and says what was there. */
    async waitForText(text, timeout = 60_000) {
      try {
        await w.browser.waitUntil(async () => (await w.bodyText()).includes(text), { timeout, interval: 250 });
      } catch {
        await w.app.screenshot(`${name}-failed-${text.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
        throw new Error(`"${text}" did not appear within ${timeout} ms; the screen said:\n${await w.bodyText()}`);
      }
    },
  };
  if (admin) w.scriptBrowser({ upn: admin, decision });
  return w;
}
