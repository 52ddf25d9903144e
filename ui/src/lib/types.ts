// Shapes returned by the Rust shell (mirrors src-tauri/src/dto.rs and error.rs).

export type Risk = "read" | "write" | "send" | "directory_wide";
export type PermissionKind = "application" | "delegated";

export interface PermissionCard {
  name: string;
  kind: PermissionKind;
  summary: string;
  risk: Risk;
}

export interface AppCard {
  displayName: string;
  purpose: string;
  permissions: PermissionCard[];
}

export interface RecipeCard {
  id: string;
  vendor: string;
  displayName: string;
  description: string;
  apps: AppCard[];
  maxRisk: Risk;
  /** Labels of the values the admin must type (timetoreply's portal URL). */
  inputs: string[];
  /**
   * The same inputs with the id `Choices.inputs` is keyed by. Proposed addition: the shell does
   * not send it yet; without it the UI keys values by label (see `inputFieldsOf`).
   */
  inputFields?: InputField[];
  corrections: number;
}

/** One value a recipe asks for (from the recipe's `[[inputs]]`). */
export interface InputField {
  id: string;
  label: string;
  help: string | null;
  example: string | null;
}

/** Error codes the shell sends; keep in step with `Code` in src-tauri/src/error.rs. */
export type ErrorCode =
  | "invalid_recipe"
  | "ipc_failed"
  | "not_signed_in"
  | "sign_in"
  | "plan"
  | "apply"
  | "vault"
  | "export"
  | "practice"
  | "lifecycle"
  | "adopt"
  | "certificate";

export interface UiErrorPayload {
  code: ErrorCode;
  message: string;
  hint: string | null;
  /** A finer code from core (e.g. the sign-in code "consent_denied"). */
  detail?: string | null;
}

/** The tenant the wizard works on. */
export interface TenantInfo {
  practice: boolean;
  /** "Contoso Practice" or what the admin typed ("contoso.onmicrosoft.com", "any organisation"). */
  label: string;
  /** Practice only: which seeded account to sign in as, and what it can do. */
  signInHint: string | null;
  /** The Microsoft cloud of a real tenant (null for the practice tenant). */
  cloud: CloudView | null;
}

/** How the window opens (`launch_options`): the tenant from `start.sh` or chosen last time. */
export interface LaunchOptions {
  start: "practice" | "tenant" | null;
  tenant: string | null;
  /** The remembered tenant's cloud (null: Global). */
  cloud?: CloudId | null;
  /** The organisation's own sign-in app, remembered with the tenant. */
  clientId?: string | null;
  /** Presenter mode, remembered across restarts (`start.sh --presenter` turns it on). */
  presenter?: boolean;
}

/** One practice scenario of the presenter's menu (`appgrant_core::practice`). */
export interface Scenario {
  id: string;
  title: string;
  /** One line saying what it will show. */
  shows: string;
}

export interface ScenarioMenu {
  scenarios: Scenario[];
  /** The scenario now in effect. */
  active: string;
}

/** What choosing a scenario did. */
export interface ScenarioChosen {
  tenant: TenantInfo;
  active: string;
  /** Whoever was signed in was signed out (another account should sign in, or a reset). */
  signedOut: boolean;
  /** Apps made by hand that were put back into the tenant. */
  addedApps: string[];
}

/** The Microsoft clouds, by core's stable id (`Cloud::id`). */
export type CloudId = "global" | "us_gov" | "us_gov_dod" | "china";

/** A cloud as the shell reports it for the chosen tenant. */
export interface CloudView {
  id: CloudId;
  /** "US Government (GCC High)". */
  label: string;
  /** Where the admin signs in, e.g. "login.microsoftonline.us". */
  signInHost: string;
}

