//! Bulk rotation benchmark: rotate the client secrets of many connections in one tenant,
//! through the same [`Lifecycle`] calls as `appgrant-cli rotate --expiring-within 30d --yes`
//! and `rotate finish --due --yes`, against the practice tenant with 80 ms of latency on
//! every request, 1.5 s before a new secret is accepted, and 2 % of Graph requests throttled
//! (429 with Retry-After: 1).
//!
//! Prints and writes to `artifacts/bench/rotate.txt` (or the path given with `--out`):
//! wall time of the rotation to overlap and of the finish (goal: under 20 s together for
//! 100 connections), Graph and token requests per connection, 429s answered (each retried),
//! and whether every connection ended with exactly one working secret.
//!
//! Run: `cargo run -p appgrant-core --example rotate_bench -- [--connections 100] [--concurrency 16]`
//! (debug is fine: the time is network and replication).

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The tests' helpers: start the practice tenant and sign its admin in through the real pages.
#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use appgrant_core::apply::journal::Journal;
use appgrant_core::apply::{apply, ApplyContext};
use appgrant_core::connect::connection_from;
use appgrant_core::graph::{DelegatedToken, GraphClient, RetryPolicy};
use appgrant_core::identity::{Access, MemoryStore};
use appgrant_core::lifecycle::{
    Filter, FinishWhen, Lifecycle, LifecycleEvent, RotateOptions, RotationStage, SignedIn,
    BULK_CONCURRENCY,
};
use appgrant_core::plan::{plan, Choices};
use appgrant_core::recipe::builtin_by_id;
use appgrant_core::vault::Vault;
use appgrant_sim::Knobs;
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

