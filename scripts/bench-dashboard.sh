#!/usr/bin/env bash
# Dashboard benchmark: 500 saved connections in a throw-away data folder, the release build
# under Xvfb (inside a throw-away keyring), time from opening the screen to its first paint.
# Figures: artifacts/bench/dashboard.txt. Goal: under 200 ms.
#
#   bash scripts/bench-dashboard.sh            # release build (about 6 min cold on 2 cores)
#   BENCH_PROFILE=debug bash scripts/bench-dashboard.sh   # the debug build (quicker to build)
#   BENCH_CONNECTIONS=50 BENCH_RUNS=3 ...      # the short version scripts/test.sh runs
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

profile="${BENCH_PROFILE:-release}"
connections="${BENCH_CONNECTIONS:-500}"
runs="${BENCH_RUNS:-10}"

step "building the UI and the app ($profile)"
npm --prefix ui run build --silent
if [[ "$profile" == release ]]; then
  cargo build --release -p appgrant --features appgrant/custom-protocol
else
  cargo build -p appgrant --features appgrant/custom-protocol
fi

data="$(mktemp -d "${TMPDIR:-/tmp}/appgrant-bench-dashboard.XXXXXX")"
trap 'rm -rf "$data"' EXIT
step "writing $connections saved connections to $data/connections.json"
node scripts/gen-connections.mjs "$connections" > "$data/connections.json"

step "opening the dashboard $runs times"
BENCH_DATA_DIR="$data" BENCH_RUNS="$runs" BENCH_PROFILE="$profile" BENCH_CONNECTIONS="$connections" \
  APPGRANT_BIN="$CARGO_TARGET_DIR/$profile/appgrant" \
  xvfb-run -a -s "-screen 0 1280x860x24" \
  dbus-run-session -- bash scripts/with-keyring.sh \
  node tests/e2e/bench-dashboard.mjs
