// The wizard's state and every call it makes to the shell. Components render it and call its
// methods; keeping it here makes the flow testable without a DOM.

import { IpcError, type Backend, type ExportFormat } from "./ipc";
import { toProblem, type Problem } from "./errors";
import { presenter, showPresenter } from "./presenter.svelte";
import { CLOUDS } from "./types";
import { readFileBase64 } from "./certificates";
import type {
  ApplyEvent,
  CertificateExport,
  CertificateExportFormat,
  CertificateInfo,
  Choices,
  CredentialKind,
  CloudId,
  ConnectionCard,
  DeviceCode,
  DoneView,
  InputField,
  MailboxLimitOutcome,
  SignInLimit,
  PlanView,
  Recipient,
  RecipeCard,
  ScenarioMenu,
  SessionInfo,
  TenantInfo,
  VerifyCheck,
} from "./types";

export const SCREENS = [
  { id: "start", label: "Start" },
  { id: "vendor", label: "Choose vendor" },
  { id: "signin", label: "Sign in" },
  { id: "review", label: "Review" },
  { id: "apply", label: "Apply" },
  { id: "verify", label: "Verify" },
  { id: "done", label: "Done" },
] as const;

export type Screen = (typeof SCREENS)[number]["id"];

/** What one plan step is doing on the Apply screen. */
export type StepState =
  | { state: "pending" }
  | { state: "already" }
  | { state: "blocked"; reason: string }
  | { state: "running" }
  | { state: "waiting"; message: string; attempt: number }
  | { state: "done"; detail: string | null }
  | { state: "skipped"; reason: string }
  | { state: "failed"; message: string; hint: string }
  | { state: "stopped"; hint: string };

export type SignInState = "idle" | "browser" | "device-starting" | "device";
export type ApplyOutcome = "ok" | "failed" | "cancelled";

/** A recipe-file error: the shell's message holds one problem per line. */
export interface ImportProblem extends Problem {
  fileName: string;
  lines: string[];
}

/** The recipe's inputs with the key their value goes under in `Choices.inputs`. */
export function inputFieldsOf(recipe: RecipeCard | null): InputField[] {
  if (!recipe) return [];
  return recipe.inputFields ?? recipe.inputs.map((label) => ({ id: label, label, help: null, example: null }));
}

const emptyChoices = (): Choices => ({ inputs: {}, appNames: {}, secretLifetimeMonths: null, credentials: {} });

/** A vendor's certificate file as Review read it for one app. */
export interface VendorCertificate {
  fileName: string;
  reading: boolean;
  /** Base64 of the file as chosen (public: a certificate, never a key). */
  contentBase64: string | null;
  info: CertificateInfo | null;
  /** The file could not be used at all (unreadable, or it holds a private key). */
  problem: Problem | null;
}

export class Wizard {
  readonly backend: Backend;

  screen = $state<Screen>("start");

  // Start
  tenant = $state.raw<TenantInfo | null>(null);
  /** The cloud chosen for "my organisation's tenant" (kept for the session). */
  cloud = $state<CloudId>("global");
  /** The organisation's own sign-in app, for clouds where Microsoft has none (China). */
  clientId = $state("");
  opening = $state<"practice" | "tenant" | null>(null);
  tenantProblem = $state.raw<Problem | null>(null);
  connections = $state.raw<ConnectionCard[] | null>(null);
  connectionsProblem = $state.raw<Problem | null>(null);

  // Choose vendor
  recipe = $state.raw<RecipeCard | null>(null);
  imported = $state.raw<RecipeCard[]>([]);
  importing = $state(false);
  importProblem = $state.raw<ImportProblem | null>(null);
  choices = $state<Choices>(emptyChoices());

  // Sign in
  signIn = $state<SignInState>("idle");
  deviceCode = $state.raw<DeviceCode | null>(null);
  session = $state.raw<SessionInfo | null>(null);
  signInProblem = $state.raw<Problem | null>(null);
  /** Bumped by each sign-in and by cancel, so a late answer from an older attempt is ignored. */
  #signInSeq = 0;

  // Review
  plan = $state.raw<PlanView | null>(null);
  planning = $state(false);
  planProblem = $state.raw<Problem | null>(null);
  #planSeq = 0;
  /** The recipe and choices the latest plan request was for. */
  #plannedFor = "";

