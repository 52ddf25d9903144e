//! The wizard's journey as one object: choose a tenant, sign in, plan a recipe, apply,
//! verify, save the connection. The desktop shell and the CLI drive this; each of their
//! commands is one call here, so the whole journey is tested in core against the simulator.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::apply::journal::{Journal, JournalError};
use crate::apply::{apply, ApplyContext, ApplyError, ApplyEvent, ApplyOutcome};
use crate::cloud::Endpoints;
use crate::connect::connection_from;
use crate::graph::{DelegatedToken, GraphClient, RetryPolicy};
use crate::identity::{
    Access, Authenticator, BrowserOpener, DeviceCodePrompt, Session, SignInConfig, SignInError,
    TokenStore,
};
use crate::plan::{plan, Choices, Plan, PlanError};
use crate::recipe::Recipe;
use crate::secret::Secret;
use crate::vault::{Connection, Vault, VaultError};
use crate::verify::{verify, VerifyContext, VerifyReport};

/// Which tenant the journey works on.
#[derive(Debug, Clone)]
pub struct TenantChoice {
    pub endpoints: Endpoints,
    /// `organizations`, a domain or a tenant id.
    pub tenant: String,
    /// The local practice tenant.
    pub practice: bool,
    /// The sign-in client id (defaults to Microsoft Graph Command Line Tools).
    pub client_id: Option<String>,
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
    Plan(#[from] PlanError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

struct Current {
    recipe: Recipe,
    choices: Choices,
    plan: Plan,
    journal: Arc<Mutex<Journal>>,
    outcome: Option<ApplyOutcome>,
    report: Option<VerifyReport>,
}

/// One admin's journey through the wizard.
pub struct Flow {
    data_dir: PathBuf,
    secrets: Arc<dyn TokenStore>,
    policy: RetryPolicy,
    tenant: Option<TenantChoice>,
    auth: Option<Arc<Authenticator>>,
    device: Option<DeviceCodePrompt>,
    current: Option<Current>,
}

impl Flow {
    /// `data_dir` holds journals and the connections index; `secrets` is the OS keyring.
    pub fn new(data_dir: PathBuf, secrets: Arc<dyn TokenStore>) -> Self {
        Self {
            data_dir,
            secrets,
            policy: RetryPolicy::default(),
            tenant: None,
            auth: None,
            device: None,
            current: None,
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

    /// Chooses the tenant; signs out of any other one.
    pub fn use_tenant(&mut self, choice: TenantChoice) -> Result<(), FlowError> {
        let mut config = SignInConfig::new(choice.endpoints.clone());
        config.tenant = choice.tenant.clone();
        if let Some(id) = &choice.client_id {
            config.client_id = id.clone();
        }
        self.auth = Some(Arc::new(Authenticator::new(
            config,
            Arc::clone(&self.secrets),
        )?));
        self.tenant = Some(choice);
        self.device = None;
        self.current = None;
        Ok(())
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

    fn graph(&self) -> Result<GraphClient, FlowError> {
        let tenant = self.tenant.as_ref().ok_or(FlowError::NoTenant)?;
        let auth = self.auth()?;
        Ok(GraphClient::new(
            crate::identity::http_client()?,
            &tenant.endpoints.graph,
            Arc::new(DelegatedToken {
                auth,
                access: Access::Apply,
            }),
        )
        .with_policy(self.policy))
    }

    /// Reads the tenant and plans the recipe with the admin's choices. Writes nothing.
    pub async fn plan(&mut self, recipe: Recipe, choices: Choices) -> Result<Plan, FlowError> {
        let tenant = self.tenant.clone().ok_or(FlowError::NoTenant)?;
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        let journal = Journal::open(&self.data_dir, &session.tenant_id, &recipe.id)?;
        let the_plan = plan(
            &self.graph()?,
            &tenant.endpoints,
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
        let tenant = self.tenant.clone().ok_or(FlowError::NoTenant)?;
        let session = self.session().await.ok_or(FlowError::NotSignedIn)?;
        let admin = self.graph()?;
        let current = self.current.as_mut().ok_or(FlowError::NoPlan)?;
        let outcome = current.outcome.clone().ok_or(FlowError::NotApplied)?;
        let mut secrets: Vec<(String, Secret<String>)> = Vec::new();
        for app in &outcome.apps {
            let Some(info) = &app.secret else { continue };
            let store = Arc::clone(&self.secrets);
            let account = info.keyring_account.clone();
            if let Ok(Ok(Some(s))) = tokio::task::spawn_blocking(move || store.load(&account)).await
            {
                secrets.push((app.key.clone(), s));
            }
        }
        let ctx = VerifyContext {
            endpoints: &tenant.endpoints,
            tenant_id: &session.tenant_id,
            admin: &admin,
            http: crate::identity::http_client()?,
            policy: self.policy,
            probe_user: Some(session.user_id.clone()),
            on_wait: None,
        };
        let report = verify(&ctx, &current.recipe, &current.plan, &outcome, &secrets).await;
        current.report = Some(report.clone());
        Ok(report)
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
            verified_at,
        );
        if let Some(old) = existing {
            connection.id = old.id;
            connection.created_at = old.created_at;
        }
        vault.save(&connection)?;
        Ok(connection)
    }
}
