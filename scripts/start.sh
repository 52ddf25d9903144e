#!/usr/bin/env bash
# Installs what is missing, builds, and starts AppGrant.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
bash scripts/install-deps.sh
bash scripts/build.sh
step "starting AppGrant"
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "No display found: starting AppGrant inside a virtual display (xvfb-run)." >&2
  exec xvfb-run -a -s "-screen 0 1280x860x24" "$APPGRANT_BIN" "$@"
fi
exec "$APPGRANT_BIN" "$@"
