//! Apply: run a plan's steps against the tenant, reporting progress as events.
//!
//! Apps run concurrently; within an app the order is register → enterprise app → (grants and
//! secret, concurrently), so the total time approaches the critical path. Every step reads
//! before it writes and treats "already exists" as success; the journal records each created
//! id the moment Microsoft returns it, so a killed run resumes without duplicates. A secret
//! goes from Microsoft's answer straight into the OS keyring; one that was created but never
//! stored (the process died in between) is found on the next run, removed and replaced.

mod certificate;
pub mod journal;

pub use certificate::{is_certificate, key_credentials, new_credential, patch_body};

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::graph::fields::{text, time};
use crate::graph::{ErrorClass, Expect, GraphClient, GraphError, Wait, WaitReason};
use crate::identity::TokenStore;
use crate::plan::{marker_tag, AppPlan, Plan, Step, StepKind};
use crate::secret::Secret;
use journal::Journal;

/// The keyring account that holds an app's client secret.
pub fn secret_account(tenant_id: &str, app_id: &str, key_id: &str) -> String {
    format!("secret/{tenant_id}/{app_id}/{key_id}")
}

/// Progress, for the UI's step list and the CLI's log lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum ApplyEvent {
    #[serde(rename_all = "camelCase")]
    StepStarted { step: String },
    /// Microsoft is not ready; the step waits and tries again.
    #[serde(rename_all = "camelCase")]
    Waiting {
        step: String,
        reason: WaitReason,
        attempt: u32,
        delay_ms: u64,
        message: String,
    },
    #[serde(rename_all = "camelCase")]
    StepDone {
        step: String,
        detail: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    StepSkipped { step: String, reason: String },
    #[serde(rename_all = "camelCase")]
    StepFailed {
        step: String,
        code: ApplyCode,
        message: String,
        hint: String,
    },
}

/// Codes for failed steps that the UI and CLI branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyCode {
    /// The signed-in account lacks a permission or role.
    Denied,
    /// Microsoft kept failing or stayed unready for the whole retry budget.
    GaveUp,
    /// Secrets are capped or forbidden by the tenant's policy.
    SecretPolicy,
    /// The OS keyring could not store the secret (it was removed again).
    KeyringUnavailable,
    /// The run was cancelled; run again to continue where it stopped.
    Cancelled,
    /// The run journal could not be written.
    Journal,
    /// Any other refusal from Microsoft Graph.
    Graph,
}

/// A step that failed, with what to do about it.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct StepFailure {
    pub step: String,
    pub code: ApplyCode,
    pub message: String,
    pub hint: String,
}

/// The client secret AppGrant created and stored (the value itself is in the keyring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub key_id: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Where it is in the keyring (service "AppGrant").
    pub keyring_account: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppOutcome {
    pub key: String,
    pub display_name: String,
    pub app_id: String,
    pub object_id: String,
    pub service_principal_id: String,
    pub secret: Option<SecretInfo>,
    /// The certificate the app got instead of a secret.
    pub certificate: Option<crate::certificate::CertificateMeta>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyOutcome {
    pub apps: Vec<AppOutcome>,
    /// Steps left out because the account may not run them (see the plan's consent hand-off).
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{} step(s) failed: {}", .failures.len(), .failures.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; "))]
pub struct ApplyError {
    pub failures: Vec<StepFailure>,
}

type Sink = Arc<dyn Fn(ApplyEvent) + Send + Sync>;

/// What apply needs besides the plan.
pub struct ApplyContext {
    /// The admin's Graph client (write scopes).
    pub graph: GraphClient,
    /// Where secrets go: the OS keyring (or a test store).
    pub secrets: Arc<dyn TokenStore>,
    pub cancel: CancellationToken,
}

struct Run<'a> {
    plan: &'a Plan,
    ctx: &'a ApplyContext,
    journal: &'a Mutex<Journal>,
    sink: Sink,
}

