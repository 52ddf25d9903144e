//! The `/_sim/` control and observation API: knobs (GET/PUT), reset, counters, the redacted
//! request log, seeded users, device code approval, one-shot failures and refresh token
//! revocation. Not part of Microsoft's surface; never throttled or delayed.

use crate::config::Knobs;
use crate::identity;
use crate::seed;
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
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
