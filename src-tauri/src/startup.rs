//! How long the first screen takes to become usable, measured by the app itself.
//!
//! `main` notes when the process started; the first command the window calls (its script
//! has run, so the first screen is drawn and answers clicks) is logged once, at debug level,
//! as "first screen interactive" with the milliseconds since then and the wall-clock time
//! (`bench/startup.sh` reads that line: `APPGRANT_LOG=appgrant_lib::startup=debug`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static STARTED: OnceLock<Instant> = OnceLock::new();
static LOGGED: AtomicBool = AtomicBool::new(false);

/// Call first thing in `main`.
pub fn mark_process_start() {
    STARTED.get_or_init(Instant::now);
}

/// Wraps the app's command handler so the first command is logged.
pub fn noting_first_command(
    handler: impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static,
) -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    move |invoke| {
        command_called(invoke.message.command());
        handler(invoke)
    }
}

/// Logs the first command from the window (later ones are not logged).
fn command_called(command: &str) {
    if LOGGED.swap(true, Ordering::Relaxed) {
        return;
    }
    let since_start_ms = STARTED.get().map(|s| s.elapsed().as_millis()).unwrap_or(0);
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    tracing::debug!(since_start_ms, unix_ms, command, "first screen interactive");
}
