//! Microsoft Graph front door: one axum handler per version (`/v1.0/*`, `/beta/*`) that
//! applies throttling/faults, authenticates the bearer token, and dispatches on the path
//! segments to the resource modules. Dispatch is plain Rust (not axum routing) so that
//! `$batch` items go through exactly the same code, and so that OData key segments such as
//! `applications(appId='...')` are easy to match.

pub mod apps;
pub mod batch;
pub mod directory;
pub mod keys;
pub mod mail;
pub mod paths;

use crate::data::roles;
use crate::error::GraphError;
use crate::jwt;
use crate::odata::{self, OData};
use crate::state::{GateVerdict, SimState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Route template recorded in counters (set as a response extension).
#[derive(Debug, Clone)]
pub struct RouteTemplate(pub String);

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// Delegated token.
    User {
        user_id: String,
        scopes: Vec<String>,
        client_id: String,
        /// Directory role template ids the user holds (looked up when the request arrives,
        /// not taken from the token's `wids`).
        dir_roles: Vec<String>,
    },
    /// App-only token.
    App {
        sp_id: String,
        app_id: String,
        roles: Vec<String>,
    },
}

impl Caller {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Caller::User { user_id, .. } => Some(user_id),
            Caller::App { .. } => None,
        }
    }

    fn has_any(list: &[String], wanted: &[&str]) -> bool {
        list.iter()
            .any(|s| wanted.iter().any(|w| w.eq_ignore_ascii_case(s)))
    }
}

/// One Graph request, already authenticated.
pub struct Ctx {
    pub state: SimState,
    pub version: &'static str,
    pub method: Method,
    pub segs: Vec<String>,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub caller: Caller,
}

/// A successful Graph answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(v: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(v),
            headers: vec![],
        }
    }
    pub fn created(v: Value) -> Reply {
        Reply {
            status: StatusCode::CREATED,
            body: Some(v),
            headers: vec![],
        }
    }
    pub fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: vec![],
        }
    }
    /// A `text/plain` answer (`/$count`).
    pub fn text(s: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(Value::String(s)),
            headers: vec![("content-type", "text/plain; charset=utf-8".into())],
        }
    }
    pub fn accepted() -> Reply {
        Reply {
            status: StatusCode::ACCEPTED,
            body: None,
            headers: vec![],
        }
    }
}

pub type GResult = Result<Reply, GraphError>;

impl Ctx {
    /// `http://127.0.0.1:{port}/v1.0`.
    pub fn base(&self) -> String {
        format!("{}/{}", self.state.base_url(), self.version)
    }

    /// `@odata.context` value for `suffix`.
    pub fn context(&self, suffix: &str) -> String {
        format!("{}/$metadata#{suffix}", self.base())
    }

    /// URL of the current collection (for nextLink).
    pub fn url_base(&self) -> String {
        format!("{}/{}", self.base(), self.segs.join("/"))
    }

    /// One page of `items` (already filtered) as the collection named by `context`, with
    /// `$top`, `$count` and `@odata.nextLink` applied.
    pub fn page_reply(
        &self,
        od: &OData,
        items: Vec<Value>,
        context: &str,
        type_name: &str,
    ) -> GResult {
        if od.search.is_some() && !SEARCHABLE.contains(&type_name) {
            return Err(GraphError::unsupported_query(format!(
                "$search is not supported on {type_name} collections."
            )));
        }
        let total = items.len();
        let body = odata::page(
            od,
            items,
            total,
            self.context(context),
            &self.url_base(),
            type_name,
            100,
        )?;
        Ok(Reply::ok(body))
    }

    pub fn odata(&self) -> Result<OData, GraphError> {
        let mut od = OData::parse(&self.query)?;
        od.eventual = self.eventual();
        Ok(od)
    }

    pub fn eventual(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }

    /// Requires one of the delegated scopes (delegated token) or app roles (app token).
    pub fn require(&self, delegated: &[&str], application: &[&str]) -> Result<(), GraphError> {
        let ok = match &self.caller {
            Caller::User { scopes, .. } => Caller::has_any(scopes, delegated),
            Caller::App { roles, .. } => Caller::has_any(roles, application),
        };
        if ok {
            Ok(())
        } else {
            Err(GraphError::denied())
        }
    }

    /// Directory role template ids of the signed-in user (current, not from the token).
    pub fn user_roles(&self) -> Vec<String> {
        match &self.caller {
            Caller::User { dir_roles, .. } => dir_roles.clone(),
            Caller::App { .. } => vec![],
        }
    }

    /// Delegated callers need one of `roles`; app-only callers pass (their app roles were
    /// checked by `require`).
    pub fn require_role(&self, allowed: &[&str]) -> Result<(), GraphError> {
        match &self.caller {
            Caller::App { .. } => Ok(()),
            Caller::User { .. } => {
                if self
                    .user_roles()
                    .iter()
                    .any(|r| allowed.contains(&r.as_str()))
                {
                    Ok(())
                } else {
                    Err(GraphError::denied())
                }
            }
        }
    }
}