/// Runs the plan. Blocked steps are skipped (and listed); done steps are checked, not redone.
pub async fn apply(
    plan: &Plan,
    journal: &Mutex<Journal>,
    ctx: &ApplyContext,
    on_event: impl Fn(ApplyEvent) + Send + Sync + 'static,
) -> Result<ApplyOutcome, ApplyError> {
    let run = Run {
        plan,
        ctx,
        journal,
        sink: Arc::new(on_event),
    };
    // The run id in the apps' marker tags goes to disk before the first create: a process
    // killed right after Graph created an app (answer received, journal not yet written)
    // finds the app again by that tag instead of creating a second one.
    run.journal_update(|_| {})
        .map_err(|f| ApplyError { failures: vec![f] })?;
    let mut skipped = Vec::new();
    for step in plan.steps.iter().filter(|s| s.blocked.is_some() && !s.done) {
        (run.sink)(ApplyEvent::StepSkipped {
            step: step.id.clone(),
            reason: step.blocked.clone().unwrap_or_default(),
        });
        skipped.push(step.id.clone());
    }
    let results = futures::future::join_all(plan.apps.iter().map(|app| run.app(app))).await;
    let mut apps = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(app) => apps.push(app),
            Err(mut f) => failures.append(&mut f),
        }
    }
    if failures.is_empty() {
        Ok(ApplyOutcome { apps, skipped })
    } else {
        Err(ApplyError { failures })
    }
}

fn wait_message(reason: WaitReason, delay_ms: u64) -> String {
    let secs = delay_ms.div_ceil(1000);
    match reason {
        WaitReason::Replication => format!(
            "Microsoft is still setting up what was just created (usually under a minute); trying again in {secs} s"
        ),
        WaitReason::Throttled => format!("Microsoft asked AppGrant to slow down; trying again in {secs} s"),
        WaitReason::Transient => format!(
            "Microsoft did not answer properly (or the network dropped); trying again in {secs} s"
        ),
    }
}

fn failure(step: &str, error: &GraphError) -> StepFailure {
    let (code, hint) = match (error, error.class()) {
        (GraphError::Cancelled, _) => (ApplyCode::Cancelled, "Run Apply again: AppGrant continues where it stopped, without duplicates."),
        (GraphError::Dropped(_), _) => (ApplyCode::GaveUp, "The network dropped Microsoft's answer. Run Apply again: AppGrant checks what was created and continues without duplicates."),
        (GraphError::GaveUp { .. }, _) => (ApplyCode::GaveUp, "Microsoft is slow or unreachable right now. Run Apply again in a few minutes: finished steps are not repeated."),
        (_, ErrorClass::Denied) => (ApplyCode::Denied, "Sign in with an account that has the role named in the plan, or send the consent hand-off to someone who has it."),
        (GraphError::SignIn(_), _) | (_, ErrorClass::Unauthenticated) => (ApplyCode::Denied, "Your sign-in expired or lacks the write permissions: sign in again and accept the requested permissions."),
        _ => (ApplyCode::Graph, "Check the message; run Apply again once it is fixed. Finished steps are not repeated."),
    };
    StepFailure {
        step: step.to_string(),
        code,
        message: error.to_string(),
        hint: hint.to_string(),
    }
}

