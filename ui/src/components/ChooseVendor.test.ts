import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import ChooseVendor from "./ChooseVendor.svelte";
import { FakeBackend, ipcError } from "../test/fakeBackend";
import type { RecipeCard } from "../lib/types";

const tonic: RecipeCard = {
  id: "tonicdm",
  vendor: "TonicDM",
  displayName: "TonicDM organisation-level Office 365 token",
  description: "Lets TonicDM file e-mail.",
  apps: [
    {
      displayName: "TonicDM Office 365 Token",
      purpose: "Mailbox access",
      permissions: [
        { name: "User.Read.All", kind: "application", summary: "Read the profile of every user", risk: "read" },
        { name: "Mail.ReadWrite", kind: "application", summary: "Read, change and delete e-mail in every mailbox", risk: "write" },
      ],
    },
  ],
  maxRisk: "write",
  inputs: [],
  corrections: 2,
};

const ttr: RecipeCard = {
  id: "timetoreply",
  vendor: "timetoreply",
  displayName: "timetoreply self-hosted portal",
  description: "Measures response times.",
  apps: [
    {
      displayName: "timetoreply",
      purpose: "Analytics",
      permissions: [{ name: "Mail.ReadBasic", kind: "delegated", summary: "See senders of the person who signs in", risk: "read" }],
    },
  ],
  maxRisk: "read",
  inputs: ["Your timetoreply portal address"],
  corrections: 0,
};

const backendWith = (recipes: RecipeCard[]) => {
  const fake = new FakeBackend();
  fake.recipes = recipes;
  return fake.backend;
};

describe("Choose vendor screen", () => {
  test("lists each vendor with what it will be able to do, riskiest first", async () => {
    render(ChooseVendor, { backend: backendWith([tonic, ttr]) });
    const card = await screen.findByRole("article", { name: "TonicDM" });
    const abilities = within(card).getAllByRole("listitem").map((li) => li.textContent ?? "");
    expect(abilities[0]).toContain("Read, change and delete e-mail in every mailbox");
    expect(abilities[0]).toContain("Write");
    expect(abilities[1]).toContain("Read the profile of every user");
    expect(within(card).getByText(/Fixes 2 mistakes in TonicDM's own guide/)).toBeInTheDocument();
    expect(screen.getByRole("article", { name: "timetoreply" })).toHaveTextContent(
      "You will need: Your timetoreply portal address",
    );
  });

  test("search narrows the list by vendor or permission", async () => {
    const user = userEvent.setup();
    render(ChooseVendor, { backend: backendWith([tonic, ttr]) });
    const search = await screen.findByLabelText("Search vendors or permissions");
    await user.type(search, "mail.readwrite");
    expect(screen.queryByRole("article", { name: "timetoreply" })).toBeNull();
    expect(screen.getByRole("article", { name: "TonicDM" })).toBeInTheDocument();
    expect(screen.getByText("1 vendor shown")).toBeInTheDocument();
    await user.clear(search);
    await user.type(search, "nothing like this");
    expect(screen.getByText(/No built-in vendor matches/)).toBeInTheDocument();
  });

  test("choosing a vendor with the keyboard marks it chosen and says nothing is created yet", async () => {
    const user = userEvent.setup();
    render(ChooseVendor, { backend: backendWith([tonic, ttr]) });
    const choose = await screen.findByRole("button", { name: "Choose TonicDM" });
    choose.focus();
    await user.keyboard("{Enter}");
    expect(screen.getByRole("button", { name: "TonicDM chosen" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByText(/Nothing is created until you press Apply/)).toBeInTheDocument();
  });

  test("a failure shows the message, the hint and a way to retry", async () => {
    const fake = new FakeBackend();
    fake.recipes = [tonic];
    fake.failNext("listRecipes", ipcError("invalid_recipe", "tonicdm.toml, line 3: bad", "Fix the lines named above."));
    const backend = fake.backend;
    const user = userEvent.setup();
    render(ChooseVendor, { backend });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("tonicdm.toml, line 3: bad");
    expect(alert).toHaveTextContent("Fix the lines named above.");
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("article", { name: "TonicDM" })).toBeInTheDocument();
  });
});
