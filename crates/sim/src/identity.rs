//! The identity platform: OpenID discovery, JWKS, `/authorize` with HTML sign-in and consent
//! pages, `/token` (authorization_code + PKCE, refresh_token, device_code,
//! client_credentials with a client secret or a certificate's client assertion, see
//! `assertion`), `/devicecode` with its code-entry page, and the admin consent
//! endpoint. Errors use Microsoft's JSON shape and AADSTS codes.
//!
//! As Microsoft documents it: `/.default` yields every permission consented for the client
//! (tenant-wide plus the user's own), a refresh token is redeemed for any consented scope,
//! `client_info` is returned when MSAL asks (`client_info=1`), and `scope` in responses keeps
//! the client's form with the granted OIDC scopes.
//!
//! Issuers: access tokens carry Graph's v1 issuer `https://sts.windows.net/{tid}/` (as real
//! Graph tokens do); id tokens and the discovery document use `{sim base}/{tid}/v2.0`.

use crate::assertion;
use crate::data::{self, GRAPH_APP_ID, GRAPH_RESOURCE, OTHER_PUBLIC_CLIENTS, PUBLIC_CLIENT_ID};
use crate::error::AadError;
use crate::graph::{opaque_id, too_young, DELEGATED_GRANTERS, GRAPH_APP_ROLE_GRANTERS};
use crate::jwt;
use crate::model::*;
use crate::state::SimState;
use axum::extract::{Path, RawForm, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const APP_SP_WIDS: &str = "0997a1d0-0d1d-4acb-b408-d5ca73121e90";

type Form = HashMap<String, String>;

fn parse_form(bytes: &[u8]) -> Form {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
<style>body{{font-family:Segoe UI,system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em;color:#1b1b1b}}\
.card{{border:1px solid #ccc;padding:1.5em 2em;border-radius:4px}}.brand{{color:#555;font-size:.9em}}\
input,button{{font-size:1em;padding:.4em;margin:.3em 0}}input[type=text],input[type=password]{{width:100%;box-sizing:border-box}}\
.err{{color:#a4262c}}li{{margin:.2em 0}}</style></head><body><div class=\"card\">\
<p class=\"brand\">Contoso Practice &middot; simulated Microsoft sign-in (appgrant-sim)</p><h1>{t}</h1>{body}</div></body></html>",
        t = esc(title)
    );
    (status, Html(html)).into_response()
}

fn error_page(e: &AadError) -> Response {
    page(
        e.status,
        "Sorry, but we're having trouble signing you in.",
        &format!(
            "<p class=\"err\" id=\"error\">AADSTS{}: {}</p><p>error: {}</p>",
            e.code,
            esc(&e.description),
            esc(&e.error)
        ),
    )
}

/// Does this tenant path segment name our tenant?
pub fn resolve_tenant(state: &SimState, name: &str) -> Result<(), AadError> {
    let t = state.tenant();
    let n = name.to_ascii_lowercase();
    if n == t.id || n == t.domain || n == "organizations" || n == "common" {
        Ok(())
    } else {
        Err(AadError::unknown_tenant(name))
    }
}

// ---------------------------------------------------------------------------------------
// discovery

pub async fn openid_configuration(
    State(state): State<SimState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = resolve_tenant(&state, &tenant) {
        return e.into_response_for(&headers);
    }
    let base = state.base_url();
    let tid = state.tenant().id.clone();
    let t = if tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations")
    {
        tenant.to_lowercase()
    } else {
        tid.clone()
    };
    let issuer_tid = if t == tid {
        tid.clone()
    } else {
        "{tenantid}".to_string()
    };
    let host = base
        .split_once("://")
        .map_or(base.as_str(), |(_, h)| h)
        .to_string();
    axum::Json(json!({
        "token_endpoint": format!("{base}/{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{t}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": host,
        "rbac_url": "https://pas.windows.net"
    }))
    .into_response()
}

pub async fn jwks(
    State(state): State<SimState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if tenant != "common" {
        if let Err(e) = resolve_tenant(&state, &tenant) {
            return e.into_response_for(&headers);
        }
    }
    axum::Json(jwt::jwks()).into_response()
}

// ---------------------------------------------------------------------------------------
// clients and scopes

/// A client application as the STS sees it.
#[derive(Debug, Clone)]
struct Client {
    client_id: String,
    name: String,
    sp_id: Option<String>,
    first_party: bool,
    public_redirects: Vec<String>,
    other_redirects: Vec<String>,
    fallback_public: bool,
}

fn lookup_client(state: &SimState, t: &Tenant, client_id: &str) -> Result<Client, AadError> {
    let first_party = if client_id == PUBLIC_CLIENT_ID {
        Some("Microsoft Graph Command Line Tools")
    } else {
        OTHER_PUBLIC_CLIENTS
            .iter()
            .find(|(id, _)| *id == client_id)
            .map(|(_, n)| *n)
    };
    if let Some(name) = first_party {
        return Ok(Client {
            client_id: client_id.to_string(),
            name: name.to_string(),
            sp_id: t.sp_by_app_id(client_id).map(|s| s.id.clone()),
            first_party: true,
            public_redirects: vec![
                "http://localhost".into(),
                "https://login.microsoftonline.com/common/oauth2/nativeclient".into(),
            ],
            other_redirects: vec![],
            fallback_public: true,
        });
    }
    let delay = state.knobs().replication.app_to_token_ms;
    let app = t
        .app_by_app_id(client_id)
        .filter(|a| !too_young(a.created, delay))
        .ok_or_else(|| AadError::app_not_found(client_id, &t.display_name))?;
    let list = |k: &str| -> Vec<String> {
        app.body[k]["redirectUris"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut other = list("web");
    other.extend(list("spa"));
    Ok(Client {
        client_id: client_id.to_string(),
        name: app.display_name(),
        sp_id: t.sp_by_app_id(client_id).map(|s| s.id.clone()),
        first_party: false,
        public_redirects: list("publicClient"),
        other_redirects: other,
        fallback_public: app.body["isFallbackPublicClient"] == true,
    })
}

fn is_loopback(u: &url::Url) -> bool {
    u.scheme() == "http" && matches!(u.host_str(), Some("localhost") | Some("127.0.0.1"))
}

/// Matches a redirect URI against a registration (loopback: port ignored).
fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    is_loopback(&r)
        && is_loopback(&g)
        && r.host_str() == g.host_str()
        && r.path() == g.path()
        && r.query() == g.query()
}

impl Client {
    /// `Some(true)` if the redirect URI is a public-client one, `Some(false)` for web/spa.
    fn redirect_kind(&self, uri: &str) -> Option<bool> {
        if self.first_party {
            let u = url::Url::parse(uri).ok()?;
            return (is_loopback(&u)
                || uri == "https://login.microsoftonline.com/common/oauth2/nativeclient")
                .then_some(true);
        }
        if self
            .public_redirects
            .iter()
            .any(|r| redirect_matches(r, uri))
        {
            Some(true)
        } else if self
            .other_redirects
            .iter()
            .any(|r| redirect_matches(r, uri))
        {
            Some(false)
        } else {
            None
        }
    }
}

/// Requested scopes split into Graph scope values and OIDC scopes.
#[derive(Debug, Clone, Default)]
struct Scopes {
    graph: Vec<String>,
    oidc: Vec<String>,
    default: bool,
    /// The resource prefix of the first Graph scope as the client wrote it (`""` for short
    /// names); `None` when no Graph scope was named.
    prefix: Option<String>,
}

impl Scopes {
    /// True when the request named Graph at all (a scope or `/.default`).
    fn names_graph(&self) -> bool {
        self.prefix.is_some()
    }

    /// The form to answer in.
    fn form(&self) -> ScopeForm {
        ScopeForm {
            prefix: self.prefix.clone().unwrap_or_default(),
            default: self.default,
        }
    }
}

/// Splits `raw` into (resource prefix as written, scope value) for Graph scopes.
fn split_graph_scope(raw: &str) -> Option<(&str, &str)> {
    [format!("{GRAPH_RESOURCE}/"), format!("{GRAPH_APP_ID}/")]
        .iter()
        .find_map(|p| {
            raw.get(..p.len())
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|head| (head, &raw[p.len()..]))
        })
}

fn parse_scopes(s: &str) -> Result<Scopes, AadError> {
    let mut out = Scopes::default();
    let cat = data::catalog();
    for raw in s.split_whitespace() {
        if OIDC.contains(&raw) {
            out.oidc.push(raw.to_string());
            continue;
        }
        let (prefix, value) = if let Some((p, v)) = split_graph_scope(raw) {
            (p, v)
        } else if raw.contains("://") || raw.contains('/') {
            return Err(AadError::bad(
                "invalid_resource",
                500011,
                format!("The resource principal named {} was not found in the tenant named Contoso Practice. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", raw.rsplit_once('/').map(|x| x.0).unwrap_or(raw)),
            ));
        } else {
            ("", raw)
        };
        out.prefix.get_or_insert_with(|| prefix.to_string());
        if value == ".default" {
            out.default = true;
        } else if cat.scopes_by_value.contains_key(value) {
            if !out.graph.iter().any(|g| g == value) {
                out.graph.push(value.to_string());
            }
        } else {
            return Err(AadError::bad(
                "invalid_scope",
                70011,
                format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope '{raw}' is not valid."),
            ));
        }
    }
    if out.default && !out.graph.is_empty() {
        return Err(AadError::bad("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. '.default' cannot be combined with other resource scopes."));
    }
    Ok(out)
}

/// Scopes the client statically requests (requiredResourceAccess, delegated, Graph).
fn static_scopes(t: &Tenant, client_id: &str) -> Vec<String> {
    let Some(app) = t.app_by_app_id(client_id) else {
        return vec![];
    };
    let cat = data::catalog();
    let mut out = vec![];
    for r in app.body["requiredResourceAccess"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if r["resourceAppId"] != GRAPH_APP_ID {
            continue;
        }
        for a in r["resourceAccess"].as_array().into_iter().flatten() {
            if a["type"] == "Scope" {
                if let Some(p) = cat
                    .scopes_by_value
                    .values()
                    .find(|p| Some(p.id.as_str()) == a["id"].as_str())
                {
                    if !OIDC.contains(&p.value.as_str()) {
                        out.push(p.value.clone());
                    }
                }
            }
        }
    }
    out
}

/// What `/.default` asks a user to have consented before sign-in completes: the client's
/// static permissions plus everything already consented tenant-wide for it.
fn default_request(t: &Tenant, client: &Client) -> Vec<String> {
    let mut g: Vec<String> = client
        .sp_id
        .as_deref()
        .map(|sp| {
            t.grants
                .iter()
                .filter(|x| x.client_id == sp && x.consent_type == "AllPrincipals")
                .flat_map(|x| x.scopes().map(str::to_string))
                .filter(|s| !OIDC.contains(&s.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for s in static_scopes(t, &client.client_id) {
        if !g.contains(&s) {
            g.push(s);
        }
    }
    g
}

/// Every Graph scope consented for the client, tenant-wide or by this user (what `/.default`
/// yields, and what a refresh token may be redeemed for).
fn consented_for(t: &Tenant, client_id: &str, user_id: &str) -> Vec<String> {
    t.sp_by_app_id(client_id)
        .map(|sp| t.consented_scopes(&sp.id, user_id))
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !OIDC.contains(&s.as_str()))
        .collect()
}

/// The token response's `scope`, as Microsoft writes it: the OIDC scopes granted (not
/// `offline_access`) around the Graph scopes in the form the client used, with `/.default`
/// echoed; for example `openid profile User.Read email`.
fn response_scope(graph: &[String], oidc: &[String], form: &ScopeForm) -> String {
    let has = |o: &str| oidc.iter().any(|x| x == o);
    let mut out: Vec<String> = ["openid", "profile"]
        .into_iter()
        .filter(|o| has(o))
        .map(str::to_string)
        .collect();
    out.extend(graph.iter().map(|g| format!("{}{g}", form.prefix)));
    if form.default {
        out.push(format!("{}.default", form.prefix));
    }
    if has("email") {
        out.push("email".into());
    }
    out.join(" ")
}

/// MSAL's `client_info`: base64url JSON `{"uid": <oid>, "utid": <tid>}`.
fn client_info(user: &User, tid: &str) -> String {
    b64(json!({"uid": user.id, "utid": tid}).to_string().as_bytes())
}

fn is_consent_admin(u: &User) -> bool {
    u.roles
        .iter()
        .any(|r| DELEGATED_GRANTERS.contains(&r.as_str()))
}

fn ensure_sp(t: &mut Tenant, client: &Client) -> String {
    if let Some(id) = client
        .sp_id
        .clone()
        .or_else(|| t.sp_by_app_id(&client.client_id).map(|s| s.id.clone()))
    {
        return id;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let app_body = t
        .app_by_app_id(&client.client_id)
        .map(|a| a.body.clone())
        .unwrap_or(Value::Null);
    t.sps.push(ServicePrincipal {
        id: id.clone(),
        app_id: client.client_id.clone(),
        body: with_documented_sp_properties(json!({
            "id": id, "deletedDateTime": null, "accountEnabled": true,
            "appDisplayName": client.name, "appId": client.client_id, "appOwnerOrganizationId": t.id,
            "appRoleAssignmentRequired": false, "displayName": client.name,
            "homepage": null, "loginUrl": null, "logoutUrl": null, "notes": null, "preferredSingleSignOnMode": null,
            "replyUrls": client.public_redirects.iter().chain(client.other_redirects.iter()).collect::<Vec<_>>(),
            "servicePrincipalNames": [client.client_id], "servicePrincipalType": "Application",
            "signInAudience": app_body["signInAudience"], "tags": [], "addIns": [],
            "appRoles": app_body["appRoles"], "keyCredentials": [], "oauth2PermissionScopes": app_body["api"]["oauth2PermissionScopes"],
            "passwordCredentials": [], "info": app_body["info"]
        }), &t.display_name),
        created: Instant::now(),
    });
    id
}

fn merge_grant(t: &mut Tenant, client_sp: &str, principal: Option<&str>, scopes: &[String]) {
    let graph_sp = t.graph_sp_id.clone();
    let consent_type = if principal.is_some() {
        "Principal"
    } else {
        "AllPrincipals"
    };
    if let Some(g) = t.grants.iter_mut().find(|g| {
        g.client_id == client_sp
            && g.resource_id == graph_sp
            && g.consent_type == consent_type
            && g.principal_id.as_deref() == principal
    }) {
        let mut have: Vec<String> = g.scopes().map(str::to_string).collect();
        for s in scopes {
            if !have.contains(s) {
                have.push(s.clone());
            }
        }
        g.scope = have.join(" ");
    } else {
        t.grants.push(Grant {
            id: opaque_id(),
            client_id: client_sp.to_string(),
            consent_type: consent_type.to_string(),
            principal_id: principal.map(str::to_string),
            resource_id: graph_sp,
            scope: scopes.join(" "),
        });
    }
}

// ---------------------------------------------------------------------------------------
// tokens

fn now_secs() -> i64 {
    Utc::now().timestamp()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn random_token(prefix: &str) -> String {
    let mut b = Vec::new();
    for _ in 0..3 {
        b.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    format!("{prefix}{}", b64(&b))
}

/// What a user token is issued for.
struct Issue<'a> {
    /// Graph scopes (already resolved when the request was `/.default`).
    scopes: Vec<String>,
    oidc: &'a [String],
    form: &'a ScopeForm,
    nonce: Option<&'a str>,
    /// The client sent `client_info=1` (MSAL does).
    client_info: bool,
}

impl<'a> Issue<'a> {
    /// `scopes`, or every consented scope when the client asked for `/.default`.
    fn new(
        t: &Tenant,
        client_id: &str,
        user_id: &str,
        scopes: &[String],
        oidc: &'a [String],
        form: &'a ScopeForm,
        f: &Form,
    ) -> Issue<'a> {
        let scopes = if form.default {
            consented_for(t, client_id, user_id)
        } else {
            scopes.to_vec()
        };
        Issue {
            scopes,
            oidc,
            form,
            nonce: None,
            client_info: f.get("client_info").is_some_and(|v| v == "1"),
        }
    }
}

fn user_token_response(
    state: &SimState,
    t: &mut Tenant,
    user: &User,
    client: &Client,
    issue: Issue<'_>,
) -> Result<Value, AadError> {
    let Issue {
        scopes,
        oidc,
        form,
        nonce,
        client_info: want_client_info,
    } = issue;
    let scopes = scopes.as_slice();
    let knobs = state.knobs();
    let now = now_secs();
    let life = knobs.access_token_lifetime_secs as i64;
    let mut wids: Vec<String> = user.roles.clone();
    wids.push(data::DEFAULT_USER_ROLE_TEMPLATE.to_string());
    let mut scp: Vec<String> = scopes.to_vec();
    for o in oidc.iter().filter(|o| *o != "offline_access") {
        scp.push(o.clone());
    }
    let sub = b64(&Sha256::digest(
        format!("{}:{}", user.id, client.client_id).as_bytes(),
    ));
    let claims = json!({
        "aud": GRAPH_APP_ID,
        "iss": format!("https://sts.windows.net/{}/", t.id),
        "iat": now, "nbf": now, "exp": now + life,
        "app_displayname": client.name,
        "appid": client.client_id,
        "appidacr": "0",
        "azp": client.client_id,
        "idtyp": "user",
        "name": user.display_name,
        "given_name": user.given_name,
        "family_name": user.surname,
        "oid": user.id,
        "preferred_username": user.upn,
        "upn": user.upn,
        "unique_name": user.upn,
        "scp": scp.join(" "),
        "sub": sub,
        "tid": t.id,
        "uti": random_token(""),
        "ver": "1.0",
        "wids": wids,
    });
    let at = jwt::sign(&claims).map_err(|e| AadError::bad("server_error", 50000, e.to_string()))?;
    let mut body = json!({
        "token_type": "Bearer",
        "scope": response_scope(scopes, oidc, form),
        "expires_in": life,
        "ext_expires_in": life,
        "access_token": at,
    });
    if oidc.iter().any(|o| o == "offline_access") {
        let rt = random_token("1.AXoA");
        t.auth.sessions.insert(
            rt.clone(),
            Session {
                client_id: client.client_id.clone(),
                user_id: user.id.clone(),
                scopes: scopes.to_vec(),
                oidc: oidc.to_vec(),
                form: form.clone(),
                issued: Instant::now(),
            },
        );
        body["refresh_token"] = json!(rt);
    }
    let profile = oidc.iter().any(|o| o == "openid" || o == "profile");
    if want_client_info && profile {
        body["client_info"] = json!(client_info(user, &t.id));
    }
    if oidc.iter().any(|o| o == "openid") {
        let mut idc = json!({
            "aud": client.client_id,
            "iss": format!("{}/{}/v2.0", state.base_url(), t.id),
            "iat": now, "nbf": now, "exp": now + 3600,
            "aio": random_token(""),
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.upn,
            "rh": random_token("0."),
            "sub": sub,
            "tid": t.id,
            "uti": random_token(""),
            "ver": "2.0",
        });
        if let Some(n) = nonce {
            idc["nonce"] = json!(n);
        }
        if let Some(mail) = user
            .mail
            .as_ref()
            .filter(|_| oidc.iter().any(|o| o == "email"))
        {
            idc["email"] = json!(mail);
        }
        body["id_token"] = json!(jwt::sign(&idc).map_err(|e| AadError::bad(
            "server_error",
            50000,
            e.to_string()
        ))?);
    }
    Ok(body)
}

/// `appidacr`: "1" when the client proved itself with a secret, "2" with a certificate.
fn app_token_response(
    state: &SimState,
    t: &Tenant,
    app: &Application,
    sp: &ServicePrincipal,
    acr: &str,
) -> Result<Value, AadError> {
    let knobs = state.knobs();
    let now = now_secs();
    let life = knobs.access_token_lifetime_secs as i64;
    let cat = data::catalog();
    let roles: Vec<String> = t
        .assignments
        .iter()
        .filter(|a| {
            a.principal_id == sp.id
                && a.resource_id == t.graph_sp_id
                && !too_young(a.created, knobs.replication.assignment_to_token_ms)
        })
        .filter_map(|a| {
            cat.app_roles_by_id
                .get(&a.app_role_id)
                .map(|p| p.value.clone())
        })
        .collect();
    let mut claims = json!({
        "aud": GRAPH_RESOURCE,
        "iss": format!("https://sts.windows.net/{}/", t.id),
        "iat": now, "nbf": now, "exp": now + life,
        "app_displayname": app.display_name(),
        "appid": app.app_id,
        "appidacr": acr,
        "azp": app.app_id,
        "idtyp": "app",
        "oid": sp.id,
        "sub": sp.id,
        "tid": t.id,
        "uti": random_token(""),
        "ver": "1.0",
        "wids": [APP_SP_WIDS],
    });
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    let at = jwt::sign(&claims).map_err(|e| AadError::bad("server_error", 50000, e.to_string()))?;
    Ok(
        json!({"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": at}),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(state): State<SimState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    match token_inner(&state, &tenant, &headers, &body) {
        Ok(v) => {
            let mut r = axum::Json(v).into_response();
            r.headers_mut().insert(
                "cache-control",
                axum::http::HeaderValue::from_static("no-store, no-cache"),
            );
            r
        }
        Err(e) => e.into_response_for(&headers),
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    let dec = |x: &str| {
        url::form_urlencoded::parse(format!("a={x}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((dec(u), dec(p)))
}

fn token_inner(
    state: &SimState,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, AadError> {
    resolve_tenant(state, tenant)?;
    let mut f = parse_form(body);
    if let Some((id, secret)) = basic_auth(headers) {
        f.entry("client_id".into()).or_insert(id);
        f.entry("client_secret".into()).or_insert(secret);
    }
    let get = |k: &str| f.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let grant = get("grant_type").ok_or_else(|| {
        AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )
    })?;
    let client_id = get("client_id").ok_or_else(|| {
        AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    })?;
    match grant {
        "authorization_code" => auth_code_grant(state, tenant, client_id, &f),
        "refresh_token" => refresh_grant(state, client_id, &f),
        "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => {
            device_grant(state, client_id, &f)
        }
        "client_credentials" => client_credentials_grant(state, tenant, client_id, &f),
        other => Err(AadError::bad(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

fn pkce_ok(challenge: &str, method: &str, verifier: &str) -> bool {
    if verifier.len() < 43 || verifier.len() > 128 {
        return false;
    }
    match method {
        "plain" => verifier == challenge,
        _ => b64(&Sha256::digest(verifier.as_bytes())) == challenge,
    }
}

fn grant_invalid(msg: &str) -> AadError {
    AadError::bad(
        "invalid_grant",
        9002313,
        format!("Invalid request. Request is malformed or invalid. {msg}"),
    )
}

fn auth_code_grant(
    state: &SimState,
    tenant: &str,
    client_id: &str,
    f: &Form,
) -> Result<Value, AadError> {
    let knobs = state.knobs();
    let mut t = state.tenant();
    let client = lookup_client(state, &t, client_id)?;
    let code = f.get("code").cloned().unwrap_or_default();
    let issued = t
        .auth
        .codes
        .get(&code)
        .cloned()
        .ok_or_else(|| grant_invalid("The code is unknown."))?;
    if issued.redeemed {
        return Err(AadError::bad("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."));
    }
    if issued.issued.elapsed() > Duration::from_secs(knobs.auth_code_lifetime_secs) {
        return Err(AadError::bad("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."));
    }
    if issued.client_id != client_id {
        return Err(AadError::bad(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the code was issued to another client.",
        ));
    }
    if f.get("redirect_uri").map(String::as_str) != Some(issued.redirect_uri.as_str()) {
        return Err(AadError::bad("invalid_grant", 50011, format!("The redirect URI '{}' specified in the request does not match the redirect URI used to obtain the authorization code.", f.get("redirect_uri").cloned().unwrap_or_default())));
    }
    let public = client.redirect_kind(&issued.redirect_uri).unwrap_or(true);
    let has_secret = f.contains_key("client_secret") || f.contains_key("client_assertion");
    if public && has_secret {
        return Err(AadError::bad("invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."));
    }
    if !public {
        authenticate_client(state, &t, tenant, client_id, f)?;
    }
    if let Some(ch) = &issued.code_challenge {
        let method = issued
            .code_challenge_method
            .clone()
            .unwrap_or_else(|| "plain".into());
        let ok = f
            .get("code_verifier")
            .is_some_and(|v| pkce_ok(ch, &method, v));
        if !ok {
            return Err(AadError::bad("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."));
        }
    }
    if let Some(c) = t.auth.codes.get_mut(&code) {
        c.redeemed = true;
    }
    let user = t
        .user(&issued.user_id)
        .cloned()
        .ok_or_else(|| grant_invalid("The user no longer exists."))?;
    let mut issue = Issue::new(
        &t,
        client_id,
        &user.id,
        &issued.scopes,
        &issued.oidc,
        &issued.form,
        f,
    );
    issue.nonce = issued.nonce.as_deref();
    user_token_response(state, &mut t, &user, &client, issue)
}

fn refresh_grant(state: &SimState, client_id: &str, f: &Form) -> Result<Value, AadError> {
    let mut t = state.tenant();
    let rt = f.get("refresh_token").cloned().unwrap_or_default();
    let session = t
        .auth
        .sessions
        .get(&rt)
        .cloned()
        .ok_or_else(|| grant_invalid("The refresh token is unknown."))?;
    if t.auth.revoked_before.is_some_and(|r| session.issued <= r) {
        return Err(AadError::bad("invalid_grant", 700082, format!("The refresh token has expired due to inactivity. The token was issued on {} and was inactive for 90.00:00:00.", Utc::now().format("%Y-%m-%dT%H:%M:%SZ"))));
    }
    if session.client_id != client_id {
        return Err(AadError::bad("invalid_grant", 70000, "Provided grant is invalid or malformed: the refresh token was issued to another client."));
    }
    let client = lookup_client(state, &t, client_id)?;
    let user = t
        .user(&session.user_id)
        .cloned()
        .ok_or_else(|| grant_invalid("The user no longer exists."))?;
    let req = match f.get("scope") {
        Some(s) => parse_scopes(s)?,
        None => Scopes::default(),
    };
    // Microsoft redeems a refresh token for any scope consented for the client (tenant-wide
    // or by this user), not only the original ones; a scope without consent is AADSTS65001.
    let consented = consented_for(&t, client_id, &user.id);
    if let Some(missing) = req.graph.iter().find(|g| !consented.contains(g)) {
        return Err(AadError::bad("invalid_grant", 65001, format!("The user or administrator has not consented to use the application with ID '{client_id}' named '{}'. Send an interactive authorization request for this user and resource. (scope '{missing}')", client.name)));
    }
    let (scopes, form) = if req.names_graph() {
        (req.graph.clone(), req.form())
    } else {
        (session.scopes.clone(), session.form.clone())
    };
    let mut oidc = if req.oidc.is_empty() {
        session.oidc.clone()
    } else {
        req.oidc.clone()
    };
    if !oidc.iter().any(|o| o == "offline_access") {
        oidc.push("offline_access".into());
    }
    let issue = Issue::new(&t, client_id, &user.id, &scopes, &oidc, &form, f);
    user_token_response(state, &mut t, &user, &client, issue)
}

fn device_grant(state: &SimState, client_id: &str, f: &Form) -> Result<Value, AadError> {
    let knobs = state.knobs();
    let mut t = state.tenant();
    if knobs.block_device_code {
        return Err(AadError::bad("invalid_grant", 53003, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."));
    }
    let dc = f.get("device_code").cloned().unwrap_or_default();
    let flow = t.auth.devices.get(&dc).cloned().ok_or_else(|| {
        AadError::bad(
            "bad_verification_code",
            70018,
            "Invalid verification code entered.",
        )
    })?;
    if flow.client_id != client_id {
        return Err(AadError::bad(
            "bad_verification_code",
            70018,
            "Invalid verification code entered (issued to another client).",
        ));
    }
    if flow.created.elapsed() > Duration::from_secs(knobs.device_code_expires_secs) {
        return Err(AadError::bad(
            "expired_token",
            70019,
            "Verification code expired.",
        ));
    }
    let interval = Duration::from_secs(knobs.device_code_interval_secs);
    let too_fast = flow.last_poll.is_some_and(|p| p.elapsed() < interval);
    if let Some(d) = t.auth.devices.get_mut(&dc) {
        d.last_poll = Some(Instant::now());
    }
    match flow.status {
        DeviceStatus::Redeemed => Err(AadError::bad("invalid_grant", 54005, "The device code was already redeemed.")),
        DeviceStatus::Declined => Err(AadError::bad("authorization_declined", 65004, "User declined to consent to access the app.")),
        _ if too_fast => Err(AadError::bad("slow_down", 70016, "OAuth 2.0 device flow error. Polling too frequently; wait longer between requests (add 5 seconds to the interval).")),
        DeviceStatus::Pending => Err(AadError::bad("authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")),
        DeviceStatus::Approved { user_id, scopes } => {
            if let Some(d) = t.auth.devices.get_mut(&dc) {
                d.status = DeviceStatus::Redeemed;
            }
            let client = lookup_client(state, &t, client_id)?;
            let user = t.user(&user_id).cloned().ok_or_else(|| grant_invalid("The user no longer exists."))?;
            let issue = Issue::new(&t, client_id, &user.id, &scopes, &flow.oidc, &flow.form, f);
            user_token_response(state, &mut t, &user, &client, issue)
        }
    }
}

fn check_secret(
    state: &SimState,
    t: &Tenant,
    client_id: &str,
    secret: Option<&str>,
) -> Result<(), AadError> {
    let knobs = state.knobs();
    let app = t
        .app_by_app_id(client_id)
        .ok_or_else(|| AadError::app_not_found(client_id, &t.display_name))?;
    let secret = secret.ok_or_else(|| {
        AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
    })?;
    let s = app
        .secrets
        .iter()
        .find(|s| s.matches(secret))
        .ok_or_else(|| AadError::invalid_secret(client_id))?;
    if too_young(s.created, knobs.replication.secret_to_token_ms) || s.start > Utc::now() {
        return Err(AadError::invalid_secret(client_id));
    }
    if s.end < Utc::now() {
        return Err(AadError::expired_secret(client_id));
    }
    Ok(())
}

/// A confidential client's proof: a client secret, or a client assertion signed with one of
/// its certificates (either, never both). Returns `appidacr`: "1" secret, "2" certificate.
fn authenticate_client(
    state: &SimState,
    t: &Tenant,
    path_tenant: &str,
    client_id: &str,
    f: &Form,
) -> Result<&'static str, AadError> {
    let Some(assertion) = f.get("client_assertion") else {
        check_secret(
            state,
            t,
            client_id,
            f.get("client_secret").map(String::as_str),
        )?;
        return Ok("1");
    };
    let malformed = |why: &str| {
        AadError::bad(
            "invalid_request",
            9002313,
            format!("Invalid request. Request is malformed or invalid. {why}"),
        )
    };
    if f.contains_key("client_secret") {
        return Err(malformed(
            "Send either 'client_secret' or 'client_assertion', not both.",
        ));
    }
    match f.get("client_assertion_type").map(String::as_str) {
        Some(assertion::JWT_BEARER) => {}
        None => {
            return Err(AadError::bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            ))
        }
        Some(other) => {
            return Err(malformed(&format!(
                "client_assertion_type '{other}' is not supported; use '{}'.",
                assertion::JWT_BEARER
            )))
        }
    }
    let app = t
        .app_by_app_id(client_id)
        .ok_or_else(|| AadError::app_not_found(client_id, &t.display_name))?;
    assertion::check(app, assertion, &token_endpoints(state, t, path_tenant))?;
    Ok("2")
}

/// The URLs a client assertion's `aud` may name: the token endpoint the request was sent to
/// (v2.0, or the v1 `/oauth2/token`), by tenant id, domain or the path's own tenant (e.g.
/// `organizations` for a web app's code redemption), on the host the client used or the
/// listener's.
fn token_endpoints(state: &SimState, t: &Tenant, path_tenant: &str) -> Vec<String> {
    let mut out = Vec::new();
    for base in [state.base_url(), state.listen_base()] {
        for tenant in [t.id.as_str(), t.domain.as_str(), path_tenant] {
            for path in ["oauth2/v2.0/token", "oauth2/token"] {
                out.push(format!("{base}/{tenant}/{path}"));
            }
        }
    }
    out
}

fn client_credentials_grant(
    state: &SimState,
    tenant: &str,
    client_id: &str,
    f: &Form,
) -> Result<Value, AadError> {
    if tenant.eq_ignore_ascii_case("common")
        || tenant.eq_ignore_ascii_case("organizations")
        || tenant.eq_ignore_ascii_case("consumers")
    {
        return Err(AadError::bad("invalid_request", 9001023, format!("The grant type 'client_credentials' is not supported over the /{tenant} endpoint. Please use the /tenant-specific endpoint.")));
    }
    let t = state.tenant();
    if client_id == PUBLIC_CLIENT_ID || OTHER_PUBLIC_CLIENTS.iter().any(|(id, _)| *id == client_id)
    {
        return Err(AadError::invalid_secret(client_id));
    }
    let delay = state.knobs().replication.app_to_token_ms;
    let app = t
        .app_by_app_id(client_id)
        .filter(|a| !too_young(a.created, delay))
        .ok_or_else(|| AadError::app_not_found(client_id, &t.display_name))?;
    let scope = f.get("scope").cloned().unwrap_or_default();
    let scope_ok = scope.split_whitespace().count() == 1 && scope.ends_with("/.default");
    if !scope_ok {
        return Err(AadError::bad("invalid_scope", 1002012, format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")));
    }
    let resource = scope.trim_end_matches("/.default").trim_end_matches('/');
    if resource != GRAPH_RESOURCE && resource != GRAPH_APP_ID {
        return Err(AadError::bad(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {}.",
                t.display_name
            ),
        ));
    }
    let acr = authenticate_client(state, &t, tenant, client_id, f)?;
    let sp = t.sp_by_app_id(client_id).ok_or_else(|| {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000229,
            format!(
                "The client application {client_id} is missing service principal in the tenant {}.",
                t.id
            ),
        )
    })?;
    app_token_response(state, &t, app, sp, acr)
}

// ---------------------------------------------------------------------------------------
// /authorize and the HTML pages

fn sign_in_page(
    t: &Tenant,
    flow_id: &str,
    app_name: &str,
    hint: &str,
    error: Option<&str>,
) -> Response {
    let mut opts = String::new();
    for u in t
        .users
        .iter()
        .filter(|u| !u.upn.starts_with("gen"))
        .take(80)
    {
        let roles: Vec<String> = u.roles.iter().map(|r| data::role_name(r)).collect();
        let label = if roles.is_empty() {
            u.display_name.clone()
        } else {
            format!("{} ({})", u.display_name, roles.join(", "))
        };
        opts.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            esc(&u.upn),
            esc(&label)
        ));
    }
    let err = error
        .map(|e| format!("<p class=\"err\" id=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Sign in",
        &format!(
            "<p>to continue to <b>{app}</b></p>{err}<form method=\"post\" action=\"/_login/signin\">\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\">\
<label>Email, phone, or Skype<input type=\"text\" name=\"username\" list=\"users\" value=\"{hint}\" autofocus></label>\
<datalist id=\"users\">{opts}</datalist>\
<label>Password (optional in practice)<input type=\"password\" name=\"password\"></label>\
<button type=\"submit\">Sign in</button></form>\
<p class=\"brand\">Practice tenant: pick any listed account. Avery Admin is a Global Administrator.</p>",
            app = esc(app_name),
            flow = esc(flow_id),
            hint = esc(hint),
        ),
    )
}

fn consent_page(
    flow_id: &str,
    app_name: &str,
    user: &User,
    items: &[String],
    org_checkbox: bool,
    admin_consent: bool,
) -> Response {
    let list: String = items
        .iter()
        .map(|s| format!("<li>{}</li>", esc(s)))
        .collect();
    let org = if org_checkbox {
        "<label><input type=\"checkbox\" name=\"consent_org\" value=\"on\"> Consent on behalf of your organization</label><br>"
    } else if admin_consent {
        "<input type=\"hidden\" name=\"consent_org\" value=\"on\">"
    } else {
        ""
    };
    page(
        StatusCode::OK,
        "Permissions requested",
        &format!(
            "<p><b>{app}</b> wants to:</p><ul>{list}</ul><p>Signed in as {upn}.</p>\
<form method=\"post\" action=\"/_login/consent\"><input type=\"hidden\" name=\"flow\" value=\"{flow}\">{org}\
<button type=\"submit\" name=\"decision\" value=\"accept\">Accept</button> \
<button type=\"submit\" name=\"decision\" value=\"decline\">Cancel</button></form>",
            app = esc(app_name),
            upn = esc(&user.upn),
            flow = esc(flow_id),
        ),
    )
}

fn need_admin_page(flow_id: &str, app_name: &str) -> Response {
    page(
        StatusCode::OK,
        "Need admin approval",
        &format!(
            "<p id=\"error\">AADSTS90094: {app} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>\
<form method=\"post\" action=\"/_login/consent\"><input type=\"hidden\" name=\"flow\" value=\"{flow}\">\
<button type=\"submit\" name=\"decision\" value=\"decline\">Return to the application without granting consent</button></form>",
            app = esc(app_name),
            flow = esc(flow_id)
        ),
    )
}

fn redirect_to(redirect_uri: &str, params: &[(&str, String)], response_mode: &str) -> Response {
    if response_mode == "form_post" {
        let inputs: String = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    esc(k),
                    esc(v)
                )
            })
            .collect();
        let html = format!("<!doctype html><html><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{inputs}<noscript><button>Continue</button></noscript></form></body></html>", esc(redirect_uri));
        return Html(html).into_response();
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{}", ser.finish());
    match axum::http::HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::FOUND, [(axum::http::header::LOCATION, v)]).into_response(),
        Err(_) => error_page(&AadError::bad(
            "invalid_request",
            50011,
            "The redirect URI is not a valid header value.",
        )),
    }
}

fn error_redirect(
    redirect_uri: &str,
    response_mode: &str,
    state: Option<&str>,
    e: &AadError,
) -> Response {
    let mut p = vec![
        ("error", e.error.clone()),
        (
            "error_description",
            format!("AADSTS{}: {}", e.code, e.description),
        ),
    ];
    if let Some(s) = state {
        p.push(("state", s.to_string()));
    }
    redirect_to(redirect_uri, &p, response_mode)
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub async fn authorize(
    State(state): State<SimState>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(e) = resolve_tenant(&state, &tenant) {
        return error_page(&e);
    }
    let f = parse_form(q.unwrap_or_default().as_bytes());
    let get = |k: &str| f.get(k).cloned().filter(|v| !v.is_empty());
    let Some(client_id) = get("client_id") else {
        return error_page(&AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    let mut t = state.tenant();
    let client = match lookup_client(&state, &t, &client_id) {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return error_page(&AadError::bad(
            "invalid_request",
            900971,
            "No reply address provided.",
        ));
    };
    if client.redirect_kind(&redirect_uri).is_none() {
        return error_page(&AadError::bad("invalid_request", 50011, format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.")));
    }
    let response_mode = get("response_mode").unwrap_or_else(|| "query".into());
    let st = get("state");
    if get("response_type").as_deref() != Some("code") {
        return error_redirect(&redirect_uri, &response_mode, st.as_deref(), &AadError::bad("unsupported_response_type", 700054, "The app requested an unsupported response type; only 'code' is supported by the simulator."));
    }
    let scopes = match parse_scopes(&get("scope").unwrap_or_default()) {
        Ok(s) => s,
        Err(e) => return error_redirect(&redirect_uri, &response_mode, st.as_deref(), &e),
    };
    let method = get("code_challenge_method");
    let challenge = get("code_challenge");
    if let Some(ch) = &challenge {
        let m = method.clone().unwrap_or_else(|| "plain".into());
        if m != "S256" && m != "plain" {
            return error_redirect(
                &redirect_uri,
                &response_mode,
                st.as_deref(),
                &AadError::bad("invalid_request", 501491, "Invalid code_challenge_method."),
            );
        }
        if m == "S256" && ch.len() != 43 {
            return error_redirect(
                &redirect_uri,
                &response_mode,
                st.as_deref(),
                &AadError::bad(
                    "invalid_request",
                    501491,
                    "Invalid size of Code_Challenge parameter.",
                ),
            );
        }
    }
    let graph = if scopes.default || scopes.graph.is_empty() {
        default_request(&t, &client)
    } else {
        scopes.graph.clone()
    };
    let form = scopes.form();
    let flow_id = random_token("flow-");
    let prompt = get("prompt").unwrap_or_default();
    t.auth.flows.insert(
        flow_id.clone(),
        PendingFlow {
            kind: FlowKind::Authorize {
                client_id: client_id.clone(),
                redirect_uri,
                response_mode,
                state: st,
                scopes: graph,
                oidc: scopes.oidc,
                form,
                code_challenge: challenge,
                code_challenge_method: method,
                nonce: get("nonce"),
                force_consent: prompt == "consent",
            },
            user_id: None,
        },
    );
    sign_in_page(
        &t,
        &flow_id,
        &client.name,
        &get("login_hint").unwrap_or_default(),
        None,
    )
}

/// `GET /{tenant}/v2.0/adminconsent` and the legacy `/{tenant}/adminconsent`.
pub async fn admin_consent(
    State(state): State<SimState>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if tenant.eq_ignore_ascii_case("common") {
        return error_page(&AadError::bad("invalid_request", 90130, "Admin consent is not supported on the /common endpoint; use the tenant id, domain or /organizations."));
    }
    if let Err(e) = resolve_tenant(&state, &tenant) {
        return error_page(&e);
    }
    let f = parse_form(q.unwrap_or_default().as_bytes());
    let get = |k: &str| f.get(k).cloned().filter(|v| !v.is_empty());
    let Some(client_id) = get("client_id") else {
        return error_page(&AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    let mut t = state.tenant();
    let client = match lookup_client(&state, &t, &client_id) {
        Ok(c) if !c.first_party => c,
        Ok(_) => {
            return error_page(&AadError::bad(
                "invalid_request",
                90009,
                "Admin consent for first-party applications is not available in the simulator.",
            ))
        }
        Err(e) => return error_page(&e),
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return error_page(&AadError::bad(
            "invalid_request",
            900971,
            "No reply address provided.",
        ));
    };
    if client.redirect_kind(&redirect_uri).is_none() {
        return error_page(&AadError::bad("invalid_request", 50011, format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'.")));
    }
    let flow_id = random_token("flow-");
    t.auth.flows.insert(
        flow_id.clone(),
        PendingFlow {
            kind: FlowKind::AdminConsent {
                client_id,
                redirect_uri,
                state: get("state"),
                scope: get("scope").unwrap_or_else(|| format!("{GRAPH_RESOURCE}/.default")),
            },
            user_id: None,
        },
    );
    sign_in_page(&t, &flow_id, &client.name, "", None)
}

/// Graph roles and scopes an app statically requests, for the admin consent page.
fn static_permissions(t: &Tenant, client_id: &str) -> (Vec<String>, Vec<String>) {
    let cat = data::catalog();
    let mut roles = vec![];
    if let Some(app) = t.app_by_app_id(client_id) {
        for r in app.body["requiredResourceAccess"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if r["resourceAppId"] != GRAPH_APP_ID {
                continue;
            }
            for a in r["resourceAccess"].as_array().into_iter().flatten() {
                if a["type"] == "Role" {
                    if let Some(id) = a["id"].as_str() {
                        roles.push(id.to_string());
                    }
                }
            }
        }
    }
    let _ = cat;
    (roles, static_scopes(t, client_id))
}

/// `POST /_login/signin`.
pub async fn sign_in(State(state): State<SimState>, RawForm(body): RawForm) -> Response {
    let f = parse_form(&body);
    let flow_id = f.get("flow").cloned().unwrap_or_default();
    let username = f.get("username").cloned().unwrap_or_default();
    let mut t = state.tenant();
    let Some(flow) = t.auth.flows.get(&flow_id).cloned() else {
        return error_page(&AadError::bad(
            "invalid_request",
            90014,
            "The sign-in session is unknown or has expired. Start again.",
        ));
    };
    let app_name = flow_app_name(&state, &t, &flow.kind);
    let Some(user) = t.user(username.trim()).cloned() else {
        return sign_in_page(&t, &flow_id, &app_name, &username, Some(&format!("AADSTS50034: The user account {username} does not exist in the Contoso Practice directory.")));
    };
    if let (Some(pw), Some(given)) = (&user.password, f.get("password").filter(|p| !p.is_empty())) {
        if pw != given {
            return sign_in_page(&t, &flow_id, &app_name, &username, Some("AADSTS50126: Error validating credentials due to invalid username or password."));
        }
    }
    if let Some(fl) = t.auth.flows.get_mut(&flow_id) {
        fl.user_id = Some(user.id.clone());
    }
    after_sign_in(&state, &mut t, &flow_id, &flow.kind, &user)
}

fn flow_app_name(state: &SimState, t: &Tenant, kind: &FlowKind) -> String {
    let cid = match kind {
        FlowKind::Authorize { client_id, .. } | FlowKind::AdminConsent { client_id, .. } => {
            client_id.clone()
        }
        FlowKind::Device { device_code } => t
            .auth
            .devices
            .get(device_code)
            .map(|d| d.client_id.clone())
            .unwrap_or_default(),
    };
    lookup_client(state, t, &cid).map(|c| c.name).unwrap_or(cid)
}

fn scope_label(s: &str) -> String {
    data::catalog()
        .scopes_by_value
        .get(s)
        .map(|p| {
            format!(
                "{s}{}",
                if p.admin_consent_required {
                    " (admin consent required)"
                } else {
                    ""
                }
            )
        })
        .unwrap_or_else(|| s.to_string())
}

fn after_sign_in(
    state: &SimState,
    t: &mut Tenant,
    flow_id: &str,
    kind: &FlowKind,
    user: &User,
) -> Response {
    match kind {
        FlowKind::Authorize {
            client_id,
            scopes,
            force_consent,
            ..
        } => {
            let Ok(client) = lookup_client(state, t, client_id) else {
                return error_page(&AadError::app_not_found(client_id, &t.display_name));
            };
            delegated_consent_step(state, t, flow_id, &client, user, scopes, *force_consent)
        }
        FlowKind::Device { device_code } => {
            let Some(d) = t.auth.devices.get(device_code).cloned() else {
                return error_page(&AadError::bad(
                    "bad_verification_code",
                    70018,
                    "Invalid verification code entered.",
                ));
            };
            let Ok(client) = lookup_client(state, t, &d.client_id) else {
                return error_page(&AadError::app_not_found(&d.client_id, &t.display_name));
            };
            delegated_consent_step(state, t, flow_id, &client, user, &d.scopes, false)
        }
        FlowKind::AdminConsent { client_id, .. } => {
            let (roles, scopes) = static_permissions(t, client_id);
            let can = if roles.is_empty() {
                is_consent_admin(user)
            } else {
                user.roles
                    .iter()
                    .any(|r| GRAPH_APP_ROLE_GRANTERS.contains(&r.as_str()))
            };
            let name = flow_app_name(state, t, kind);
            if !can {
                return need_admin_page(flow_id, &name);
            }
            let cat = data::catalog();
            let mut items: Vec<String> = roles
                .iter()
                .map(|id| {
                    cat.app_roles_by_id
                        .get(id)
                        .map(|p| format!("{} (application permission)", p.value))
                        .unwrap_or_else(|| id.clone())
                })
                .collect();
            items.extend(
                scopes
                    .iter()
                    .map(|s| format!("{s} (delegated, for all users)")),
            );
            consent_page(flow_id, &name, user, &items, false, true)
        }
    }
}

/// The scopes among `scopes` that `user` has not consented to for `client` (their own grant or
/// the tenant-wide one).
fn unconsented_scopes<'a>(
    t: &Tenant,
    client: &Client,
    user: &User,
    scopes: &'a [String],
) -> Vec<&'a String> {
    let consented = client
        .sp_id
        .as_deref()
        .map(|sp| t.consented_scopes(sp, &user.id))
        .unwrap_or_default();
    scopes.iter().filter(|s| !consented.contains(s)).collect()
}

/// The first of `missing` that only an admin may consent to, when `user` is not one
/// (Microsoft then shows "Need admin approval", AADSTS90094, and issues nothing).
fn needs_admin_approval<'a>(user: &User, missing: &[&'a String]) -> Option<&'a String> {
    if is_consent_admin(user) {
        return None;
    }
    let cat = data::catalog();
    missing.iter().copied().find(|s| {
        cat.scopes_by_value
            .get(s.as_str())
            .is_some_and(|p| p.admin_consent_required)
    })
}

fn delegated_consent_step(
    state: &SimState,
    t: &mut Tenant,
    flow_id: &str,
    client: &Client,
    user: &User,
    scopes: &[String],
    force: bool,
) -> Response {
    let missing = unconsented_scopes(t, client, user, scopes);
    if missing.is_empty() && !force {
        return finish(state, t, flow_id, true);
    }
    if needs_admin_approval(user, &missing).is_some() {
        return need_admin_page(flow_id, &client.name);
    }
    let items: Vec<String> = scopes.iter().map(|s| scope_label(s)).collect();
    consent_page(
        flow_id,
        &client.name,
        user,
        &items,
        is_consent_admin(user),
        false,
    )
}

/// `POST /_login/consent`.
pub async fn consent(State(state): State<SimState>, RawForm(body): RawForm) -> Response {
    let f = parse_form(&body);
    let flow_id = f.get("flow").cloned().unwrap_or_default();
    let accept = f.get("decision").map(String::as_str) == Some("accept");
    let org = f.get("consent_org").map(String::as_str) == Some("on");
    let mut t = state.tenant();
    let Some(flow) = t.auth.flows.get(&flow_id).cloned() else {
        return error_page(&AadError::bad(
            "invalid_request",
            90014,
            "The sign-in session is unknown or has expired. Start again.",
        ));
    };
    let Some(user) = flow.user_id.as_deref().and_then(|u| t.user(u)).cloned() else {
        return error_page(&AadError::bad("invalid_request", 90014, "Sign in first."));
    };
    if !accept {
        return decline(&mut t, &flow_id, &flow.kind);
    }
    match &flow.kind {
        FlowKind::Authorize {
            client_id, scopes, ..
        } => {
            let Ok(client) = lookup_client(&state, &t, client_id) else {
                return error_page(&AadError::app_not_found(client_id, &t.display_name));
            };
            record_consent(&mut t, &client, &user, scopes, org);
            finish(&state, &mut t, &flow_id, true)
        }
        FlowKind::Device { device_code } => {
            let Some(d) = t.auth.devices.get(device_code).cloned() else {
                return error_page(&AadError::bad(
                    "bad_verification_code",
                    70018,
                    "Invalid verification code entered.",
                ));
            };
            let Ok(client) = lookup_client(&state, &t, &d.client_id) else {
                return error_page(&AadError::app_not_found(&d.client_id, &t.display_name));
            };
            record_consent(&mut t, &client, &user, &d.scopes, org);
            finish(&state, &mut t, &flow_id, true)
        }
        FlowKind::AdminConsent {
            client_id,
            redirect_uri,
            state: st,
            scope,
        } => {
            let Ok(client) = lookup_client(&state, &t, client_id) else {
                return error_page(&AadError::app_not_found(client_id, &t.display_name));
            };
            let (roles, scopes) = static_permissions(&t, client_id);
            let can = if roles.is_empty() {
                is_consent_admin(&user)
            } else {
                user.roles
                    .iter()
                    .any(|r| GRAPH_APP_ROLE_GRANTERS.contains(&r.as_str()))
            };
            if !can {
                return decline(&mut t, &flow_id, &flow.kind);
            }
            let sp = ensure_sp(&mut t, &client);
            grant_app_roles(&mut t, &sp, &roles);
            if !scopes.is_empty() {
                merge_grant(&mut t, &sp, None, &scopes);
            }
            t.auth.flows.remove(&flow_id);
            let mut p = vec![
                ("admin_consent", "True".to_string()),
                ("tenant", t.id.clone()),
                ("scope", scope.clone()),
            ];
            if let Some(s) = st {
                p.push(("state", s.clone()));
            }
            redirect_to(redirect_uri, &p, "query")
        }
    }
}

fn grant_app_roles(t: &mut Tenant, sp: &str, roles: &[String]) {
    let graph = t.graph_sp_id.clone();
    let sp_name = t.sp(sp).map(|s| s.display_name()).unwrap_or_default();
    for r in roles {
        if t.assignments
            .iter()
            .any(|a| a.principal_id == sp && a.resource_id == graph && &a.app_role_id == r)
        {
            continue;
        }
        let id = opaque_id();
        t.assignments.push(AppRoleAssignment {
            id: id.clone(),
            principal_id: sp.to_string(),
            resource_id: graph.clone(),
            app_role_id: r.clone(),
            body: json!({
                "id": id, "deletedDateTime": null, "appRoleId": r,
                "createdDateTime": fmt_time_frac(&Utc::now()), "principalDisplayName": sp_name,
                "principalId": sp, "principalType": "ServicePrincipal",
                "resourceDisplayName": "Microsoft Graph", "resourceId": graph,
            }),
            created: Instant::now(),
        });
    }
}

fn record_consent(t: &mut Tenant, client: &Client, user: &User, scopes: &[String], org: bool) {
    let sp = ensure_sp(t, client);
    if org && is_consent_admin(user) {
        merge_grant(t, &sp, None, scopes);
    } else {
        merge_grant(t, &sp, Some(&user.id), scopes);
    }
}

fn decline(t: &mut Tenant, flow_id: &str, kind: &FlowKind) -> Response {
    t.auth.flows.remove(flow_id);
    match kind {
        FlowKind::Authorize {
            redirect_uri,
            response_mode,
            state,
            ..
        } => error_redirect(
            redirect_uri,
            response_mode,
            state.as_deref(),
            &AadError::bad(
                "access_denied",
                65004,
                "User declined to consent to access the app.",
            ),
        ),
        FlowKind::AdminConsent {
            redirect_uri,
            state,
            ..
        } => {
            let mut p = vec![
                ("admin_consent", "True".to_string()),
                ("error", "access_denied".to_string()),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.".to_string(),
                ),
            ];
            if let Some(s) = state {
                p.push(("state", s.clone()));
            }
            redirect_to(redirect_uri, &p, "query")
        }
        FlowKind::Device { device_code } => {
            if let Some(d) = t.auth.devices.get_mut(device_code) {
                d.status = DeviceStatus::Declined;
            }
            page(
                StatusCode::OK,
                "Sign-in cancelled",
                "<p id=\"done\">You declined. You can close this window.</p>",
            )
        }
    }
}

/// Completes a flow after sign-in (and consent): issues the code / approves the device.
fn finish(_state: &SimState, t: &mut Tenant, flow_id: &str, _consented: bool) -> Response {
    let Some(flow) = t.auth.flows.remove(flow_id) else {
        return error_page(&AadError::bad(
            "invalid_request",
            90014,
            "The sign-in session is unknown or has expired.",
        ));
    };
    let user_id = flow.user_id.clone().unwrap_or_default();
    match flow.kind {
        FlowKind::Authorize {
            client_id,
            redirect_uri,
            response_mode,
            state,
            scopes,
            oidc,
            form,
            code_challenge,
            code_challenge_method,
            nonce,
            ..
        } => {
            let code = random_token("0.AXoA");
            t.auth.codes.insert(
                code.clone(),
                IssuedCode {
                    client_id,
                    redirect_uri: redirect_uri.clone(),
                    user_id,
                    scopes,
                    oidc,
                    form,
                    code_challenge,
                    code_challenge_method,
                    nonce,
                    issued: Instant::now(),
                    redeemed: false,
                },
            );
            let mut p = vec![("code", code)];
            if let Some(s) = state {
                p.push(("state", s));
            }
            p.push(("session_state", uuid::Uuid::new_v4().to_string()));
            redirect_to(&redirect_uri, &p, &response_mode)
        }
        FlowKind::Device { device_code } => {
            if let Some(d) = t.auth.devices.get_mut(&device_code) {
                d.status = DeviceStatus::Approved {
                    user_id,
                    scopes: d.scopes.clone(),
                };
            }
            page(StatusCode::OK, "You're signed in", "<p id=\"done\">You have signed in to the application on your device. You may now close this window.</p>")
        }
        FlowKind::AdminConsent { .. } => error_page(&AadError::bad(
            "invalid_request",
            90014,
            "Unexpected state.",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// device code

fn user_code() -> String {
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    uuid::Uuid::new_v4().as_bytes()[..9]
        .iter()
        .map(|b| ALPHA[(*b as usize) % ALPHA.len()] as char)
        .collect()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn device_code(
    State(state): State<SimState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let r = (|| -> Result<Value, AadError> {
        resolve_tenant(&state, &tenant)?;
        let f = parse_form(&body);
        let client_id = f.get("client_id").cloned().unwrap_or_default();
        let knobs = state.knobs();
        let mut t = state.tenant();
        let client = lookup_client(&state, &t, &client_id)?;
        if !client.first_party && !client.fallback_public {
            return Err(AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (Enable 'Allow public client flows' / isFallbackPublicClient for device code.)"));
        }
        let scopes = parse_scopes(f.get("scope").map(String::as_str).unwrap_or_default())?;
        let graph = if scopes.default || scopes.graph.is_empty() {
            default_request(&t, &client)
        } else {
            scopes.graph.clone()
        };
        let form = scopes.form();
        let uc = user_code();
        let dc = random_token("DAQABAAEAAAD");
        t.auth.devices.insert(
            dc.clone(),
            DeviceFlow {
                client_id,
                user_code: uc.clone(),
                scopes: graph,
                oidc: scopes.oidc,
                form,
                created: Instant::now(),
                last_poll: None,
                status: DeviceStatus::Pending,
            },
        );
        let uri = format!("{}/devicelogin", state.base_url());
        Ok(json!({
            "user_code": uc,
            "device_code": dc,
            "verification_uri": uri,
            "expires_in": knobs.device_code_expires_secs,
            "interval": knobs.device_code_interval_secs,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {uc} to authenticate."),
        }))
    })();
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response_for(&headers),
    }
}

/// `GET /devicelogin`: the code-entry page.
pub async fn device_login_page(State(state): State<SimState>) -> Response {
    let t = state.tenant();
    let mut opts = String::new();
    for u in t
        .users
        .iter()
        .filter(|u| !u.upn.starts_with("gen"))
        .take(80)
    {
        opts.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            esc(&u.upn),
            esc(&u.display_name)
        ));
    }
    page(
        StatusCode::OK,
        "Enter code",
        &format!(
            "<p>Enter the code displayed on your app or device.</p><form method=\"post\" action=\"/devicelogin\">\
<label>Code<input type=\"text\" name=\"user_code\" autofocus></label>\
<label>Account<input type=\"text\" name=\"username\" list=\"users\"></label><datalist id=\"users\">{opts}</datalist>\
<label>Password (optional in practice)<input type=\"password\" name=\"password\"></label>\
<button type=\"submit\">Next</button></form>"
        ),
    )
}

/// `POST /devicelogin`: checks the code, signs the user in, continues to consent.
pub async fn device_login_submit(
    State(state): State<SimState>,
    RawForm(body): RawForm,
) -> Response {
    let f = parse_form(&body);
    let code = f
        .get("user_code")
        .map(|c| c.trim().replace('-', "").to_uppercase())
        .unwrap_or_default();
    let username = f.get("username").cloned().unwrap_or_default();
    let mut t = state.tenant();
    let knobs = state.knobs();
    let Some((dc, d)) = t
        .auth
        .devices
        .iter()
        .find(|(_, d)| d.user_code == code)
        .map(|(k, d)| (k.clone(), d.clone()))
    else {
        return error_page(&AadError::bad(
            "bad_verification_code",
            70018,
            "The code you entered is invalid.",
        ));
    };
    if d.created.elapsed() > Duration::from_secs(knobs.device_code_expires_secs) {
        return error_page(&AadError::bad(
            "expired_token",
            70019,
            "Verification code expired.",
        ));
    }
    let Some(user) = t.user(username.trim()).cloned() else {
        return error_page(&AadError::bad(
            "invalid_request",
            50034,
            format!(
                "The user account {username} does not exist in the Contoso Practice directory."
            ),
        ));
    };
    let flow_id = random_token("flow-");
    let kind = FlowKind::Device { device_code: dc };
    t.auth.flows.insert(
        flow_id.clone(),
        PendingFlow {
            kind: kind.clone(),
            user_id: Some(user.id.clone()),
        },
    );
    after_sign_in(&state, &mut t, &flow_id, &kind, &user)
}

/// Approves (or declines) a pending device code for `upn` without the HTML pages, granting
/// consent as needed; like the pages, a user who is not an admin cannot consent to an
/// admin-only permission (the code is then declined and the error says why). Used by
/// `/_sim/devicecode/approve` and tests.
pub fn approve_device_code(
    state: &SimState,
    user_code: &str,
    upn: &str,
    approve: bool,
) -> Result<(), String> {
    let mut t = state.tenant();
    let code = user_code.trim().replace('-', "").to_uppercase();
    let dc = t
        .auth
        .devices
        .iter()
        .find(|(_, d)| d.user_code == code)
        .map(|(k, _)| k.clone())
        .ok_or("unknown user code")?;
    let user = t.user(upn).cloned().ok_or("unknown user")?;
    let d = t
        .auth
        .devices
        .get(&dc)
        .cloned()
        .ok_or("unknown user code")?;
    if !approve {
        if let Some(d) = t.auth.devices.get_mut(&dc) {
            d.status = DeviceStatus::Declined;
        }
        return Ok(());
    }
    let client = lookup_client(state, &t, &d.client_id).map_err(|e| e.description)?;
    let missing = unconsented_scopes(&t, &client, &user, &d.scopes);
    if let Some(scope) = needs_admin_approval(&user, &missing) {
        // As on the pages: the user can only go back without consenting.
        if let Some(d) = t.auth.devices.get_mut(&dc) {
            d.status = DeviceStatus::Declined;
        }
        return Err(format!(
            "AADSTS90094: {upn} cannot consent to {scope} for {}: only an admin can grant it. \
             The device code is declined; sign in as an admin (or grant admin consent first).",
            client.name
        ));
    }
    record_consent(&mut t, &client, &user, &d.scopes, true);
    if let Some(d) = t.auth.devices.get_mut(&dc) {
        d.status = DeviceStatus::Approved {
            user_id: user.id.clone(),
            scopes: d.scopes.clone(),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_ignore_port() {
        assert!(redirect_matches(
            "http://localhost",
            "http://localhost:53127"
        ));
        assert!(redirect_matches(
            "http://localhost",
            "http://localhost:53127/"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:9/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://localhost:9/other"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb2"
        ));
    }

    #[test]
    fn pkce_s256() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "S256",
            v
        ));
        assert!(!pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cX",
            "S256",
            v
        ));
    }

    #[test]
    fn scopes_parse() {
        let s =
            parse_scopes("openid offline_access https://graph.microsoft.com/User.Read Mail.Read")
                .unwrap();
        assert_eq!(s.graph, vec!["User.Read", "Mail.Read"]);
        assert_eq!(s.oidc, vec!["openid", "offline_access"]);
        assert!(parse_scopes("https://graph.microsoft.com/Nope.Nope").is_err());
        assert!(parse_scopes("https://outlook.office.com/Mail.Read").is_err());
        assert!(
            parse_scopes("https://graph.microsoft.com/.default")
                .unwrap()
                .default
        );
    }
}
