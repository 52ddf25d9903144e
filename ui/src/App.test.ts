import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { FakeBackend, helpdeskSession, ipcError, SECRET_VALUE, tonicApplyEvents } from "./test/fakeBackend";

function setup(fake = new FakeBackend()) {
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  return { user, fake, backend: fake.backend };
}

/** Tabs forward to `target`; fails if it is not reachable within 60 presses. */
async function tabTo(user: UserEvent, target: HTMLElement) {
  for (let i = 0; i < 60 && document.activeElement !== target; i++) await user.tab();
  expect(target).toHaveFocus();
}

const heading = (name: RegExp | string) => screen.findByRole("heading", { level: 2, name });

async function toVendor(user: UserEvent) {
  await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
  await heading(/Which service/);
}

async function toSignIn(user: UserEvent, vendor = "TonicDM") {
  await toVendor(user);
  await user.click(await screen.findByRole("button", { name: `Choose ${vendor}` }));
  if (vendor === "timetoreply") {
    await user.type(screen.getByLabelText("Your timetoreply portal address"), "https://ttr.contoso.com");
    await user.click(screen.getByRole("button", { name: "Continue" }));
  }
  // A vendor that needs nothing more goes straight on to Sign in.
  await heading(/Sign in to/);
}

async function toReview(user: UserEvent, vendor = "TonicDM") {
  await toSignIn(user, vendor);
  await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
  await heading(/Review what AppGrant will do/);
  await screen.findByRole("button", { name: "Apply" });
}

async function toVerify(user: UserEvent) {
  await toReview(user);
  await user.click(screen.getByRole("button", { name: "Apply" }));
  await heading("Checking that the connection works");
}

async function toDone(user: UserEvent) {
  await toVerify(user);
  await user.click(await screen.findByRole("button", { name: "Continue" }));
  await heading("Give these values to TonicDM");
}

