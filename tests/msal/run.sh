#!/usr/bin/env bash
# Runs Microsoft's MSAL for Python (pinned in requirements.txt) against a standalone practice
# tenant in TLS mode: creates the virtual environment once (re-installs only when
# requirements.txt or the Python version changes), builds appgrant-sim (or takes
# $APPGRANT_SIM_BIN), starts it with `--tls --port 0`, runs the unittest suite with its URL
# and CA file, and always stops it.
# Extra arguments go to unittest (e.g. `run.sh -k SilentRefresh`).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../scripts/env.sh"
VENV="${APPGRANT_MSAL_VENV:-$HOME/.cache/appgrant/msal-venv}"

ensure_venv() {
  local want stamp="$VENV/.requirements.sha256"
  want=$({ python3 --version; cat "$HERE/requirements.txt"; } | sha256sum | cut -d' ' -f1)
  if [[ -x $VENV/bin/python && -f $stamp && $(<"$stamp") == "$want" ]]; then
    return
  fi
  echo "msal tests: creating the virtual environment in $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV"; then
    echo "msal tests: 'python3 -m venv' failed; install python3-venv (scripts/install-deps.sh does)." >&2
    exit 1
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$HERE/requirements.txt"
  echo "$want" >"$stamp"
}

ensure_venv
# scripts/test.sh passes the binary its workspace build just made (no second feature set).
SIM_BIN="${APPGRANT_SIM_BIN:-}"
if [[ -z $SIM_BIN ]]; then
  cargo build -q -p appgrant-sim
  SIM_BIN="$CARGO_TARGET_DIR/debug/appgrant-sim"
fi
if [[ ! -x $SIM_BIN ]]; then
  echo "msal tests: no simulator binary at $SIM_BIN (build it: cargo build -p appgrant-sim)" >&2
  exit 1
fi

work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [[ -n $sim_pid ]]; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that Ctrl-C or a CI timeout still runs cleanup

: >"$work/sim.out"
"$SIM_BIN" --tls --port 0 --cert-out "$work/ca.pem" >"$work/sim.out" 2>&1 &
sim_pid=$!

# The banner prints the https base URL once the listener is up.
url=""
for _ in $(seq 1 300); do
  url=$(grep -oE 'https://127\.0\.0\.1:[0-9]+' "$work/sim.out" | head -n1 || true)
  [[ -n $url && -s $work/ca.pem ]] && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "msal tests: appgrant-sim exited before it was ready:" >&2
    cat "$work/sim.out" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z $url || ! -s $work/ca.pem ]]; then
  echo "msal tests: appgrant-sim did not print an https URL and write its CA within 30 s:" >&2
  cat "$work/sim.out" >&2
  exit 1
fi
echo "msal tests: practice tenant at $url (CA $work/ca.pem)"

cd "$HERE"
status=0
APPGRANT_SIM_URL="$url" APPGRANT_SIM_CA="$work/ca.pem" \
  NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
  PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m unittest -v test_msal "$@" || status=$?
if ((status != 0)); then
  echo "msal tests: failed; the simulator said:" >&2
  tail -n 20 "$work/sim.out" >&2
fi
exit "$status"
