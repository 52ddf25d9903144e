// A fake shell for component tests: realistic answers for TonicDM and timetoreply, with hooks to
// make a call fail, hold a call until the test releases it, and script apply events.

import { vi } from "vitest";
import { IpcError, type Backend } from "../lib/ipc";
import { CLOUDS } from "../lib/types";
import type {
  ApplyEvent,
  ApplyResult,
  CertificateExportFormat,
  CertificateInfo,
  CheckResult,
  Choices,
  CloudId,
  ConnectionCard,
  DashboardConnection,
  DashboardView,
  LaunchOptions,
  LifecycleEvent,
  ScenarioChosen,
  ScenarioMenu,
  RotateResult,
  StatusItem,
  DoneView,
  ErrorCode,
  MailboxLimitOutcome,
  PlanView,
  Recipient,
  RecipeCard,
  SessionInfo,
  TenantInfo,
  VerifyCheck,
  AdoptView,
  DriftPlan,
  ExpiryRow,
  ReadProgress,
  TenantApp,
  VendorFindings,
} from "../lib/types";

export const TENANT_ID = "3f2b9c1e-7d4a-4e55-9a0b-1c2d3e4f5a6b";
export const TONIC_CLIENT_ID = "8d1e4f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6";
export const TTR_CLIENT_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
export const SECRET_VALUE = "Xy8Q~practice.secret.value-1234567890";

export const tonicRecipe: RecipeCard = {
  id: "tonicdm",
  vendor: "TonicDM",
  displayName: "TonicDM organisation-level Office 365 token",
  description: "Lets TonicDM file and manage e-mail in your users' mailboxes without each person signing in.",
  apps: [
    {
      displayName: "TonicDM Office 365 Token",
      purpose: "Mailbox access for TonicDM",
      permissions: [
        { name: "MailboxSettings.ReadWrite", kind: "application", summary: "Read and change mailbox settings of every mailbox", risk: "write" },
        { name: "Mail.ReadWrite", kind: "application", summary: "Read, change and delete e-mail in every mailbox", risk: "write" },
        { name: "User.Read.All", kind: "application", summary: "Read the profile of every user", risk: "read" },
      ],
    },
  ],
  maxRisk: "write",
  inputs: [],
  inputFields: [],
  corrections: 2,
};

export const ttrRecipe: RecipeCard = {
  id: "timetoreply",
  vendor: "timetoreply",
  displayName: "timetoreply self-hosted portal",
  description:
    "Lets your self-hosted timetoreply portal measure e-mail response times: it reads message details (not their text) and your user list.",
  apps: [
    {
      displayName: "timetoreply",
      purpose: "E-mail response analytics",
      permissions: [
        { name: "Mail.ReadBasic.All", kind: "application", summary: "Read senders, recipients and subjects in every mailbox", risk: "read" },
        { name: "User.Read.All", kind: "application", summary: "Read the profile of every user", risk: "read" },
        { name: "Directory.Read.All", kind: "application", summary: "Read everything in your directory", risk: "read" },
        { name: "Mail.ReadBasic", kind: "delegated", summary: "Read senders and subjects of the person who signs in", risk: "read" },
        { name: "offline_access", kind: "delegated", summary: "Stay signed in for the person who signed in", risk: "read" },
      ],
    },
  ],
  maxRisk: "read",
  inputs: ["Your timetoreply portal address"],
  inputFields: [
    {
      id: "portal_url",
      label: "Your timetoreply portal address",
      help: "The address people use to open your self-hosted timetoreply portal.",
      example: "https://ttr.contoso.com",
    },
  ],
  corrections: 0,
};

export const practiceTenant: TenantInfo = {
  practice: true,
  label: "Contoso Practice",
  signInHint: "Sign in as admin@contoso.example (password: practice). This account is a Global Administrator.",
  cloud: null,
};

/** Where each cloud signs in (what core's `Cloud::endpoints` says). */
const SIGN_IN_HOSTS: Record<CloudId, string> = {
  global: "login.microsoftonline.com",
  us_gov: "login.microsoftonline.us",
  us_gov_dod: "login.microsoftonline.us",
  china: "login.partner.microsoftonline.cn",
};

export const adminSession: SessionInfo = {
  tenantId: TENANT_ID,
  tenantDomain: "contoso.onmicrosoft.com",
  tenantName: "Contoso Practice",
  userPrincipalName: "admin@contoso.onmicrosoft.com",
  displayName: "Avery Admin",
  roles: ["Global Administrator"],
  capabilities: {
    canCreateApps: true,
    canGrantApplicationPermissions: true,
    canGrantDelegatedPermissions: true,
    canManageExchangeScoping: false,
  },
  remembered: true,
  rememberProblem: null,
};

export const helpdeskSession: SessionInfo = {
  ...adminSession,
  userPrincipalName: "helpdesk@contoso.onmicrosoft.com",
  displayName: "Hana Helpdesk",
  roles: ["Application Developer"],
  capabilities: {
    canCreateApps: true,
    canGrantApplicationPermissions: false,
    canGrantDelegatedPermissions: false,
    canManageExchangeScoping: false,
  },
  remembered: false,
  rememberProblem: "Your sign-in could not be remembered: the credential store is locked. You will sign in again next time.",
};

const HANDOFF = {
  who: "a Global Administrator or Privileged Role Administrator",
  message:
    "Hello,\nplease grant admin consent for the app \"TonicDM Office 365 Token\" in Microsoft Entra: Enterprise applications › TonicDM Office 365 Token › Permissions › Grant admin consent.\nThank you.",
  url: "https://login.microsoftonline.com/3f2b9c1e-7d4a-4e55-9a0b-1c2d3e4f5a6b/adminconsent?client_id=8d1e4f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
};

