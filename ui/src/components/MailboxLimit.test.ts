import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import { FakeBackend, ipcError, tonicDone } from "../test/fakeBackend";

function setup(fake = new FakeBackend()) {
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  return { user, fake, backend: fake.backend };
}

const heading = (name: RegExp | string) => screen.findByRole("heading", { level: 2, name });

async function toReview(user: UserEvent) {
  await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
  await heading(/Which service/);
  await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
  await heading(/Sign in to/);
  await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
  await heading(/Review what AppGrant will do/);
  await screen.findByRole("button", { name: "Apply" });
}

async function chooseGroup(user: UserEvent) {
  await user.type(screen.getByLabelText("Find users or groups"), "Mail");
  await user.click(await screen.findByRole("button", { name: "Add Mail Connector Users" }));
  await screen.findByRole("button", { name: "Remove Mail Connector Users" });
}

async function limitAfterApply(user: UserEvent) {
  await user.click(screen.getByRole("button", { name: "Apply" }));
  await heading("Checking that the connection works");
  await user.click(await screen.findByRole("button", { name: "Limit mailbox access" }));
}

describe("Mailbox limit", () => {
  test("the picker explains the method, searches after a pause, adds and removes people, and is off by default", async () => {
    const { user, backend } = setup();
    await toReview(user);
    expect(screen.getAllByText(/Exchange Online RBAC for\s+Applications/).length).toBeGreaterThan(0);
    expect(screen.getByText(/“Assignment required” on the enterprise app does/)).toHaveTextContent(
      /does not limit app-only access: it only controls who can sign in/,
    );
    expect(screen.getByText("Everyone's (no limit).")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Find users or groups"), "Mail");
    // One search for the whole word (debounced), not one per key.
    await screen.findByRole("button", { name: "Add Mail Connector Users" });
    expect(backend.searchPeople).toHaveBeenCalledTimes(1);
    expect(backend.searchPeople).toHaveBeenCalledWith("Mail");
    expect(screen.getByText("1 result.")).toHaveAttribute("aria-live", "polite");

    await user.click(screen.getByRole("button", { name: "Add Mail Connector Users" }));
    const chosen = screen.getByRole("list", { name: /Mailboxes TonicDM may use/ });
    expect(within(chosen).getByText("Mail Connector Users")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Added Mail Connector Users" })).toBeDisabled();

    await user.click(screen.getByRole("button", { name: "Remove Mail Connector Users" }));
    expect(screen.getByText("Everyone's (no limit).")).toBeInTheDocument();

    await user.clear(screen.getByLabelText("Find users or groups"));
    await user.type(screen.getByLabelText("Find users or groups"), "zz");
    await screen.findByText("No users or groups found.");

    // Nothing chosen: Verify offers no limit.
    await user.click(screen.getByRole("button", { name: "Apply" }));
    await heading("Checking that the connection works");
    await screen.findByRole("button", { name: "Continue" });
    expect(screen.queryByRole("heading", { name: "Limit mailbox access" })).toBeNull();
    expect(backend.limitMailboxes).not.toHaveBeenCalled();
  });

  test("the picker is reachable and usable with the keyboard", async () => {
    const { user } = setup();
    await toReview(user);
    screen.getByLabelText("Find users or groups").focus();
    await user.keyboard("Blake");
    const add = await screen.findByRole("button", { name: "Add Blake Sales" });
    await user.tab();
    expect(add).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(await screen.findByRole("button", { name: "Remove Blake Sales" })).toBeInTheDocument();
  });

  test("verified: the probes and 'Limited to N users'; Done shows the status", async () => {
    const fake = new FakeBackend();
    fake.doneView = { ...tonicDone, mailboxLimits: ["Limited to 10 users"] };
    const { user, backend } = setup(fake);
    await toReview(user);
    await chooseGroup(user);
    await limitAfterApply(user);
    expect(await screen.findByText("Limited to 10 users")).toBeInTheDocument();
    expect(backend.chooseMailboxes).toHaveBeenCalledWith(["g-mcu"]);
    expect(screen.getByText(/Mailbox on the list — alex@contoso.com: allowed \(as it should be\)/)).toBeInTheDocument();
    expect(screen.getByText(/Mailbox outside the list — blake@contoso.com: refused \(as it should be\)/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Continue" }));
    await heading("Give these values to TonicDM");
    const section = screen.getByRole("heading", { name: "Mailbox access" }).closest("section");
    expect(within(section as HTMLElement).getByText("Limited to 10 users")).toBeInTheDocument();
  });

  test("pending: says since when and to check again later, never 'Limited to'", async () => {
    const fake = new FakeBackend();
    fake.limitStatus = "pending";
    const { user, backend } = setup(fake);
    await toReview(user);
    await chooseGroup(user);
    await limitAfterApply(user);
    expect(await screen.findByText(/Scope pending since \d\d:\d\d — Microsoft can take 30 minutes to 2 hours; check again later/)).toBeInTheDocument();
    expect(screen.queryByText(/Limited to/)).toBeNull();
    expect(screen.getByText(/blake@contoso.com: allowed/)).toBeInTheDocument();

    fake.limitStatus = "verified";
    await user.click(screen.getByRole("button", { name: "Check the limit again" }));
    expect(await screen.findByText("Limited to 10 users")).toBeInTheDocument();
    expect(backend.verifyMailboxLimit).toHaveBeenCalledTimes(1);
  });

  test("an admin without Exchange rights gets the commands to copy", async () => {
    const fake = new FakeBackend();
    fake.limitStatus = "handoff";
    const { user } = setup(fake);
    await toReview(user);
    await chooseGroup(user);
    await limitAfterApply(user);
    const commands = await screen.findByLabelText("Commands");
    expect((commands as HTMLTextAreaElement).value).toContain("New-ManagementScope");
    expect(commands).toHaveAttribute("readonly");
    expect(screen.getByRole("button", { name: "Copy the commands" })).toBeInTheDocument();
    expect(screen.getByText(/Not limited yet/)).toBeInTheDocument();
  });

  test("consent needed: 'Sign in again to allow mailbox limiting' signs in and the search works", async () => {
    const fake = new FakeBackend();
    fake.failNext(
      "searchPeople",
      ipcError("sign_in", "Microsoft wants consent first.", null, "search_people", "admin_consent_required"),
    );
    const { user, backend } = setup(fake);
    await toReview(user);
    await user.type(screen.getByLabelText("Find users or groups"), "Mail");
    const again = await screen.findByRole("button", { name: "Sign in again to allow mailbox limiting" });
    await user.click(again);
    expect(backend.signInForMailboxLimit).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.queryByRole("button", { name: "Sign in again to allow mailbox limiting" })).toBeNull());
    // The search typed before runs again by itself.
    expect(await screen.findByRole("button", { name: "Add Mail Connector Users" })).toBeInTheDocument();
    expect(backend.searchPeople).toHaveBeenCalledTimes(2);
  });

  test("the connections list shows each connection's limit status", async () => {
    setup();
    expect(await screen.findByText("Mailbox access: Limited to 10 users")).toBeInTheDocument();
  });

  test("'Change who is on the list' saves the new list and the limit goes back to pending", async () => {
    const { user, backend } = setup();
    await toReview(user);
    await chooseGroup(user);
    await limitAfterApply(user);
    await screen.findByText("Limited to 10 users");
    await user.click(screen.getByRole("button", { name: "Change who is on the list" }));
    await user.type(screen.getByLabelText("Find users or groups"), "Blake");
    await user.click(await screen.findByRole("button", { name: "Add Blake Sales" }));
    await user.click(screen.getByRole("button", { name: "Remove Mail Connector Users" }));
    await user.click(screen.getByRole("button", { name: "Save the new list" }));
    expect(backend.changeMailboxes).toHaveBeenCalledWith(["u-blake"]);
    expect(await screen.findByText(/Scope pending since/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Save the new list" })).toBeNull();
  });

  test("'Change who is on the list' can be cancelled without changing anything", async () => {
    const { user, backend } = setup();
    await toReview(user);
    await chooseGroup(user);
    await limitAfterApply(user);
    await screen.findByText("Limited to 10 users");
    await user.click(screen.getByRole("button", { name: "Change who is on the list" }));
    await user.click(screen.getByRole("button", { name: "Remove Mail Connector Users" }));
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(backend.changeMailboxes).not.toHaveBeenCalled();
    expect(screen.getByText("Mail Connector Users")).toBeInTheDocument();
  });

  test("'Remove the limit' says what will happen first, then removes it", async () => {
    const { user, backend } = setup();
    await toReview(user);
    await chooseGroup(user);
    await limitAfterApply(user);
    await screen.findByText("Limited to 10 users");
    await user.click(screen.getByRole("button", { name: "Remove the limit" }));
    const dialog = screen.getByRole("alertdialog");
    expect(dialog).toHaveTextContent(/organisation-wide mailbox\s+permissions back first/);
    expect(dialog).toHaveTextContent(/reach every\s+mailbox in your organisation again/);
    await user.click(within(dialog).getByRole("button", { name: "Keep the limit" }));
    expect(backend.removeMailboxLimit).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Remove the limit" }));
    await user.click(screen.getByRole("button", { name: "Yes, remove the limit" }));
    expect(backend.removeMailboxLimit).toHaveBeenCalledTimes(1);
    expect(await screen.findByText(/The mailbox limit is removed/)).toBeInTheDocument();
    expect(screen.queryByText("Limited to 10 users")).toBeNull();
  });
});
