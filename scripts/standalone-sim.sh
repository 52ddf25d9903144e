#!/usr/bin/env bash
# Starts one practice tenant for a guided session (`appgrant-sim --tls` on a fixed port) and
# prints the `appgrant-cli` flags that point at it. The tenant lives until Ctrl-C, so every
# trainee's CLI command (and any re-run) works on the same tenant.
# Usage: scripts/standalone-sim.sh [PORT]   (default 4443; extra flags go to appgrant-sim
#        after the port, e.g. scripts/standalone-sim.sh 4443 --replication-ms 2000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
port="${1:-4443}"
shift || true
ca="${APPGRANT_SIM_CA:-$HOME/.cache/appgrant/standalone-sim-ca.pem}"
mkdir -p "$(dirname "$ca")"

step "Building appgrant-sim and appgrant-cli"
cargo build --quiet -p appgrant-sim -p appgrant-cli
sim="$CARGO_TARGET_DIR/debug/appgrant-sim"
cli="$CARGO_TARGET_DIR/debug/appgrant-cli"

base="https://127.0.0.1:$port"
cat <<TEXT

Practice tenant at $base; its CA certificate: $ca
Trainees run, in another terminal:

  $cli connect tonicdm --tenant contosopractice.onmicrosoft.com \\
      --login-url $base --graph-url $base --ca-file $ca --device-code

and sign in with the code it shows, at the address it shows, as
avery.admin@contosopractice.onmicrosoft.com (no password; the browser warns once about the
practice tenant's own certificate). Or the trainer approves a code for them:

  curl --cacert $ca -H 'content-type: application/json' -X POST $base/_sim/devicecode/approve \\
      -d '{"userCode":"CODE","user":"avery.admin@contosopractice.onmicrosoft.com"}'

Later commands need no endpoint flags: they sign in where the connection was made
($cli connections, $cli remove ID --device-code).

TEXT
step "Starting the practice tenant (Ctrl-C stops it)"
exec "$sim" --tls --port "$port" --cert-out "$ca" "$@"
