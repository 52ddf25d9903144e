import { render, screen, within } from "@testing-library/svelte";
import userEvent, { type UserEvent } from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { Choices } from "../lib/types";
import { FakeBackend, SIGN_IN_EXPLANATION, ipcError, tonicDone, ttrPlan } from "../test/fakeBackend";

const heading = (name: RegExp | string) => screen.findByRole("heading", { level: 2, name });

/** A vendor whose app people sign in to (timetoreply's plan: both pickers are offered). */
function setup(fake = new FakeBackend()) {
  fake.backend.planRecipe.mockImplementation(async (_id: string, choices: Choices) => ttrPlan(choices));
  const user = userEvent.setup();
  render(App, { backend: fake.backend });
  return { user, fake, backend: fake.backend };
}

async function toReview(user: UserEvent) {
  await user.click(screen.getByRole("button", { name: "Open the practice tenant" }));
  await heading(/Which service/);
  await user.click(await screen.findByRole("button", { name: "Choose TonicDM" }));
  await heading(/Sign in to/);
  await user.click(screen.getByRole("button", { name: "Sign in with your browser" }));
  await heading(/Review what AppGrant will do/);
  await screen.findByRole("button", { name: "Apply" });
}

describe("Sign-in limit", () => {
  test("Review explains honestly that it limits sign-in, not mailboxes, and keeps its own list", async () => {
    const { user, backend } = setup();
    await toReview(user);
    expect(screen.getByRole("heading", { name: "Who may sign in" })).toBeInTheDocument();
    expect(screen.getByText(SIGN_IN_EXPLANATION)).toBeInTheDocument();
    expect(screen.getByText(/This limits who can sign in, not\s+which mailboxes the app can read/)).toBeInTheDocument();
    expect(screen.getByText("Everyone in your organisation (no limit).")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Find people who may sign in"), "Blake");
    await user.click(await screen.findByRole("button", { name: "Add Blake Sales" }));
    const list = screen.getByRole("list", { name: /People who may sign in to timetoreply/ });
    expect(within(list).getByText("Blake Sales")).toBeInTheDocument();
    // The mailbox list is separate and still empty.
    expect(screen.getByText("Everyone's (no limit).")).toBeInTheDocument();
    expect(backend.searchPeople).toHaveBeenCalledWith("Blake");
  });

  test("after Apply, Verify limits sign-in and says how many may sign in", async () => {
    const { user, backend } = setup();
    await toReview(user);
    await user.type(screen.getByLabelText("Find people who may sign in"), "Mail");
    await user.click(await screen.findByRole("button", { name: "Add Mail Connector Users" }));
    await user.clear(screen.getByLabelText("Find people who may sign in"));
    await user.type(screen.getByLabelText("Find people who may sign in"), "Blake");
    await user.click(await screen.findByRole("button", { name: "Add Blake Sales" }));

    await user.click(screen.getByRole("button", { name: "Apply" }));
    await heading("Checking that the connection works");
    expect(screen.queryByRole("heading", { name: "Limit mailbox access" })).toBeNull();
    await user.click(await screen.findByRole("button", { name: "Limit who can sign in" }));
    expect(await screen.findByText("Only 2 people and groups may sign in.")).toBeInTheDocument();
    expect(screen.getByText(/Mailbox access is not limited by this/)).toBeInTheDocument();
    expect(backend.limitSignIn).toHaveBeenCalledWith(["g-mcu", "u-blake"]);
    expect(backend.limitMailboxes).not.toHaveBeenCalled();
  });

  test("nothing chosen: Verify offers no sign-in limit", async () => {
    const { user, backend } = setup();
    await toReview(user);
    await user.click(screen.getByRole("button", { name: "Apply" }));
    await heading("Checking that the connection works");
    await screen.findByRole("button", { name: "Continue" });
    expect(screen.queryByRole("heading", { name: "Limit who can sign in" })).toBeNull();
    expect(backend.limitSignIn).not.toHaveBeenCalled();
  });

  test("Done shows who can sign in, and a refused consent offers to sign in again", async () => {
    const fake = new FakeBackend();
    const line = "Sign-in limited to 1 chosen user or group (mailbox access is not limited by this)";
    fake.doneView = { ...tonicDone, signInLimits: [line] };
    fake.failNext(
      "limitSignIn",
      ipcError("sign_in", "Microsoft wants consent first.", null, "limit_sign_in", "admin_consent_required"),
    );
    const { user, backend } = setup(fake);
    await toReview(user);
    await user.type(screen.getByLabelText("Find people who may sign in"), "Blake");
    await user.click(await screen.findByRole("button", { name: "Add Blake Sales" }));
    await user.click(screen.getByRole("button", { name: "Apply" }));
    await heading("Checking that the connection works");
    await user.click(await screen.findByRole("button", { name: "Limit who can sign in" }));
    await user.click(await screen.findByRole("button", { name: "Sign in again to allow limiting" }));
    expect(backend.signInForMailboxLimit).toHaveBeenCalledTimes(1);
    await user.click(screen.getByRole("button", { name: "Limit who can sign in" }));
    expect(await screen.findByText("Only 1 person or group may sign in.")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Continue" }));
    await heading("Give these values to TonicDM");
    const section = screen.getByRole("heading", { name: "Who can sign in" }).closest("section");
    expect(within(section as HTMLElement).getByText(line)).toBeInTheDocument();
  });
});
