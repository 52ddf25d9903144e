//! The `/_sim/` control and observation API: knobs (GET/PUT), reset, counters, the redacted
//! request log, seeded users, device code approval, one-shot failures, refresh token
//! revocation, and what an admin might do behind AppGrant's back (list an app's secrets,
//! make one expire early, list its certificates or move one's expiry, delete an app with its
//! enterprise app, put back the apps made by hand from the vendors' guides). Not part of Microsoft's
//! surface; never throttled or delayed.

use crate::config::Knobs;
use crate::identity;
use crate::seed;
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(b: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(b).map_err(|e| Box::new(bad(e.to_string())))
}

/// Routes under `/_sim`.
pub fn routes() -> Router<SimState> {
    Router::new()
        .route("/_sim/info", get(info))
        .route("/_sim/knobs", get(get_knobs).put(put_knobs))
        .route("/_sim/reset", post(reset))
        .route("/_sim/counters", get(counters))
        .route("/_sim/counters/reset", post(reset_counters))
        .route("/_sim/requests", get(requests))
        .route("/_sim/users", get(users))
        .route("/_sim/devicecode/approve", post(approve))
        .route("/_sim/fail-next", post(fail_next))
        .route("/_sim/revoke-refresh-tokens", post(revoke))
        .route("/_sim/hand-made-apps", post(hand_made_apps))
        .route("/_sim/apps/{app_id}", delete(remove_app))
        .route("/_sim/apps/{app_id}/secrets", get(list_secrets))
        .route("/_sim/apps/{app_id}/objects", get(list_objects))
        .route("/_sim/apps/{app_id}/secrets/{key_id}/expire", post(expire))
        .route("/_sim/apps/{app_id}/certificates", get(list_certificates))
        .route(
            "/_sim/apps/{app_id}/certificates/{key_id}/expire",
            post(expire_certificate),
        )
}

/// Tenant and endpoint facts for a client's configuration.
pub fn info_value(state: &SimState) -> serde_json::Value {
    let base = state.base_url();
    let t = state.tenant();
    json!({
        "baseUrl": base,
        "loginBase": base,
        "graphBase": base,
        "graphV1": format!("{base}/v1.0"),
        "tenantId": t.id,
        "tenantDomain": t.domain,
        "tenantName": t.display_name,
        "publicClientId": crate::data::PUBLIC_CLIENT_ID,
        "adminUpn": format!("avery.admin@{}", t.domain),
        "nonAdminUpn": format!("robin.user@{}", t.domain),
        "graphServicePrincipalId": t.graph_sp_id,
    })
}

async fn info(State(s): State<SimState>) -> Response {
    Json(info_value(&s)).into_response()
}

async fn get_knobs(State(s): State<SimState>) -> Response {
    Json(s.knobs()).into_response()
}

async fn put_knobs(State(s): State<SimState>, body: Bytes) -> Response {
    match parse::<Knobs>(&body) {
        Ok(k) => {
            s.set_knobs(k);
            Json(s.knobs()).into_response()
        }
        Err(r) => *r,
    }
}

