//! What the shell keeps between commands: the wizard's [`Flow`], the connections vault, the
//! practice tenant when it runs, imported recipes, and the cancel switches.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use appgrant_core::cloud::{Cloud, Endpoints};
use appgrant_core::flow::Flow;
use appgrant_core::identity::{
    Authenticator, BrowserOpener, CommandBrowser, KeyringStore, SystemBrowser,
};
use appgrant_core::lifecycle::Lifecycle;
use appgrant_core::recipe::Recipe;
use appgrant_core::settings::Settings;
use appgrant_core::vault::Vault;
use appgrant_sim::{Sim, SimConfig};
use tokio_util::sync::CancellationToken;

use crate::error::{Code, UiError};

pub struct AppState {
    pub data_dir: PathBuf,
    pub flow: tokio::sync::Mutex<Flow>,
    pub vault: Arc<Vault>,
    pub secrets: Arc<KeyringStore>,
    /// The dashboard's sign-ins, one per tenant id (besides the wizard's own).
    pub sessions: tokio::sync::Mutex<HashMap<String, Arc<Authenticator>>>,
    pub practice: tokio::sync::Mutex<Option<Sim>>,
    /// When the practice tenant started without saved state (apps made before are gone).
    pub practice_fresh_since: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// The practice scenario chosen from the menu (`appgrant_core::practice`).
    pub scenario: Mutex<&'static str>,
    pub imported: Mutex<Vec<Recipe>>,
    pub sign_in_cancel: Mutex<CancellationToken>,
    pub apply_cancel: Mutex<CancellationToken>,
    /// The password of the last PFX export, until `copy_export_password` copies it (never
    /// written anywhere).
    pub export_password: Mutex<Option<appgrant_core::secret::Secret<String>>>,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Result<Self, appgrant_core::vault::VaultError> {
        let secrets = Arc::new(KeyringStore::new());
        let vault = Vault::open(data_dir.clone(), secrets.clone())?;
        Ok(Self {
            flow: tokio::sync::Mutex::new(Flow::new(data_dir.clone(), secrets.clone())),
            data_dir,
            vault: Arc::new(vault),
            secrets,
            sessions: tokio::sync::Mutex::new(HashMap::new()),
            practice: tokio::sync::Mutex::new(None),
            practice_fresh_since: Mutex::new(None),
            scenario: Mutex::new(appgrant_core::practice::ORDINARY_ID),
            imported: Mutex::new(Vec::new()),
            sign_in_cancel: Mutex::new(CancellationToken::new()),
            apply_cancel: Mutex::new(CancellationToken::new()),
            export_password: Mutex::new(None),
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

    /// The lifecycle façade over the shared vault, knowing this session's imported recipes.
    pub fn lifecycle(&self) -> Result<Lifecycle, UiError> {
        let imported = self
            .imported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(Lifecycle::with_vault(Arc::clone(&self.vault)).with_recipes(imported))
    }

    /// Starts the in-app practice tenant once and says where it is. Its objects are kept in
    /// `practice-tenant.json` in the data folder, so practice connections survive restarts.
    pub async fn practice_tenant(&self) -> Result<PracticeTenant, UiError> {
        let mut practice = self.practice.lock().await;
        if practice.is_none() {
            // A fixed port only when asked (end-to-end tests talk to its /_sim API).
            let port = std::env::var("APPGRANT_PRACTICE_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let state_file = self.data_dir.join(PRACTICE_STATE_FILE);
            let fresh = !state_file.exists();
            let sim = Sim::start(SimConfig {
                port,
                state_file: Some(state_file),
                // Vendor apps made by hand before AppGrant, to rehearse adopting them.
                hand_made_apps: true,
                ..SimConfig::default()
            })
            .await
            .map_err(|e| practice_error(e.to_string()))?;
            *practice = Some(sim);
            if fresh {
                *self
                    .practice_fresh_since
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(chrono::Utc::now());
            }
        }
        let sim = practice
            .as_ref()
            .ok_or_else(|| practice_error("the practice tenant stopped".to_string()))?;
        let cloud = Cloud::custom(sim.login_base(), sim.graph_base());
        let endpoints = cloud
            .endpoints()
            .map_err(|e| practice_error(e.to_string()))?;
        Ok(PracticeTenant {
            cloud,
            endpoints,
            tenant_id: sim.tenant_id(),
            client_id: sim.public_client_id().to_string(),
            domain: sim.tenant_domain(),
        })
    }

    /// The practice scenario now chosen.
    pub fn scenario(&self) -> appgrant_core::practice::Scenario {
        let id = *self.scenario.lock().unwrap_or_else(|p| p.into_inner());
        appgrant_core::practice::scenario(id)
            .unwrap_or_else(|_| appgrant_core::practice::ordinary())
    }

    /// Remembers a change to the settings (presenter mode, the last tenant). Remembering is a
    /// convenience: a failure is logged and the command that asked still succeeds.
    pub fn remember(&self, change: impl FnOnce(&mut Settings)) -> Settings {
        match Settings::update(&self.data_dir, change) {
            Ok(settings) => settings,
            Err(error) => {
                tracing::warn!(%error, "settings not saved");
                Settings::load(&self.data_dir)
            }
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

/// The practice tenant's saved objects, in the data folder.
pub const PRACTICE_STATE_FILE: &str = "practice-tenant.json";

/// Where the running practice tenant is.
pub struct PracticeTenant {
    /// The practice tenant as custom endpoints (its address lives as long as the app).
    pub cloud: Cloud,
    pub endpoints: Endpoints,
    pub tenant_id: String,
    pub client_id: String,
    /// The practice tenant's domain (`contosopractice.onmicrosoft.com`).
    pub domain: String,
}

fn practice_error(message: String) -> UiError {
    UiError::new(
        Code::Practice,
        message,
        Some("Restart AppGrant and try again."),
    )
}