export function tonicPlan(
  choices: Choices,
  opts: { handoff?: boolean; done?: string[]; portalLink?: string | null } = {},
): PlanView {
  const name = choices.appNames.main ?? "TonicDM Office 365 Token";
  const months = choices.secretLifetimeMonths ?? 24;
  const credential = choices.credentials?.main ?? { kind: "secret" as const };
  const blocked = opts.handoff ? "Your account cannot grant application permissions." : null;
  const done = new Set(opts.done ?? []);
  const step = (id: string, phase: PlanView["steps"][number]["phase"], kind: string, title: string, risk: PlanView["steps"][number]["risk"] = null) => ({
    id,
    app: "main",
    phase,
    kind,
    title,
    risk,
    done: done.has(id),
    blocked: phase === "consent" ? blocked : null,
    portal: {
      text: `Entra ID → App registrations → ${name} → ${phase === "consent" ? "API permissions" : "Overview"}`,
      link: opts.portalLink ?? null,
      portalName: opts.portalLink ? "Microsoft Entra admin center" : null,
    },
  });
  return {
    recipeId: "tonicdm",
    vendor: "TonicDM",
    apps: [
      {
        key: "main",
        displayName: name,
        purpose: "Mailbox access for TonicDM",
        audience: "Accounts in this organisational directory only (single tenant)",
        redirectUris: [],
        permissions: tonicRecipe.apps[0].permissions,
        secretDescription: "TonicDM Office365 Secret",
        existingAppId: done.has("main/register") ? TONIC_CLIENT_ID : null,
        credential: {
          kind: credential.kind,
          offered: ["secret", "generated_certificate", "vendor_certificate"],
          lifetimeMonths: 12,
          subject: "CN=TonicDM Office 365 Token",
        },
      },
    ],
    steps: [
      step("main/register", "register", "register_app", `Register the app “${name}”`),
      step("main/sp", "register", "create_service_principal", "Create its enterprise application"),
      step("main/grant/MailboxSettings.ReadWrite", "consent", "grant_application_permission", "Allow TonicDM to read and change mailbox settings of every mailbox", "write"),
      step("main/grant/Mail.ReadWrite", "consent", "grant_application_permission", "Allow TonicDM to read, change and delete e-mail in every mailbox", "write"),
      step("main/grant/User.Read.All", "consent", "grant_application_permission", "Allow TonicDM to read the profile of every user", "read"),
      credential.kind === "secret"
        ? step("main/secret", "secret", "create_secret", `Create a secret valid for ${months} months and keep it in this computer's credential store`)
        : credential.kind === "generated_certificate"
          ? step("main/certificate", "secret", "create_certificate", `Create the certificate "CN=TonicDM Office 365 Token" (RSA 2048, expires 2027-12-04), add its public part to the app and keep its private key in this computer's credential store`)
          : step("main/certificate", "secret", "upload_certificate", `Upload ${credential.fileName}, TonicDM's public certificate`),
    ],
    lifetime: {
      requestedMonths: months,
      days: Math.min(months * 30, 365),
      expiresOn: "2027-05-01",
      cappedByPolicyDays: months > 12 ? 365 : null,
    },
    consentHandoff: opts.handoff ? HANDOFF : null,
    notes: ["An app called “TonicDM Office 365 Token (old)” already exists; AppGrant leaves it alone."],
    corrections: [
      {
        guideSays: "Set 'Assignment required' to Yes and add users to the enterprise app to limit TonicDM's access.",
        appgrantDoes: "Limits mailbox access with Exchange Online RBAC for Applications, and checks that it works.",
        why: "Assignment required only controls who can sign in. TonicDM's app-only token could still read every mailbox.",
      },
    ],
    mailboxLimitNote:
      "TonicDM asks to limit which mailboxes TonicDM Office 365 Token may open. Choose the people or groups below and AppGrant will limit it with Exchange Online RBAC for Applications after Apply, then prove it. Nothing chosen means no limit.",
  };
}

export const SIGN_IN_EXPLANATION =
  "Only the people and groups you choose can sign in to this app; anyone else is told they are not assigned to it. This limits sign-in only: it does not limit which mailboxes the app can reach with its own permissions.";

export function ttrPlan(choices: Choices): PlanView {
  const portal = (choices.inputs.portal_url ?? "").replace(/\/$/, "");
  const plan = tonicPlan(choices);
  return {
    ...plan,
    limitSignIn: true,
    signInLimitNote: SIGN_IN_EXPLANATION,
    recipeId: "timetoreply",
    vendor: "timetoreply",
    apps: [
      {
        ...plan.apps[0],
        displayName: choices.appNames.main ?? "timetoreply",
        purpose: "E-mail response analytics",
        redirectUris: ["/account/microsoft/auth", "/msgraph-auth"].map((p) => portal + p),
        permissions: ttrRecipe.apps[0].permissions,
        secretDescription: "timetoreply portal",
      },
    ],
    steps: [
      { id: "main/register", app: "main", phase: "register", kind: "register_app", title: "Register the app “timetoreply”", risk: null, done: false, blocked: null },
      { id: "main/delegated", app: "main", phase: "consent", kind: "grant_delegated_permissions", title: "Allow timetoreply to read senders and subjects for people who sign in", risk: "read", done: false, blocked: null },
      { id: "main/secret", app: "main", phase: "secret", kind: "create_secret", title: "Create a secret valid for 12 months", risk: null, done: false, blocked: null },
    ],
    notes: [],
    corrections: [],
    consentHandoff: null,
  };
}

export const tonicChecks: VerifyCheck[] = [
  { id: "token", app: "main", title: "The app can get a token", status: "passed", detail: "Microsoft issued a token for the app.", hint: null },
  { id: "mail", app: "main", title: "The app can read a mailbox", status: "warning", detail: "Microsoft is still spreading the permission to all its servers.", hint: "Wait a few minutes, then check again." },
  { id: "scope", app: "main", title: "Mailbox access is limited", status: "skipped", detail: "Limiting mailbox access is not offered yet.", hint: null },
];

