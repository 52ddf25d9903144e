// Certificates through the fake shell, as an admin meets them: Review's choice of credential
// (a keyboard radio group explained in plain words), the vendor's certificate file checked and
// shown (or refused), Apply held until the choice is usable; Done's thumbprint, expiry and
// exports (the PFX password shown once, copied through the shell); the dashboard's certificate.

import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, test } from "vitest";
import App from "../App.svelte";
import DoneScreen from "./DoneScreen.svelte";
import ReviewScreen from "./ReviewScreen.svelte";
import { Wizard } from "../lib/wizard.svelte";
import { showPresenter } from "../lib/presenter.svelte";
import {
  CERT_THUMBPRINT,
  dashboardConnections,
  existingConnections,
  FakeBackend,
  PFX_PASSWORD,
  tonicDoneWithCertificate,
  tonicRecipe,
} from "../test/fakeBackend";

const PUBLIC_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const EXPIRED_PEM = "-----BEGIN CERTIFICATE-----\nEXPIRED\n-----END CERTIFICATE-----\n";
const KEY_AND_CERT_PEM = `-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n${PUBLIC_PEM}`;

const pemFile = (text: string, name = "tonicdm.pem") => new File([text], name, { type: "application/x-pem-file" });

/** Review for TonicDM in the practice tenant, as after sign-in. */
async function review(fake = new FakeBackend()) {
  const user = userEvent.setup();
  const wizard = new Wizard(fake.backend);
  await wizard.startPractice();
  wizard.chooseRecipe(tonicRecipe);
  await wizard.makePlan();
  wizard.screen = "review";
  render(ReviewScreen, { wizard });
  const group = screen.getByRole("group", { name: "How TonicDM Office 365 Token proves who it is" });
  const apply = screen.getByRole("button", { name: "Apply" });
  return { user, wizard, fake, backend: fake.backend, group, apply };
}

