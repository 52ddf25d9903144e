// Certificates in the real window, on the practice tenant. TonicDM with a certificate AppGrant
// makes, from Review to Done: the PFX export opens in `openssl pkcs12` with the password the
// screen showed once (and its certificate is the one whose thumbprint Done shows). Then the
// vendor's own certificate: a file holding a private key is refused with the clear message, a
// public certificate made here by openssl is read (its thumbprint matches openssl's) and used
// through to Done, which says there is nothing secret to send; the dashboard shows it.
// Screenshots of each screen go to artifacts/e2e/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { practiceSession } from "./session.mjs";

const ui = await practiceSession("certs");
const { work } = ui;

let app;
let browser;

before(async () => {
  await ui.launch();
  app = ui.app;
  browser = ui.browser;
});

after(() => ui.close());

function openssl(...args) {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** "SHA1 Fingerprint=AB:CD:…" → "ABCD…", the form the portal and AppGrant show. */
function sha1Thumbprint(pemOrDerFile, form = "PEM") {
  const out = openssl("x509", "-in", pemOrDerFile, "-inform", form, "-noout", "-fingerprint", "-sha1");
  return out.trim().split("=")[1].replaceAll(":", "").toUpperCase();
}

/** Opens a PFX with `password` (as the vendor would) and returns its certificate's thumbprint. */
function pfxThumbprint(pfx, password) {
  const certs = openssl("pkcs12", "-in", pfx, "-passin", `pass:${password}`, "-nokeys");
  assert.match(certs, /-----BEGIN CERTIFICATE-----/);
  const opened = path.join(work, "from-pfx.pem");
  writeFileSync(opened, certs);
  return sha1Thumbprint(opened);
}

/** Presses "Export PFX" inside `scope`; returns the file and the password shown once. */
async function exportPfx(scope) {
  await (await scope.$("button=Export PFX")).click();
  const field = await scope.$('input[id$="pfx-password-main"]');
  await field.waitForDisplayed({ timeout: 30_000 });
  const pfx = await (await scope.$(".result .mono")).getText();
  assert.match(pfx, /\.pfx$/);
  assert.ok(existsSync(pfx), `the PFX file is at ${pfx}`);
  return { pfx, password: await field.getValue() };
}

/** A vendor's key pair made the way vendors make them (openssl), in `work`. */
function vendorFiles() {
  const key = path.join(work, "vendor.key");
  const pem = path.join(work, "vendor-cert.pem");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem, "-days", "365", "-subj", "/CN=TonicDM Vendor Test");
  const cer = path.join(work, "tonicdm-public.cer");
  openssl("x509", "-in", pem, "-outform", "DER", "-out", cer);
  const bundle = path.join(work, "tonicdm-with-key.pem");
  writeFileSync(bundle, readFileSync(key, "utf8") + readFileSync(pem, "utf8"));
  return { cer, bundle, thumbprint: sha1Thumbprint(pem) };
}

/** From the vendor list to Review for TonicDM, signing in when the window asks. */
async function toReview() {
  await ui.heading("Which service do you want to connect");
  await ui.click("Choose TonicDM");
  await ui.toReview();
}

async function chooseCredential(kind) {
  const radio = await browser.$(`input[type="radio"][value="${kind}"]`);
  await radio.waitForDisplayed({ timeout: 30_000 });
  await radio.scrollIntoView({ block: "center" });
  await radio.click();
  assert.ok(await radio.isSelected(), `${kind} is chosen`);
}

/** Apply, then Verify, which goes on to Done by itself when every check passed; returns Done's text. */
async function applyToDone() {
  await ui.click("Apply");
  await ui.heading("Give these values to TonicDM", 180_000);
  const doneText = await ui.bodyText();
  assert.match(doneText, /✓ Checked: \d+ passed(, \d+ did not apply)?\./, `every check passed:\n${doneText}`);
  await browser.$("h3=The certificate").waitForDisplayed({ timeout: 60_000 });
  return ui.bodyText();
}

async function certificateCard() {
  return browser.$('[aria-label="Certificate of TonicDM Office 365 Token"]');
}

/** Scrolls Done's certificate card (with its heading) to the top for a screenshot. */
async function showCertificateCard() {
  await (await browser.$('section[aria-labelledby="certificates-heading"]')).scrollIntoView({ block: "start" });
}

const made = {};

