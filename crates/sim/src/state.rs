//! Shared server state (`SimState`): the tenant behind a mutex, the knobs, request counters,
//! the redacted request log, the throttling window, the seeded fault generator and the
//! one-shot "fail the next N requests" switch.

use crate::config::{Knobs, SimConfig};
use crate::model::Tenant;
use crate::seed;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

const LOG_CAP: usize = 10_000;

tokio::task_local! {
    /// Scheme + host of the request being answered (set by the router's middleware).
    static REQUEST_BASE: String;
}

/// Runs `fut` (a request's handling) with `base` as [`SimState::base_url`].
pub async fn with_request_base<F: std::future::Future>(base: String, fut: F) -> F::Output {
    REQUEST_BASE.scope(base, fut).await
}

/// `name`, `name:port`, `1.2.3.4:port` or `[::1]:port`: nothing that could smuggle a path,
/// a user-info part or markup into the links built from it.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Requests and latency for one (method, route template, status).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteCounter {
    pub count: u64,
    pub total_latency_ms: f64,
    pub max_latency_ms: f64,
}

/// Snapshot of the counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub total_requests: u64,
    pub total_latency_ms: f64,
    /// Key: `"{METHOD} {route template} {status}"`.
    pub routes: BTreeMap<String, RouteCounter>,
}

impl Counters {
    /// Number of requests whose key starts with `"{method} {template}"` and has `status`.
    pub fn count(&self, method: &str, template: &str, status: u16) -> u64 {
        self.routes
            .get(&format!("{method} {template} {status}"))
            .map(|c| c.count)
            .unwrap_or(0)
    }
}

/// One request in the log (secrets redacted).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub time: String,
    pub method: String,
    pub path: String,
    pub route: String,
    pub status: u16,
    pub latency_ms: f64,
    pub request_id: String,
}

struct Inner {
    tenant: Mutex<Tenant>,
    knobs: RwLock<Knobs>,
    config: SimConfig,
    base_url: RwLock<String>,
    counters: Mutex<Counters>,
    log: Mutex<VecDeque<LoggedRequest>>,
    gate: Mutex<Gate>,
}

struct Gate {
    window: VecDeque<Instant>,
    seen: u64,
    rng: u64,
    rng_seed: u64,
    fail_next: u32,
    fail_status: u16,
}

/// Cheaply clonable handle to everything the handlers share.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

/// What the throttling / fault gate decided for one Graph request.
#[derive(Debug, Clone, PartialEq)]
pub enum GateVerdict {
    Pass,
    Throttle(u64),
    Fail(u16),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimState {
    /// Builds the seeded tenant. `base_url` is where the server is reachable
    /// (`http://127.0.0.1:{port}`), used in links, discovery and tokens.
    pub fn new(config: SimConfig, base_url: &str) -> SimState {
        let tenant = seed::build_tenant(config.extra_users);
        let seed_value = config.knobs.faults.seed;
        SimState {
            inner: Arc::new(Inner {
                tenant: Mutex::new(tenant),
                knobs: RwLock::new(config.knobs.clone()),
                config,
                base_url: RwLock::new(base_url.trim_end_matches('/').to_string()),
                counters: Mutex::new(Counters::default()),
                log: Mutex::new(VecDeque::new()),
                gate: Mutex::new(Gate {
                    window: VecDeque::new(),
                    seen: 0,
                    rng: seed_value,
                    rng_seed: seed_value,
                    fail_next: 0,
                    fail_status: 503,
                }),
            }),
        }
    }

    /// Locks the tenant. Never hold it across an `.await`.
    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        lock(&self.inner.tenant)
    }

