// What several end-to-end tests ask of the practice tenant and the OS keyring: does a client
// secret get a token (client credentials against the practice tenant), does the keyring hold a
// secret (`secret-tool`, inside the throw-away keyring scripts/with-keyring.sh makes).

import { execFileSync } from "node:child_process";

/** The practice tenant's fixed tenant id (crates/sim seed). */
export const PRACTICE_TENANT_ID = "5f3c2b1a-7d6e-4f80-9a1b-2c3d4e5f6a7b";

/** HTTP status of a client-credentials token request with `clientId` + `secret` (200: it works). */
export async function tokenStatus(practiceBase, clientId, secret) {
  const response = await fetch(`${practiceBase}/${PRACTICE_TENANT_ID}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: clientId,
      client_secret: secret,
      scope: "https://graph.microsoft.com/.default",
      grant_type: "client_credentials",
    }),
  });
  return response.status;
}

/** Whether any AppGrant entry in the OS keyring holds `secret`. */
export function keyringHas(secret) {
  try {
    const out = execFileSync("secret-tool", ["search", "--all", "--unlock", "service", "AppGrant"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return out.includes(secret);
  } catch {
    return false;
  }
}

/** Every secret value AppGrant keeps in the OS keyring (to prove one never reached the screen). */
export function keyringSecretValues() {
  try {
    const out = execFileSync("secret-tool", ["search", "--all", "--unlock", "service", "AppGrant"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return [...out.matchAll(/^secret = (.+)$/gm)].map((m) => m[1].trim()).filter((v) => v.length >= 16);
  } catch {
    return [];
  }
}