/// Entity types whose lists apply `$search` (Microsoft supports it on these directory objects).
const SEARCHABLE: [&str; 4] = ["user", "group", "application", "servicePrincipal"];

/// Roles that can manage any application registration / service principal.
pub const APP_MANAGERS: [&str; 3] = [
    roles::GLOBAL_ADMIN,
    roles::APPLICATION_ADMIN,
    roles::CLOUD_APPLICATION_ADMIN,
];
/// Roles that can grant Microsoft Graph application permissions.
pub const GRAPH_APP_ROLE_GRANTERS: [&str; 2] = [roles::GLOBAL_ADMIN, roles::PRIVILEGED_ROLE_ADMIN];
/// Roles that can grant tenant-wide delegated consent.
pub const DELEGATED_GRANTERS: [&str; 4] = [
    roles::GLOBAL_ADMIN,
    roles::PRIVILEGED_ROLE_ADMIN,
    roles::APPLICATION_ADMIN,
    roles::CLOUD_APPLICATION_ADMIN,
];

fn unauthorized(message: &str) -> GraphError {
    GraphError::new(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    )
}

/// Validates the bearer token and turns it into a `Caller`.
pub fn authenticate(state: &SimState, headers: &HeaderMap) -> Result<Caller, GraphError> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .unwrap_or_default()
        .trim();
    if token.is_empty() {
        return Err(unauthorized("Access token is empty."));
    }
    let claims = jwt::verify_graph_token(token).map_err(|e| {
        let m = e.to_string();
        if m.contains("Expired") {
            unauthorized("Lifetime validation failed, the token is expired.")
        } else if m.contains("Audience") {
            unauthorized("Access token validation failure. Invalid audience.")
        } else {
            unauthorized("Access token validation failure.")
        }
    })?;
    let t = state.tenant();
    if claims["tid"].as_str() != Some(t.id.as_str()) {
        return Err(unauthorized(
            "Access token validation failure. Invalid tenant.",
        ));
    }
    let s = |k: &str| claims[k].as_str().unwrap_or_default().to_string();
    if claims["idtyp"] == "app" {
        let sp_id = s("oid");
        if t.sp(&sp_id).is_none() {
            return Err(unauthorized("Access token validation failure."));
        }
        let roles = claims["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Caller::App {
            sp_id,
            app_id: s("appid"),
            roles,
        })
    } else {
        let user_id = s("oid");
        let Some(user) = t.user(&user_id) else {
            return Err(unauthorized("Access token validation failure."));
        };
        Ok(Caller::User {
            dir_roles: user.roles.clone(),
            user_id,
            scopes: s("scp").split_whitespace().map(str::to_string).collect(),
            client_id: s("appid"),
        })
    }
}

fn decode_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits OData key segments: `applications(appId='x')` becomes `applications`, `appId='x'`.
pub(crate) fn split_keys(segs: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(segs.len() + 1);
    for s in segs {
        if let Some(open) = s.find('(') {
            if s.ends_with(')') && open > 0 {
                out.push(s[..open].to_string());
                out.push(s[open + 1..s.len() - 1].to_string());
                continue;
            }
        }
        out.push(s);
    }
    out
}

/// Runs one Graph request (also used by `$batch` items). Returns the route template and the
/// result. A documented Graph path the simulator does not model is a 501, not a 400.
pub fn dispatch(ctx: &Ctx) -> (String, GResult) {
    let (template, result) = dispatch_modelled(ctx);
    match result {
        Err(e) if e.is_unknown_segment() => match paths::not_modelled(&ctx.segs) {
            Some(ni) => (template, Err(ni)),
            None => (template, Err(e)),
        },
        other => (template, other),
    }
}

/// `GET {collection}/$count`: the collection's size as text (directory objects need
/// `ConsistencyLevel: eventual`, as in Microsoft Graph).
fn dispatch_count(ctx: &mut Ctx) -> (String, GResult) {
    let shown = format!("/{}/$count", ctx.segs.join("/"));
    if ctx.method != Method::GET {
        return (shown, Err(GraphError::method_not_allowed()));
    }
    if !ctx.eventual() {
        return (
            shown,
            Err(GraphError::bad_request(
                "$count is not currently supported.",
            )),
        );
    }
    ctx.query = if ctx.query.is_empty() {
        "$count=true".into()
    } else {
        format!("{}&$count=true", ctx.query)
    };
    let (template, result) = dispatch(ctx);
    let counted = format!("{template}/$count");
    if result.is_ok() && !paths::COUNTABLE.contains(&template.as_str()) {
        return (counted.clone(), Err(paths::not_implemented(&counted)));
    }
    let result = result.and_then(|r| {
        r.body
            .as_ref()
            .and_then(|b| b["@odata.count"].as_u64())
            .map(|n| Reply::text(n.to_string()))
            .ok_or_else(|| paths::not_implemented(&counted))
    });
    (counted, result)
}

