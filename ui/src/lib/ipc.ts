// The one module that talks to the Rust shell. Components depend on the `Backend` interface,
// so tests hand them a fake one. Never pass a secret as an argument here: invoke arguments
// can end up in logs.

import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  AdoptView,
  DriftPlan,
  ExpiryView,
  ReadProgress,
  VendorFindings,
  ApplyEvent,
  ApplyResult,
  CertificateExport,
  CertificateExportFormat,
  CertificateInfo,
  CheckResult,
  Choices,
  CloudId,
  ConnectionCard,
  DashboardView,
  DeviceCode,
  DoneView,
  LaunchOptions,
  LifecycleEvent,
  MailboxLimitOutcome,
  SignInLimit,
  PlanView,
  Recipient,
  RecipeCard,
  Reminder,
  RotateResult,
  ScenarioChosen,
  ScenarioMenu,
  SessionInfo,
  TenantInfo,
  UiErrorPayload,
  VerifyCheck,
} from "./types";

export type ExportFormat = DoneView["formats"][number];
/** The change record's formats: a page to print, or Markdown. */
export type RecordFormat = "html" | "md";

/** Everything the UI asks of the Rust shell. Tests hand components a fake implementation. */
export interface Backend {
  /** How the window opens: straight into the practice tenant or a given tenant, or at Start. */
  launchOptions(): Promise<LaunchOptions>;
  /** Turns presenter mode on or off; remembered for the next launch. */
  setPresenter(on: boolean): Promise<boolean>;
  /** The practice scenarios with their one line each, and the one in effect. */
  practiceScenarios(): Promise<ScenarioMenu>;
  /** Puts the practice tenant into a scenario (code "practice" outside the practice tenant). */
  choosePracticeScenario(id: string): Promise<ScenarioChosen>;
  listRecipes(): Promise<RecipeCard[]>;
  /** Checks a recipe file's text; errors name the line (code "invalid_recipe"). */
  importRecipe(fileName: string, text: string): Promise<RecipeCard>;
  /** Starts the built-in practice tenant (idempotent). */
  startPractice(): Promise<TenantInfo>;
  /**
   * A real tenant: "organizations" (any work account) or a domain / tenant id, in a Microsoft
   * cloud; `clientId` names the organisation's own sign-in app (required in China).
   */
  useTenant(tenant: string, cloud: CloudId, clientId: string | null): Promise<TenantInfo>;
  signInBrowser(): Promise<SessionInfo>;
  cancelSignIn(): Promise<void>;
  startDeviceCode(): Promise<DeviceCode>;
  finishDeviceCode(): Promise<SessionInfo>;
  signOut(): Promise<void>;
  planRecipe(recipeId: string, choices: Choices): Promise<PlanView>;
  applyPlan(onEvent: (event: ApplyEvent) => void): Promise<ApplyResult>;
  cancelApply(): Promise<void>;
  verify(): Promise<VerifyCheck[]>;
  /** Saves the connection and returns what to hand to the vendor (secrets hidden). */
  finish(): Promise<DoneView>;
  /** The one call that returns a secret: only after the user asked to reveal it. */
  revealSecret(connectionId: string, appKey: string): Promise<string>;
  /** Copies a secret to the clipboard in the shell (cleared after 60 s); returns nothing. */
  copySecret(connectionId: string, appKey: string): Promise<void>;
  /** Opens a Microsoft sign-in page of the chosen cloud (or the practice tenant) in the
   * system browser; any other address is refused by the shell (code "sign_in"). */
  openExternal(url: string): Promise<void>;
  /**
   * Reads a vendor's certificate file (public part only; a file holding a private key is refused
   * with an error). `problems` in the answer block Apply.
   */
  inspectCertificate(fileName: string, contentBase64: string): Promise<CertificateInfo>;
  /** Writes a generated certificate as a password-protected PFX, or as PEM key + certificate. */
  exportCertificate(connectionId: string, appKey: string, format: CertificateExportFormat): Promise<CertificateExport>;
  /** Copies the last PFX password through the shell's clipboard (cleared after 60 s). */
  copyExportPassword(): Promise<void>;
  /** Writes an export file and returns its path. */
  exportHandoff(connectionId: string, format: ExportFormat, includeSecrets: boolean): Promise<string>;
  /** Writes the connection's change record (no secret in it) and returns its path. */
  saveChangeRecord(connectionId: string, format: RecordFormat): Promise<string>;
  listConnections(): Promise<ConnectionCard[]>;
  /** The people picker: users and groups whose name or address starts with `query`. */
  searchPeople(query: string): Promise<Recipient[]>;
  /** Whose mailboxes the vendor may use (empty: no limit); returns them as found. */
  chooseMailboxes(ids: string[]): Promise<Recipient[]>;
  /** After Apply: limits mailbox access with Exchange and proves it. */
  limitMailboxes(): Promise<MailboxLimitOutcome>;
  verifyMailboxLimit(): Promise<MailboxLimitOutcome>;
  /** Browser sign-in that consents to the people-picker and Exchange permissions. */
  signInForMailboxLimit(): Promise<SessionInfo>;
  /** After Apply: only the chosen people and groups may sign in (limits sign-in, not mailboxes). */
  limitSignIn(ids: string[]): Promise<SignInLimit[]>;
  /** Changes who is on the list of an applied mailbox limit and checks it again. */
  changeMailboxes(ids: string[]): Promise<MailboxLimitOutcome>;
  /** Removes the mailbox limit and restores the organisation-wide grants it replaced. */
  removeMailboxLimit(): Promise<void>;

