//! What AppGrant remembers between runs about how it was used (not about tenants' objects):
//! presenter mode and the last tenant chosen on Start, so the next launch opens it again.
//! Kept in `settings.json` in the data folder; nothing secret is ever in it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file, in the data folder, that holds the settings.
pub const SETTINGS_FILE: &str = "settings.json";

/// The last tenant chosen on Start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum LastTenant {
    /// The practice tenant.
    Practice,
    /// A real tenant: `organizations`, a domain or a tenant id, in a cloud (`Cloud::id`),
    /// signing in with the organisation's own app when one was named.
    Tenant {
        tenant: String,
        cloud: String,
        client_id: Option<String>,
    },
}

/// Everything remembered between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Larger type, high contrast, no secret shown, no auto-advance.
    pub presenter: bool,
    /// Opened again at the next launch (None: the Start screen asks).
    pub last_tenant: Option<LastTenant>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("AppGrant could not save its settings in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Settings {
    /// The settings in `data_dir`; a missing or unreadable file gives the defaults (a
    /// damaged file must never stop AppGrant from starting, and holds nothing of value).
    pub fn load(data_dir: &Path) -> Settings {
        let path = data_dir.join(SETTINGS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                tracing::warn!(%error, path = %path.display(), "settings file unreadable; using defaults");
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    /// Writes the settings to `data_dir` (through a temporary file, so a crash leaves the old
    /// file whole).
    pub fn save(&self, data_dir: &Path) -> Result<(), SettingsError> {
        let path = data_dir.join(SETTINGS_FILE);
        let tmp = data_dir.join(format!("{SETTINGS_FILE}.tmp"));
        let write = |source| SettingsError::Write {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| write(std::io::Error::other(e.to_string())))?;
        std::fs::create_dir_all(data_dir).map_err(write)?;
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, &path).map_err(write)
    }

    /// Loads, changes and saves in one go.
    pub fn update(
        data_dir: &Path,
        change: impl FnOnce(&mut Settings),
    ) -> Result<Settings, SettingsError> {
        let mut settings = Settings::load(data_dir);
        change(&mut settings);
        settings.save(data_dir)?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temp directory.
    fn temp_folder() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("appgrant-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn presenter_mode_and_the_last_tenant_survive_a_restart() {
        let dir = temp_folder();
        assert_eq!(
            Settings::load(dir.as_path()),
            Settings::default(),
            "first run: nothing remembered"
        );
        Settings::update(dir.as_path(), |s| s.presenter = true).unwrap();
        Settings::update(dir.as_path(), |s| {
            s.last_tenant = Some(LastTenant::Tenant {
                tenant: "contoso.onmicrosoft.com".into(),
                cloud: "us_gov".into(),
                client_id: None,
            })
        })
        .unwrap();
        let again = Settings::load(dir.as_path());
        assert!(
            again.presenter,
            "presenter mode is kept when the tenant changes"
        );
        assert_eq!(
            again.last_tenant,
            Some(LastTenant::Tenant {
                tenant: "contoso.onmicrosoft.com".into(),
                cloud: "us_gov".into(),
                client_id: None,
            })
        );
    }

    #[test]
    fn a_damaged_file_starts_with_the_defaults_and_is_replaced_on_save() {
        let dir = temp_folder();
        std::fs::write(dir.as_path().join(SETTINGS_FILE), "{ not json").unwrap();
        assert_eq!(Settings::load(dir.as_path()), Settings::default());
        Settings::update(dir.as_path(), |s| {
            s.last_tenant = Some(LastTenant::Practice)
        })
        .unwrap();
        assert_eq!(
            Settings::load(dir.as_path()).last_tenant,
            Some(LastTenant::Practice)
        );
    }

    #[test]
    fn an_unwritable_folder_says_where() {
        let dir = temp_folder();
        let file = dir.as_path().join("not-a-folder");
        std::fs::write(&file, "x").unwrap();
        let error = Settings::default().save(&file).unwrap_err().to_string();
        assert!(error.contains("not-a-folder"), "{error}");
    }
}
