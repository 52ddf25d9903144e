//! Apply benchmark: how close does a run get to the unavoidable minimum?
//!
//! Applies the TonicDM and timetoreply recipes against the practice tenant with 80 ms of
//! latency on every request and replication delays on, then prints and writes to
//! `bench/results.json` (or the path given as the first argument):
//! - wall time of apply, and the critical path: the dependent chain of requests
//!   (register → enterprise app → grant) at 80 ms each plus the two replication delays that
//!   chain must sit out;
//! - their ratio (target ≤ 1.15);
//! - the number of Graph requests apply made and the minimum needed (one per object written;
//!   target ≤ minimum + 2).
//!
//! Run: `cargo run -p appgrant-core --example bench` (debug is fine: the time is network).

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The tests' helpers: start the practice tenant and sign its admin in through the real pages.
#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use appgrant_core::apply::journal::Journal;
use appgrant_core::apply::{apply, ApplyContext};
use appgrant_core::cloud::Cloud;
use appgrant_core::graph::{DelegatedToken, GraphClient, RetryPolicy};
use appgrant_core::identity::{Access, MemoryStore};
use appgrant_core::plan::{plan, Choices};
use appgrant_core::recipe::builtin_by_id;
use appgrant_sim::{Knobs, Replication, Sim, SimConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const LATENCY_MS: u64 = 80;
const APP_TO_SP_MS: u64 = 1500;
const SP_TO_GRANT_MS: u64 = 1500;

#[tokio::main]
async fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("{}/../../bench/results.json", env!("CARGO_MANIFEST_DIR")));
    let mut results = Vec::new();
    // Replication polling trades requests for waiting time: compare a tight poll with the
    // product default.
    for poll_ms in [250, 1000] {
        for (id, inputs) in [
            ("tonicdm", vec![]),
            (
                "timetoreply",
                vec![("portal_url", "https://ttr.contoso.example")],
            ),
        ] {
            results.push(run(id, &inputs, Duration::from_millis(poll_ms)).await);
        }
    }
    let report = json!({
        "latencyMsPerRequest": LATENCY_MS,
        "replication": { "appToServicePrincipalMs": APP_TO_SP_MS, "servicePrincipalToGrantMs": SP_TO_GRANT_MS },
        "targets": { "maxRatio": 1.15, "maxExtraRequests": 2 },
        "recipes": results,
    });
    let text = serde_json::to_string_pretty(&report).unwrap();
    println!("{text}");
    let path = std::path::PathBuf::from(out);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, text + "\n").unwrap();
    eprintln!("written to {}", path.display());
}

async fn run(id: &str, inputs: &[(&str, &str)], poll: Duration) -> serde_json::Value {
    let sim = Sim::start(SimConfig {
        knobs: Knobs {
            latency_ms: LATENCY_MS,
            replication: Replication {
                app_to_sp_ms: APP_TO_SP_MS,
                sp_to_grant_ms: SP_TO_GRANT_MS,
                ..Replication::default()
            },
            ..Knobs::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let endpoints = Cloud::custom(sim.login_base(), sim.graph_base())
        .endpoints()
        .unwrap();
    let (auth, session) = common::admin_session(&sim).await;
    let http = appgrant_core::identity::http_client().unwrap();
    let graph = GraphClient::new(
        http,
        &endpoints.graph,
        Arc::new(DelegatedToken {
            auth,
            access: Access::Apply,
        }),
    )
    .with_policy(RetryPolicy {
        replication_poll: poll,
        ..RetryPolicy::default()
    });
    let recipe = builtin_by_id(id).unwrap().unwrap();
    let choices = Choices {
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Choices::default()
    };
    let journal = Journal::in_memory(&session.tenant_id, id);
    let the_plan = plan(&graph, &endpoints, &session, &recipe, &choices, &journal)
        .await
        .unwrap();
    let before = sim.counters().total_requests;
    let ctx = ApplyContext {
        graph,
        secrets: Arc::new(MemoryStore::new()),
        cancel: CancellationToken::new(),
    };
    let journal = Mutex::new(journal);
    let started = Instant::now();
    apply(&the_plan, &journal, &ctx, |_| {}).await.unwrap();
    let wall = started.elapsed();
    let requests = sim.counters().total_requests - before;

    // One write per object: app, enterprise app, each app role, the delegated grant, the secret.
    let minimum: u64 = recipe
        .apps
        .iter()
        .map(|a| {
            let roles = a.application_permissions().count() as u64;
            let delegated = u64::from(a.delegated_permissions().count() > 0);
            3 + roles + delegated
        })
        .sum();
    // register → enterprise app → first grant, each one request, plus the two waits.
    let critical = Duration::from_millis(3 * LATENCY_MS + APP_TO_SP_MS + SP_TO_GRANT_MS);
    let ratio = wall.as_secs_f64() / critical.as_secs_f64();
    json!({
        "recipe": id,
        "replicationPollMs": poll.as_millis() as u64,
        "wallMs": wall.as_millis() as u64,
        "criticalPathMs": critical.as_millis() as u64,
        "ratio": (ratio * 1000.0).round() / 1000.0,
        "graphRequests": requests,
        "minimumRequests": minimum,
        "meetsTargets": ratio <= 1.15 && requests <= minimum + 2,
    })
}
