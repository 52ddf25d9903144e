//! The AppGrant desktop shell: thin Tauri commands over `appgrant-core`.
//!
//! `commands` adapts, `dto` shapes what the UI receives, `error` turns core errors into
//! `{ code, message, hint }`. Everything worth testing lives in `appgrant-core`.

mod commands;
mod dto;
mod error;

use tracing_subscriber::EnvFilter;

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("APPGRANT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::list_recipes])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(error) = result {
        tracing::error!(%error, "AppGrant could not start");
        eprintln!("AppGrant could not start: {error}");
        std::process::exit(1);
    }
}
