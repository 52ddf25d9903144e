// Apps made by hand before AppGrant, through the fake shell: finding them from the dashboard
// (the reason in words), adopting TonicDM, its drift in the portal's order, rotating before
// fixing, the fix leaving nothing; and the tenant-wide expiry report's filter, sort and CSV.

import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import { FakeBackend, HAND_TONIC_ID, ipcError } from "../test/fakeBackend";

async function openAdopt(fake = new FakeBackend()) {
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  await user.click(screen.getByRole("button", { name: "Your connections" }));
  await user.click(await screen.findByRole("button", { name: "Find apps already in this tenant" }));
  await screen.findByRole("heading", { level: 2, name: "Apps already in this tenant" });
  return { user, fake };
}

describe("finding and adopting hand-made vendor apps", () => {
  test("lists the matches with the reason in words and the risky strangers", async () => {
    const { user, fake } = await openAdopt();
    await user.click(screen.getByRole("button", { name: "Find apps already in this tenant" }));
    const tonic = await screen.findByRole("article", { name: "TonicDM O365 Org Token" });
    expect(tonic).toHaveTextContent(/TonicDM, high confidence\. Holds MailboxSettings\.ReadWrite, Mail\.ReadWrite and User\.Read\.All/);
    expect(tonic).toHaveTextContent("also holds Calendars.Read, which the recipe does not ask for");
    expect(screen.getByText(/6 app registrations read; 2 look like a vendor app/)).toBeInTheDocument();
    expect(screen.getByText("Legacy Mail Archiver")).toBeInTheDocument();
    expect(fake.backend.findVendorApps).toHaveBeenCalledOnce();
  });

  test("adopting TonicDM shows its drift, asks to rotate first, and the fix leaves nothing", async () => {
    const { user, fake } = await openAdopt();
    await user.click(screen.getByRole("button", { name: "Find apps already in this tenant" }));
    await user.click(await screen.findByRole("button", { name: "Adopt TonicDM O365 Org Token as TonicDM" }));
    expect(fake.backend.adoptApp).toHaveBeenCalledWith("tonicdm", [HAND_TONIC_ID]);
    const card = await screen.findByRole("region", { name: "TonicDM: adopted" });
    expect(card).toHaveTextContent('not held by AppGrant');
    const steps = within(card).getAllByRole("listitem").map((li) => li.textContent ?? "");
    expect(steps[0]).toMatch(/API permissions.*Remove the application permission Calendars\.Read/);
    expect(steps[1]).toMatch(/Enterprise application › Properties.*Assignment required/);
    const fix = within(card).getByRole("button", { name: "Fix these differences" });
    expect(fix).toBeDisabled();
    await user.click(within(card).getByRole("button", { name: "Rotate the secret now" }));
    expect(fake.backend.rotateConnection).toHaveBeenCalledOnce();
    expect(fake.backend.finishRotation).toHaveBeenCalledOnce();
    await user.click(fix);
    expect(fake.backend.fixAdoptedDrift).toHaveBeenCalledWith("adopted-tonic");
    expect(await within(card).findByText(/The app matches the recipe: exactly the permissions it asks for/)).toBeInTheDocument();
    expect(within(card).queryByRole("button", { name: "Fix these differences" })).not.toBeInTheDocument();
  });

  test("a read-only account is told which role adoption needs", async () => {
    const fake = new FakeBackend().failNext(
      "adoptApp",
      ipcError(
        "adopt",
        "gray.reader@contosopractice.onmicrosoft.com may read app registrations but not change them (Global Reader)",
        "Sign in as an Application Administrator or Cloud Application Administrator, or ask one to adopt it.",
      ),
    );
    const { user } = await openAdopt(fake);
    await user.click(screen.getByRole("button", { name: "Find apps already in this tenant" }));
    await user.click(await screen.findByRole("button", { name: "Adopt TonicDM O365 Org Token as TonicDM" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("may read app registrations but not change them");
    expect(alert).toHaveTextContent("Application Administrator");
    expect(screen.queryByRole("region", { name: "TonicDM: adopted" })).not.toBeInTheDocument();
  });
});

describe("the tenant-wide expiry report", () => {
  test("reads 60 days by default, filters by kind, sorts by name and exports CSV", async () => {
    const { user, fake } = await openAdopt();
    await user.click(screen.getByRole("button", { name: "Read the tenant" }));
    expect(fake.backend.expiryReport).toHaveBeenCalledWith(60, expect.any(Function));
    await screen.findByRole("table");
    const apps = () => within(screen.getByRole("table")).getAllByRole("rowheader").map((h) => h.textContent ?? "");
    expect(apps()).toHaveLength(2);
    expect(apps()[0]).toMatch(/^Totalview Calendar Sync/);
    expect(within(screen.getByRole("table")).getAllByRole("row")[1]).toHaveTextContent("expired 12 days ago");
    await user.selectOptions(screen.getByRole("combobox", { name: "Sort by" }), "app");
    expect(apps()[0]).toMatch(/^TonicDM/);
    await user.selectOptions(screen.getByRole("combobox", { name: "Expiring within" }), "");
    await user.click(screen.getByRole("button", { name: "Read again" }));
    await screen.findByText("3 credentials");
    await user.selectOptions(screen.getByRole("combobox", { name: "Kind" }), "certificate");
    expect(apps()).toEqual([expect.stringMatching(/^Contoso HR Sync/)]);
    const csv = screen.getByRole("link", { name: "Export CSV" });
    expect(csv).toHaveAttribute("download", "appgrant-expiring.csv");
    expect(decodeURIComponent(csv.getAttribute("href") ?? "")).toContain("Contoso HR Sync");
  });
});