  /** The credential kind shown as chosen per app (a vendor certificate may still await its file). */
  credentialPicks = $state<Record<string, CredentialKind>>({});
  vendorCertificates = $state<Record<string, VendorCertificate>>({});
  #certificateSeq: Record<string, number> = {};

  // Apply
  progress = $state<Record<string, StepState>>({});
  applying = $state(false);
  cancelling = $state(false);
  applyOutcome = $state<ApplyOutcome | null>(null);
  applyProblem = $state.raw<Problem | null>(null);
  /** The latest thing that happened, for the screen reader's live region. */
  activity = $state("");

  // Verify
  checks = $state.raw<VerifyCheck[] | null>(null);
  verifying = $state(false);
  verifyProblem = $state.raw<Problem | null>(null);

  // Done
  done = $state.raw<DoneView | null>(null);
  finishing = $state(false);
  doneProblem = $state.raw<Problem | null>(null);

  constructor(backend: Backend) {
    this.backend = backend;
  }

  get stepIndex(): number {
    return SCREENS.findIndex((s) => s.id === this.screen);
  }

  /** Presenter mode: a calm pace, so nothing moves on by itself. */
  get presenting(): boolean {
    return presenter.on;
  }

  get practice(): boolean {
    return this.tenant?.practice ?? false;
  }

  get inputFields(): InputField[] {
    return inputFieldsOf(this.recipe);
  }

  /** A vendor is chosen and every input it asks for has a value. */
  get vendorReady(): boolean {
    return this.recipe !== null && this.inputFields.every((f) => (this.choices.inputs[f.id] ?? "").trim() !== "");
  }

  get failedChecks(): number {
    return this.checks?.filter((c) => c.status === "failed").length ?? 0;
  }

  // ---- Start ----

  /**
   * Opens the tenant the app was started with (scripts/start.sh opens the practice tenant) or
   * the one chosen last time, in presenter mode if it was on.
   */
  async launch(): Promise<void> {
    try {
      const options = await this.backend.launchOptions();
      showPresenter(options.presenter ?? false);
      if (options.start === "practice") await this.startPractice();
      else if (options.start === "tenant") {
        if (options.cloud && CLOUDS.some((c) => c.id === options.cloud)) this.cloud = options.cloud;
        if (options.clientId) this.clientId = options.clientId;
        await this.useTenant(options.tenant ?? "");
      }
    } catch {
      // Without launch options the Start screen simply asks.
    }
  }

  presenterProblem = $state.raw<Problem | null>(null);

  /** Presenter mode on or off, at once on screen; the shell remembers it for next time. */
  async setPresenter(on: boolean): Promise<void> {
    showPresenter(on);
    this.presenterProblem = null;
    try {
      await this.backend.setPresenter(on);
    } catch (error) {
      this.presenterProblem = toProblem(error);
    }
  }

  // ---- Practice scenarios (the presenter's menu) ----

  scenarioMenu = $state.raw<ScenarioMenu | null>(null);
  choosingScenario = $state(false);
  scenarioProblem = $state.raw<Problem | null>(null);
  /** What the last scenario did, said once on screen. */
  scenarioSaid = $state("");

  async loadScenarios(): Promise<void> {
    try {
      this.scenarioMenu = await this.backend.practiceScenarios();
    } catch (error) {
      this.scenarioProblem = toProblem(error);
    }
  }