async fn reset(State(s): State<SimState>) -> Response {
    s.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn counters(State(s): State<SimState>) -> Response {
    Json(s.counters()).into_response()
}

async fn reset_counters(State(s): State<SimState>) -> Response {
    s.reset_counters();
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(s): State<SimState>) -> Response {
    Json(s.request_log()).into_response()
}

async fn users(State(s): State<SimState>) -> Response {
    Json(seed::seeded_user_list(&s.tenant())).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Approve {
    user_code: String,
    user: String,
    #[serde(default)]
    decline: bool,
}

async fn approve(State(s): State<SimState>, body: Bytes) -> Response {
    let a: Approve = match parse(&body) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match identity::approve_device_code(&s, &a.user_code, &a.user, !a.decline) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    count: u32,
    status: u16,
}

async fn fail_next(State(s): State<SimState>, body: Bytes) -> Response {
    match parse::<FailNext>(&body) {
        Ok(f) => {
            s.fail_next(f.count, f.status);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => *r,
    }
}

async fn revoke(State(s): State<SimState>) -> Response {
    s.revoke_refresh_tokens();
    StatusCode::NO_CONTENT.into_response()
}

/// An app's client secrets as the portal lists them (no secret values).
pub fn app_secrets(state: &SimState, app_id: &str) -> Result<Vec<serde_json::Value>, String> {
    let t = state.tenant();
    let app = t
        .apps
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("no application with appId {app_id}"))?;
    Ok(app
        .secrets
        .iter()
        .map(|s| {
            json!({
                "keyId": s.key_id,
                "displayName": s.display_name,
                "startDateTime": crate::model::fmt_time(&s.start),
                "endDateTime": crate::model::fmt_time(&s.end),
                "hint": s.hint,
            })
        })
        .collect())
}

/// Every object the tenant holds for one app, with its id, as an admin would find them in the
/// portal and Exchange: the app registration, its secrets, its enterprise app, the app role
/// assignments it holds (application permissions) and the ones made to it (users and groups
/// who may sign in), its delegated grants, and its Exchange role assignments with their
/// management scopes.
pub fn app_objects(state: &SimState, app_id: &str) -> Result<serde_json::Value, String> {
    let t = state.tenant();
    let app = t
        .apps
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("no application with appId {app_id}"))?;
    let sp = t.sps.iter().find(|s| s.app_id.eq_ignore_ascii_case(app_id));
    let sp_id = sp.map(|s| s.id.clone()).unwrap_or_default();
    // Distinct ids, in the order met (two role assignments can share one scope).
    let ids = |it: &mut dyn Iterator<Item = String>| {
        let mut out: Vec<String> = Vec::new();
        for id in it {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    };
    let exchange: Vec<_> = t
        .ex_assignments
        .iter()
        .filter(|a| {
            a.deleted.is_none()
                && (a.sp_id.eq_ignore_ascii_case(&sp_id) || a.sp_id.eq_ignore_ascii_case(app_id))
        })
        .collect();
    Ok(json!({
        "objectId": app.id,
        "appId": app.app_id,
        "secretKeyIds": ids(&mut app.secrets.iter().map(|s| s.key_id.clone())),
        "servicePrincipalId": sp.map(|s| s.id.clone()),
        "appRoleAssignmentIds": ids(&mut t.assignments.iter().filter(|a| !sp_id.is_empty() && a.principal_id == sp_id).map(|a| a.id.clone())),
        "assignedToIds": ids(&mut t.assignments.iter().filter(|a| !sp_id.is_empty() && a.resource_id == sp_id).map(|a| a.id.clone())),
        "oauth2PermissionGrantIds": ids(&mut t.grants.iter().filter(|g| !sp_id.is_empty() && g.client_id == sp_id).map(|g| g.id.clone())),
        "exchangeRoleAssignmentIds": ids(&mut exchange.iter().map(|a| a.id.clone())),
        "exchangeScopeIds": ids(&mut exchange.iter().filter_map(|a| match &a.target {
            crate::model::ExchangeTarget::AppScope(scope) => Some(scope.clone()),
            _ => None,
        })),
    }))
}

async fn list_objects(State(s): State<SimState>, Path(app_id): Path<String>) -> Response {
    match app_objects(&s, &app_id) {
        Ok(v) => Json(v).into_response(),
        Err(e) => not_found(e),
    }
}

/// Sets a secret's `endDateTime` (in the past: it has expired, and the token endpoint
/// answers AADSTS7000222). A start after the new end moves back a day before it.
pub fn set_secret_end(
    state: &SimState,
    app_id: &str,
    key_id: &str,
    end: DateTime<Utc>,
) -> Result<(), String> {
    let mut t = state.tenant();
    let app = t
        .apps
        .iter_mut()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("no application with appId {app_id}"))?;
    let secret = app
        .secrets
        .iter_mut()
        .find(|s| s.key_id.eq_ignore_ascii_case(key_id))
        .ok_or_else(|| format!("no secret with keyId {key_id} on {app_id}"))?;
    secret.end = end;
    if secret.start >= end {
        secret.start = end - Duration::days(1);
    }
    Ok(())
}

/// An app's certificates as the portal lists them (`keyCredentials` of type
/// AsymmetricX509Cert): `keyId`, `displayName`, `thumbprint` (SHA-1 hex of the uploaded
/// certificate; `customKeyIdentifier` for seeded ones without a key), `thumbprintSha256`,
/// `startDateTime`, `endDateTime`, `hasKey`.
pub fn app_certificates(state: &SimState, app_id: &str) -> Result<Vec<serde_json::Value>, String> {
    let t = state.tenant();
    let app = find_app(&t, app_id)?;
    let uploaded = app.uploaded_keys();
    Ok(app.body["keyCredentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| k["type"] == "AsymmetricX509Cert")
        .map(|k| {
            let cert = uploaded.iter().find(|u| k["keyId"] == u.key_id.as_str());
            json!({
                "keyId": k["keyId"],
                "displayName": k["displayName"],
                "thumbprint": cert.map_or(k["customKeyIdentifier"].clone(), |c| json!(c.cert.thumbprint_hex())),
                "thumbprintSha256": cert.map(|c| crate::certs::hex_upper(&c.cert.sha256)),
                "startDateTime": k["startDateTime"],
                "endDateTime": k["endDateTime"],
                "hasKey": cert.is_some(),
            })
        })
        .collect())
}

/// Sets a certificate credential's `endDateTime` (in the past: it has expired; the token
/// endpoint then refuses assertions signed with it, and it no longer proves possession for
/// addKey). A start after the new end moves back a day before it.
pub fn set_certificate_end(
    state: &SimState,
    app_id: &str,
    key_id: &str,
    end: DateTime<Utc>,
) -> Result<(), String> {
    let mut t = state.tenant();
    let app = t
        .apps
        .iter_mut()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("no application with appId {app_id}"))?;
    let cred = app.body["keyCredentials"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .find(|k| {
            k["keyId"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(key_id))
        })
        .ok_or_else(|| format!("no certificate with keyId {key_id} on {app_id}"))?;
    let start = cred["startDateTime"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    if start.is_none_or(|s| s >= end) {
        cred["startDateTime"] = json!(crate::model::fmt_time(&(end - Duration::days(1))));
    }
    cred["endDateTime"] = json!(crate::model::fmt_time(&end));
    Ok(())
}

fn find_app<'a>(
    t: &'a crate::model::Tenant,
    app_id: &str,
) -> Result<&'a crate::model::Application, String> {
    t.apps
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("no application with appId {app_id}"))
}

