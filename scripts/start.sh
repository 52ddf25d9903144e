#!/usr/bin/env bash
# Installs what is missing, builds, and starts AppGrant.
#   bash scripts/start.sh                              opens the practice tenant (no Microsoft account needed)
#   bash scripts/start.sh --tenant contoso.onmicrosoft.com   opens your own tenant
#   bash scripts/start.sh --tenant organizations       any work account
#   bash scripts/start.sh --presenter                  presenter mode (large, high contrast, no secret shown; remembered)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

start="practice"
presenter=""
while (($#)); do
  case "$1" in
    --tenant) start="${2:?--tenant needs a domain, a tenant id or organizations}"; shift 2 ;;
    --tenant=*) start="${1#--tenant=}"; shift ;;
    --presenter) presenter=1; shift ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh
bash scripts/build.sh
step "starting AppGrant ($start)"
export APPGRANT_START="$start"
if [[ -n "$presenter" ]]; then export APPGRANT_PRESENTER=1; fi
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "No display found: starting AppGrant inside a virtual display (xvfb-run)." >&2
  exec xvfb-run -a -s "-screen 0 1280x860x24" "$APPGRANT_BIN"
fi
exec "$APPGRANT_BIN"
