//! Admin sign-in: authorization code + PKCE through the system browser on a loopback
//! redirect (RFC 8252), device code as the fallback, and a token cache whose refresh token
//! lives in the OS keyring while access tokens stay in memory.
//!
//! PKCE and CSRF `state` come from the `oauth2` crate; the `nonce` is checked in the ID token.
//! Scopes are asked for step by step: [`Access::ReadTenant`] to look around, [`Access::Apply`]
//! (incremental consent) when the admin presses Apply.

mod chunks;
mod error;
pub mod loopback;
pub mod roles;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, StandardDeviceAuthorizationResponse, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use url::Url;

pub use error::{aadsts_code, classify, SignInCode, SignInError};
pub use roles::{Capabilities, DirectoryRole};
pub use store::{
    forget_all, KeyringStore, MemoryStore, StoreError, TokenStore, ACCOUNTS_LIST, KEYRING_SERVICE,
};

use crate::cloud::{Endpoints, TrustedCa};
use crate::secret::Secret;
use loopback::{Callback, LoopbackError, LoopbackListener};

/// "Microsoft Graph Command Line Tools": a Microsoft public client that is present in every
/// tenant of the Global and US Government clouds (not China: see `cloud.rs`), accepts
/// `http://localhost` on any port, and may ask for any Graph delegated scope. Organisations
/// that prefer their own registration set [`SignInConfig::client_id`] (README).
pub const DEFAULT_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Refresh access tokens this long before they expire.
const EXPIRY_MARGIN: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// What the next step needs from Graph. Each level asks only for what it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read the tenant: who you are, existing apps, the secret-lifetime policy.
    ReadTenant,
    /// Create and change apps, grant permissions (asked for when the admin applies).
    Apply,
    /// Limit mailbox access with Exchange RBAC for Applications: find people and groups and
    /// manage Exchange role assignments (asked for only when the admin limits mailboxes).
    LimitMailboxes,
}

impl Access {
    pub fn graph_scopes(self) -> &'static [&'static str] {
        match self {
            Self::ReadTenant => &["User.Read", "Application.Read.All", "Policy.Read.All"],
            Self::Apply => &[
                "User.Read",
                "Application.ReadWrite.All",
                "AppRoleAssignment.ReadWrite.All",
                "DelegatedPermissionGrant.ReadWrite.All",
                "Policy.Read.All",
            ],
            // A superset of `Apply`: the refresh token of this sign-in must still serve
            // Apply (a re-run after limiting) as well as the picker and Exchange.
            Self::LimitMailboxes => &[
                "User.Read",
                "User.ReadBasic.All",
                "Group.Read.All",
                "Application.ReadWrite.All",
                "AppRoleAssignment.ReadWrite.All",
                "DelegatedPermissionGrant.ReadWrite.All",
                "Policy.Read.All",
                "RoleManagement.ReadWrite.Exchange",
            ],
        }
    }
}

/// Where and as whom to sign in.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    pub endpoints: Endpoints,
    pub client_id: String,
    /// `organizations` (any work account), a tenant domain, or a tenant id.
    pub tenant: String,
    /// Pre-fills the account name on Microsoft's page.
    pub login_hint: Option<String>,
    /// How long to wait for the browser (default 5 minutes).
    pub timeout: Duration,
}

impl SignInConfig {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            tenant: "organizations".to_string(),
            login_hint: None,
            timeout: Duration::from_secs(5 * 60),
        }
    }
}

/// Opens the sign-in page. The default is the system browser; tests inject their own.
pub trait BrowserOpener: Send + Sync {
    fn open(&self, url: &Url) -> Result<(), String>;
}

/// The user's default browser, through the `open` crate.
pub struct SystemBrowser;

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        open::that_detached(url.as_str()).map_err(|e| e.to_string())
    }
}

/// Opens the page with a given program (`APPGRANT_BROWSER`), e.g. a particular browser or, in
/// end-to-end tests, a script that plays the person signing in.
pub struct CommandBrowser(pub std::path::PathBuf);

impl BrowserOpener for CommandBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        std::process::Command::new(&self.0)
            .arg(url.as_str())
            .stdin(std::process::Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.0.display()))
    }
}