/** The clouds the Start screen offers, in order, with a one-line explanation each. */
export const CLOUDS: readonly { id: CloudId; label: string; explanation: string; needsClientId: boolean }[] = [
  {
    id: "global",
    label: "Global",
    explanation: "Most organisations. Microsoft 365 GCC uses Global too.",
    needsClientId: false,
  },
  {
    id: "us_gov",
    label: "US Government (GCC High)",
    explanation: "Tenants in Microsoft 365 GCC High; you sign in at login.microsoftonline.us.",
    needsClientId: false,
  },
  {
    id: "us_gov_dod",
    label: "US Government (DoD)",
    explanation: "Tenants in Microsoft 365 DoD (IL5); you sign in at login.microsoftonline.us.",
    needsClientId: false,
  },
  {
    id: "china",
    label: "China (21Vianet)",
    explanation: "Microsoft 365 operated by 21Vianet. Microsoft has no sign-in app there, so you name your own.",
    needsClientId: true,
  },
];

export interface Capabilities {
  canCreateApps: boolean;
  canGrantApplicationPermissions: boolean;
  canGrantDelegatedPermissions: boolean;
  canManageExchangeScoping: boolean;
}

export interface SessionInfo {
  tenantId: string;
  tenantDomain: string | null;
  tenantName: string | null;
  userPrincipalName: string;
  displayName: string | null;
  roles: string[];
  capabilities: Capabilities;
  remembered: boolean;
  rememberProblem: string | null;
}

export interface DeviceCode {
  userCode: string;
  verificationUri: string;
  expiresAt: string;
}

export interface Choices {
  inputs: Record<string, string>;
  appNames: Record<string, string>;
  secretLifetimeMonths: number | null;
  /** How each app proves who it is, by app key; a missing key means the recipe's default. */
  credentials: Record<string, CredentialChoice>;
}

// ---- Certificates (contract: /work/notes/certs-contract.md, mirrored by src-tauri's dto) ----

/** The three ways an app can prove who it is. */
export type CredentialKind = "secret" | "generated_certificate" | "vendor_certificate";

/** What the admin chose for one app in Review (sent with `Choices`). */
export type CredentialChoice =
  | { kind: "secret" }
  | { kind: "generated_certificate" }
  | { kind: "vendor_certificate"; fileName: string; contentBase64: string };

/** One app's credential as the plan proposes it, and the kinds the recipe allows. */
export interface PlanCredential {
  kind: CredentialKind;
  offered: CredentialKind[];
  lifetimeMonths: number;
  subject?: string | null;
}

/** What AppGrant read from a vendor's certificate file (`inspect_certificate`). */
export interface CertificateInfo {
  subject: string;
  /** SHA-1, upper-case hex, as the Entra portal shows it. */
  thumbprint: string;
  thumbprintSha256: string;
  notBefore: string;
  notAfter: string;
  keyBits: number;
  /** Problems that block Apply (expired, RSA key under 2048 bits, lifetime beyond policy). */
  problems: string[];
}

export type CertificateOrigin = "generated" | "vendor";

/** A certificate as Done and the dashboard show it, where a secret would be. */
export interface CertificateSummary {
  thumbprint: string;
  notAfter: string;
  origin: CertificateOrigin;
}

/** One app's certificate on Done. */
export interface DoneCertificate extends CertificateSummary {
  appKey: string;
  appName: string;
}

export type CertificateExportFormat = "pfx" | "pem";

/** Files written by `export_certificate`; the PFX password is shown once and never kept. */
export interface CertificateExport {
  paths: string[];
  password?: string | null;
}

export type Phase = "register" | "permissions" | "consent" | "secret";

export interface PlanStep {
  id: string;
  app: string;
  phase: Phase;
  kind: string;
  title: string;
  risk: Risk | null;
  done: boolean;
  blocked: string | null;
  /** Where the same thing lives in the Entra admin center. */
  portal?: PortalView;
}

