// One table from the shell's error code to what the admin can do next, so every error shown
// has a next action even when the shell sent no hint.
import { IpcError } from "./ipc";
import type { ErrorCode } from "./types";

export interface Problem {
  code: ErrorCode | "unknown";
  message: string;
  /** What to do next: the shell's hint, or the default for the code. */
  hint: string;
}

export const NEXT_ACTION: Record<ErrorCode | "unknown", string> = {
  invalid_recipe: "Fix the lines named above in the recipe file, then import it again.",
  ipc_failed: "Restart AppGrant. If it happens again, attach the log file to a support ticket.",
  not_signed_in: "Go back to Sign in and sign in again.",
  sign_in: "Try again. If the browser does not open or gets stuck, use “Sign in with a code instead”.",
  plan: "Check the values you entered, then try again.",
  apply: "Press Try again: AppGrant continues where it stopped and does not create anything twice.",
  vault: "Unlock your computer's credential store (keyring), then try again.",
  export: "Try again, or choose another format.",
  practice: "Restart AppGrant and open the practice tenant again.",
  lifecycle: "Try again: a rotation continues where it stopped, without losing a secret.",
  adopt: "Sign in with an account that may read and change app registrations, then try again.",
  certificate: "Ask the vendor for its public certificate (.cer, .crt or .pem), or choose another kind of credential.",
  unknown: "Try again. If it happens again, restart AppGrant.",
};

export function toProblem(error: unknown): Problem {
  if (error instanceof IpcError) {
    return { code: error.code, message: error.message, hint: error.hint ?? NEXT_ACTION[error.code] };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "unknown", message, hint: NEXT_ACTION.unknown };
}