    /// Current knobs.
    pub fn knobs(&self) -> Knobs {
        self.inner
            .knobs
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        let mut g = self.inner.knobs.write().unwrap_or_else(|e| e.into_inner());
        let reseed = g.faults.seed != knobs.faults.seed;
        let rethrottle = g.throttle != knobs.throttle;
        *g = knobs;
        let mut gate = lock(&self.inner.gate);
        if reseed {
            gate.rng = g.faults.seed;
            gate.rng_seed = g.faults.seed;
        }
        if rethrottle {
            // "Every Nth request" counts from the moment the rule was set.
            gate.seen = 0;
            gate.window.clear();
        }
    }

    /// Edits the knobs in place.
    pub fn update_knobs(&self, f: impl FnOnce(&mut Knobs)) {
        let mut k = self.knobs();
        f(&mut k);
        self.set_knobs(k);
    }

    /// The start-up configuration.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The base URL every advertised link starts with. While a request is being answered it
    /// is the scheme of the listener plus the `Host` the client used (as Microsoft builds
    /// links from the host it was reached on); otherwise the listening address
    /// ([`SimState::listen_base`]).
    pub fn base_url(&self) -> String {
        REQUEST_BASE
            .try_with(|b| b.clone())
            .unwrap_or_else(|_| self.listen_base())
    }

    /// `http://127.0.0.1:{port}` (or `https://` in TLS mode).
    pub fn listen_base(&self) -> String {
        self.inner
            .base_url
            .read()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// The base for a request that named `host` (the `Host` header or the URI authority):
    /// the listener's scheme + that host, or the listening address when the host is missing
    /// or not a plain `name[:port]`.
    pub fn base_for_host(&self, host: Option<&str>) -> String {
        let listen = self.listen_base();
        match host.filter(|h| is_plain_host(h)) {
            Some(h) => {
                let scheme = listen.split_once("://").map_or("http", |(s, _)| s);
                format!("{scheme}://{h}")
            }
            None => listen,
        }
    }

    pub(crate) fn set_base_url(&self, url: &str) {
        if let Ok(mut b) = self.inner.base_url.write() {
            *b = url.trim_end_matches('/').to_string();
        }
    }

    /// With `SimConfig::state_file`: saves the tenant's objects there (a failure is logged; the
    /// request that changed them has already succeeded).
    pub fn persist(&self) {
        if let Some(path) = &self.inner.config.state_file {
            if let Err(e) = crate::persist::save(self, path) {
                tracing::warn!("{e}");
            }
        }
    }

    /// Re-seeds the tenant and clears counters, log, knobs (back to the start-up config).
    pub fn reset(&self) {
        let fresh = seed::build_tenant(self.inner.config.extra_users);
        *self.tenant() = fresh;
        self.set_knobs(self.inner.config.knobs.clone());
        *lock(&self.inner.counters) = Counters::default();
        lock(&self.inner.log).clear();
        let mut gate = lock(&self.inner.gate);
        gate.window.clear();
        gate.seen = 0;
        gate.rng = gate.rng_seed;
        gate.fail_next = 0;
    }

    /// Makes the next `count` Graph requests fail with `status` (429, 500, 503, 504...).
    pub fn fail_next(&self, count: u32, status: u16) {
        let mut gate = lock(&self.inner.gate);
        gate.fail_next = count;
        gate.fail_status = status;
    }

    /// Decides whether this Graph request is throttled or failed.
    pub fn gate(&self) -> GateVerdict {
        let knobs = self.knobs();
        let mut g = lock(&self.inner.gate);
        g.seen += 1;
        if g.fail_next > 0 {
            g.fail_next -= 1;
            let s = g.fail_status;
            return if s == 429 {
                GateVerdict::Throttle(knobs.throttle.retry_after_secs)
            } else {
                GateVerdict::Fail(s)
            };
        }
        if let Some(n) = knobs.throttle.every_nth {
            if n > 0 && g.seen % n == 0 {
                return GateVerdict::Throttle(knobs.throttle.retry_after_secs);
            }
        }
        if let Some(max) = knobs.throttle.max_requests_per_sec {
            let now = Instant::now();
            while g
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
            {
                g.window.pop_front();
            }
            if g.window.len() >= max as usize {
                return GateVerdict::Throttle(knobs.throttle.retry_after_secs);
            }
            g.window.push_back(now);
        }
        if knobs.faults.rate > 0.0 {
            // splitmix64
            g.rng = g.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = g.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let x = (z >> 11) as f64 / (1u64 << 53) as f64;
            if x < knobs.faults.rate {
                return GateVerdict::Fail(if z & 1 == 0 { 503 } else { 504 });
            }
        }
        GateVerdict::Pass
    }

    /// Records one finished request.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        route: &str,
        status: u16,
        latency: Duration,
        request_id: &str,
    ) {
        let ms = latency.as_secs_f64() * 1000.0;
        {
            let mut c = lock(&self.inner.counters);
            c.total_requests += 1;
            c.total_latency_ms += ms;
            let e = c
                .routes
                .entry(format!("{method} {route} {status}"))
                .or_default();
            e.count += 1;
            e.total_latency_ms += ms;
            if ms > e.max_latency_ms {
                e.max_latency_ms = ms;
            }
        }
        let mut log = lock(&self.inner.log);
        if log.len() >= LOG_CAP {
            log.pop_front();
        }
        log.push_back(LoggedRequest {
            time: chrono::Utc::now().to_rfc3339(),
            method: method.to_string(),
            path: redact(path),
            route: route.to_string(),
            status,
            latency_ms: ms,
            request_id: request_id.to_string(),
        });
    }

