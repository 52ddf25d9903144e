//! JSON batching (`POST /$batch`): up to 20 requests, unique ids, `dependsOn` sequencing with
//! 424 for failed dependencies, each item throttled individually and dispatched through the
//! same code as a direct request.

use super::{dispatch, gate_error, split_keys, Ctx, GResult, Reply};
use crate::error::{parse_body, GraphError};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Instant;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchInput {
    requests: Vec<BatchItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BatchItem {
    id: String,
    method: String,
    url: String,
    headers: Option<HashMap<String, String>>,
    body: Option<Value>,
    depends_on: Option<Vec<String>>,
}

fn item_error(
    e: &GraphError,
    request_id: &str,
    client_request_id: &str,
) -> (u16, Map<String, Value>, Value) {
    let mut h = Map::new();
    h.insert("Content-Type".into(), json!("application/json"));
    if let Some(ra) = e.retry_after {
        h.insert("Retry-After".into(), json!(ra.to_string()));
    }
    (e.status.as_u16(), h, e.body(request_id, client_request_id))
}

/// Handles `POST /$batch`.
pub fn handle(ctx: &Ctx) -> GResult {
    if ctx.method != Method::POST {
        return Err(GraphError::method_not_allowed());
    }
    let input: BatchInput = parse_body(&ctx.body, "batchRequest")?;
    let bad = |m: &str| GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", m);
    if input.requests.is_empty() {
        return Err(bad(
            "Invalid batch payload format: the requests array is empty.",
        ));
    }
    if input.requests.len() > 20 {
        return Err(bad("Number of batch requests exceeds the limit of 20."));
    }
    let mut seen: Vec<String> = Vec::new();
    for r in &input.requests {
        let lower = r.id.to_lowercase();
        if seen.contains(&lower) {
            return Err(bad(&format!(
                "Batch request contains duplicate id '{}'.",
                r.id
            )));
        }
        for d in r.depends_on.iter().flatten() {
            if !seen.contains(&d.to_lowercase()) {
                return Err(bad(&format!(
                    "Request '{}' depends on '{d}', which is not an earlier request of the batch.",
                    r.id
                )));
            }
        }
        seen.push(lower);
    }
    let client_request_id = ctx
        .headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    for item in input.requests {
        let request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let failed_dep = item
            .depends_on
            .iter()
            .flatten()
            .any(|d| statuses.get(&d.to_lowercase()).is_none_or(|s| *s >= 400));
        let (status, headers, body, template) = if failed_dep {
            let mut h = Map::new();
            h.insert("Content-Type".into(), json!("application/json"));
            (
                424,
                h,
                Some(
                    json!({"error": {"code": "FailedDependency", "message": "Dependent request failed."}}),
                ),
                "(dependency failed)".to_string(),
            )
        } else {
            run_item(ctx, &item, &request_id, &client_request_id)
        };
        ctx.state.record(
            &item.method.to_uppercase(),
            &item.url,
            &format!("/{}{template} [batch item]", ctx.version),
            status,
            started.elapsed(),
            &request_id,
        );
        statuses.insert(item.id.to_lowercase(), status);
        let mut r = json!({"id": item.id, "status": status, "headers": headers});
        if let Some(b) = body {
            r["body"] = b;
        }
        responses.push(r);
    }
    Ok(Reply::ok(json!({ "responses": responses })))
}

fn run_item(
    ctx: &Ctx,
    item: &BatchItem,
    request_id: &str,
    client_request_id: &str,
) -> (u16, Map<String, Value>, Option<Value>, String) {
    let fail = |e: GraphError, t: &str| {
        let (s, h, b) = item_error(&e, request_id, client_request_id);
        (s, h, Some(b), t.to_string())
    };
    let Ok(method) = Method::from_bytes(item.method.to_uppercase().as_bytes()) else {
        return fail(
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Invalid HTTP method.",
            ),
            "(invalid)",
        );
    };
    let mut headers = ctx.headers.clone();
    for (k, v) in item.headers.iter().flatten() {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.to_lowercase().as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    let has_ct = item
        .headers
        .iter()
        .flatten()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if item.body.is_some() && !has_ct {
        return fail(
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Content-Type header must be specified for a request with a body.",
            ),
            "(invalid)",
        );
    }
    if let Some(e) = gate_error(ctx.state.gate()) {
        return fail(e, "(throttled)");
    }
    let url = item.url.trim_start_matches('/');
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let normalized = super::paths::normalize(split_keys(
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(super::percent_decode)
            .collect(),
    ));
    if normalized.count {
        return fail(
            super::paths::not_implemented("/$count inside $batch"),
            "(unsupported)",
        );
    }
    let segs = normalized.segs;
    let body = item
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let sub = Ctx {
        state: ctx.state.clone(),
        version: ctx.version,
        method,
        segs,
        query: query.to_string(),
        headers: strip_hop(headers),
        body: Bytes::from(body),
        caller: ctx.caller.clone(),
    };
    let (template, result) = dispatch(&sub);
    match result {
        Ok(r) => {
            let mut h = Map::new();
            if r.body.is_some() {
                h.insert("Content-Type".into(), json!("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"));
            }
            for (k, v) in r.headers {
                let name = if k == "location" { "Location" } else { k };
                h.insert(name.to_string(), json!(v));
            }
            (r.status.as_u16(), h, r.body, template)
        }
        Err(e) => fail(e, &template),
    }
}

fn strip_hop(mut h: HeaderMap) -> HeaderMap {
    h.remove("content-length");
    h
}
