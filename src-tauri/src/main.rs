//! Entry point of the desktop app; everything lives in the library so tests can reach it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    appgrant_lib::startup::mark_process_start();
    appgrant_core::panic_hook::install("AppGrant");
    appgrant_lib::run();
}