    /// Snapshot of the counters.
    pub fn counters(&self) -> Counters {
        lock(&self.inner.counters).clone()
    }

    /// Clears the counters (not the tenant).
    pub fn reset_counters(&self) {
        *lock(&self.inner.counters) = Counters::default();
    }

    /// Makes every refresh token issued so far fail with AADSTS700082.
    pub fn revoke_refresh_tokens(&self) {
        self.tenant().auth.revoked_before = Some(Instant::now());
    }

    /// The request log, oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.inner.log).iter().cloned().collect()
    }
}

const SECRET_PARAMS: [&str; 10] = [
    "code",
    "client_secret",
    "refresh_token",
    "access_token",
    "id_token",
    "device_code",
    "code_verifier",
    "password",
    "secrettext",
    "client_assertion",
];

/// Redacts secret-bearing query parameters from a path.
pub fn redact(path: &str) -> String {
    let Some((p, q)) = path.split_once('?') else {
        return path.to_string();
    };
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) {
            ser.append_pair(&k, "[redacted]");
        } else {
            ser.append_pair(&k, &v);
        }
    }
    format!("{p}?{}", ser.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_and_gates() {
        assert_eq!(
            redact("/x?code=abc&state=1"),
            "/x?code=%5Bredacted%5D&state=1"
        );
        let s = SimState::new(SimConfig::default(), "http://127.0.0.1:1");
        assert_eq!(s.gate(), GateVerdict::Pass);
        s.update_knobs(|k| k.throttle.every_nth = Some(2));
        assert_eq!(s.gate(), GateVerdict::Pass);
        assert_eq!(s.gate(), GateVerdict::Throttle(1));
        s.fail_next(1, 503);
        assert_eq!(s.gate(), GateVerdict::Fail(503));
    }

    #[test]
    fn links_use_the_host_the_client_named_but_only_a_plain_one() {
        let s = SimState::new(SimConfig::default(), "https://127.0.0.1:9");
        assert_eq!(s.base_for_host(Some("localhost:9")), "https://localhost:9");
        assert_eq!(s.base_for_host(Some("[::1]:9")), "https://[::1]:9");
        for bad in ["evil.example/x", "a@b", "<x>", ""] {
            assert_eq!(s.base_for_host(Some(bad)), "https://127.0.0.1:9", "{bad}");
        }
        assert_eq!(s.base_for_host(None), "https://127.0.0.1:9");
    }
}
