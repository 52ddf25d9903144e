import { describe, expect, test } from "vitest";
import { inputFieldsOf, Wizard } from "./wizard.svelte";
import { FakeBackend, ipcError, tonicPlan, tonicRecipe, ttrRecipe } from "../test/fakeBackend";
import type { PlanView } from "./types";

async function signedIn(fake = new FakeBackend(), recipe = tonicRecipe) {
  const wizard = new Wizard(fake.backend);
  await wizard.startPractice();
  wizard.chooseRecipe(recipe);
  wizard.toSignIn();
  await wizard.signInBrowser();
  await wizard.toReview();
  return wizard;
}

describe("Wizard", () => {
  test("inputs fall back to their labels as keys when the shell sends no ids", () => {
    const { inputFields: _drop, ...withoutIds } = ttrRecipe;
    expect(inputFieldsOf(withoutIds)).toEqual([
      { id: "Your timetoreply portal address", label: "Your timetoreply portal address", help: null, example: null },
    ]);
    expect(inputFieldsOf(ttrRecipe)[0].id).toBe("portal_url");
  });

  test("a vendor with inputs is ready only once each has a value", () => {
    const wizard = new Wizard(new FakeBackend().backend);
    expect(wizard.vendorReady).toBe(false);
    wizard.chooseRecipe(ttrRecipe);
    expect(wizard.vendorReady).toBe(false);
    wizard.setInput("portal_url", "  ");
    expect(wizard.vendorReady).toBe(false);
    wizard.setInput("portal_url", "https://ttr.contoso.com");
    expect(wizard.vendorReady).toBe(true);
    wizard.chooseRecipe(tonicRecipe);
    expect(wizard.choices.inputs).toEqual({});
  });

  test("the plan is made once after sign-in and not again on Review when nothing changed", async () => {
    const fake = new FakeBackend();
    const wizard = await signedIn(fake);
    expect(wizard.screen).toBe("review");
    expect(wizard.plan?.vendor).toBe("TonicDM");
    expect(fake.backend.planRecipe).toHaveBeenCalledTimes(1);
    wizard.back();
    wizard.back();
    wizard.chooseRecipe(tonicRecipe);
    wizard.toSignIn();
    await wizard.toReview();
    expect(fake.backend.planRecipe).toHaveBeenCalledTimes(1);
    await wizard.setLifetime(6);
    expect(fake.backend.planRecipe).toHaveBeenCalledTimes(2);
  });

  test("a newer plan wins over an older one that answers later", async () => {
    const fake = new FakeBackend();
    const wizard = await signedIn(fake);
    let releaseOld: (p: PlanView) => void = () => {};
    fake.backend.planRecipe.mockImplementationOnce(() => new Promise((resolve) => (releaseOld = resolve)));
    const old = wizard.setLifetime(3);
    await wizard.setLifetime(9);
    releaseOld(tonicPlan({ inputs: {}, appNames: {}, secretLifetimeMonths: 3, credentials: {} }));
    await old;
    expect(wizard.plan?.lifetime.requestedMonths).toBe(9);
    expect(wizard.planning).toBe(false);
  });

  test("apply turns events into per-step states; done steps start as already done", async () => {
    const fake = new FakeBackend();
    fake.doneSteps = ["main/register"];
    fake.applyScripts = [
      {
        events: [
          { event: "stepStarted", data: { step: "main/sp" } },
          { event: "waiting", data: { step: "main/sp", reason: "replication", attempt: 2, delayMs: 1000, message: "Microsoft is still setting up…" } },
        ],
        result: { ok: false, failures: [{ step: "main/sp", code: "timeout", message: "Gave up waiting.", hint: "Try again in a minute." }] },
      },
    ];
    const wizard = await signedIn(fake);
    await wizard.apply();
    expect(wizard.progress["main/register"]).toEqual({ state: "already" });
    expect(wizard.progress["main/sp"]).toEqual({ state: "failed", message: "Gave up waiting.", hint: "Try again in a minute." });
    expect(wizard.progress["main/secret"]).toEqual({ state: "pending" });
    expect(wizard.applyOutcome).toBe("failed");
    expect(wizard.screen).toBe("apply");
  });

  test("a cancelled run leaves no step running and can be resumed", async () => {
    const fake = new FakeBackend();
    fake.applyScripts = [
      { events: [{ event: "stepStarted", data: { step: "main/register" } }], result: { ok: false, failures: [] }, pauseAfter: 1 },
    ];
    fake.hold("applyPlan");
    const wizard = await signedIn(fake);
    const run = wizard.apply();
    await new Promise((r) => setTimeout(r, 0));
    expect(wizard.progress["main/register"]).toEqual({ state: "running" });
    await wizard.cancelApply();
    await run;
    expect(wizard.applyOutcome).toBe("cancelled");
    expect(wizard.progress["main/register"]).toEqual({ state: "pending" });
    await wizard.retryApply();
    expect(wizard.screen).toBe("verify");
    expect(wizard.checks).toHaveLength(3);
  });

  test("an apply error without a hint still gets a next action", async () => {
    const fake = new FakeBackend().failNext("applyPlan", ipcError("apply", "The run journal could not be written."));
    const wizard = await signedIn(fake);
    await wizard.apply();
    expect(wizard.applyProblem).toEqual({
      code: "apply",
      message: "The run journal could not be written.",
      hint: expect.stringContaining("Try again"),
    });
  });

  test("a cancelled sign-in reports no error, and a late answer is ignored", async () => {
    const fake = new FakeBackend().hold("signInBrowser");
    const wizard = new Wizard(fake.backend);
    await wizard.startPractice();
    const pending = wizard.signInBrowser();
    expect(wizard.signIn).toBe("browser");
    await wizard.cancelSignIn();
    await pending;
    expect(wizard.signIn).toBe("idle");
    expect(wizard.session).toBeNull();
    expect(wizard.signInProblem).toBeNull();
  });

  test("the device-code link opens through the shell, and a refused link is a sign-in problem", async () => {
    const fake = new FakeBackend();
    const wizard = new Wizard(fake.backend);
    await wizard.openLink("https://microsoft.com/devicelogin");
    expect(fake.backend.openExternal).toHaveBeenCalledWith("https://microsoft.com/devicelogin");
    expect(wizard.signInProblem).toBeNull();

    fake.failNext(
      "openExternal",
      ipcError("sign_in", "AppGrant opens only Microsoft's sign-in pages for the chosen cloud (and the practice tenant)."),
    );
    await wizard.openLink("https://evil.example/devicelogin");
    expect(wizard.signInProblem?.code).toBe("sign_in");
    expect(wizard.signInProblem?.message).toMatch(/only Microsoft's sign-in pages/);
  });

  test("an invalid recipe file keeps one problem per line", async () => {
    const fake = new FakeBackend().failNext(
      "importRecipe",
      ipcError("invalid_recipe", "a.toml, line 2: x\n\na.toml, line 9: y\n"),
    );
    const wizard = new Wizard(fake.backend);
    await wizard.importRecipe("a.toml", "x");
    expect(wizard.importProblem?.lines).toEqual(["a.toml, line 2: x", "a.toml, line 9: y"]);
    expect(wizard.importProblem?.hint).toMatch(/import it again/);
  });

  test("opening the other tenant signs the old session out", async () => {
    const fake = new FakeBackend();
    const wizard = await signedIn(fake);
    await wizard.useTenant("fabrikam.com");
    expect(fake.backend.signOut).toHaveBeenCalled();
    expect(wizard.session).toBeNull();
    expect(wizard.practice).toBe(false);
    expect(wizard.tenant?.label).toBe("fabrikam.com");
  });
});
