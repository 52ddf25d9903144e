// Presenter mode, for leading an onboarding session on a shared screen: larger type and
// controls, high contrast (a class on <html>, styles in app.css), the current step's
// explanation always visible, no secret shown (Reveal is disabled; Copy still works) and no
// auto-advance. One shared switch, so any component (a secret field on Done or in a rotation)
// can read it; the wizard remembers it through the shell.

import type { Screen } from "./wizard.svelte";

export const presenter = $state({ on: false });

/** Turns presenter mode on or off in the page (the shell remembers it separately). */
export function showPresenter(on: boolean): void {
  presenter.on = on;
  if (typeof document !== "undefined") document.documentElement.classList.toggle("presenter", on);
}

/** Why Reveal is off while presenting (one line, under the secret). */
export const NO_REVEAL_WHY = "Presenter mode hides secrets from the room. Copy still works.";

/** What each wizard screen is for, said so that a room of admins can follow. */
export const EXPLAIN: Record<Screen, string> = {
  start:
    "Choose where to work: the practice tenant (a local copy of a Microsoft 365 tenant, nothing real changes) or your organisation's own tenant.",
  vendor:
    "Pick the vendor. Each one says what its app will be able to do in the tenant, and how much harm a leaked secret could do.",
  signin:
    "Sign in with an administrator account in the browser. AppGrant never sees the password; it reads which roles the account has and what they allow.",
  review:
    "Nothing has been changed yet. These are the steps AppGrant will take, in the order of the Entra admin center, each with where it lives there.",
  apply:
    "AppGrant makes the changes one step at a time. New objects take a while to reach every part of Microsoft; AppGrant waits and says so.",
  verify:
    "AppGrant proves the connection works the way the vendor will use it: a token for the new app and one harmless call.",
  done: "Saved: the secret is in this computer's credential store. Give the vendor these values; the secret goes by Copy, never on screen.",
};
