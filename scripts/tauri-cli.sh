#!/usr/bin/env bash
# Runs the pinned Tauri CLI (ui/package.json's @tauri-apps/cli) for this repository's layout:
#   bash scripts/tauri-cli.sh bundle --bundles deb,rpm
#   bash scripts/tauri-cli.sh build --target universal-apple-darwin     (release workflow)
# The design keeps tauri.conf.json at the repository root, with paths relative to the root;
# the CLI looks for its config in the app's crate folder (src-tauri/) and resolves paths from
# there. So this writes src-tauri/tauri.conf.json from the root one with the paths rebased
# (generated, git-ignored, removed afterwards) and runs the CLI on src-tauri. The Rust build
# itself keeps reading the root file (src-tauri/build.rs).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
generated=src-tauri/tauri.conf.json
trap 'rm -f "$generated"' EXIT
node -e '
  const fs = require("fs");
  const conf = JSON.parse(fs.readFileSync("tauri.conf.json", "utf8"));
  const up = (p) => "../" + p;
  conf.build.frontendDist = up(conf.build.frontendDist);
  conf.bundle.icon = conf.bundle.icon.map(up);
  const mac = conf.bundle.macOS || {};
  if (mac.entitlements) mac.entitlements = up(mac.entitlements);
  fs.writeFileSync(process.argv[1], JSON.stringify(conf, null, 2) + "\n");
' "$generated"
export TAURI_APP_PATH="$REPO_ROOT/src-tauri" TAURI_FRONTEND_PATH="$REPO_ROOT/ui"
"$REPO_ROOT/ui/node_modules/.bin/tauri" "$@"
