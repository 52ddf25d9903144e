// Layout checks in the real window: usable at 1024×700, at 200 % text size, and in the dark
// theme the OS asks for. "Usable" is measured: no sideways scrolling, every button on screen
// reachable, text colours that keep AA contrast. Screenshots go to the artifacts folder.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { launchApp, repoRoot } from "./harness.mjs";

const apps = [];
after(async () => {
  for (const app of apps) await app.close();
});

async function open({ dark = false, connections = 0 } = {}) {
  const data = mkdtempSync(path.join(tmpdir(), "appgrant-layout-"));
  if (connections) {
    const index = execFileSync("node", [path.join(repoRoot, "scripts/gen-connections.mjs"), String(connections)]);
    writeFileSync(path.join(data, "connections.json"), index);
  }
  const app = await launchApp({
    env: {
      APPGRANT_DATA_DIR: data,
      ...(dark ? { GTK_THEME: "Adwaita:dark" } : {}),
    },
  });
  apps.push(app);
  return app;
}

/** Width of content beyond the window (0 = no sideways scrolling). */
async function overflow(browser) {
  return browser.execute(() => document.documentElement.scrollWidth - window.innerWidth);
}

function luminance([r, g, b]) {
  const c = [r, g, b].map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

async function colours(browser) {
  return browser.execute(() => {
    const rgb = (s) => (s.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
    const body = getComputedStyle(document.body);
    const lead = document.querySelector("p") ?? document.body;
    return { bg: rgb(body.backgroundColor), fg: rgb(body.color), lead: rgb(getComputedStyle(lead).color) };
  });
}

describe("layout", () => {
  test("1024×700 and 200 % text: no sideways scrolling on the main screens", async () => {
    const app = await open();
    const { browser } = app;
    await browser.setWindowSize(1024, 700);
    await (await browser.$("h2=Where do you want to connect the vendor?")).waitForDisplayed({ timeout: 20_000 });
    assert.ok((await overflow(browser)) <= 0, "start screen fits 1024 px");
    await app.screenshot("layout-1024-start");
    await (await browser.$("button=Open the practice tenant")).click();
    await (await browser.$("h2*=Which service")).waitForDisplayed({ timeout: 20_000 });
    assert.ok((await overflow(browser)) <= 0, "vendor list fits 1024 px");
    await app.screenshot("layout-1024-vendors");

    await browser.execute(() => {
      document.documentElement.style.fontSize = "200%";
    });
    await browser.pause(300);
    assert.ok((await overflow(browser)) <= 0, "vendor list at 200 % text still fits (it wraps, not scrolls sideways)");
    const choose = await browser.$("button=Choose TonicDM");
    await choose.scrollIntoView();
    assert.ok(await choose.isDisplayed({ withinViewport: true }), "buttons stay reachable at 200 %");
    await app.screenshot("layout-200-percent-text");
  });

  test("the dark theme follows the OS and keeps AA contrast", async () => {
    const app = await open({ dark: true });
    const { browser } = app;
    await (await browser.$("h2=Where do you want to connect the vendor?")).waitForDisplayed({ timeout: 20_000 });
    const { bg, fg, lead } = await colours(browser);
    await app.screenshot("layout-dark-start");
    assert.ok(luminance(bg) < 0.2, `dark background (${bg})`);
    assert.ok(contrast(fg, bg) >= 4.5, `body text contrast ${contrast(fg, bg).toFixed(2)} ≥ 4.5`);
    assert.ok(contrast(lead, bg) >= 4.5, `secondary text contrast ${contrast(lead, bg).toFixed(2)} ≥ 4.5`);
  });

  test("the connections dashboard fits 1024 px and 200 % text, and its states keep AA contrast in the dark theme", async () => {
    const app = await open({ dark: true, connections: 30 });
    const { browser } = app;
    await browser.setWindowSize(1024, 700);
    await (await browser.$("button=Your connections")).click();
    await (await browser.$("h3=The year ahead")).waitForDisplayed({ timeout: 20_000 });
    // The first 25 cards paint at once; the rest come with "Show all".
    await browser.waitUntil(async () => (await browser.$$("article")).length === 25, { timeout: 20_000 });
    await (await browser.$("button=Show all 30 connections")).waitForDisplayed();
    assert.ok((await overflow(browser)) <= 0, "dashboard fits 1024 px");
    await app.screenshot("layout-dark-dashboard");
    const pairs = await browser.execute(() => {
      const rgb = (s) => (s.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
      return [...document.querySelectorAll("li.status")].slice(0, 20).map((li) => ({
        text: li.textContent.trim().slice(0, 40),
        fg: rgb(getComputedStyle(li).color),
        bg: rgb(getComputedStyle(li.closest("article")).backgroundColor),
      }));
    });
    assert.ok(pairs.length > 0);
    for (const { text, fg, bg } of pairs) {
      assert.ok(contrast(fg, bg) >= 4.5, `"${text}" contrast ${contrast(fg, bg).toFixed(2)} ≥ 4.5`);
    }
    await browser.execute(() => {
      document.documentElement.style.fontSize = "200%";
    });
    await browser.pause(300);
    assert.ok((await overflow(browser)) <= 0, "dashboard at 200 % text wraps, not scrolls sideways");
    await app.screenshot("layout-dashboard-200-percent-text");
  });
});
