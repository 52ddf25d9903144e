// The dashboard benchmark (run by scripts/bench-dashboard.sh, not by `npm test`): opens the
// connections screen of a data folder holding many saved connections, several times, and
// reads the UI's own User Timing measures through WebDriver:
//   dashboard-first-paint  from pressing "Your connections" to the first frame drawn with the
//                          list (no keyring reads yet)
//   dashboard-keyring      until every secret was also looked up in the credential store
// Writes the figures to $BENCH_OUT (default artifacts/bench/dashboard.txt).
//
// Environment: APPGRANT_BIN (the app), BENCH_DATA_DIR (with connections.json), BENCH_RUNS,
// BENCH_PROFILE (release or debug: written into the report), BENCH_CONNECTIONS.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { launchApp, repoRoot } from "./harness.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 10);
const out = process.env.BENCH_OUT ?? path.join(repoRoot, "artifacts", "bench", "dashboard.txt");
const GOAL_MS = 200;

const app = await launchApp({ env: { APPGRANT_DATA_DIR: process.env.BENCH_DATA_DIR } });
const { browser } = app;

async function clickButton(text) {
  const button = await browser.$(`button=${text}`);
  await button.waitForClickable({ timeout: 60_000 });
  await button.click();
}

async function measure(name) {
  return browser.execute((n) => performance.getEntriesByName(n).map((e) => e.duration), name);
}

try {
  await browser.$("h2*=Where do you want").waitForDisplayed({ timeout: 60_000 });
  for (let i = 0; i < runs; i++) {
    await clickButton("Your connections");
    await browser.waitUntil(async () => (await measure("dashboard-keyring")).length > i, {
      timeout: 120_000,
      interval: 50,
      timeoutMsg: `run ${i + 1}: the dashboard did not finish loading`,
    });
    if (i === 0) await app.screenshot("dashboard-500");
    await clickButton("Connect a vendor");
    await browser.$("h2*=Where do you want").waitForDisplayed({ timeout: 60_000 });
  }
  const paint = await measure("dashboard-first-paint");
  const keyring = await measure("dashboard-keyring");
  const load = await measure("dashboard-load");
  const render = await measure("dashboard-render");
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    return { min: s[0], median: q(0.5), p90: q(0.9), max: s.at(-1) };
  };
  const p = stats(paint);
  const k = stats(keyring);
  const l = stats(load);
  const r = stats(render);
  const ms = (x) => `${x.toFixed(1)} ms`;
  const lines = [
    `dashboard benchmark, ${new Date().toISOString()}`,
    `build: ${process.env.BENCH_PROFILE ?? "unknown"}; saved connections: ${process.env.BENCH_CONNECTIONS ?? "?"}; runs: ${paint.length}`,
    `first paint after opening the screen: min ${ms(p.min)}, median ${ms(p.median)}, p90 ${ms(p.p90)}, max ${ms(p.max)} (goal < ${GOAL_MS} ms: ${p.median < GOAL_MS ? "met" : "NOT met"} by the median)`,
    `  of which the list from the shell (IPC, no keyring): median ${ms(l.median)}; rendered into the page (before paint): median ${ms(r.median)}`,
    `credential store looked up for every secret: min ${ms(k.min)}, median ${ms(k.median)}, max ${ms(k.max)}`,
    `first paint, each run (ms): ${paint.map((x) => x.toFixed(1)).join(", ")}`,
  ];
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
} finally {
  await app.close();
}
