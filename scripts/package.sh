#!/usr/bin/env bash
# Linux installers, installed and started here (scripts/test.sh runs this):
#  1. the desktop app with the size-tuned release profile (Cargo.toml [profile.release]);
#  2. the .deb and .rpm through the pinned Tauri CLI (scripts/tauri-cli.sh bundle);
#  3. the .deb installed with dpkg, the installed /usr/bin/appgrant started under Xvfb with a
#     throw-away home, its first screen saved to artifacts/installers/installed-first-screen.png and
#     checked for being a drawn window (not a blank one);
#  4. sizes written to artifacts/bench/sizes.txt.
# AppImage is not built here: Tauri's AppImage bundler downloads linuxdeploy and its plugins
# from GitHub at bundle time, which no package registry provides. The release workflow builds
# it on GitHub's runners. `--no-install` skips steps 3 (for machines where dpkg is not yours).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
install=1
[[ ${1:-} == --no-install ]] && install=0
REL="$CARGO_TARGET_DIR/release"
SIZES="$REPO_ROOT/artifacts/bench/sizes.txt"
mkdir -p "$(dirname "$SIZES")" "$REPO_ROOT/artifacts/installers"

step "release build of the desktop app (size-tuned profile)"
# The UI only when it changed: rebuilding it touches ui/dist, which relinks the app (minutes).
if [[ ! -f ui/dist/index.html ]] || [[ -n $(find ui/src ui/index.html ui/package.json -newer ui/dist/index.html | head -1) ]]; then
  npm --prefix ui run build --silent
fi
cargo build -q --release -p appgrant --features appgrant/custom-protocol

step "Linux installers (.deb, .rpm) with the Tauri CLI"
rm -rf "$REL/bundle/deb" "$REL/bundle/rpm"
bash scripts/tauri-cli.sh bundle --bundles deb,rpm
deb=$(ls "$REL"/bundle/deb/*.deb)
rpm=$(ls "$REL"/bundle/rpm/*.rpm)
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'

size() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
{
  echo "AppGrant sizes ($(date -u +%Y-%m-%dT%H:%MZ), release profile: lto, codegen-units 1, opt-level z, strip)"
  echo "goal: desktop binary <= 8 MB stripped; installer <= 6 MB"
  for f in "$REL/appgrant" "$deb" "$rpm"; do
    printf '%-40s %10d bytes  %s\n' "$(basename "$f")" "$(size "$f")" "$(mb "$(size "$f")")"
  done
  # The Windows desktop binary, when a size-tuned build for the GNU target exists (by hand:
  # cargo build --release -p appgrant --features appgrant/custom-protocol --target x86_64-pc-windows-gnu).
  win="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/release/appgrant.exe"
  if [[ -f $win ]]; then
    printf '%-40s %10d bytes  %s\n' "appgrant.exe (windows-gnu)" "$(size "$win")" "$(mb "$(size "$win")")"
  fi
} | tee "$SIZES"

((install)) || exit 0

step "installing the .deb with dpkg and starting the installed app under Xvfb"
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO dpkg -i "$deb"
installed=$(dpkg -L "$(dpkg-deb -f "$deb" Package)" | grep -m1 '^/usr/bin/')
echo "installed: $installed"
home=$(mktemp -d)
shot="$REPO_ROOT/artifacts/installers/installed-first-screen.png"
rm -f "$shot"
# A throw-away home: the installed app must not read or write this person's data folder.
# Screenshots every 2 s until the first screen is drawn (a drawn screen has text and
# buttons: many distinct colours; a blank, unloaded window has one or two), at most 60 s.
HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" \
  xvfb-run -a -s "-screen 0 1280x860x24" bash -c '
    "$1" & app=$!
    for _ in $(seq 1 30); do
      sleep 2
      kill -0 "$app" 2>/dev/null || { echo "the installed app exited early" >&2; exit 1; }
      import -window root "$2"
      (( $(identify -format %k "$2") > 50 )) && { sleep 2; import -window root "$2"; break; }
    done
    kill "$app"
  ' _ "$installed" "$shot"
rm -rf "$home"
colours=$(identify -format '%k' "$shot")
echo "first screen: $shot ($colours distinct colours)"
((colours > 50)) || { echo "the installed app's first screen looks blank ($colours colours)" >&2; exit 1; }
