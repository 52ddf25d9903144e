#!/usr/bin/env bash
# Installs what AppGrant needs on Debian 12, idempotently: system packages (only when
# dpkg says they are missing; python3-venv is for the MSAL tests' virtual environment),
# the Windows Rust target (only when rustup lacks it),
# tauri-driver (only when not on PATH), npm deps (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev
      xvfb xauth webkit2gtk-driver gnome-keyring dbus-x11 dbus keyutils libsecret-tools imagemagick
      nodejs npm python3-venv
      mingw-w64 wine64 nsis rpm)   # Windows cross-checks (scripts/windows-check.sh), installers

missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# node and npm may come from elsewhere (nvm, nodesource); only ask apt when absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The UI toolchain (Vite 8, Vitest 4) needs Node.js 20.19 or newer; Debian 12's own nodejs is
# 18. When the node on PATH is older, fetch an official Node 20 build from the npm registry
# (the node-linux-* packages carry the binary) into the cache; scripts/env.sh puts it first
# on PATH.
source "$(dirname "$0")/env.sh"
if ! node_is_recent; then
  arch=$(uname -m); case "$arch" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; esac
  echo "installing Node.js 20 (node-linux-$arch) into $APPGRANT_NODE_DIR"
  npm install --prefix "$APPGRANT_NODE_DIR" --no-audit --no-fund --loglevel=error "node-linux-$arch@20"
  source "$(dirname "$0")/env.sh"
  node_is_recent || { echo "Node.js 20.19+ is still not available; install it and try again." >&2; exit 1; }
fi

# The Windows target for the cross-checks (linked with mingw-w64, run under wine64).
if ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  echo "adding the Rust target x86_64-pc-windows-gnu"
  rustup target add x86_64-pc-windows-gnu
fi

if ! command -v tauri-driver >/dev/null; then
  echo "installing tauri-driver"
  cargo install tauri-driver --locked --version '^2.1'
fi

if [[ -f ui/package-lock.json ]]; then
  npm --prefix ui ci --prefer-offline --no-audit --no-fund
fi
if [[ -f tests/e2e/package-lock.json ]]; then
  npm --prefix tests/e2e ci --prefer-offline --no-audit --no-fund
fi
