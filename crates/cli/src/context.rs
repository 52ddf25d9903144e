//! Where the CLI keeps things: the same data folder and credential store as the desktop app,
//! so both see the same connections.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use appgrant_core::identity::{
    BrowserOpener, CommandBrowser, KeyringStore, MemoryStore, SystemBrowser, TokenStore,
};
use appgrant_core::recipe::Recipe;
use appgrant_core::vault::Vault;

use crate::error::{CliError, Code};

/// The desktop app's bundle identifier (`tauri.conf.json`); Tauri's `app_data_dir()` is
/// `dirs::data_dir()` joined with it.
pub const APP_IDENTIFIER: &str = "app.appgrant.desktop";

/// Data folder, secret store and vault for one command.
pub struct Context {
    pub data_dir: PathBuf,
    pub secrets: Arc<dyn TokenStore>,
    /// Secrets outlive the command (the OS keyring, not the test-only memory store), so
    /// looking one up says whether this computer holds it.
    pub persistent_secrets: bool,
}

impl Context {
    /// `APPGRANT_DATA_DIR`, else the desktop app's data folder (Linux:
    /// `$XDG_DATA_HOME/app.appgrant.desktop` or `~/.local/share/app.appgrant.desktop`; macOS:
    /// `~/Library/Application Support/app.appgrant.desktop`; Windows:
    /// `%APPDATA%\app.appgrant.desktop`). `APPGRANT_SECRET_STORE=memory` keeps secrets in
    /// memory (tests only: they are lost when the command exits).
    pub fn from_env() -> Result<Self, CliError> {
        let data_dir = match std::env::var_os("APPGRANT_DATA_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => dirs::data_dir()
                .map(|d| d.join(APP_IDENTIFIER))
                .ok_or_else(|| {
                    CliError::new(
                        Code::Storage,
                        "Could not find this computer's application data folder.",
                        Some("Set APPGRANT_DATA_DIR to the folder AppGrant should use."),
                    )
                })?,
        };
        let secrets: Arc<dyn TokenStore> = match std::env::var("APPGRANT_SECRET_STORE")
            .unwrap_or_default()
            .as_str()
        {
            "" | "keyring" => Arc::new(KeyringStore::new()),
            "memory" => {
                crate::out::say(true, "warning: APPGRANT_SECRET_STORE=memory: client secrets and sign-ins are kept in memory only and are lost when this command exits (for tests only).");
                Arc::new(MemoryStore::new())
            }
            other => return Err(CliError::new(
                Code::InvalidInput,
                format!("APPGRANT_SECRET_STORE=\"{other}\" is not a secret store AppGrant knows."),
                Some("Leave it unset (the OS credential store), or set it to \"memory\" in tests."),
            )),
        };
        let persistent_secrets =
            std::env::var("APPGRANT_SECRET_STORE").unwrap_or_default() != "memory";
        Ok(Self {
            data_dir,
            secrets,
            persistent_secrets,
        })
    }

    /// Opens the connections vault (blocking file I/O, off the async workers).
    pub async fn vault(&self) -> Result<Arc<Vault>, CliError> {
        let dir = self.data_dir.clone();
        let secrets = Arc::clone(&self.secrets);
        Ok(Arc::new(
            blocking(move || Vault::open(dir, secrets)).await??,
        ))
    }
}

/// Runs blocking work (files, keyring) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CliError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(CliError::internal)
}

/// The browser for sign-in: `APPGRANT_BROWSER` if set, else the system's (as the desktop app).
pub fn browser() -> Box<dyn BrowserOpener> {
    match std::env::var_os("APPGRANT_BROWSER") {
        Some(path) if !path.is_empty() => Box::new(CommandBrowser(PathBuf::from(path))),
        _ => Box::new(SystemBrowser),
    }
}

/// A recipe by built-in id, or from a recipe file when `name` is a path to one.
pub fn find_recipe(name: &str) -> Result<Recipe, CliError> {
    let path = Path::new(name);
    if name.ends_with(".toml") || path.is_file() {
        return read_recipe(path);
    }
    appgrant_core::recipe::builtin_by_id(name)?.ok_or_else(|| {
        CliError::new(
            Code::NotFound,
            format!("There is no built-in recipe \"{name}\"."),
            Some("Run `appgrant-cli recipes` for the list, or pass the path of a recipe file."),
        )
    })
}

/// Reads and validates a recipe file; errors name the file and line.
pub fn read_recipe(path: &Path) -> Result<Recipe, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            Code::InvalidInput,
            format!("Could not read {}: {e}", path.display()),
            Some("Check the file name and that you can read it."),
        )
    })?;
    Ok(appgrant_core::recipe::parse(
        &path.display().to_string(),
        &text,
    )?)
}