export interface PlanApp {
  key: string;
  displayName: string;
  purpose: string;
  audience: string;
  redirectUris: string[];
  permissions: PermissionCard[];
  secretDescription: string;
  existingAppId: string | null;
  /** How the app will prove who it is (absent from shells that know only secrets). */
  credential?: PlanCredential;
}

export interface PlanView {
  recipeId: string;
  vendor: string;
  apps: PlanApp[];
  steps: PlanStep[];
  lifetime: { requestedMonths: number; days: number; expiresOn: string; cappedByPolicyDays: number | null };
  consentHandoff: { who: string; message: string; url: string | null } | null;
  notes: string[];
  corrections: { guideSays: string; appgrantDoes: string; why: string }[];
  /** Present when the vendor asks to limit mailbox access (Exchange RBAC for Applications). */
  mailboxLimitNote: string | null;
  /** Some app offers "only these people may sign in" (assignment required). */
  limitSignIn?: boolean;
  /** How sign-in limiting is described: it limits sign-in, not mailbox access. */
  signInLimitNote?: string | null;
}

export type WaitReason = "throttled" | "transient" | "replication";

export type ApplyEvent =
  | { event: "stepStarted"; data: { step: string } }
  | { event: "waiting"; data: { step: string; reason: WaitReason; attempt: number; delayMs: number; message: string } }
  | { event: "stepDone"; data: { step: string; detail: string | null } }
  | { event: "stepSkipped"; data: { step: string; reason: string } }
  | { event: "stepFailed"; data: { step: string; code: string; message: string; hint: string } };

export interface ApplyResult {
  ok: boolean;
  failures: { step: string; code: string; message: string; hint: string }[];
}

export type CheckStatus = "passed" | "warning" | "failed" | "skipped";

export interface VerifyCheck {
  id: string;
  app: string;
  title: string;
  status: CheckStatus;
  detail: string;
  hint: string | null;
}

export interface HandoffValue {
  label: string;
  /** The value, or "<hidden: reveal in AppGrant>" for a secret. */
  value: string;
  secret: boolean;
  help: string | null;
  /** For secrets: which app's secret to reveal or copy. */
  appKey: string | null;
  /** Where the value can be read in the Entra admin center (none for the admin's inputs). */
  portal?: PortalView | null;
}

/** Where something lives in the Entra admin center (`appgrant_core::portal`). */
export interface PortalView {
  /** "Entra ID → App registrations → TonicDM O365 Token → API permissions → …". */
  text: string;
  /** Opens that blade (real tenants, once the object exists); null for the practice tenant. */
  link: string | null;
  /** "Microsoft Entra admin center", or "Azure portal" in national clouds. */
  portalName: string | null;
}

export interface DoneView {
  connectionId: string;
  vendor: string;
  fields: HandoffValue[];
  nextSteps: string[];
  expiries: { app: string; expiresOn: string }[];
  formats: ("markdown" | "text" | "env" | "json" | "ics")[];
  /** One line per limited app ("Limited to N users" only once verified). */
  mailboxLimits: string[];
  /** One line per app whose sign-in is limited (not a mailbox limit). */
  signInLimits?: string[];
  /** Apps that use a certificate instead of a secret. */
  certificates?: DoneCertificate[];
}

export interface ConnectionCard {
  id: string;
  vendor: string;
  tenant: string;
  practice: boolean;
  apps: string[];
  nextExpiry: string | null;
  daysLeft: number | null;
  /** The mailbox limit's headline per limited app. */
  mailboxLimits: string[];
  /** Apps that use a certificate: thumbprint and expiry (the same list as Done's). */
  certificates?: DoneCertificate[];
}

/** A user or group for the mailbox limit (core's `scope::Recipient`). */
export interface Recipient {
  id: string;
  kind: "user" | "group";
  displayName: string;
  upnOrMail: string | null;
  mail?: string | null;
}

