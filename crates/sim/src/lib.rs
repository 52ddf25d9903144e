//! appgrant-sim: a local Microsoft tenant ("Contoso Practice") over real HTTP on 127.0.0.1.
//!
//! It answers like the Microsoft identity platform (discovery, JWKS, `/authorize` with HTML
//! sign-in and consent pages, `/token`, `/devicecode`, admin consent) and like the slice of
//! Microsoft Graph that AppGrant uses (`/v1.0/...`, `/beta/roleManagement/exchange/...`), with
//! Microsoft's error shapes, authorization rules, replication lag, throttling and faults
//! controlled by knobs. It is an independent oracle written from Microsoft's documented
//! behaviour: it shares no code with `appgrant-core`.
//!
//! Paths on the one loopback port (they do not collide):
//! - login: `{base}/{tenant}/oauth2/v2.0/{authorize,token,devicecode}`,
//!   `{base}/{tenant}/v2.0/.well-known/openid-configuration`, `{base}/{tenant}/discovery/v2.0/keys`,
//!   `{base}/{tenant}/v2.0/adminconsent`, `{base}/devicelogin`, `{base}/_login/*` (form posts)
//! - Graph: `{base}/v1.0/...` and `{base}/beta/...`
//! - control: `{base}/_sim/...`
//!
//! With `SimConfig::state_file` the tenant's objects survive restarts (see `persist`).
//!
//! `{base}` is `http://127.0.0.1:{port}`, or `https://` in TLS mode (`SimConfig::tls`). Every
//! link the simulator hands out is built from the scheme + `Host` the client used, so a
//! client that reached it as `https://localhost:{port}` is sent to `https://localhost:{port}`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), appgrant_sim::SimError> {
//! let sim = appgrant_sim::Sim::start(appgrant_sim::SimConfig::default()).await?;
//! let login = sim.login_base(); // like https://login.microsoftonline.com
//! let graph = sim.graph_base(); // like https://graph.microsoft.com (append /v1.0)
//! sim.update_knobs(|k| k.replication.app_to_sp_ms = 1000);
//! # Ok(()) }
//! ```

pub mod assertion;
pub mod certs;
pub mod config;
pub mod control;
pub mod data;
mod data_file;
pub mod error;
pub mod graph;
pub mod identity;
pub mod jwt;
pub mod model;
pub mod odata;
pub mod persist;
pub mod seed;
pub mod seed_apps;
pub mod state;
pub mod tls;

pub use config::{Faults, Knobs, Replication, SimConfig, Throttle};
pub use data::PUBLIC_CLIENT_ID;
pub use seed::{SeededUser, TENANT_DOMAIN, TENANT_ID};
pub use state::{Counters, LoggedRequest, SimState};

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    State(#[from] persist::PersistError),
    #[error("could not write the CA certificate to {path}: {source}")]
    CertOut {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn login_template(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.first() {
        Some(&"_login") | Some(&"devicelogin") | None => path.to_string(),
        Some(_) => format!("/{{tenant}}/{}", segs[1..].join("/")),
    }
}

/// Answers the request with links based on the scheme + host the client used.
async fn request_base(State(state): State<SimState>, req: Request, next: Next) -> Response {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        });
    let base = state.base_for_host(host.as_deref());
    state::with_request_base(base, next.run(req)).await
}

/// With a state file: saves the tenant after every successful write (not after token
/// requests, which change nothing that is kept).
async fn save_after_write(State(state): State<SimState>, req: Request, next: Next) -> Response {
    let write = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let path = req.uri().path();
    let token_call =
        path.ends_with("/oauth2/v2.0/token") || path.ends_with("/oauth2/v2.0/devicecode");
    let resp = next.run(req).await;
    if write && !token_call && resp.status().as_u16() < 400 && state.config().state_file.is_some() {
        state.persist();
    }
    resp
}

async fn track(State(state): State<SimState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim") {
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let latency = state.knobs().latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let resp = next.run(req).await;
    let template = resp
        .extensions()
        .get::<graph::RouteTemplate>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| login_template(&path));
    let rid = resp
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    state.record(
        &method,
        &pq,
        &template,
        resp.status().as_u16(),
        started.elapsed(),
        &rid,
    );
    resp
}

/// The whole simulator as an axum router (identity platform, Graph, `/_sim`).
pub fn router(state: SimState) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(identity::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(identity::jwks))
        .route("/{tenant}/discovery/keys", get(identity::jwks))
        .route("/{tenant}/oauth2/v2.0/authorize", get(identity::authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(identity::token))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(identity::device_code),
        )
        .route("/{tenant}/v2.0/adminconsent", get(identity::admin_consent))
        .route("/{tenant}/adminconsent", get(identity::admin_consent))
        .route("/_login/signin", post(identity::sign_in))
        .route("/_login/consent", post(identity::consent))
        .route(
            "/devicelogin",
            get(identity::device_login_page).post(identity::device_login_submit),
        )
        .route("/v1.0", any(graph::handle_v1))
        .route("/v1.0/{*rest}", any(graph::handle_v1))
        .route("/beta", any(graph::handle_beta))
        .route("/beta/{*rest}", any(graph::handle_beta))
        .merge(control::routes())
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            save_after_write,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), request_base))
        .with_state(state)
}

