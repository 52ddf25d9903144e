#!/usr/bin/env bash
# Windows, as far as a Linux machine can take it (scripts/test.sh runs this):
#  1. clippy for x86_64-pc-windows-gnu over the whole workspace, desktop app included;
#  2. appgrant-core's unit tests cross-built and run under Wine, including the real
#     credential-store test (a 10 kB secret through the Windows Credential Manager API);
#  3. appgrant-cli.exe linked with mingw-w64 and run under Wine: the practice flow
#     (`connect tonicdm --practice --yes`) stores its secrets through keyring's windows-native
#     store, a second process reads the client secret back, `forget --all` removes everything.
# Everything Wine writes goes to a throw-away WINEPREFIX. Needs: rustup target
# x86_64-pc-windows-gnu, mingw-w64, wine64 (scripts/install-deps.sh installs them).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
TARGET=x86_64-pc-windows-gnu
OUT="$CARGO_TARGET_DIR/$TARGET/debug"
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)

step "windows: cargo clippy --target $TARGET (whole workspace, desktop app included)"
cargo clippy --workspace --all-targets --features appgrant/custom-protocol --target "$TARGET" -- -D warnings

step "windows: building appgrant-cli.exe and appgrant-core's unit tests with mingw-w64"
cargo build -q -p appgrant-cli --target "$TARGET"
core_tests=$(cargo test -q -p appgrant-core --lib --target "$TARGET" --no-run --message-format=json |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -f $core_tests ]] || { echo "could not find the appgrant-core test executable" >&2; exit 1; }

step "windows: a throw-away Wine prefix"
export WINEDEBUG=-all WINEPREFIX
WINEPREFIX=$(mktemp -d /tmp/appgrant-wine.XXXXXX)
trap '"${WINE%64}server" -k 2>/dev/null || wineserver -k 2>/dev/null || true; rm -rf "$WINEPREFIX"' EXIT
"$WINE" wineboot --init >/dev/null 2>&1 || true
# Debian 12's Wine 8.0 lacks bcryptprimitives.dll, which Rust's std imports (every Windows
# 10+ has it). A test-only stand-in built from source; see scripts/wine/bcryptprimitives.c.
x86_64-w64-mingw32-gcc -O2 -shared -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c scripts/wine/bcryptprimitives.def -ladvapi32
wine() { (cd "$WINEPREFIX" && "$WINE" "$@"); }

step "windows: appgrant-core unit tests under Wine (with the real Credential Manager test)"
wine "$core_tests" -q --include-ignored --skip people_search_scale

step "windows: appgrant-cli.exe connect tonicdm --practice --yes under Wine"
cli="$OUT/appgrant-cli.exe"
wine "$cli" connect tonicdm --practice --yes | tee "$WINEPREFIX/connect.txt"
id=$(sed -n 's/^Connection id: //p' "$WINEPREFIX/connect.txt" | tr -d '\r')
[[ -n $id ]] || { echo "connect printed no connection id" >&2; exit 1; }
# A second process finds the client secret in the Credential Manager.
secret=$(wine "$cli" export "$id" --format json --include-secret 2>"$WINEPREFIX/export.err" |
  node -e 'const h = JSON.parse(require("fs").readFileSync(0, "utf8"));
           process.stdout.write((h.fields.find((f) => f.secret) || {}).value || "")')
(( ${#secret} >= 16 )) || {
  echo "the client secret did not come back from the Credential Manager:" >&2
  cat "$WINEPREFIX/export.err" >&2
  exit 1
}
echo "the client secret came back from the Windows Credential Manager (${#secret} characters)"
wine "$cli" forget --all --data-folder --yes
left=$(wine reg query 'HKCU\Software\Wine\Credential Manager' 2>/dev/null | grep -c 'AppGrant' || true)
[[ $left == 0 ]] || { echo "forget --all left $left AppGrant entries in the Credential Manager" >&2; exit 1; }
echo "forget --all left nothing in the Credential Manager"
