//! A small Microsoft Graph client: bearer tokens from a [`TokenSource`], Graph's error shape
//! turned into [`GraphError`], and retries by error class (api-notes §5):
//!
//! - 429: wait at least `Retry-After` (10 s when absent);
//! - 5xx and dropped connections: exponential backoff with jitter;
//! - replication errors (only where the caller says a just-created object is involved):
//!   looks that start 250 ms apart and then spread out by 15 % of the time already spent
//!   ([`RetryPolicy::replication_delay`]), for up to about five minutes.
//!
//! A hostile or broken server cannot hang or exhaust the client: every attempt has a
//! timeout ([`RetryPolicy::request_timeout`]), the retry budget counts the attempts' own time
//! as well as the waits, answers larger than [`MAX_ANSWER_BYTES`] are refused, a 2xx answer
//! carrying Graph's error shape is an error, and a create whose answer was lost mid-way is
//! never sent again blindly ([`GraphClient::create`]).
//!
//! Every wait is reported to an optional observer, so the UI can say "waiting for Microsoft
//! to finish creating the app" instead of showing a silent spinner. The graph module knows
//! nothing of plans or recipes.

mod error;
pub(crate) mod fields;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use url::Url;

pub use error::{ErrorClass, GraphError};

use crate::identity::{Access, Authenticator};
use crate::secret::Secret;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the bearer token comes from.
pub trait TokenSource: Send + Sync {
    fn token(&self) -> BoxFuture<'_, Result<Secret<String>, GraphError>>;
}

/// The signed-in admin's delegated token for a given level of access.
pub struct DelegatedToken {
    pub auth: Arc<Authenticator>,
    pub access: Access,
}

impl TokenSource for DelegatedToken {
    fn token(&self) -> BoxFuture<'_, Result<Secret<String>, GraphError>> {
        Box::pin(async move { Ok(self.auth.access_token(self.access).await?) })
    }
}

/// A fixed token (an app-only token during verification, or a test token).
pub struct StaticToken(pub Secret<String>);

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<Secret<String>, GraphError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// Why a call is waiting before it tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// Microsoft asked us to slow down (429).
    Throttled,
    /// Microsoft had a temporary problem or the connection dropped.
    Transient,
    /// Microsoft is still replicating an object that was just created.
    Replication,
}

/// One wait, as reported to the observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wait {
    pub reason: WaitReason,
    /// The attempt that just failed (1 = the first try).
    pub attempt: u32,
    pub delay_ms: u64,
}

/// How patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First backoff delay (doubles each time).
    pub base: Duration,
    /// Longest single backoff delay.
    pub cap: Duration,
    /// Give up when the total waiting would exceed this.
    pub budget: Duration,
    /// Used when a 429 carries no `Retry-After`.
    pub default_retry_after: Duration,
    /// Shortest time between the starts of two looks at something Microsoft is still
    /// replicating: 250 ms, so one waiting step never sends more than 4 requests a second.
    pub replication_poll: Duration,
    /// How far apart later looks spread: the next look starts at most this many times the
    /// time since the first one (1.15: a wait overshoots the replication lag by at most about
    /// 15 %, instead of up to a whole fixed poll interval).
    pub replication_growth: f64,
    /// Longest single attempt, from sending the request to the last byte of the answer.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(30),
            budget: Duration::from_secs(5 * 60),
            default_retry_after: Duration::from_secs(10),
            replication_poll: Duration::from_millis(250),
            replication_growth: 1.15,
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Short delays for tests against the simulator (Retry-After is still honoured).
    pub fn fast() -> Self {
        Self {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            budget: Duration::from_secs(20),
            default_retry_after: Duration::from_millis(100),
            replication_poll: Duration::from_millis(20),
            replication_growth: 1.15,
            request_timeout: Duration::from_secs(10),
        }
    }

    /// How long to wait before the next look at something Microsoft is still replicating,
    /// given how long ago the first look started (`since_first`) and the latest one
    /// (`since_last`). The next look starts at the later of `replication_poll` after the latest
    /// one and `replication_growth` × the latest one's start (both counted from the first
    /// look): short lags are caught within a quarter of a second, long ones within about 15 %,
    /// with a logarithmic number of requests.
    pub fn replication_delay(&self, since_first: Duration, since_last: Duration) -> Duration {
        let last_start = since_first.saturating_sub(since_last);
        let next_start = (last_start + self.replication_poll)
            .max(last_start.mul_f64(self.replication_growth.max(1.0)));
        next_start.saturating_sub(since_first)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1).min(16))
                .unwrap_or(u32::MAX),
        );
        let delay = exp.min(self.cap);
        // ±20 % jitter so many clients do not retry in lock-step.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.8 + f64::from(nanos % 400) / 1000.0;
        delay.mul_f64(factor)
    }
}

