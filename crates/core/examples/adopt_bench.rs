//! Adoption benchmark: the tenant-wide expiry report and finding vendor apps among many app
//! registrations, through the same core calls as `appgrant-cli report expiring` and
//! `appgrant-cli adopt --tenant …`, against the practice tenant with 80 ms of latency on
//! every request (its hand-made vendor apps plus N generated ones with random credentials).
//!
//! Prints and writes to `artifacts/bench/adopt.txt` (or the path given with `--out`): wall
//! time of each (goal: under 5 s each for 10,000 app registrations), pages read, rows, and
//! whether the hand-made TonicDM was found.
//!
//! Run: `cargo run -p appgrant-core --example adopt_bench -- [--apps 10000]`
//! (debug is fine: the time is mostly network latency and JSON).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use appgrant_core::adopt;
use appgrant_core::graph::{DelegatedToken, GraphClient};
use appgrant_core::identity::Access;
use appgrant_sim::{Knobs, Sim, SimConfig};
use chrono::Utc;

const LATENCY_MS: u64 = 80;
const GOAL_SECS: f64 = 5.0;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let n: usize = arg("--apps").map_or(10_000, |s| s.parse().unwrap());
    let out = arg("--out").unwrap_or_else(|| {
        format!(
            "{}/../../artifacts/bench/adopt.txt",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let sim = Sim::start(SimConfig {
        hand_made_apps: true,
        extra_apps: n,
        knobs: Knobs::default(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (auth, _) = common::admin_session(&sim).await;
    let graph = GraphClient::new(
        appgrant_core::identity::http_client().unwrap(),
        &common::endpoints(&sim).graph,
        Arc::new(DelegatedToken {
            auth: Arc::clone(&auth),
            access: Access::Apply,
        }),
    );
    // Warm the token cache (not measured), then add the latency.
    graph.get("organization?$select=id").await.unwrap();
    sim.update_knobs(|k| k.latency_ms = LATENCY_MS);

    let pages = AtomicUsize::new(0);
    let started = Instant::now();
    let apps = adopt::read_apps(&graph, |p| pages.store(p.pages, Ordering::Relaxed))
        .await
        .unwrap();
    let mut rows = adopt::expiry_rows(&apps, Utc::now(), Some(60));
    adopt::read_owners(&graph, &mut rows).await;
    let csv = adopt::to_csv(&rows);
    let report_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let apps_again = adopt::read_apps(&graph, |_| {}).await.unwrap();
    let recipes = appgrant_core::recipe::builtin().unwrap();
    let found = adopt::find(&apps_again, &recipes);
    let find_secs = started.elapsed().as_secs_f64();
    let tonic = found
        .matches
        .iter()
        .any(|m| m.recipe_id == "tonicdm" && m.app.display_name.starts_with("TonicDM"));

    let mut text = String::new();
    let verdict = |s: f64| if s < GOAL_SECS { "ok" } else { "OVER GOAL" };
    writeln!(
        text,
        "adopt benchmark: {} app registrations, {LATENCY_MS} ms latency per request",
        apps.len()
    )
    .unwrap();
    writeln!(text, "expiry report (read + rows + owners in batches of 20 + CSV): {report_secs:.2} s ({}; goal < {GOAL_SECS} s), {} pages, {} rows within 60 days, {} bytes of CSV", verdict(report_secs), pages.load(Ordering::Relaxed), rows.len(), csv.len()).unwrap();
    writeln!(text, "finding vendor apps (read + match): {find_secs:.2} s ({}; goal < {GOAL_SECS} s), {} matches, {} risky, hand-made TonicDM found: {tonic}", verdict(find_secs), found.matches.len(), found.risky.len()).unwrap();
    print!("{text}");
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&out, text).unwrap();
    assert!(tonic, "the hand-made TonicDM was not found");
}
