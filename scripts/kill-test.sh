#!/usr/bin/env bash
# The long kill test: for each built-in recipe, `appgrant-cli connect` against a standalone
# practice tenant is killed with SIGKILL at >= 20 random moments covering the whole run, then
# run to completion; the tenant, the keyring and connections.json are then audited.
# Prints the table and writes it to artifacts/bench/kill-test.txt.
# Usage: scripts/kill-test.sh [KILLS_PER_RECIPE]   (default 20; APPGRANT_KILL_SEED repeats a run)
# (scripts/test.sh runs the same test with 3 kills per recipe.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"
export APPGRANT_KILLS="${1:-20}"

step "Building appgrant-cli and the kill test"
cargo build --quiet -p appgrant-cli
cargo test --quiet -p appgrant-cli --test kill --no-run

step "Kill test, $APPGRANT_KILLS kills per recipe (inside a throw-away keyring)"
dbus-run-session -- bash scripts/with-keyring.sh \
  cargo test --quiet -p appgrant-cli --test kill -- --ignored --nocapture
