//! Rotate a client secret with overlap, one journaled stage at a time:
//!
//! 1. **Creating**: the rotation is recorded (with the secret's marker description) before
//!    `addPassword`; the new secret goes from Microsoft's answer straight into the keyring.
//! 2. **Stored**: the new secret is in the keyring; prove it (client-credentials token and
//!    the recipe's harmless probe, waiting out replication).
//! 3. **Overlap**: proved. The connection now names the new secret as current; the old one
//!    keeps working until the admin confirms the vendor uses the new one, or the grace
//!    period ends.
//! 4. **RemovingOld**: `removePassword` of the old secret, then its keyring entry; then a
//!    token with the new secret shows it still works.
//! 5. **Done**.
//!
//! The stages live on the connection ([`ConnectedApp::rotation`]) in the vault's index,
//! written atomically after every change, so a process killed at any moment continues on the
//! next run: a secret Microsoft created that never reached the keyring carries the
//! rotation's marker description and is removed; a stored one is proved again; the old
//! secret is never removed before the new one is proved, and the new one is never removed
//! once proved, so both are never gone at once.

mod certificate;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::error::LifecycleError;
use super::LifecycleEvent;
use crate::apply::AppOutcome;
use crate::cloud::Endpoints;
use crate::graph::fields::{text, time};
use crate::graph::{ErrorClass, Expect, GraphClient, GraphError, RetryPolicy};
use crate::plan::SecretPolicy;
use crate::recipe::Recipe;
use crate::secret::Secret;
use crate::vault::{ConnectedApp, Connection, SecretMeta, SecretRef, Vault};
use crate::verify::{CheckStatus, VerifyContext};

/// The grace period when the admin does not choose one.
pub const DEFAULT_GRACE_DAYS: u32 = 7;

/// Where a rotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationStage {
    /// Recorded; the new secret is being created (it may exist in Entra, not yet stored).
    Creating,
    /// The new secret is in the keyring; it has not been proved yet.
    Stored,
    /// Proved; both secrets work until the admin confirms or the grace period ends.
    Overlap,
    /// The old secret is being removed.
    RemovingOld,
    Done,
}

/// A rotation of one app's secret, saved on the app (the rotation's journal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// A random id; part of the new secret's description, so a secret created by a killed
    /// run can be recognised.
    pub id: String,
    pub stage: RotationStage,
    pub started_at: DateTime<Utc>,
    /// The new secret's description in Entra (carries the rotation's marker).
    pub description: String,
    pub lifetime_days: u32,
    pub grace_days: u32,
    /// Set just before `addPassword`; with no `new_secret` it means a secret may exist in
    /// Entra that never reached the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_secret: Option<SecretMeta>,
    /// The secret being replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_secret: Option<SecretMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proved_at: Option<DateTime<Utc>>,
    /// When the old secret is removed at the latest (the admin may confirm earlier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// After finishing: whether the new secret still got a token once the old was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still_works: Option<bool>,
    /// A certificate rotation: the new certificate, once stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_certificate: Option<crate::certificate::CertificateMeta>,
    /// A certificate rotation: the certificate being replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_certificate: Option<crate::certificate::CertificateMeta>,
    /// A certificate rotation: the new certificate's thumbprint, set before `addKey`; with
    /// no `new_certificate` it may be on the app while its key never reached the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_thumbprint: Option<String>,
}

impl Rotation {
    /// Under way (not done).
    pub fn active(&self) -> bool {
        self.stage != RotationStage::Done
    }

    /// In overlap and the grace period is over at `now`.
    pub fn grace_over(&self, now: DateTime<Utc>) -> bool {
        self.stage == RotationStage::RemovingOld
            || (self.stage == RotationStage::Overlap
                && self.grace_ends_at.is_some_and(|g| g <= now))
    }
}

/// The admin's choices for a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateOptions {
    /// How long the old secret stays valid after the new one is proved (default 7 days).
    pub grace_days: u32,
    /// The new secret's lifetime in months (default: the recipe's), capped by tenant policy.
    pub lifetime_months: Option<u32>,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            grace_days: DEFAULT_GRACE_DAYS,
            lifetime_months: None,
        }
    }
}

/// When finishing removes the old secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishWhen {
    /// The admin confirms the vendor now uses the new secret: remove the old one now.
    Confirmed,
    /// Only where the grace period has ended (scheduled tasks, `rotate finish --due`).
    GraceOver,
}