describe("certificates in practice mode", () => {
  test("TonicDM with a certificate made by AppGrant: Done shows it, and the PFX opens with the password shown once", async () => {
    await ui.heading("Where do you want to connect the vendor?");
    await ui.click("Open the practice tenant");
    await toReview();
    await chooseCredential("generated_certificate");
    await ui.waitForText("Create the certificate");
    await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
    const review = await ui.bodyText();
    assert.match(review, /Why security teams prefer certificates/);
    assert.doesNotMatch(review, /How long the secret stays valid/, "a certificate has no secret lifetime to choose");
    await (await browser.$("h3=4. Certificates & secrets")).scrollIntoView({ block: "start" });
    await app.screenshot("review-certificate");

    const done = await applyToDone();
    // TonicDM's "App Secret" field now names the certificate: there is no secret to reveal.
    assert.match(done, /App Secret\s+Certificate \(thumbprint [0-9A-F]{40}, expires [^)]+\): in the exported PFX/);
    assert.equal(await (await browser.$$("button*=Reveal")).length, 0, "no secret to reveal");
    const card = await certificateCard();
    const thumbprint = await (await card.$(".mono")).getText();
    assert.match(thumbprint, /^[0-9A-F]{40}$/, "a SHA-1 thumbprint in upper-case hex, as the portal shows");
    assert.match(await card.getText(), /Expires\s*\n?.*20\d\d/);
    await showCertificateCard();
    await app.screenshot("done-certificate");

    const { pfx, password } = await exportPfx(card);
    assert.ok(password.length >= 12, "a long password");
    assert.match(await card.getText(), /This password is shown only now/);
    await showCertificateCard();
    await app.screenshot("export-pfx");

    // The password opens it, and it holds the certificate Done names.
    assert.equal(pfxThumbprint(pfx, password), thumbprint, "the PFX holds the certificate whose thumbprint Done shows");
    // And it is really protected: a wrong password does not open it.
    assert.throws(() => openssl("pkcs12", "-in", pfx, "-passin", "pass:wrong-password", "-nokeys"));

    await ui.click("Copy password");
    await ui.waitForText("Password copied. AppGrant clears the clipboard in 60 seconds.");
    made.thumbprint = thumbprint;
  });

  test("rotating the certificate from the dashboard hands over a new one, with its own PFX", async () => {
    assert.ok(made.thumbprint, "the first test made a certificate");
    await ui.click("Your connections");
    await ui.heading("Your connections");
    await ui.waitForText(made.thumbprint);
    const rotate = await browser.$('button[aria-label="Rotate the certificate of TonicDM in contosopractice.onmicrosoft.com"]');
    await rotate.waitForClickable({ timeout: 30_000 });
    await rotate.click();
    await ui.click("Start the rotation");
    const handoff = await browser.$('section[aria-labelledby$="-cert-heading"]');
    await handoff.waitForDisplayed({ timeout: 120_000 });
    const fresh = await (await handoff.$(".mono")).getText();
    assert.match(fresh, /^[0-9A-F]{40}$/);
    assert.notEqual(fresh, made.thumbprint, "a new certificate");
    const { pfx, password } = await exportPfx(handoff);
    assert.equal(pfxThumbprint(pfx, password), fresh, "the new PFX holds the new certificate");
    const shown = await handoff.$('input[id$="pfx-password-main"]');
    await browser.execute((el) => el.scrollIntoView({ block: "center" }), shown);
    await app.screenshot("dashboard-rotate-certificate");

    await ui.click("TonicDM now uses the new certificate", 60_000);
    await browser.waitUntil(async () => !(await ui.bodyText()).includes(made.thumbprint), {
      timeout: 120_000,
      timeoutMsg: "the old certificate is gone from the card",
    });
    assert.ok((await ui.bodyText()).includes(fresh), "the card shows the new certificate");
    await ui.click("Back to the wizard");
  });

  test("the vendor's certificate: a file with a private key is refused; a public one is read, used, and nothing secret goes back", async () => {
    const files = vendorFiles();
    await ui.click("Connect another vendor");
    await toReview();
    await chooseCredential("vendor_certificate");
    const input = await browser.$('input[type="file"][accept=".cer,.crt,.pem"]');
    await input.waitForExist({ timeout: 30_000 });
    assert.equal(await browser.$("button=Apply").isEnabled(), false, "Apply waits for the vendor's file");

    await input.setValue(files.bundle);
    await ui.waitForText("This file holds a private key. Ask the vendor for the public certificate only (.cer); never send private keys.");
    assert.equal(await browser.$("button=Apply").isEnabled(), false, "a private key is never accepted");
    await input.scrollIntoView({ block: "center" });
    await app.screenshot("review-vendor-refused");

    await input.setValue(files.cer);
    await ui.waitForText("tonicdm-public.cer is a public certificate AppGrant can use.");
    const review = await ui.bodyText();
    assert.ok(review.includes(files.thumbprint), "the thumbprint matches openssl's");
    assert.match(review, /CN=TonicDM Vendor Test/);
    assert.match(review, /RSA, 2048 bits/);
    assert.doesNotMatch(review, /private key\. Ask the vendor/, "the earlier refusal is gone");
    await browser.$("button=Apply").waitForClickable({ timeout: 60_000 });
    await input.scrollIntoView({ block: "center" });
    await app.screenshot("review-vendor-certificate");

    const done = await applyToDone();
    assert.match(done, /there is nothing secret to send/);
    const card = await certificateCard();
    assert.equal(await (await card.$(".mono")).getText(), files.thumbprint);
    assert.equal(await (await card.$$("button=Export PFX")).length, 0, "nothing to export: the vendor holds the key");
    assert.doesNotMatch(done, /Include the secret in the file/, "no secret to put in a file");
    await showCertificateCard();
    await app.screenshot("done-vendor-certificate");
    made.vendorThumbprint = files.thumbprint;
  });

  test("the connections dashboard shows the certificate's thumbprint and expiry, and its mark on the year ahead", async () => {
    // The second run connected the same TonicDM app again, now with the vendor's certificate.
    assert.ok(made.vendorThumbprint, "the vendor's certificate was used");
    await ui.click("Your connections");
    await ui.heading("Your connections");
    await ui.waitForText(made.vendorThumbprint);
    assert.match(await ui.bodyText(), /Certificate: [^\n]*20\d\d, in 36\d days/);
    const mark = await browser.$('[aria-label*="certificate expires"]');
    assert.ok(await mark.isExisting(), "the certificate has a mark on the timeline");
    await app.screenshot("dashboard-certificate");
  });
});