/// Whether a call may treat "not there yet" as replication lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Plain call: only throttling and transient errors are retried.
    Settled,
    /// The call involves a just-created object: 404 and replication 400s are retried too.
    Replicating,
}

/// The largest answer read from Graph. A page of 999 directory objects is a few MB; anything
/// this large is a broken or hostile server, refused before it fills memory.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

type Observer = Arc<dyn Fn(&Wait) + Send + Sync>;

/// A Graph client for one tenant and one identity. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
    token: Arc<dyn TokenSource>,
    policy: RetryPolicy,
    observer: Option<Observer>,
    cancel: Option<tokio_util::sync::CancellationToken>,
    /// How long the latest wait for replication took (shared by clones: one run, one tenant).
    replication_memory: Arc<std::sync::Mutex<Option<Duration>>>,
}

impl GraphClient {
    /// `graph_host` is e.g. `https://graph.microsoft.com/` (from `cloud::Endpoints::graph`).
    pub fn new(http: reqwest::Client, graph_host: &Url, token: Arc<dyn TokenSource>) -> Self {
        Self {
            http,
            base: graph_host.clone(),
            token,
            policy: RetryPolicy::default(),
            observer: None,
            cancel: None,
            replication_memory: Arc::default(),
        }
    }

    /// Stops waiting (and fails with [`GraphError::Cancelled`]) once `cancel` fires.
    pub fn with_cancel(mut self, cancel: tokio_util::sync::CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Reports every wait to `observer` (a clone keeps its own observer).
    pub fn with_observer(mut self, observer: impl Fn(&Wait) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// How long the latest call that waited for replication took, from its first look to the
    /// answer (this client and its clones: the same run and tenant). Steps that wait for the
    /// same kind of object use it to guess when theirs will be ready.
    pub fn last_replication_wait(&self) -> Option<Duration> {
        *self
            .replication_memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// `v1.0/...` or `beta/...` relative to the Graph host; an absolute `nextLink` must stay
    /// on the same host.
    fn url(&self, path: &str) -> Result<Url, GraphError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            let url = Url::parse(path).map_err(|e| GraphError::Decode(e.to_string()))?;
            if url.origin() != self.base.origin() {
                return Err(GraphError::Decode(format!(
                    "refusing to follow a link to another host: {}",
                    url.host_str().unwrap_or("?")
                )));
            }
            return Ok(url);
        }
        let path = path.trim_start_matches('/');
        let path = if path.starts_with("v1.0/") || path.starts_with("beta/") {
            path.to_string()
        } else {
            format!("v1.0/{path}")
        };
        self.base
            .join(&path)
            .map_err(|e| GraphError::Decode(e.to_string()))
    }

    async fn once(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Option<Value>, GraphError> {
        let token = self.token.token().await?;
        let mut request = self
            .http
            .request(method, url.clone())
            .bearer_auth(token.expose())
            .timeout(self.policy.request_timeout);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request.send().await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = read_capped(&mut response).await?;
        let parsed: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) if !(200..300).contains(&status) => Value::Null,
                Err(e) => return Err(GraphError::Decode(format!("not JSON ({e})"))),
            }
        };
        let error = match parsed.get("error") {
            // Graph's error shape in a 2xx answer is still an error, not an object.
            Some(error) if error.is_object() => error.clone(),
            _ if (200..300).contains(&status) => {
                return Ok((!parsed.is_null()).then_some(parsed));
            }
            _ => Value::Null,
        };
        let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        Err(GraphError::Api {
            status,
            code: text_of(&error, "code").unwrap_or_else(|| format!("HTTP{status}")),
            message: text_of(&error, "message").unwrap_or_default(),
            request_id: error
                .get("innerError")
                .and_then(|inner| text_of(inner, "request-id")),
            retry_after,
        })
    }

    /// Sends one request, retrying per the policy. `None` is an empty (204) answer.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        expect: Expect,
        headers: &[(&str, &str)],
    ) -> Result<Option<Value>, GraphError> {
        self.send_retrying(method, path, body, expect, headers, true)
            .await
    }

    /// A POST that creates something Graph cannot recognise a second time (an application,
    /// a client secret). Throttling, 5xx answers and connections that never opened are
    /// retried as usual, but an answer lost mid-way ([`GraphError::Dropped`]) is returned to
    /// the caller, who must look for what may have been created before trying again.
    pub async fn create(
        &self,
        path: &str,
        body: &Value,
        expect: Expect,
    ) -> Result<Option<Value>, GraphError> {
        self.send_retrying(reqwest::Method::POST, path, Some(body), expect, &[], false)
            .await
    }

    async fn send_retrying(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        expect: Expect,
        headers: &[(&str, &str)],
        resend_after_drop: bool,
    ) -> Result<Option<Value>, GraphError> {
        let url = self.url(path)?;
        let mut attempt = 0u32;
        // The budget counts the attempts' own time too: a server that answers slowly must not
        // keep a run going for budget x request_timeout.
        let started = std::time::Instant::now();
        let mut replicating = false;
        loop {
            attempt += 1;
            if self.cancelled() {
                return Err(GraphError::Cancelled);
            }
            let look_started = std::time::Instant::now();
            let error = match self.once(method.clone(), &url, body, headers).await {
                Ok(value) => {
                    if replicating {
                        *self
                            .replication_memory
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(started.elapsed());
                    }
                    return Ok(value);
                }
                Err(e) => e,
            };
            if !resend_after_drop && matches!(error, GraphError::Dropped(_)) {
                return Err(error);
            }
            let waited = started.elapsed();
            let (reason, delay) = match error.class() {
                ErrorClass::Throttled => (
                    WaitReason::Throttled,
                    error
                        .retry_after()
                        .unwrap_or(self.policy.default_retry_after),
                ),
                ErrorClass::Transient => (
                    WaitReason::Transient,
                    error
                        .retry_after()
                        .unwrap_or_else(|| self.policy.backoff(attempt)),
                ),
                ErrorClass::Replication | ErrorClass::NotFound if expect == Expect::Replicating => {
                    replicating = true;
                    (
                        WaitReason::Replication,
                        self.policy
                            .replication_delay(waited, look_started.elapsed()),
                    )
                }
                _ => return Err(error),
            };
            if waited + delay > self.policy.budget {
                return Err(GraphError::GaveUp {
                    attempts: attempt,
                    waited,
                    last: Box::new(error),
                });
            }
            tracing::debug!(?reason, attempt, ?delay, status = ?error.status(), "Graph call will be retried");
            if let Some(observer) = &self.observer {
                observer(&Wait {
                    reason,
                    attempt,
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                });
            }
            match &self.cancel {
                Some(cancel) => tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = cancel.cancelled() => return Err(GraphError::Cancelled),
                },
                None => tokio::time::sleep(delay).await,
            }
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, GraphError> {
        self.get_with(path, Expect::Settled).await
    }

    pub async fn get_with(&self, path: &str, expect: Expect) -> Result<Value, GraphError> {
        self.send(reqwest::Method::GET, path, None, expect, &[])
            .await?
            .ok_or_else(|| GraphError::Decode("empty answer to a GET".to_string()))
    }

    /// A GET that treats 404 as "not there".
    pub async fn find(&self, path: &str) -> Result<Option<Value>, GraphError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a collection, following `@odata.nextLink`.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, GraphError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(link) = next {
            let page = self.get(&link).await?;
            if let Some(values) = page.get("value").and_then(Value::as_array) {
                items.extend(values.iter().cloned());
            }
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Ok(items)
    }

    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        expect: Expect,
    ) -> Result<Option<Value>, GraphError> {
        self.send(reqwest::Method::POST, path, Some(body), expect, &[])
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value, expect: Expect) -> Result<(), GraphError> {
        self.send(reqwest::Method::PATCH, path, Some(body), expect, &[])
            .await
            .map(|_| ())
    }

    pub async fn delete(&self, path: &str) -> Result<(), GraphError> {
        match self
            .send(reqwest::Method::DELETE, path, None, Expect::Settled, &[])
            .await
        {
            Ok(_) => Ok(()),
            // Already gone is what we wanted.
            Err(e) if e.class() == ErrorClass::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A transport failure, told apart by whether the request may have reached the server.
fn transport(e: &reqwest::Error) -> GraphError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    if e.is_connect() {
        GraphError::Network(text)
    } else {
        GraphError::Dropped(text)
    }
}

/// Reads an answer's body, refusing one larger than [`MAX_ANSWER_BYTES`] or not UTF-8.
pub(crate) async fn read_capped(response: &mut reqwest::Response) -> Result<String, GraphError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| GraphError::Decode("the answer is not UTF-8 text".into()))
}