const LATENCY_MS: u64 = 80;
const SECRET_TO_TOKEN_MS: u64 = 1500;
const THROTTLE_EVERY_NTH: u64 = 50;
const GOAL_SECS: f64 = 20.0;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let n: usize = arg("--connections").map_or(100, |s| s.parse().unwrap());
    let concurrency: usize = arg("--concurrency").map_or(BULK_CONCURRENCY, |s| s.parse().unwrap());
    let out = arg("--out").unwrap_or_else(|| {
        format!(
            "{}/../../artifacts/bench/rotate.txt",
            env!("CARGO_MANIFEST_DIR")
        )
    });

    let sim = common::sim_with(Knobs::default()).await;
    let (auth, session) = common::admin_session(&sim).await;
    let endpoints = common::endpoints(&sim);
    let graph = GraphClient::new(
        appgrant_core::identity::http_client().unwrap(),
        &endpoints.graph,
        Arc::new(DelegatedToken {
            auth: Arc::clone(&auth),
            access: Access::Apply,
        }),
    );
    let dir = std::env::temp_dir().join(format!("appgrant-rotate-bench-{}", uuid::Uuid::new_v4()));
    let secrets = MemoryStore::new();
    let vault = Arc::new(Vault::open(dir.clone(), Arc::new(secrets.clone())).unwrap());

    // Set-up (not measured): n TonicDM connections whose secrets expire in 10 days.
    let recipe = builtin_by_id("tonicdm").unwrap().unwrap();
    let setup = Instant::now();
    let made: Vec<_> = futures::stream::iter(0..n)
        .map(|_| {
            let (graph, session, endpoints, recipe, secrets) = (
                graph.clone(),
                session.clone(),
                endpoints.clone(),
                recipe.clone(),
                secrets.clone(),
            );
            async move {
                let journal = Mutex::new(Journal::in_memory(&session.tenant_id, "tonicdm"));
                let snapshot = journal.lock().unwrap().clone();
                let the_plan = plan(
                    &graph,
                    &endpoints,
                    &session,
                    &recipe,
                    &Choices::default(),
                    &snapshot,
                )
                .await
                .unwrap();
                let ctx = ApplyContext {
                    graph,
                    secrets: Arc::new(secrets),
                    cancel: CancellationToken::new(),
                };
                let outcome = apply(&the_plan, &journal, &ctx, |_| {}).await.unwrap();
                connection_from(
                    &recipe,
                    &the_plan,
                    &outcome,
                    session.tenant_domain.clone(),
                    true,
                    None,
                    Some(Utc::now()),
                )
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for mut c in made {
        c.apps[0].secret.as_mut().unwrap().expires_at = Utc::now() + TimeDelta::days(10);
        vault.save(&c).unwrap();
    }
    eprintln!(
        "set up {n} connections in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    sim.update_knobs(|k| {
        k.latency_ms = LATENCY_MS;
        k.replication.secret_to_token_ms = SECRET_TO_TOKEN_MS;
        k.throttle.every_nth = Some(THROTTLE_EVERY_NTH);
        k.throttle.retry_after_secs = 1;
    });
    let before = sim.counters();
    let life = Lifecycle::with_vault(Arc::clone(&vault)).with_policy(RetryPolicy::default());
    let signed_in = SignedIn {
        endpoints: endpoints.clone(),
        auth,
    };
    let waits = Arc::new(Mutex::new(0u64));
    let counter = Arc::clone(&waits);
    let on_event = move |e: LifecycleEvent| {
        if matches!(
            e,
            LifecycleEvent::Waiting {
                reason: appgrant_core::graph::WaitReason::Throttled,
                ..
            }
        ) {
            *counter.lock().unwrap() += 1;
        }
    };

    let started = Instant::now();
    let due = Filter {
        due_within_days: Some(30),
        ..Filter::default()
    };
    let rotated = life
        .rotate_due(
            &signed_in,
            &due,
            RotateOptions {
                grace_days: 0,
                lifetime_months: None,
            },
            concurrency,
            on_event.clone(),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let to_overlap = started.elapsed().as_secs_f64();
    let finish_started = Instant::now();
    let finished = life
        .finish_due(
            &signed_in,
            &Filter::default(),
            FinishWhen::GraceOver,
            concurrency,
            on_event,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let finish = finish_started.elapsed().as_secs_f64();
    let total = started.elapsed().as_secs_f64();
    let after = sim.counters();

    let failed = rotated
        .iter()
        .chain(&finished)
        .filter(|i| i.error.is_some())
        .count();
    let mut one_secret = 0;
    for c in vault.list().unwrap() {
        let app = &c.apps[0];
        let done = app
            .rotation
            .as_ref()
            .is_some_and(|r| r.stage == RotationStage::Done && r.still_works == Some(true));
        let keys = sim.app_secrets(&app.app_id).unwrap();
        if done
            && keys.len() == 1
            && keys[0]["keyId"] == app.secret.as_ref().unwrap().key_id.as_str()
        {
            one_secret += 1;
        }
    }
    let count = |c: &appgrant_sim::state::Counters, graph: bool| -> u64 {
        c.routes
            .iter()
            .filter(|(k, _)| k.contains("/v1.0/") == graph && !k.contains("/_sim"))
            .map(|(_, v)| v.count)
            .sum()
    };
    let graph_requests = count(&after, true) - count(&before, true);
    let token_requests = count(&after, false) - count(&before, false);
    let throttled: u64 = after
        .routes
        .iter()
        .filter(|(k, _)| k.ends_with(" 429"))
        .map(|(_, v)| v.count)
        .sum::<u64>()
        - before
            .routes
            .iter()
            .filter(|(k, _)| k.ends_with(" 429"))
            .map(|(_, v)| v.count)
            .sum::<u64>();
    let per = |x: u64| x as f64 / n as f64;

    let mut text = String::new();
    writeln!(
        text,
        "Bulk rotation benchmark (appgrant-core lifecycle, practice tenant)"
    )
    .unwrap();
    writeln!(
        text,
        "connections:                    {n} (TonicDM, one tenant), {concurrency} at a time"
    )
    .unwrap();
    writeln!(text, "latency per request:            {LATENCY_MS} ms; new secret usable after {SECRET_TO_TOKEN_MS} ms; every {THROTTLE_EVERY_NTH}th Graph request 429 (Retry-After: 1)").unwrap();
    writeln!(text, "rotate to overlap (wall):       {to_overlap:.2} s").unwrap();
    writeln!(text, "finish, old secrets removed:    {finish:.2} s").unwrap();
    writeln!(
        text,
        "total (wall):                   {total:.2} s (goal < {GOAL_SECS} s: {})",
        if total < GOAL_SECS { "met" } else { "MISSED" }
    )
    .unwrap();
    writeln!(
        text,
        "Graph requests per connection:  {:.1} ({graph_requests} in all)",
        per(graph_requests)
    )
    .unwrap();
    writeln!(text, "token requests per connection:  {:.1} ({token_requests} in all; includes waiting for the new secret)", per(token_requests)).unwrap();
    writeln!(text, "429 answers:                    {throttled} (throttled waits reported: {}; every one retried)", waits.lock().unwrap()).unwrap();
    writeln!(text, "failed connections:             {failed}").unwrap();
    writeln!(text, "exactly one working secret:     {one_secret} of {n}").unwrap();
    print!("{text}");
    let path = std::path::PathBuf::from(out);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, &text).unwrap();
    eprintln!("written to {}", path.display());
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(failed, 0, "every rotation succeeded");
    assert_eq!(
        one_secret, n,
        "every connection ends with one working secret"
    );
}
