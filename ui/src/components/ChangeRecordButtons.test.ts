// The change record buttons (on Done and on each dashboard card): each format is saved for the
// right connection, the path is shown, and a failure is explained with its hint.

import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test, vi } from "vitest";
import App from "../App.svelte";
import ChangeRecordButtons from "./ChangeRecordButtons.svelte";
import { FakeBackend, ipcError } from "../test/fakeBackend";

describe("Change record", () => {
  test("saves the page to print and the Markdown file, and says where", async () => {
    const user = userEvent.setup();
    const saveChangeRecord = vi.fn(async (id: string, format: string) => `/home/avery/Downloads/AppGrant/${id}.${format}`);
    render(ChangeRecordButtons, { backend: { saveChangeRecord }, connectionId: "conn-1", vendor: "TonicDM" });

    await user.click(screen.getByRole("button", { name: "Save the change record of TonicDM as Page to print (.html)" }));
    expect(saveChangeRecord).toHaveBeenCalledWith("conn-1", "html");
    expect(await screen.findByRole("status")).toHaveTextContent(
      "Saved to /home/avery/Downloads/AppGrant/conn-1.html (no secret in it).",
    );

    await user.click(screen.getByRole("button", { name: /as Markdown/ }));
    expect(saveChangeRecord).toHaveBeenLastCalledWith("conn-1", "md");
    expect(await screen.findByText("/home/avery/Downloads/AppGrant/conn-1.md")).toBeInTheDocument();
  });

  test("a failure says what happened and what to do", async () => {
    const user = userEvent.setup();
    const saveChangeRecord = vi.fn(async () => {
      throw ipcError("export", "Could not write /readonly/record.html: permission denied", "Check the folder is writable.");
    });
    render(ChangeRecordButtons, { backend: { saveChangeRecord }, connectionId: "conn-1", vendor: "TonicDM" });
    await user.click(screen.getByRole("button", { name: /Page to print/ }));
    expect(await screen.findByText("The change record could not be saved.")).toBeInTheDocument();
    expect(screen.getByText(/permission denied/)).toBeInTheDocument();
    expect(screen.getByText(/Check the folder is writable/)).toBeInTheDocument();
  });

  test("each dashboard card offers its own connection's record", async () => {
    const user = userEvent.setup();
    const fake = new FakeBackend();
    render(App, { backend: fake.backend });
    await user.click(screen.getByRole("button", { name: "Your connections" }));
    await screen.findByRole("heading", { level: 2, name: "Your connections" });
    const first = fake.dashboard[0];
    const groups = await screen.findAllByRole("group", { name: /^Change record of / });
    expect(groups.length).toBe(fake.dashboard.length);
    await user.click(
      screen.getAllByRole("button", { name: new RegExp(`^Save the change record of ${first.vendor} in .* as Page to print`) })[0],
    );
    expect(fake.backend.saveChangeRecord).toHaveBeenCalledWith(first.id, "html");
  });
});