/// The fine-grained steps a rotation reports (and a test may stop at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationStep {
    Started,
    /// Reading the tenant's secret-lifetime policy.
    ReadingPolicy,
    /// Removing a secret an interrupted run created but never stored.
    RemovingOrphan,
    CreatingSecret,
    /// Microsoft returned the new secret; it is not stored yet.
    SecretCreated,
    Stored,
    Proving,
    Proved,
    Confirmed,
    RemovingOld,
    OldRemoved,
    CheckingNew,
    Done,
}

/// What a rotation needs besides the connection.
pub struct RotateContext {
    /// The admin's Graph client (write access) for the connection's tenant.
    pub graph: GraphClient,
    pub vault: Arc<Vault>,
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
    /// How long to wait for a new secret to work (about 5 minutes in real tenants).
    pub policy: RetryPolicy,
    /// A mailbox for the recipe's probe (the signed-in admin's user id works well).
    pub probe_user: Option<String>,
    pub cancel: CancellationToken,
}

pub(super) type Sink = Arc<dyn Fn(LifecycleEvent) + Send + Sync>;

struct Run<'a> {
    ctx: &'a RotateContext,
    connection_id: String,
    sink: Sink,
    /// The connection as last read or saved by this run (reading the whole index again
    /// for every stage would serialise bulk rotations on the vault's lock).
    cached: std::sync::Mutex<Option<Connection>>,
}

impl<'a> Run<'a> {
    fn new(ctx: &'a RotateContext, connection_id: &str, sink: Sink) -> Self {
        Self {
            ctx,
            connection_id: connection_id.to_string(),
            sink,
            cached: std::sync::Mutex::new(None),
        }
    }
}

/// Starts (or continues) rotating every secret of the connection, up to the overlap: each
/// app ends with a proved new secret next to the old one. Returns the saved connection.
pub async fn start(
    ctx: &RotateContext,
    connection_id: &str,
    recipe: Option<&Recipe>,
    options: RotateOptions,
    sink: Sink,
) -> Result<Connection, LifecycleError> {
    let run = Run::new(ctx, connection_id, sink);
    if let Some(months) = options.lifetime_months {
        let max = crate::recipe::MAX_SECRET_LIFETIME_MONTHS;
        if !(1..=max).contains(&months) {
            return Err(LifecycleError::InvalidLifetime { months, max });
        }
    }
    let connection = run.load().await?;
    if connection
        .apps
        .iter()
        .all(|a| a.secret.is_none() && !certificate::rotatable(a))
    {
        return Err(LifecycleError::NoSecret {
            vendor: connection.vendor,
        });
    }
    let mut lifetime_days = None;
    for key in connection.apps.iter().map(|a| a.key.clone()) {
        run.app_to_overlap(&key, recipe, options, &mut lifetime_days)
            .await?;
    }
    run.load().await
}

/// Removes the old secrets of the connection's rotations in overlap: all of them when the
/// admin confirms, else only those whose grace period is over. Returns the saved connection
/// and how many apps were finished.
pub async fn finish(
    ctx: &RotateContext,
    connection_id: &str,
    when: FinishWhen,
    sink: Sink,
) -> Result<(Connection, usize), LifecycleError> {
    let run = Run::new(ctx, connection_id, sink);
    let connection = run.load().await?;
    let now = Utc::now();
    let mut finished = 0;
    let mut waiting = None;
    for app in &connection.apps {
        let Some(r) = app
            .rotation
            .as_ref()
            .filter(|r| r.stage >= RotationStage::Overlap && r.active())
        else {
            continue;
        };
        if when == FinishWhen::GraceOver && !r.grace_over(now) {
            waiting = Some((app.display_name.clone(), r.grace_ends_at));
            continue;
        }
        run.finish_app(&app.key, when).await?;
        finished += 1;
    }
    if finished == 0 {
        return Err(match waiting {
            Some((app, until)) => LifecycleError::GraceNotOver {
                app,
                until: until
                    .map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
            },
            None => LifecycleError::NothingToFinish {
                vendor: connection.vendor,
            },
        });
    }
    Ok((run.load().await?, finished))
}

/// The new secret's description: the recipe's (or the old one's), plus the rotation marker.
fn description_for(base: &str, id: &str, now: DateTime<Utc>) -> String {
    let base = base.split(" (rotated ").next().unwrap_or(base).trim();
    format!(
        "{base} (rotated {} {})",
        now.format("%Y-%m-%d"),
        &id[..id.len().min(8)]
    )
}