export const tonicDone: DoneView = {
  connectionId: "conn-tonicdm-1",
  vendor: "TonicDM",
  fields: [
    { label: "Application (client) ID", value: TONIC_CLIENT_ID, secret: false, help: "From the app's Overview page", appKey: null },
    { label: "Tenant ID", value: TENANT_ID, secret: false, help: "Your directory (tenant) ID", appKey: null },
    { label: "App Secret", value: "<hidden: reveal in AppGrant>", secret: true, help: null, appKey: "main" },
    { label: "Expiry Date", value: "2027-05-01", secret: false, help: null, appKey: null },
  ],
  nextSteps: [
    "Sign in to TonicDM on the web as one of your organisation's TonicDM administrators.",
    "Open Organization Settings and scroll down to Security Set Up.",
    "Enter the Application (client) ID, Tenant ID, App Secret and Expiry Date shown here, then click Go.",
  ],
  expiries: [{ app: "TonicDM Office 365 Token", expiresOn: "2027-05-01" }],
  formats: ["markdown", "env", "json", "ics"],
  mailboxLimits: [],
};

export const CERT_THUMBPRINT = "3A1F9C0B7E2D4F6A8B1C3D5E7F9A0B2C4D6E8F10";
export const PFX_PASSWORD = "kT4#wq9-Lm2!pZ7x";

/** What the fake shell reads from a certificate file: the file's text says which case it is. */
export function inspectFake(fileName: string, contentBase64: string): CertificateInfo {
  const text = atob(contentBase64);
  if (text.includes("PRIVATE KEY")) {
    throw ipcError(
      "certificate",
      "This file holds a private key. Ask the vendor for the public certificate only (.cer); never send private keys.",
      "Delete this file from wherever it was sent, and ask the vendor for the public certificate only.",
      "inspect_certificate",
      "private_key",
    );
  }
  if (!text.includes("CERTIFICATE")) {
    throw ipcError("certificate", `${fileName} is not a certificate AppGrant can read.`, "Ask the vendor for the certificate as a .cer or .pem file.", "inspect_certificate");
  }
  const expired = text.includes("EXPIRED");
  const ec = text.includes("EC KEY");
  return {
    subject: "CN=TonicDM Office 365 Token, O=TonicDM Inc.",
    thumbprint: CERT_THUMBPRINT,
    thumbprintSha256: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
    notBefore: "2026-01-01T00:00:00Z",
    notAfter: expired ? "2026-06-01T00:00:00Z" : "2027-12-01T00:00:00Z",
    keyBits: ec ? 0 : 2048,
    problems: [
      ...(expired ? ["The certificate expired on 1 June 2026. Ask the vendor for a current one."] : []),
      ...(ec ? ["The key is not RSA; Microsoft Entra needs an RSA key of at least 2048 bits."] : []),
    ],
  };
}

/** Done for TonicDM with a certificate instead of a secret. */
export function tonicDoneWithCertificate(origin: "generated" | "vendor"): DoneView {
  return {
    ...tonicDone,
    fields: [
      ...tonicDone.fields.filter((f) => !f.secret && f.label !== "Expiry Date"),
      { label: "Certificate thumbprint", value: CERT_THUMBPRINT, secret: false, help: null, appKey: null },
    ],
    expiries: [{ app: "TonicDM Office 365 Token", expiresOn: "2027-12-01" }],
    certificates: [
      { appKey: "main", appName: "TonicDM Office 365 Token", thumbprint: CERT_THUMBPRINT, notAfter: "2027-12-01T00:00:00Z", origin },
    ],
  };
}

export const existingConnections: ConnectionCard[] = [
  { id: "c1", vendor: "DocBits", tenant: "contoso.onmicrosoft.com", practice: false, apps: ["DocBits Mail"], nextExpiry: "2027-04-10", daysLeft: 712, mailboxLimits: [] },
  { id: "c2", vendor: "Totalview", tenant: "contoso.onmicrosoft.com", practice: false, apps: ["Totalview Calendar", "Totalview Presence"], nextExpiry: "2025-06-01", daysLeft: 12, mailboxLimits: ["Limited to 10 users"] },
];

export const tonicApplyEvents: ApplyEvent[] = [
  { event: "stepStarted", data: { step: "main/register" } },
  { event: "stepDone", data: { step: "main/register", detail: `Application (client) ID ${TONIC_CLIENT_ID}` } },
  { event: "stepStarted", data: { step: "main/sp" } },
  { event: "waiting", data: { step: "main/sp", reason: "replication", attempt: 1, delayMs: 2000, message: "Microsoft is still creating the app, usually under a minute." } },
  { event: "stepDone", data: { step: "main/sp", detail: null } },
  { event: "stepStarted", data: { step: "main/grant/MailboxSettings.ReadWrite" } },
  { event: "stepDone", data: { step: "main/grant/MailboxSettings.ReadWrite", detail: null } },
  { event: "stepStarted", data: { step: "main/grant/Mail.ReadWrite" } },
  { event: "stepDone", data: { step: "main/grant/Mail.ReadWrite", detail: null } },
  { event: "stepSkipped", data: { step: "main/grant/User.Read.All", reason: "Already granted." } },
  { event: "stepStarted", data: { step: "main/secret" } },
  { event: "stepDone", data: { step: "main/secret", detail: "Saved in your computer's credential store" } },
];

export function ipcError(
  code: ErrorCode,
  message: string,
  hint: string | null = null,
  command = "fake",
  detail: string | null = null,
): IpcError {
  return new IpcError(command, { code, message, hint, detail });
}

export const people: Recipient[] = [
  { id: "g-mcu", kind: "group", displayName: "Mail Connector Users", upnOrMail: "mailconnector@contoso.com" },
  { id: "u-avery", kind: "user", displayName: "Avery Admin", upnOrMail: "avery@contoso.com" },
  { id: "u-blake", kind: "user", displayName: "Blake Sales", upnOrMail: "blake@contoso.com" },
];

