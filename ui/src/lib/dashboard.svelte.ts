// The connections dashboard's state and every call it makes to the shell: load, sort and
// filter, the timeline's marks, Check / Check all, Rotate / Rotate all due and Finish. A screen
// of its own, beside the wizard (not a branch of the wizard's state), testable without a DOM.

import { IpcError, type Backend } from "./ipc";
import { toProblem, type Problem } from "./errors";
import { EXPIRY_WARN_DAYS, plural } from "./format";
import type {
  CheckResult,
  CredentialView,
  DashboardApp,
  DashboardConnection,
  DashboardView,
  DoneView,
  LifecycleEvent,
  Reminder,
  RotationStage,
  RotationStep,
  Severity,
  StatusItem,
} from "./types";

/** How urgent something is; each tone has a colour AND a shape/icon and words. */
export type Tone = "ok" | "info" | "warn" | "danger";

export type SortKey = "due" | "vendor" | "tenant";

/** The default overlap: the old secret keeps working this many days unless confirmed sooner. */
export const DEFAULT_GRACE_DAYS = 7;
export const GRACE_CHOICES = [1, 3, 7, 14, 30] as const;
/** "Due within" choices for the filter (null: any time). */
export const WITHIN_CHOICES = [7, 30, 90, 365] as const;
/** The list shows this many at first; "Show all" renders the rest (keeps first paint fast). */
export const FIRST_PAGE = 25;

/** The timeline shows from a month ago to a year ahead. */
export const TIMELINE_PAST_DAYS = 30;
export const TIMELINE_AHEAD_DAYS = 365;

/** What a rotation renews: an app's secret, or its certificate. */
export type CredentialWord = "secret" | "certificate";

/** The stages a rotation is shown in; `reached` says which one is under way. */
export function rotationStages(word: CredentialWord) {
  return [
    { id: "added", label: `New ${word} added in Entra` },
    { id: "stored", label: "Stored in this computer's credential store" },
    { id: "proved", label: `Proved: the new ${word} gets a token` },
    { id: "overlap", label: `Overlap: the old ${word} still works` },
    { id: "old_removed", label: `Old ${word} removed` },
    { id: "done", label: "Done" },
  ] as const;
}

/** "certificate" when the connection's apps use certificates, else "secret". */
export function credentialWordOf(c: DashboardConnection): CredentialWord {
  return c.apps.some((a) => a.certificate) ? "certificate" : "secret";
}

/** The shown stage under way (earlier ones are done) for a step reported while running. */
export function stageOfStep(step: RotationStep): number {
  const at: Record<RotationStep, number> = {
    started: 0,
    reading_policy: 0,
    removing_orphan: 0,
    creating_secret: 0,
    secret_created: 1,
    stored: 2,
    proving: 2,
    proved: 3,
    confirmed: 4,
    removing_old: 4,
    old_removed: 5,
    checking_new: 5,
    done: 6,
  };
  return at[step];
}

/** The shown stage under way for a rotation's saved stage. */
export function stageOfRotation(stage: RotationStage): number {
  return { creating: 0, stored: 2, overlap: 3, removing_old: 4, done: 6 }[stage];
}

const DAY_MS = 86_400_000;

function dayNumber(date: string): number {
  return Math.floor(Date.parse(date.length === 10 ? `${date}T00:00:00Z` : date) / DAY_MS);
}

// One formatter each, made once: `toLocaleDateString` builds a new one per call, which WebKit
// makes slow enough to matter with hundreds of dates on screen.
const SHORT_DATE = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const MONTH = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" });
const MONTH_YEAR = new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" });

/** "14 Jan 2027" in the user's locale (the calendar day in UTC). */
export function shortDate(value: string): string {
  const date = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return value;
  return SHORT_DATE.format(date);
}

/** "in 41 days", "tomorrow", "today", "yesterday", "3 days ago". */
export function relativeDays(days: number): string {
  if (days > 1) return `in ${days} days`;
  if (days === 1) return "tomorrow";
  if (days === 0) return "today";
  return days === -1 ? "yesterday" : `${-days} days ago`;
}

/** Whole days from `now` until `value` (negative once past). */
export function daysUntil(value: string, now: string): number {
  return Math.floor((Date.parse(value) - Date.parse(now)) / DAY_MS);
}

export function toneOfDays(daysLeft: number | null): Tone {
  if (daysLeft === null) return "info";
  if (daysLeft < 0) return "danger";
  if (daysLeft <= EXPIRY_WARN_DAYS) return "warn";
  return "ok";
}

