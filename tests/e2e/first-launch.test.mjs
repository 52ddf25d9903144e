// Every recipe from a very first launch (a fresh data folder: no remembered tenant, no sign-in)
// to a verified Done in the practice tenant, counting what a person does: each click, each typed
// field (typing ends with Enter where Enter goes on) and each action on the browser's sign-in
// pages (fake-browser.mjs counts those). The goal is at most 6. Counts go to
// artifacts/e2e/action-counts-first-launch.txt.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { artifactsDir } from "./harness.mjs";
import { practiceSession } from "./session.mjs";

const MAX_ACTIONS = 6;
const ENTER = "\uE007";

const RECIPES = [
  { vendor: "TonicDM" },
  { vendor: "Totalview" },
  { vendor: "DocBits" },
  { vendor: "timetoreply", inputs: { "Your timetoreply portal address": "https://ttr.contoso.example" } },
];

const lines = [];

after(() => {
  writeFileSync(path.join(artifactsDir, "action-counts-first-launch.txt"), `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
});

describe("from a very first launch to a verified Done", () => {
  for (const { vendor, inputs = {} } of RECIPES) {
    test(`${vendor}: at most ${MAX_ACTIONS} actions`, async () => {
      const s = await practiceSession(`first-launch-${vendor.toLowerCase()}`);
      await s.launch();
      try {
        s.resetActions();
        await s.heading("Where do you want to connect the vendor?");
        await s.click("Open the practice tenant");
        await s.heading("Which service do you want to connect");
        await s.click(`Choose ${vendor}`);
        for (const [label, value] of Object.entries(inputs)) await s.type(label, `${value}${ENTER}`);
        await s.toReview();
        await s.click("Apply");
        await s.browser.$("h3*=Values for").waitForDisplayed({ timeout: 180_000 });
        const done = await s.bodyText();
        assert.match(done, /✓ Checked: \d+ passed(, \d+ did not apply)?\./, `${vendor}: every check passed:\n${done}`);
        const count = s.actions + s.browserActions();
        lines.push(`${vendor}: ${count} user actions from a first launch to a verified Done`);
        assert.ok(count <= MAX_ACTIONS, `${vendor}: ${count} actions from a first launch to a verified Done`);
      } finally {
        await s.screenshot("done");
        await s.close();
      }
    });
  }
});