const probes = {
  inside: { mailbox: "alex@contoso.com", what: "read mailbox settings", result: "allowed", detail: "The mailbox answered." },
  outside: { mailbox: "blake@contoso.com", what: "read mailbox settings", result: "refused", detail: "Access denied (403)." },
} as const;

export function limitOutcome(status: "verified" | "pending" | "handoff"): MailboxLimitOutcome {
  const state = {
    appKey: "main",
    recipients: [people[0]],
    permissions: ["Mail.ReadWrite", "MailboxSettings.ReadWrite"],
    status:
      status === "verified"
        ? ({ state: "verified", appliedAt: "2026-11-25T09:41:00Z", verifiedAt: "2026-11-25T09:42:00Z", mailboxes: 10 } as const)
        : status === "pending"
          ? ({ state: "pending", appliedAt: "2026-11-25T09:41:00Z" } as const)
          : ({ state: "handed_off", prepared_at: "2026-11-25T09:41:00Z" } as const),
  };
  return {
    steps: [],
    handoff:
      status === "handoff"
        ? {
            who: "an Exchange Administrator (or Global Administrator)",
            message: "Please run these commands in Exchange Online PowerShell.",
            commands: "New-ManagementScope -Name \"AppGrant TonicDM\" -RecipientRestrictionFilter \"MemberOfGroup -eq 'x'\"",
            reverify: "Then press Verify again in AppGrant.",
          }
        : null,
    notes: [],
    reports: [
      {
        state,
        inside: status === "handoff" ? null : probes.inside,
        outside: status === "handoff" ? null : { ...probes.outside, result: status === "verified" ? "refused" : "allowed" },
        headline:
          status === "verified"
            ? "Limited to 10 users"
            : status === "pending"
              ? "Scope pending since 2026-11-25 09:41 UTC (Microsoft takes 30 minutes to 2 hours); not yet proven"
              : "Not limited yet: waiting for the Exchange administrator's part",
      },
    ],
  };
}

// ---- Connections dashboard ----

export const NOW = "2026-12-04T12:00:00Z";

function addDays(days: number): string {
  return new Date(Date.parse(NOW) + days * 86_400_000).toISOString().replace(".000", "");
}

type Cred = DashboardConnection["apps"][number]["credentials"][number];

function cred(days: number, inKeyring: boolean | null = true, role: Cred["role"] = "current", keyId = `key-${days}`): Cred {
  const base = { keyId, description: "AppGrant", createdAt: addDays(days - 365), expiresAt: addDays(days), daysLeft: days, inKeyring };
  return role === "old_in_overlap" ? { ...base, role, validUntil: null } : ({ ...base, role } as Cred);
}

function app(key: string, name: string, clientId: string, credentials: Cred[]) {
  return { key, name, clientId, credentials, rotation: null };
}

const tenant = (domain: string, practice = false) => ({ id: `${domain}-id`, domain, practice, cloud: practice ? "custom" : "global" });

function row(
  id: string,
  vendor: string,
  t: DashboardConnection["tenant"],
  apps: DashboardConnection["apps"],
  states: DashboardConnection["states"],
  lastCheckedAt: string | null = null,
): DashboardConnection {
  const days = apps.flatMap((a) => a.credentials.filter((c) => c.role === "current").map((c) => c.daysLeft));
  const daysLeft = days.length ? Math.min(...days) : null;
  const order = ["ok", "info", "warning", "critical"] as const;
  return {
    id,
    recipeId: vendor.toLowerCase(),
    vendor,
    tenant: t,
    apps,
    states,
    severity: states.map((s) => s.severity).sort((x, y) => order.indexOf(y) - order.indexOf(x))[0],
    nextExpiry: daysLeft === null ? null : addDays(daysLeft),
    daysLeft,
    createdAt: addDays(-300),
    verifiedAt: addDays(-300),
    lastCheckedAt,
  };
}

const item = (kind: StatusItem["kind"], severity: StatusItem["severity"], text: string, at: string | null = null, appKey: string | null = "main") => ({
  kind,
  severity,
  appKey,
  text,
  at,
});

/** Four connections: one due in 12 days, one healthy, one expired with a deleted app, one whose secret is missing. */
export function dashboardConnections(): DashboardConnection[] {
  return [
    row("tonic-contoso", "TonicDM", tenant("contoso.onmicrosoft.com"), [app("main", "TonicDM Office 365 Token", TONIC_CLIENT_ID, [cred(12)])], [
      item("expiring_soon", "warning", "TonicDM Office 365 Token: secret expires in 12 days (2026-12-16).", addDays(12)),
      item("mailbox_limit_verified", "ok", "TonicDM Office 365 Token: mailbox limit verified on 2026-11-25.", "2026-11-25T09:42:00Z"),
    ]),
    row("docbits-fabrikam", "DocBits", tenant("adatum.onmicrosoft.com"), [app("main", "DocBits Mail", "11111111-2222-4333-8444-555555555555", [cred(200)])], [item("ok", "ok", "OK: the secret is valid for a while", null, null)], "2026-12-01T08:30:00Z"),
    row(
      "totalview-contoso",
      "Totalview",
      tenant("contoso.onmicrosoft.com"),
      [
        app("calendar", "Totalview Calendar", "22222222-3333-4444-8555-666666666666", [cred(-3)]),
        app("presence", "Totalview Presence", "33333333-4444-4555-8666-777777777777", [cred(300)]),
      ],
      [
        item("expired", "critical", "Totalview Calendar: secret expired 3 days ago (2026-12-01).", addDays(-3), "calendar"),
        item("app_deleted", "critical", "Totalview Presence: the app was deleted in the tenant.", null, "presence"),
      ],
      "2026-12-03T10:00:00Z",
    ),
    row("ttr-practice", "timetoreply", tenant("contosopractice.onmicrosoft.com", true), [app("main", "timetoreply", TTR_CLIENT_ID, [cred(41, false)])], [
      item("secret_missing", "critical", "timetoreply: the secret is not in this computer's credential store."),
    ]),
  ];
}

