//! Persisted tenant state (`SimConfig::state_file`, `--state-file`): the objects an admin
//! creates (applications with their secrets' hashes, service principals, app role assignments,
//! delegated grants, Exchange app scopes and role assignments) are loaded at start and saved
//! atomically (temp file + rename) after every successful write, so a desktop practice tenant
//! or a trainer's standalone tenant survives restarts.
//!
//! Not saved: users, groups and mailboxes (seeded, deterministic; Graph cannot change them
//! here), tokens, codes, sessions and sign-in flows (a restart signs everyone out, as a new
//! machine would), knobs and counters. Loaded objects count as long replicated.

use crate::model::*;
use crate::state::SimState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One save at a time, so an older snapshot never replaces a newer one.
static SAVING: Mutex<()> = Mutex::new(());

/// Version of the file format.
const FORMAT: u32 = 1;

/// Errors loading or saving the state file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("could not read the practice tenant's state file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the practice tenant's state file {path} is not valid ({reason}); move it aside to start with a fresh tenant")]
    Invalid { path: PathBuf, reason: String },
    #[error("could not save the practice tenant's state to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    tenant_id: String,
    apps: Vec<AppRecord>,
    service_principals: Vec<SpRecord>,
    app_role_assignments: Vec<AssignmentRecord>,
    grants: Vec<GrantRecord>,
    exchange_scopes: Vec<ExchangeScopeRecord>,
    exchange_assignments: Vec<ExchangeAssignmentRecord>,
}

#[derive(Serialize, Deserialize)]
struct SecretRecord {
    key_id: String,
    /// The value's hash and hint only (see `model::Secret`): the file holds no usable secret.
    hash: String,
    hint: String,
    display_name: Option<String>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct AppRecord {
    id: String,
    app_id: String,
    body: Value,
    owners: Vec<String>,
    secrets: Vec<SecretRecord>,
}

#[derive(Serialize, Deserialize)]
struct SpRecord {
    id: String,
    app_id: String,
    body: Value,
}

#[derive(Serialize, Deserialize)]
struct AssignmentRecord {
    id: String,
    principal_id: String,
    resource_id: String,
    app_role_id: String,
    body: Value,
}

#[derive(Serialize, Deserialize)]
struct GrantRecord {
    id: String,
    client_id: String,
    consent_type: String,
    principal_id: Option<String>,
    resource_id: String,
    scope: String,
}

#[derive(Serialize, Deserialize)]
struct ExchangeScopeRecord {
    id: String,
    body: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "id")]
enum TargetRecord {
    Organization,
    User(String),
    Group(String),
    AppScope(String),
}

#[derive(Serialize, Deserialize)]
struct ExchangeAssignmentRecord {
    id: String,
    sp_id: String,
    role_definition_id: String,
    target: TargetRecord,
    body: Value,
    deleted: bool,
}

/// An instant far enough back that loaded objects are past every replication delay.
fn long_ago() -> Instant {
    let now = Instant::now();
    now.checked_sub(Duration::from_secs(24 * 3600))
        .or_else(|| now.checked_sub(Duration::from_secs(60)))
        .unwrap_or(now)
}

fn snapshot(t: &Tenant) -> Snapshot {
    Snapshot {
        format: FORMAT,
        tenant_id: t.id.clone(),
        apps: t
            .apps
            .iter()
            .map(|a| AppRecord {
                id: a.id.clone(),
                app_id: a.app_id.clone(),
                body: a.body.clone(),
                owners: a.owners.clone(),
                secrets: a
                    .secrets
                    .iter()
                    .map(|s| SecretRecord {
                        key_id: s.key_id.clone(),
                        hash: s.hash.clone(),
                        hint: s.hint.clone(),
                        display_name: s.display_name.clone(),
                        start: s.start,
                        end: s.end,
                    })
                    .collect(),
            })
            .collect(),
        service_principals: t
            .sps
            .iter()
            .map(|s| SpRecord {
                id: s.id.clone(),
                app_id: s.app_id.clone(),
                body: s.body.clone(),
            })
            .collect(),
        app_role_assignments: t
            .assignments
            .iter()
            .map(|a| AssignmentRecord {
                id: a.id.clone(),
                principal_id: a.principal_id.clone(),
                resource_id: a.resource_id.clone(),
                app_role_id: a.app_role_id.clone(),
                body: a.body.clone(),
            })
            .collect(),
        grants: t
            .grants
            .iter()
            .map(|g| GrantRecord {
                id: g.id.clone(),
                client_id: g.client_id.clone(),
                consent_type: g.consent_type.clone(),
                principal_id: g.principal_id.clone(),
                resource_id: g.resource_id.clone(),
                scope: g.scope.clone(),
            })
            .collect(),
        exchange_scopes: t
            .ex_scopes
            .iter()
            .map(|s| ExchangeScopeRecord {
                id: s.id.clone(),
                body: s.body.clone(),
            })
            .collect(),
        exchange_assignments: t
            .ex_assignments
            .iter()
            .map(|a| ExchangeAssignmentRecord {
                id: a.id.clone(),
                sp_id: a.sp_id.clone(),
                role_definition_id: a.role_definition_id.clone(),
                target: match &a.target {
                    ExchangeTarget::Organization => TargetRecord::Organization,
                    ExchangeTarget::User(u) => TargetRecord::User(u.clone()),
                    ExchangeTarget::Group(g) => TargetRecord::Group(g.clone()),
                    ExchangeTarget::AppScope(s) => TargetRecord::AppScope(s.clone()),
                },
                body: a.body.clone(),
                deleted: a.deleted.is_some(),
            })
            .collect(),
    }
}