/// Who signed in, where, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub tenant_id: String,
    /// The tenant's default domain, from `/organization`.
    pub tenant_domain: Option<String>,
    pub tenant_name: Option<String>,
    pub user_id: String,
    pub user_principal_name: String,
    pub display_name: Option<String>,
    /// Names of the admin's directory roles that matter here.
    pub roles: Vec<String>,
    pub capabilities: Capabilities,
    /// Whether the sign-in is saved in the OS keyring for next time.
    pub remembered: bool,
    /// Why it is not remembered, when it is not.
    pub remember_problem: Option<String>,
}

impl Session {
    /// The keyring account name for this session's refresh token.
    pub fn account(&self) -> String {
        account_name(&self.tenant_id, &self.user_id)
    }

    /// Fails with a plain message when the admin lacks what `needed` says.
    pub fn require(
        &self,
        needed: fn(&Capabilities) -> bool,
        action: &str,
    ) -> Result<(), SignInError> {
        if needed(&self.capabilities) {
            Ok(())
        } else {
            Err(SignInError::MissingRole {
                account: self.user_principal_name.clone(),
                action: action.to_string(),
            })
        }
    }
}

fn account_name(tenant_id: &str, user_id: &str) -> String {
    format!("signin/{tenant_id}/{user_id}")
}

/// What the admin must see to finish a device-code sign-in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCodePrompt {
    pub user_code: String,
    pub verification_uri: String,
    pub message: Option<String>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip)]
    details: Arc<StandardDeviceAuthorizationResponse>,
    #[serde(skip)]
    access: Option<Access>,
}

/// The extra field Microsoft returns next to the access token.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type MsTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
type MsClient = oauth2::Client<
    BasicErrorResponse,
    MsTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The claims AppGrant reads from Microsoft's tokens (for display and role checks only;
/// Graph remains the authority).
#[derive(Debug, Clone, Default, Deserialize)]
struct Claims {
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    unique_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    wids: Vec<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
}