fn dispatch_modelled(ctx: &Ctx) -> (String, GResult) {
    let s: Vec<&str> = ctx.segs.iter().map(String::as_str).collect();
    let first = s.first().copied().unwrap_or_default();
    match first {
        "me" | "users" | "groups" | "organization" | "policies" => {
            if mail::is_mail_route(&s) {
                mail::dispatch(ctx, &s)
            } else {
                directory::dispatch(ctx, &s)
            }
        }
        "applications" | "servicePrincipals" | "oauth2PermissionGrants" => apps::dispatch(ctx, &s),
        "roleManagement" if ctx.version == "beta" => mail::dispatch_exchange(ctx, &s),
        "" => ("/".into(), Err(GraphError::segment(ctx.version))),
        other => (format!("/{other}"), Err(GraphError::segment(other))),
    }
}

/// Renders a reply or error as an HTTP response.
pub fn render(result: GResult, request_id: &str, client_request_id: &str) -> Response {
    let mut resp = match result {
        Ok(r) => {
            let text = r
                .headers
                .iter()
                .any(|(k, v)| *k == "content-type" && v.starts_with("text/plain"));
            let mut resp = match r.body {
                Some(Value::String(s)) if text => (r.status, s).into_response(),
                Some(b) => (r.status, axum::Json(b)).into_response(),
                None => r.status.into_response(),
            };
            for (k, v) in r.headers {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Err(e) => {
            let mut resp =
                (e.status, axum::Json(e.body(request_id, client_request_id))).into_response();
            if let Some(ra) = e.retry_after {
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from(ra));
            }
            if e.status == StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert(
                    "www-authenticate",
                    HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
                );
            }
            resp
        }
    };
    let h = resp.headers_mut();
    let json = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(client_request_id) {
        h.insert("client-request-id", v);
    }
    resp
}

/// Converts a gate verdict into an error, if any.
pub fn gate_error(v: GateVerdict) -> Option<GraphError> {
    match v {
        GateVerdict::Pass => None,
        GateVerdict::Throttle(s) => Some(GraphError::throttled(s)),
        GateVerdict::Fail(504) => Some(GraphError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "UnknownError",
            "The gateway did not receive a response from the service in time.",
        )),
        GateVerdict::Fail(code) => Some(GraphError::new(
            StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            if code == 503 {
                "serviceNotAvailable"
            } else {
                "generalException"
            },
            "The service is temporarily unavailable. Please retry.",
        )),
    }
}

async fn handle(
    state: SimState,
    version: &'static str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let prefix = format!("/{version}");
    let path = uri.path().strip_prefix(&prefix).unwrap_or(uri.path());
    let paths::Normalized { segs, count } = paths::normalize(split_keys(decode_segments(path)));
    let (template, result) = 'run: {
        if let Some(e) = gate_error(state.gate()) {
            break 'run (
                format!(
                    "/{version}/{}",
                    segs.first().map(String::as_str).unwrap_or_default()
                ),
                Err(e),
            );
        }
        let caller = match authenticate(&state, &headers) {
            Ok(c) => c,
            Err(e) => {
                break 'run (
                    format!(
                        "/{version}/{}",
                        segs.first().map(String::as_str).unwrap_or_default()
                    ),
                    Err(e),
                )
            }
        };
        let mut ctx = Ctx {
            state: state.clone(),
            version,
            method,
            segs,
            query: uri.query().unwrap_or_default().to_string(),
            headers,
            body,
            caller,
        };
        if ctx.segs.len() == 1 && ctx.segs[0] == "$batch" {
            break 'run (format!("/{version}/$batch"), batch::handle(&ctx));
        }
        let (t, r) = if count {
            dispatch_count(&mut ctx)
        } else {
            dispatch(&ctx)
        };
        (format!("/{version}{t}"), r)
    };
    let mut resp = render(result, &request_id, &client_request_id);
    resp.extensions_mut().insert(RouteTemplate(template));
    resp
}

/// axum handler for `/v1.0/*`.
pub async fn handle_v1(
    State(state): State<SimState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, "v1.0", method, uri, headers, body).await
}

/// axum handler for `/beta/*`.
pub async fn handle_beta(
    State(state): State<SimState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, "beta", method, uri, headers, body).await
}

/// Object replication check: is an object created at `created` still invisible?
pub fn too_young(created: std::time::Instant, delay_ms: u64) -> bool {
    delay_ms > 0 && created.elapsed() < std::time::Duration::from_millis(delay_ms)
}

/// A random opaque id like Graph's assignment/grant ids (43 chars, base64url).
pub fn opaque_id() -> String {
    use base64::Engine;
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    b.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b)[..43].to_string()
}