export type ScopeStatus =
  | { state: "handed_off"; prepared_at: string }
  | { state: "pending"; appliedAt: string }
  | { state: "verified"; appliedAt: string; verifiedAt: string; mailboxes: number }
  | { state: "failed"; appliedAt: string | null; checkedAt: string; reason: string };

export interface ScopeProbe {
  mailbox: string;
  what: string;
  result: "allowed" | "refused" | "inconclusive";
  detail: string;
}

export interface ScopeReport {
  state: { appKey: string; recipients: Recipient[]; permissions: string[]; status: ScopeStatus };
  inside: ScopeProbe | null;
  outside: ScopeProbe | null;
  headline: string;
}

/** What limiting mailbox access did (core's `flow::MailboxLimitOutcome`). */
export interface MailboxLimitOutcome {
  steps: { id: string; app: string; title: string; done: boolean; blocked: string | null }[];
  handoff: { who: string; message: string; commands: string; reverify: string } | null;
  notes: string[];
  reports: ScopeReport[];
}

/** "Only these people may sign in" on one app (core's `scope::signin::SignInLimit`). */
export interface SignInLimit {
  appKey: string;
  servicePrincipalId: string;
  recipients: Recipient[];
  assignments: [string, string][];
  appliedAt: string;
}

// ---- Connections dashboard (core's `lifecycle` shapes, passed through by the shell) ----

/** How alarming a state is (core's `lifecycle::Severity`); the UI adds colour, icon, shape. */
export type Severity = "ok" | "info" | "warning" | "critical";

export type StatusKind =
  | "ok"
  | "expiring_soon"
  | "expired"
  | "secret_missing"
  | "app_deleted"
  | "mailbox_limit_pending"
  | "mailbox_limit_verified"
  | "mailbox_limit_handed_off"
  | "mailbox_limit_failed"
  | "sign_in_limit"
  | "rotation_in_progress"
  | "rotation_due"
  | "drift"
  | "checked";

/** One state of a connection, in core's words ("TonicDM secret expires in 12 days (…)"). */
export interface StatusItem {
  kind: StatusKind;
  severity: Severity;
  appKey: string | null;
  text: string;
  at: string | null;
}

export type CredentialRole =
  | { role: "current" }
  | { role: "old_in_overlap"; validUntil: string | null }
  | { role: "new_in_rotation" }
  | { role: "not_held" };

/** One client secret of an app. */
export type CredentialView = {
  keyId: string;
  description: string;
  createdAt: string | null;
  expiresAt: string;
  daysLeft: number;
  /** Whether this computer's credential store holds the value (null: not looked up). */
  inKeyring: boolean | null;
} & CredentialRole;

/** A rotation's saved stage on an app (core's `lifecycle::RotationStage`). */
export type RotationStage = "creating" | "stored" | "overlap" | "removing_old" | "done";

/** The finer steps a rotation reports while it runs (core's `lifecycle::RotationStep`). */
export type RotationStep =
  | "started"
  | "reading_policy"
  | "removing_orphan"
  | "creating_secret"
  | "secret_created"
  | "stored"
  | "proving"
  | "proved"
  | "confirmed"
  | "removing_old"
  | "old_removed"
  | "checking_new"
  | "done";

export interface DashboardApp {
  key: string;
  name: string;
  clientId: string;
  credentials: CredentialView[];
  rotation: RotationStage | null;
  /** The app's certificate, shown where a secret would be. */
  certificate?: CertificateSummary | null;
}

export interface TenantRef {
  id: string;
  domain: string | null;
  practice: boolean;
  cloud: string;
}

/** One dashboard row (core's `lifecycle::ConnectionStatus`). */
export interface DashboardConnection {
  id: string;
  recipeId: string;
  vendor: string;
  tenant: TenantRef;
  apps: DashboardApp[];
  /** Worst first; never empty (at least "OK"). */
  states: StatusItem[];
  severity: Severity;
  nextExpiry: string | null;
  daysLeft: number | null;
  createdAt: string;
  verifiedAt: string | null;
  lastCheckedAt: string | null;
}

