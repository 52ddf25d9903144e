// The connections dashboard through the fake shell: statuses in words, sorting, filtering, the
// timeline's marks and their accessible names, keyboard use, sign-in when needed, and a
// rotation from Rotate to "the vendor now uses the new secret".

import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import { shortDate } from "../lib/dashboard.svelte";
import { FakeBackend, ipcError, SECRET_VALUE } from "../test/fakeBackend";

/** A date as the screen writes it in this locale ("16 Dec 2026" in en-GB). */
const d = (iso: string) => shortDate(iso);
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const re = (parts: TemplateStringsArray, ...dates: string[]) =>
  new RegExp(parts.map((p, i) => p + (i < dates.length ? esc(d(dates[i])) : "")).join(""));

async function openDashboard(fake = new FakeBackend()) {
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  await user.click(screen.getByRole("button", { name: "Your connections" }));
  await screen.findByRole("heading", { level: 2, name: "Your connections" });
  await screen.findByRole("heading", { name: "The year ahead" });
  return { user, fake };
}

const cards = () => screen.queryAllByRole("article");
const cardOf = (vendor: string) => {
  const card = cards().find((a) => within(a).queryByRole("heading", { level: 3, name: vendor }));
  if (!card) throw new Error(`no card for ${vendor}`);
  return card;
};
const vendorsInOrder = () => cards().map((a) => within(a).getByRole("heading", { level: 3 }).textContent);
const marks = () => within(screen.getByRole("group", { name: /Secrets on a timeline/ })).getAllByRole("button");

async function tabTo(user: UserEvent, target: HTMLElement | SVGElement) {
  for (let i = 0; i < 80 && document.activeElement !== target; i++) await user.tab();
  expect(target).toHaveFocus();
}