/** `c` after a rotation started (overlap open for `graceDays`) or finished. */
export function rotated(c: DashboardConnection, graceDays: number, stage: "overlap" | "done" = "overlap"): DashboardConnection {
  const apps = c.apps.map((a) => ({
    ...a,
    rotation: stage,
    credentials: [
      ...(stage === "overlap"
        ? a.credentials.filter((x) => x.role === "current").map((x) => ({ ...x, role: "old_in_overlap" as const, validUntil: addDays(graceDays) }))
        : []),
      cred(365, true, "current", `new-${a.key}`),
    ],
  }));
  const states =
    stage === "overlap"
      ? [item("rotation_in_progress", "info", `${c.apps[0].name}: rotation in progress; the old secret stays valid until ${addDays(graceDays).slice(0, 10)}.`, addDays(graceDays))]
      : [item("ok", "ok", "OK: the secret is valid for a while", null, null)];
  return { ...row(c.id, c.vendor, c.tenant, apps, states, c.lastCheckedAt) };
}

type Method = keyof Backend;

/** A hand-made app registration as the tenant lists it. */
function tenantApp(name: string, appId: string, credentials: TenantApp["credentials"]): TenantApp {
  return { objectId: `obj-${appId}`, appId, displayName: name, createdAt: null, signInAudience: "AzureADMyOrg", redirectUris: [], permissions: [], otherApis: 0, credentials };
}

export const HAND_TONIC_ID = "2c26c0f0-0673-47d0-b45d-4be4b2d82a49";
export const HAND_TOTALVIEW_ID = "9d953b68-c19b-4c76-b5ac-32e563a8ce87";

/** What "Find apps already in this tenant" finds in the fake tenant. */
export const handMadeFindings: VendorFindings = {
  appsRead: 6,
  matches: [
    {
      app: tenantApp("TonicDM O365 Org Token", HAND_TONIC_ID, [{ kind: "secret", keyId: "k1", name: "TonicDM Office365 Secret", startsAt: null, expiresAt: "2026-12-11T14:32:00Z" }]),
      recipeId: "tonicdm",
      vendor: "TonicDM",
      appKey: "main",
      confidence: "high",
      reason: "Holds MailboxSettings.ReadWrite, Mail.ReadWrite and User.Read.All as application permissions, like TonicDM; its name mentions TonicDM; also holds Calendars.Read, which the recipe does not ask for",
      missing: [],
      extra: ["Calendars.Read"],
    },
    {
      app: tenantApp("Totalview Calendar Sync", HAND_TOTALVIEW_ID, []),
      recipeId: "totalview",
      vendor: "Totalview",
      appKey: "calendar",
      confidence: "medium",
      reason: "Holds Calendars.ReadWrite as application permissions, like Totalview",
      missing: ["User.Read.All"],
      extra: [],
    },
  ],
  risky: [
    {
      app: tenantApp("Legacy Mail Archiver", "8432e6c4-eb0a-42e6-9615-0a26ead4b5eb", []),
      permissions: ["Mail.Read"],
      reason: "Matches no recipe but holds Mail.Read as application permissions: it can act on its own, without anyone signing in",
    },
  ],
};

/** The fake tenant's credentials, as the expiry report lists them. */
export const expiryRows: ExpiryRow[] = [
  { appName: "Totalview Calendar Sync", appId: HAND_TOTALVIEW_ID, objectId: "o2", kind: "secret", name: "Totalview", keyId: "k2", expiresAt: "2026-11-22T14:32:00Z", daysLeft: -12, owners: [] },
  { appName: "TonicDM O365 Org Token", appId: HAND_TONIC_ID, objectId: "o1", kind: "secret", name: "TonicDM Office365 Secret", keyId: "k1", expiresAt: "2026-12-11T14:32:00Z", daysLeft: 6, owners: ["Avery Admin"] },
  { appName: "Contoso HR Sync", appId: "614a230a-a93b-46d0-875d-9956bfe57c39", objectId: "o3", kind: "certificate", name: "CN=hr-sync.contoso.example", keyId: "k3", expiresAt: "2027-09-30T14:32:00Z", daysLeft: 300, owners: [] },
];

const tonicDrift: DriftPlan = {
  connectionId: "adopted-tonic",
  steps: [
    { area: "api_permissions", appKey: "main", text: "Remove the application permission Calendars.Read and its admin consent", why: null },
    { area: "enterprise_app_properties", appKey: "main", text: "Switch off \"Assignment required\" on the enterprise app \"TonicDM O365 Org Token\"", why: "Assignment required only controls who may sign in; the app's own token can still reach every mailbox." },
  ],
};

export interface ApplyScript {
  events: ApplyEvent[];
  result: ApplyResult;
  /** Stop after this many events until the test calls `release("applyPlan")`. */
  pauseAfter?: number;
}

/**
 * A fake `Backend`. Every method is a `vi.fn`, so tests can assert calls. Hooks:
 * `failNext(method, error)`, `hold(method)` + `release(method)`, `applyScripts` (one per run).
 */
export class FakeBackend {
  recipes: RecipeCard[] = [tonicRecipe, ttrRecipe];
  tenant: TenantInfo = practiceTenant;
  session: SessionInfo = adminSession;
  connections: ConnectionCard[] = existingConnections;
  handoff = false;
  doneSteps: string[] = [];
  /** A "Show in the Entra admin center" link on every plan step (a real tenant's existing app). */
  portalLink: string | null = null;
  checks: VerifyCheck[] = tonicChecks;
  doneView: DoneView = tonicDone;
  applyScripts: ApplyScript[] = [];
  people: Recipient[] = people;
  limitStatus: "verified" | "pending" | "handoff" = "verified";
  dashboard: DashboardConnection[] = dashboardConnections();
  /** What a check finds, by connection id (default: nothing). */
  findings: Record<string, { findings: string[]; fixSteps: CheckResult["report"]["fixSteps"]; extraGrants: CheckResult["report"]["extraGrants"] }> = {};
  dueReminder = true;
  practiceFreshSince: string | null = null;
  handMade: VendorFindings = handMadeFindings;
  expiry: ExpiryRow[] = expiryRows;
  drift: DriftPlan = tonicDrift;
  #failures = new Map<Method, unknown[]>();
  #holds = new Map<Method, { promise: Promise<void>; release: () => void }>();