impl Run<'_> {
    fn emit(&self, app: &str, step: RotationStep, message: impl Into<String>) {
        (self.sink)(LifecycleEvent::Step {
            connection_id: self.connection_id.clone(),
            app_key: app.to_string(),
            step,
            message: message.into(),
        });
    }

    /// Reports a step, then stops if cancelled (the point a killed process would stop at).
    fn step(
        &self,
        app: &str,
        step: RotationStep,
        message: impl Into<String>,
    ) -> Result<(), LifecycleError> {
        self.emit(app, step, message);
        if self.ctx.cancel.is_cancelled() {
            return Err(LifecycleError::Cancelled);
        }
        Ok(())
    }

    fn graph(&self, app: &str) -> GraphClient {
        let sink = Arc::clone(&self.sink);
        let (id, key) = (self.connection_id.clone(), app.to_string());
        self.ctx
            .graph
            .clone()
            .with_cancel(self.ctx.cancel.clone())
            .with_observer(move |w| {
                sink(LifecycleEvent::Waiting {
                    connection_id: id.clone(),
                    app_key: Some(key.clone()),
                    reason: w.reason,
                    delay_ms: w.delay_ms,
                });
            })
    }

    async fn load(&self) -> Result<Connection, LifecycleError> {
        if let Some(c) = self.cache().clone() {
            return Ok(c);
        }
        let (vault, id) = (Arc::clone(&self.ctx.vault), self.connection_id.clone());
        let c = blocking(move || vault.require(&id)).await?;
        *self.cache() = Some(c.clone());
        Ok(c)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn app(&self, key: &str) -> Result<(Connection, ConnectedApp), LifecycleError> {
        let connection = self.load().await?;
        let app = connection
            .app(key)
            .cloned()
            .ok_or_else(|| LifecycleError::NotFound(format!("{}/{key}", self.connection_id)))?;
        Ok((connection, app))
    }

    /// Saves a change to one app (its rotation, its current secret) under the index lock.
    async fn save(
        &self,
        key: &str,
        change: impl FnOnce(&mut ConnectedApp) + Send + 'static,
    ) -> Result<(), LifecycleError> {
        let (vault, id, key) = (
            Arc::clone(&self.ctx.vault),
            self.connection_id.clone(),
            key.to_string(),
        );
        let saved = blocking(move || {
            vault.update(&id, |c| {
                if let Some(app) = c.apps.iter_mut().find(|a| a.key == key) {
                    change(app);
                }
            })
        })
        .await?;
        *self.cache() = Some(saved);
        Ok(())
    }

    async fn save_rotation(&self, key: &str, rotation: &Rotation) -> Result<(), LifecycleError> {
        let r = rotation.clone();
        self.save(key, move |app| app.rotation = Some(r)).await
    }

    async fn app_to_overlap(
        &self,
        key: &str,
        recipe: Option<&Recipe>,
        options: RotateOptions,
        lifetime_days: &mut Option<u32>,
    ) -> Result<(), LifecycleError> {
        loop {
            let (connection, app) = self.app(key).await?;
            let Some(current) = app.secret.clone() else {
                if !certificate::rotatable(&app) {
                    return Ok(());
                }
                let days = match app.rotation.as_ref().filter(|r| r.active()) {
                    Some(r) => r.lifetime_days,
                    None => self.certificate_lifetime(key, recipe, options).await?,
                };
                return self
                    .certificate_to_overlap(key, recipe, days, options.grace_days)
                    .await;
            };
            let (rotation, fresh) = match app.rotation.clone().filter(Rotation::active) {
                Some(r) => (r, false),
                None => {
                    let days = match lifetime_days {
                        Some(d) => *d,
                        None => {
                            let d = self.lifetime(key, recipe, options).await?;
                            *lifetime_days = Some(d);
                            d
                        }
                    };
                    (
                        self.begin(&app, current, recipe, options, days).await?,
                        true,
                    )
                }
            };
            match rotation.stage {
                RotationStage::Creating => self.create(&connection, &app, rotation, fresh).await?,
                RotationStage::Stored => self.prove(&connection, &app, rotation, recipe).await?,
                RotationStage::Overlap | RotationStage::RemovingOld | RotationStage::Done => {
                    return Ok(())
                }
            }
        }
    }

    /// Reads the tenant's credential-lifetime policy, saying so on the rotation's progress
    /// (`what`: "secrets" or "certificates"; `kind`: "secret" or "certificate").
    async fn read_policy(
        &self,
        key: &str,
        what: &str,
        kind: &str,
    ) -> Result<SecretPolicy, LifecycleError> {
        self.step(
            key,
            RotationStep::ReadingPolicy,
            format!("Reading how long your organisation lets {what} live"),
        )?;
        SecretPolicy::read(&self.graph(key))
            .await
            .map_err(|e| LifecycleError::graph(format!("Reading the {kind}-lifetime policy"), e))
    }

    /// Days for a new certificate: the recipe's (or the option's) months within the tenant's
    /// certificate-lifetime policy.
    async fn certificate_lifetime(
        &self,
        key: &str,
        recipe: Option<&Recipe>,
        options: RotateOptions,
    ) -> Result<u32, LifecycleError> {
        let policy = self.read_policy(key, "certificates", "certificate").await?;
        let months = options
            .lifetime_months
            .or_else(|| {
                recipe?
                    .apps
                    .iter()
                    .find(|a| a.key == key)
                    .map(|a| a.credential.lifetime_months())
            })
            .unwrap_or(12);
        Ok(crate::plan::lifetime_days(
            months,
            policy.max_certificate_days,
        ))
    }

    async fn lifetime(
        &self,
        key: &str,
        recipe: Option<&Recipe>,
        options: RotateOptions,
    ) -> Result<u32, LifecycleError> {
        let policy = self.read_policy(key, "secrets", "secret").await?;
        let recipe_months =
            recipe.and_then(|r| r.apps.iter().map(|a| a.credential.lifetime_months()).min());
        let months = options.lifetime_months.or(recipe_months).unwrap_or(12);
        crate::plan::lifetime_for_months(months, &policy)
            .map(|l| l.days)
            .map_err(|_| LifecycleError::InvalidLifetime {
                months,
                max: crate::recipe::MAX_SECRET_LIFETIME_MONTHS,
            })
    }

    async fn begin(
        &self,
        app: &ConnectedApp,
        current: SecretMeta,
        recipe: Option<&Recipe>,
        options: RotateOptions,
        lifetime_days: u32,
    ) -> Result<Rotation, LifecycleError> {
        let now = Utc::now();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let base = recipe
            .and_then(|r| r.apps.iter().find(|a| a.key == app.key))
            .map(|spec| spec.credential.description().to_string())
            .unwrap_or_else(|| current.description.clone());
        let rotation = Rotation {
            description: description_for(&base, &id, now),
            id,
            stage: RotationStage::Creating,
            started_at: now,
            lifetime_days,
            grace_days: options.grace_days,
            // Recorded before addPassword, so a kill from here on leaves a trace.
            pending_since: Some(now),
            new_secret: None,
            old_secret: Some(current),
            proved_at: None,
            grace_ends_at: None,
            confirmed_at: None,
            finished_at: None,
            still_works: None,
            new_certificate: None,
            old_certificate: None,
            pending_thumbprint: None,
        };
        self.save_rotation(&app.key, &rotation).await?;
        self.step(
            &app.key,
            RotationStep::Started,
            format!("Rotating the secret of {}", app.display_name),
        )?;
        Ok(rotation)
    }

    /// The app's password credentials; a deleted app is [`LifecycleError::AppDeleted`].
    async fn credentials(&self, app: &ConnectedApp) -> Result<Vec<Value>, LifecycleError> {
        match self
            .graph(&app.key)
            .get_with(
                &format!(
                    "applications/{}?$select=id,passwordCredentials",
                    app.object_id
                ),
                Expect::Settled,
            )
            .await
        {
            Ok(body) => Ok(body
                .get("passwordCredentials")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()),
            Err(e) if e.class() == ErrorClass::NotFound => Err(LifecycleError::AppDeleted {
                app: app.display_name.clone(),
            }),
            Err(e) => Err(LifecycleError::graph(
                format!("Reading the secrets of {}", app.display_name),
                e,
            )),
        }
    }

    async fn remove_password(
        &self,
        app: &ConnectedApp,
        key_id: &str,
    ) -> Result<(), LifecycleError> {
        match self
            .graph(&app.key)
            .post(
                &format!("applications/{}/removePassword", app.object_id),
                &json!({ "keyId": key_id }),
                Expect::Settled,
            )
            .await
        {
            Ok(_) => Ok(()),
            // Already gone (a killed run removed it before it could record that).
            Err(e) if e.class() == ErrorClass::NotFound => Ok(()),
            Err(e) => Err(LifecycleError::graph(
                format!("Removing a secret of {}", app.display_name),
                e,
            )),
        }
    }

    /// Creating: remove what an interrupted attempt left, add the new secret, store it.
    /// `fresh`: the rotation was recorded (pending) by this run a moment ago.
    async fn create(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        mut rotation: Rotation,
        fresh: bool,
    ) -> Result<(), LifecycleError> {
        let key = app.key.as_str();
        if !fresh && rotation.pending_since.is_some() {
            let old = rotation.old_secret.as_ref().map(|s| s.key_id.as_str());
            for orphan in self.credentials(app).await? {
                let key_id = text(&orphan, "keyId");
                if text(&orphan, "displayName") == rotation.description
                    && Some(key_id.as_str()) != old
                {
                    self.step(
                        key,
                        RotationStep::RemovingOrphan,
                        "Removing a new secret an interrupted rotation never stored",
                    )?;
                    self.remove_password(app, &key_id).await?;
                }
            }
        }
        if !fresh {
            rotation.pending_since = Some(Utc::now());
            self.save_rotation(key, &rotation).await?;
        }
        self.step(
            key,
            RotationStep::CreatingSecret,
            format!(
                "Creating a new secret for {} ({} days)",
                app.display_name, rotation.lifetime_days
            ),
        )?;
        let end = Utc::now() + TimeDelta::days(i64::from(rotation.lifetime_days));
        let body = json!({ "passwordCredential": {
            "displayName": rotation.description,
            "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }});
        let created = match self
            .graph(key)
            .post(
                &format!("applications/{}/addPassword", app.object_id),
                &body,
                Expect::Settled,
            )
            .await
        {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(LifecycleError::graph(
                    "Creating the new secret",
                    GraphError::Decode("empty answer to addPassword".into()),
                ))
            }
            Err(e)
                if matches!(
                    e.code(),
                    Some(
                        "CredentialInvalidLifetimeAsPerAppPolicy"
                            | "CredentialTypeNotAllowedAsPerAppPolicy"
                    )
                ) =>
            {
                return Err(LifecycleError::SecretPolicy {
                    detail: e.code().unwrap_or_default().to_string(),
                })
            }
            Err(e) if e.class() == ErrorClass::NotFound => {
                return Err(LifecycleError::AppDeleted {
                    app: app.display_name.clone(),
                })
            }
            Err(e) => return Err(LifecycleError::graph("Creating the new secret", e)),
        };
        let key_id = text(&created, "keyId");
        let secret = Secret::new(text(&created, "secretText"));
        self.step(
            key,
            RotationStep::SecretCreated,
            "Microsoft created the new secret; storing it",
        )?;
        let at = SecretRef::new(&connection.tenant_id, &app.app_id, &key_id);
        let vault = Arc::clone(&self.ctx.vault);
        let stored = blocking(move || vault.store_secret(&at, &secret)).await;
        if let Err(problem) = stored {
            // A secret nobody can read is a liability: take it off the app again.
            self.remove_password(app, &key_id).await?;
            rotation.pending_since = None;
            self.save_rotation(key, &rotation).await?;
            return Err(LifecycleError::Keyring {
                detail: problem.to_string(),
            });
        }
        let now = Utc::now();
        rotation.new_secret = Some(SecretMeta {
            key_id,
            description: rotation.description.clone(),
            created_at: time(&created, "startDateTime").unwrap_or(now),
            expires_at: time(&created, "endDateTime").unwrap_or(end),
        });
        rotation.pending_since = None;
        rotation.stage = RotationStage::Stored;
        self.save_rotation(key, &rotation).await?;
        self.step(
            key,
            RotationStep::Stored,
            "The new secret is in this computer's credential store",
        )
    }

    /// Stored: a token with the new secret and the recipe's probe; then the overlap opens.
    async fn prove(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        mut rotation: Rotation,
        recipe: Option<&Recipe>,
    ) -> Result<(), LifecycleError> {
        let key = app.key.as_str();
        let Some(new) = rotation.new_secret.clone() else {
            rotation.stage = RotationStage::Creating;
            return self.save_rotation(key, &rotation).await;
        };
        let at = SecretRef::new(&connection.tenant_id, &app.app_id, &new.key_id);
        let vault = Arc::clone(&self.ctx.vault);
        let secret = blocking(move || vault.load_secret(&at)).await?;
        let Some(secret) = secret else {
            // The keyring lost it: nobody can use it; remove it and make another.
            self.remove_password(app, &new.key_id).await?;
            rotation.new_secret = None;
            rotation.pending_since = None;
            rotation.stage = RotationStage::Creating;
            return self.save_rotation(key, &rotation).await;
        };
        self.step(
            key,
            RotationStep::Proving,
            "Proving the new secret works (Microsoft can take a minute to activate it)",
        )?;
        self.prove_then_overlap(
            (connection, app, recipe),
            rotation,
            &crate::verify::ClientCredential::Secret(secret),
            |a, r| a.secret = r.new_secret.clone(),
            "The new secret works; the old one stays valid during the overlap",
        )
        .await
    }

    /// Proves `credential` (a token and the recipe's probe); when it works, opens the overlap:
    /// the new credential becomes the app's current one (`make_current`) and the old one stays
    /// valid for the rotation's grace days. Shared by secrets and certificates.
    pub(super) async fn prove_then_overlap(
        &self,
        (connection, app, recipe): (&Connection, &ConnectedApp, Option<&Recipe>),
        mut rotation: Rotation,
        credential: &crate::verify::ClientCredential,
        make_current: impl FnOnce(&mut ConnectedApp, &Rotation) + Send + 'static,
        proved: &str,
    ) -> Result<(), LifecycleError> {
        let key = app.key.as_str();
        if let Some(detail) = self
            .prove_credential(connection, app, recipe, credential)
            .await
        {
            if self.ctx.cancel.is_cancelled() {
                return Err(LifecycleError::Cancelled);
            }
            return Err(LifecycleError::NotProved {
                app: app.display_name.clone(),
                detail,
            });
        }
        let now = Utc::now();
        rotation.stage = RotationStage::Overlap;
        rotation.proved_at = Some(now);
        rotation.grace_ends_at = Some(now + TimeDelta::days(i64::from(rotation.grace_days)));
        self.save(key, move |a| {
            make_current(a, &rotation);
            a.rotation = Some(rotation);
        })
        .await?;
        self.step(key, RotationStep::Proved, proved)
    }

    /// None when the secret or certificate works; else why not.
    async fn prove_credential(
        &self,
        connection: &Connection,
        app: &ConnectedApp,
        recipe: Option<&Recipe>,
        credential: &crate::verify::ClientCredential,
    ) -> Option<String> {
        let roles: Vec<String> = recipe
            .and_then(|r| r.apps.iter().find(|a| a.key == app.key))
            .map(|spec| {
                spec.application_permissions()
                    .map(|p| p.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let limited: Vec<String> = connection
            .mailbox_limits
            .iter()
            .filter(|l| l.app_key == app.key)
            .flat_map(|l| l.permissions.clone())
            .collect();
        let roles: Vec<String> = roles.into_iter().filter(|r| !limited.contains(r)).collect();
        let admin = self.graph(&app.key);
        let sink = Arc::clone(&self.sink);
        let id = self.connection_id.clone();
        let ctx = VerifyContext {
            endpoints: &self.ctx.endpoints,
            tenant_id: &connection.tenant_id,
            admin: &admin,
            http: self.ctx.http.clone(),
            policy: self.ctx.policy,
            probe_user: self.ctx.probe_user.clone(),
            on_wait: Some(Arc::new(move |app: &str, message: &str| {
                sink(LifecycleEvent::Notice {
                    connection_id: id.clone(),
                    app_key: Some(app.to_string()),
                    message: message.to_string(),
                });
            })),
        };
        let outcome = outcome_of(app);
        let checks = if roles.is_empty() {
            match crate::verify::client_credentials_token_with(
                &ctx.http,
                ctx.endpoints,
                ctx.tenant_id,
                ctx.policy,
                &app.app_id,
                credential,
                |_| {},
            )
            .await
            {
                Ok(_) => Vec::new(),
                Err(message) => return Some(message),
            }
        } else {
            crate::verify::app_only_checks(&ctx, &outcome, &roles, Some(credential), false).await
        };
        checks
            .iter()
            .find(|c| c.status == CheckStatus::Failed)
            .map(|c| format!("{}: {}", c.title, c.detail))
    }

    async fn finish_app(&self, key: &str, when: FinishWhen) -> Result<(), LifecycleError> {
        let (connection, app) = self.app(key).await?;
        let Some(mut rotation) = app.rotation.clone() else {
            return Ok(());
        };
        if rotation.stage == RotationStage::Overlap {
            if when == FinishWhen::Confirmed {
                rotation.confirmed_at = Some(Utc::now());
                self.step(
                    key,
                    RotationStep::Confirmed,
                    "You confirmed the vendor uses the new secret",
                )?;
            }
            rotation.stage = RotationStage::RemovingOld;
            // The admin's word must survive a kill; a grace period that is over stays over,
            // so that decision is simply taken again.
            if when == FinishWhen::Confirmed {
                self.save_rotation(key, &rotation).await?;
            }
        }
        if rotation.stage != RotationStage::RemovingOld {
            return Ok(());
        }
        if rotation.old_certificate.is_some() || rotation.new_certificate.is_some() {
            let works = self
                .finish_certificate(&connection, &app, &rotation)
                .await?;
            rotation.stage = RotationStage::Done;
            rotation.finished_at = Some(Utc::now());
            rotation.still_works = Some(works);
            self.save_rotation(key, &rotation).await?;
            return self.step(
                key,
                RotationStep::Done,
                if works {
                    "Rotation finished: the new certificate works"
                } else {
                    "Rotation finished, but the new certificate did not get a token: check the connection"
                },
            );
        }
        if let Some(old) = rotation.old_secret.clone() {
            self.step(
                key,
                RotationStep::RemovingOld,
                format!("Removing the old secret of {}", app.display_name),
            )?;
            let still_there = self
                .credentials(&app)
                .await?
                .iter()
                .any(|c| text(c, "keyId") == old.key_id);
            if still_there {
                self.remove_password(&app, &old.key_id).await?;
            }
            let at = SecretRef::new(&connection.tenant_id, &app.app_id, &old.key_id);
            let vault = Arc::clone(&self.ctx.vault);
            blocking(move || vault.delete_secret(&at)).await?;
            self.step(
                key,
                RotationStep::OldRemoved,
                "The old secret is gone from the tenant and this computer",
            )?;
        }
        self.step(
            key,
            RotationStep::CheckingNew,
            "Checking the new secret still works",
        )?;
        let works = match &rotation.new_secret {
            Some(new) => {
                let at = SecretRef::new(&connection.tenant_id, &app.app_id, &new.key_id);
                let vault = Arc::clone(&self.ctx.vault);
                match blocking(move || vault.load_secret(&at)).await? {
                    Some(secret) => crate::verify::client_credentials_token(
                        &self.ctx.http,
                        &self.ctx.endpoints,
                        &connection.tenant_id,
                        self.ctx.policy,
                        &app.app_id,
                        &secret,
                        |_| {},
                    )
                    .await
                    .is_ok(),
                    None => false,
                }
            }
            None => false,
        };
        rotation.stage = RotationStage::Done;
        rotation.finished_at = Some(Utc::now());
        rotation.still_works = Some(works);
        self.save_rotation(key, &rotation).await?;
        self.step(
            key,
            RotationStep::Done,
            if works {
                "Rotation finished: the new secret works"
            } else {
                "Rotation finished, but the new secret did not get a token: check the connection"
            },
        )
    }
}

/// The apply-shaped view of a saved app that verification takes.
fn outcome_of(app: &ConnectedApp) -> AppOutcome {
    AppOutcome {
        key: app.key.clone(),
        display_name: app.display_name.clone(),
        app_id: app.app_id.clone(),
        object_id: app.object_id.clone(),
        service_principal_id: app.service_principal_id.clone().unwrap_or_default(),
        secret: None,
        certificate: app.certificate.clone(),
    }
}

/// Runs blocking vault work (files, keyring) off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::vault::VaultError> + Send + 'static,
) -> Result<T, LifecycleError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LifecycleError::Keyring {
            detail: e.to_string(),
        })?
        .map_err(LifecycleError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_replaces_an_earlier_one() {
        let now = Utc::now();
        let first = description_for("TonicDM Secret", "abcdef1234", now);
        assert!(first.starts_with("TonicDM Secret (rotated "));
        assert!(first.ends_with("abcdef12)"));
        let second = description_for(&first, "99999999aa", now);
        assert_eq!(second.matches("rotated").count(), 1);
        assert!(second.ends_with("99999999)"));
    }
}