describe("Connections dashboard", () => {
  test("the header opens it from anywhere, and going back keeps the wizard where it was", async () => {
    const fake = new FakeBackend();
    const user = userEvent.setup();
    render(App, { backend: fake.backend });
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await screen.findByRole("heading", { level: 2, name: /Which service/ });
    await user.click(screen.getByRole("button", { name: "Choose TonicDM" }));
    await screen.findByRole("heading", { level: 2, name: /Sign in to/ });
    await user.click(screen.getByRole("button", { name: "Your connections" }));
    await screen.findByRole("heading", { level: 2, name: "Your connections" });
    expect(screen.getByRole("heading", { level: 2, name: "Your connections" })).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Back to the wizard" }));
    // The wizard is where it was: Sign in, with TonicDM still chosen.
    await screen.findByRole("heading", { level: 2, name: /Sign in to/ });
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(await screen.findByRole("button", { name: "TonicDM chosen" })).toBeInTheDocument();
  });

  test("each status is said in words, not only in colour", async () => {
    await openDashboard();
    // The words come from core; each has an icon and a colour class beside it.
    const expiring = within(cardOf("TonicDM")).getByText(/secret expires in 12 days \(2026-12-16\)/);
    expect(expiring).toHaveClass("tone-warn");
    expect(expiring).toHaveTextContent("⚠");
    expect(within(cardOf("TonicDM")).getByText(/mailbox limit verified on 2026-11-25/)).toHaveClass("tone-ok");
    expect(within(cardOf("DocBits")).getByText("OK: the secret is valid for a while.")).toHaveClass("tone-ok");
    const totalview = cardOf("Totalview");
    expect(within(totalview).getByText(/Totalview Calendar: secret expired 3 days ago/)).toHaveClass("tone-danger");
    expect(within(totalview).getByText(/Totalview Presence: the app was deleted in the tenant/)).toHaveClass("tone-danger");
    // Whether the secret is in the credential store comes with the second, slower read.
    expect(await within(cardOf("timetoreply")).findByText(/not in this computer's credential store/, { selector: "li" })).toHaveClass("tone-danger");
    expect(within(cardOf("timetoreply")).getByText(/\(not in this computer's credential store\)/)).toBeInTheDocument();
    // Each app with its client id, and each secret with its date and days left.
    expect(within(totalview).getByRole("rowheader", { name: "Totalview Presence" })).toBeInTheDocument();
    expect(within(totalview).getByText("33333333-4444-4555-8666-777777777777")).toBeInTheDocument();
    expect(within(totalview).getByText(re`${"2026-12-01"}, expired 3 days ago`)).toBeInTheDocument();
    // A deleted app cannot be rotated; it can be checked.
    expect(within(totalview).queryByRole("button", { name: /Rotate/ })).toBeNull();
    expect(within(totalview).getByRole("button", { name: "Check Totalview in contoso.onmicrosoft.com now" })).toBeInTheDocument();
  });

  test("sorts by due date by default, and by vendor or tenant on request", async () => {
    const { user } = await openDashboard();
    expect(vendorsInOrder()).toEqual(["Totalview", "TonicDM", "timetoreply", "DocBits"]);
    await user.selectOptions(screen.getByLabelText("Sort by"), "Vendor");
    expect(vendorsInOrder()).toEqual(["DocBits", "timetoreply", "TonicDM", "Totalview"]);
    await user.selectOptions(screen.getByLabelText("Sort by"), "Tenant");
    expect(vendorsInOrder()).toEqual(["DocBits", "Totalview", "TonicDM", "timetoreply"]);
  });

  test("filters by tenant, vendor and due within N days, and says how many are shown", async () => {
    const { user } = await openDashboard();
    const status = screen.getByText(/^Showing all 4 connections/);
    expect(status).toHaveTextContent("Showing all 4 connections; 2 due within 30 days.");
    await user.selectOptions(screen.getByLabelText("Tenant"), "contoso.onmicrosoft.com");
    expect(vendorsInOrder()).toEqual(["Totalview", "TonicDM"]);
    expect(status).toHaveTextContent("Showing 2 of 4 connections; 2 due within 30 days.");
    await user.selectOptions(screen.getByLabelText("Tenant"), "All tenants");
    await user.selectOptions(screen.getByLabelText("Due within"), "90 days");
    expect(vendorsInOrder()).toEqual(["Totalview", "TonicDM", "timetoreply"]);
    await user.selectOptions(screen.getByLabelText("Vendor"), "DocBits");
    expect(cards()).toHaveLength(0);
    expect(screen.getByText(/No connection matches/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Show all connections" }));
    expect(cards()).toHaveLength(4);
    // The timeline follows the filter.
    await user.selectOptions(screen.getByLabelText("Vendor"), "TonicDM");
    expect(marks()).toHaveLength(1);
  });

  test("the timeline has one named mark per secret, placed by date and shaped by urgency", async () => {
    await openDashboard();
    const all = marks();
    expect(all).toHaveLength(5); // Totalview has two apps
    const names = all.map((m) => m.getAttribute("aria-label"));
    expect(names).toContain(`timetoreply, contosopractice.onmicrosoft.com, secret expires ${d("2027-01-14")}, in 41 days`);
    expect(names).toContain(`TonicDM, contoso.onmicrosoft.com, secret expires ${d("2026-12-16")}, in 12 days`);
    expect(names).toContain(`Totalview, contoso.onmicrosoft.com, Totalview Calendar secret expired ${d("2026-12-01")}, 3 days ago`);
    // Left to right by date: the expired one first, DocBits (200 days) last but one, Presence (300) last.
    expect(names[0]).toMatch(/^Totalview.*Calendar/);
    expect(names[4]).toMatch(/^Totalview.*Presence/);
    const x = (label: RegExp) => Number(all.find((m) => label.test(m.getAttribute("aria-label") ?? ""))!.querySelector("path")!.getAttribute("d")!.match(/^M([\d.]+)/)![1]);
    expect(x(/TonicDM/)).toBeLessThan(x(/timetoreply/));
    expect(x(/timetoreply/)).toBeLessThan(x(/DocBits/));
    // Urgency is a class (colour) and also a different shape per tone; the legend says which.
    expect(all.find((m) => /TonicDM/.test(m.getAttribute("aria-label")!))).toHaveClass("tone-warn");
    expect(all.find((m) => /Calendar/.test(m.getAttribute("aria-label")!))).toHaveClass("tone-danger");
    expect(all.find((m) => /DocBits/.test(m.getAttribute("aria-label")!))).toHaveClass("tone-ok");
    expect(screen.getByRole("list", { name: "What the marks mean" })).toHaveTextContent("Due within 30 days");
    // Month ticks and today.
    const svg = screen.getByRole("group", { name: /Secrets on a timeline/ });
    expect(svg.textContent).toContain("Today");
    expect(svg.textContent).toMatch(/Jan\s*2027/);
  });

  test("keyboard: one Tab reaches the timeline, arrows move between marks, Enter selects the connection", async () => {
    const { user } = await openDashboard();
    const first = marks()[0];
    await tabTo(user, first);
    // The other marks are not separate Tab stops.
    expect(marks().filter((m) => m.getAttribute("tabindex") === "0")).toHaveLength(1);
    await user.keyboard("{ArrowRight}");
    expect(marks()[1]).toHaveFocus();
    expect(marks()[1]).toHaveAccessibleName(/^TonicDM/);
    await user.keyboard("{Enter}");
    // The TonicDM card is selected and takes the keyboard.
    expect(within(cardOf("TonicDM")).getByRole("heading", { level: 3 })).toHaveFocus();
    expect(cardOf("TonicDM")).toHaveClass("selected");
    // Back on the timeline, Home and End jump to the first and last mark.
    marks()[1].focus();
    await user.keyboard("{End}");
    expect(marks()[4]).toHaveFocus();
    await user.keyboard("{Home}");
    expect(marks()[0]).toHaveFocus();
    await user.keyboard("{ArrowLeft}");
    expect(marks()[0]).toHaveFocus();
  });

  test("clicking a mark selects its connection", async () => {
    const { user } = await openDashboard();
    const mark = marks().find((m) => /timetoreply/.test(m.getAttribute("aria-label")!))!;
    await user.click(mark);
    expect(cardOf("timetoreply")).toHaveClass("selected");
    expect(mark).toHaveAttribute("aria-pressed", "true");
  });

  test("Check now signs in to the connection's tenant when needed, then checks and shows drift with the fix plan", async () => {
    const fake = new FakeBackend();
    fake.failNext("checkConnection", ipcError("not_signed_in", "Sign in to contoso.onmicrosoft.com first.", null, "check_connection"));
    fake.findings["tonic-contoso"] = {
      findings: ["Mail.Send is granted but the recipe does not ask for it."],
      fixSteps: [
        { id: "main/grant/User.Read.All", app: "main", phase: "consent", kind: "grant_application_permission", title: "Allow TonicDM to read the profile of every user", risk: "read", done: false, blocked: null },
      ],
      extraGrants: [{ appKey: "main", permission: "Mail.Send", kind: "application" }],
    };
    const { user } = await openDashboard(fake);
    const card = cardOf("TonicDM");
    await user.click(within(card).getByRole("button", { name: /Check TonicDM/ }));
    await within(card).findByText(/sign in to contoso.onmicrosoft.com as an administrator/);
    await user.click(within(card).getByRole("button", { name: "Sign in with your browser" }));
    await within(card).findByText(/Checked just now: 1 finding/);
    expect(fake.backend.signInForConnection).toHaveBeenCalledWith("tonic-contoso");
    expect(fake.backend.checkConnection).toHaveBeenCalledTimes(2);
    expect(within(card).getByText("Mail.Send is granted but the recipe does not ask for it.")).toBeInTheDocument();
    expect(within(card).getByText("Allow TonicDM to read the profile of every user")).toBeInTheDocument();
    expect(within(card).getByText("Remove the application permission Mail.Send (the recipe does not ask for it)")).toBeInTheDocument();
    expect(within(card).getByText(/Last checked/)).toBeInTheDocument();
    // The reviewed plan is applied on request; removing extra permissions is a separate choice.
    await user.click(within(card).getByLabelText("Also remove the permissions the recipe does not ask for"));
    await user.click(within(card).getByRole("button", { name: "Apply these changes" }));
    await within(card).findByText("Checked just now: everything as expected.");
    expect(fake.backend.fixDrift).toHaveBeenCalledWith("tonic-contoso", true);
    expect(within(card).queryByText("What the check found")).toBeNull();
  });

  test("Check all checks every connection shown, one by one, and says how it went", async () => {
    const fake = new FakeBackend();
    fake.failNext("checkConnection", ipcError("plan", "Microsoft did not answer.", "Try again in a minute."));
    const { user } = await openDashboard(fake);
    await user.click(screen.getByRole("button", { name: "Check all (4)" }));
    await waitFor(() => expect(fake.backend.checkConnection).toHaveBeenCalledTimes(4));
    await screen.findByText("Checked 3 of 4 connections. See the cards marked with a problem.");
    expect(within(cardOf("Totalview")).getByText(/Microsoft did not answer/)).toBeInTheDocument();
  });

  test("rotate: choose the overlap, watch the stages, reveal the new secret, confirm, and the old one goes", async () => {
    const fake = new FakeBackend().hold("rotateConnection");
    const { user } = await openDashboard(fake);
    let card = cardOf("TonicDM");
    await user.click(within(card).getByRole("button", { name: "Rotate the secret of TonicDM in contoso.onmicrosoft.com" }));
    const grace = within(card).getByLabelText("Keep the old secret working for");
    expect(grace).toHaveValue("7");
    await user.selectOptions(grace, "14 days");
    await user.click(within(card).getByRole("button", { name: "Start the rotation" }));
    // Held after "stored": the stages so far are shown as done, "proved" is still to come.
    await within(card).findByText("Stored in this computer's credential store");
    await waitFor(() =>
      expect(within(card).getByText("Stored in this computer's credential store").closest("li")).toHaveAttribute("aria-current", "step"),
    );
    expect(within(card).getByText("New secret added in Entra").closest("li")).toHaveClass("done");
    fake.release("rotateConnection");
    await within(card).findByText("Give TonicDM the new values");
    expect(fake.backend.rotateConnection).toHaveBeenCalledWith("tonic-contoso", 14, expect.any(Function));
    card = cardOf("TonicDM");
    expect(within(card).getByText(/rotation in progress; the old secret stays valid until 2026-12-18/)).toHaveClass("tone-info");
    expect(within(card).getByText(/Overlap: the old secret still works/).closest("li")).toHaveTextContent(`until ${d("2026-12-18")}`);
    // The new secret stays hidden until Reveal; Copy goes through the shell.
    expect(within(card).queryByText(SECRET_VALUE)).toBeNull();
    await user.click(within(card).getByRole("button", { name: "Reveal new App Secret" }));
    expect(within(card).getByText(SECRET_VALUE)).toBeInTheDocument();
    await user.click(within(card).getByRole("button", { name: "Copy new App Secret" }));
    expect(fake.backend.copySecret).toHaveBeenCalledWith("tonic-contoso", "main");
    // Exports include the calendar reminder for the new expiry.
    await user.click(within(card).getByRole("button", { name: "Expiry reminder for your calendar (.ics)" }));
    await within(card).findByText(/Saved to/);
    expect(fake.backend.exportRotation).toHaveBeenCalledWith("tonic-contoso", "ics", false);
    // Both secrets show while the overlap is open.
    expect(within(card).getByText(re`Old secret: ${"2026-12-16"}`)).toBeInTheDocument();
    await user.click(within(card).getByRole("button", { name: "TonicDM now uses the new secret" }));
    await within(cardOf("TonicDM")).findByText(/Rotation finished/);
    card = cardOf("TonicDM");
    expect(within(card).queryByText(/Old secret/)).toBeNull();
    expect(within(card).getByText("OK: the secret is valid for a while.")).toBeInTheDocument();
    expect(within(card).queryByText("Give TonicDM the new values")).toBeNull();
  });

  test("Rotate all due asks once for the overlap, then rotates each due connection", async () => {
    const { user, fake } = await openDashboard();
    await user.click(screen.getByRole("button", { name: "Rotate all due (2)" }));
    expect(screen.getByRole("group", { name: "Rotate all due" })).toHaveTextContent(
      "Totalview in contoso.onmicrosoft.com, TonicDM in contoso.onmicrosoft.com",
    );
    await user.selectOptions(screen.getByLabelText("Keep the old secrets working for"), "3 days");
    await user.click(screen.getByRole("button", { name: "Rotate 2 connections" }));
    await screen.findByText(/Rotated 2 of 2 connections/);
    expect(fake.backend.rotateConnection).toHaveBeenNthCalledWith(1, "totalview-contoso", 3, expect.any(Function));
    expect(fake.backend.rotateConnection).toHaveBeenNthCalledWith(2, "tonic-contoso", 3, expect.any(Function));
  });

  test("no connections: says so and offers the wizard", async () => {
    const fake = new FakeBackend();
    fake.dashboard = [];
    const user = userEvent.setup();
    render(App, { backend: fake.backend });
    await user.click(screen.getByRole("button", { name: "Your connections" }));
    await screen.findByRole("heading", { name: "No connections yet" });
    expect(screen.queryByRole("group", { name: /Secrets on a timeline/ })).toBeNull();
    await user.click(screen.getByRole("button", { name: "Connect your first vendor" }));
    await screen.findByRole("heading", { level: 2, name: /Where do you want to connect/ });
  });

  test("a list that cannot be read says what to do, and Try again reads it again", async () => {
    const fake = new FakeBackend();
    fake.failNext("loadDashboard", ipcError("vault", "connections.json is damaged.", "A copy was kept; restore it or start afresh."));
    const user = userEvent.setup();
    render(App, { backend: fake.backend });
    await user.click(screen.getByRole("button", { name: "Your connections" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("connections.json is damaged.");
    await user.click(screen.getByRole("button", { name: "Try again" }));
    await screen.findByRole("heading", { name: "The year ahead" });
  });
});

describe("Reminders on start", () => {
  test("Start says what is due within 30 days and leads to the dashboard", async () => {
    const fake = new FakeBackend();
    const user = userEvent.setup();
    render(App, { backend: fake.backend });
    const notice = await screen.findByText(/2 secrets are due within 30 days/);
    expect(notice.closest("div")).toHaveTextContent("TonicDM in contoso.onmicrosoft.com (expires in 12 days)");
    expect(fake.backend.reminders).toHaveBeenCalledTimes(1);
    await user.click(screen.getByRole("button", { name: "Review and rotate" }));
    await screen.findByRole("heading", { level: 2, name: "Your connections" });
  });

  test("nothing due: no notice", async () => {
    const fake = new FakeBackend();
    fake.dueReminder = false;
    render(App, { backend: fake.backend });
    await waitFor(() => expect(fake.backend.reminders).toHaveBeenCalled());
    expect(screen.queryByText(/due within 30 days/)).toBeNull();
  });
});

describe("An interrupted rotation", () => {
  test("shows where it stopped and continues from there", async () => {
    const fake = new FakeBackend();
    const tonic = fake.dashboard[0];
    fake.dashboard[0] = {
      ...tonic,
      apps: tonic.apps.map((a) => ({ ...a, rotation: "stored" as const })),
      states: [{ kind: "rotation_in_progress", severity: "warning", appKey: "main", text: "Rotation of TonicDM Office 365 Token was interrupted before the new secret was proved: rotate again to continue", at: null }],
    };
    const { user } = await openDashboard(fake);
    const card = cardOf("TonicDM");
    expect(within(card).getByText("Stored in this computer's credential store").closest("li")).toHaveClass("done");
    expect(within(card).getByText("Proved: the new secret gets a token").closest("li")).toHaveAttribute("aria-current", "step");
    expect(within(card).queryByRole("button", { name: /Rotate the secret/ })).toBeNull();
    await user.click(within(card).getByRole("button", { name: "Continue the rotation" }));
    await within(cardOf("TonicDM")).findByText("Give TonicDM the new values");
    expect(fake.backend.rotateConnection).toHaveBeenCalledWith("tonic-contoso", 7, expect.any(Function));
  });
});

describe("Practice connections", () => {
  const deletedPractice = (fake: FakeBackend) => {
    const ttr = fake.dashboard[3];
    fake.dashboard[3] = {
      ...ttr,
      states: [{ kind: "app_deleted", severity: "critical", appKey: "main", text: 'The app "timetoreply" was deleted in the tenant', at: null }],
    };
  };

  test("an app gone because the practice tenant started empty says why", async () => {
    const fake = new FakeBackend();
    deletedPractice(fake);
    fake.practiceFreshSince = "2026-12-04T11:00:00Z"; // after the connection was made
    await openDashboard(fake);
    expect(within(cardOf("timetoreply")).getByText(/was deleted in the tenant\. The practice tenant started empty this time/)).toBeInTheDocument();
  });

  test("an app deleted while the saved practice tenant ran gets no such excuse", async () => {
    const fake = new FakeBackend();
    deletedPractice(fake);
    await openDashboard(fake);
    const text = within(cardOf("timetoreply")).getByText(/was deleted in the tenant\./);
    expect(text).not.toHaveTextContent(/started empty/);
  });
});
