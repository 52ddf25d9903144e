#!/usr/bin/env bash
# Runs a command with a private, unlocked Secret Service keyring and a private kernel session
# keyring, so tests that use the real OS keyring never touch a person's own keychain.
# Usage: dbus-run-session -- scripts/with-keyring.sh <command...>
# (scripts/test.sh does this for you.)
set -euo pipefail
tmp="$(mktemp -d)"
trap 'kill "${GNOME_KEYRING_PID:-0}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run" HOME_KEYRING_TMP="$tmp"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'appgrant-test\n' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL GNOME_KEYRING_PID
exec keyctl session - "$@"
