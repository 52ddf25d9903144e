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
  inputs: string[];
  corrections: number;
}

/** Error codes the shell sends; keep in step with `Code` in src-tauri/src/error.rs. */
export type ErrorCode = "invalid_recipe" | "ipc_failed";

export interface UiErrorPayload {
  code: ErrorCode;
  message: string;
  hint: string | null;
}
