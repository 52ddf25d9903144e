//! The two OS services the shell uses from Rust (the page reaches neither): the clipboard,
//! text only, and desktop notifications.
//!
//! Both were Tauri plugins; these are the crates those plugins wrap, with only what AppGrant
//! uses: `arboard` without image support (the plugin's default decoded PNG/JPEG too) and
//! `notify-rust` over libdbus, which the keyring already links, instead of a second and third
//! D-Bus implementation (zbus 5 and 6). That keeps the binary about 2 MB smaller with the
//! same behaviour. The clipboard opens on first use, not at start-up.

use std::sync::{Mutex, OnceLock};

/// The process's clipboard connection, kept open: on X11 what AppGrant copied stays pasteable
/// only while it is.
static CLIPBOARD: OnceLock<Mutex<Option<arboard::Clipboard>>> = OnceLock::new();

fn with_clipboard<T>(
    f: impl FnOnce(&mut arboard::Clipboard) -> Result<T, arboard::Error>,
) -> Result<T, String> {
    let slot = CLIPBOARD.get_or_init(|| Mutex::new(None));
    let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        *guard = Some(arboard::Clipboard::new().map_err(|e| e.to_string())?);
    }
    match guard.as_mut() {
        Some(clipboard) => f(clipboard).map_err(|e| e.to_string()),
        None => Err("no clipboard".to_string()),
    }
}

pub fn write_text(text: &str) -> Result<(), String> {
    with_clipboard(|c| c.set_text(text))
}

pub fn read_text() -> Result<String, String> {
    with_clipboard(|c| c.get_text())
}

/// Shows a desktop notification under the app's name and icon. Desktop systems do not ask
/// for permission (the plugin answered "granted" there too).
pub fn notify(identifier: &str, title: &str, body: &str) -> Result<(), String> {
    let mut notification = notify_rust::Notification::new();
    notification.summary(title).body(body).auto_icon();
    #[cfg(windows)]
    {
        // The installed app has an AppUserModelID; a build run from target/ does not.
        let from_target = std::env::current_exe()
            .ok()
            .and_then(|exe| {
                exe.parent()
                    .map(|d| d.ends_with("target/debug") || d.ends_with("target/release"))
            })
            .unwrap_or(false);
        if !from_target {
            notification.app_id(identifier);
        }
    }
    #[cfg(target_os = "macos")]
    {
        let _ = notify_rust::set_application(identifier);
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    let _ = identifier;
    notification.show().map(|_| ()).map_err(|e| e.to_string())
}