export interface DashboardView {
  /** "Now" as the shell saw it, so days left and the timeline agree. */
  now: string;
  connections: DashboardConnection[];
  /** Whether each secret was looked up in the credential store (a second, slower read). */
  keyringChecked: boolean;
  /** When the practice tenant started empty this run (practice apps made before are gone). */
  practiceFreshSince: string | null;
}

export interface Finding {
  kind: string;
  severity: Severity;
  appKey: string | null;
  text: string;
}

/** What "Check now" found (core's `lifecycle::CheckReport`) and the row as saved after it. */
export interface CheckResult {
  report: {
    connectionId: string;
    summary: { checkedAt: string; findings: Finding[] };
    /** Steps that would grant what is missing, in the plan's words. */
    fixSteps: PlanStep[];
    /** Grants beyond the recipe. */
    extraGrants: { appKey: string; permission: string; kind: string }[];
  };
  connection: DashboardConnection;
}

export type LifecycleEvent =
  | { event: "step"; data: { connectionId: string; appKey: string; step: RotationStep; message: string } }
  | { event: "waiting"; data: { connectionId: string; appKey: string | null; reason: WaitReason; delayMs: number } }
  | { event: "notice"; data: { connectionId: string; appKey: string | null; message: string } }
  | { event: "checked"; data: { connectionId: string; severity: Severity } }
  | { event: "failed"; data: { connectionId: string; code: string; message: string; hint: string } };

/** A rotation's result: the row as saved, and what to hand the vendor (only what changed). */
export interface RotateResult {
  connection: DashboardConnection;
  /** Null once the rotation is finished. */
  handoff: DoneView | null;
}

/** The start-up reminder: what is due within 30 days, and whether the OS was notified. */
export interface Reminder {
  due: { connectionId: string; vendor: string; tenant: string; expiresAt: string; daysLeft: number }[];
  notified: boolean;
}

// ---- Apps made by hand before AppGrant (core's `adopt` module) ----

/** How far reading the tenant's app registrations has come. */
export interface ReadProgress {
  pages: number;
  apps: number;
}

export interface TenantCredential {
  kind: "secret" | "certificate";
  keyId: string;
  name: string;
  startsAt: string | null;
  expiresAt: string | null;
}

/** One app registration of the tenant (core's `adopt::TenantApp`). */
export interface TenantApp {
  objectId: string;
  appId: string;
  displayName: string;
  createdAt: string | null;
  signInAudience: string;
  redirectUris: string[];
  /** `name` is null for a permission the catalog does not know. */
  permissions: { name: string | null; id: string; kind: "application" | "delegated" }[];
  otherApis: number;
  credentials: TenantCredential[];
}

export interface VendorMatch {
  app: TenantApp;
  recipeId: string;
  vendor: string;
  appKey: string;
  confidence: "low" | "medium" | "high";
  reason: string;
  missing: string[];
  extra: string[];
}

export interface RiskyApp {
  app: TenantApp;
  permissions: string[];
  reason: string;
}

export interface VendorFindings {
  matches: VendorMatch[];
  risky: RiskyApp[];
  appsRead: number;
}

/** One credential in the tenant-wide expiry report. */
export interface ExpiryRow {
  appName: string;
  appId: string;
  objectId: string;
  kind: "secret" | "certificate";
  name: string;
  keyId: string;
  expiresAt: string | null;
  daysLeft: number | null;
  owners: string[];
}

export interface ExpiryView {
  rows: ExpiryRow[];
  csv: string;
}

export interface DriftStep {
  area: "authentication" | "api_permissions" | "enterprise_app_properties";
  appKey: string;
  text: string;
  why: string | null;
}

export interface DriftPlan {
  connectionId: string;
  steps: DriftStep[];
}

export interface AdoptView {
  connection: DashboardConnection;
  drift: DriftPlan;
}
