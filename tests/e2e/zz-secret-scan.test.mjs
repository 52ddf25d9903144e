// Runs last (files run in name order): every client secret and refresh token the end-to-end
// run left in the OS keyring (read with secret-tool inside the throw-away keyring of
// scripts/with-keyring.sh) must appear nowhere else: not in the data folders (connections,
// run journals, exports), appgrant.log (scripts/test.sh runs the app with APPGRANT_LOG at
// trace for AppGrant's own crates), the WebKit data of the window (local storage, IndexedDB,
// caches), temporary folders, artifacts, or crash output.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { artifactsDir } from "./harness.mjs";

/** Secret values in the keyring: client secrets as they are, token caches by their strings. */
function producedSecrets() {
  let out;
  try {
    out = execFileSync("secret-tool", ["search", "--all", "--unlock", "service", "AppGrant"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    // secret-tool exits 1 when nothing matches.
    out = `${error.stdout ?? ""}`;
  }
  const values = new Set();
  for (const line of out.split("\n")) {
    const m = line.match(/^secret = (.+)$/);
    if (!m) continue;
    const value = m[1];
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === "object") {
      const walk = (v) => {
        if (typeof v === "string" && v.length >= 20) values.add(v);
        else if (v && typeof v === "object") Object.values(v).forEach(walk);
      };
      walk(parsed);
    } else if (value.length >= 12) {
      values.add(value);
    }
  }
  return [...values];
}

const SKIP_DIRS = new Set(["keyrings", "node_modules", "target", ".git"]);
const MAX_FILE = 20 * 1024 * 1024;

/** Every regular file under `root` (symlinks not followed, the keyring's own files skipped). */
function* files(root) {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* files(full);
    } else if (entry.isFile()) {
      yield full;
    }
  }
}

function placesToScan() {
  const home = homedir();
  const xdgData = process.env.XDG_DATA_HOME ?? path.join(home, ".local/share");
  const xdgCache = process.env.XDG_CACHE_HOME ?? path.join(home, ".cache");
  return [
    path.join(xdgData, "app.appgrant.desktop"), // data folder, appgrant.log, WebKit storage
    path.join(xdgCache, "app.appgrant.desktop"), // WebKit caches
    path.join(home, ".local/share/app.appgrant.desktop"),
    path.join(home, ".cache/app.appgrant.desktop"),
    path.join(xdgData, "appgrant"),
    tmpdir(), // the tests' data folders, exports, crash output
    artifactsDir,
    "/var/crash",
  ].filter((p, i, all) => existsSync(p) && all.indexOf(p) === i);
}

test("no secret or refresh token the run produced is stored anywhere but the keyring", () => {
  const secrets = producedSecrets();
  assert.ok(secrets.length > 0, "the end-to-end run left secrets in the keyring to look for");
  const needles = secrets.map((s) => Buffer.from(s, "utf8"));
  const hits = [];
  let scanned = 0;
  for (const root of placesToScan()) {
    for (const file of files(root)) {
      let size;
      try {
        size = lstatSync(file).size;
      } catch {
        continue;
      }
      if (size === 0 || size > MAX_FILE) continue;
      let bytes;
      try {
        bytes = readFileSync(file);
      } catch {
        continue;
      }
      scanned += 1;
      for (const [i, needle] of needles.entries()) {
        if (bytes.includes(needle)) hits.push(`${file} holds secret #${i + 1}`);
      }
    }
  }
  console.log(`secret scan: ${secrets.length} secrets and tokens, ${scanned} files in ${placesToScan().join(", ")}`);
  assert.deepEqual(hits, [], hits.join("\n"));
});
