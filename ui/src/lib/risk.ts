// How each risk level is shown: a short label and a sentence for screen readers and tooltips.
import type { Risk } from "./types";

export const RISK: Record<Risk, { label: string; explain: string }> = {
  read: { label: "Read", explain: "Can only read data." },
  write: { label: "Write", explain: "Can create, change or delete data." },
  send: { label: "Send", explain: "Can send messages as people in your organisation." },
  directory_wide: {
    label: "Directory-wide",
    explain: "Can change your directory: apps, roles, users or groups.",
  },
};

/** Case-insensitive match of a search text against what a card shows. */
export function matches(query: string, ...fields: string[]): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return fields.some((f) => f.toLowerCase().includes(q));
}
