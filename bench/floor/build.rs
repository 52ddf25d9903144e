//! Tauri's build step for the floor app (reads tauri.conf.json beside this file).
fn main() {
    tauri_build::build();
}