fn decode_claims(jwt: &str) -> Result<Claims, SignInError> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| SignInError::InvalidResponse("the token is not a JWT".to_string()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| SignInError::InvalidResponse(format!("token payload: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| SignInError::InvalidResponse(format!("token claims: {e}")))
}

struct CachedToken {
    access: Access,
    token: Secret<String>,
    expires_at: DateTime<Utc>,
}

struct SignedIn {
    session: Session,
    refresh: Option<Secret<String>>,
    tokens: Vec<CachedToken>,
}

/// Signs the admin in and keeps their tokens fresh.
pub struct Authenticator {
    config: SignInConfig,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    state: tokio::sync::Mutex<Option<SignedIn>>,
}

/// An HTTP client with AppGrant's settings and the system's trusted roots only (see
/// [`http_client_for`], which every client for a chosen tenant goes through).
pub fn http_client() -> Result<reqwest::Client, SignInError> {
    build_http_client(None)
}

/// The one place AppGrant builds HTTP clients for a tenant (sign-in, Graph, verification):
/// no redirects (SSRF), a timeout on every call, and the endpoints' own CA certificate
/// trusted as a root when they have one (a standalone practice tenant over https).
pub fn http_client_for(endpoints: &Endpoints) -> Result<reqwest::Client, SignInError> {
    build_http_client(endpoints.ca.as_ref())
}

fn build_http_client(ca: Option<&TrustedCa>) -> Result<reqwest::Client, SignInError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("AppGrant/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = ca {
        let certs = reqwest::Certificate::from_pem_bundle(&ca.pem).map_err(|e| {
            SignInError::Failed(format!(
                "the CA certificate {} could not be used: {e}",
                ca.path.display()
            ))
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| network(&e))
}

/// A failed HTTP call, with its causes (e.g. "invalid peer certificate: UnknownIssuer" when
/// a custom tenant's CA file is missing), which reqwest's own message leaves out.
fn network(e: &dyn std::error::Error) -> SignInError {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    SignInError::Network(text)
}

fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    e: RequestTokenError<RE, T>,
) -> SignInError {
    match e {
        RequestTokenError::ServerResponse(body) => {
            // Microsoft's error JSON; oauth2 parsed `error` and `error_description`.
            let json = serde_json::to_value(&body).unwrap_or_default();
            let error = json
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown");
            let description = json.get("error_description").and_then(|v| v.as_str());
            classify(error, description)
        }
        RequestTokenError::Request(e) => network(&e),
        RequestTokenError::Parse(e, _) => SignInError::InvalidResponse(e.to_string()),
        // A non-2xx answer without Microsoft's error JSON (a redirect, an empty 500, a proxy
        // page): say where it came from rather than oauth2's bare "empty error response".
        RequestTokenError::Other(e) => SignInError::InvalidResponse(format!(
            "the sign-in endpoint did not answer as Microsoft does ({e}); check the sign-in address and any proxy in between"
        )),
    }
}

impl Authenticator {
    pub fn new(config: SignInConfig, store: Arc<dyn TokenStore>) -> Result<Self, SignInError> {
        Ok(Self {
            http: http_client_for(&config.endpoints)?,
            config,
            store,
            state: tokio::sync::Mutex::new(None),
        })
    }

    pub fn config(&self) -> &SignInConfig {
        &self.config
    }

    fn client(&self, tenant: &str) -> Result<MsClient, SignInError> {
        let endpoint = |leaf: &str| {
            self.config
                .endpoints
                .oauth2(tenant, leaf)
                .map_err(|e| SignInError::Failed(format!("bad sign-in address: {e}")))
        };
        Ok(
            oauth2::Client::new(ClientId::new(self.config.client_id.clone()))
                .set_auth_type(oauth2::AuthType::RequestBody)
                .set_auth_uri(AuthUrl::from_url(endpoint("authorize")?))
                .set_token_uri(TokenUrl::from_url(endpoint("token")?))
                .set_device_authorization_url(DeviceAuthorizationUrl::from_url(endpoint(
                    "devicecode",
                )?)),
        )
    }

    fn scopes(&self, access: Access) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = ["openid", "profile", "offline_access"]
            .iter()
            .map(|s| Scope::new((*s).to_string()))
            .collect();
        scopes.extend(
            access
                .graph_scopes()
                .iter()
                .map(|s| Scope::new(self.config.endpoints.scope(s))),
        );
        scopes
    }

    /// Asks Microsoft whether the chosen tenant exists, so a typo is reported here rather
    /// than as an error page in the browser that AppGrant never sees.
    async fn check_tenant(&self) -> Result<(), SignInError> {
        let tenant = self.config.tenant.as_str();
        if matches!(tenant, "organizations" | "common") {
            return Ok(());
        }
        let url = self
            .config
            .endpoints
            .login
            .join(&format!("{tenant}/v2.0/.well-known/openid-configuration"))
            .map_err(|e| SignInError::Failed(e.to_string()))?;
        let response = self.http.get(url).send().await.map_err(|e| network(&e))?;
        if response.status().is_success() {
            return Ok(());
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let error = body
            .get("error")
            .and_then(|v| v.as_str())
            .unwrap_or("invalid_request");
        let description = body.get("error_description").and_then(|v| v.as_str());
        Err(match classify(error, description) {
            e @ SignInError::WrongTenant(_) => e,
            _ => SignInError::WrongTenant(format!(
                "Microsoft does not know the organisation \"{tenant}\"."
            )),
        })
    }

    /// The browser flow: opens Microsoft's sign-in page and waits for the loopback callback.
    pub async fn sign_in_with_browser(
        &self,
        opener: &dyn BrowserOpener,
        access: Access,
        cancel: &CancellationToken,
    ) -> Result<Session, SignInError> {
        self.check_tenant().await?;
        let listener = LoopbackListener::bind()
            .await
            .map_err(|e| SignInError::Failed(e.to_string()))?;
        let redirect = RedirectUrl::new(listener.redirect_uri())
            .map_err(|e| SignInError::Failed(e.to_string()))?;
        let client = self.client(&self.config.tenant)?.set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes(access))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.secret())
            .add_extra_param("prompt", "select_account");
        if let Some(hint) = &self.config.login_hint {
            request = request.add_extra_param("login_hint", hint);
        }
        let (url, state) = request.url();
        tracing::info!(tenant = %self.config.tenant, "opening the browser for sign-in");
        opener.open(&url).map_err(SignInError::BrowserUnavailable)?;

        let callback = listener
            .wait(state.secret(), self.config.timeout, cancel)
            .await
            .map_err(|e| match e {
                LoopbackError::Cancelled => SignInError::Cancelled,
                LoopbackError::TimedOut(t) => SignInError::TimedOut {
                    minutes: t.as_secs().div_ceil(60),
                },
                LoopbackError::Io(e) => SignInError::Failed(e.to_string()),
            })?;
        let code = match callback {
            Callback::Code(code) => code,
            Callback::Error { error, description } => {
                return Err(classify(&error, description.as_deref()))
            }
        };
        let response = client
            .exchange_code(AuthorizationCode::new(code.into_inner()))
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        self.finish(response, access, Some(nonce.secret())).await
    }

    /// Starts a device-code sign-in; show the returned code and address to the admin, then
    /// call [`Authenticator::complete_device_code`].
    pub async fn start_device_code(&self, access: Access) -> Result<DeviceCodePrompt, SignInError> {
        self.check_tenant().await?;
        let client = self.client(&self.config.tenant)?;
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(self.scopes(access))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let expires_at = Utc::now()
            + chrono::TimeDelta::from_std(details.expires_in())
                .unwrap_or(chrono::TimeDelta::minutes(15));
        Ok(DeviceCodePrompt {
            user_code: details.user_code().secret().clone(),
            verification_uri: details.verification_uri().to_string(),
            message: None,
            expires_at,
            details: Arc::new(details),
            access: Some(access),
        })
    }

    /// Polls until the admin finishes the device-code sign-in. `sleep` waits between polls
    /// (tests pass a fast one); polling honours `interval` and `slow_down`.
    pub async fn complete_device_code<S, F>(
        &self,
        prompt: &DeviceCodePrompt,
        sleep: S,
        cancel: &CancellationToken,
    ) -> Result<Session, SignInError>
    where
        S: Fn(Duration) -> F,
        F: std::future::Future<Output = ()>,
    {
        let client = self.client(&self.config.tenant)?;
        let access = prompt.access.unwrap_or(Access::ReadTenant);
        let poll = client
            .exchange_device_access_token(&prompt.details)
            .request_async(&self.http, sleep, None);
        let response = tokio::select! {
            r = poll => r.map_err(|e| match e {
                RequestTokenError::ServerResponse(body) => {
                    let json = serde_json::to_value(&body).unwrap_or_default();
                    let error = json.get("error").and_then(|v| v.as_str()).unwrap_or("unknown");
                    let description = json.get("error_description").and_then(|v| v.as_str());
                    match (error, description.and_then(aadsts_code)) {
                        // In this flow a Conditional Access block means "not with a device code".
                        (_, Some(53003)) => SignInError::DeviceCodeBlocked,
                        _ => classify(error, description),
                    }
                }
                other => token_error(other),
            })?,
            () = cancel.cancelled() => return Err(SignInError::Cancelled),
        };
        self.finish(response, access, None).await
    }

    /// Turns a token response into a session: checks the ID token, reads the tenant and the
    /// admin's roles, keeps the access token in memory and the refresh token in the keyring.
    async fn finish(
        &self,
        response: MsTokenResponse,
        access: Access,
        expected_nonce: Option<&String>,
    ) -> Result<Session, SignInError> {
        if let (Some(nonce), Some(id_token)) =
            (expected_nonce, response.extra_fields().id_token.as_deref())
        {
            let id = decode_claims(id_token)?;
            if id.nonce.as_deref() != Some(nonce.as_str()) {
                return Err(SignInError::InvalidResponse(
                    "the ID token does not match this sign-in (nonce)".to_string(),
                ));
            }
            let aud_ok = match &id.aud {
                Some(serde_json::Value::String(a)) => a == &self.config.client_id,
                Some(serde_json::Value::Array(list)) => list
                    .iter()
                    .any(|a| a.as_str() == Some(&self.config.client_id)),
                _ => false,
            };
            if !aud_ok {
                return Err(SignInError::InvalidResponse(
                    "the ID token was issued to another app".to_string(),
                ));
            }
        }
        let access_token = Secret::new(response.access_token().secret().clone());
        let claims = decode_claims(access_token.expose())?;
        let tenant_id = claims
            .tid
            .clone()
            .ok_or_else(|| SignInError::InvalidResponse("the token names no tenant".to_string()))?;
        if is_guid(&self.config.tenant) && !self.config.tenant.eq_ignore_ascii_case(&tenant_id) {
            return Err(SignInError::WrongTenant(format!(
                "You signed in to tenant {tenant_id}, not {} as chosen.",
                self.config.tenant
            )));
        }
        let org = self.organization(&access_token).await?;
        if !is_guid(&self.config.tenant)
            && !matches!(self.config.tenant.as_str(), "organizations" | "common")
            && !org
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&self.config.tenant))
        {
            return Err(SignInError::WrongTenant(format!(
                "That account belongs to {}, not {}.",
                org.name.clone().unwrap_or_else(|| tenant_id.clone()),
                self.config.tenant
            )));
        }
        let (roles, capabilities) = roles::from_wids(&claims.wids);
        let user_id = claims.oid.clone().unwrap_or_default();
        let mut session = Session {
            tenant_id,
            tenant_domain: org.default_domain,
            tenant_name: org.name,
            user_id,
            user_principal_name: claims
                .upn
                .or(claims.preferred_username)
                .or(claims.unique_name)
                .unwrap_or_default(),
            display_name: claims.name,
            roles: roles.into_iter().map(|r| r.display_name).collect(),
            capabilities,
            remembered: false,
            remember_problem: None,
        };
        let refresh = response
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()));
        if let Some(refresh) = &refresh {
            match self.save_refresh(&session.account(), refresh).await {
                Ok(()) => session.remembered = true,
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in will not be remembered");
                    session.remember_problem = Some(format!(
                        "AppGrant could not save your sign-in in the system credential store, so you will have to sign in again next time ({e})."
                    ));
                }
            }
        }
        let expires_at = expiry(response.expires_in());
        *self.state.lock().await = Some(SignedIn {
            session: session.clone(),
            refresh,
            tokens: vec![CachedToken {
                access,
                token: access_token,
                expires_at,
            }],
        });
        tracing::info!(tenant = %session.tenant_id, roles = ?session.roles, "signed in");
        Ok(session)
    }

    async fn save_refresh(
        &self,
        account: &str,
        refresh: &Secret<String>,
    ) -> Result<(), StoreError> {
        let store = Arc::clone(&self.store);
        let account = account.to_string();
        let refresh = refresh.clone();
        tokio::task::spawn_blocking(move || store.save(&account, &refresh))
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))?
    }

    /// The current session, if signed in.
    pub async fn session(&self) -> Option<Session> {
        self.state.lock().await.as_ref().map(|s| s.session.clone())
    }

    /// A valid access token for `access`, refreshed silently when it is about to expire.
    /// Asking for [`Access::Apply`] after signing in with [`Access::ReadTenant`] uses the
    /// refresh token (incremental consent); if Microsoft wants consent first this fails with
    /// [`SignInError::AdminConsentRequired`] and the browser flow must run with `Apply`.
    pub async fn access_token(&self, access: Access) -> Result<Secret<String>, SignInError> {
        let mut guard = self.state.lock().await;
        let signed = guard.as_mut().ok_or(SignInError::SignInExpired)?;
        let now = Utc::now();
        if let Some(t) = signed
            .tokens
            .iter()
            .find(|t| t.access == access && t.expires_at - EXPIRY_MARGIN > now)
        {
            return Ok(t.token.clone());
        }
        let refresh = signed.refresh.clone().ok_or(SignInError::SignInExpired)?;
        let tenant = signed.session.tenant_id.clone();
        let (token, new_refresh, expires_at) =
            self.redeem_refresh_in(&tenant, &refresh, access).await?;
        if let Some(new_refresh) = new_refresh {
            if let Err(e) = self
                .save_refresh(&signed.session.account(), &new_refresh)
                .await
            {
                tracing::warn!(error = %e, "could not update the saved sign-in");
            }
            signed.refresh = Some(new_refresh);
        }
        signed.tokens.retain(|t| t.access != access);
        signed.tokens.push(CachedToken {
            access,
            token: token.clone(),
            expires_at,
        });
        Ok(token)
    }

    async fn redeem_refresh_in(
        &self,
        tenant: &str,
        refresh: &Secret<String>,
        access: Access,
    ) -> Result<(Secret<String>, Option<Secret<String>>, DateTime<Utc>), SignInError> {
        let response = self
            .client(tenant)?
            .exchange_refresh_token(&RefreshToken::new(refresh.expose().clone()))
            .add_scopes(self.scopes(access))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok((
            Secret::new(response.access_token().secret().clone()),
            response
                .refresh_token()
                .map(|r| Secret::new(r.secret().clone())),
            expiry(response.expires_in()),
        ))
    }

    /// Signs in silently with a refresh token saved by an earlier run, if there is one.
    pub async fn restore(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Option<Session>, SignInError> {
        let account = account_name(tenant_id, user_id);
        let store = Arc::clone(&self.store);
        let lookup = account.clone();
        let saved = tokio::task::spawn_blocking(move || store.load(&lookup))
            .await
            .map_err(|e| SignInError::Failed(e.to_string()))?;
        let refresh = match saved {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "saved sign-in unavailable");
                return Ok(None);
            }
        };
        let response = self
            .client(tenant_id)?
            .exchange_refresh_token(&RefreshToken::new(refresh.expose().clone()))
            .add_scopes(self.scopes(Access::ReadTenant))
            .request_async(&self.http)
            .await;
        match response {
            Ok(response) => self
                .finish(response, Access::ReadTenant, None)
                .await
                .map(Some),
            Err(e) => {
                let e = token_error(e);
                if e.code() == SignInCode::SignInExpired {
                    // The saved sign-in is no good any more: forget it.
                    let store = Arc::clone(&self.store);
                    let _ = tokio::task::spawn_blocking(move || store.delete(&account)).await;
                }
                Err(e)
            }
        }
    }

    /// Forgets the sign-in: removes the keyring entry and drops every token in memory.
    pub async fn sign_out(&self) -> Result<(), SignInError> {
        let signed = self.state.lock().await.take();
        if let Some(signed) = signed {
            let store = Arc::clone(&self.store);
            let account = signed.session.account();
            tokio::task::spawn_blocking(move || store.delete(&account))
                .await
                .map_err(|e| SignInError::Failed(e.to_string()))?
                .map_err(|e| SignInError::Failed(e.to_string()))?;
        }
        Ok(())
    }

    async fn organization(&self, token: &Secret<String>) -> Result<Organization, SignInError> {
        let url = self
            .config
            .endpoints
            .graph_v1("organization?$select=id,displayName,verifiedDomains")
            .map_err(|e| SignInError::Failed(e.to_string()))?;
        let response = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| network(&e))?;
        if !response.status().is_success() {
            return Err(SignInError::Failed(format!(
                "reading your organisation failed (HTTP {})",
                response.status().as_u16()
            )));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| SignInError::InvalidResponse(e.to_string()))?;
        let org = body
            .get("value")
            .and_then(|v| v.get(0))
            .cloned()
            .unwrap_or_default();
        let domains: Vec<(String, bool)> = org
            .get("verifiedDomains")
            .and_then(|d| d.as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|d| {
                        Some((
                            d.get("name")?.as_str()?.to_string(),
                            d.get("isDefault")
                                .and_then(|v| v.as_bool())
                                .unwrap_or(false),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Organization {
            name: org
                .get("displayName")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            default_domain: domains
                .iter()
                .find(|(_, default)| *default)
                .or(domains.first())
                .map(|(n, _)| n.clone()),
            domains: domains.into_iter().map(|(n, _)| n).collect(),
        })
    }
}

struct Organization {
    name: Option<String>,
    default_domain: Option<String>,
    domains: Vec<String>,
}

fn expiry(expires_in: Option<Duration>) -> DateTime<Utc> {
    Utc::now()
        + expires_in
            .and_then(|d| chrono::TimeDelta::from_std(d).ok())
            .unwrap_or(chrono::TimeDelta::minutes(60))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("62e90394-69f5-4237-9190-012177145e10"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
        assert!(!is_guid("organizations"));
    }

    #[test]
    fn apply_asks_for_more_than_reading() {
        let read = Access::ReadTenant.graph_scopes();
        let apply = Access::Apply.graph_scopes();
        assert!(
            !read.iter().any(|s| s.contains("ReadWrite")),
            "reading asks for no write scope"
        );
        assert!(apply.contains(&"AppRoleAssignment.ReadWrite.All"));
    }

    #[test]
    fn claims_decode_from_a_jwt_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"tid":"t","oid":"o","upn":"a@b","wids":["x"]}"#);
        let claims = decode_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims.tid.as_deref(), Some("t"));
        assert_eq!(claims.wids, ["x"]);
        assert!(decode_claims("nonsense").is_err());
    }
}
