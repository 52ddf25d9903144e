//! The secret's life after Done: the connections dashboard's status, "Check now", rotation
//! with overlap, and reminders, driven through one small façade ([`Lifecycle`]) that the
//! desktop shell and the CLI call, the way [`crate::flow::Flow`] drives the wizard.
//!
//! - [`status`]: what the dashboard shows, offline (no sign-in).
//! - [`check`]: read the tenant and compare it with the saved connection and the recipe.
//! - [`rotate`]: a new secret, proved, overlapping the old until confirmed or the grace
//!   period ends; every stage journaled on the connection so a kill loses nothing.
//!
//! Calls that reach the tenant take a [`SignedIn`]: the caller's sign-in to the
//! connection's tenant (the shell's or the CLI's authenticator) and where that tenant lives.

pub mod check;
mod error;
pub mod rotate;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use check::{CheckReport, CheckSummary, ExtraGrant, Finding, FindingKind, UnknownSecret};
pub use error::{LifecycleCode, LifecycleError};
pub use rotate::{
    FinishWhen, RotateOptions, Rotation, RotationStage, RotationStep, DEFAULT_GRACE_DAYS,
};
pub use status::{
    sort, status_of, AppStatus, ConnectionStatus, CredentialRole, CredentialStatus, Filter,
    Severity, SortBy, StatusItem, StatusKind, TenantInfo, EXPIRING_SOON_DAYS,
};

use crate::cloud::{Cloud, Endpoints};
use crate::export::{AppSecrets, ExportError, Handoff};
use crate::graph::{DelegatedToken, GraphClient, RetryPolicy, WaitReason};
use crate::identity::{Access, Authenticator, TokenStore};
use crate::recipe::{Recipe, Var};
use crate::vault::{Connection, Vault};
use rotate::{blocking, RotateContext, Sink};

/// How many connections bulk operations work on at once. Each rotation mostly waits (for
/// Microsoft to accept the new secret), so more at once shortens the run; Microsoft throttles
/// per tenant, and the Graph client waits out every 429 as asked. The rotation benchmark
/// (`examples/rotate_bench.rs`) measured 100 connections: 23 s at 16, 16 s at 32.
pub const BULK_CONCURRENCY: usize = 32;

/// Progress of checks and rotations, for the dashboard's stage list and the CLI's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum LifecycleEvent {
    /// A rotation step began or ended (see [`RotationStep`]).
    #[serde(rename_all = "camelCase")]
    Step {
        connection_id: String,
        app_key: String,
        step: RotationStep,
        message: String,
    },
    /// Microsoft is throttling, replicating or failing; the call waits and tries again.
    #[serde(rename_all = "camelCase")]
    Waiting {
        connection_id: String,
        app_key: Option<String>,
        reason: WaitReason,
        delay_ms: u64,
    },
    /// Something worth saying while waiting ("Microsoft is still activating the new secret").
    #[serde(rename_all = "camelCase")]
    Notice {
        connection_id: String,
        app_key: Option<String>,
        message: String,
    },
    /// A check of one connection ended.
    #[serde(rename_all = "camelCase")]
    Checked {
        connection_id: String,
        severity: Severity,
    },
    /// One connection of a bulk operation failed (the others go on).
    #[serde(rename_all = "camelCase")]
    Failed {
        connection_id: String,
        code: LifecycleCode,
        message: String,
        hint: String,
    },
}

/// The caller's sign-in to a connection's tenant.
#[derive(Clone)]
pub struct SignedIn {
    /// Where the tenant lives (see [`endpoints_for`]; the practice tenant's own for practice).
    pub endpoints: Endpoints,
    /// Signed in with write access ([`Access::Apply`]) to the connection's tenant.
    pub auth: Arc<Authenticator>,
}

/// Where to sign in for `connection`: its recorded cloud, else the global cloud. Practice
/// connections live in a practice tenant the caller runs; pass its endpoints instead.
pub fn endpoints_for(connection: &Connection) -> Result<Endpoints, crate::cloud::CloudError> {
    Cloud::of(connection).endpoints()
}

