//! The floor app for bench/startup.sh: one window showing one static page, whose script calls
//! the `ready` command once, which prints the same "first screen interactive" line as
//! AppGrant's `startup` module (milliseconds since `main` and the wall-clock time).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static STARTED: OnceLock<Instant> = OnceLock::new();

#[tauri::command]
fn ready() {
    let since_start_ms = STARTED.get().map(|s| s.elapsed().as_millis()).unwrap_or(0);
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    eprintln!("first screen interactive since_start_ms={since_start_ms} unix_ms={unix_ms}");
}

fn main() {
    STARTED.get_or_init(Instant::now);
    if let Err(error) = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
    {
        eprintln!("floor app could not start: {error}");
        std::process::exit(1);
    }
}
