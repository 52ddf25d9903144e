#!/usr/bin/env bash
# Start-up and memory benchmark, one command: AppGrant's release build beside the "floor" (the
# smallest Tauri 2 app of the same Tauri version, source in bench/floor/, built once into its
# own target folder under ~/.cache/appgrant/), each started N times under Xvfb with a fresh
# home. Figures (window mapped, first screen interactive, PSS of the process tree at 3 s and
# 10 s; min/median/max) go to artifacts/bench/startup.txt and startup.json.
#
#   bash bench/startup.sh             # 8 runs each (about 3 min, plus the builds)
#   bash bench/startup.sh --runs 1    # a quick look (not part of scripts/test.sh)
#
# Builds: the app with the size-tuned release profile (what scripts/package.sh already built
# in scripts/test.sh: a no-op then), the floor once (about 5 min cold on 2 cores, a no-op after).
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$REPO_ROOT"
runs=8
[[ ${1:-} == --runs ]] && runs="$2"
FLOOR_TARGET="${FLOOR_TARGET:-$HOME/.cache/appgrant/target-floor}"

# The floor must use the Tauri that AppGrant uses, or the comparison says nothing.
locked() { awk -v n="$2" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$1"; }
for crate in tauri wry webkit2gtk; do
  app_v=$(locked Cargo.lock "$crate")
  floor_v=$(locked bench/floor/Cargo.lock "$crate")
  if [[ "$app_v" != "$floor_v" ]]; then
    echo "bench/floor uses $crate $floor_v but AppGrant uses $app_v: copy Cargo.lock to bench/floor/Cargo.lock and pin the same version in bench/floor/Cargo.toml" >&2
    exit 1
  fi
done

step "release build of AppGrant (size-tuned profile)"
if [[ ! -f ui/dist/index.html ]] || [[ -n $(find ui/src ui/index.html ui/package.json -newer ui/dist/index.html | head -1) ]]; then
  npm --prefix ui run build --silent
fi
cargo build -q --release -p appgrant --features appgrant/custom-protocol

step "release build of the floor app (once; target $FLOOR_TARGET)"
CARGO_TARGET_DIR="$FLOOR_TARGET" cargo build -q --release --locked --manifest-path bench/floor/Cargo.toml

step "starting each $runs time(s) under Xvfb"
xvfb-run -a -s "-screen 0 1280x860x24" \
  dbus-run-session -- bash scripts/with-keyring.sh \
  python3 bench/startup.py --runs "$runs" \
  --app "$CARGO_TARGET_DIR/release/appgrant" \
  --floor "$FLOOR_TARGET/release/appgrant-floor" \
  --out "$REPO_ROOT/artifacts/bench/startup"
