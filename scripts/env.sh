# Shared settings for the scripts (sourced, not run).
# Builds go to a cache outside the clone so a fresh clone on the same machine reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/appgrant/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export APPGRANT_ARTIFACTS="${APPGRANT_ARTIFACTS:-$REPO_ROOT/artifacts/e2e}"
export APPGRANT_BIN="${APPGRANT_BIN:-$CARGO_TARGET_DIR/debug/appgrant}"

# A Node.js fetched by install-deps.sh (when the system's is too old) comes first on PATH.
export APPGRANT_NODE_DIR="${APPGRANT_NODE_DIR:-$HOME/.cache/appgrant/node}"
for bin in "$APPGRANT_NODE_DIR"/node_modules/node-linux-*/bin; do
  [[ -x "$bin/node" ]] && case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
done

# True when the node on PATH is 20.19 or newer (what Vite 8 and Vitest 4 need).
node_is_recent() {
  command -v node >/dev/null &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}

step() { printf '\n==> %s\n' "$*"; }