describe("Start", () => {
  test("the practice tenant shows a Practice badge on every later screen", async () => {
    const { user } = setup();
    expect(screen.queryByText("Practice", { selector: ".practice" })).toBeNull();
    await toSignIn(user);
    expect(screen.getByText("Practice", { exact: false, selector: "header .practice" })).toBeInTheDocument();
    expect(screen.getByText(/admin@contoso.example/)).toBeInTheDocument(); // the practice sign-in hint
  });

  test("my organisation's tenant: an empty domain means any work account", async () => {
    const { user, backend } = setup();
    await user.click(screen.getByRole("button", { name: "Use my organisation's tenant" }));
    await heading(/Which service/);
    expect(backend.useTenant).toHaveBeenCalledWith("organizations", "global", null);
    expect(screen.queryByText(/^Practice/, { selector: "header *" })).toBeNull();
  });

  test("a typed tenant domain is passed on", async () => {
    const { user, backend } = setup();
    await user.type(screen.getByLabelText("Tenant domain (optional)"), "fabrikam.onmicrosoft.com{Enter}");
    await heading(/Which service/);
    expect(backend.useTenant).toHaveBeenCalledWith("fabrikam.onmicrosoft.com", "global", null);
  });

  test("the cloud choice is folded at Global, explains each cloud and is a keyboard radio group", async () => {
    const { user } = setup();
    const summary = screen.getByText("Microsoft cloud:", { exact: false, selector: "summary" });
    expect(summary).toHaveTextContent("Microsoft cloud: Global");
    expect(screen.getByRole("radio", { name: /Global/ })).not.toBeVisible();
    await tabTo(user, summary);
    await user.keyboard("{Enter}");
    const group = screen.getByRole("group", { name: "Which Microsoft cloud is your tenant in?" });
    const global = within(group).getByRole("radio", { name: /Global/ });
    expect(global).toBeChecked();
    expect(global).toHaveAccessibleDescription("Most organisations. Microsoft 365 GCC uses Global too.");
    expect(within(group).getAllByRole("radio").map((r) => r.getAttribute("value"))).toEqual([
      "global",
      "us_gov",
      "us_gov_dod",
      "china",
    ]);
    await tabTo(user, global);
    await user.keyboard("{ArrowDown}");
    expect(within(group).getByRole("radio", { name: /GCC High/ })).toBeChecked();
    expect(summary).toHaveTextContent("Microsoft cloud: US Government (GCC High)");
  });

  test("the chosen cloud goes to the shell, shows in the header and on Sign in, and is kept for the session", async () => {
    const { user, backend } = setup();
    await user.click(screen.getByText("Microsoft cloud:", { exact: false, selector: "summary" }));
    await user.click(screen.getByRole("radio", { name: /US Government \(DoD\)/ }));
    await user.type(screen.getByLabelText("Tenant domain (optional)"), "army.example.mil");
    await user.click(screen.getByRole("button", { name: "Use my organisation's tenant" }));
    await heading(/Which service/);
    expect(backend.useTenant).toHaveBeenCalledWith("army.example.mil", "us_gov_dod", null);
    expect(screen.getByText("US Government (DoD)", { exact: false, selector: "header .cloud" })).toHaveAttribute(
      "title",
      "Signs in at login.microsoftonline.us",
    );
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    await heading(/Sign in to army.example.mil/);
    expect(screen.getByText(/You sign in at login.microsoftonline.us/)).toHaveTextContent(
      "Microsoft cloud: US Government (DoD).",
    );
    // Back at Start, the choice is still there, shown open because it is not the default.
    await user.click(screen.getByRole("button", { name: "Back" }));
    await user.click(await screen.findByRole("button", { name: "Back" }));
    await heading(/Where do you want to connect/);
    expect(screen.getByRole("radio", { name: /US Government \(DoD\)/ })).toBeChecked();
    expect(screen.getByRole("radio", { name: /US Government \(DoD\)/ })).toBeVisible();
  });

  test("China asks for the organisation's own sign-in app before opening the tenant", async () => {
    const { user, backend } = setup();
    await user.click(screen.getByText("Microsoft cloud:", { exact: false, selector: "summary" }));
    await user.click(screen.getByRole("radio", { name: /China/ }));
    expect(screen.getByRole("radio", { name: /China/ })).toHaveAccessibleDescription(/Microsoft has no sign-in app there/);
    await user.click(screen.getByRole("button", { name: "Use my organisation's tenant" }));
    const field = screen.getByLabelText("Your sign-in app's Application (client) ID");
    expect(field).toHaveFocus();
    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(field).toHaveAccessibleDescription(/Enter the ID first/);
    expect(backend.useTenant).not.toHaveBeenCalled();
    await user.type(field, " 0c8a5a4e-1f0b-4d53-9a55-3f2a1c0e7b11 ");
    await user.click(screen.getByRole("button", { name: "Use my organisation's tenant" }));
    await heading(/Which service/);
    expect(backend.useTenant).toHaveBeenCalledWith("organizations", "china", "0c8a5a4e-1f0b-4d53-9a55-3f2a1c0e7b11");
  });

  test("existing connections show their expiry, with a warning under 30 days", async () => {
    setup();
    const docbits = (await screen.findByText("DocBits")).closest("li")!;
    expect(docbits).toHaveTextContent("expires in 712 days");
    expect(docbits).not.toHaveClass("warn");
    const totalview = screen.getByText("Totalview").closest("li")!;
    expect(totalview).toHaveTextContent("expires in 12 days");
    expect(totalview).toHaveTextContent("Warning:");
    expect(totalview).toHaveClass("warn");
  });

  test("a practice tenant that fails to start says what to do", async () => {
    const fake = new FakeBackend().failNext("startPractice", ipcError("practice", "The practice tenant did not start."));
    const { user } = setup(fake);
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The practice tenant did not start.");
    expect(alert).toHaveTextContent("What to do: Restart AppGrant");
  });
});

