#!/usr/bin/env node
// Prints a connections.json (the vault's index, version 1) with N made-up saved connections
// spread over vendors, tenants and the next two years, for the dashboard benchmark. No secret
// is written anywhere: the keyring holds none of them, so the dashboard shows them as missing.
//   node scripts/gen-connections.mjs 500 > connections.json

const n = Number(process.argv[2] ?? 500);
const vendors = [
  ["tonicdm", "TonicDM", ["main"]],
  ["docbits", "DocBits", ["main"]],
  ["timetoreply", "timetoreply", ["main"]],
  ["totalview", "Totalview", ["calendar", "email"]],
];
const tenants = Array.from({ length: 40 }, (_, i) => `customer${String(i + 1).padStart(2, "0")}.onmicrosoft.com`);
const now = Date.now();
const DAY = 86_400_000;
// A fixed sequence, so every run measures the same data.
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const uuid = () =>
  "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx".replace(/x/g, () => Math.floor(rand() * 16).toString(16));

const connections = Array.from({ length: n }, (_, i) => {
  const [recipe, vendor, keys] = vendors[i % vendors.length];
  const tenant = tenants[Math.floor(rand() * tenants.length)];
  const created = new Date(now - Math.floor(rand() * 600) * DAY);
  return {
    id: uuid(),
    recipe_id: recipe,
    vendor,
    tenant_id: uuid(),
    tenant_domain: tenant,
    practice: false,
    apps: keys.map((key) => ({
      key,
      display_name: `${vendor} ${key}`,
      app_id: uuid(),
      object_id: uuid(),
      service_principal_id: uuid(),
      secret: {
        key_id: uuid(),
        description: `${vendor} secret`,
        created_at: created.toISOString(),
        expires_at: new Date(now + Math.floor(rand() * 760 - 30) * DAY).toISOString(),
      },
    })),
    inputs: {},
    created_at: created.toISOString(),
    verified_at: created.toISOString(),
  };
});

process.stdout.write(JSON.stringify({ version: 1, connections }, null, 1));
