// Dates and countdowns in words.

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

// Formatters made once (WebKit makes building one per call slow; the dashboard shows hundreds).
const LONG_DATE = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });
const LONG_DATE_UTC = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });
const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** "1 May 2027" in the user's locale; a date-only value is read as that calendar day. */
export function formatDate(value: string): string {
  const dateOnly = DATE_ONLY.test(value);
  const date = new Date(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return value;
  return (dateOnly ? LONG_DATE_UTC : LONG_DATE).format(date);
}

/** "14:32" in the user's locale. */
export function formatTime(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return TIME.format(date);
}

/** "expires in 712 days", "expires today", "expired 3 days ago". */
export function expiryText(daysLeft: number | null): string {
  if (daysLeft === null) return "no expiry recorded";
  if (daysLeft > 1) return `expires in ${daysLeft} days`;
  if (daysLeft === 1) return "expires tomorrow";
  if (daysLeft === 0) return "expires today";
  return daysLeft === -1 ? "expired yesterday" : `expired ${-daysLeft} days ago`;
}

/** Fewer than this many days left gets warning styling. */
export const EXPIRY_WARN_DAYS = 30;

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** How each export is offered (Done and a rotation's hand-off). */
export const FORMAT_LABEL: Record<"markdown" | "text" | "env" | "json" | "ics", string> = {
  markdown: "Hand-off sheet (Markdown)",
  text: "Hand-off sheet (plain text)",
  env: "Environment file (.env)",
  json: "JSON file",
  ics: "Expiry reminder for your calendar (.ics)",
};