export const TONE_OF: Record<Severity, Tone> = { ok: "ok", info: "info", warning: "warn", critical: "danger" };

/** Why a practice app made in an earlier session is gone, when the practice tenant started empty. */
export const PRACTICE_FORGOT =
  "The practice tenant started empty this time, so apps made in an earlier session are no longer there. Make the connection again to rehearse with it.";

/**
 * A state in words, with its tone (the colour is never the only signal). `practiceFreshSince`:
 * when the practice tenant started without its saved state (see `DashboardView`).
 */
export function describeStatus(
  s: StatusItem,
  c: DashboardConnection,
  practiceFreshSince: string | null = null,
): { words: string; tone: Tone } {
  const forgotten =
    s.kind === "app_deleted" &&
    c.tenant.practice &&
    practiceFreshSince !== null &&
    Date.parse(c.createdAt) < Date.parse(practiceFreshSince);
  const text = s.text.replace(/\.?$/, ".");
  return { words: forgotten ? `${text} ${PRACTICE_FORGOT}` : text, tone: TONE_OF[s.severity] };
}

const TONE_RANK: Record<Tone, number> = { danger: 0, warn: 1, info: 2, ok: 3 };

/** The connection's most urgent tone (its card's colour). */
export function toneOf(c: DashboardConnection): Tone {
  return c.states.map((s) => TONE_OF[s.severity]).sort((a, b) => TONE_RANK[a] - TONE_RANK[b])[0] ?? "ok";
}

/** The tenant as people know it: its domain, else its id. */
export function tenantLabel(c: DashboardConnection): string {
  return c.tenant.domain ?? c.tenant.id;
}

const ROLE_WORDS: Record<CredentialView["role"], string> = {
  current: "secret",
  old_in_overlap: "old secret",
  new_in_rotation: "new secret (not proved yet)",
  not_held: "secret AppGrant does not hold",
};

export function roleWords(cred: CredentialView): string {
  return ROLE_WORDS[cred.role];
}

/** One credential on the timeline. */
export interface Mark {
  id: string;
  connectionId: string;
  expiresOn: string;
  daysLeft: number;
  tone: Tone;
  /** 0 (a month ago) … 1 (a year ahead); clamped, with `beyond` saying so. */
  x: number;
  beyond: "past" | "future" | null;
  /** Row, so marks on close dates do not sit on top of each other. */
  lane: number;
  label: string;
}

export const MAX_LANES = 6;

/** What expires on an app: each secret, and its certificate. */
function expiringOf(app: DashboardApp, today: string): { key: string; expiresAt: string; daysLeft: number; words: string }[] {
  const secrets = app.credentials.map((cred) => ({ key: cred.keyId, expiresAt: cred.expiresAt, daysLeft: cred.daysLeft, words: roleWords(cred) }));
  const cert = app.certificate;
  return cert
    ? [...secrets, { key: `certificate-${cert.thumbprint}`, expiresAt: cert.notAfter, daysLeft: daysUntil(cert.notAfter, today), words: "certificate" }]
    : secrets;
}

export function timelineMarks(connections: DashboardConnection[], today: string): Mark[] {
  const start = dayNumber(today) - TIMELINE_PAST_DAYS;
  const span = TIMELINE_PAST_DAYS + TIMELINE_AHEAD_DAYS;
  const marks: Mark[] = [];
  for (const c of connections) {
    const many = c.apps.length > 1;
    for (const app of c.apps) {
      for (const due of expiringOf(app, today)) {
        const raw = (dayNumber(due.expiresAt) - start) / span;
        const expires = due.daysLeft < 0 ? "expired" : "expires";
        marks.push({
          id: `${c.id}/${app.key}/${due.key}`,
          connectionId: c.id,
          expiresOn: due.expiresAt,
          daysLeft: due.daysLeft,
          tone: toneOfDays(due.daysLeft),
          x: Math.min(1, Math.max(0, raw)),
          beyond: raw < 0 ? "past" : raw > 1 ? "future" : null,
          lane: 0,
          label: `${c.vendor}, ${tenantLabel(c)}, ${many ? `${app.name} ` : ""}${due.words} ${expires} ${shortDate(due.expiresAt)}, ${relativeDays(due.daysLeft)}`,
        });
      }
    }
  }
  marks.sort((a, b) => a.x - b.x || a.daysLeft - b.daysLeft);
  // Greedy lanes: a mark goes in the first row whose last mark is far enough to the left.
  const lastX: number[] = [];
  for (const m of marks) {
    let lane = lastX.findIndex((x) => m.x - x >= 0.012);
    if (lane === -1) lane = lastX.length < MAX_LANES ? lastX.length : lastX.indexOf(Math.min(...lastX));
    lastX[lane] = m.x;
    m.lane = lane;
  }
  return marks;
}

