// The one module that talks to the Rust shell. Components depend on the `Backend` interface,
// so tests hand them a fake one. Never pass a secret as an argument here: invoke arguments
// can end up in logs.

import { invoke } from "@tauri-apps/api/core";
import type { RecipeCard, UiErrorPayload } from "./types";

export interface Backend {
  listRecipes(): Promise<RecipeCard[]>;
}

/** An error from a command, carrying the shell's code so the UI can branch on it. */
export class IpcError extends Error {
  readonly code: UiErrorPayload["code"];
  readonly hint: string | null;
  readonly command: string;

  constructor(command: string, payload: UiErrorPayload) {
    super(payload.message);
    this.name = "IpcError";
    this.command = command;
    this.code = payload.code;
    this.hint = payload.hint;
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
  listRecipes: () => call<RecipeCard[]>("list_recipes"),
};