fn too_large() -> GraphError {
    GraphError::Decode(format!(
        "the answer is larger than {} MB, which no Graph answer AppGrant asks for is",
        MAX_ANSWER_BYTES / (1024 * 1024)
    ))
}

/// Quotes a value for an OData `$filter` string literal (single quotes doubled).
pub fn odata_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        let first = p.backoff(1);
        assert!(
            first >= Duration::from_millis(1600) && first <= Duration::from_millis(2400),
            "{first:?}"
        );
        let late = p.backoff(10);
        assert!(late <= Duration::from_secs(36), "{late:?}");
    }

    /// Looks at a replicating object: 4 a second at first, then spreading out so the wait
    /// never overshoots a long lag by much more than 15 %.
    #[test]
    fn replication_looks_start_quarter_seconds_apart_then_spread_out() {
        let p = RetryPolicy::default();
        let request = Duration::from_millis(80);
        // Start times of the looks, each answered `request` after it starts.
        let mut starts = vec![Duration::ZERO];
        while let Some(&last) = starts.last() {
            if last > Duration::from_secs(60) {
                break;
            }
            let now = last + request;
            starts.push(now + p.replication_delay(now, request));
        }
        for pair in starts.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= Duration::from_millis(250),
                "more than 4 looks a second: {gap:?}"
            );
            let overshoot = pair[1].as_secs_f64() / pair[0].as_secs_f64().max(1.0 / 4.0);
            assert!(
                pair[0] < Duration::from_secs(2) || overshoot <= 1.151,
                "a lag just after {:?} is seen only at {:?}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(starts[1], Duration::from_millis(250));
        assert_eq!(starts[4], Duration::from_secs(1));
        // A minute of lag costs a few dozen looks, not hundreds.
        assert!(starts.len() < 40, "{} looks", starts.len());
    }

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(odata_quote("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn next_links_must_stay_on_graph() {
        let base = Url::parse("https://graph.microsoft.com/").unwrap();
        let client = GraphClient::new(
            reqwest::Client::new(),
            &base,
            Arc::new(StaticToken(Secret::new("t".into()))),
        );
        assert!(client.url("https://evil.example/v1.0/users").is_err());
        assert_eq!(
            client.url("applications").unwrap().as_str(),
            "https://graph.microsoft.com/v1.0/applications"
        );
        assert_eq!(
            client
                .url("/beta/roleManagement/exchange/roleAssignments")
                .unwrap()
                .as_str(),
            "https://graph.microsoft.com/beta/roleManagement/exchange/roleAssignments"
        );
    }
}
