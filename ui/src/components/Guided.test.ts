// Leading a guided session: presenter mode (header toggle, remembered through the shell, no
// secret shown, no automatic steps, the step explained), the practice scenarios menu (only in
// the practice tenant, from the keyboard) and the portal place of each Review step.
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, test } from "vitest";
import App from "../App.svelte";
import { showPresenter } from "../lib/presenter.svelte";
import { FakeBackend } from "../test/fakeBackend";

function setup(fake = new FakeBackend()) {
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  return { user, fake, backend: fake.backend };
}

const heading = (name: RegExp | string) => screen.findByRole("heading", { level: 2, name });

afterEach(() => showPresenter(false));

describe("presenter mode", () => {
  test("the header toggle turns it on, tells the shell to remember it, and explains the current step", async () => {
    const { user, backend } = setup();
    const toggle = screen.getByRole("button", { name: "Presenter mode" });
    expect(toggle).toHaveAttribute("aria-pressed", "false");
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-pressed", "true");
    expect(document.documentElement).toHaveClass("presenter");
    expect(backend.setPresenter).toHaveBeenCalledWith(true);
    const note = screen.getByRole("complementary", { name: "What this step is for" });
    expect(note).toHaveTextContent("Step 1 of 7, Start: Choose where to work");
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await heading(/Which service/);
    expect(note).toHaveTextContent("Step 2 of 7, Choose vendor");
  });

  test("remembered: a launch with presenter mode on opens presenting", async () => {
    const fake = new FakeBackend();
    fake.launch = { start: "practice", tenant: null, presenter: true };
    setup(fake);
    await heading(/Which service/);
    expect(screen.getByRole("button", { name: "Presenter mode" })).toHaveAttribute("aria-pressed", "true");
  });

  test("a calm pace to Done: nothing moves on by itself; Reveal is off with a why, Copy works", async () => {
    const fake = new FakeBackend();
    fake.checks = fake.checks.map((c) => (c.status === "warning" ? { ...c, status: "passed" } : c));
    const { user, backend } = setup(fake);
    await user.click(screen.getByRole("button", { name: "Presenter mode" }));
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    expect(screen.getByRole("heading", { level: 2, name: /Which service/ })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    await screen.findByRole("region", { name: "Signed in" });
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await user.click(await screen.findByRole("button", { name: "Apply" }));
    await screen.findByRole("button", { name: "Check the connection" });
    expect(backend.verify).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Check the connection" }));
    await user.click(await screen.findByRole("button", { name: "Continue" }));
    await heading("Give these values to TonicDM");
    const reveal = await screen.findByRole("button", { name: "Reveal App Secret" });
    expect(reveal).toBeDisabled();
    expect(reveal).toHaveAccessibleDescription("Presenter mode hides secrets from the room. Copy still works.");
    await user.click(reveal);
    expect(backend.revealSecret).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Copy App Secret" }));
    expect(backend.copySecret).toHaveBeenCalled();
    expect(await screen.findByText(/App Secret copied/)).toBeInTheDocument();
  });

  test("turning it on hides a secret already revealed", async () => {
    const fake = new FakeBackend();
    fake.checks = fake.checks.map((c) => (c.status === "warning" ? { ...c, status: "passed" } : c));
    const { user } = setup(fake);
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    await user.click(await screen.findByRole("button", { name: "Apply" }));
    await user.click(await screen.findByRole("button", { name: "Reveal App Secret" }));
    await screen.findByRole("button", { name: "Hide App Secret" });
    await user.click(screen.getByRole("button", { name: "Presenter mode" }));
    expect(await screen.findByLabelText("App Secret hidden")).toHaveTextContent("••••••");
  });
});

describe("practice scenarios", () => {
  test("only in the practice tenant; from the keyboard; another account signs out back to Sign in", async () => {
    const { user, backend } = setup();
    expect(screen.queryByRole("button", { name: /Practice scenarios/ })).toBeNull();
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    await heading(/Review/);
    const button = screen.getByRole("button", { name: "Practice scenarios" });
    button.focus();
    await user.keyboard("{ArrowDown}");
    const menu = await screen.findByRole("menu", { name: "Practice scenarios" });
    const items = Array.from(menu.querySelectorAll<HTMLElement>('[role^="menuitem"]'));
    expect(within(menu).getAllByRole("menuitemradio").length).toBe(items.length - 1);
    expect(items[0]).toHaveFocus();
    expect(items[0]).toHaveAttribute("aria-checked", "true");
    expect(items.map((i) => i.querySelector(".shows")?.textContent)).toContain("Casey gets a message to forward.");
    await user.keyboard("{ArrowDown}{ArrowDown}");
    expect(items[2]).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(backend.choosePracticeScenario).toHaveBeenCalledWith("cannot-consent");
    await heading(/Sign in to/);
    expect(await screen.findByText(/Sign in as casey.cloudapps@/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Practice scenarios: Sign in as someone who cannot consent" })).toBeInTheDocument();
    expect(screen.getByText("Sign in as someone who cannot consent: done. Sign in again.")).toBeInTheDocument();
  });

  test("Escape closes the menu and returns to its button", async () => {
    const { user } = setup();
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await heading(/Which service/);
    await user.click(screen.getByRole("button", { name: "Practice scenarios" }));
    await screen.findByRole("menu");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).toBeNull();
    expect(screen.getByRole("button", { name: "Practice scenarios" })).toHaveFocus();
  });
});

describe("the portal beside each step", () => {
  test("every Review step says where it lives; a real tenant's existing app gets a link that opens through the shell", async () => {
    const fake = new FakeBackend();
    const link = "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/x";
    fake.portalLink = link;
    const { user, backend } = setup(fake);
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    await heading(/Review/);
    const places = await screen.findAllByText(/^Entra ID → App registrations → TonicDM Office 365 Token/);
    expect(places.length).toBe(6);
    await user.click(screen.getAllByRole("button", { name: "Show in the Microsoft Entra admin center" })[0]);
    await waitFor(() => expect(backend.openExternal).toHaveBeenCalledWith(link));
  });
});

describe("fewer actions", () => {
  test("the tenant chosen last time opens again, in its cloud", async () => {
    const fake = new FakeBackend();
    fake.launch = { start: "tenant", tenant: "army.example.mil", cloud: "us_gov_dod", clientId: null };
    const { backend } = setup(fake);
    await heading(/Which service/);
    expect(backend.useTenant).toHaveBeenCalledWith("army.example.mil", "us_gov_dod", null);
  });

  test("an account that can do everything goes from sign-in to Review, and Verify to Done, by itself; Back shows the signed-in screen", async () => {
    const fake = new FakeBackend();
    fake.checks = fake.checks.map((c) => (c.status === "warning" ? { ...c, status: "passed" } : c));
    const { user } = setup(fake);
    await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
    await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
    await user.click(await screen.findByRole("button", { name: "Sign in with your browser" }));
    await heading(/Review/);
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(await screen.findByRole("region", { name: "Signed in" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await user.click(await screen.findByRole("button", { name: "Apply" }));
    await heading("Give these values to TonicDM");
  });
});