  // ---- Connections dashboard ----
  /**
   * Every saved connection with its status from what this computer knows (no network).
   * `lookInKeyring` also asks the credential store for each secret (slower: one read each).
   */
  loadDashboard(lookInKeyring: boolean): Promise<DashboardView>;
  /** Reads the connection's tenant and saves what it found; `not_signed_in` asks for a sign-in. */
  checkConnection(connectionId: string): Promise<CheckResult>;
  /**
   * Brings the grants back to the recipe's (the check's reviewed plan, through apply);
   * `removeExtra` also removes application permissions the recipe does not ask for.
   */
  fixDrift(connectionId: string, removeExtra: boolean): Promise<CheckResult>;
  /** Browser sign-in to the connection's own tenant (its cloud; the practice tenant for practice). */
  signInForConnection(connectionId: string): Promise<SessionInfo>;
  /** New secret → stored → proved; the old one stays valid for `graceDays` or until confirmed. */
  rotateConnection(
    connectionId: string,
    graceDays: number,
    onEvent: (event: LifecycleEvent) => void,
  ): Promise<RotateResult>;
  /** "The vendor now uses the new secret": removes the old one from Entra and the keyring. */
  finishRotation(connectionId: string, onEvent: (event: LifecycleEvent) => void): Promise<RotateResult>;
  /** Saves a rotation's hand-off (only what changed; `.ics`: the fresh reminder) and returns its path. */
  exportRotation(connectionId: string, format: ExportFormat, includeSecrets: boolean): Promise<string>;
  /** On start: what is due within 30 days; sends one OS notification a day for the same set. */
  reminders(): Promise<Reminder>;

  // ---- Apps made by hand before AppGrant ----
  /** Reads every app registration of the signed-in tenant and matches them with the recipes. */
  findVendorApps(onProgress: (p: ReadProgress) => void): Promise<VendorFindings>;
  /** Every app's secrets and certificates expiring within `withinDays` (null: all), with the CSV. */
  expiryReport(withinDays: number | null, onProgress: (p: ReadProgress) => void): Promise<ExpiryView>;
  /** Saves a connection for existing app(s) (nothing is created) and plans its drift. */
  adoptApp(recipeId: string, appIds: string[]): Promise<AdoptView>;
  planDriftFix(connectionId: string): Promise<DriftPlan>;
  /** Runs the reviewed drift plan; answers with what is left. */
  fixAdoptedDrift(connectionId: string): Promise<DriftPlan>;
}

/** An error from a command, carrying the shell's code so the UI can branch on it. */
export class IpcError extends Error {
  readonly code: UiErrorPayload["code"];
  readonly hint: string | null;
  readonly command: string;
  /** Core's finer code (e.g. "admin_consent_required"). */
  readonly detail: string | null;

  constructor(command: string, payload: UiErrorPayload) {
    super(payload.message);
    this.name = "IpcError";
    this.command = command;
    this.code = payload.code;
    this.hint = payload.hint;
    this.detail = payload.detail ?? null;
  }
}

function isPayload(value: unknown): value is UiErrorPayload {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as UiErrorPayload).code === "string" &&
    typeof (value as UiErrorPayload).message === "string"
  );
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    if (isPayload(error)) throw new IpcError(command, error);
    throw new IpcError(command, {
      code: "ipc_failed",
      message: `AppGrant's core did not answer (${String(error)}).`,
      hint: "Restart AppGrant. If it happens again, attach the log file to a support ticket.",
    });
  }
}

