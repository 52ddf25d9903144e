//! Entry point of the desktop app; everything lives in the library so tests can reach it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    appgrant_lib::startup::mark_process_start();
    appgrant_core::panic_hook::install("AppGrant");
    // AppGrant's pages are forms: WebKitGTK's GPU compositing buys them nothing, and where no
    // GPU driver takes it (a VM, a remote desktop) it runs on Mesa's software rasteriser at
    // about 70 MB more per window (bench/startup.sh). Drawn without it; a person who sets the
    // variable themselves keeps their own choice. Set before any thread or child exists.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    appgrant_lib::run();
}