/** First day of each month inside the timeline, with its position. */
export function monthTicks(today: string): { x: number; label: string; date: string }[] {
  const start = dayNumber(today) - TIMELINE_PAST_DAYS;
  const span = TIMELINE_PAST_DAYS + TIMELINE_AHEAD_DAYS;
  const ticks = [];
  const d = new Date(start * DAY_MS);
  d.setUTCDate(1);
  for (let i = 0; i < 15; i++) {
    d.setUTCMonth(d.getUTCMonth() + 1);
    const x = (Math.floor(d.getTime() / DAY_MS) - start) / span;
    if (x > 1) break;
    const label = (d.getUTCMonth() === 0 ? MONTH_YEAR : MONTH).format(d);
    ticks.push({ x, label, date: d.toISOString().slice(0, 10) });
  }
  return ticks;
}

export function todayX(): number {
  return TIMELINE_PAST_DAYS / (TIMELINE_PAST_DAYS + TIMELINE_AHEAD_DAYS);
}

const WAITING: Record<string, string> = {
  throttled: "Microsoft asked AppGrant to slow down; trying again shortly.",
  transient: "Microsoft did not answer; trying again shortly.",
  replication: "Waiting for Microsoft to catch up (new secrets take a minute to work everywhere).",
};

/** What a sign-in continues with. */
export type Retry = "check" | "rotate" | "finish" | "fix";

/** What is happening to one connection right now (shown on its card, announced once). */
export type Activity =
  | { state: "checking"; message: string }
  | { state: "rotating"; stage: number; message: string }
  | { state: "finishing"; message: string }
  | { state: "fixing"; message: string }
  | { state: "sign_in_needed"; retry: Retry; message: string }
  | { state: "signing_in"; retry: Retry; message: string }
  | { state: "failed"; problem: Problem }
  | { state: "checked"; message: string };

export class Dashboard {
  readonly backend: Backend;

