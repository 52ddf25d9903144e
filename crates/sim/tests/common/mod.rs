//! Helpers shared by the integration tests: start a simulator, sign a user in through the
//! HTML pages with PKCE (no redirect following), call Graph, decode token claims.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod certs;

use appgrant_sim::{Sim, SimConfig};
use base64::Engine;
use reqwest::redirect::Policy;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const ADMIN_SCOPES: &str = "openid profile offline_access https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All https://graph.microsoft.com/User.Read https://graph.microsoft.com/Policy.Read.All https://graph.microsoft.com/RoleManagement.ReadWrite.Exchange https://graph.microsoft.com/User.ReadBasic.All https://graph.microsoft.com/Group.Read.All";

pub async fn start() -> Sim {
    Sim::start(SimConfig::default()).await.unwrap()
}

pub fn http() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// A client for `sim`: in TLS mode it trusts the simulator's generated CA and nothing else.
pub fn client_for(sim: &Sim) -> Client {
    let b = Client::builder().redirect(Policy::none());
    match sim.ca_pem() {
        Some(pem) => b
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()),
        None => b,
    }
    .build()
    .unwrap()
}

pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = b64(&Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Extracts `name="flow" value="..."` from a sign-in or consent page.
pub fn flow_id(html: &str) -> String {
    let marker = "name=\"flow\" value=\"";
    let start = html.find(marker).expect("flow field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Result of the interactive part of sign-in.
pub struct Authorized {
    pub location: String,
    pub verifier: String,
    pub redirect_uri: String,
}

/// GET /authorize, POST the sign-in form, accept consent if shown (as org when `org`).
pub async fn authorize(
    sim: &Sim,
    client_id: &str,
    upn: &str,
    scope: &str,
    accept: bool,
    org: bool,
) -> Authorized {
    authorize_with(sim, client_id, upn, scope, accept, org, &[]).await
}

/// `authorize` with extra query parameters on `/authorize` (e.g. `nonce`).
pub async fn authorize_with(
    sim: &Sim,
    client_id: &str,
    upn: &str,
    scope: &str,
    accept: bool,
    org: bool,
    extra: &[(&str, &str)],
) -> Authorized {
    let c = client_for(sim);
    let (verifier, challenge) = pkce();
    let redirect_uri = "http://localhost:53127/".to_string();
    let url = format!("{}/organizations/oauth2/v2.0/authorize", sim.login_base());
    let mut query = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", &redirect_uri),
        ("scope", scope),
        ("state", "st-123"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("prompt", "select_account"),
    ];
    query.extend_from_slice(extra);
    let page = c.get(&url).query(&query).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let flow = flow_id(&html);
    let r = c
        .post(format!("{}/_login/signin", sim.base_url()))
        .form(&[("flow", flow.as_str()), ("username", upn), ("password", "")])
        .send()
        .await
        .unwrap();
    let r = if r.status() == StatusCode::OK {
        let html = r.text().await.unwrap();
        assert!(
            html.contains("/_login/consent"),
            "expected consent page: {html}"
        );
        let flow = flow_id(&html);
        let mut form = vec![
            ("flow", flow),
            (
                "decision",
                if accept {
                    "accept".into()
                } else {
                    "decline".into()
                },
            ),
        ];
        if org {
            form.push(("consent_org", "on".into()));
        }
        c.post(format!("{}/_login/consent", sim.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap()
    } else {
        r
    };
    assert_eq!(r.status(), StatusCode::FOUND, "expected redirect");
    let location = r.headers()["location"].to_str().unwrap().to_string();
    Authorized {
        location,
        verifier,
        redirect_uri,
    }
}

/// Full auth-code + PKCE sign-in with the public client; returns the token response.
pub async fn sign_in(sim: &Sim, upn: &str, scope: &str) -> Value {
    let a = authorize(sim, sim.public_client_id(), upn, scope, true, true).await;
    let code = query_param(&a.location, "code").expect("code in redirect");
    assert_eq!(query_param(&a.location, "state").as_deref(), Some("st-123"));
    let r = client_for(sim)
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            sim.login_base(),
            sim.tenant_id()
        ))
        .form(&[
            ("client_id", sim.public_client_id()),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &a.redirect_uri),
            ("code_verifier", &a.verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

pub async fn admin_token(sim: &Sim) -> String {
    sign_in(sim, &sim.admin_upn(), ADMIN_SCOPES).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn token_for(sim: &Sim, upn: &str) -> String {
    sign_in(sim, upn, ADMIN_SCOPES).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Calls Graph; returns (status, body or Null).
pub async fn graph(
    sim: &Sim,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    graph_h(sim, token, method, path, body, &[]).await
}

/// Starts a device-code sign-in for the public client asking for `scope`: the `/devicecode` answer.
pub async fn device_code(sim: &Sim, scope: &str) -> Value {
    let r = client_for(sim)
        .post(format!(
            "{}/organizations/oauth2/v2.0/devicecode",
            sim.login_base()
        ))
        .form(&[("client_id", sim.public_client_id()), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The OpenID discovery document of `tenant` (`organizations`, a tenant ID or a domain).
pub async fn openid_configuration(sim: &Sim, tenant: &str) -> Value {
    client_for(sim)
        .get(format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            sim.login_base()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET path` on Graph with `token`.
pub async fn graph_get(sim: &Sim, token: &str, path: &str) -> (StatusCode, Value) {
    graph(sim, token, Method::GET, path, None).await
}

pub async fn graph_h(
    sim: &Sim,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", sim.graph_base())
    };
    let mut rb = client_for(sim).request(method, url).bearer_auth(token);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text }))
    };
    (status, v)
}

pub async fn token_request(sim: &Sim, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = client_for(sim)
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sim.login_base()))
        .form(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

pub fn load_example(name: &str) -> Value {
    let path = format!("{}/tests/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

pub fn assert_same_keys(actual: &Value, example: &Value) {
    assert_eq!(keys(actual), keys(example), "actual: {actual:#}");
}

/// A service principal has every key of the (abbreviated) example, and nothing that Microsoft
/// does not document: the keys of the live Graph service principal (`data/
/// service-principal.json`) plus `publisherName`.
pub fn assert_documented_sp_keys(actual: &Value, example: &Value) {
    let path = format!("{}/data/service-principal.json", env!("CARGO_MANIFEST_DIR"));
    let live: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut documented = keys(&live);
    documented.push("publisherName".into());
    let got = keys(actual);
    for k in keys(example) {
        assert!(got.contains(&k), "{k} missing: {actual:#}");
    }
    for k in &got {
        assert!(documented.contains(k), "undocumented {k}: {actual:#}");
    }
    for k in &documented {
        assert!(
            got.contains(k) || k == "@odata.context",
            "documented {k} missing"
        );
    }
}

/// Creates an app (with Mail.ReadWrite + Mail.Send requested) and returns (object id, appId).
pub async fn create_app(sim: &Sim, token: &str) -> (String, String) {
    let (s, app) = graph(
        sim,
        token,
        Method::POST,
        "/v1.0/applications",
        Some(load_example("create-application.request.json")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    )
}

pub async fn create_sp(sim: &Sim, token: &str, app_id: &str) -> String {
    let (s, sp) = graph(
        sim,
        token,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": app_id})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sp}");
    sp["id"].as_str().unwrap().to_string()
}

pub const GRAPH_SP: &str = "6b7e2a3c-9f1d-4e8a-b5c2-0d4f7a9e1c35";
pub const MAIL_READWRITE: &str = "e2a3a72e-5f79-4c64-b1b1-878b674786c9";
pub const MAIL_SEND: &str = "b633e1c5-b582-4048-a93e-9f11b44c7e96";
