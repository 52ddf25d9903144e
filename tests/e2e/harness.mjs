// Starts the real AppGrant binary under tauri-driver (which drives WebKitWebDriver) and hands
// back a WebdriverIO session. Ports are picked free each run; the driver is stopped on close.
//
// Environment:
//   APPGRANT_BIN        path to the built app (default: $CARGO_TARGET_DIR/debug/appgrant)
//   APPGRANT_ARTIFACTS  where screenshots go (default: <repo>/artifacts/e2e)

import { spawn } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");

export const artifactsDir = process.env.APPGRANT_ARTIFACTS ?? path.join(repoRoot, "artifacts", "e2e");

function defaultBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
  return path.join(target, "debug", "appgrant");
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited early with code ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`tauri-driver did not open port ${port} within ${timeoutMs} ms`);
}

/** Launches the app and returns `{ browser, screenshot(name), close() }`. */
export async function launchApp({ env = {} } = {}) {
  const application = process.env.APPGRANT_BIN ?? defaultBinary();
  if (!existsSync(application)) {
    throw new Error(`AppGrant binary not found at ${application}; build it first (scripts/test.sh does)`);
  }
  mkdirSync(artifactsDir, { recursive: true });
  const port = await freePort();
  const nativePort = await freePort();
  const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...env },
  });
  try {
    await waitForPort(port, driver);
    const browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      connectionRetryCount: 2,
      capabilities: {
        // WebKitWebDriver speaks classic WebDriver only; WebdriverIO 9 asks for BiDi unless told.
        "wdio:enforceWebDriverClassic": true,
        "tauri:options": { application },
      },
    });
    return {
      browser,
      async screenshot(name) {
        const file = path.join(artifactsDir, `${name}.png`);
        await browser.saveScreenshot(file);
        return file;
      },
      async close() {
        try {
          await browser.deleteSession();
        } finally {
          driver.kill();
        }
      },
    };
  } catch (error) {
    driver.kill();
    throw error;
  }
}
