#!/usr/bin/env bash
# Builds the UI and the desktop app (debug, with the UI embedded).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
step "building the UI"
npm --prefix ui run build --silent
step "building the app"
cargo build --workspace --all-targets --features appgrant/custom-protocol
