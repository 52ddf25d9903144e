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
  | "practice";

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
