//! The wizard's journey as one object: choose a tenant, sign in, plan a recipe, apply,
//! verify, save the connection. The desktop shell and the CLI drive this; each of their
//! commands is one call here, so the whole journey is tested in core against the simulator.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::apply::journal::{Journal, JournalError};
use crate::apply::{apply, ApplyContext, ApplyError, ApplyEvent, ApplyOutcome};
use crate::cloud::{Cloud, CloudError, Endpoints};
use crate::connect::connection_from;
use crate::graph::{DelegatedToken, GraphClient, RetryPolicy};
use crate::identity::{
    Access, Authenticator, BrowserOpener, DeviceCodePrompt, Session, SignInConfig, SignInError,
    TokenStore,
};
use crate::plan::{plan, Choices, Plan, PlanError};
use crate::recipe::Recipe;
use crate::record::{read_grants, GrantRecord, LimitProof, SignedInAdmin, VerifyRecord};
use crate::scope::signin::{self, SignInLimit};
use crate::scope::verify::{verify_scope, ScopeReport, ScopeVerifyContext, MICROSOFT_PROPAGATION};
use crate::scope::{
    apply_scope, change_recipients, plan_scope, remove_scope, resolve, search_recipients,
    ExchangeHandoff, Recipient, ScopeChoices, ScopeError, ScopeStatus, ScopeStep,
};
use crate::vault::{Connection, Vault, VaultError};
use crate::verify::{verify_with, VerifyContext, VerifyReport};

/// Which tenant the journey works on, and in which cloud.
#[derive(Debug, Clone)]
pub struct TenantChoice {
    /// Where the tenant lives; the saved connection records it (except for the in-process
    /// practice tenant, whose address dies with the process).
    pub cloud: Cloud,
    /// `organizations`, a domain or a tenant id.
    pub tenant: String,
    /// The local practice tenant.
    pub practice: bool,
    /// The sign-in client id (default: the cloud's [`Cloud::sign_in_client`]).
    pub client_id: Option<String>,
}

impl TenantChoice {
    /// The cloud to record on a connection made with this choice.
    pub fn recorded_cloud(&self) -> Option<Cloud> {
        (!self.practice).then(|| self.cloud.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("Choose a tenant first.")]
    NoTenant,
    #[error("Sign in first.")]
    NotSignedIn,
    #[error("Review the set-up first.")]
    NoPlan,
    #[error("Apply the set-up first.")]
    NotApplied,
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("Microsoft provides no sign-in app in {0}; name your organisation's own app registration (its Application (client) ID).")]
    NeedsClientId(&'static str),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("{0} has no mailbox permissions that can be limited to chosen users.")]
    NotLimitable(String),
    #[error("Choose the users or groups whose mailboxes the app may use first.")]
    NoMailboxesChosen,
    #[error("Limit mailbox access first.")]
    NotLimited,
    #[error("{0} has no app that people sign in to, so sign-in cannot be limited.")]
    SignInNotLimitable(String),
    #[error("Choose the users or groups who may sign in first.")]
    NoSignInPeopleChosen,
}

/// What limiting mailbox access did, for the Verify screen.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MailboxLimitOutcome {
    /// The steps as planned (done ones were already true in the tenant).
    pub steps: Vec<ScopeStep>,
    /// For an Exchange Administrator when the signed-in account lacks the rights.
    pub handoff: Option<ExchangeHandoff>,
    pub notes: Vec<String>,
    /// One report per limited app: the probes and the state stored on the connection.
    pub reports: Vec<ScopeReport>,
}

struct Current {
    recipe: Recipe,
    choices: Choices,
    plan: Plan,
    journal: Arc<Mutex<Journal>>,
    outcome: Option<ApplyOutcome>,
    report: Option<VerifyReport>,
    /// The people and groups chosen for the mailbox limit (empty: no limit).
    mailboxes: Vec<Recipient>,
    /// The limit as last applied or verified.
    limit: Option<MailboxLimitOutcome>,
    /// The sign-in limits as last applied (one per app that offers it).
    sign_in: Vec<SignInLimit>,
    /// The mailbox limit was removed in this run (the saved connection forgets it).
    limit_removed: bool,
}