  /**
   * Puts the practice tenant into a scenario. What was read from the tenant is read again:
   * a run in progress goes back to Sign in with the chosen vendor (signed out when the
   * scenario wants another account or resets the tenant); a finished one to the vendor list.
   */
  async chooseScenario(id: string): Promise<void> {
    if (this.choosingScenario) return;
    this.choosingScenario = true;
    this.scenarioProblem = null;
    try {
      const chosen = await this.backend.choosePracticeScenario(id);
      this.tenant = chosen.tenant;
      if (this.scenarioMenu) this.scenarioMenu = { ...this.scenarioMenu, active: chosen.active };
      if (chosen.signedOut) this.session = null;
      if (this.screen === "done") {
        // Finished: the next vendor starts from the list, in the new scenario.
        this.startOver();
      } else {
        this.#forgetRun();
        if (!["start", "vendor"].includes(this.screen)) this.screen = this.vendorReady ? "signin" : "vendor";
      }
      const title = this.scenarioMenu?.scenarios.find((s) => s.id === id)?.title ?? id;
      const added = chosen.addedApps.length ? ` Put back: ${chosen.addedApps.join(", ")}.` : "";
      this.scenarioSaid = `${title}: done.${chosen.signedOut ? " Sign in again." : ""}${added}`;
      if (this.session && this.screen === "signin") void this.#skipSignedIn();
    } catch (error) {
      this.scenarioProblem = toProblem(error);
    } finally {
      this.choosingScenario = false;
    }
  }

  async loadConnections(): Promise<void> {
    this.connectionsProblem = null;
    try {
      this.connections = await this.backend.listConnections();
    } catch (error) {
      this.connectionsProblem = toProblem(error);
    }
  }

  async startPractice(): Promise<void> {
    await this.#openTenant("practice", () => this.backend.startPractice());
  }

