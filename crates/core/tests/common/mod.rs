//! Shared helpers for tests against the practice tenant: start a simulator, point the
//! client at it, and play the person in front of the browser.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use appgrant_core::cloud::{Cloud, Endpoints};
use appgrant_core::graph::{DelegatedToken, GraphClient, RetryPolicy};
use appgrant_core::identity::{
    Access, Authenticator, BrowserOpener, MemoryStore, SignInConfig, TokenStore,
};
use appgrant_core::secret::Secret;
use appgrant_sim::{Knobs, Sim, SimConfig};
use tokio_util::sync::CancellationToken;
use url::Url;

pub async fn sim_with(knobs: Knobs) -> Sim {
    Sim::start(SimConfig {
        knobs,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The simulator as custom endpoints.
pub fn cloud(sim: &Sim) -> Cloud {
    Cloud::custom(sim.login_base(), sim.graph_base())
}

pub fn endpoints(sim: &Sim) -> Endpoints {
    cloud(sim).endpoints().expect("sim URLs are valid")
}

pub fn authenticator(sim: &Sim, store: Arc<dyn TokenStore>) -> Authenticator {
    let mut config = SignInConfig::new(endpoints(sim));
    config.client_id = sim.public_client_id().to_string();
    config.timeout = Duration::from_secs(20);
    Authenticator::new(config, store).expect("authenticator")
}

#[derive(Clone, Copy, PartialEq)]
pub enum Decision {
    Accept,
    Decline,
}

/// Plays the person in front of the browser: signs in as `upn` and answers the consent page.
pub struct FormBrowser {
    pub upn: String,
    pub decision: Decision,
    /// HTTP status the loopback listener answered with, once the redirect was followed.
    pub landed: Arc<Mutex<Option<u16>>>,
}

impl FormBrowser {
    pub fn new(upn: &str, decision: Decision) -> Self {
        Self {
            upn: upn.to_string(),
            decision,
            landed: Arc::new(Mutex::new(None)),
        }
    }
}

fn hidden_flow(html: &str) -> Option<String> {
    let at = html.find("name=\"flow\" value=\"")? + "name=\"flow\" value=\"".len();
    Some(html[at..].split('"').next()?.to_string())
}

async fn drive(url: Url, upn: String, decision: Decision) -> Result<u16, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let base = format!(
        "{}://{}",
        url.scheme(),
        url.host_str().unwrap_or("127.0.0.1")
    ) + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let page = http.get(url).send().await.map_err(|e| e.to_string())?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    let flow = hidden_flow(&html).ok_or_else(|| format!("no sign-in form: {html}"))?;
    let mut response = http
        .post(format!("{base}/_login/signin"))
        .form(&[
            ("flow", flow.as_str()),
            ("username", upn.as_str()),
            ("password", ""),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    // Consent (or "need admin approval") pages come back as 200 with a form.
    while response.status().as_u16() == 200 {
        let html = response.text().await.map_err(|e| e.to_string())?;
        let flow = hidden_flow(&html).ok_or_else(|| format!("stuck on a page: {html}"))?;
        let choice = if decision == Decision::Accept && html.contains("value=\"accept\"") {
            "accept"
        } else {
            "decline"
        };
        response = http
            .post(format!("{base}/_login/consent"))
            .form(&[
                ("flow", flow.as_str()),
                ("decision", choice),
                ("consent_org", "on"),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("expected a redirect, got {}", response.status()))?
        .to_string();
    let landed = http.get(location).send().await.map_err(|e| e.to_string())?;
    Ok(landed.status().as_u16())
}

impl BrowserOpener for FormBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        let (url, upn, decision, landed) = (
            url.clone(),
            self.upn.clone(),
            self.decision,
            Arc::clone(&self.landed),
        );
        tokio::spawn(async move {
            match drive(url, upn, decision).await {
                Ok(status) => *landed.lock().unwrap() = Some(status),
                Err(e) => eprintln!("test browser: {e}"),
            }
        });
        Ok(())
    }
}

/// A browser that never comes back.
pub struct SilentBrowser;
impl BrowserOpener for SilentBrowser {
    fn open(&self, _: &Url) -> Result<(), String> {
        Ok(())
    }
}

pub struct BrokenBrowser;
impl BrowserOpener for BrokenBrowser {
    fn open(&self, _: &Url) -> Result<(), String> {
        Err("no browser installed".to_string())
    }
}

/// Signs `upn` in through the browser flow, answering the consent page with `decision`.
pub async fn browser_sign_in(
    auth: &Authenticator,
    upn: &str,
    decision: Decision,
    access: Access,
) -> Result<appgrant_core::identity::Session, appgrant_core::identity::SignInError> {
    auth.sign_in_with_browser(
        &FormBrowser::new(upn, decision),
        access,
        &CancellationToken::new(),
    )
    .await
}

/// Signs the simulator's Global Administrator in with write access.
pub async fn admin_session(sim: &Sim) -> (Arc<Authenticator>, appgrant_core::identity::Session) {
    signed_in_as(sim, &sim.admin_upn()).await
}

pub async fn signed_in_as(
    sim: &Sim,
    upn: &str,
) -> (Arc<Authenticator>, appgrant_core::identity::Session) {
    let auth = Arc::new(authenticator(sim, Arc::new(MemoryStore::new())));
    let session = auth
        .sign_in_with_browser(
            &FormBrowser::new(upn, Decision::Accept),
            Access::Apply,
            &CancellationToken::new(),
        )
        .await
        .expect("signs in with write access");
    (auth, session)
}

/// A token source that "dies" after a number of requests: every later Graph call fails, as
/// if the process had been killed just before it.
struct DyingToken {
    inner: Arc<dyn appgrant_core::graph::TokenSource>,
    remaining: AtomicUsize,
}

impl appgrant_core::graph::TokenSource for DyingToken {
    fn token(
        &self,
    ) -> appgrant_core::graph::BoxFuture<'_, Result<Secret<String>, appgrant_core::graph::GraphError>>
    {
        let alive = self
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Box::pin(async move {
            if alive {
                self.inner.token().await
            } else {
                Err(appgrant_core::graph::GraphError::Cancelled)
            }
        })
    }
}

/// A Graph client on `sim`, signed in through `auth` for applying, with fast retries.
pub fn apply_graph(sim: &Sim, auth: &Arc<Authenticator>) -> GraphClient {
    graph_with_token(sim, apply_token(auth))
}

/// `apply_graph` whose every call after the first `dies_after` fails, as if the process had
/// been killed just before it.
pub fn dying_graph(sim: &Sim, auth: &Arc<Authenticator>, dies_after: usize) -> GraphClient {
    graph_with_token(
        sim,
        Arc::new(DyingToken {
            inner: apply_token(auth),
            remaining: AtomicUsize::new(dies_after),
        }),
    )
}

fn apply_token(auth: &Arc<Authenticator>) -> Arc<dyn appgrant_core::graph::TokenSource> {
    Arc::new(DelegatedToken {
        auth: Arc::clone(auth),
        access: Access::Apply,
    })
}

fn graph_with_token(sim: &Sim, token: Arc<dyn appgrant_core::graph::TokenSource>) -> GraphClient {
    GraphClient::new(
        appgrant_core::identity::http_client().unwrap(),
        &endpoints(sim).graph,
        token,
    )
    .with_policy(RetryPolicy::fast())
}
