//! The run journal: what a run has created so far, so a killed run resumes without creating
//! anything twice. One JSON file per (tenant, recipe) in the app data dir, rewritten
//! atomically after every change. It never holds a secret: only ids and dates.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalApp {
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub service_principal_id: Option<String>,
    /// Set just before `addPassword`; with no stored key it marks a secret that may have been
    /// created but never reached the keyring.
    #[serde(default)]
    pub secret_pending_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub secret_key_id: Option<String>,
    #[serde(default)]
    pub secret_stored: bool,
    #[serde(default)]
    pub secret_created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub secret_expires_at: Option<DateTime<Utc>>,
    /// Mailbox permissions limited by Exchange RBAC for Applications: their tenant-wide
    /// grant was removed on purpose, so a re-run must not grant them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limited_permissions: Vec<String>,
    /// Set just before a certificate is uploaded: with no stored certificate it marks one that
    /// may be on the app while its private key never reached the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pending: Option<PendingCertificate>,
    /// The certificate on the app (and, when generated, its key in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::certificate::CertificateMeta>,
}

/// A certificate upload that began (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingCertificate {
    pub thumbprint: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    pub version: u32,
    pub run_id: String,
    pub tenant_id: String,
    pub recipe_id: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub apps: BTreeMap<String, JournalApp>,
    #[serde(skip)]
    path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("could not {action} the run journal {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the run journal {path} is damaged ({reason}); it was kept as {backup} so nothing is lost"
    )]
    Corrupt {
        path: PathBuf,
        backup: PathBuf,
        reason: String,
    },
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Journal {
    /// A journal that lives only in memory (tests, dry runs).
    pub fn in_memory(tenant_id: &str, recipe_id: &str) -> Self {
        let now = Utc::now();
        Self {
            version: 1,
            run_id: uuid::Uuid::new_v4().simple().to_string(),
            tenant_id: tenant_id.to_string(),
            recipe_id: recipe_id.to_string(),
            started_at: now,
            updated_at: now,
            apps: BTreeMap::new(),
            path: None,
        }
    }

    /// Where the journal for this tenant and recipe lives under `dir`.
    pub fn path_for(dir: &Path, tenant_id: &str, recipe_id: &str) -> PathBuf {
        dir.join("runs").join(format!(
            "{}--{}.json",
            safe_name(tenant_id),
            safe_name(recipe_id)
        ))
    }

    /// Opens the journal of an earlier run of this recipe in this tenant, or starts one.
    pub fn open(dir: &Path, tenant_id: &str, recipe_id: &str) -> Result<Self, JournalError> {
        let path = Self::path_for(dir, tenant_id, recipe_id);
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<Journal>(&text) {
                Ok(mut journal) => {
                    journal.path = Some(path);
                    Ok(journal)
                }
                Err(e) => {
                    let backup = path.with_extension(format!(
                        "damaged-{}.json",
                        Utc::now().format("%Y%m%dT%H%M%S")
                    ));
                    std::fs::rename(&path, &backup).map_err(|source| JournalError::Io {
                        action: "set aside",
                        path: path.clone(),
                        source,
                    })?;
                    Err(JournalError::Corrupt {
                        path,
                        backup,
                        reason: e.to_string(),
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut journal = Self::in_memory(tenant_id, recipe_id);
                journal.path = Some(path);
                Ok(journal)
            }
            Err(source) => Err(JournalError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// Writes the journal atomically (temp file, fsync, rename). In-memory journals do nothing.
    pub fn save(&mut self) -> Result<(), JournalError> {
        self.updated_at = Utc::now();
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let io = |action, source| JournalError::Io {
            action,
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create the folder of", e))?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| io("encode", std::io::Error::other(e)))?;
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp).map_err(|e| io("write", e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("flush", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io("replace", e))
    }

    /// Removes every journal of `tenant_id` under `dir` (the tenant was reset to its seed, so
    /// the objects they name are gone); returns how many there were.
    pub fn forget_tenant(dir: &Path, tenant_id: &str) -> Result<usize, JournalError> {
        let runs = dir.join("runs");
        let prefix = format!("{}--", safe_name(tenant_id));
        let entries = match std::fs::read_dir(&runs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(JournalError::Io {
                    action: "read",
                    path: runs,
                    source,
                })
            }
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(".json") {
                std::fs::remove_file(entry.path()).map_err(|source| JournalError::Io {
                    action: "delete",
                    path: entry.path(),
                    source,
                })?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes the journal file (after the connection it describes was removed).
    pub fn delete(self) -> Result<(), JournalError> {
        match self.path {
            Some(path) => match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(JournalError::Io {
                    action: "delete",
                    path,
                    source,
                }),
            },
            None => Ok(()),
        }
    }

    pub fn app_mut(&mut self, key: &str) -> &mut JournalApp {
        self.apps.entry(key.to_string()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_restart_and_keeps_its_run_id() {
        let dir = std::env::temp_dir().join(format!("appgrant-journal-{}", uuid::Uuid::new_v4()));
        let mut j = Journal::open(&dir, "tid", "tonicdm").unwrap();
        j.app_mut("main").app_id = Some("app-1".into());
        j.save().unwrap();
        let again = Journal::open(&dir, "tid", "tonicdm").unwrap();
        assert_eq!(again.run_id, j.run_id);
        assert_eq!(again.apps["main"].app_id.as_deref(), Some("app-1"));
        again.delete().unwrap();
        let fresh = Journal::open(&dir, "tid", "tonicdm").unwrap();
        assert_ne!(fresh.run_id, j.run_id, "a removed journal starts a new run");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn forgetting_a_tenant_removes_only_its_journals() {
        let dir = std::env::temp_dir().join(format!("appgrant-journal-{}", uuid::Uuid::new_v4()));
        for (tenant, recipe) in [("tid", "tonicdm"), ("tid", "docbits"), ("other", "tonicdm")] {
            let mut j = Journal::open(&dir, tenant, recipe).unwrap();
            j.app_mut("main").app_id = Some("app-1".into());
            j.save().unwrap();
        }
        assert_eq!(Journal::forget_tenant(&dir, "tid").unwrap(), 2);
        assert!(
            Journal::open(&dir, "tid", "tonicdm")
                .unwrap()
                .apps
                .is_empty(),
            "a new run"
        );
        assert!(
            !Journal::open(&dir, "other", "tonicdm")
                .unwrap()
                .apps
                .is_empty(),
            "kept"
        );
        assert_eq!(
            Journal::forget_tenant(&dir.join("nothing"), "tid").unwrap(),
            0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_journal_is_kept_aside_not_overwritten() {
        let dir = std::env::temp_dir().join(format!("appgrant-journal-{}", uuid::Uuid::new_v4()));
        let path = Journal::path_for(&dir, "tid", "x");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{ not json").unwrap();
        let err = Journal::open(&dir, "tid", "x").unwrap_err();
        let JournalError::Corrupt { backup, .. } = err else {
            panic!("expected Corrupt, got {err}")
        };
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "{ not json");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