  /** An empty value means "any work account". Uses the chosen cloud (and own sign-in app). */
  async useTenant(value: string): Promise<void> {
    const needsClientId = CLOUDS.find((c) => c.id === this.cloud)?.needsClientId ?? false;
    const clientId = needsClientId ? this.clientId.trim() || null : null;
    await this.#openTenant("tenant", () =>
      this.backend.useTenant(value.trim() || "organizations", this.cloud, clientId),
    );
  }

  async #openTenant(kind: "practice" | "tenant", open: () => Promise<TenantInfo>): Promise<void> {
    if (this.opening) return;
    this.opening = kind;
    this.tenantProblem = null;
    try {
      const tenant = await open();
      if (this.session) await this.signOut();
      this.tenant = tenant;
      this.screen = "vendor";
    } catch (error) {
      this.tenantProblem = toProblem(error);
    } finally {
      this.opening = null;
    }
  }

  // ---- Choose vendor ----

  /**
   * A vendor tile was pressed: it is chosen and, when it asks for nothing more, the wizard
   * goes on to Sign in (Back returns; in presenter mode the presenter presses Continue).
   */
  pickRecipe(recipe: RecipeCard): void {
    this.chooseRecipe(recipe);
    if (!this.presenting && this.inputFields.length === 0) this.toSignIn();
  }

  chooseRecipe(recipe: RecipeCard): void {
    if (this.recipe?.id !== recipe.id) {
      this.choices = emptyChoices();
      this.#forgetCredentials();
      this.plan = null;
      this.planProblem = null;
    }
    this.recipe = recipe;
  }

  setInput(id: string, value: string): void {
    this.choices.inputs[id] = value;
  }

  /** `readError`: the file could not even be read; it is reported the same way. */
  async importRecipe(fileName: string, text: string, readError?: unknown): Promise<void> {
    this.importing = true;
    this.importProblem = null;
    try {
      if (readError !== undefined) throw readError;
      const recipe = await this.backend.importRecipe(fileName, text);
      this.imported = [...this.imported.filter((r) => r.id !== recipe.id), recipe];
      this.chooseRecipe(recipe);
    } catch (error) {
      const problem = toProblem(error);
      const lines =
        problem.code === "invalid_recipe"
          ? problem.message
              .split("\n")
              .map((l) => l.trim())
              .filter(Boolean)
          : [problem.message];
      this.importProblem = { ...problem, fileName, lines };
    } finally {
      this.importing = false;
    }
  }

  // ---- Sign in ----

  async signInBrowser(): Promise<void> {
    await this.#signIn("browser", () => this.backend.signInBrowser());
  }

  async signInWithCode(): Promise<void> {
    await this.#signIn("device-starting", async (current) => {
      const code = await this.backend.startDeviceCode();
      if (!current()) throw new Error("cancelled");
      this.deviceCode = code;
      this.signIn = "device";
      return this.backend.finishDeviceCode();
    });
  }

  async #signIn(state: SignInState, run: (current: () => boolean) => Promise<SessionInfo>): Promise<void> {
    if (this.signIn !== "idle") return;
    const seq = ++this.#signInSeq;
    const current = () => seq === this.#signInSeq;
    this.signIn = state;
    this.signInProblem = null;
    try {
      const session = await run(current);
      if (!current()) return;
      this.session = session;
      this.plan = null;
      this.scenarioSaid = "";
      // Read the tenant now, so a missing consent right shows up here, not after Review.
      void this.#skipSignedIn();
    } catch (error) {
      if (current()) this.signInProblem = toProblem(error);
    } finally {
      if (current()) {
        this.signIn = "idle";
        this.deviceCode = null;
      }
    }
  }

  /**
   * Reads the tenant for the plan and, when the signed-in screen leaves nothing to decide (the
   * account can do everything the plan needs), goes straight on to Review; the account stays
   * named in the header, and Back shows the signed-in screen. Not in presenter mode.
   */
  async #skipSignedIn(): Promise<void> {
    const planned = this.#planIsCurrent() || (await this.makePlan());
    const clear = planned && this.session && !this.session.rememberProblem && !this.plan?.consentHandoff;
    if (clear && !this.presenting && this.screen === "signin") this.screen = "review";
  }

  async cancelSignIn(): Promise<void> {
    this.#signInSeq++;
    this.signIn = "idle";
    this.deviceCode = null;
    try {
      await this.backend.cancelSignIn();
    } catch (error) {
      this.signInProblem = toProblem(error);
    }
  }

  /** Opens the device-code page (or a consent link) in the system browser; a refusal or
   * failure shows as a sign-in problem, and the link can still be copied. */
  async openLink(url: string): Promise<void> {
    try {
      await this.backend.openExternal(url);
    } catch (error) {
      this.signInProblem = toProblem(error);
    }
  }

  async signOut(): Promise<void> {
    this.session = null;
    this.plan = null;
    try {
      await this.backend.signOut();
    } catch {
      // Signing out only forgets the session in the shell; a failure leaves nothing to act on.
    }
  }

  // ---- Review ----

  /** Reads the tenant and builds the plan; a newer call wins over an older one still running. */
  async makePlan(): Promise<boolean> {
    if (!this.recipe) return false;
    const seq = ++this.#planSeq;
    this.planning = true;
    this.planProblem = null;
    const choices = $state.snapshot(this.choices);
    this.#plannedFor = JSON.stringify([this.recipe.id, choices]);
    try {
      const plan = await this.backend.planRecipe(this.recipe.id, choices);
      if (seq !== this.#planSeq) return false;
      this.plan = plan;
      return true;
    } catch (error) {
      if (seq !== this.#planSeq) return false;
      this.planProblem = toProblem(error);
      return false;
    } finally {
      if (seq === this.#planSeq) this.planning = false;
    }
  }

  async setAppName(key: string, name: string): Promise<void> {
    const current = this.plan?.apps.find((a) => a.key === key)?.displayName;
    if (name.trim() === "" || name === current) return;
    this.choices.appNames[key] = name.trim();
    await this.makePlan();
  }

  async setLifetime(months: number): Promise<void> {
    this.choices.secretLifetimeMonths = months;
    await this.makePlan();
  }

  // ---- Review: how each app proves who it is ----

  /** The kind chosen for an app: the admin's pick, else what the plan proposes, else a secret. */
  credentialKind(appKey: string): CredentialKind {
    return (
      this.credentialPicks[appKey] ?? this.plan?.apps.find((a) => a.key === appKey)?.credential?.kind ?? "secret"
    );
  }

  /** A secret or a generated certificate re-plans at once; the vendor's waits for its file. */
  async chooseCredential(appKey: string, kind: CredentialKind): Promise<void> {
    if (this.credentialKind(appKey) === kind) return;
    this.credentialPicks[appKey] = kind;
    if (kind !== "vendor_certificate") {
      this.choices.credentials[appKey] = { kind };
      await this.makePlan();
      return;
    }
    const file = this.vendorCertificates[appKey];
    if (file?.contentBase64 && file.info && !file.info.problems.length) {
      this.choices.credentials[appKey] = { kind, fileName: file.fileName, contentBase64: file.contentBase64 };
      await this.makePlan();
    }
  }

  /** Reads the vendor's certificate file and has the shell check it; a usable one goes in the plan. */
  async readVendorCertificate(appKey: string, file: File): Promise<void> {
    const seq = (this.#certificateSeq[appKey] = (this.#certificateSeq[appKey] ?? 0) + 1);
    const current = () => this.#certificateSeq[appKey] === seq;
    this.vendorCertificates[appKey] = { fileName: file.name, reading: true, contentBase64: null, info: null, problem: null };
    // Until this file is proved usable, the plan must not carry an earlier one.
    if (this.choices.credentials[appKey]?.kind === "vendor_certificate") delete this.choices.credentials[appKey];
    let entry: VendorCertificate;
    try {
      const contentBase64 = await readFileBase64(file);
      const info = await this.backend.inspectCertificate(file.name, contentBase64);
      entry = { fileName: file.name, reading: false, contentBase64, info, problem: null };
    } catch (error) {
      entry = { fileName: file.name, reading: false, contentBase64: null, info: null, problem: toProblem(error) };
    }
    if (!current()) return;
    this.vendorCertificates[appKey] = entry;
    if (entry.info && !entry.info.problems.length && entry.contentBase64) {
      this.choices.credentials[appKey] = { kind: "vendor_certificate", fileName: entry.fileName, contentBase64: entry.contentBase64 };
      if (this.credentialKind(appKey) === "vendor_certificate") await this.makePlan();
    }
  }

  /** Why Apply must wait, one line per app whose chosen credential is not usable yet. */
  get credentialBlockers(): string[] {
    return (this.plan?.apps ?? []).flatMap((app) => {
      if (this.credentialKind(app.key) !== "vendor_certificate") return [];
      const file = this.vendorCertificates[app.key];
      const vendor = this.plan?.vendor ?? "the vendor";
      if (!file || file.reading) return [`${app.displayName}: choose the certificate file ${vendor} sent you.`];
      if (file.problem) return [`${app.displayName}: ${file.fileName} cannot be used. Choose another file.`];
      if (file.info?.problems.length) return [`${app.displayName}: ${file.fileName} cannot be used: ${file.info.problems.join(" ")}`];
      return [];
    });
  }

  #forgetCredentials(): void {
    this.credentialPicks = {};
    this.vendorCertificates = {};
    this.#certificateSeq = {};
  }

  // ---- Apply ----

  async apply(): Promise<void> {
    const plan = this.plan;
    if (!plan || this.applying || this.credentialBlockers.length) return;
    this.screen = "apply";
    this.applying = true;
    this.cancelling = false;
    this.applyOutcome = null;
    this.applyProblem = null;
    this.progress = Object.fromEntries(
      plan.steps.map((s): [string, StepState] => [
        s.id,
        s.done ? { state: "already" } : s.blocked ? { state: "blocked", reason: s.blocked } : { state: "pending" },
      ]),
    );
    this.activity = "Applying the plan.";
    try {
      const result = await this.backend.applyPlan((event) => this.#onEvent(event));
      if (this.cancelling) {
        this.applyOutcome = "cancelled";
      } else if (result.ok) {
        this.applyOutcome = "ok";
      } else {
        this.applyOutcome = "failed";
        for (const f of result.failures) {
          this.progress[f.step] =
            f.code === "cancelled" ? { state: "stopped", hint: f.hint } : { state: "failed", message: f.message, hint: f.hint };
        }
      }
    } catch (error) {
      this.applyOutcome = this.cancelling ? "cancelled" : "failed";
      if (!this.cancelling) this.applyProblem = toProblem(error);
    } finally {
      this.applying = false;
      // A cancelled step that never finished is not running any more.
      for (const [id, s] of Object.entries(this.progress)) {
        if (s.state === "running" || s.state === "waiting") this.progress[id] = { state: "pending" };
      }
    }
    this.activity =
      this.applyOutcome === "ok"
        ? "All steps are done. Checking the connection."
        : this.applyOutcome === "cancelled"
          ? "Stopped. You can continue later from where it stopped."
          : "A step failed. See what to do next.";
    // A calm pace while presenting: the presenter moves on with "Check the connection".
    if (this.applyOutcome === "ok" && !this.presenting) await this.toVerify();
  }

  #title(step: string): string {
    return this.plan?.steps.find((s) => s.id === step)?.title ?? step;
  }

  #onEvent(event: ApplyEvent): void {
    switch (event.event) {
      case "stepStarted":
        this.progress[event.data.step] = { state: "running" };
        this.activity = `${this.#title(event.data.step)}: working on it.`;
        break;
      case "waiting":
        this.progress[event.data.step] = {
          state: "waiting",
          message: event.data.message,
          attempt: event.data.attempt,
        };
        this.activity = `${this.#title(event.data.step)}: ${event.data.message}`;
        break;
      case "stepDone":
        this.progress[event.data.step] = { state: "done", detail: event.data.detail };
        this.activity = `${this.#title(event.data.step)}: done.`;
        break;
      case "stepSkipped":
        this.progress[event.data.step] = { state: "skipped", reason: event.data.reason };
        this.activity = `${this.#title(event.data.step)}: skipped.`;
        break;
      case "stepFailed":
        if (event.data.code === "cancelled") {
          this.progress[event.data.step] = { state: "stopped", hint: event.data.hint };
          this.activity = `${this.#title(event.data.step)}: stopped.`;
        } else {
          this.progress[event.data.step] = { state: "failed", message: event.data.message, hint: event.data.hint };
          this.activity = `${this.#title(event.data.step)}: failed. ${event.data.message}`;
        }
        break;
    }
  }

  async cancelApply(): Promise<void> {
    if (!this.applying || this.cancelling) return;
    this.cancelling = true;
    this.activity = "Stopping after the current step…";
    try {
      await this.backend.cancelApply();
    } catch (error) {
      this.cancelling = false;
      this.applyProblem = toProblem(error);
    }
  }

  /** Re-reads the tenant and runs again; steps already done are skipped, nothing is duplicated. */
  async retryApply(): Promise<void> {
    this.applyProblem = null;
    if (await this.makePlan()) {
      await this.apply();
    } else {
      this.applyProblem = this.planProblem;
    }
  }

  // ---- Mailbox limit (Review's people picker, then Verify) ----

  /** People and groups whose mailboxes the vendor may use. Empty: no limit (the default). */
  chosenMailboxes = $state.raw<Recipient[]>([]);
  peopleResults = $state.raw<Recipient[] | null>(null);
  searchingPeople = $state(false);
  peopleProblem = $state.raw<Problem | null>(null);
  /** Microsoft wants consent to the people-picker and Exchange permissions first. */
  limitConsentNeeded = $state(false);
  limit = $state.raw<MailboxLimitOutcome | null>(null);
  limiting = $state(false);
  limitProblem = $state.raw<Problem | null>(null);
  #peopleSeq = 0;
  #peopleQuery = "";

  #consentNeeded(error: unknown): boolean {
    return error instanceof IpcError && error.code === "sign_in" && error.detail === "admin_consent_required";
  }

  /** Which picker the last search was for (both can be on the Review screen). */
  peopleFor = $state<"mailboxes" | "signin">("mailboxes");

  async searchPeople(query: string, picker: "mailboxes" | "signin" = "mailboxes"): Promise<void> {
    const seq = ++this.#peopleSeq;
    this.#peopleQuery = query;
    this.peopleFor = picker;
    if (!query.trim()) {
      this.peopleResults = null;
      this.searchingPeople = false;
      return;
    }
    this.searchingPeople = true;
    this.peopleProblem = null;
    try {
      const found = await this.backend.searchPeople(query);
      if (seq !== this.#peopleSeq) return;
      this.peopleResults = found;
    } catch (error) {
      if (seq !== this.#peopleSeq) return;
      if (this.#consentNeeded(error)) this.limitConsentNeeded = true;
      else this.peopleProblem = toProblem(error);
    } finally {
      if (seq === this.#peopleSeq) this.searchingPeople = false;
    }
  }

  addMailbox(r: Recipient): void {
    if (!this.chosenMailboxes.some((c) => c.id === r.id)) this.chosenMailboxes = [...this.chosenMailboxes, r];
  }

  removeMailbox(id: string): void {
    this.chosenMailboxes = this.chosenMailboxes.filter((c) => c.id !== id);
  }

  /** "Sign in again to allow mailbox limiting": consents to the extra permissions. */
  async signInForMailboxLimit(): Promise<void> {
    this.limitProblem = null;
    this.peopleProblem = null;
    try {
      this.session = await this.backend.signInForMailboxLimit();
      this.limitConsentNeeded = false;
      // Carry on with what was asked: the search typed before signing in again.
      if (this.#peopleQuery.trim() && this.screen === "review") await this.searchPeople(this.#peopleQuery);
    } catch (error) {
      this.limitProblem = toProblem(error);
    }
  }

  // ---- Sign-in limit ("only these people may sign in"; not a mailbox limit) ----

  /** People and groups who may sign in. Empty: everyone in the organisation (the default). */
  chosenSignIn = $state.raw<Recipient[]>([]);
  signInLimits = $state.raw<SignInLimit[] | null>(null);
  limitingSignIn = $state(false);
  signInLimitProblem = $state.raw<Problem | null>(null);

  addSignIn(r: Recipient): void {
    if (!this.chosenSignIn.some((c) => c.id === r.id)) this.chosenSignIn = [...this.chosenSignIn, r];
  }

  removeSignIn(id: string): void {
    this.chosenSignIn = this.chosenSignIn.filter((c) => c.id !== id);
  }

  /** After Apply: assignment required plus one assignment per chosen person or group. */
  async limitSignIn(): Promise<void> {
    if (this.limitingSignIn || !this.chosenSignIn.length) return;
    this.limitingSignIn = true;
    this.signInLimitProblem = null;
    try {
      this.signInLimits = await this.backend.limitSignIn(this.chosenSignIn.map((r) => r.id));
    } catch (error) {
      if (this.#consentNeeded(error)) this.limitConsentNeeded = true;
      else this.signInLimitProblem = toProblem(error);
    } finally {
      this.limitingSignIn = false;
    }
  }

  /** The mailbox limit was removed on the Verify screen. */
  mailboxLimitRemoved = $state(false);

  /** Saves a changed list of people for an applied mailbox limit; it is checked again. */
  async changeMailboxes(): Promise<boolean> {
    if (this.limiting || !this.chosenMailboxes.length) return false;
    this.limiting = true;
    this.limitProblem = null;
    try {
      this.limit = await this.backend.changeMailboxes(this.chosenMailboxes.map((r) => r.id));
      return true;
    } catch (error) {
      if (this.#consentNeeded(error)) this.limitConsentNeeded = true;
      else this.limitProblem = toProblem(error);
      return false;
    } finally {
      this.limiting = false;
    }
  }

  /** Removes the mailbox limit; the organisation-wide grants come back. */
  async removeMailboxLimit(): Promise<void> {
    if (this.limiting) return;
    this.limiting = true;
    this.limitProblem = null;
    try {
      await this.backend.removeMailboxLimit();
      this.limit = null;
      this.chosenMailboxes = [];
      this.mailboxLimitRemoved = true;
    } catch (error) {
      if (this.#consentNeeded(error)) this.limitConsentNeeded = true;
      else this.limitProblem = toProblem(error);
    } finally {
      this.limiting = false;
    }
  }

  /** After Apply and Verify: limits the vendor to the chosen mailboxes and proves it. */
  async limitMailboxes(): Promise<void> {
    if (this.limiting || !this.chosenMailboxes.length) return;
    this.limiting = true;
    this.limitProblem = null;
    try {
      await this.backend.chooseMailboxes(this.chosenMailboxes.map((r) => r.id));
      this.limit = await this.backend.limitMailboxes();
    } catch (error) {
      if (this.#consentNeeded(error)) this.limitConsentNeeded = true;
      else this.limitProblem = toProblem(error);
    } finally {
      this.limiting = false;
    }
  }

  async verifyMailboxLimit(): Promise<void> {
    if (this.limiting) return;
    this.limiting = true;
    this.limitProblem = null;
    try {
      this.limit = await this.backend.verifyMailboxLimit();
    } catch (error) {
      if (this.#consentNeeded(error)) this.limitConsentNeeded = true;
      else this.limitProblem = toProblem(error);
    } finally {
      this.limiting = false;
    }
  }

  // ---- Verify ----

  /**
   * Verify; when every check passed and nothing else waits on this screen (no mailbox or
   * sign-in limit chosen), Done follows by itself (not in presenter mode).
   */
  async toVerify(): Promise<void> {
    this.screen = "verify";
    await this.verify();
    if (this.presenting || this.screen !== "verify" || this.verifyProblem) return;
    const allPassed = this.checks?.every((c) => c.status === "passed" || c.status === "skipped") ?? false;
    if (allPassed && !this.chosenMailboxes.length && !this.chosenSignIn.length) await this.toDone();
  }

  async verify(): Promise<void> {
    if (this.verifying) return;
    this.verifying = true;
    this.verifyProblem = null;
    try {
      this.checks = await this.backend.verify();
    } catch (error) {
      this.verifyProblem = toProblem(error);
    } finally {
      this.verifying = false;
    }
  }

  // ---- Done ----

  async toDone(): Promise<void> {
    this.screen = "done";
    await this.finish();
  }

  async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.doneProblem = null;
    try {
      this.done = await this.backend.finish();
    } catch (error) {
      this.doneProblem = toProblem(error);
    } finally {
      this.finishing = false;
    }
  }

  revealSecret(appKey: string): Promise<string> {
    if (this.presenting) {
      return Promise.reject(new IpcError("reveal_secret", { code: "vault", message: "Presenter mode never shows a secret.", hint: "Use Copy." }));
    }
    return this.backend.revealSecret(this.#connectionId(), appKey);
  }

  copySecret(appKey: string): Promise<void> {
    return this.backend.copySecret(this.#connectionId(), appKey);
  }

  exportHandoff(format: ExportFormat, includeSecrets: boolean): Promise<string> {
    return this.backend.exportHandoff(this.#connectionId(), format, includeSecrets);
  }

  exportCertificate(appKey: string, format: CertificateExportFormat): Promise<CertificateExport> {
    return this.backend.exportCertificate(this.#connectionId(), appKey, format);
  }

  copyExportPassword(): Promise<void> {
    return this.backend.copyExportPassword();
  }

  #connectionId(): string {
    if (!this.done) throw new IpcError("finish", { code: "vault", message: "The connection is not saved yet.", hint: null });
    return this.done.connectionId;
  }

  // ---- Navigation ----

  back(): void {
    const order: Screen[] = ["start", "vendor", "signin", "review"];
    const i = order.indexOf(this.screen);
    if (i > 0) this.screen = order[i - 1];
  }

  /** On to Sign in; when already signed in, on to Review if there is nothing to decide. */
  toSignIn(): void {
    if (!this.vendorReady) return;
    this.screen = "signin";
    if (this.session && !this.presenting) void this.#skipSignedIn();
  }

  async toReview(): Promise<void> {
    this.screen = "review";
    if (this.#planIsCurrent() || (this.#sameChoices() && this.planning)) return;
    await this.makePlan();
  }

  /** The latest plan request was for the chosen recipe and choices. */
  #sameChoices(): boolean {
    return !!this.recipe && this.#plannedFor === JSON.stringify([this.recipe.id, $state.snapshot(this.choices)]);
  }

  /** A plan for the chosen recipe and choices is here, without a problem. */
  #planIsCurrent(): boolean {
    return this.#sameChoices() && !!this.plan && !this.planProblem;
  }

  /** Back to Start for another vendor; the tenant and sign-in are kept. */
  startOver(): void {
    this.recipe = null;
    this.choices = emptyChoices();
    this.#forgetCredentials();
    this.#forgetRun();
    // Same tenant, same sign-in: the next vendor starts from the vendor list.
    this.screen = this.tenant ? "vendor" : "start";
    void this.loadConnections();
  }

  /** Forgets the plan and everything after it (the vendor and its inputs stay). */
  #forgetRun(): void {
    this.plan = null;
    this.planProblem = null;
    this.progress = {};
    this.applyOutcome = null;
    this.checks = null;
    this.done = null;
    this.chosenMailboxes = [];
    this.peopleResults = null;
    this.limit = null;
    this.limitProblem = null;
    this.chosenSignIn = [];
    this.signInLimits = null;
    this.signInLimitProblem = null;
    this.mailboxLimitRemoved = false;
  }
}
