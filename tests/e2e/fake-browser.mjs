#!/usr/bin/env node
// Stands in for the system browser in end-to-end tests (AppGrant runs it via APPGRANT_BROWSER
// with the sign-in URL). It does what a person does on the practice tenant's pages: picks an
// account, accepts (or declines) the permissions, and follows the redirect back to AppGrant's
// loopback listener. Who signs in and what they answer is read from the file named by
// APPGRANT_FAKE_BROWSER_SCRIPT (JSON: {"upn": "..." | null, "decision": "accept" | "decline"});
// a null upn keeps the account the page suggests (AppGrant's login_hint). The actions a person
// would have taken (type the account unless suggested, press Sign in, answer each consent
// page) are appended, one number per sign-in, to `<script>.actions`.

import { readFileSync, appendFileSync } from "node:fs";

const url = process.argv[2];
const scriptFile = process.env.APPGRANT_FAKE_BROWSER_SCRIPT;
const { upn, decision = "accept" } = JSON.parse(readFileSync(scriptFile, "utf8"));
const log = (line) => appendFileSync(`${scriptFile}.log`, `${new Date().toISOString()} ${line}\n`);

function hiddenFlow(html) {
  const m = /name="flow" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no sign-in form on the page: ${html.slice(0, 200)}`);
  return m[1];
}

async function post(base, path, fields) {
  return fetch(new URL(path, base), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
}

try {
  const page = await fetch(url, { redirect: "manual" });
  const base = new URL(url).origin;
  const html0 = await page.text();
  const suggested = /name="username"[^>]*value="([^"]*)"/.exec(html0)?.[1] ?? "";
  const account = upn ?? suggested;
  let actions = account === suggested ? 1 : 2;
  let response = await post(base, "/_login/signin", { flow: hiddenFlow(html0), username: account, password: "" });
  while (response.status === 200) {
    actions += 1;
    const html = await response.text();
    const choice = decision === "accept" && html.includes('value="accept"') ? "accept" : "decline";
    response = await post(base, "/_login/consent", { flow: hiddenFlow(html), decision: choice, consent_org: "on" });
  }
  const location = response.headers.get("location");
  if (!location) throw new Error(`expected a redirect, got HTTP ${response.status}`);
  const landed = await fetch(location, { redirect: "manual" });
  log(`signed in as ${account} (${decision}, ${actions} actions); AppGrant answered ${landed.status}`);
  appendFileSync(`${scriptFile}.actions`, `${actions}\n`);
} catch (error) {
  log(`failed: ${error}`);
  process.exit(1);
}