describe("Choose vendor", () => {
  test("a vendor that needs nothing more goes on to Sign in; Back returns with it chosen", async () => {
    const { user } = setup();
    await toVendor(user);
    expect(screen.queryByRole("button", { name: "Continue" })).toBeNull();
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    await heading(/Sign in to/);
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(await screen.findByRole("button", { name: "TonicDM chosen" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("button", { name: "Continue" })).toBeEnabled();
  });

  test("in presenter mode choosing a vendor waits for Continue", async () => {
    const { user } = setup();
    await user.click(screen.getByRole("button", { name: "Presenter mode" }));
    await toVendor(user);
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    expect(screen.getByRole("heading", { level: 2, name: /Which service/ })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await heading(/Sign in to/);
  });

  test("a recipe's input is required, and the shell's complaint shows next to the field", async () => {
    const { user, backend } = setup();
    await toVendor(user);
    await user.click(await screen.findByRole("button", { name: "Choose timetoreply" }));
    expect(screen.getByRole("button", { name: "Continue" })).toBeDisabled();
    await user.type(screen.getByLabelText("Your timetoreply portal address"), "ttr.contoso.com");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    await user.click(await screen.findByRole("button", { name: "Continue" }));
    await heading(/Review/);
    const field = await screen.findByLabelText("Your timetoreply portal address");
    await waitFor(() => expect(field).toHaveAccessibleDescription(/must start with https:\/\//));
    expect(field).toHaveAttribute("aria-invalid", "true");
    await user.clear(field);
    await user.type(field, "https://ttr.contoso.com");
    await user.tab();
    expect(await screen.findByText("https://ttr.contoso.com/account/microsoft/auth")).toBeInTheDocument();
    expect(backend.planRecipe).toHaveBeenLastCalledWith("timetoreply", {
      inputs: { portal_url: "https://ttr.contoso.com" },
      appNames: {},
      secretLifetimeMonths: null,
      credentials: {},
    });
  });

  test("an invalid recipe file lists each problem with its line number", async () => {
    const fake = new FakeBackend().failNext(
      "importRecipe",
      ipcError(
        "invalid_recipe",
        "acme.toml, line 4: vendor must not be empty\nacme.toml, line 12: unknown permission Mail.ReadAll (did you mean Mail.Read?)",
        "Fix the lines named above and import the file again.",
      ),
    );
    const { user } = setup(fake);
    await toVendor(user);
    const file = new File(['id = "acme"\nvendor = ""\n'], "acme.toml", { type: "application/toml" });
    await user.upload(screen.getByLabelText("Import a recipe file…"), file);
    const alert = await screen.findByRole("alert");
    const items = within(alert).getAllByRole("listitem").map((li) => li.textContent);
    expect(items).toEqual([
      "acme.toml, line 4: vendor must not be empty",
      "acme.toml, line 12: unknown permission Mail.ReadAll (did you mean Mail.Read?)",
    ]);
    expect(alert).toHaveTextContent("acme.toml could not be used");
  });

  test("an imported recipe joins the list, chosen", async () => {
    const { user, backend } = setup();
    await toVendor(user);
    const file = new File(['id = "acme"\nvendor = "Acme"\n'], "acme.toml");
    await user.upload(screen.getByLabelText("Import a recipe file…"), file);
    expect(await screen.findByRole("article", { name: "Acme" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Acme chosen" })).toHaveAttribute("aria-pressed", "true");
    expect(backend.importRecipe).toHaveBeenCalledWith("acme.toml", 'id = "acme"\nvendor = "Acme"\n');
  });
});

describe("Sign in", () => {
  test("browser sign-in says where to finish, can be cancelled, and shows what the account can do", async () => {
    const fake = new FakeBackend().hold("signInBrowser");
    const { user, backend } = setup(fake);
    await toSignIn(user);
    await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
    expect(await screen.findByText(/Finish signing in in the browser tab that just opened/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(backend.cancelSignIn).toHaveBeenCalled();
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    // Nothing to decide: on to Review, the account named in the header; Back shows it all.
    await heading(/Review what AppGrant will do/);
    expect(screen.getByText(/Avery Admin · Global Administrator/, { selector: "header *" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Back" }));
    const summary = await screen.findByRole("region", { name: "Signed in" });
    expect(summary).toHaveTextContent("Avery Admin (admin@contoso.onmicrosoft.com)");
    expect(summary).toHaveTextContent("Contoso Practice, contoso.onmicrosoft.com");
    expect(summary).toHaveTextContent("Global Administrator");
    const lines = within(within(summary).getByRole("list", { name: "What this account can do" }))
      .getAllByRole("listitem")
      .map((li) => li.textContent?.replace(/\s+/g, " ").trim());
    expect(lines).toEqual([
      "✓ Can create app registrations",
      "✓ Can grant application permissions (the app acts on its own)",
      "✓ Can grant delegated permissions (the app acts for a signed-in person)",
      "✗ Cannot limit which mailboxes an app reaches",
    ]);
  });

  test("device code: the code is shown large with a copy button and the link", async () => {
    const fake = new FakeBackend().hold("finishDeviceCode");
    const { user } = setup(fake);
    await toSignIn(user);
    await user.click(screen.getByRole("button", { name: "Sign in with a code instead" }));
    expect(await screen.findByText("HQ7K-R2WP")).toHaveClass("code");
    expect(screen.getByText("https://microsoft.com/devicelogin")).toBeInTheDocument();
    expect(screen.getByText(/The code works until/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Copy the code" }));
    expect(await navigator.clipboard.readText()).toBe("HQ7K-R2WP");
    expect(screen.getByText("the code copied.")).toBeInTheDocument();
    fake.release("finishDeviceCode");
    expect(await heading(/Review what AppGrant will do/)).toBeInTheDocument();
  });

  test("an account that cannot consent sees the hand-off and the remember problem", async () => {
    const fake = new FakeBackend();
    fake.session = helpdeskSession;
    fake.handoff = true;
    const { user } = setup(fake);
    await toSignIn(user);
    await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
    const summary = await screen.findByRole("region", { name: "Signed in" });
    expect(summary).toHaveTextContent("✗ Cannot grant application permissions");
    expect(summary).toHaveTextContent("could not be remembered");
    const message = (await within(summary).findByLabelText("Message to send them")) as HTMLTextAreaElement;
    expect(message.value).toContain("Grant admin consent");
  });

  test("a sign-in error shows the message, the hint and a retry", async () => {
    const fake = new FakeBackend().failNext(
      "signInBrowser",
      ipcError("sign_in", "You closed the sign-in page.", "Sign in again and finish in the browser."),
    );
    const { user } = setup(fake);
    await toSignIn(user);
    await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("You closed the sign-in page.");
    expect(alert).toHaveTextContent("Sign in again and finish in the browser.");
    await user.click(within(alert).getByRole("button", { name: "Try again in the browser" }));
    expect(await heading(/Review what AppGrant will do/)).toBeInTheDocument();
  });
});

describe("Review", () => {
  test("one card per portal step with risks, kinds, the lifetime cap, mailbox note and corrections", async () => {
    const { user, backend } = setup();
    await toReview(user);
    const perms = screen.getByRole("region", { name: "2. API permissions" });
    const mail = within(perms).getByText("Read, change and delete e-mail in every mailbox").closest("li")!;
    expect(mail).toHaveTextContent("Write");
    expect(mail).toHaveTextContent("Mail.ReadWrite, application");
    const secret = screen.getByRole("region", { name: "4. Certificates & secrets" });
    expect(secret).toHaveTextContent("It will expire on");
    expect(secret).toHaveTextContent("at most 365 days");
    expect(screen.getByRole("region", { name: /5\. Limit/ })).toHaveTextContent("Nothing chosen means no limit");
    expect(screen.getByText(/The vendor's guide says:/).parentElement?.parentElement).toHaveTextContent(
      "Assignment required only controls who can sign in",
    );
    expect(backend.applyPlan).not.toHaveBeenCalled();

    await user.selectOptions(within(secret).getByLabelText("How long the secret stays valid"), "6");
    await waitFor(() => expect(within(secret).queryByText(/at most 365 days/)).toBeNull());
    expect(backend.planRecipe).toHaveBeenLastCalledWith("tonicdm", expect.objectContaining({ secretLifetimeMonths: 6 }));
  });

  test("renaming the app re-plans with the new name", async () => {
    const { user, backend } = setup();
    await toReview(user);
    const name = screen.getByLabelText("Name in Microsoft Entra");
    await user.clear(name);
    await user.type(name, "TonicDM (Contoso){Enter}");
    await user.tab();
    await waitFor(() =>
      expect(backend.planRecipe).toHaveBeenLastCalledWith(
        "tonicdm",
        expect.objectContaining({ appNames: { main: "TonicDM (Contoso)" } }),
      ),
    );
    expect(await screen.findByText("Register the app “TonicDM (Contoso)”")).toBeInTheDocument();
  });

  test("the consent hand-off is shown with a copyable message and link", async () => {
    const fake = new FakeBackend();
    fake.handoff = true;
    const { user } = setup(fake);
    await toSignIn(user);
    await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
    // Something to decide (forward the hand-off or sign in as someone else): the screen stays.
    await screen.findByLabelText("Message to send them");
    expect(screen.getByRole("heading", { level: 2, name: /Sign in to/ })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await screen.findByRole("button", { name: "Apply" });
    const consent = screen.getByRole("region", { name: "3. Admin consent" });
    expect(consent).toHaveTextContent("Ask a Global Administrator or Privileged Role Administrator");
    expect(within(consent).getByLabelText("Message to send them")).toHaveAttribute("readonly");
    await user.click(within(consent).getByRole("button", { name: "Copy the message" }));
    expect(await navigator.clipboard.readText()).toContain("Grant admin consent");
    expect((within(consent).getByLabelText("Where they grant it") as HTMLInputElement).value).toContain("adminconsent");
    expect(within(consent).getAllByText(/waits for someone else/)).toHaveLength(3);
  });

  test("steps already done say so", async () => {
    const fake = new FakeBackend();
    fake.doneSteps = ["main/register", "main/sp"];
    const { user } = setup(fake);
    await toReview(user);
    expect(screen.getAllByText("already done")).toHaveLength(2);
    expect(screen.getByText("4 changes will be made in Contoso Practice.")).toBeInTheDocument();
  });
});

describe("Apply", () => {
  test("waits are explained in words, and success moves on to Verify", async () => {
    const fake = new FakeBackend();
    fake.applyScripts = [{ events: tonicApplyEvents, result: { ok: true, failures: [] }, pauseAfter: 4 }];
    fake.hold("applyPlan");
    const { user } = setup(fake);
    await toReview(user);
    await user.click(screen.getByRole("button", { name: "Apply" }));
    await heading(/Setting up TonicDM/);
    const sp = (await screen.findByText("Create its enterprise application")).closest("li")!;
    await waitFor(() => expect(sp).toHaveTextContent("Microsoft is still creating the app, usually under a minute."));
    expect(sp).toHaveTextContent("Waiting for Microsoft");
    expect(screen.getByText("Register the app “TonicDM Office 365 Token”").closest("li")).toHaveTextContent(
      /Done.*Application \(client\) ID/,
    );
    expect(screen.getByRole("status", { name: "" })).toHaveTextContent(/still creating the app/);
    expect(screen.getByRole("button", { name: "Cancel" })).toBeInTheDocument();
    fake.release("applyPlan");
    await heading("Checking that the connection works");
  });

  test("a failure shows the message and hint; Try again re-plans and resumes", async () => {
    const fake = new FakeBackend();
    const failure = {
      step: "main/grant/Mail.ReadWrite",
      code: "forbidden",
      message: "Microsoft refused to grant Mail.ReadWrite.",
      hint: "Sign in as a Global Administrator, then press Try again.",
    };
    fake.applyScripts = [
      {
        events: [
          ...tonicApplyEvents.slice(0, 8),
          { event: "stepFailed", data: failure },
        ],
        result: { ok: false, failures: [failure] },
      },
    ];
    const { user, backend } = setup(fake);
    await toReview(user);
    await user.click(screen.getByRole("button", { name: "Apply" }));
    const step = (await screen.findByText(/read, change and delete e-mail in every mailbox/)).closest("li")!;
    await waitFor(() => expect(step).toHaveTextContent("Failed"));
    expect(step).toHaveTextContent("Microsoft refused to grant Mail.ReadWrite.");
    expect(step).toHaveTextContent("What to do: Sign in as a Global Administrator");
    const plans = backend.planRecipe.mock.calls.length;
    await user.click(screen.getByRole("button", { name: "Try again" }));
    await heading("Checking that the connection works");
    expect(backend.planRecipe.mock.calls.length).toBe(plans + 1);
    expect(backend.applyPlan).toHaveBeenCalledTimes(2);
  });

  test("cancel says the run can be resumed and offers to continue", async () => {
    const fake = new FakeBackend();
    fake.applyScripts = [{ events: tonicApplyEvents, result: { ok: false, failures: [] }, pauseAfter: 2 }];
    fake.hold("applyPlan");
    const { user, backend } = setup(fake);
    await toReview(user);
    await user.click(screen.getByRole("button", { name: "Apply" }));
    expect(await screen.findByText(/You can continue later where it stopped/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(backend.cancelApply).toHaveBeenCalled();
    await heading("Stopped");
    expect(screen.getByRole("button", { name: "Continue where it stopped" })).toBeInTheDocument();
  });
});

describe("Verify and Done", () => {
  test("verify lists each check with its status, detail and hint", async () => {
    const { user } = setup();
    await toVerify(user);
    const list = await screen.findByRole("list", { name: "Checks" });
    const items = within(list).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent(/The app can get a token\s*Passed/);
    expect(items[1]).toHaveTextContent("Warning");
    expect(items[1]).toHaveTextContent("What to do: Wait a few minutes, then check again.");
    expect(items[2]).toHaveTextContent("Skipped");
    expect(screen.getByRole("button", { name: "Continue" })).toBeInTheDocument();
  });

  test("failed checks offer a retry and still allow finishing", async () => {
    const fake = new FakeBackend();
    fake.checks = [{ id: "token", app: "main", title: "The app can get a token", status: "failed", detail: "invalid_client", hint: "Wait a minute and check again." }];
    const { user, backend } = setup(fake);
    await toVerify(user);
    await user.click(await screen.findByRole("button", { name: "Check again" }));
    expect(backend.verify).toHaveBeenCalledTimes(2);
    await user.click(await screen.findByRole("button", { name: "Finish anyway" }));
    await heading("Give these values to TonicDM");
  });

  test("the secret stays hidden until revealed, with a warning; copy goes through the shell", async () => {
    const { user, backend } = setup();
    await toDone(user);
    expect(screen.getByText("Saved in your computer's credential store", { exact: false })).toBeInTheDocument();
    expect(screen.getByText("8d1e4f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6")).toBeInTheDocument();
    expect(screen.queryByText(SECRET_VALUE)).toBeNull();
    expect(screen.getByLabelText("App Secret hidden")).toHaveTextContent("••••••");
    expect(backend.revealSecret).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Copy App Secret" }));
    expect(backend.copySecret).toHaveBeenCalledWith("conn-tonicdm-1", "main");
    expect(await screen.findByText(/clears the clipboard in 60 seconds/)).toBeInTheDocument();
    expect(screen.queryByText(SECRET_VALUE)).toBeNull();

    await user.click(screen.getByRole("button", { name: "Reveal App Secret" }));
    expect(await screen.findByText(SECRET_VALUE)).toBeInTheDocument();
    expect(backend.revealSecret).toHaveBeenCalledWith("conn-tonicdm-1", "main");
    expect(screen.getByRole("alert")).toHaveTextContent("Anyone who can see your screen can read it");
    await user.click(screen.getByRole("button", { name: "Hide App Secret" }));
    expect(screen.queryByText(SECRET_VALUE)).toBeNull();

    const next = screen.getByRole("region", { name: "What to do next in TonicDM" });
    expect(within(next).getAllByRole("listitem")).toHaveLength(3);
  });

  test("export without and with the secret; the saved path is shown", async () => {
    const { user, backend } = setup();
    await toDone(user);
    await user.click(screen.getByRole("button", { name: "Hand-off sheet (Markdown)" }));
    expect(backend.exportHandoff).toHaveBeenLastCalledWith("conn-tonicdm-1", "markdown", false);
    expect(await screen.findByText("/home/avery/Documents/AppGrant/conn-tonicdm-1.md")).toBeInTheDocument();

    const include = screen.getByRole("checkbox", { name: "Include the secret in the file" });
    expect(include).not.toBeChecked();
    await user.click(include);
    expect(screen.getByText(/The file will contain the secret in plain text/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Environment file (.env)" }));
    expect(backend.exportHandoff).toHaveBeenLastCalledWith("conn-tonicdm-1", "env", true);
    expect(await screen.findByText(/includes the secret/)).toBeInTheDocument();
  });
});

describe("Keyboard", () => {
  test("the whole path works from the keyboard and focus lands on each screen's heading", async () => {
    const fake = new FakeBackend();
    fake.checks = fake.checks.map((c) => (c.status === "warning" ? { ...c, status: "passed" } : c));
    const { user } = setup(fake);
    expect(screen.getByRole("heading", { level: 2, name: /Where do you want/ })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole("button", { name: "Open the practice tenant" })).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(await heading(/Which service/)).toHaveFocus();

    const choose = await screen.findByRole("button", { name: "Choose TonicDM" });
    await tabTo(user, choose);
    await user.keyboard("{Enter}");
    expect(await heading(/Sign in to/)).toHaveFocus();

    await user.tab();
    expect(screen.getByRole("button", { name: "Sign in with your browser" })).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(await heading(/Review/)).toHaveFocus();

    const apply = await screen.findByRole("button", { name: "Apply" });
    await tabTo(user, apply);
    await user.keyboard("{Enter}");
    // Everything succeeded: Verify and Done follow without a key press.
    expect(await heading("Give these values to TonicDM")).toHaveFocus();
    expect(screen.getByText("✓ Checked: 2 passed, 1 did not apply.")).toBeInTheDocument();
  });
});

describe("launching", () => {
  test("started for practice (scripts/start.sh), the window opens in the practice tenant", async () => {
    const fake = new FakeBackend();
    fake.launch = { start: "practice", tenant: null };
    setup(fake);
    await heading(/Which service/);
    expect(document.querySelector("header.top")).toHaveTextContent("Practice");
    expect(fake.backend.startPractice).toHaveBeenCalledTimes(1);
  });

  test("started without a tenant, the Start screen asks", async () => {
    const fake = new FakeBackend();
    setup(fake);
    await heading("Where do you want to connect the vendor?");
    expect(fake.backend.startPractice).not.toHaveBeenCalled();
  });
});