/// Deletes an app registration and its enterprise app (with its grants), as an admin
/// would in the portal.
pub fn delete_app(state: &SimState, app_id: &str) -> Result<(), String> {
    let mut t = state.tenant();
    let i = t
        .apps
        .iter()
        .position(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("no application with appId {app_id}"))?;
    t.apps.remove(i);
    let sps: Vec<String> = t
        .sps
        .iter()
        .filter(|s| s.app_id.eq_ignore_ascii_case(app_id))
        .map(|s| s.id.clone())
        .collect();
    for sp in sps {
        crate::graph::apps::remove_sp_cascade(&mut t, &sp);
    }
    Ok(())
}

fn not_found(msg: String) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": msg}))).into_response()
}

async fn list_secrets(State(s): State<SimState>, Path(app_id): Path<String>) -> Response {
    match app_secrets(&s, &app_id) {
        Ok(list) => Json(list).into_response(),
        Err(e) => not_found(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expire {
    /// When it expires; default: a minute ago.
    end_date_time: Option<DateTime<Utc>>,
}

async fn expire(
    State(s): State<SimState>,
    Path((app_id, key_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    set_end(&s, &app_id, &key_id, &body, set_secret_end)
}

/// An expire control: reads the `{"endDateTime"?}` body and moves one credential's expiry with
/// `set` (a secret's or a certificate's).
fn set_end(
    s: &SimState,
    app_id: &str,
    key_id: &str,
    body: &Bytes,
    set: fn(&SimState, &str, &str, DateTime<Utc>) -> Result<(), String>,
) -> Response {
    let end = match expiry(body) {
        Ok(end) => end,
        Err(r) => return *r,
    };
    match set(s, app_id, key_id, end) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => not_found(e),
    }
}

/// Puts the app registrations an admin made by hand from the vendors' guides (see
/// `seed_apps`) back into the tenant, those still missing; answers their names.
async fn hand_made_apps(State(s): State<SimState>) -> Response {
    let added = crate::seed_apps::add_hand_made(&mut s.tenant());
    Json(json!({ "added": added })).into_response()
}

async fn list_certificates(State(s): State<SimState>, Path(app_id): Path<String>) -> Response {
    match app_certificates(&s, &app_id) {
        Ok(list) => Json(list).into_response(),
        Err(e) => not_found(e),
    }
}

async fn expire_certificate(
    State(s): State<SimState>,
    Path((app_id, key_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    set_end(&s, &app_id, &key_id, &body, set_certificate_end)
}

/// The `{"endDateTime"?}` body of an expire control (default: a minute ago).
fn expiry(body: &Bytes) -> Result<DateTime<Utc>, Box<Response>> {
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        Expire::default()
    } else {
        parse::<Expire>(body)?
    };
    Ok(input
        .end_date_time
        .unwrap_or_else(|| Utc::now() - Duration::minutes(1)))
}

async fn remove_app(State(s): State<SimState>, Path(app_id): Path<String>) -> Response {
    match delete_app(&s, &app_id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => not_found(e),
    }
}
