# Shared settings for the scripts (sourced, not run).
# Builds go to a cache outside the clone so a fresh clone on the same machine reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/appgrant/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export APPGRANT_ARTIFACTS="${APPGRANT_ARTIFACTS:-$REPO_ROOT/artifacts/e2e}"
export APPGRANT_BIN="${APPGRANT_BIN:-$CARGO_TARGET_DIR/debug/appgrant}"

step() { printf '\n==> %s\n' "$*"; }
