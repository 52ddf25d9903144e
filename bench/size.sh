#!/usr/bin/env bash
# Binary size by crate, one command: builds the desktop app with the size-tuned release profile
# but keeps its symbols (CARGO_PROFILE_RELEASE_STRIP=false; what ships is that binary stripped),
# then writes artifacts/bench/size.txt: the stripped size, the 15 largest contributors by crate
# (bench/size_by_crate.py) and `cargo tree -d` (crates linked in two versions).
#
#   bash bench/size.sh                      # the current tree
#   bash bench/size.sh OLD_UNSTRIPPED_BIN   # ... beside an earlier unstripped build
#
# The symbol-keeping build changes every crate's fingerprint, so the first run rebuilds the
# release profile from scratch (about 10 min on 2 cores); scripts/package.sh's stripped build
# does the same when it runs next.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$REPO_ROOT"
out="$REPO_ROOT/artifacts/bench/size.txt"
mkdir -p "$(dirname "$out")"

if [[ ! -f ui/dist/index.html ]] || [[ -n $(find ui/src ui/index.html ui/package.json -newer ui/dist/index.html | head -1) ]]; then
  npm --prefix ui run build --silent
fi
step "release build with symbols"
CARGO_PROFILE_RELEASE_STRIP=false cargo build -q --release -p appgrant --features appgrant/custom-protocol
bin="$CARGO_TARGET_DIR/release/appgrant"
stripped="$(mktemp)"
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$bin"

{
  echo "AppGrant desktop binary ($(date -u +%Y-%m-%dT%H:%MZ), profile: $(sed -n '/^\[profile.release\]/,/^$/p' Cargo.toml | grep = | tr '\n' ' '))"
  printf 'stripped: %s bytes (%.2f MB); goal <= 8 MB\n\n' "$(stat -c %s "$stripped")" "$(awk -v b="$(stat -c %s "$stripped")" 'BEGIN { print b / 1000000 }')"
  if [[ -n ${1:-} ]]; then
    strip -o "$stripped.before" "$1"
    printf 'before: %s, %s bytes stripped\n\n' "$1" "$(stat -c %s "$stripped.before")"
    rm -f "$stripped.before"
  fi
  python3 bench/size_by_crate.py "$bin" ${1:+--before "$1"} --top 15
  echo
  echo "crates linked in two versions (cargo tree -d, normal dependencies of the app):"
  cargo tree -d -e normal -p appgrant --features appgrant/custom-protocol --prefix depth 2>/dev/null |
    sed -n 's/^0//p' | grep -v '(proc-macro)' | sed 's/ (\*)//' | sort -u | sed 's/^/  /'
} | tee "$out"
