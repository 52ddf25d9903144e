#!/usr/bin/env bash
# The long fuzz run: every cargo-fuzz target in fuzz/ for FUZZ_RUNS cases (default 10^6),
# starting from the corpus in fuzz/corpus/<target>/ (new finds go to a scratch folder, so the
# repo's corpus stays small). Prints cases tried and crashes per target and writes the table
# to artifacts/bench/fuzz.txt. Crashing inputs are saved in fuzz/artifacts/<target>/.
# Needs the nightly toolchain (installed by rustup) and cargo-fuzz (installed here if missing).
# The short run in scripts/test.sh is the stable replay tests (`fuzz_replay`).
# Usage: scripts/fuzz.sh [TARGET...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT/fuzz"
runs="${FUZZ_RUNS:-1000000}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(recipe_toml loopback_request cli_args sim_filter certificate_file)
# cli_args is not a cargo-fuzz target (appgrant-cli is a binary crate): its stable generator.
fuzz_cli_args() {
  (cd "$REPO_ROOT" && APPGRANT_FUZZ_CASES="$runs" cargo test --quiet -p appgrant-cli --bin appgrant-cli \
    fuzz_replay -- --nocapture)
}
fuzz_target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/appgrant/target-fuzz}"

step "Installing cargo-fuzz if missing"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

out="$REPO_ROOT/artifacts/bench/fuzz.txt"
mkdir -p "$(dirname "$out")"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
table="$(printf '%-18s %12s %8s %10s\n' target cases crashes seconds)"
status=0
for t in "${targets[@]}"; do
  step "Fuzzing $t ($runs cases)"
  mkdir -p "$scratch/$t"
  started=$(date +%s)
  # Safe Rust only (unsafe is forbidden in the workspace): no sanitizer, for speed.
  if [[ $t == cli_args ]]; then
    run_one() { fuzz_cli_args; }
  else
    run_one() {
      cargo +nightly fuzz run --sanitizer none --target-dir "$fuzz_target_dir" "$t" \
        "$scratch/$t" "corpus/$t" -- -runs="$runs" -print_final_stats=1
    }
  fi
  if run_one >"$scratch/$t.log" 2>&1; then
    crashes=0
  else
    crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
    [[ $crashes -gt 0 ]] || crashes=1
    status=1
    tail -30 "$scratch/$t.log"
  fi
  cases=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$t.log" | grep -o '[0-9]*$' | tail -1 || true)
  [[ -n $cases ]] || cases=$(grep -o '^cli_args: [0-9]*' "$scratch/$t.log" | grep -o '[0-9]*$' | tail -1 || true)
  line="$(printf '%-18s %12s %8s %10s' "$t" "${cases:-?}" "$crashes" "$(( $(date +%s) - started ))")"
  echo "$line"
  table+=$'\n'"$line"
done
{
  echo "Fuzzing (cargo-fuzz/libFuzzer, $(date -u +%Y-%m-%d), goal: 0 crashes over $runs cases per target)"
  echo
  echo "$table"
} | tee "$out"
exit $status
