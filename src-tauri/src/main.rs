//! Entry point of the desktop app; everything lives in the library so tests can reach it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    appgrant_lib::startup::mark_process_start();
    appgrant_core::panic_hook::install("AppGrant");
    // Not set here: WEBKIT_DISABLE_COMPOSITING_MODE=1 saves 30-70 MB where WebKitGTK composites
    // on a software rasteriser (a VM, a remote desktop; bench/startup.sh), but with it WebKit's
    // snapshots stalled for minutes now and then in the end-to-end runs. A person on such a
    // machine can still set it for AppGrant themselves.
    appgrant_lib::run();
}
