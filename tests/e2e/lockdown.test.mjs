// The window is locked down: from inside the page, this test tries what injected script would
// try (call a command outside the capability set, load a remote script, navigate the window to
// a remote site or a file:// page, open a pop-up, read the clipboard without a user action).
// Each is refused, nothing reaches the local "attacker" server, and the window still shows
// AppGrant afterwards. External links go to the system browser only through the
// open_external command, which accepts the chosen cloud's Microsoft sign-in pages and nothing
// else.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { launchApp } from "./harness.mjs";

let app;
let server;
let base;
let opened;
const hits = [];

before(async () => {
  // A stand-in for a remote site, on loopback only; it records every request it gets.
  server = createServer((req, res) => {
    hits.push(req.url);
    const js = req.url.endsWith(".js");
    res.writeHead(200, { "content-type": js ? "text/javascript" : "text/html" });
    res.end(js ? "window.__pwned = true;" : "<title>Evil</title><h1>not AppGrant</h1>");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  const work = mkdtempSync(path.join(tmpdir(), "appgrant-lockdown-"));
  // The "system browser": records what AppGrant asked it to open.
  opened = path.join(work, "opened.txt");
  const browserScript = path.join(work, "browser.sh");
  writeFileSync(browserScript, `#!/bin/sh\necho "$1" >> '${opened}'\n`);
  chmodSync(browserScript, 0o755);
  app = await launchApp({
    env: { APPGRANT_DATA_DIR: path.join(work, "data"), APPGRANT_BROWSER: browserScript },
  });
  await (await app.browser.$("h2=Where do you want to connect the vendor?")).waitForDisplayed({ timeout: 20_000 });
});

after(async () => {
  await app?.close();
  server?.close();
});

/** The window still shows AppGrant's start screen, at AppGrant's own address. */
async function stillAppGrant(what) {
  const { browser } = app;
  await browser.pause(1500);
  const url = await browser.getUrl();
  assert.match(url, /^(tauri:\/\/localhost|https?:\/\/tauri\.localhost)/, `${what}: the window left AppGrant for ${url}`);
  assert.equal(await browser.getTitle(), "AppGrant", what);
  const start = await browser.$("h2=Where do you want to connect the vendor?");
  assert.ok(await start.isDisplayed(), `${what}: AppGrant's screen is gone`);
  assert.deepEqual(hits, [], `${what}: the remote server was reached`);
}

/** Runs `fn` in the page; a refusal may come back as the page's caught error or, with
 * WebKitWebDriver, as the script's own rejection: both are `{ ok: false, error }`. */
async function inPage(fn, ...args) {
  try {
    return await app.browser.execute(fn, ...args);
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

test("a command outside the capability set is refused", async () => {
  const outcome = await inPage(async () => {
    try {
      const text = await window.__TAURI_INTERNALS__.invoke("plugin:clipboard-manager|read_text");
      return { ok: true, text };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  });
  assert.equal(outcome.ok, false, `the page read the clipboard through the plugin: ${JSON.stringify(outcome)}`);
  assert.match(outcome.error, /not allowed|denied|permission/i, outcome.error);
  await stillAppGrant("plugin command");
});

test("a remote script is not loaded", async () => {
  const outcome = await app.browser.execute(async (src) => {
    const loaded = await new Promise((resolve) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve("loaded");
      script.onerror = () => resolve("refused");
      document.head.appendChild(script);
      setTimeout(() => resolve("no answer"), 3000);
    });
    return { loaded, pwned: window.__pwned === true };
  }, `${base}/evil.js`);
  assert.notEqual(outcome.loaded, "loaded");
  assert.equal(outcome.pwned, false);
  await stillAppGrant("remote script");
});

test("the window cannot be navigated to a remote site", async () => {
  await app.browser.execute((url) => {
    window.location.href = url;
  }, `${base}/phish`);
  await stillAppGrant("remote navigation");
});

test("the window cannot open a file:// page", async () => {
  await app.browser.execute(() => {
    window.location.href = "file:///etc/hostname";
  });
  await stillAppGrant("file:// navigation");
});

test("a pop-up to a remote site is not opened", async () => {
  const handles = await app.browser.getWindowHandles();
  await app.browser.execute((url) => {
    window.open(url, "_blank");
  }, `${base}/popup`);
  await app.browser.pause(1500);
  assert.deepEqual(await app.browser.getWindowHandles(), handles, "no new window");
  await stillAppGrant("pop-up");
});

test("the clipboard cannot be read without a user action", async () => {
  const outcome = await inPage(async () => {
    if (!navigator.clipboard?.readText) return { ok: false, error: "no clipboard API" };
    try {
      return { ok: true, text: await navigator.clipboard.readText() };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  });
  assert.equal(outcome.ok, false, `the page read the clipboard: ${JSON.stringify(outcome)}`);
  assert.match(outcome.error, /NotAllowed|not allowed|no clipboard API/i, outcome.error);
  await stillAppGrant("clipboard read");
});

test("external links open in the system browser only for Microsoft's sign-in and admin portal pages", async () => {
  const open = (url) =>
    app.browser.execute(async (u) => {
      try {
        await window.__TAURI_INTERNALS__.invoke("open_external", { url: u });
        return "opened";
      } catch (error) {
        return `refused: ${error?.message ?? JSON.stringify(error)}`;
      }
    }, url);
  const good = "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?client_id=x";
  const portal =
    "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/00000000-0000-0000-0000-000000000001";
  assert.equal(await open(good), "opened");
  assert.equal(await open(portal), "opened", "Show in the Entra admin center");
  for (const bad of [
    `${base}/phish`,
    "file:///etc/passwd",
    "https://login.microsoftonline.com.evil.example/",
    "https://entra.microsoft.com.evil.example/",
    "https://portal.azure.us/",
  ]) {
    const outcome = await open(bad);
    assert.match(outcome, /^refused: .*only Microsoft's sign-in and admin portal pages/, `${bad}: ${outcome}`);
  }
  await app.browser.waitUntil(
    () => existsSync(opened) && readFileSync(opened, "utf8").trim().split("\n").length >= 2,
    { timeout: 5000 },
  );
  assert.deepEqual(
    readFileSync(opened, "utf8").trim().split("\n"),
    [good, portal],
    "only the sign-in page and the portal blade reached the browser",
  );
  await stillAppGrant("external links");
});
