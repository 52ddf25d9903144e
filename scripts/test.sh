#!/usr/bin/env bash
# The whole test suite: installs what is missing, then formatting, lints, Rust tests, MSAL
# (Microsoft's own client) against the simulator, UI type check and unit tests, and the
# end-to-end tests in a real window under Xvfb.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
started=$(date +%s)

step "installing what is missing"
bash scripts/install-deps.sh

step "cargo fmt --check"
cargo fmt --all --check

step "UI build (the desktop shell embeds it)"
npm --prefix ui run build --silent

step "cargo clippy"
cargo clippy --workspace --all-targets --features appgrant/custom-protocol -- -D warnings

step "cargo build"
cargo build --workspace --all-targets --features appgrant/custom-protocol

step "cargo test"
cargo test --workspace --features appgrant/custom-protocol

step "Microsoft's MSAL for Python against a standalone practice tenant (appgrant-sim --tls)"
APPGRANT_SIM_BIN="$CARGO_TARGET_DIR/debug/appgrant-sim" bash tests/msal/run.sh

step "tests that use the real OS keyring (inside a throw-away keyring)"
# (same packages and features as above, so nothing is rebuilt)
dbus-run-session -- bash scripts/with-keyring.sh \
  cargo test --workspace --features appgrant/custom-protocol -- --ignored --skip people_search_scale

step "kill test, short run (3 SIGKILLs per recipe; table in artifacts/bench/kill-test-short.txt)"
# (ran just above with the other keyring tests; scripts/kill-test.sh is the 20-kill run and
# scripts/fuzz.sh the 10^6-case fuzzing; the fuzz corpus replays run with cargo test)
cat artifacts/bench/kill-test-short.txt

step "apply benchmark, short (TonicDM at 0 and 1.5 s of replication; all recipes and delays: cargo run -p appgrant-core --example bench)"
cargo run -q -p appgrant-core --example bench -- --short > /dev/null
cat bench/results.txt

step "simulator paging benchmark (figures in artifacts/bench/sim-paging.txt)"
cargo run -q -p appgrant-sim --example paging_bench
cat artifacts/bench/sim-paging.txt

step "bulk rotation benchmark, 10 connections (figures in artifacts/bench/rotate-10.txt; 100: cargo run -p appgrant-core --example rotate_bench)"
cargo run -q -p appgrant-core --example rotate_bench -- --connections 10 --out artifacts/bench/rotate-10.txt > /dev/null
cat artifacts/bench/rotate-10.txt

step "adoption benchmark, 1,000 app registrations (figures in artifacts/bench/adopt-1000.txt; 10,000: cargo run -p appgrant-core --example adopt_bench)"
cargo run -q -p appgrant-core --example adopt_bench -- --apps 1000 --out artifacts/bench/adopt-1000.txt > /dev/null
cat artifacts/bench/adopt-1000.txt

step "people search over 100,000 users (figures in artifacts/bench/people-search.txt)"
cargo test -q --workspace --features appgrant/custom-protocol -- --ignored --exact people_search_scale_100k --nocapture 2>&1 | grep -v "^running\|^test result\|^$" || true
cat artifacts/bench/people-search.txt 2>/dev/null || true

# Windows as far as Linux allows (clippy for the target, unit tests and the CLI's practice
# flow under Wine), then the Linux installers built, installed and started (release build).
bash scripts/windows-check.sh
bash scripts/package.sh

# Start-up and memory beside a minimal Tauri app: `bash bench/startup.sh` (its own command: the
# floor app is a second Tauri build, too slow for this one).

step "UI type check"
npm --prefix ui run check

step "UI unit tests"
npm --prefix ui test

step "end-to-end tests (real window, Xvfb, tauri-driver)"
rm -rf "$APPGRANT_ARTIFACTS"
# AppGrant's own crates log at trace level, so the closing secret scan (zz-secret-scan)
# proves appgrant.log holds no secret even at its most verbose.
APPGRANT_LOG="${APPGRANT_LOG:-info,appgrant_lib=trace,appgrant_core=trace,appgrant_sim=trace}" \
xvfb-run -a -s "-screen 0 1280x860x24" \
  dbus-run-session -- bash scripts/with-keyring.sh \
  npm --prefix tests/e2e test

step "dashboard benchmark, short (50 connections, debug build; the full one: scripts/bench-dashboard.sh)"
BENCH_PROFILE=debug BENCH_CONNECTIONS=50 BENCH_RUNS=3 BENCH_OUT="$REPO_ROOT/artifacts/bench/dashboard-short.txt" \
  bash scripts/bench-dashboard.sh

step "all tests passed in $(( $(date +%s) - started )) s; screenshots in $APPGRANT_ARTIFACTS"
