#!/usr/bin/env bash
# Installs what AppGrant needs on Debian 12, idempotently: system packages (only when
# dpkg says they are missing), tauri-driver (only when not on PATH), npm deps (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev
      xvfb xauth webkit2gtk-driver gnome-keyring dbus-x11 dbus keyutils libsecret-tools imagemagick
      nodejs npm)

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