/// A running simulator. Shuts down when dropped or on `shutdown()`.
pub struct Sim {
    state: SimState,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    ca_pem: Option<String>,
    cert_path: Option<std::path::PathBuf>,
}

/// Serves `app` on `listener` until `stop` fires.
fn spawn_server<L>(
    listener: L,
    app: Router,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!("simulator server stopped: {e}");
        }
    })
}

/// Writes the CA certificate where TLS mode promised it (`cert_out` or the temp dir).
fn write_ca_pem(
    pem: &str,
    cert_out: Option<&std::path::Path>,
    port: u16,
) -> Result<std::path::PathBuf, SimError> {
    let path = cert_out
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("appgrant-sim-{port}-ca.pem")));
    std::fs::write(&path, pem).map_err(|source| SimError::CertOut {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

impl Sim {
    /// Binds 127.0.0.1:`config.port` (0 = any free port) and serves in the background:
    /// plain http, or https with a freshly generated certificate when `config.tls`.
    pub async fn start(config: SimConfig) -> Result<Sim, SimError> {
        let port = config.port;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| SimError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { port, source })?;
        let tls_material = if config.tls {
            Some(tls::generate()?)
        } else {
            None
        };
        let scheme = if config.tls { "https" } else { "http" };
        let base = format!("{scheme}://127.0.0.1:{}", addr.port());
        let cert_out = config.cert_out.clone();
        let state_file = config.state_file.clone();
        let state = SimState::new(config, &base);
        state.set_base_url(&base);
        if let Some(path) = &state_file {
            persist::load(&state, path)?;
        }
        let app = router(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (task, ca_pem, cert_path) = match tls_material {
            None => (spawn_server(listener, app, rx), None, None),
            Some(m) => {
                let path = write_ca_pem(&m.ca_pem, cert_out.as_deref(), addr.port())?;
                let tls_listener = tls::TlsListener::new(listener, m.server_config)
                    .map_err(|source| SimError::Bind { port, source })?;
                (
                    spawn_server(tls_listener, app, rx),
                    Some(m.ca_pem),
                    Some(path),
                )
            }
        };
        Ok(Sim {
            state,
            addr,
            stop: Some(tx),
            task: Some(task),
            ca_pem,
            cert_path,
        })
    }

    /// `http://127.0.0.1:{port}` (`https://` in TLS mode).
    pub fn base_url(&self) -> String {
        self.state.listen_base()
    }

    /// TLS mode: PEM of the CA certificate that signed the server's certificate (trust this
    /// one, and only this one, in clients). `None` for plain http.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// TLS mode: the file the CA certificate was written to (`SimConfig::cert_out`, or
    /// `appgrant-sim-{port}-ca.pem` in the temp directory). `None` for plain http.
    pub fn cert_path(&self) -> Option<&std::path::Path> {
        self.cert_path.as_deref()
    }

    /// Login authority host (stands in for `https://login.microsoftonline.com`).
    pub fn login_base(&self) -> String {
        self.base_url()
    }

    /// Graph host (stands in for `https://graph.microsoft.com`; append `/v1.0` or `/beta`).
    pub fn graph_base(&self) -> String {
        self.base_url()
    }

    /// `{base}/v1.0`.
    pub fn graph_v1(&self) -> String {
        format!("{}/v1.0", self.base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Tenant id (GUID).
    pub fn tenant_id(&self) -> String {
        seed::TENANT_ID.to_string()
    }

    /// Tenant's initial domain.
    pub fn tenant_domain(&self) -> String {
        seed::TENANT_DOMAIN.to_string()
    }

    /// First-party public client id accepted without registration (any loopback port).
    pub fn public_client_id(&self) -> &'static str {
        data::PUBLIC_CLIENT_ID
    }

    /// A Global Administrator's UPN.
    pub fn admin_upn(&self) -> String {
        format!("avery.admin@{}", seed::TENANT_DOMAIN)
    }

    /// A user with no admin role (has a mailbox).
    pub fn non_admin_upn(&self) -> String {
        format!("robin.user@{}", seed::TENANT_DOMAIN)
    }

    /// UPN of the seeded holder of a role template id (see `data::roles`).
    pub fn upn_with_role(&self, template_id: &str) -> Option<String> {
        self.users()
            .into_iter()
            .find(|u| u.role_template_ids.iter().any(|r| r == template_id))
            .map(|u| u.user_principal_name)
    }

    /// The seeded users with their roles.
    pub fn users(&self) -> Vec<SeededUser> {
        seed::seeded_user_list(&self.state.tenant())
    }

    /// Shared state (knobs, counters, tenant).
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Current knobs.
    pub fn knobs(&self) -> Knobs {
        self.state.knobs()
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        self.state.set_knobs(knobs)
    }

    /// Edits the knobs in place.
    pub fn update_knobs(&self, f: impl FnOnce(&mut Knobs)) {
        self.state.update_knobs(f)
    }

    /// Counters snapshot.
    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    /// Request log (redacted).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.state.request_log()
    }

    /// The next `count` Graph requests fail with `status`.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state.fail_next(count, status)
    }

    /// Approves a device code for `upn` (consenting as needed).
    pub fn approve_device_code(&self, user_code: &str, upn: &str) -> Result<(), String> {
        identity::approve_device_code(&self.state, user_code, upn, true)?;
        self.state.persist();
        Ok(())
    }

    /// Declines a device code.
    pub fn decline_device_code(&self, user_code: &str, upn: &str) -> Result<(), String> {
        identity::approve_device_code(&self.state, user_code, upn, false)
    }

    /// Revokes all refresh tokens issued so far (AADSTS700082 on next use).
    pub fn revoke_refresh_tokens(&self) {
        self.state.revoke_refresh_tokens()
    }

    /// An app's client secrets (`keyId`, `displayName`, `startDateTime`, `endDateTime`,
    /// `hint`; never the value), as `GET /_sim/apps/{appId}/secrets` lists them.
    pub fn app_secrets(&self, app_id: &str) -> Result<Vec<serde_json::Value>, String> {
        control::app_secrets(&self.state, app_id)
    }

    /// Sets a secret's expiry (in the past: expired), as
    /// `POST /_sim/apps/{appId}/secrets/{keyId}/expire` does.
    pub fn set_secret_end(
        &self,
        app_id: &str,
        key_id: &str,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), String> {
        control::set_secret_end(&self.state, app_id, key_id, end)?;
        self.state.persist();
        Ok(())
    }

    /// An app's certificates (`keyId`, `displayName`, `thumbprint`, `thumbprintSha256`,
    /// `startDateTime`, `endDateTime`, `hasKey`), as `GET /_sim/apps/{appId}/certificates`
    /// lists them.
    pub fn app_certificates(&self, app_id: &str) -> Result<Vec<serde_json::Value>, String> {
        control::app_certificates(&self.state, app_id)
    }

    /// Sets a certificate credential's expiry (in the past: expired), as
    /// `POST /_sim/apps/{appId}/certificates/{keyId}/expire` does.
    pub fn set_certificate_end(
        &self,
        app_id: &str,
        key_id: &str,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), String> {
        control::set_certificate_end(&self.state, app_id, key_id, end)?;
        self.state.persist();
        Ok(())
    }

    /// Deletes an app and its enterprise app behind the client's back
    /// (`DELETE /_sim/apps/{appId}`).
    pub fn delete_app(&self, app_id: &str) -> Result<(), String> {
        control::delete_app(&self.state, app_id)?;
        self.state.persist();
        Ok(())
    }

    /// Puts back the app registrations made by hand from the vendors' guides that the tenant
    /// no longer holds (`POST /_sim/hand-made-apps`); returns their names.
    pub fn add_hand_made_apps(&self) -> Vec<&'static str> {
        let added = seed_apps::add_hand_made(&mut self.state.tenant());
        self.state.persist();
        added
    }

    /// Re-seeds the tenant and resets knobs, counters and log (and the state file, if any).
    pub fn reset(&self) {
        self.state.reset();
        self.state.persist();
    }

    /// The state file the tenant is kept in (`SimConfig::state_file`), if any.
    pub fn state_file(&self) -> Option<&std::path::Path> {
        self.state.config().state_file.as_deref()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn app() -> Router {
        router(SimState::new(SimConfig::default(), "http://127.0.0.1:1"))
    }

    async fn get(uri: &str) -> (StatusCode, serde_json::Value) {
        let resp = app()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn discovery_for_tenant_id_domain_and_aliases() {
        for t in [TENANT_ID, TENANT_DOMAIN, "organizations", "common"] {
            let (s, v) = get(&format!("/{t}/v2.0/.well-known/openid-configuration")).await;
            assert_eq!(s, StatusCode::OK, "{t}");
            assert!(v["token_endpoint"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:1/"));
        }
        let (s, v) = get("/contoso.example/v2.0/.well-known/openid-configuration").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["error_codes"][0], 90002);
        let (s, v) = get(&format!("/{TENANT_ID}/discovery/v2.0/keys")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["keys"][0]["kid"], jwt::KID);
    }

    #[tokio::test]
    async fn graph_without_token_is_401_and_unknown_segment_is_400() {
        let (s, v) = get("/v1.0/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
        let (s, _) = get("/_sim/users").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            login_template("/abc/oauth2/v2.0/token"),
            "/{tenant}/oauth2/v2.0/token"
        );
    }
}