/// The result of starting, continuing or finishing a rotation of one connection.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationResult {
    /// The connection as saved (each app's `rotation` shows its stage).
    pub connection: Connection,
    pub status: ConnectionStatus,
    /// What the vendor needs now: only the fields that changed (new secret hidden; ask
    /// [`rotation_handoff`] with secrets for the copy button). None once finished.
    pub handoff: Option<Handoff>,
    /// A fresh calendar reminder (alarms 30 and 7 days before the new expiry).
    pub ics: Option<String>,
    /// Apps whose old secret was removed by this call (finish only).
    pub finished_apps: usize,
}

/// One connection's outcome in a bulk operation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkItem {
    pub connection_id: String,
    pub vendor: String,
    pub tenant: String,
    pub result: Option<RotationResult>,
    pub error: Option<BulkError>,
}

/// A failure in words, as the shell and CLI show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkError {
    pub code: LifecycleCode,
    pub message: String,
    pub hint: String,
}

impl From<&LifecycleError> for BulkError {
    fn from(e: &LifecycleError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

/// The lifecycle of every saved connection. Cheap to share behind an `Arc`.
pub struct Lifecycle {
    vault: Arc<Vault>,
    policy: RetryPolicy,
    recipes: Vec<Recipe>,
}

impl Lifecycle {
    /// Opens the vault in `data_dir` with `secrets` (the OS keyring). Blocking (file I/O).
    pub fn new(data_dir: PathBuf, secrets: Arc<dyn TokenStore>) -> Result<Self, LifecycleError> {
        Ok(Self::with_vault(Arc::new(Vault::open(data_dir, secrets)?)))
    }

    /// Uses an already open vault (share the shell's).
    pub fn with_vault(vault: Arc<Vault>) -> Self {
        Self {
            vault,
            policy: RetryPolicy::default(),
            recipes: Vec::new(),
        }
    }

    /// Retry timing (tests use [`RetryPolicy::fast`]).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Recipes that are not built in (from files), for connections made with them.
    pub fn with_recipes(mut self, recipes: Vec<Recipe>) -> Self {
        self.recipes = recipes;
        self
    }

    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The recipe a connection was made with, when this AppGrant knows it.
    /// The app's secret, or its generated certificate's key, from the keyring.
    async fn credential_of(
        &self,
        connection: &Connection,
        app_key: &str,
    ) -> Result<Option<crate::verify::ClientCredential>, LifecycleError> {
        use base64::Engine;
        let vault = Arc::clone(&self.vault);
        let (c, key) = (connection.clone(), app_key.to_string());
        let found = blocking(move || match c.secret_ref(&key) {
            Some(at) => Ok(vault
                .load_secret(&at)?
                .map(crate::verify::ClientCredential::Secret)),
            None => {
                let der = c
                    .app(&key)
                    .and_then(|a| a.certificate.as_ref())
                    .and_then(|m| {
                        base64::engine::general_purpose::STANDARD
                            .decode(&m.certificate_base64)
                            .ok()
                    });
                Ok(vault
                    .load_certificate_key(&c, &key)?
                    .zip(der)
                    .map(|(key, der)| crate::verify::ClientCredential::Certificate { key, der }))
            }
        })
        .await?;
        Ok(found)
    }

    pub fn recipe_for(&self, connection: &Connection) -> Option<Recipe> {
        self.recipes
            .iter()
            .find(|r| r.id == connection.recipe_id)
            .cloned()
            .or_else(|| {
                crate::recipe::builtin_by_id(&connection.recipe_id)
                    .ok()
                    .flatten()
            })
    }

    /// The dashboard: every saved connection's status at `now`, in saved order. With
    /// `look_in_keyring`, each credential's presence in the credential store is looked up
    /// (one keyring read per secret); without, `in_keyring` is None.
    pub async fn overview(
        &self,
        now: DateTime<Utc>,
        look_in_keyring: bool,
    ) -> Result<Vec<ConnectionStatus>, LifecycleError> {
        let vault = Arc::clone(&self.vault);
        blocking(move || {
            let connections = vault.list()?;
            let held = |at: &crate::vault::SecretRef| {
                look_in_keyring.then(|| matches!(vault.load_secret(at), Ok(Some(_))))
            };
            Ok(connections
                .iter()
                .map(|c| status_of(c, now, &held))
                .collect())
        })
        .await
    }

    /// One connection's status (with keyring lookups).
    pub async fn status(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<ConnectionStatus, LifecycleError> {
        let (vault, id) = (Arc::clone(&self.vault), id.to_string());
        blocking(move || {
            let c = vault.require(&id)?;
            let held =
                |at: &crate::vault::SecretRef| Some(matches!(vault.load_secret(at), Ok(Some(_))));
            Ok(status_of(&c, now, &held))
        })
        .await
    }

    async fn connection(&self, id: &str) -> Result<Connection, LifecycleError> {
        let (vault, id) = (Arc::clone(&self.vault), id.to_string());
        blocking(move || vault.require(&id)).await
    }

    fn graph(&self, signed_in: &SignedIn) -> Result<GraphClient, LifecycleError> {
        Ok(GraphClient::new(
            crate::identity::http_client_for(&signed_in.endpoints)?,
            &signed_in.endpoints.graph,
            Arc::new(DelegatedToken {
                auth: Arc::clone(&signed_in.auth),
                access: Access::Apply,
            }),
        )
        .with_policy(self.policy))
    }

    /// Fails unless `signed_in` is a sign-in to the connection's tenant.
    async fn session_for(
        &self,
        signed_in: &SignedIn,
        connection: &Connection,
    ) -> Result<crate::identity::Session, LifecycleError> {
        let session = signed_in
            .auth
            .session()
            .await
            .ok_or(LifecycleError::NotSignedIn)?;
        if session.tenant_id != connection.tenant_id {
            return Err(LifecycleError::WrongTenant {
                signed_in: session.tenant_domain.unwrap_or(session.tenant_id),
                expected: connection
                    .tenant_domain
                    .clone()
                    .unwrap_or_else(|| connection.tenant_id.clone()),
            });
        }
        Ok(session)
    }

    async fn rotate_context(
        &self,
        signed_in: &SignedIn,
        connection: &Connection,
        cancel: CancellationToken,
    ) -> Result<RotateContext, LifecycleError> {
        let session = self.session_for(signed_in, connection).await?;
        Ok(RotateContext {
            graph: self.graph(signed_in)?,
            vault: Arc::clone(&self.vault),
            endpoints: signed_in.endpoints.clone(),
            http: crate::identity::http_client_for(&signed_in.endpoints)?,
            policy: self.policy,
            probe_user: Some(session.user_id),
            cancel,
        })
    }

    /// "Check now": reads the tenant and saves what it found on the connection.
    pub async fn check(
        &self,
        signed_in: &SignedIn,
        id: &str,
        cancel: CancellationToken,
    ) -> Result<CheckReport, LifecycleError> {
        let mut connection = self.connection(id).await?;
        let session = self.session_for(signed_in, &connection).await?;
        let graph = self.graph(signed_in)?.with_cancel(cancel);
        let recipe = self.recipe_for(&connection);
        if self
            .recheck_mailbox_limits(signed_in, &mut connection)
            .await?
        {
            let (vault, limits) = (Arc::clone(&self.vault), connection.mailbox_limits.clone());
            let id = id.to_string();
            blocking(move || vault.update(&id, |c| c.mailbox_limits = limits)).await?;
        }
        let report = check::run(
            &graph,
            &signed_in.endpoints,
            &session,
            &connection,
            recipe.as_ref(),
        )
        .await?;
        let summary = report.summary.clone();
        let (vault, id) = (Arc::clone(&self.vault), id.to_string());
        blocking(move || vault.update(&id, |c| c.last_check = Some(summary))).await?;
        Ok(report)
    }

    /// Proves a pending mailbox limit again with the app's own token (Microsoft takes up to
    /// 2 hours to apply one). Needs the mailbox-limiting sign-in scopes; without them the
    /// limit stays "pending" and the check says so. True when a state changed.
    async fn recheck_mailbox_limits(
        &self,
        signed_in: &SignedIn,
        connection: &mut Connection,
    ) -> Result<bool, LifecycleError> {
        let pending: Vec<usize> = (0..connection.mailbox_limits.len())
            .filter(|&i| {
                matches!(
                    connection.mailbox_limits[i].status,
                    crate::scope::ScopeStatus::Pending { .. }
                )
            })
            .collect();
        if pending.is_empty()
            || signed_in
                .auth
                .access_token(Access::LimitMailboxes)
                .await
                .is_err()
        {
            return Ok(false);
        }
        let admin = GraphClient::new(
            crate::identity::http_client()?,
            &signed_in.endpoints.graph,
            Arc::new(DelegatedToken {
                auth: Arc::clone(&signed_in.auth),
                access: Access::LimitMailboxes,
            }),
        )
        .with_policy(self.policy);
        let ctx = crate::scope::verify::ScopeVerifyContext {
            endpoints: &signed_in.endpoints,
            tenant_id: &connection.tenant_id,
            admin: &admin,
            http: crate::identity::http_client()?,
            policy: self.policy,
            propagation: crate::scope::verify::MICROSOFT_PROPAGATION,
        };
        let mut changed = false;
        for i in pending {
            let state = connection.mailbox_limits[i].clone();
            let Some(credential) = self.credential_of(connection, &state.app_key).await? else {
                continue;
            };
            match crate::scope::verify::verify_scope(&ctx, &state, &credential).await {
                Ok(report) => {
                    changed |= report.state != state;
                    connection.mailbox_limits[i] = report.state;
                }
                Err(e) => tracing::warn!(error = %e, "could not re-check the mailbox limit"),
            }
        }
        Ok(changed)
    }

    /// Brings the grants back to the recipe's: runs the missing steps the check planned
    /// (through apply, so nothing is created twice) and, with `remove_extra`, removes
    /// application permissions the recipe does not ask for. Then checks again.
    pub async fn fix_drift(
        &self,
        signed_in: &SignedIn,
        id: &str,
        remove_extra: bool,
        on_event: impl Fn(crate::apply::ApplyEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<CheckReport, LifecycleError> {
        let connection = self.connection(id).await?;
        let session = self.session_for(signed_in, &connection).await?;
        let graph = self.graph(signed_in)?.with_cancel(cancel.clone());
        let recipe = self
            .recipe_for(&connection)
            .ok_or_else(|| LifecycleError::UnknownRecipe(connection.recipe_id.clone()))?;
        check::fix(
            &graph,
            &signed_in.endpoints,
            &session,
            &connection,
            &recipe,
            &self.vault,
            remove_extra,
            on_event,
            cancel,
        )
        .await?;
        self.check(signed_in, id, CancellationToken::new()).await
    }

    /// "Check all": checks each connection (at most [`BULK_CONCURRENCY`] at once); one
    /// failure does not stop the others.
    pub async fn check_all(
        &self,
        signed_in: &SignedIn,
        ids: &[String],
        on_event: impl Fn(LifecycleEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Vec<(String, Result<CheckReport, LifecycleError>)> {
        let sink: Sink = Arc::new(on_event);
        futures::stream::iter(ids.iter().cloned())
            .map(|id| {
                let (sink, cancel) = (Arc::clone(&sink), cancel.clone());
                async move {
                    let result = self.check(signed_in, &id, cancel).await;
                    match &result {
                        Ok(r) => sink(LifecycleEvent::Checked {
                            connection_id: id.clone(),
                            severity: r
                                .summary
                                .findings
                                .iter()
                                .map(|f| f.severity)
                                .max()
                                .unwrap_or(Severity::Ok),
                        }),
                        Err(e) => sink(failed(&id, e)),
                    }
                    (id, result)
                }
            })
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await
    }

    /// Starts a rotation of every secret of the connection, or continues an interrupted
    /// one, up to the overlap: new secrets created, stored and proved, old ones still valid.
    pub async fn start_rotation(
        &self,
        signed_in: &SignedIn,
        id: &str,
        options: RotateOptions,
        on_event: impl Fn(LifecycleEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<RotationResult, LifecycleError> {
        self.start_with(signed_in, id, options, Arc::new(on_event), cancel)
            .await
    }

    async fn start_with(
        &self,
        signed_in: &SignedIn,
        id: &str,
        options: RotateOptions,
        sink: Sink,
        cancel: CancellationToken,
    ) -> Result<RotationResult, LifecycleError> {
        let connection = self.connection(id).await?;
        let ctx = self.rotate_context(signed_in, &connection, cancel).await?;
        let recipe = self.recipe_for(&connection);
        let saved = rotate::start(&ctx, id, recipe.as_ref(), options, sink).await?;
        self.result(saved, recipe.as_ref(), 0).await
    }

    /// Removes the old secrets: now, when the admin confirms the vendor uses the new one
    /// ([`FinishWhen::Confirmed`]); else only where the grace period is over.
    pub async fn finish_rotation(
        &self,
        signed_in: &SignedIn,
        id: &str,
        when: FinishWhen,
        on_event: impl Fn(LifecycleEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<RotationResult, LifecycleError> {
        self.finish_with(signed_in, id, when, Arc::new(on_event), cancel)
            .await
    }

    async fn finish_with(
        &self,
        signed_in: &SignedIn,
        id: &str,
        when: FinishWhen,
        sink: Sink,
        cancel: CancellationToken,
    ) -> Result<RotationResult, LifecycleError> {
        let connection = self.connection(id).await?;
        let ctx = self.rotate_context(signed_in, &connection, cancel).await?;
        let (saved, finished) = rotate::finish(&ctx, id, when, sink).await?;
        let recipe = self.recipe_for(&saved);
        self.result(saved, recipe.as_ref(), finished).await
    }

    async fn result(
        &self,
        connection: Connection,
        recipe: Option<&Recipe>,
        finished_apps: usize,
    ) -> Result<RotationResult, LifecycleError> {
        let now = Utc::now();
        let in_overlap = connection.apps.iter().any(|a| {
            a.rotation
                .as_ref()
                .is_some_and(|r| r.stage == RotationStage::Overlap)
        });
        let (handoff, ics) = match recipe {
            Some(recipe) if in_overlap => {
                let handoff = rotation_handoff(recipe, &connection, None).ok();
                let ics = handoff.as_ref().map(|h| h.to_rotation_ics(now));
                (handoff, ics)
            }
            _ => (None, None),
        };
        let status = {
            let (vault, c) = (Arc::clone(&self.vault), connection.clone());
            blocking(move || {
                let held = |at: &crate::vault::SecretRef| {
                    Some(matches!(vault.load_secret(at), Ok(Some(_))))
                };
                Ok(status_of(&c, now, &held))
            })
            .await?
        };
        Ok(RotationResult {
            connection,
            status,
            handoff,
            ics,
            finished_apps,
        })
    }

    /// Bulk rotation: starts (or continues) the rotation of every connection `filter`
    /// matches that is in the signed-in tenant, at most `concurrency` at once. Connections
    /// already in overlap are left as they are. One failure does not stop the others.
    pub async fn rotate_due(
        &self,
        signed_in: &SignedIn,
        filter: &Filter,
        options: RotateOptions,
        concurrency: usize,
        on_event: impl Fn(LifecycleEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<Vec<BulkItem>, LifecycleError> {
        let rows = self.in_tenant(signed_in, filter).await?;
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|c| {
                !c.apps.iter().any(|a| {
                    matches!(
                        a.rotation,
                        Some(RotationStage::Overlap | RotationStage::RemovingOld)
                    )
                })
            })
            .collect();
        let sink: Sink = Arc::new(on_event);
        Ok(self
            .bulk(rows, concurrency, &sink, |id| {
                let (sink, cancel) = (Arc::clone(&sink), cancel.clone());
                async move { self.start_with(signed_in, &id, options, sink, cancel).await }
            })
            .await)
    }

    /// Bulk finish: removes old secrets of the rotations in overlap that `filter` matches
    /// in the signed-in tenant, where the grace period is over (or all, with
    /// [`FinishWhen::Confirmed`]), at most `concurrency` connections at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_due(
        &self,
        signed_in: &SignedIn,
        filter: &Filter,
        when: FinishWhen,
        concurrency: usize,
        on_event: impl Fn(LifecycleEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<Vec<BulkItem>, LifecycleError> {
        let now = Utc::now();
        let rows = self.in_tenant(signed_in, filter).await?;
        let connections = {
            let vault = Arc::clone(&self.vault);
            blocking(move || vault.list()).await?
        };
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|row| {
                connections
                    .iter()
                    .find(|c| c.id == row.id)
                    .is_some_and(|c| {
                        c.apps.iter().any(|a| {
                            a.rotation.as_ref().is_some_and(|r| {
                                r.active()
                                    && r.stage >= RotationStage::Overlap
                                    && (when == FinishWhen::Confirmed || r.grace_over(now))
                            })
                        })
                    })
            })
            .collect();
        let sink: Sink = Arc::new(on_event);
        Ok(self
            .bulk(rows, concurrency, &sink, |id| {
                let (sink, cancel) = (Arc::clone(&sink), cancel.clone());
                async move { self.finish_with(signed_in, &id, when, sink, cancel).await }
            })
            .await)
    }

    /// The rows `filter` matches in the signed-in tenant.
    async fn in_tenant(
        &self,
        signed_in: &SignedIn,
        filter: &Filter,
    ) -> Result<Vec<ConnectionStatus>, LifecycleError> {
        let session = signed_in
            .auth
            .session()
            .await
            .ok_or(LifecycleError::NotSignedIn)?;
        let rows = self.overview(Utc::now(), false).await?;
        Ok(filter
            .apply(rows)
            .into_iter()
            .filter(|c| c.tenant.id == session.tenant_id)
            .collect())
    }

    async fn bulk<'a, F, Fut>(
        &'a self,
        rows: Vec<ConnectionStatus>,
        concurrency: usize,
        sink: &Sink,
        each: F,
    ) -> Vec<BulkItem>
    where
        F: Fn(String) -> Fut + 'a,
        Fut: std::future::Future<Output = Result<RotationResult, LifecycleError>> + 'a,
    {
        let each = &each;
        futures::stream::iter(rows)
            .map(|row| async move {
                let result = each(row.id.clone()).await;
                if let Err(e) = &result {
                    sink(failed(&row.id, e));
                }
                BulkItem {
                    connection_id: row.id.clone(),
                    vendor: row.vendor.clone(),
                    tenant: row.tenant.label().to_string(),
                    error: result.as_ref().err().map(BulkError::from),
                    result: result.ok(),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await
    }
}

fn failed(id: &str, e: &LifecycleError) -> LifecycleEvent {
    LifecycleEvent::Failed {
        connection_id: id.to_string(),
        code: e.code(),
        message: e.to_string(),
        hint: e.hint(),
    }
}

/// The hand-off after a rotation: only the recipe's fields that name a rotated app's secret,
/// its expiry or its id, with the vendor's labels. Pass `secrets` (from
/// [`AppSecrets::from_vault`]) only when the person asked to see or copy the secret.
pub fn rotation_handoff(
    recipe: &Recipe,
    connection: &Connection,
    secrets: Option<&AppSecrets>,
) -> Result<Handoff, ExportError> {
    let mut handoff = Handoff::build(recipe, connection, secrets)?;
    let rotated: Vec<&str> = connection
        .apps
        .iter()
        .filter(|a| {
            a.rotation
                .as_ref()
                .is_some_and(|r| r.stage >= RotationStage::Overlap)
        })
        .map(|a| a.key.as_str())
        .collect();
    let changed = |field: &crate::recipe::HandoffField| {
        field.value.vars().any(|v| match v {
            Var::Secret(k) | Var::SecretExpiry(k) | Var::SecretId(k) => {
                rotated.contains(&k.as_str())
            }
            _ => false,
        })
    };
    let keep: Vec<bool> = recipe.handoff.iter().map(changed).collect();
    let mut flags = keep.into_iter();
    handoff.fields.retain(|_| flags.next().unwrap_or(false));
    handoff
        .secrets
        .retain(|s| rotated.contains(&s.app_key.as_str()));
    Ok(handoff)
}