describe("Review: how the app proves who it is", () => {
  test("three credentials explained in plain words, as a radio group the keyboard moves through", async () => {
    const { user, group, backend } = await review();
    const radios = within(group).getAllByRole("radio");
    expect(radios.map((r) => r.getAttribute("value"))).toEqual(["secret", "generated_certificate", "vendor_certificate"]);
    expect(within(group).getByRole("radio", { name: /Client secret/ })).toBeChecked();
    expect(within(group).getByRole("radio", { name: /Client secret/ })).toHaveAccessibleDescription(
      /you give a copy to TonicDM\. Anyone who gets hold of a copy can act as the app/,
    );
    expect(within(group).getByRole("radio", { name: /made by AppGrant/ })).toHaveAccessibleDescription(
      /the private key stays in this computer's credential store until you export it/,
    );
    expect(within(group).getByRole("radio", { name: /vendor's certificate/ })).toHaveAccessibleDescription(
      /sends you only its public certificate .* nothing secret to send/,
    );
    expect(screen.getByText(/Why security teams prefer certificates/)).toHaveTextContent(/without ever sending it/);

    // Arrow keys move the choice, as in any radio group.
    within(group).getByRole("radio", { name: /Client secret/ }).focus();
    await user.keyboard("{ArrowDown}");
    expect(within(group).getByRole("radio", { name: /made by AppGrant/ })).toBeChecked();
    await waitFor(() =>
      expect(backend.planRecipe).toHaveBeenLastCalledWith(
        "tonicdm",
        expect.objectContaining({ credentials: { main: { kind: "generated_certificate" } } }),
      ),
    );
    expect(await screen.findByText(/^Create the certificate "CN=TonicDM Office 365 Token"/)).toBeInTheDocument();
    expect(screen.getByText(/valid for 12 months, named “CN=TonicDM Office 365 Token”/)).toBeInTheDocument();
    // The secret's lifetime no longer applies.
    expect(screen.queryByLabelText("How long the secret stays valid")).toBeNull();
  });

  test("the vendor's certificate: Apply waits for the file, then shows what AppGrant read from it", async () => {
    const { user, group, apply, backend } = await review();
    await user.click(within(group).getByRole("radio", { name: /vendor's certificate/ }));
    expect(apply).toBeDisabled();
    expect(screen.getByText(/Apply waits until every app has a usable credential/)).toHaveTextContent(
      "choose the certificate file TonicDM sent you",
    );

    const input = screen.getByLabelText("The certificate file TonicDM sent you");
    expect(input).toHaveAttribute("accept", ".cer,.crt,.pem");
    await user.upload(input, pemFile(PUBLIC_PEM));

    expect(await screen.findByText("tonicdm.pem is a public certificate AppGrant can use.")).toBeInTheDocument();
    expect(screen.getByText("CN=TonicDM Office 365 Token, O=TonicDM Inc.")).toBeInTheDocument();
    expect(screen.getByText(CERT_THUMBPRINT)).toBeInTheDocument();
    expect(screen.getByText("RSA, 2048 bits")).toBeInTheDocument();
    expect(screen.getByText(/^from .*2026 until .*2027$/)).toBeInTheDocument();
    await waitFor(() => expect(apply).toBeEnabled());
    expect(backend.inspectCertificate).toHaveBeenCalledWith("tonicdm.pem", btoa(PUBLIC_PEM));
    expect(backend.planRecipe).toHaveBeenLastCalledWith(
      "tonicdm",
      expect.objectContaining({
        credentials: { main: { kind: "vendor_certificate", fileName: "tonicdm.pem", contentBase64: btoa(PUBLIC_PEM) } },
      }),
    );
    expect(screen.getByText("Upload tonicdm.pem, TonicDM's public certificate")).toBeInTheDocument();
  });

  test("an expired certificate is shown with its problem, and Apply stays off", async () => {
    const { user, group, apply } = await review();
    await user.click(within(group).getByRole("radio", { name: /vendor's certificate/ }));
    await user.upload(screen.getByLabelText("The certificate file TonicDM sent you"), pemFile(EXPIRED_PEM, "old.cer"));
    expect(await screen.findByText("old.cer cannot be used:")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("The certificate expired on 1 June 2026. Ask the vendor for a current one.");
    expect(apply).toBeDisabled();
    expect(screen.getByText(/Apply waits/)).toHaveTextContent("old.cer cannot be used: The certificate expired");
  });

  test("a certificate without an RSA key says so and cannot be used", async () => {
    const { user, group, apply } = await review();
    await user.click(within(group).getByRole("radio", { name: /vendor's certificate/ }));
    const ecPem = "-----BEGIN CERTIFICATE-----\nEC KEY\n-----END CERTIFICATE-----\n";
    await user.upload(screen.getByLabelText("The certificate file TonicDM sent you"), pemFile(ecPem, "ec.pem"));
    expect(await screen.findByText("Not an RSA key")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("The key is not RSA");
    expect(apply).toBeDisabled();
  });

  test("a file with a private key is refused with a clear message; a good file afterwards is taken", async () => {
    const { user, group, apply, backend } = await review();
    await user.click(within(group).getByRole("radio", { name: /vendor's certificate/ }));
    const input = screen.getByLabelText("The certificate file TonicDM sent you");
    await user.upload(input, pemFile(KEY_AND_CERT_PEM, "bundle.pem"));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("bundle.pem cannot be used.");
    expect(alert).toHaveTextContent(
      "This file holds a private key. Ask the vendor for the public certificate only (.cer); never send private keys.",
    );
    expect(apply).toBeDisabled();
    expect(backend.planRecipe).not.toHaveBeenCalledWith("tonicdm", expect.objectContaining({ credentials: { main: expect.objectContaining({ kind: "vendor_certificate" }) } }));

    await user.upload(input, pemFile(PUBLIC_PEM));
    expect(await screen.findByText("tonicdm.pem is a public certificate AppGrant can use.")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).toBeNull();
    await waitFor(() => expect(apply).toBeEnabled());
  });

  test("going back to a secret lifts the hold on Apply", async () => {
    const { user, group, apply, backend } = await review();
    await user.click(within(group).getByRole("radio", { name: /vendor's certificate/ }));
    expect(apply).toBeDisabled();
    await user.click(within(group).getByRole("radio", { name: /Client secret/ }));
    expect(apply).toBeEnabled();
    expect(screen.queryByLabelText("The certificate file TonicDM sent you")).toBeNull();
    expect(backend.planRecipe).toHaveBeenLastCalledWith("tonicdm", expect.objectContaining({ credentials: { main: { kind: "secret" } } }));
  });
});

/** Done for TonicDM with a certificate of the given origin. */
async function done(origin: "generated" | "vendor") {
  const fake = new FakeBackend();
  fake.doneView = tonicDoneWithCertificate(origin);
  const user = userEvent.setup();
  const wizard = new Wizard(fake.backend);
  await wizard.finish();
  wizard.screen = "done";
  render(DoneScreen, { wizard });
  const card = screen.getByRole("region", { name: "The certificate" });
  return { user, backend: fake.backend, card };
}

describe("Done with a certificate", () => {
  afterEach(() => showPresenter(false));

  test("a generated certificate: thumbprint and expiry, PFX with the password shown once and copied by the shell", async () => {
    const { user, backend, card } = await done("generated");
    expect(within(card).getByText(CERT_THUMBPRINT)).toBeInTheDocument();
    expect(within(card).getByText(/2027/)).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "When the certificate expires" })).toBeInTheDocument();
    expect(screen.queryByLabelText("Password of the PFX file")).toBeNull();

    await user.click(within(card).getByRole("button", { name: "Export PFX" }));
    const password = await within(card).findByLabelText("Password of the PFX file");
    expect(password).toHaveValue(PFX_PASSWORD);
    expect(password).toHaveAttribute("readonly");
    expect(within(card).getByText(/This password is shown only now: AppGrant does not keep it/)).toBeInTheDocument();
    expect(within(card).getByText("/home/avery/Documents/AppGrant/conn-tonicdm-1-main.pfx")).toBeInTheDocument();
    expect(backend.exportCertificate).toHaveBeenCalledWith("conn-tonicdm-1", "main", "pfx");

    await user.click(within(card).getByRole("button", { name: "Copy password" }));
    expect(backend.copyExportPassword).toHaveBeenCalledTimes(1);
    expect(await within(card).findByText("Password copied. AppGrant clears the clipboard in 60 seconds.")).toBeInTheDocument();
  });

  test("presenter mode: the PFX password never reaches the screen, and Copy password still works", async () => {
    showPresenter(true);
    const { user, backend, card } = await done("generated");
    await user.click(within(card).getByRole("button", { name: "Export PFX" }));
    const password = await within(card).findByLabelText("Password of the PFX file");
    expect(password).not.toHaveValue(PFX_PASSWORD);
    expect(document.body.textContent).not.toContain(PFX_PASSWORD);
    expect(within(card).getByText("Presenter mode hides secrets from the room. Copy still works.")).toBeInTheDocument();
    await user.click(within(card).getByRole("button", { name: "Copy password" }));
    expect(backend.copyExportPassword).toHaveBeenCalledTimes(1);
  });

  test("PEM: the key and the certificate files, with a warning that the key has no password", async () => {
    const { user, card } = await done("generated");
    await user.click(within(card).getByRole("button", { name: "Export PEM" }));
    expect(await within(card).findByText("/home/avery/Documents/AppGrant/conn-tonicdm-1-main.key.pem")).toBeInTheDocument();
    expect(within(card).getByText("/home/avery/Documents/AppGrant/conn-tonicdm-1-main.cert.pem")).toBeInTheDocument();
    expect(within(card).getByText(/The key file has no password/)).toBeInTheDocument();
    expect(within(card).queryByLabelText("Password of the PFX file")).toBeNull();
  });

  test("a failed export says so and what to do", async () => {
    const fake = new FakeBackend();
    fake.doneView = tonicDoneWithCertificate("generated");
    fake.failNext("exportCertificate", new Error("The disk is full."));
    const user = userEvent.setup();
    const wizard = new Wizard(fake.backend);
    await wizard.finish();
    render(DoneScreen, { wizard });
    await user.click(screen.getByRole("button", { name: "Export PFX" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The PFX file could not be saved. The disk is full.");
    expect(screen.queryByLabelText("Password of the PFX file")).toBeNull();
  });

  test("the vendor's certificate: nothing secret to send, nothing to export", async () => {
    const { card } = await done("vendor");
    expect(within(card).getByText(CERT_THUMBPRINT)).toBeInTheDocument();
    expect(card).toHaveTextContent("TonicDM holds the private key of this certificate, so there is nothing secret to send");
    expect(within(card).queryByRole("button", { name: /Export/ })).toBeNull();
    expect(screen.queryByLabelText("Include the secret in the file")).toBeNull();
  });
});

describe("Start: saved connections", () => {
  test("a certificate connection shows its thumbprint and expiry", async () => {
    const fake = new FakeBackend();
    fake.connections = [
      {
        ...existingConnections[0],
        certificates: [{ appKey: "main", appName: "DocBits Mail", thumbprint: CERT_THUMBPRINT, notAfter: "2027-04-10T00:00:00Z", origin: "vendor" }],
      },
    ];
    render(App, { backend: fake.backend });
    const item = (await screen.findByText("DocBits")).closest("li")!;
    expect(item).toHaveTextContent(/Certificate expires in 712 days/);
    expect(item).toHaveTextContent(new RegExp(`Certificate thumbprint ${CERT_THUMBPRINT}, expires .*2027`));
  });
});

/** The dashboard with TonicDM's app on a certificate (AppGrant's unless said). */
async function dashboardWithCertificate(origin: "generated" | "vendor" = "generated") {
  const fake = new FakeBackend();
  const [tonic, ...rest] = dashboardConnections();
  fake.dashboard = [
    {
      ...tonic,
      apps: tonic.apps.map((a) => ({
        ...a,
        credentials: [],
        certificate: { thumbprint: CERT_THUMBPRINT, notAfter: "2027-12-01T00:00:00Z", origin },
      })),
    },
    ...rest,
  ];
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  await user.click(screen.getByRole("button", { name: "Your connections" }));
  const heading = await screen.findByRole("heading", { level: 3, name: "TonicDM" });
  return { user, backend: fake.backend, card: heading.closest("article")! };
}

describe("Connections dashboard", () => {
  test("a certificate app shows its thumbprint and expiry where a secret would be", async () => {
    const { card } = await dashboardWithCertificate();
    const row = within(card).getByRole("row", { name: /TonicDM Office 365 Token/ });
    expect(within(card).getByRole("columnheader", { name: "Secret or certificate expires" })).toBeInTheDocument();
    expect(row).toHaveTextContent(/Certificate: .*2027, in 361 days/);
    expect(row).toHaveTextContent(`Thumbprint ${CERT_THUMBPRINT}`);
    expect(row).not.toHaveTextContent("No secret");
    // And it has its mark on the year ahead.
    const timeline = screen.getByRole("group", { name: /Secrets on a timeline/ });
    expect(within(timeline).getByRole("button", { name: /^TonicDM, .*certificate expires .*2027, in 361 days/ })).toBeInTheDocument();
  });

  test("rotating a certificate hands over the new one, with its own PFX export", async () => {
    const { user, backend, card } = await dashboardWithCertificate();
    await user.click(within(card).getByRole("button", { name: /Rotate the certificate of TonicDM/ }));
    await user.click(within(card).getByRole("button", { name: "Start the rotation" }));
    const certs = await within(card).findByRole("region", { name: "The certificate" });
    expect(within(card).getByRole("heading", { name: "Rotating the certificate" })).toBeInTheDocument();
    expect(within(card).getByRole("button", { name: "TonicDM now uses the new certificate" })).toBeInTheDocument();
    expect(within(certs).getByText(CERT_THUMBPRINT)).toBeInTheDocument();
    await user.click(within(certs).getByRole("button", { name: "Export PFX" }));
    expect(await within(certs).findByLabelText("Password of the PFX file")).toHaveValue(PFX_PASSWORD);
    expect(backend.exportCertificate).toHaveBeenCalledWith("tonic-contoso", "main", "pfx");
  });

  test("the vendor's own certificate is renewed by the vendor: no Rotate button", async () => {
    const { card } = await dashboardWithCertificate("vendor");
    expect(card).toHaveTextContent(`Thumbprint ${CERT_THUMBPRINT}`);
    expect(within(card).queryByRole("button", { name: /Rotate/ })).toBeNull();
    expect(within(card).getByRole("button", { name: /Check TonicDM/ })).toBeInTheDocument();
  });
});