fn restore(t: &mut Tenant, s: Snapshot, path: &Path) -> Result<(), PersistError> {
    let invalid = |reason: String| PersistError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    if s.format != FORMAT {
        return Err(invalid(format!("format {} (expected {FORMAT})", s.format)));
    }
    if s.tenant_id != t.id {
        return Err(invalid(format!("it belongs to tenant {}", s.tenant_id)));
    }
    let then = long_ago();
    let mut scopes = Vec::with_capacity(s.exchange_scopes.len());
    for r in s.exchange_scopes {
        let src = r.body["customAttributes"]["RecipientFilter"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let filter = crate::graph::mail::parse_recipient_filter(&src)
            .map_err(|e| invalid(format!("Exchange scope {}: {}", r.id, e.message)))?;
        scopes.push(ExchangeScope {
            id: r.id,
            body: r.body,
            filter,
        });
    }
    t.ex_scopes = scopes;
    t.apps = s
        .apps
        .into_iter()
        .map(|a| Application {
            id: a.id,
            app_id: a.app_id,
            body: a.body,
            created: then,
            owners: a.owners,
            secrets: a
                .secrets
                .into_iter()
                .map(|x| Secret {
                    key_id: x.key_id,
                    hash: x.hash,
                    hint: x.hint,
                    display_name: x.display_name,
                    start: x.start,
                    end: x.end,
                    created: then,
                })
                .collect(),
        })
        .collect();
    t.sps = s
        .service_principals
        .into_iter()
        .map(|x| ServicePrincipal {
            id: x.id,
            app_id: x.app_id,
            body: x.body,
            created: then,
        })
        .collect();
    t.assignments = s
        .app_role_assignments
        .into_iter()
        .map(|a| AppRoleAssignment {
            id: a.id,
            principal_id: a.principal_id,
            resource_id: a.resource_id,
            app_role_id: a.app_role_id,
            body: a.body,
            created: then,
        })
        .collect();
    t.grants = s
        .grants
        .into_iter()
        .map(|g| Grant {
            id: g.id,
            client_id: g.client_id,
            consent_type: g.consent_type,
            principal_id: g.principal_id,
            resource_id: g.resource_id,
            scope: g.scope,
        })
        .collect();
    t.ex_assignments = s
        .exchange_assignments
        .into_iter()
        .map(|a| ExchangeAssignment {
            id: a.id,
            sp_id: a.sp_id,
            role_definition_id: a.role_definition_id,
            target: match a.target {
                TargetRecord::Organization => ExchangeTarget::Organization,
                TargetRecord::User(u) => ExchangeTarget::User(u),
                TargetRecord::Group(g) => ExchangeTarget::Group(g),
                TargetRecord::AppScope(s) => ExchangeTarget::AppScope(s),
            },
            body: a.body,
            created: then,
            deleted: a.deleted.then_some(then),
        })
        .collect();
    Ok(())
}

/// Loads `path` into the tenant. A missing file is a fresh tenant (nothing to load).
pub fn load(state: &SimState, path: &Path) -> Result<(), PersistError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let snap: Snapshot = serde_json::from_str(&text).map_err(|e| PersistError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    restore(&mut state.tenant(), snap, path)
}

/// Saves the tenant to `path` atomically: a temp file next to it (readable by the owner only;
/// client secrets are in it only as hashes and hints), then a rename.
pub fn save(state: &SimState, path: &Path) -> Result<(), PersistError> {
    let write_err = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let _one_at_a_time = SAVING.lock().unwrap_or_else(|e| e.into_inner());
    let text = {
        let t = state.tenant();
        serde_json::to_string_pretty(&snapshot(&t))
            .map_err(|e| write_err(std::io::Error::other(e)))?
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    write_private(&tmp, text.as_bytes()).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