  /** The next call to `method` throws `error`. */
  failNext(method: Method, error: unknown): this {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
    return this;
  }

  /** Calls to `method` wait until `release(method)`. */
  hold(method: Method): this {
    let release = () => {};
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#holds.set(method, { promise, release });
    return this;
  }

  release(method: Method): void {
    this.#holds.get(method)?.release();
    this.#holds.delete(method);
  }

  async #enter(method: Method): Promise<void> {
    const queued = this.#failures.get(method);
    const held = this.#holds.get(method);
    if (held) await held.promise;
    if (queued?.length) throw queued.shift();
  }

  /** What `launchOptions` answers (default: open at the Start screen). */
  launch: LaunchOptions = { start: null, tenant: null };

  /** The practice scenarios menu (as `appgrant_core::practice` has it, shortened). */
  scenarios: ScenarioMenu = {
    active: "ordinary",
    scenarios: [
      { id: "ordinary", title: "An ordinary day", shows: "Everything works at once; Avery Admin signs in." },
      { id: "reset", title: "Reset the practice tenant", shows: "Puts the tenant back as it was first seeded." },
      { id: "cannot-consent", title: "Sign in as someone who cannot consent", shows: "Casey gets a message to forward." },
      { id: "slow", title: "Microsoft is slow today", shows: "Apply explains each wait." },
    ],
  };

  readonly backend = {
    launchOptions: vi.fn(async () => {
      await this.#enter("launchOptions");
      return this.launch;
    }),
    setPresenter: vi.fn(async (on: boolean) => {
      await this.#enter("setPresenter");
      return on;
    }),
    practiceScenarios: vi.fn(async () => {
      await this.#enter("practiceScenarios");
      return this.scenarios;
    }),
    choosePracticeScenario: vi.fn(async (id: string): Promise<ScenarioChosen> => {
      await this.#enter("choosePracticeScenario");
      if (!this.scenarios.scenarios.some((s) => s.id === id)) throw ipcError("practice", `There is no practice scenario "${id}".`);
      const active = id === "reset" ? "ordinary" : id;
      this.scenarios = { ...this.scenarios, active };
      const signedOut = id === "reset" || id === "cannot-consent";
      const hint = id === "cannot-consent" ? "Sign in as casey.cloudapps@contosopractice.onmicrosoft.com." : this.tenant.signInHint;
      return { tenant: { ...this.tenant, signInHint: hint }, active, signedOut, addedApps: [] };
    }),
    listRecipes: vi.fn(async () => {
      await this.#enter("listRecipes");
      return this.recipes;
    }),
    importRecipe: vi.fn(async (fileName: string, text: string) => {
      await this.#enter("importRecipe");
      const id = /^id\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? fileName.replace(/\.toml$/, "");
      const vendor = /^vendor\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? id;
      return { ...tonicRecipe, id, vendor, displayName: `${vendor} (imported)`, corrections: 0 };
    }),
    startPractice: vi.fn(async () => {
      await this.#enter("startPractice");
      return this.tenant;
    }),
    useTenant: vi.fn(async (tenant: string, cloud: CloudId, clientId: string | null): Promise<TenantInfo> => {
      await this.#enter("useTenant");
      const known = CLOUDS.find((c) => c.id === cloud);
      if (!known) throw ipcError("sign_in", `"${cloud}" is not a cloud AppGrant knows.`);
      if (known.needsClientId && !clientId) {
        throw ipcError(
          "sign_in",
          `Microsoft provides no sign-in app in ${known.label}; name your organisation's own app registration (its Application (client) ID).`,
          "Register a public client app (redirect URI http://localhost) in your tenant and enter its Application (client) ID.",
          "use_tenant",
          "needs_client_id",
        );
      }
      return {
        practice: false,
        label: tenant === "organizations" ? "any organisation" : tenant,
        signInHint: null,
        cloud: { id: cloud, label: known.label, signInHost: SIGN_IN_HOSTS[cloud] },
      };
    }),
    signInBrowser: vi.fn(async () => {
      await this.#enter("signInBrowser");
      return this.session;
    }),
    cancelSignIn: vi.fn(async () => {
      await this.#enter("cancelSignIn");
      this.release("signInBrowser");
      this.release("finishDeviceCode");
    }),
    startDeviceCode: vi.fn(async () => {
      await this.#enter("startDeviceCode");
      return {
        userCode: "HQ7K-R2WP",
        verificationUri: "https://microsoft.com/devicelogin",
        expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
      };
    }),
    finishDeviceCode: vi.fn(async () => {
      await this.#enter("finishDeviceCode");
      return this.session;
    }),
    signOut: vi.fn(async () => {
      await this.#enter("signOut");
    }),
    planRecipe: vi.fn(async (recipeId: string, choices: Choices) => {
      await this.#enter("planRecipe");
      if (recipeId === "timetoreply") {
        const url = choices.inputs.portal_url ?? "";
        if (!url.startsWith("https://")) {
          throw ipcError("plan", "Your timetoreply portal address: must start with https://", "Type the full address, e.g. https://ttr.contoso.com.", "plan_recipe");
        }
        return ttrPlan(choices);
      }
      return tonicPlan(choices, { handoff: this.handoff, done: this.doneSteps, portalLink: this.portalLink });
    }),
    applyPlan: vi.fn(async (onEvent: (event: ApplyEvent) => void) => {
      const script = this.applyScripts.shift() ?? { events: tonicApplyEvents, result: { ok: true, failures: [] } };
      const held = this.#holds.get("applyPlan");
      for (const [i, event] of script.events.entries()) {
        if (held && script.pauseAfter === i) await held.promise;
        await Promise.resolve();
        onEvent(event);
      }
      await this.#enter("applyPlan");
      return script.result;
    }),
    cancelApply: vi.fn(async () => {
      await this.#enter("cancelApply");
      this.release("applyPlan");
    }),
    verify: vi.fn(async () => {
      await this.#enter("verify");
      return this.checks;
    }),
    finish: vi.fn(async () => {
      await this.#enter("finish");
      return this.doneView;
    }),
    revealSecret: vi.fn(async (_connectionId: string, _appKey: string) => {
      await this.#enter("revealSecret");
      return SECRET_VALUE;
    }),
    copySecret: vi.fn(async (_connectionId: string, _appKey: string) => {
      await this.#enter("copySecret");
    }),
    openExternal: vi.fn(async (_url: string) => {
      await this.#enter("openExternal");
    }),
    inspectCertificate: vi.fn(async (fileName: string, contentBase64: string) => {
      await this.#enter("inspectCertificate");
      return inspectFake(fileName, contentBase64);
    }),
    exportCertificate: vi.fn(async (connectionId: string, appKey: string, format: CertificateExportFormat) => {
      await this.#enter("exportCertificate");
      const origin =
        this.doneView.connectionId === connectionId
          ? this.doneView.certificates?.find((c) => c.appKey === appKey)?.origin
          : this.dashboard.find((c) => c.id === connectionId)?.apps.find((a) => a.key === appKey)?.certificate?.origin;
      if (origin !== "generated") {
        throw ipcError("certificate", "The vendor holds the private key of this certificate; there is nothing to export.", null, "export_certificate");
      }
      const base = `/home/avery/Documents/AppGrant/${connectionId}-${appKey}`;
      return format === "pfx" ? { paths: [`${base}.pfx`], password: PFX_PASSWORD } : { paths: [`${base}.key.pem`, `${base}.cert.pem`] };
    }),
    copyExportPassword: vi.fn(async () => {
      await this.#enter("copyExportPassword");
    }),
    exportHandoff: vi.fn(async (connectionId: string, format: string, includeSecrets: boolean) => {
      await this.#enter("exportHandoff");
      const ext = { markdown: "md", text: "txt", env: "env", json: "json", ics: "ics" }[format] ?? format;
      return `/home/avery/Documents/AppGrant/${connectionId}${includeSecrets ? "-with-secret" : ""}.${ext}`;
    }),
    saveChangeRecord: vi.fn(async (connectionId: string, format: string) => {
      await this.#enter("saveChangeRecord");
      return `/home/avery/Downloads/AppGrant/appgrant-change-record-${connectionId}.${format}`;
    }),
    listConnections: vi.fn(async () => {
      await this.#enter("listConnections");
      return this.connections;
    }),
    searchPeople: vi.fn(async (query: string) => {
      await this.#enter("searchPeople");
      const q = query.trim().toLowerCase();
      return this.people.filter((p) => p.displayName.toLowerCase().split(" ").some((w) => w.startsWith(q)));
    }),
    chooseMailboxes: vi.fn(async (ids: string[]) => {
      await this.#enter("chooseMailboxes");
      return this.people.filter((p) => ids.includes(p.id));
    }),
    limitMailboxes: vi.fn(async () => {
      await this.#enter("limitMailboxes");
      return limitOutcome(this.limitStatus);
    }),
    verifyMailboxLimit: vi.fn(async () => {
      await this.#enter("verifyMailboxLimit");
      return limitOutcome(this.limitStatus);
    }),
    signInForMailboxLimit: vi.fn(async () => {
      await this.#enter("signInForMailboxLimit");
      return this.session;
    }),
    limitSignIn: vi.fn(async (ids: string[]) => {
      await this.#enter("limitSignIn");
      const recipients = this.people.filter((p) => ids.includes(p.id));
      return [
        {
          appKey: "main",
          servicePrincipalId: "sp-main",
          recipients,
          assignments: recipients.map((r) => [r.id, `assignment-${r.id}`] as [string, string]),
          appliedAt: "2026-11-25T09:41:00Z",
        },
      ];
    }),
    changeMailboxes: vi.fn(async (ids: string[]) => {
      await this.#enter("changeMailboxes");
      const out = limitOutcome("pending");
      out.reports[0].state.recipients = this.people.filter((p) => ids.includes(p.id));
      return out;
    }),
    removeMailboxLimit: vi.fn(async () => {
      await this.#enter("removeMailboxLimit");
    }),
    loadDashboard: vi.fn(async (lookInKeyring: boolean): Promise<DashboardView> => {
      await this.#enter("loadDashboard");
      const hide = (c: DashboardConnection): DashboardConnection =>
        lookInKeyring
          ? c
          : {
              ...c,
              states: c.states.filter((s) => s.kind !== "secret_missing").length ? c.states.filter((s) => s.kind !== "secret_missing") : [item("ok", "ok", "OK: the secret is valid for a while", null, null)],
              apps: c.apps.map((a) => ({ ...a, credentials: a.credentials.map((x) => ({ ...x, inKeyring: null })) })),
            };
      return { now: NOW, connections: this.dashboard.map(hide), keyringChecked: lookInKeyring, practiceFreshSince: this.practiceFreshSince };
    }),
    checkConnection: vi.fn(async (connectionId: string): Promise<CheckResult> => {
      await this.#enter("checkConnection");
      const connection = { ...this.#find(connectionId), lastCheckedAt: NOW };
      this.#save(connection);
      const found = this.findings[connectionId] ?? { findings: [], fixSteps: [], extraGrants: [] };
      return {
        report: {
          connectionId,
          summary: { checkedAt: NOW, findings: found.findings.map((text) => ({ kind: "extra_permission", severity: "warning", appKey: "main", text })) },
          fixSteps: found.fixSteps,
          extraGrants: found.extraGrants,
        },
        connection,
      };
    }),
    fixDrift: vi.fn(async (connectionId: string, _removeExtra: boolean): Promise<CheckResult> => {
      await this.#enter("fixDrift");
      delete this.findings[connectionId];
      return this.backend.checkConnection(connectionId);
    }),
    signInForConnection: vi.fn(async (_connectionId: string) => {
      await this.#enter("signInForConnection");
      return this.session;
    }),
    rotateConnection: vi.fn(async (connectionId: string, graceDays: number, onEvent: (e: LifecycleEvent) => void): Promise<RotateResult> => {
      const before = this.#find(connectionId);
      const held = this.#holds.get("rotateConnection");
      for (const [step, message] of [
        ["creating_secret", "Adding a new secret in Entra"],
        ["secret_created", "Microsoft created the new secret"],
        ["stored", "The new secret is in this computer's credential store"],
        ["proving", "Proving the new secret works"],
        ["proved", "The new secret works; the old one stays valid during the overlap"],
      ] as const) {
        await Promise.resolve();
        onEvent({ event: "step", data: { connectionId, appKey: before.apps[0].key, step, message } });
        if (step === "secret_created" && held) await held.promise;
      }
      await this.#enter("rotateConnection");
      const connection = rotated(before, graceDays);
      this.#save(connection);
      const cert = before.apps[0].certificate;
      if (cert) {
        const notAfter = addDays(365);
        return {
          connection: { ...connection, apps: connection.apps.map((a) => ({ ...a, credentials: [], certificate: { ...cert, notAfter } })) },
          handoff: {
            ...tonicDone,
            connectionId,
            vendor: before.vendor,
            fields: [{ label: "Certificate thumbprint", value: CERT_THUMBPRINT, secret: false, help: null, appKey: null }],
            expiries: [{ app: before.apps[0].name, expiresOn: notAfter.slice(0, 10) }],
            certificates: [{ appKey: before.apps[0].key, appName: before.apps[0].name, thumbprint: CERT_THUMBPRINT, notAfter, origin: cert.origin }],
          },
        };
      }
      return {
        connection,
        handoff: {
          ...tonicDone,
          connectionId,
          vendor: before.vendor,
          fields: [
            { label: "App Secret", value: "<hidden: reveal in AppGrant>", secret: true, help: null, appKey: before.apps[0].key },
            { label: "Expiry Date", value: addDays(365).slice(0, 10), secret: false, help: null, appKey: null },
          ],
          expiries: [{ app: before.apps[0].name, expiresOn: addDays(365).slice(0, 10) }],
        },
      };
    }),
    finishRotation: vi.fn(async (connectionId: string, onEvent: (e: LifecycleEvent) => void): Promise<RotateResult> => {
      await this.#enter("finishRotation");
      const before = this.#find(connectionId);
      onEvent({ event: "step", data: { connectionId, appKey: before.apps[0].key, step: "old_removed", message: "The old secret is removed" } });
      const connection = rotated({ ...before, apps: before.apps.map((a) => ({ ...a, credentials: [] })) }, 0, "done");
      this.#save(connection);
      return { connection, handoff: null };
    }),
    exportRotation: vi.fn(async (connectionId: string, format: string, includeSecrets: boolean) => {
      await this.#enter("exportRotation");
      return `/home/avery/Downloads/AppGrant/${connectionId}-rotation${includeSecrets ? "-with-secret" : ""}.${format}`;
    }),
    reminders: vi.fn(async () => {
      await this.#enter("reminders");
      const due = this.dueReminder ? this.dashboard.filter((c) => c.daysLeft !== null && c.daysLeft <= 30) : [];
      return {
        due: due.map((c) => ({ connectionId: c.id, vendor: c.vendor, tenant: c.tenant.domain ?? c.tenant.id, expiresAt: c.nextExpiry ?? "", daysLeft: c.daysLeft ?? 0 })),
        notified: due.length > 0,
      };
    }),
    findVendorApps: vi.fn(async (onProgress: (p: ReadProgress) => void): Promise<VendorFindings> => {
      onProgress({ pages: 1, apps: this.handMade.appsRead });
      await this.#enter("findVendorApps");
      return this.handMade;
    }),
    expiryReport: vi.fn(async (withinDays: number | null, onProgress: (p: ReadProgress) => void) => {
      onProgress({ pages: 1, apps: 6 });
      await this.#enter("expiryReport");
      const rows = this.expiry.filter((r) => withinDays === null || (r.daysLeft !== null && r.daysLeft <= withinDays));
      return { rows, csv: ["App name", ...rows.map((r) => r.appName)].join("\r\n") + "\r\n" };
    }),
    adoptApp: vi.fn(async (recipeId: string, appIds: string[]): Promise<AdoptView> => {
      await this.#enter("adoptApp");
      const m = this.handMade.matches.find((x) => appIds.includes(x.app.appId) && x.recipeId === recipeId);
      if (!m) throw ipcError("adopt", "No app registration with that Application (client) ID was found in this tenant");
      const connection: DashboardConnection = { ...this.dashboard[0], id: this.drift.connectionId, vendor: m.vendor };
      this.dashboard = [...this.dashboard, connection];
      return { connection, drift: this.drift };
    }),
    planDriftFix: vi.fn(async (_connectionId: string) => {
      await this.#enter("planDriftFix");
      return this.drift;
    }),
    fixAdoptedDrift: vi.fn(async (connectionId: string) => {
      await this.#enter("fixAdoptedDrift");
      this.drift = { connectionId, steps: [] };
      return this.drift;
    }),
  } satisfies Backend;

  #find(id: string): DashboardConnection {
    const c = this.dashboard.find((x) => x.id === id);
    if (!c) throw ipcError("vault", `There is no connection ${id}.`);
    return c;
  }

  #save(c: DashboardConnection): void {
    this.dashboard = this.dashboard.map((x) => (x.id === c.id ? c : x));
  }
}