/// One admin's journey through the wizard.
pub struct Flow {
    data_dir: PathBuf,
    secrets: Arc<dyn TokenStore>,
    policy: RetryPolicy,
    tenant: Option<TenantChoice>,
    endpoints: Option<Endpoints>,
    auth: Option<Arc<Authenticator>>,
    device: Option<DeviceCodePrompt>,
    current: Option<Current>,
    /// The account Microsoft's sign-in page suggests (the practice scenario's account).
    login_hint: Option<String>,
}

impl Flow {
    /// `data_dir` holds journals and the connections index; `secrets` is the OS keyring.
    pub fn new(data_dir: PathBuf, secrets: Arc<dyn TokenStore>) -> Self {
        Self {
            data_dir,
            secrets,
            policy: RetryPolicy::default(),
            tenant: None,
            endpoints: None,
            auth: None,
            device: None,
            current: None,
            login_hint: None,
        }
    }

    /// Retry timing (tests use [`RetryPolicy::fast`]).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn tenant(&self) -> Option<&TenantChoice> {
        self.tenant.as_ref()
    }

    /// The chosen tenant's endpoints (hosts, resource, trusted CA).
    pub fn endpoints(&self) -> Result<&Endpoints, FlowError> {
        self.endpoints.as_ref().ok_or(FlowError::NoTenant)
    }

    /// An HTTP client for the chosen tenant (trusts its CA file, if it has one).
    pub fn http_client(&self) -> Result<reqwest::Client, FlowError> {
        Ok(crate::identity::http_client_for(self.endpoints()?)?)
    }

    /// Chooses the tenant; signs out of any other one.
    /// Fails, changing nothing, when the cloud's endpoints or CA file are unusable or the
    /// cloud needs a client id that was not given.
    pub fn use_tenant(&mut self, choice: TenantChoice) -> Result<(), FlowError> {
        let endpoints = choice.cloud.endpoints()?;
        let client_id = match (&choice.client_id, choice.cloud.sign_in_client()) {
            (Some(id), _) => id.clone(),
            (None, Some(id)) => id.to_string(),
            (None, None) => return Err(FlowError::NeedsClientId(choice.cloud.label())),
        };
        let mut config = SignInConfig::new(endpoints.clone());
        config.tenant = choice.tenant.clone();
        config.client_id = client_id;
        config.login_hint = self.login_hint.clone();
        self.auth = Some(Arc::new(Authenticator::new(
            config,
            Arc::clone(&self.secrets),
        )?));
        self.endpoints = Some(endpoints);
        self.tenant = Some(choice);
        self.device = None;
        self.current = None;
        Ok(())
    }

    /// Suggests `hint` as the account on the sign-in page from now on. With a tenant chosen,
    /// this signs out (the next sign-in is a new one) and forgets the plan.
    pub fn set_login_hint(&mut self, hint: Option<String>) -> Result<(), FlowError> {
        self.login_hint = hint;
        match self.tenant.clone() {
            Some(choice) => self.use_tenant(choice),
            None => Ok(()),
        }
    }

    fn auth(&self) -> Result<Arc<Authenticator>, FlowError> {
        self.auth.clone().ok_or(FlowError::NoTenant)
    }

    /// The sign-in handle, for running the long browser wait without holding the flow.
    pub fn authenticator(&self) -> Result<Arc<Authenticator>, FlowError> {
        self.auth()
    }

    /// Signs in through the browser with write access (the wizard applies right after).
    pub async fn sign_in_browser(
        auth: Arc<Authenticator>,
        opener: &dyn BrowserOpener,
        cancel: &CancellationToken,
    ) -> Result<Session, FlowError> {
        Ok(auth
            .sign_in_with_browser(opener, Access::Apply, cancel)
            .await?)
    }

    pub async fn start_device_code(&mut self) -> Result<DeviceCodePrompt, FlowError> {
        let prompt = self.auth()?.start_device_code(Access::Apply).await?;
        self.device = Some(prompt.clone());
        Ok(prompt)
    }

    /// The pending device code, for polling without holding the flow.
    pub fn device_code(&self) -> Option<DeviceCodePrompt> {
        self.device.clone()
    }

    pub async fn sign_out(&mut self) -> Result<(), FlowError> {
        if let Some(auth) = &self.auth {
            auth.sign_out().await?;
        }
        self.current = None;
        Ok(())
    }

    pub async fn session(&self) -> Option<Session> {
        match &self.auth {
            Some(auth) => auth.session().await,
            None => None,
        }
    }

    /// A Graph client with the write scopes the wizard applies with.
    /// The tenant's longest certificate lifetime in days, when signed in and a policy sets
    /// one (for checking a vendor's certificate before Review).
    pub async fn certificate_lifetime_limit(&self) -> Option<u32> {
        let graph = self.graph().ok()?;
        crate::plan::SecretPolicy::read(&graph)
            .await
            .ok()?
            .max_certificate_days
    }

    fn graph(&self) -> Result<GraphClient, FlowError> {
        self.graph_with(Access::Apply)
    }

    /// A Graph client with the people-picker and Exchange scopes (incremental consent: may
    /// fail with [`SignInError::AdminConsentRequired`]; then [`Flow::sign_in_for_mailbox_limit`]).
    fn limit_graph(&self) -> Result<GraphClient, FlowError> {
        self.graph_with(Access::LimitMailboxes)
    }

    fn graph_with(&self, access: Access) -> Result<GraphClient, FlowError> {
        Ok(GraphClient::new(
            self.http_client()?,
            &self.endpoints()?.graph,
            Arc::new(DelegatedToken {
                auth: self.auth()?,
                access,
            }),
        )
        .with_policy(self.policy))
    }

    /// Fails early with [`SignInError::AdminConsentRequired`] when the mailbox-limiting
    /// scopes were never consented, so the UI can offer "Sign in again".
    async fn limit_token(&self) -> Result<(), FlowError> {
        self.auth()?.access_token(Access::LimitMailboxes).await?;
        Ok(())
    }

    /// Signs in again through the browser, consenting to the mailbox-limiting scopes.
    pub async fn sign_in_for_mailbox_limit(
        auth: Arc<Authenticator>,
        opener: &dyn BrowserOpener,
        cancel: &CancellationToken,
    ) -> Result<Session, FlowError> {
        Ok(auth
            .sign_in_with_browser(opener, Access::LimitMailboxes, cancel)
            .await?)
    }

    /// The people picker: users and groups whose name or address starts with `query`.
    pub async fn search_people(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Recipient>, FlowError> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        self.limit_token().await?;
        Ok(search_recipients(&self.limit_graph()?, query, limit).await?)
    }

    /// Chooses whose mailboxes the recipe's limitable apps may use (by Entra object id;
    /// unknown ids are dropped). An empty list means no limit.
    pub async fn choose_mailboxes(&mut self, ids: &[String]) -> Result<Vec<Recipient>, FlowError> {
        let chosen = if ids.is_empty() {
            Vec::new()
        } else {
            self.limit_token().await?;
            resolve(&self.limit_graph()?, ids).await?
        };
        let current = self.current.as_mut().ok_or(FlowError::NoPlan)?;
        current.mailboxes = chosen.clone();
        Ok(chosen)
    }

    /// The people and groups chosen for the mailbox limit.
    pub fn chosen_mailboxes(&self) -> &[Recipient] {
        self.current
            .as_ref()
            .map(|c| c.mailboxes.as_slice())
            .unwrap_or_default()
    }

    /// Each app's secret or generated certificate key from the keyring, by app key.
    async fn app_credentials(
        &self,
        tenant_id: &str,
        outcome: &ApplyOutcome,
    ) -> Vec<(String, crate::verify::ClientCredential)> {
        crate::verify::load_credentials(Arc::clone(&self.secrets), tenant_id, outcome).await
    }

    /// After Apply: limits the recipe's mailbox permissions to the chosen people with
    /// Exchange RBAC for Applications (removing the tenant-wide grants), records the limited
    /// permissions in the run journal so a re-run does not grant them again, and proves the
    /// limit with the app's own token. Re-running it duplicates nothing.
    pub async fn limit_mailboxes(&mut self) -> Result<MailboxLimitOutcome, FlowError> {
        if let Some(current) = self.current.as_mut() {
            current.limit_removed = false;
        }
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        self.limit_token().await?;
        let graph = self.limit_graph()?;
        let current = self.current.as_ref().ok_or(FlowError::NoPlan)?;
        let outcome = current.outcome.clone().ok_or(FlowError::NotApplied)?;
        if current.mailboxes.is_empty() {
            return Err(FlowError::NoMailboxesChosen);
        }
        let keys: Vec<String> = current
            .recipe
            .apps
            .iter()
            .filter(|a| a.limit_mailboxes.is_some())
            .map(|a| a.key.clone())
            .collect();
        if keys.is_empty() {
            return Err(FlowError::NotLimitable(current.recipe.vendor.clone()));
        }
        let choices = ScopeChoices {
            recipients: keys
                .iter()
                .map(|k| (k.clone(), current.mailboxes.clone()))
                .collect(),
        };
        let scope_plan = plan_scope(
            &graph,
            &session,
            &current.recipe,
            &current.plan,
            &outcome,
            &choices,
        )
        .await?;
        let previous: Vec<_> = current
            .limit
            .as_ref()
            .map(|l| l.reports.iter().map(|r| r.state.clone()).collect())
            .unwrap_or_default();
        let states = apply_scope(&graph, &scope_plan, &previous).await?;
        {
            // The tenant-wide grants of these permissions are gone on purpose.
            let mut journal = current.journal.lock().unwrap_or_else(|p| p.into_inner());
            for state in &states {
                if !matches!(state.status, ScopeStatus::HandedOff { .. }) {
                    let app = journal.app_mut(&state.app_key);
                    for p in &state.permissions {
                        if !app.limited_permissions.contains(p) {
                            app.limited_permissions.push(p.clone());
                        }
                    }
                }
            }
            journal.save()?;
        }
        let mut result = MailboxLimitOutcome {
            steps: scope_plan.steps,
            handoff: scope_plan.handoff,
            notes: scope_plan.notes,
            reports: states
                .into_iter()
                .map(|state| ScopeReport {
                    headline: state.headline(),
                    state,
                    inside: None,
                    outside: None,
                })
                .collect(),
        };
        result.reports = self.check_limits(&outcome, result.reports).await?;
        if let Some(current) = self.current.as_mut() {
            current.limit = Some(result.clone());
        }
        Ok(result)
    }

    /// Proves (again) that the limit works: one chosen mailbox answers the app's own
    /// token, one outside mailbox is refused. Microsoft can take up to 2 hours; until then
    /// the limit stays "pending".
    pub async fn verify_mailbox_limit(&mut self) -> Result<MailboxLimitOutcome, FlowError> {
        let current = self.current.as_ref().ok_or(FlowError::NoPlan)?;
        let outcome = current.outcome.clone().ok_or(FlowError::NotApplied)?;
        let mut limit = current.limit.clone().ok_or(FlowError::NotLimited)?;
        limit.reports = self.check_limits(&outcome, limit.reports).await?;
        if let Some(current) = self.current.as_mut() {
            current.limit = Some(limit.clone());
        }
        Ok(limit)
    }

    /// Changes who is on the mailbox list of an applied limit (by Entra object id). The
    /// scope keeps its id; the status goes back to pending and is checked again at once.
    pub async fn change_mailboxes(
        &mut self,
        ids: &[String],
    ) -> Result<MailboxLimitOutcome, FlowError> {
        if ids.is_empty() {
            return Err(FlowError::NoMailboxesChosen);
        }
        self.limit_token().await?;
        let graph = self.limit_graph()?;
        let chosen = resolve(&graph, ids).await?;
        if chosen.is_empty() {
            return Err(FlowError::NoMailboxesChosen);
        }
        let current = self.current.as_ref().ok_or(FlowError::NoPlan)?;
        let outcome = current.outcome.clone().ok_or(FlowError::NotApplied)?;
        let mut limit = current.limit.clone().ok_or(FlowError::NotLimited)?;
        for report in &mut limit.reports {
            if matches!(report.state.status, ScopeStatus::HandedOff { .. }) {
                continue;
            }
            let state = change_recipients(&graph, &report.state, &chosen).await?;
            report.headline = state.headline();
            report.state = state;
            report.inside = None;
            report.outside = None;
        }
        limit.reports = self.check_limits(&outcome, limit.reports).await?;
        if let Some(current) = self.current.as_mut() {
            current.mailboxes = chosen;
            current.limit = Some(limit.clone());
        }
        Ok(limit)
    }

    /// Removes the mailbox limit: the tenant-wide grants it replaced come back first, then
    /// the Exchange assignments and scope go. The run journal forgets the limited
    /// permissions so a re-run of Apply grants them as before.
    pub async fn remove_mailbox_limit(&mut self) -> Result<(), FlowError> {
        self.limit_token().await?;
        let graph = self.limit_graph()?;
        let current = self.current.as_ref().ok_or(FlowError::NoPlan)?;
        let limit = current.limit.clone().ok_or(FlowError::NotLimited)?;
        for report in &limit.reports {
            remove_scope(&graph, &report.state, true).await?;
        }
        {
            let mut journal = current.journal.lock().unwrap_or_else(|p| p.into_inner());
            for report in &limit.reports {
                journal
                    .app_mut(&report.state.app_key)
                    .limited_permissions
                    .retain(|p| !report.state.permissions.contains(p));
            }
            journal.save()?;
        }
        if let Some(current) = self.current.as_mut() {
            current.limit = None;
            current.mailboxes = Vec::new();
            current.limit_removed = true;
        }
        Ok(())
    }

    /// After Apply: "only these people may sign in" to the recipe's apps that people sign
    /// in to (assignment required plus one assignment per chosen user or group). This
    /// limits sign-in, not mailbox access. Re-running it makes the assignments exactly the
    /// chosen set.
    pub async fn limit_sign_in(&mut self, ids: &[String]) -> Result<Vec<SignInLimit>, FlowError> {
        let current = self.current.as_ref().ok_or(FlowError::NoPlan)?;
        let outcome = current.outcome.clone().ok_or(FlowError::NotApplied)?;
        let specs: Vec<_> = current
            .recipe
            .apps
            .iter()
            .filter(|a| a.limit_sign_in)
            .cloned()
            .collect();
        if specs.is_empty() {
            return Err(FlowError::SignInNotLimitable(current.recipe.vendor.clone()));
        }
        if ids.is_empty() {
            return Err(FlowError::NoSignInPeopleChosen);
        }
        self.limit_token().await?;
        let people = resolve(&self.limit_graph()?, ids).await?;
        if people.is_empty() {
            return Err(FlowError::NoSignInPeopleChosen);
        }
        let graph = self.graph()?;
        let mut limits = Vec::new();
        for spec in &specs {
            let Some(app) = outcome.apps.iter().find(|a| a.key == spec.key) else {
                continue;
            };
            limits.push(signin::limit_sign_in(&graph, spec, app, &people).await?);
        }
        if let Some(current) = self.current.as_mut() {
            current.sign_in = limits.clone();
        }
        Ok(limits)
    }

    async fn check_limits(
        &self,
        outcome: &ApplyOutcome,
        reports: Vec<ScopeReport>,
    ) -> Result<Vec<ScopeReport>, FlowError> {
        let endpoints = self.endpoints()?.clone();
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        let admin = self.limit_graph()?;
        let secrets = self.app_credentials(&session.tenant_id, outcome).await;
        let ctx = ScopeVerifyContext {
            endpoints: &endpoints,
            tenant_id: &session.tenant_id,
            admin: &admin,
            http: self.http_client()?,
            policy: self.policy,
            propagation: MICROSOFT_PROPAGATION,
        };
        let mut out = Vec::new();
        for report in reports {
            let secret = secrets
                .iter()
                .find(|(k, _)| k == &report.state.app_key)
                .map(|(_, s)| s);
            match (&report.state.status, secret) {
                // Nothing is limited until the Exchange administrator's part is done.
                (ScopeStatus::HandedOff { .. }, _) | (_, None) => out.push(report),
                (_, Some(secret)) => out.push(verify_scope(&ctx, &report.state, secret).await?),
            }
        }
        Ok(out)
    }

    /// Reads the tenant and plans the recipe with the admin's choices. Writes nothing.
    pub async fn plan(&mut self, recipe: Recipe, choices: Choices) -> Result<Plan, FlowError> {
        let endpoints = self.endpoints()?.clone();
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        let journal = Journal::open(&self.data_dir, &session.tenant_id, &recipe.id)?;
        let the_plan = plan(
            &self.graph()?,
            &endpoints,
            &session,
            &recipe,
            &choices,
            &journal,
        )
        .await?;
        self.current = Some(Current {
            recipe,
            choices,
            plan: the_plan.clone(),
            journal: Arc::new(Mutex::new(journal)),
            outcome: None,
            report: None,
            mailboxes: Vec::new(),
            limit: None,
            sign_in: Vec::new(),
            limit_removed: false,
        });
        Ok(the_plan)
    }

    pub fn recipe(&self) -> Option<&Recipe> {
        self.current.as_ref().map(|c| &c.recipe)
    }

    /// Applies the reviewed plan. A failed or cancelled run can be repeated: it re-plans
    /// from the journal and continues without duplicates.
    pub async fn apply(
        &mut self,
        on_event: impl Fn(ApplyEvent) + Send + Sync + 'static,
        cancel: CancellationToken,
    ) -> Result<ApplyOutcome, FlowError> {
        let graph = self.graph()?;
        let current = self.current.as_mut().ok_or(FlowError::NoPlan)?;
        if let Some(done) = &current.outcome {
            return Ok(done.clone());
        }
        let ctx = ApplyContext {
            graph,
            secrets: Arc::clone(&self.secrets),
            cancel,
        };
        let result = apply(&current.plan, &current.journal, &ctx, on_event).await;
        match result {
            Ok(outcome) => {
                current.outcome = Some(outcome.clone());
                Ok(outcome)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Re-plans after a failed apply (what exists now is read again from the tenant).
    pub async fn replan(&mut self) -> Result<Plan, FlowError> {
        let current = self.current.take().ok_or(FlowError::NoPlan)?;
        self.plan(current.recipe, current.choices).await
    }

    /// Proves the result works; see [`crate::verify`].
    pub async fn verify(&mut self) -> Result<VerifyReport, FlowError> {
        let endpoints = self.endpoints()?.clone();
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        let admin = self.graph()?;
        let outcome = self
            .current
            .as_ref()
            .ok_or(FlowError::NoPlan)?
            .outcome
            .clone()
            .ok_or(FlowError::NotApplied)?;
        let credentials = self.app_credentials(&session.tenant_id, &outcome).await;
        let http = self.http_client()?;
        let current = self.current.as_mut().ok_or(FlowError::NoPlan)?;
        let ctx = VerifyContext {
            endpoints: &endpoints,
            tenant_id: &session.tenant_id,
            admin: &admin,
            http,
            policy: self.policy,
            probe_user: Some(session.user_id.clone()),
            on_wait: None,
        };
        let report =
            verify_with(&ctx, &current.recipe, &current.plan, &outcome, &credentials).await;
        current.report = Some(report.clone());
        Ok(report)
    }

    /// The Graph permission grants the tenant holds for the applied apps, with their ids, for
    /// the change record. Reading them must not stop the connection from being saved: on a
    /// failure the record says the grants were not read.
    async fn tenant_grants(&self, plan: &Plan, outcome: &ApplyOutcome) -> Vec<GrantRecord> {
        let Ok(graph) = self.graph() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for app in &outcome.apps {
            match read_grants(
                &graph,
                &plan.graph_service_principal_id,
                &app.key,
                &app.service_principal_id,
            )
            .await
            {
                Ok(grants) => out.extend(grants),
                Err(e) => {
                    tracing::warn!(app = %app.key, error = %e, "could not read the grants for the change record");
                    return Vec::new();
                }
            }
        }
        out
    }

    /// Saves the connection (metadata on disk, secrets already in the keyring).
    pub async fn finish(&mut self, vault: &Vault) -> Result<Connection, FlowError> {
        let tenant = self.tenant.clone().ok_or(FlowError::NoTenant)?;
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        let current = self.current.as_ref().ok_or(FlowError::NoPlan)?;
        let outcome = current.outcome.as_ref().ok_or(FlowError::NotApplied)?;
        let verified_at = current
            .report
            .as_ref()
            .filter(|r| r.ok())
            .map(|_| Utc::now());
        // Re-finishing the same run updates its connection instead of adding another.
        let existing = vault.list()?.into_iter().find(|c| {
            c.tenant_id == current.plan.tenant_id
                && c.recipe_id == current.recipe.id
                && c.apps
                    .iter()
                    .map(|a| &a.app_id)
                    .eq(outcome.apps.iter().map(|a| &a.app_id))
        });
        let mut connection = connection_from(
            &current.recipe,
            &current.plan,
            outcome,
            session.tenant_domain.clone(),
            tenant.practice,
            tenant.recorded_cloud(),
            verified_at,
        );
        connection.mailbox_limits = current
            .limit
            .as_ref()
            .map(|l| l.reports.iter().map(|r| r.state.clone()).collect())
            .unwrap_or_default();
        connection.sign_in_limits = current.sign_in.clone();
        connection.created_by = Some(SignedInAdmin {
            user_principal_name: session.user_principal_name.clone(),
            display_name: session.display_name.clone(),
            roles: session.roles.clone(),
        });
        connection.last_verify = current.report.as_ref().map(|r| VerifyRecord {
            at: Utc::now(),
            checks: r.checks.clone(),
        });
        connection.limit_proofs = current
            .limit
            .as_ref()
            .map(|l| l.reports.iter().map(LimitProof::from_report).collect())
            .unwrap_or_default();
        connection.grants = self.tenant_grants(&current.plan, outcome).await;
        if let Some(old) = existing {
            connection.id = old.id;
            connection.created_at = old.created_at;
            if connection.mailbox_limits.is_empty() && !current.limit_removed {
                connection.mailbox_limits = old.mailbox_limits;
            }
            if connection.sign_in_limits.is_empty() {
                connection.sign_in_limits = old.sign_in_limits;
            }
            if connection.limit_proofs.is_empty() && !current.limit_removed {
                connection.limit_proofs = old.limit_proofs;
            }
            if connection.last_verify.is_none() {
                connection.last_verify = old.last_verify;
            }
        }
        vault.save(&connection)?;
        Ok(connection)
    }
}