export const tauriBackend: Backend = {
  launchOptions: () => call<LaunchOptions>("launch_options"),
  setPresenter: (on) => call<boolean>("set_presenter", { on }),
  practiceScenarios: () => call<ScenarioMenu>("practice_scenarios"),
  choosePracticeScenario: (id) => call<ScenarioChosen>("choose_practice_scenario", { id }),
  listRecipes: () => call<RecipeCard[]>("list_recipes"),
  importRecipe: (fileName, text) => call<RecipeCard>("import_recipe", { fileName, text }),
  startPractice: () => call<TenantInfo>("start_practice"),
  useTenant: (tenant, cloud, clientId) => call<TenantInfo>("use_tenant", { tenant, cloud, clientId }),
  signInBrowser: () => call<SessionInfo>("sign_in_browser"),
  cancelSignIn: () => call<void>("cancel_sign_in"),
  startDeviceCode: () => call<DeviceCode>("start_device_code"),
  finishDeviceCode: () => call<SessionInfo>("finish_device_code"),
  signOut: () => call<void>("sign_out"),
  planRecipe: (recipeId, choices) => call<PlanView>("plan_recipe", { recipeId, choices }),
  applyPlan: (onEvent) => call<ApplyResult>("apply_plan", { onEvent: channel(onEvent) }),
  cancelApply: () => call<void>("cancel_apply"),
  verify: () => call<VerifyCheck[]>("verify"),
  finish: () => call<DoneView>("finish"),
  revealSecret: (connectionId, appKey) => call<string>("reveal_secret", { connectionId, appKey }),
  copySecret: (connectionId, appKey) => call<void>("copy_secret", { connectionId, appKey }),
  openExternal: (url) => call<void>("open_external", { url }),
  inspectCertificate: (fileName, contentBase64) =>
    call<CertificateInfo>("inspect_certificate", { fileName, contentBase64 }),
  exportCertificate: (connectionId, appKey, format) =>
    call<CertificateExport>("export_certificate", { connectionId, appKey, format }),
  copyExportPassword: () => call<void>("copy_export_password"),
  exportHandoff: (connectionId, format, includeSecrets) =>
    call<string>("export_handoff", { connectionId, format, includeSecrets }),
  saveChangeRecord: (connectionId, format) => call<string>("save_change_record", { connectionId, format }),
  listConnections: () => call<ConnectionCard[]>("list_connections"),
  searchPeople: (query) => call<Recipient[]>("search_people", { query }),
  chooseMailboxes: (ids) => call<Recipient[]>("choose_mailboxes", { ids }),
  limitMailboxes: () => call<MailboxLimitOutcome>("limit_mailboxes"),
  verifyMailboxLimit: () => call<MailboxLimitOutcome>("verify_mailbox_limit"),
  signInForMailboxLimit: () => call<SessionInfo>("sign_in_for_mailbox_limit"),
  limitSignIn: (ids) => call<SignInLimit[]>("limit_sign_in", { ids }),
  changeMailboxes: (ids) => call<MailboxLimitOutcome>("change_mailboxes", { ids }),
  removeMailboxLimit: () => call<void>("remove_mailbox_limit"),
  loadDashboard: (lookInKeyring) => call<DashboardView>("load_dashboard", { lookInKeyring }),
  checkConnection: (connectionId) => call<CheckResult>("check_connection", { connectionId }),
  fixDrift: (connectionId, removeExtra) => call<CheckResult>("fix_drift", { connectionId, removeExtra }),
  signInForConnection: (connectionId) => call<SessionInfo>("sign_in_for_connection", { connectionId }),
  rotateConnection: (connectionId, graceDays, onEvent) =>
    call<RotateResult>("rotate_connection", { connectionId, graceDays, onEvent: channel(onEvent) }),
  finishRotation: (connectionId, onEvent) =>
    call<RotateResult>("finish_rotation", { connectionId, onEvent: channel(onEvent) }),
  exportRotation: (connectionId, format, includeSecrets) =>
    call<string>("export_rotation", { connectionId, format, includeSecrets }),
  reminders: () => call<Reminder>("reminders"),
  findVendorApps: (onProgress) => call<VendorFindings>("find_vendor_apps", { onProgress: channel(onProgress) }),
  expiryReport: (withinDays, onProgress) =>
    call<ExpiryView>("expiry_report", { withinDays, onProgress: channel(onProgress) }),
  adoptApp: (recipeId, appIds) => call<AdoptView>("adopt_app", { recipeId, appIds }),
  planDriftFix: (connectionId) => call<DriftPlan>("plan_drift_fix", { connectionId }),
  fixAdoptedDrift: (connectionId) => call<DriftPlan>("fix_adopted_drift", { connectionId }),
};

function channel<T>(onEvent: (event: T) => void): Channel<T> {
  const c = new Channel<T>();
  c.onmessage = onEvent;
  return c;
}