  view = $state.raw<DashboardView | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);

  sort = $state<SortKey>("due");
  tenant = $state<string>("");
  vendor = $state<string>("");
  within = $state<number | null>(null);
  showAll = $state(false);
  selectedId = $state<string | null>(null);

  activity = $state<Record<string, Activity>>({});
  reports = $state<Record<string, CheckResult["report"]>>({});
  handoffs = $state<Record<string, DoneView>>({});
  grace = $state<Record<string, number>>({});
  /** The latest thing that happened, for the screen reader's live region. */
  said = $state("");
  /** A bulk action (Check all / Rotate all due) is running. */
  bulk = $state<"check" | "rotate" | null>(null);

  reminder = $state.raw<Reminder | null>(null);

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** Marks the moment the screen was asked for (the benchmark measures first paint from it). */
  async open(): Promise<void> {
    timing("mark", "dashboard-open");
    await this.load();
  }

  /**
   * Reads the saved connections (fast: the first paint). The credential store is asked about
   * each secret afterwards (`keyringPass`, one read per secret), and the statuses updated.
   */
  async load(): Promise<void> {
    this.loading = true;
    this.problem = null;
    try {
      this.view = await this.backend.loadDashboard(false);
      timing("mark", "dashboard-loaded");
      timing("measure", "dashboard-load", "dashboard-open", "dashboard-loaded");
    } catch (error) {
      this.problem = toProblem(error);
      return;
    } finally {
      this.loading = false;
    }
    this.keyringPass = this.#lookInKeyring();
  }

  /** The credential store pass started by the last `load` (tests and the benchmark wait on it). */
  keyringPass: Promise<void> = Promise.resolve();
  /** The credential store is being asked about each secret. */
  lookingInKeyring = $state(false);

  async #lookInKeyring(): Promise<void> {
    this.lookingInKeyring = true;
    try {
      this.view = await this.backend.loadDashboard(true);
      timing("mark", "dashboard-keyring-checked");
      timing("measure", "dashboard-keyring", "dashboard-open", "dashboard-keyring-checked");
    } catch (error) {
      this.said = `Could not ask the credential store about the secrets: ${toProblem(error).message}`;
    } finally {
      this.lookingInKeyring = false;
    }
  }

  /** On start: what is due soon (the shell sends the OS notification, once a day). */
  async remind(): Promise<void> {
    try {
      this.reminder = await this.backend.reminders();
    } catch {
      // A reminder that cannot be read is not worth an error on the Start screen; the
      // dashboard shows the same facts when opened.
    }
  }

  get connections(): DashboardConnection[] {
    return this.view?.connections ?? [];
  }

  get tenants(): string[] {
    return [...new Set(this.connections.map(tenantLabel))].sort((a, b) => a.localeCompare(b));
  }

  get vendors(): string[] {
    return [...new Set(this.connections.map((c) => c.vendor))].sort((a, b) => a.localeCompare(b));
  }

  /** The filtered connections, in the chosen order. */
  get filtered(): DashboardConnection[] {
    const within = this.within;
    const rows = this.connections.filter(
      (c) =>
        (!this.tenant || tenantLabel(c) === this.tenant) &&
        (!this.vendor || c.vendor === this.vendor) &&
        (within === null || (c.daysLeft !== null && c.daysLeft <= within)),
    );
    const due = (c: DashboardConnection) => c.daysLeft ?? Number.MAX_SAFE_INTEGER;
    const by: Record<SortKey, (a: DashboardConnection, b: DashboardConnection) => number> = {
      due: (a, b) => due(a) - due(b) || a.vendor.localeCompare(b.vendor),
      vendor: (a, b) => a.vendor.localeCompare(b.vendor) || due(a) - due(b),
      tenant: (a, b) => tenantLabel(a).localeCompare(tenantLabel(b)) || due(a) - due(b),
    };
    return rows.sort(by[this.sort]);
  }

  /** What the list renders now (the first page until "Show all"; the selected one always). */
  get shown(): DashboardConnection[] {
    const all = this.filtered;
    if (this.showAll || all.length <= FIRST_PAGE) return all;
    const page = all.slice(0, FIRST_PAGE);
    const selected = all.find((c) => c.id === this.selectedId);
    return selected && !page.includes(selected) ? [...page, selected] : page;
  }

  get marks(): Mark[] {
    return this.view ? timelineMarks(this.filtered, this.view.now) : [];
  }

  /** Said after each sort or filter change (aria-live). */
  get resultsText(): string {
    const total = this.connections.length;
    const n = this.filtered.length;
    const due = this.filtered.filter((c) => c.daysLeft !== null && c.daysLeft <= EXPIRY_WARN_DAYS).length;
    const base = n === total ? `Showing all ${plural(total, "connection")}` : `Showing ${n} of ${plural(total, "connection")}`;
    return `${base}; ${due} due within ${EXPIRY_WARN_DAYS} days.`;
  }

  /** Connections whose secret is due within 30 days (or expired), among those shown. */
  get due(): DashboardConnection[] {
    return this.filtered.filter((c) => c.daysLeft !== null && c.daysLeft <= EXPIRY_WARN_DAYS);
  }

  clearFilters(): void {
    this.tenant = "";
    this.vendor = "";
    this.within = null;
  }

  select(id: string): void {
    this.selectedId = id;
  }

  graceFor(id: string): number {
    return this.grace[id] ?? DEFAULT_GRACE_DAYS;
  }

  #replace(connection: DashboardConnection): void {
    if (!this.view) return;
    this.view = {
      ...this.view,
      connections: this.view.connections.map((c) => (c.id === connection.id ? connection : c)),
    };
  }

  #name(id: string): string {
    const c = this.connections.find((x) => x.id === id);
    return c ? `${c.vendor} in ${tenantLabel(c)}` : id;
  }

  #onEvent = (event: LifecycleEvent): void => {
    const id = event.data.connectionId;
    const now = this.activity[id];
    switch (event.event) {
      case "step":
        if (now?.state === "rotating" || now?.state === "finishing") {
          this.activity[id] = { state: "rotating", stage: stageOfStep(event.data.step), message: event.data.message };
        }
        this.said = `${this.#name(id)}: ${event.data.message}`;
        break;
      case "notice":
        if (now && "message" in now) this.activity[id] = { ...now, message: event.data.message };
        this.said = `${this.#name(id)}: ${event.data.message}`;
        break;
      case "waiting": {
        const message = WAITING[event.data.reason] ?? "Waiting for Microsoft…";
        if (now && "message" in now) this.activity[id] = { ...now, message };
        break;
      }
      case "checked":
      case "failed":
        // The command's own answer says the same and updates the card.
        break;
    }
  };

  /** Runs one action on one connection; a missing sign-in becomes a prompt on its card. */
  async #run<T>(id: string, retry: Retry, start: Activity, call: () => Promise<T>): Promise<T | null> {
    this.activity[id] = start;
    this.said = `${this.#name(id)}: ${"message" in start ? start.message : ""}`;
    try {
      return await call();
    } catch (error) {
      if (error instanceof IpcError && error.code === "not_signed_in") {
        this.activity[id] = { state: "sign_in_needed", retry, message: error.message };
        this.said = `${this.#name(id)}: sign in to its tenant first.`;
      } else {
        this.activity[id] = { state: "failed", problem: toProblem(error) };
        this.said = `${this.#name(id)}: ${toProblem(error).message}`;
      }
      return null;
    }
  }

  /** Whether "Apply these changes" also removes permissions the recipe does not ask for. */
  removeExtra = $state<Record<string, boolean>>({});

  /** Applies the check's plan (missing grants; extra ones too when chosen), then checks again. */
  async fix(id: string): Promise<boolean> {
    const result = await this.#run(id, "fix", { state: "fixing", message: "Bringing the permissions back to the recipe…" }, () =>
      this.backend.fixDrift(id, this.removeExtra[id] ?? false),
    );
    return result !== null && this.#checked(id, result);
  }

  #checked(id: string, result: CheckResult): boolean {
    this.reports[id] = result.report;
    this.#replace(result.connection);
    const n = result.report.summary.findings.length;
    const summary = n ? plural(n, "finding") : "everything as expected";
    this.activity[id] = { state: "checked", message: `Checked just now: ${summary}.` };
    this.said = `${this.#name(id)} checked: ${summary}.`;
    return true;
  }

  async check(id: string): Promise<boolean> {
    const result = await this.#run(id, "check", { state: "checking", message: "Reading the tenant…" }, () =>
      this.backend.checkConnection(id),
    );
    return result !== null && this.#checked(id, result);
  }

  async rotate(id: string): Promise<boolean> {
    const result = await this.#run(id, "rotate", { state: "rotating", stage: 0, message: "Adding a new secret…" }, () =>
      this.backend.rotateConnection(id, this.graceFor(id), this.#onEvent),
    );
    if (!result) return false;
    if (result.handoff) this.handoffs[id] = result.handoff;
    this.#replace(result.connection);
    delete this.activity[id];
    this.said = `${this.#name(id)}: new secret proved. Give it to ${result.connection.vendor}, then confirm.`;
    return true;
  }

  /** "The vendor now uses the new secret": the old one is removed now. */
  async finish(id: string): Promise<boolean> {
    const result = await this.#run(id, "finish", { state: "finishing", message: "Removing the old secret…" }, () =>
      this.backend.finishRotation(id, this.#onEvent),
    );
    if (!result) return false;
    this.#replace(result.connection);
    delete this.handoffs[id];
    this.activity[id] = { state: "checked", message: "Rotation finished: the old secret is removed and the new one works." };
    this.said = `${this.#name(id)}: rotation finished.`;
    return true;
  }

  async signIn(id: string): Promise<void> {
    const now = this.activity[id];
    if (now?.state !== "sign_in_needed") return;
    this.activity[id] = { state: "signing_in", retry: now.retry, message: "Finish signing in in your browser…" };
    try {
      await this.backend.signInForConnection(id);
    } catch (error) {
      this.activity[id] = { state: "failed", problem: toProblem(error) };
      return;
    }
    const again = {
      check: () => this.check(id),
      rotate: () => this.rotate(id),
      finish: () => this.finish(id),
      fix: () => this.fix(id),
    }[now.retry];
    await again();
  }

  /** Checks every connection shown, one after another. */
  async checkAll(): Promise<void> {
    await this.#bulk("check", this.filtered, (id) => this.check(id));
  }

  /** Rotates every connection due within 30 days, one after another. */
  async rotateAllDue(): Promise<void> {
    await this.#bulk("rotate", this.due, (id) => this.rotate(id));
  }

  async #bulk(kind: "check" | "rotate", rows: DashboardConnection[], run: (id: string) => Promise<boolean>) {
    if (this.bulk) return;
    this.bulk = kind;
    let ok = 0;
    try {
      for (const c of rows) if (await run(c.id)) ok++;
    } finally {
      this.bulk = null;
    }
    const verb = kind === "check" ? "Checked" : "Rotated";
    this.said = `${verb} ${ok} of ${plural(rows.length, "connection")}.${ok < rows.length ? " See the cards marked with a problem." : ""}`;
  }
}

/**
 * Performance marks for scripts/bench-dashboard.sh (read back through WebDriver). A runtime
 * without the User Timing API (jsdom) simply records nothing.
 */
export function timing(kind: "mark" | "measure", name: string, from?: string, to?: string): void {
  try {
    if (kind === "mark") performance.mark(name);
    else performance.measure(name, from, to);
  } catch {
    // No User Timing here; nothing depends on it.
  }
}
