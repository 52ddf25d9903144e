//! What the shell keeps between commands: the wizard's [`Flow`], the connections vault, the
//! practice tenant when it runs, imported recipes, and the cancel switches.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use appgrant_core::flow::Flow;
use appgrant_core::identity::{BrowserOpener, CommandBrowser, KeyringStore, SystemBrowser};
use appgrant_core::recipe::Recipe;
use appgrant_core::vault::Vault;
use appgrant_sim::Sim;
use tokio_util::sync::CancellationToken;

pub struct AppState {
    pub data_dir: PathBuf,
    pub flow: tokio::sync::Mutex<Flow>,
    pub vault: Arc<Vault>,
    pub practice: tokio::sync::Mutex<Option<Sim>>,
    pub imported: Mutex<Vec<Recipe>>,
    pub sign_in_cancel: Mutex<CancellationToken>,
    pub apply_cancel: Mutex<CancellationToken>,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Result<Self, appgrant_core::vault::VaultError> {
        let secrets = Arc::new(KeyringStore::new());
        let vault = Vault::open(data_dir.clone(), secrets.clone())?;
        Ok(Self {
            flow: tokio::sync::Mutex::new(Flow::new(data_dir.clone(), secrets)),
            data_dir,
            vault: Arc::new(vault),
            practice: tokio::sync::Mutex::new(None),
            imported: Mutex::new(Vec::new()),
            sign_in_cancel: Mutex::new(CancellationToken::new()),
            apply_cancel: Mutex::new(CancellationToken::new()),
        })
    }

    /// A fresh cancel switch for a long operation (the previous one is cancelled).
    pub fn fresh_token(slot: &Mutex<CancellationToken>) -> CancellationToken {
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        guard.cancel();
        *guard = CancellationToken::new();
        guard.clone()
    }

    pub fn cancel(slot: &Mutex<CancellationToken>) {
        slot.lock().unwrap_or_else(|p| p.into_inner()).cancel();
    }

    /// The browser for sign-in: `APPGRANT_BROWSER` if set, else the system's.
    pub fn browser() -> Box<dyn BrowserOpener> {
        match std::env::var_os("APPGRANT_BROWSER") {
            Some(path) if !path.is_empty() => Box::new(CommandBrowser(PathBuf::from(path))),
            _ => Box::new(SystemBrowser),
        }
    }

    /// Built-in recipes plus the ones imported this session.
    pub fn recipes(&self) -> Result<Vec<Recipe>, appgrant_core::recipe::RecipeErrors> {
        let mut all = appgrant_core::recipe::builtin()?;
        all.extend(
            self.imported
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        Ok(all)
    }
}