/// How a grant on a just-created enterprise app takes part in waiting for Microsoft.
#[derive(Clone, Copy)]
enum GrantRole<'g> {
    /// The enterprise app existed before this run: look before writing, poll if needed.
    Alone,
    /// The first grant on a new enterprise app: polls until Microsoft knows it.
    Leader(&'g Gate),
    /// The other grants: one try, then wait for the leader instead of polling too.
    Follower(&'g Gate),
}

/// A follower grant joins the polling once this share of the run's latest replication wait
/// has passed: early enough to catch the same lag, late enough to cost a request or two.
const FOLLOWER_JOINS_AT: f64 = 0.85;

/// Opens once the leader grant has finished (either way).
struct Gate(tokio::sync::watch::Sender<bool>);

impl Gate {
    fn new() -> Self {
        Self(tokio::sync::watch::Sender::new(false))
    }

    fn open(&self) {
        self.0.send_replace(true);
    }

    /// Until the gate opens, `cancel` fires, or `at_most` has passed.
    async fn wait(&self, cancel: &CancellationToken, at_most: Option<std::time::Duration>) {
        let mut rx = self.0.subscribe();
        let timeout = async {
            match at_most {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = rx.wait_for(|open| *open) => {}
            () = cancel.cancelled() => {}
            () = timeout => {}
        }
    }
}

impl Run<'_> {
    fn emit(&self, event: ApplyEvent) {
        (self.sink)(event);
    }

    /// A Graph client whose waits are reported against `step`.
    fn graph_for(&self, step: &Step) -> GraphClient {
        let sink = Arc::clone(&self.sink);
        let s = step.clone();
        self.ctx
            .graph
            .clone()
            .with_cancel(self.ctx.cancel.clone())
            .with_observer(move |w: &Wait| {
                sink(ApplyEvent::Waiting {
                    step: s.id.clone(),
                    reason: w.reason,
                    attempt: w.attempt,
                    delay_ms: w.delay_ms,
                    message: wait_message(w.reason, w.delay_ms),
                });
            })
    }

    fn journal_update(&self, f: impl FnOnce(&mut Journal)) -> Result<(), StepFailure> {
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut journal);
        journal.save().map_err(|e| StepFailure {
            step: String::new(),
            code: ApplyCode::Journal,
            message: e.to_string(),
            hint: "Check that the disk is not full and AppGrant's data folder is writable, then run Apply again.".to_string(),
        })
    }

    fn journal_app(&self, key: &str) -> journal::JournalApp {
        self.journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apps
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    fn step(&self, app: &AppPlan, suffix: &str) -> Option<&Step> {
        let id = format!("{}/{suffix}", app.key);
        self.plan.steps.iter().find(|s| s.id == id)
    }

    fn check_cancel(&self, step: &str) -> Result<(), Vec<StepFailure>> {
        if self.ctx.cancel.is_cancelled() {
            Err(vec![failure(step, &GraphError::Cancelled)])
        } else {
            Ok(())
        }
    }

    /// Runs `body` as `step`, with started/done/failed events.
    async fn timed<T, F>(&self, step: &Step, body: F) -> Result<T, StepFailure>
    where
        F: std::future::Future<Output = Result<(T, Option<String>), StepFailure>>,
    {
        self.emit(ApplyEvent::StepStarted {
            step: step.id.clone(),
        });
        match body.await {
            Ok((value, detail)) => {
                self.emit(ApplyEvent::StepDone {
                    step: step.id.clone(),
                    detail,
                });
                Ok(value)
            }
            Err(mut f) => {
                if f.step.is_empty() {
                    f.step = step.id.clone();
                }
                self.emit(ApplyEvent::StepFailed {
                    step: f.step.clone(),
                    code: f.code,
                    message: f.message.clone(),
                    hint: f.hint.clone(),
                });
                Err(f)
            }
        }
    }

    async fn app(&self, app: &AppPlan) -> Result<AppOutcome, Vec<StepFailure>> {
        let register = self.step(app, "register").ok_or_else(Vec::new)?;
        self.check_cancel(&register.id)?;
        let (object_id, app_id, fresh) = self
            .timed(register, self.register(app, register))
            .await
            .map_err(|f| vec![f])?;

        let grant_steps: Vec<&Step> = self
            .plan
            .steps
            .iter()
            .filter(|s| s.app == app.key && s.blocked.is_none())
            .filter(|s| match &s.kind {
                // Limited by Exchange: granting it tenant-wide again would undo the limit.
                StepKind::GrantApplicationPermission { name, .. } => {
                    !app.limited_permissions.contains(name)
                }
                StepKind::GrantDelegatedPermissions { .. } => true,
                _ => false,
            })
            .collect();
        // Enterprise app then grants, while the secret is created alongside.
        let sp_chain = async {
            let sp_step = self.step(app, "service-principal").ok_or_else(Vec::new)?;
            self.check_cancel(&sp_step.id)?;
            let (sp_id, fresh_sp) = self
                .timed(
                    sp_step,
                    self.service_principal(app, &app_id, fresh, sp_step),
                )
                .await
                .map_err(|f| vec![f])?;
            // Right after the enterprise app is created, Microsoft may not know it yet. All
            // grants go at once (no wait when it does); the first one polls, and the others,
            // told "not yet", wait for it instead of polling too (see `Gate`).
            let gate = Gate::new();
            let leader = fresh_sp.then_some(&gate);
            let results =
                futures::future::join_all(grant_steps.iter().enumerate().map(|(i, s)| {
                    let role = match (leader, i) {
                        (None, _) => GrantRole::Alone,
                        (Some(g), 0) => GrantRole::Leader(g),
                        (Some(g), _) => GrantRole::Follower(g),
                    };
                    self.timed(s, self.grant(s, &sp_id, role))
                }))
                .await;
            let mut failures = Vec::new();
            failures.extend(results.into_iter().filter_map(Result::err));
            Ok::<_, Vec<StepFailure>>((sp_id, failures))
        };
        let credential = self.credential(app, &object_id, &app_id, fresh);
        let (sp_result, credential) = tokio::join!(sp_chain, credential);
        let (sp_id, mut failures) = sp_result?;
        let (secret, certificate) = match credential {
            Ok(c) => c,
            Err(f) => {
                failures.push(f);
                (None, None)
            }
        };
        if !failures.is_empty() {
            return Err(failures);
        }
        Ok(AppOutcome {
            key: app.key.clone(),
            display_name: app.display_name.clone(),
            app_id,
            object_id,
            service_principal_id: sp_id,
            secret,
            certificate,
        })
    }

    /// The app's credential step: the client secret, or the certificate the plan chose.
    async fn credential(
        &self,
        app: &AppPlan,
        object_id: &str,
        app_id: &str,
        fresh: bool,
    ) -> Result<
        (
            Option<SecretInfo>,
            Option<crate::certificate::CertificateMeta>,
        ),
        StepFailure,
    > {
        let missing = || StepFailure {
            step: format!("{}/secret", app.key),
            code: ApplyCode::Graph,
            message: "the plan has no credential step for this app".to_string(),
            hint: "Plan again.".to_string(),
        };
        if app.certificate.is_some() {
            let step = self.step(app, "certificate").ok_or_else(missing)?;
            let cert = self
                .timed(step, self.certificate(app, object_id, app_id, fresh, step))
                .await?;
            return Ok((None, Some(cert)));
        }
        let step = self.step(app, "secret").ok_or_else(missing)?;
        let secret = self
            .timed(step, self.secret(app, object_id, app_id, fresh, step))
            .await?;
        Ok((Some(secret), None))
    }

    /// Returns (object id, app id, created in this run).
    async fn register(
        &self,
        app: &AppPlan,
        step: &Step,
    ) -> Result<((String, String, bool), Option<String>), StepFailure> {
        let graph = self.graph_for(step);
        let fail = |e: GraphError| failure(&step.id, &e);
        let known = self.journal_app(&app.key);
        let existing = match (&app.existing, known.object_id, known.app_id) {
            (Some(e), _, _) => Some((e.object_id.clone(), e.app_id.clone())),
            (None, Some(object_id), Some(app_id)) => Some((object_id, app_id)),
            _ => None,
        };
        if let Some((object_id, app_id)) = existing {
            graph
                .patch(
                    &format!("applications/{object_id}"),
                    &app.application,
                    Expect::Replicating,
                )
                .await
                .map_err(fail)?;
            self.journal_update(|j| {
                let a = j.app_mut(&app.key);
                a.object_id = Some(object_id.clone());
                a.app_id = Some(app_id.clone());
            })?;
            return Ok((
                (object_id, app_id, false),
                Some("already registered; settings checked".to_string()),
            ));
        }
        // Creating is not idempotent: on a dropped answer, look for our marker tag before
        // trying again, because the first POST may have landed.
        let tag = marker_tag(&self.plan.run_id, &app.key);
        let created = loop {
            match graph
                .create("applications", &app.application, Expect::Settled)
                .await
            {
                Ok(Some(body)) => break body,
                Ok(None) => {
                    return Err(fail(GraphError::Decode(
                        "empty answer to create".to_string(),
                    )))
                }
                Err(e) if matches!(e.class(), ErrorClass::Transient | ErrorClass::Throttled) => {
                    let found = graph
                        .get_all(&format!(
                            "applications?$filter=tags/any(t:t eq '{tag}')&$select=id,appId"
                        ))
                        .await
                        .map_err(fail)?;
                    if let Some(app) = found.into_iter().next() {
                        break app;
                    }
                    if matches!(e, GraphError::GaveUp { .. }) {
                        return Err(fail(e));
                    }
                }
                Err(e) => return Err(fail(e)),
            }
        };
        let object_id = text(&created, "id");
        let app_id = text(&created, "appId");
        self.journal_update(|j| {
            let a = j.app_mut(&app.key);
            a.object_id = Some(object_id.clone());
            a.app_id = Some(app_id.clone());
        })?;
        let detail = format!("Application (client) ID {app_id}");
        Ok(((object_id, app_id, true), Some(detail)))
    }

    /// Returns (service principal id, created in this run). An app created in this run
    /// cannot have one yet, so the lookup is skipped for it.
    async fn service_principal(
        &self,
        app: &AppPlan,
        app_id: &str,
        fresh_app: bool,
        step: &Step,
    ) -> Result<((String, bool), Option<String>), StepFailure> {
        let graph = self.graph_for(step);
        let fail = |e: GraphError| failure(&step.id, &e);
        let lookup = format!("servicePrincipals?$filter=appId eq '{app_id}'&$select=id");
        let found = if fresh_app {
            None
        } else {
            graph
                .get_all(&lookup)
                .await
                .map_err(fail)?
                .into_iter()
                .next()
        };
        let created = found.is_none();
        let sp_id = match found {
            Some(sp) => text(&sp, "id"),
            None => match graph
                .post(
                    "servicePrincipals",
                    &json!({ "appId": app_id }),
                    Expect::Replicating,
                )
                .await
            {
                Ok(Some(sp)) => text(&sp, "id"),
                Ok(None) => return Err(fail(GraphError::Decode("empty answer".to_string()))),
                Err(e) if e.class() == ErrorClass::AlreadyExists || e.status() == Some(409) => {
                    graph
                        .get_all(&lookup)
                        .await
                        .map_err(fail)?
                        .into_iter()
                        .next()
                        .map(|sp| text(&sp, "id"))
                        .ok_or_else(|| fail(e))?
                }
                Err(e) => return Err(fail(e)),
            },
        };
        self.journal_update(|j| j.app_mut(&app.key).service_principal_id = Some(sp_id.clone()))?;
        Ok(((sp_id, created), None))
    }

    async fn grant(
        &self,
        step: &Step,
        sp_id: &str,
        role: GrantRole<'_>,
    ) -> Result<((), Option<String>), StepFailure> {
        let result = self.grant_once(step, sp_id, role).await;
        if let GrantRole::Leader(gate) = role {
            gate.open();
        }
        result
    }

    async fn grant_once(
        &self,
        step: &Step,
        sp_id: &str,
        role: GrantRole<'_>,
    ) -> Result<((), Option<String>), StepFailure> {
        let graph = self.graph_for(step);
        let fail = |e: GraphError| failure(&step.id, &e);
        let graph_sp = &self.plan.graph_service_principal_id;
        match &step.kind {
            StepKind::GrantApplicationPermission { app_role_id, name } => {
                let body = json!({ "principalId": sp_id, "resourceId": graph_sp, "appRoleId": app_role_id });
                let path = format!("servicePrincipals/{graph_sp}/appRoleAssignedTo");
                match self.post_grant(&graph, step, &path, &body, role).await {
                    Ok(_) => Ok(((), Some(format!("{name} granted")))),
                    Err(e) if e.class() == ErrorClass::AlreadyExists => {
                        Ok(((), Some(format!("{name} was already granted"))))
                    }
                    Err(e) => Err(fail(e)),
                }
            }
            StepKind::GrantDelegatedPermissions { scopes } => {
                let filter = format!(
                    "oauth2PermissionGrants?$filter=clientId eq '{sp_id}' and consentType eq 'AllPrincipals' and resourceId eq '{graph_sp}'"
                );
                // An enterprise app created in this run has no grants yet: no lookup.
                let existing = match role {
                    GrantRole::Alone => graph
                        .get_with(&filter, Expect::Replicating)
                        .await
                        .map_err(fail)?
                        .get("value")
                        .and_then(Value::as_array)
                        .and_then(|v| v.first().cloned()),
                    GrantRole::Leader(_) | GrantRole::Follower(_) => None,
                };
                match existing {
                    Some(grant) => {
                        let mut all: Vec<String> = text(&grant, "scope")
                            .split_whitespace()
                            .map(str::to_string)
                            .collect();
                        for s in scopes {
                            if !all.contains(s) {
                                all.push(s.clone());
                            }
                        }
                        graph
                            .patch(
                                &format!("oauth2PermissionGrants/{}", text(&grant, "id")),
                                &json!({ "scope": all.join(" ") }),
                                Expect::Replicating,
                            )
                            .await
                            .map_err(fail)?;
                    }
                    None => {
                        let body = json!({ "clientId": sp_id, "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": scopes.join(" ") });
                        match self
                            .post_grant(&graph, step, "oauth2PermissionGrants", &body, role)
                            .await
                        {
                            Ok(_) => {}
                            Err(e) if e.class() == ErrorClass::AlreadyExists => {}
                            Err(e) => return Err(fail(e)),
                        }
                    }
                }
                Ok((
                    (),
                    Some(format!("granted for everyone: {}", scopes.join(" "))),
                ))
            }
            _ => Ok(((), None)),
        }
    }

    /// A grant's write. A follower tries once without polling; told that Microsoft does not
    /// know the enterprise app yet, it says so and waits for the leader grant to get through,
    /// or, when this run already waited for an enterprise app, joins the polling shortly
    /// before that wait's length has passed (so it is not a whole request behind the leader).
    async fn post_grant(
        &self,
        graph: &GraphClient,
        step: &Step,
        path: &str,
        body: &Value,
        role: GrantRole<'_>,
    ) -> Result<Option<Value>, GraphError> {
        if let GrantRole::Follower(gate) = role {
            let first_try = std::time::Instant::now();
            match graph.post(path, body, Expect::Settled).await {
                Err(e) if matches!(e.class(), ErrorClass::Replication | ErrorClass::NotFound) => {
                    self.emit(ApplyEvent::Waiting {
                        step: step.id.clone(),
                        reason: WaitReason::Replication,
                        attempt: 1,
                        delay_ms: 0,
                        message: "Microsoft is still setting up the enterprise app; waiting for the first permission to go through".to_string(),
                    });
                    let join_polling = graph.last_replication_wait().map(|w| {
                        w.mul_f64(FOLLOWER_JOINS_AT)
                            .saturating_sub(first_try.elapsed())
                    });
                    gate.wait(&self.ctx.cancel, join_polling).await;
                }
                other => return other,
            }
        }
        graph.post(path, body, Expect::Replicating).await
    }

    async fn secret(
        &self,
        app: &AppPlan,
        object_id: &str,
        app_id: &str,
        fresh_app: bool,
        step: &Step,
    ) -> Result<(SecretInfo, Option<String>), StepFailure> {
        let graph = self.graph_for(step);
        let fail = |e: GraphError| failure(&step.id, &e);
        let tenant = &self.plan.tenant_id;
        let known = self.journal_app(&app.key);
        // An app created in this run has no secrets yet; only an older one needs a look.
        let creds = if fresh_app {
            Vec::new()
        } else {
            graph
                .get_with(
                    &format!("applications/{object_id}?$select=passwordCredentials"),
                    Expect::Replicating,
                )
                .await
                .map_err(fail)?
                .get("passwordCredentials")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };

        // A secret from an earlier run that is on the app and in the keyring: keep it.
        if let (Some(key_id), true) = (&known.secret_key_id, known.secret_stored) {
            let on_app = creds.iter().any(|c| text(c, "keyId") == *key_id);
            let account = secret_account(tenant, app_id, key_id);
            let store = Arc::clone(&self.ctx.secrets);
            let lookup = account.clone();
            let in_keyring = tokio::task::spawn_blocking(move || store.load(&lookup))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .is_some();
            if on_app && in_keyring {
                let info = SecretInfo {
                    key_id: key_id.clone(),
                    description: app.secret_description.clone(),
                    created_at: known.secret_created_at.unwrap_or_else(Utc::now),
                    expires_at: known.secret_expires_at.unwrap_or_else(Utc::now),
                    keyring_account: account,
                };
                return Ok((
                    info,
                    Some("the secret from the earlier run is still valid and stored".to_string()),
                ));
            }
        }
        // A secret created by a run that died before storing it: remove it, it is lost.
        if let Some(since) = known.secret_pending_since {
            for orphan in creds.iter().filter(|c| {
                is_orphan(
                    c,
                    &app.secret_description,
                    since,
                    known.secret_key_id.as_deref(),
                    known.secret_stored,
                )
            }) {
                let key_id = text(orphan, "keyId");
                tracing::info!(app = %app.key, "removing a secret that an interrupted run never stored");
                graph
                    .post(
                        &format!("applications/{object_id}/removePassword"),
                        &json!({ "keyId": key_id }),
                        Expect::Settled,
                    )
                    .await
                    .map_err(fail)?;
            }
        }

        let pending_since = Utc::now();
        self.journal_update(|j| {
            let a = j.app_mut(&app.key);
            a.secret_pending_since = Some(pending_since);
            a.secret_key_id = None;
            a.secret_stored = false;
        })?;
        let mut days = self.plan.lifetime.days;
        let created = loop {
            let end = Utc::now() + chrono::TimeDelta::days(i64::from(days));
            let body = json!({ "passwordCredential": {
                "displayName": app.secret_description,
                "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }});
            // Never resent blindly: a lost answer may hide a secret that now exists but was
            // never seen; the step fails and the next run removes it (secret_pending_since).
            match graph
                .create(
                    &format!("applications/{object_id}/addPassword"),
                    &body,
                    Expect::Replicating,
                )
                .await
            {
                Ok(Some(c)) => break c,
                Ok(None) => {
                    return Err(fail(GraphError::Decode(
                        "empty answer to addPassword".to_string(),
                    )))
                }
                Err(e)
                    if e.code() == Some("CredentialInvalidLifetimeAsPerAppPolicy") && days > 30 =>
                {
                    // The policy could not be read up front; step down until it fits.
                    days = if days > 180 {
                        180
                    } else if days > 90 {
                        90
                    } else {
                        30
                    };
                    self.emit(ApplyEvent::Waiting {
                        step: step.id.clone(),
                        reason: WaitReason::Transient,
                        attempt: 1,
                        delay_ms: 0,
                        message: format!("Your organisation limits how long secrets may live; trying {days} days"),
                    });
                }
                Err(e)
                    if e.code() == Some("CredentialInvalidLifetimeAsPerAppPolicy")
                        || e.code() == Some("CredentialTypeNotAllowedAsPerAppPolicy") =>
                {
                    return Err(StepFailure {
                        step: step.id.clone(),
                        code: ApplyCode::SecretPolicy,
                        message: format!("Your organisation's app management policy refused the client secret ({}).", e.code().unwrap_or_default()),
                        hint: "Ask your identity administrator about the app management policy; certificate credentials are the alternative.".to_string(),
                    });
                }
                Err(e) => return Err(fail(e)),
            }
        };
        let key_id = text(&created, "keyId");
        let secret = Secret::new(text(&created, "secretText"));
        let account = secret_account(tenant, app_id, &key_id);
        let store = Arc::clone(&self.ctx.secrets);
        let (acc, value) = (account.clone(), secret.clone());
        let stored = tokio::task::spawn_blocking(move || store.save(&acc, &value))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        drop(secret);
        if let Err(problem) = stored {
            // A secret nobody can read is a liability: take it off the app again.
            let _ = graph
                .post(
                    &format!("applications/{object_id}/removePassword"),
                    &json!({ "keyId": key_id }),
                    Expect::Settled,
                )
                .await;
            return Err(StepFailure {
                step: step.id.clone(),
                code: ApplyCode::KeyringUnavailable,
                message: format!("The new secret could not be saved in this computer's credential store ({problem}), so it was removed again."),
                hint: "Unlock or start your system keyring (Windows Credential Manager, macOS Keychain, GNOME Keyring / KWallet), then run Apply again.".to_string(),
            });
        }
        let created_at = time(&created, "startDateTime").unwrap_or(pending_since);
        let expires_at = time(&created, "endDateTime").unwrap_or(pending_since);
        self.journal_update(|j| {
            let a = j.app_mut(&app.key);
            a.secret_key_id = Some(key_id.clone());
            a.secret_stored = true;
            a.secret_created_at = Some(created_at);
            a.secret_expires_at = Some(expires_at);
        })?;
        let detail = format!(
            "expires {}; stored in the credential store",
            expires_at.date_naive()
        );
        let info = SecretInfo {
            key_id,
            description: app.secret_description.clone(),
            created_at,
            expires_at,
            keyring_account: account,
        };
        Ok((info, Some(detail)))
    }
}

/// A secret with our description, created since the interrupted attempt began, that is not
/// the one safely stored.
fn is_orphan(
    cred: &Value,
    description: &str,
    since: DateTime<Utc>,
    stored_key: Option<&str>,
    stored: bool,
) -> bool {
    let started = time(cred, "startDateTime");
    text(cred, "displayName") == description
        && started.is_some_and(|s| s >= since - chrono::TimeDelta::minutes(10))
        && !(stored && stored_key == Some(text(cred, "keyId").as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphans_are_only_our_own_recent_unstored_secrets() {
        let since = Utc::now();
        let cred = |name: &str, key: &str, start: DateTime<Utc>| json!({"displayName": name, "keyId": key, "startDateTime": start.to_rfc3339()});
        assert!(is_orphan(&cred("X", "k1", since), "X", since, None, false));
        assert!(
            !is_orphan(&cred("Other", "k1", since), "X", since, None, false),
            "not ours"
        );
        assert!(
            !is_orphan(
                &cred("X", "k1", since - chrono::TimeDelta::days(3)),
                "X",
                since,
                None,
                false
            ),
            "an older secret someone made by hand stays"
        );
        assert!(
            !is_orphan(&cred("X", "k1", since), "X", since, Some("k1"), true),
            "the stored one stays"
        );
    }

    #[test]
    fn secrets_are_stored_where_the_vault_looks_for_them() {
        let at = crate::vault::SecretRef::new("tid", "app", "key");
        assert_eq!(
            at.account().unwrap(),
            secret_account("tid", "app", "key"),
            "apply writes the entry the vault reads"
        );
    }

    #[test]
    fn events_serialise_as_a_tagged_union() {
        let e = ApplyEvent::StepDone {
            step: "main/register".into(),
            detail: None,
        };
        let v = serde_json::to_value(e).unwrap();
        assert_eq!(v["event"], "stepDone");
        assert_eq!(v["data"]["step"], "main/register");
    }
}
