//! The secret's life after Done, against the practice tenant: "Check now" finds a deleted
//! app, a secret that expires early, a missing grant and a secret AppGrant does not hold;
//! rotation with overlap ends with exactly one working secret (two only while the overlap is
//! open) however often it is killed and re-run; bulk rotation picks only what is due.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use appgrant_core::apply::journal::Journal;
use appgrant_core::apply::{apply, ApplyContext};
use appgrant_core::connect::connection_from;
use appgrant_core::graph::{GraphClient, RetryPolicy};
use appgrant_core::identity::{Authenticator, MemoryStore, Session, TokenStore};
use appgrant_core::lifecycle::rotate::{self, RotateContext};
use appgrant_core::lifecycle::{
    CredentialRole, Filter, FindingKind, FinishWhen, Lifecycle, LifecycleCode, LifecycleError,
    LifecycleEvent, RotateOptions, RotationStage, RotationStep, Severity, SignedIn, StatusKind,
};
use appgrant_core::plan::{plan, Choices};
use appgrant_core::recipe::builtin_by_id;
use appgrant_core::secret::Secret;
use appgrant_core::vault::{Connection, SecretRef, Vault};
use appgrant_sim::{Knobs, Sim};
use chrono::{TimeDelta, Utc};
use common::{admin_session, apply_graph, dying_graph, endpoints, sim_with};
use tokio_util::sync::CancellationToken;

struct World {
    sim: Sim,
    auth: Arc<Authenticator>,
    session: Session,
    graph: GraphClient,
    secrets: MemoryStore,
    dir: PathBuf,
    vault: Arc<Vault>,
    life: Lifecycle,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl World {
    async fn new(knobs: Knobs) -> Self {
        let sim = sim_with(knobs).await;
        let (auth, session) = admin_session(&sim).await;
        let graph = apply_graph(&sim, &auth);
        let dir = std::env::temp_dir().join(format!("appgrant-life-{}", uuid::Uuid::new_v4()));
        let secrets = MemoryStore::new();
        let vault = Arc::new(Vault::open(dir.clone(), Arc::new(secrets.clone())).unwrap());
        let life = Lifecycle::with_vault(Arc::clone(&vault)).with_policy(RetryPolicy::fast());
        Self {
            sim,
            auth,
            session,
            graph,
            secrets,
            dir,
            vault,
            life,
        }
    }

    fn signed_in(&self) -> SignedIn {
        SignedIn {
            endpoints: endpoints(&self.sim),
            auth: Arc::clone(&self.auth),
        }
    }

    /// Plans, applies and saves a connection of `recipe_id` (a fresh app each time).
    async fn connect(&self, recipe_id: &str) -> Connection {
        self.connect_with(recipe_id, &Choices::default()).await
    }

    async fn connect_with(&self, recipe_id: &str, choices: &Choices) -> Connection {
        let recipe = builtin_by_id(recipe_id).unwrap().unwrap();
        let journal = Mutex::new(Journal::in_memory(&self.session.tenant_id, recipe_id));
        let snapshot = journal.lock().unwrap().clone();
        let the_plan = plan(
            &self.graph,
            &endpoints(&self.sim),
            &self.session,
            &recipe,
            choices,
            &snapshot,
        )
        .await
        .expect("plan");
        let ctx = ApplyContext {
            graph: self.graph.clone(),
            secrets: Arc::new(self.secrets.clone()),
            cancel: CancellationToken::new(),
        };
        let outcome = apply(&the_plan, &journal, &ctx, |_| {})
            .await
            .expect("apply");
        let connection = connection_from(
            &recipe,
            &the_plan,
            &outcome,
            self.session.tenant_domain.clone(),
            true,
            None,
            Some(Utc::now()),
        );
        self.vault.save(&connection).unwrap();
        connection
    }

    fn saved(&self, id: &str) -> Connection {
        self.vault.require(id).unwrap()
    }

    /// The key ids of the app's secrets in the tenant.
    fn in_tenant(&self, app_id: &str) -> Vec<String> {
        self.sim
            .app_secrets(app_id)
            .unwrap()
            .iter()
            .map(|s| s["keyId"].as_str().unwrap().to_string())
            .collect()
    }

    fn held(&self, c: &Connection, key_id: &str) -> Option<Secret<String>> {
        let at = SecretRef::new(&c.tenant_id, &c.apps[0].app_id, key_id);
        self.vault.load_secret(&at).unwrap()
    }

    /// The token endpoint's answer to a client-credentials request: Ok, or the AADSTS text.
    async fn token(&self, app_id: &str, secret: &Secret<String>) -> Result<(), String> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.sim.login_base(),
            self.session.tenant_id
        );
        let r = reqwest::Client::new()
            .post(url)
            .form(&[
                ("client_id", app_id),
                ("client_secret", secret.expose().as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            return Ok(());
        }
        let body: serde_json::Value = r.json().await.unwrap();
        Err(body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    async fn start(
        &self,
        id: &str,
        options: RotateOptions,
        cancel: CancellationToken,
        sink: Sink,
    ) -> Result<(), LifecycleError> {
        self.life
            .start_rotation(&self.signed_in(), id, options, move |e| sink(e), cancel)
            .await
            .map(|_| ())
    }

    async fn finish(
        &self,
        id: &str,
        when: FinishWhen,
        cancel: CancellationToken,
        sink: Sink,
    ) -> Result<(), LifecycleError> {
        self.life
            .finish_rotation(&self.signed_in(), id, when, move |e| sink(e), cancel)
            .await
            .map(|_| ())
    }

    /// Starts (or resumes) a rotation with the default options, no cancel and no listener.
    async fn start_now(&self, id: &str) -> Result<(), LifecycleError> {
        self.start(
            id,
            RotateOptions::default(),
            CancellationToken::new(),
            quiet(),
        )
        .await
    }

    /// Finishes a rotation as if the admin confirmed the vendor has the new secret.
    async fn finish_now(&self, id: &str) -> Result<(), LifecycleError> {
        self.finish(id, FinishWhen::Confirmed, CancellationToken::new(), quiet())
            .await
    }
}

type Sink = Arc<dyn Fn(LifecycleEvent) + Send + Sync>;

fn quiet() -> Sink {
    Arc::new(|_| {})
}

/// Every secret in the tenant is one AppGrant knows about: the current, the old one of a
/// rotation, or a new one whose creation is recorded as pending (the next run removes it).
fn assert_none_unrecorded(w: &World, c: &Connection, when: &str) {
    let app = &c.apps[0];
    let r = app.rotation.as_ref();
    for key in w.in_tenant(&app.app_id) {
        let known = app.secret.as_ref().is_some_and(|s| s.key_id == key)
            || r.and_then(|r| r.old_secret.as_ref())
                .is_some_and(|s| s.key_id == key)
            || r.and_then(|r| r.new_secret.as_ref())
                .is_some_and(|s| s.key_id == key)
            || r.is_some_and(|r| r.pending_since.is_some());
        assert!(known, "{when}: secret {key} in the tenant is not recorded");
    }
}

/// After a finished rotation: one secret in the tenant, the keyring holds it and not the
/// old one, the new one gets a token and the old one is refused.
async fn assert_rotated(
    w: &World,
    id: &str,
    old_key: &str,
    old_value: &Secret<String>,
    when: &str,
) {
    let c = w.saved(id);
    let app = &c.apps[0];
    let current = app.secret.as_ref().unwrap();
    assert_ne!(
        current.key_id, old_key,
        "{when}: the current secret is the new one"
    );
    assert_eq!(
        w.in_tenant(&app.app_id),
        vec![current.key_id.clone()],
        "{when}: exactly one secret in the tenant"
    );
    assert!(
        w.held(&c, old_key).is_none(),
        "{when}: the old secret left the keyring"
    );
    let new_value = w
        .held(&c, &current.key_id)
        .expect("the new secret is in the keyring");
    w.token(&app.app_id, &new_value)
        .await
        .unwrap_or_else(|e| panic!("{when}: the new secret gets a token: {e}"));
    let refused = w
        .token(&app.app_id, old_value)
        .await
        .expect_err("the old secret is refused");
    assert!(refused.contains("AADSTS7000215"), "{when}: {refused}");
    let r = app.rotation.as_ref().unwrap();
    assert_eq!(r.stage, RotationStage::Done);
    assert_eq!(r.still_works, Some(true));
}

#[tokio::test]
async fn rotation_overlaps_then_finishes_with_only_the_new_secret() {
    let w = World::new(Knobs::default()).await;
    // Microsoft takes a moment to accept a new secret; the proof waits it out.
    w.sim
        .update_knobs(|k| k.replication.secret_to_token_ms = 300);
    let c = w.connect("tonicdm").await;
    let app_id = c.apps[0].app_id.clone();
    let old = c.apps[0].secret.clone().unwrap();
    let old_value = w.held(&c, &old.key_id).unwrap();

    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let result = w
        .life
        .start_rotation(
            &w.signed_in(),
            &c.id,
            RotateOptions {
                grace_days: 3,
                lifetime_months: Some(6),
            },
            move |e| log.lock().unwrap().push(e),
            CancellationToken::new(),
        )
        .await
        .expect("rotation reaches the overlap");
    // During the overlap the tenant holds both secrets; the change record names both.
    let record = appgrant_core::record::ChangeRecord::build(&w.saved(&c.id), None, Utc::now())
        .render(appgrant_core::record::RecordFormat::Md);
    let held = w.in_tenant(&app_id);
    assert_eq!(held.len(), 2, "old and new secret during the overlap");
    for key_id in held {
        assert!(record.contains(&key_id), "the record names secret {key_id}");
    }
    let steps: Vec<RotationStep> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            LifecycleEvent::Step { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            RotationStep::ReadingPolicy,
            RotationStep::Started,
            RotationStep::CreatingSecret,
            RotationStep::SecretCreated,
            RotationStep::Stored,
            RotationStep::Proving,
            RotationStep::Proved
        ]
    );

    // Overlap: both secrets in the tenant and the keyring, both work; the new one is current.
    let saved = w.saved(&c.id);
    let app = &saved.apps[0];
    let new = app.secret.clone().unwrap();
    assert_ne!(new.key_id, old.key_id);
    let days = (new.expires_at - Utc::now()).num_days();
    assert!(
        (180..=184).contains(&days),
        "6 months asked for, {days} days"
    );
    let mut keys = w.in_tenant(&app_id);
    keys.sort();
    let mut want = vec![old.key_id.clone(), new.key_id.clone()];
    want.sort();
    assert_eq!(keys, want, "two secrets while the overlap is open");
    w.token(&app_id, &old_value)
        .await
        .expect("the old secret still works");
    w.token(&app_id, &w.held(&saved, &new.key_id).unwrap())
        .await
        .expect("the new secret works");
    let r = app.rotation.as_ref().unwrap();
    assert_eq!(r.stage, RotationStage::Overlap);
    let grace = r.grace_ends_at.unwrap() - r.proved_at.unwrap();
    assert_eq!(grace, TimeDelta::days(3));
    assert!(new.description.contains("(rotated "), "{}", new.description);

    // The dashboard shows both, with the old one's end of grace.
    let status = &result.status;
    assert!(status.has(StatusKind::RotationInProgress));
    let roles: Vec<_> = status.apps[0]
        .credentials
        .iter()
        .map(|c| (c.key_id.clone(), c.role.clone(), c.in_keyring))
        .collect();
    assert_eq!(
        roles,
        vec![
            (new.key_id.clone(), CredentialRole::Current, Some(true)),
            (
                old.key_id.clone(),
                CredentialRole::OldInOverlap {
                    valid_until: r.grace_ends_at
                },
                Some(true)
            ),
        ]
    );

    // The hand-off names only what changed, with the vendor's labels; the reminder alarms
    // 30 and 7 days before the new expiry.
    let handoff = result.handoff.expect("a hand-off for the vendor");
    let labels: Vec<&str> = handoff.fields.iter().map(|f| f.label.as_str()).collect();
    assert!(labels.iter().any(|l| l.contains("Secret")), "{labels:?}");
    assert!(
        !labels.iter().any(|l| l.contains("Tenant")),
        "unchanged fields are left out: {labels:?}"
    );
    assert!(
        handoff.fields.iter().filter(|f| f.secret).all(|f| f.hidden),
        "secret hidden unless asked for"
    );
    assert_eq!(handoff.secrets.len(), 1);
    assert_eq!(handoff.secrets[0].key_id, new.key_id);
    let ics = result.ics.expect("a calendar reminder");
    assert!(ics.contains(&format!(
        "DTSTART;VALUE=DATE:{}",
        new.expires_at.format("%Y%m%d")
    )));
    assert!(
        ics.contains("TRIGGER:-P29DT15H") && ics.contains("TRIGGER:-P6DT15H"),
        "{ics}"
    );
    assert!(
        !ics.contains(old_value.expose()),
        "no secret in the calendar"
    );

    // Finishing before the grace ends needs the admin's confirmation.
    let early = w
        .finish(
            &c.id,
            FinishWhen::GraceOver,
            CancellationToken::new(),
            quiet(),
        )
        .await
        .expect_err("grace not over");
    assert_eq!(early.code(), LifecycleCode::GraceNotOver);
    assert_eq!(w.in_tenant(&app_id).len(), 2, "nothing removed early");

    w.finish_now(&c.id).await.expect("finish");
    assert_rotated(&w, &c.id, &old.key_id, &old_value, "confirmed").await;
    let status = w.life.status(&c.id, Utc::now()).await.unwrap();
    assert_eq!(status.severity, Severity::Ok, "{:?}", status.states);
    assert_eq!(status.apps[0].credentials.len(), 1);
}

/// Runs the whole rotation (start, then finish as confirmed), cancelling at the `kill_at`-th
/// step as a killed process would stop there; returns whether the kill happened.
async fn run_killed_at(w: &World, id: &str, kill_at: usize) -> (bool, Vec<RotationStep>) {
    let cancel = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (stopper, log) = (cancel.clone(), Arc::clone(&seen));
    let sink: Sink = Arc::new(move |e| {
        if let LifecycleEvent::Step { step, .. } = e {
            let mut seen = log.lock().unwrap();
            seen.push(step);
            if seen.len() == kill_at + 1 {
                stopper.cancel();
            }
        }
    });
    let started = w
        .start(
            id,
            RotateOptions::default(),
            cancel.clone(),
            Arc::clone(&sink),
        )
        .await;
    let result = match started {
        Ok(()) => {
            w.finish(id, FinishWhen::Confirmed, cancel.clone(), sink)
                .await
        }
        Err(e) => Err(e),
    };
    let steps = seen.lock().unwrap().clone();
    match result {
        Ok(()) => (false, steps),
        Err(e) => {
            assert_eq!(
                e.code(),
                LifecycleCode::Cancelled,
                "stopped by the kill, not by {e}"
            );
            (true, steps)
        }
    }
}

#[tokio::test]
async fn a_kill_at_every_stage_and_a_rerun_finish_the_rotation() {
    let mut kill_at = 0;
    loop {
        let w = World::new(Knobs::default()).await;
        let c = w.connect("tonicdm").await;
        let app_id = c.apps[0].app_id.clone();
        let old = c.apps[0].secret.clone().unwrap();
        let old_value = w.held(&c, &old.key_id).unwrap();

        let (killed, steps) = run_killed_at(&w, &c.id, kill_at).await;
        if !killed {
            assert!(kill_at >= 12, "a full run has a dozen steps, saw {steps:?}");
            break;
        }
        let when = format!("killed at {:?} (step {kill_at})", steps.last().unwrap());
        let saved = w.saved(&c.id);
        let r = saved.apps[0].rotation.clone();
        let stage = r.as_ref().map(|r| r.stage);
        let keys = w.in_tenant(&app_id);
        if !keys.contains(&old.key_id) {
            assert!(
                r.as_ref().is_some_and(|r| r.proved_at.is_some()),
                "{when}: the old secret was removed before the new one was proved"
            );
        }
        if r.is_none() {
            assert_eq!(
                keys,
                vec![old.key_id.clone()],
                "{when}: nothing written before the rotation is on record"
            );
        }
        assert!(keys.len() <= 2, "{when}: at most two secrets ({keys:?})");
        assert_none_unrecorded(&w, &saved, &when);
        // Whatever the stage, the connection's current secret is in the tenant and the keyring.
        let current = saved.apps[0].secret.clone().unwrap();
        assert!(
            keys.contains(&current.key_id),
            "{when}: the current secret is in the tenant"
        );
        let value = w
            .held(&saved, &current.key_id)
            .unwrap_or_else(|| panic!("{when}: current secret in the keyring"));
        w.token(&app_id, &value)
            .await
            .unwrap_or_else(|e| panic!("{when}: the current secret works: {e}"));

        // Re-run what was interrupted.
        if stage.is_none_or(|s| s < RotationStage::Overlap) {
            w.start_now(&c.id)
                .await
                .unwrap_or_else(|e| panic!("{when}: re-run: {e}"));
            let mid = w.saved(&c.id);
            assert_eq!(
                w.in_tenant(&app_id).len(),
                2,
                "{when}: two secrets only while the overlap is open"
            );
            assert_eq!(
                mid.apps[0].rotation.as_ref().unwrap().stage,
                RotationStage::Overlap
            );
        }
        match w.finish_now(&c.id).await {
            Ok(()) => {}
            Err(e)
                if e.code() == LifecycleCode::NothingToFinish
                    && stage == Some(RotationStage::Done) => {}
            Err(e) => panic!("{when}: finish re-run: {e}"),
        }
        assert_rotated(&w, &c.id, &old.key_id, &old_value, &when).await;
        kill_at += 1;
    }
}

#[tokio::test]
async fn a_kill_before_each_graph_call_resumes_without_losing_a_secret() {
    for dies_after in 0..8 {
        let w = World::new(Knobs::default()).await;
        let c = w.connect("tonicdm").await;
        let old = c.apps[0].secret.clone().unwrap();
        let old_value = w.held(&c, &old.key_id).unwrap();
        let dying = dying_graph(&w.sim, &w.auth, dies_after);
        let ctx = RotateContext {
            graph: dying,
            vault: Arc::clone(&w.vault),
            endpoints: endpoints(&w.sim),
            http: appgrant_core::identity::http_client().unwrap(),
            policy: RetryPolicy::fast(),
            probe_user: Some(w.session.user_id.clone()),
            cancel: CancellationToken::new(),
        };
        let recipe = builtin_by_id("tonicdm").unwrap().unwrap();
        let when = format!("died after {dies_after} Graph calls");
        let first = rotate::start(
            &ctx,
            &c.id,
            Some(&recipe),
            RotateOptions::default(),
            quiet(),
        )
        .await;
        if first.is_ok() {
            let _ = rotate::finish(&ctx, &c.id, FinishWhen::Confirmed, quiet()).await;
        }
        let saved = w.saved(&c.id);
        assert_none_unrecorded(&w, &saved, &when);
        let stage = saved.apps[0].rotation.as_ref().map(|r| r.stage);
        if stage.is_none_or(|s| s < RotationStage::Overlap) {
            w.start_now(&c.id)
                .await
                .unwrap_or_else(|e| panic!("{when}: re-run: {e}"));
        }
        if stage != Some(RotationStage::Done) {
            w.finish_now(&c.id)
                .await
                .unwrap_or_else(|e| panic!("{when}: finish: {e}"));
        }
        assert_rotated(&w, &c.id, &old.key_id, &old_value, &when).await;
    }
}

#[tokio::test]
async fn a_secret_created_but_never_stored_is_removed_on_the_next_run() {
    let w = World::new(Knobs::default()).await;
    let c = w.connect("tonicdm").await;
    let app_id = c.apps[0].app_id.clone();
    let old = c.apps[0].secret.clone().unwrap();
    // Killed right after Microsoft answered addPassword, before the keyring write.
    let (killed, steps) = run_killed_at(&w, &c.id, 3).await;
    assert!(killed);
    assert_eq!(steps.last(), Some(&RotationStep::SecretCreated));
    let orphan: Vec<String> = w
        .in_tenant(&app_id)
        .into_iter()
        .filter(|k| *k != old.key_id)
        .collect();
    assert_eq!(orphan.len(), 1, "Microsoft made a secret nobody holds");
    let saved = w.saved(&c.id);
    assert!(w.held(&saved, &orphan[0]).is_none());
    assert!(
        saved.apps[0]
            .rotation
            .as_ref()
            .unwrap()
            .pending_since
            .is_some(),
        "but its creation is on record"
    );

    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    w.start(
        &c.id,
        RotateOptions::default(),
        CancellationToken::new(),
        Arc::new(move |e| log.lock().unwrap().push(e)),
    )
    .await
    .expect("re-run");
    assert!(events.lock().unwrap().iter().any(|e| matches!(
        e,
        LifecycleEvent::Step {
            step: RotationStep::RemovingOrphan,
            ..
        }
    )));
    let keys = w.in_tenant(&app_id);
    assert!(
        !keys.contains(&orphan[0]),
        "the unstored secret was removed"
    );
    assert_eq!(keys.len(), 2, "old plus the new, stored one");
}

#[tokio::test]
async fn a_keyring_that_refuses_leaves_the_old_secret_alone() {
    let w = World::new(Knobs::default()).await;
    let c = w.connect("tonicdm").await;
    let old = c.apps[0].secret.clone().unwrap();
    w.secrets.set_unavailable(true);
    let err = w.start_now(&c.id).await.expect_err("no keyring");
    assert_eq!(err.code(), LifecycleCode::Keyring, "{err}");
    assert_eq!(
        w.in_tenant(&c.apps[0].app_id),
        vec![old.key_id.clone()],
        "the new secret was taken off again"
    );
    w.secrets.set_unavailable(false);
    assert_eq!(
        w.saved(&c.id).apps[0].secret.as_ref().unwrap().key_id,
        old.key_id
    );
}

#[tokio::test]
async fn check_now_finds_what_changed_behind_appgrants_back() {
    let w = World::new(Knobs::default()).await;
    let healthy = w.connect("tonicdm").await;
    let report = w
        .life
        .check(&w.signed_in(), &healthy.id, CancellationToken::new())
        .await
        .expect("check");
    assert!(!report.summary.drift(), "{:#?}", report.summary.findings);
    assert!(report.fix_steps.is_empty());
    let saved = w
        .saved(&healthy.id)
        .last_check
        .expect("saved with the time checked");
    assert!(Utc::now() - saved.checked_at < TimeDelta::minutes(1));
    assert!(w
        .life
        .status(&healthy.id, Utc::now())
        .await
        .unwrap()
        .has(StatusKind::Checked));

    // An app deleted in the portal.
    let deleted = w.connect("tonicdm").await;
    w.sim.delete_app(&deleted.apps[0].app_id).unwrap();
    let report = w
        .life
        .check(&w.signed_in(), &deleted.id, CancellationToken::new())
        .await
        .unwrap();
    assert!(report.summary.has(FindingKind::AppDeleted));
    let status = w.life.status(&deleted.id, Utc::now()).await.unwrap();
    assert!(status.has(StatusKind::AppDeleted));
    assert_eq!(status.severity, Severity::Critical);

    // A secret made to expire early, a hand-made secret, and a grant removed by hand.
    let drifted = w.connect("tonicdm").await;
    let app = &drifted.apps[0];
    let key = app.secret.as_ref().unwrap().key_id.clone();
    w.sim
        .set_secret_end(&app.app_id, &key, Utc::now() + TimeDelta::days(5))
        .unwrap();
    w.graph
        .post(
            &format!("applications/{}/addPassword", app.object_id),
            &serde_json::json!({"passwordCredential": {"displayName": "made by hand"}}),
            appgrant_core::graph::Expect::Settled,
        )
        .await
        .unwrap();
    let sp = app.service_principal_id.clone().unwrap();
    let assignments = w
        .graph
        .get_all(&format!("servicePrincipals/{sp}/appRoleAssignments"))
        .await
        .unwrap();
    let gone = assignments[0]["id"].as_str().unwrap();
    w.graph
        .delete(&format!("servicePrincipals/{sp}/appRoleAssignments/{gone}"))
        .await
        .unwrap();
    let report = w
        .life
        .check(&w.signed_in(), &drifted.id, CancellationToken::new())
        .await
        .unwrap();
    let s = &report.summary;
    assert!(s.has(FindingKind::SecretExpiryDiffers), "{:#?}", s.findings);
    assert!(s.has(FindingKind::MissingPermission), "{:#?}", s.findings);
    assert_eq!(s.unknown_secrets.len(), 1);
    assert_eq!(s.unknown_secrets[0].description, "made by hand");
    assert!(
        report
            .fix_steps
            .iter()
            .any(|step| step.title.contains("Allow") || step.id.contains("grant")),
        "a plan to fix it: {:#?}",
        report.fix_steps
    );
    let status = w.life.status(&drifted.id, Utc::now()).await.unwrap();
    assert!(status.has(StatusKind::Drift));
    assert!(status.apps[0]
        .credentials
        .iter()
        .any(|c| c.role == CredentialRole::NotHeld));

    // The reviewed fix grants what is missing and removes a permission granted by hand,
    // leaving every secret as it was.
    let graph_sp = w
        .graph
        .get("servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appRoles")
        .await
        .unwrap();
    let extra_role = graph_sp["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Group.Read.All")
        .unwrap()["id"]
        .clone();
    w.graph
        .post(
            &format!("servicePrincipals/{sp}/appRoleAssignments"),
            &serde_json::json!({"principalId": sp, "resourceId": graph_sp["id"], "appRoleId": extra_role}),
            appgrant_core::graph::Expect::Settled,
        )
        .await
        .unwrap();
    let report = w
        .life
        .check(&w.signed_in(), &drifted.id, CancellationToken::new())
        .await
        .unwrap();
    assert!(
        report.summary.has(FindingKind::ExtraPermission),
        "{:#?}",
        report.summary.findings
    );
    assert_eq!(report.extra_grants.len(), 1);
    assert_eq!(report.extra_grants[0].permission, "Group.Read.All");
    let mut secrets_before = w.in_tenant(&app.app_id);
    let fixed = w
        .life
        .fix_drift(
            &w.signed_in(),
            &drifted.id,
            true,
            |_| {},
            CancellationToken::new(),
        )
        .await
        .expect("fix");
    assert!(
        !fixed.summary.has(FindingKind::MissingPermission),
        "{:#?}",
        fixed.summary.findings
    );
    assert!(
        !fixed.summary.has(FindingKind::ExtraPermission),
        "{:#?}",
        fixed.summary.findings
    );
    assert!(fixed.fix_steps.is_empty(), "{:#?}", fixed.fix_steps);
    let mut secrets_after = w.in_tenant(&app.app_id);
    secrets_before.sort();
    secrets_after.sort();
    assert_eq!(
        secrets_before, secrets_after,
        "fixing grants touches no secret"
    );
    assert_eq!(w.saved(&drifted.id).apps[0].display_name, app.display_name);

    // A connection whose secret is gone is not "fixed" behind its back: rotate first.
    let err = w
        .life
        .fix_drift(
            &w.signed_in(),
            &deleted.id,
            true,
            |_| {},
            CancellationToken::new(),
        )
        .await
        .expect_err("app deleted");
    assert!(
        matches!(
            err.code(),
            LifecycleCode::Tenant | LifecycleCode::SecretNotUsable
        ),
        "{err}"
    );

    // Check all: each connection gets its own result.
    let ids = vec![healthy.id.clone(), deleted.id.clone(), drifted.id.clone()];
    let all = w
        .life
        .check_all(&w.signed_in(), &ids, |_| {}, CancellationToken::new())
        .await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|(_, r)| r.is_ok()));
}

#[tokio::test]
async fn an_expired_secret_is_refused_by_the_tenant() {
    let w = World::new(Knobs::default()).await;
    let c = w.connect("tonicdm").await;
    let key = c.apps[0].secret.as_ref().unwrap().key_id.clone();
    let value = w.held(&c, &key).unwrap();
    w.token(&c.apps[0].app_id, &value)
        .await
        .expect("works before");
    w.sim
        .set_secret_end(&c.apps[0].app_id, &key, Utc::now() - TimeDelta::minutes(1))
        .unwrap();
    let refused = w
        .token(&c.apps[0].app_id, &value)
        .await
        .expect_err("expired");
    assert!(refused.contains("AADSTS7000222"), "{refused}");
}

#[tokio::test]
async fn bulk_rotation_takes_only_what_is_due_in_the_signed_in_tenant() {
    let w = World::new(Knobs::default()).await;
    let mut due = Vec::new();
    for _ in 0..2 {
        let c = w.connect("tonicdm").await;
        let soon = Utc::now() + TimeDelta::days(10);
        let key = c.apps[0].secret.as_ref().unwrap().key_id.clone();
        w.sim.set_secret_end(&c.apps[0].app_id, &key, soon).unwrap();
        w.vault
            .update(&c.id, |c| {
                c.apps[0].secret.as_mut().unwrap().expires_at = soon
            })
            .unwrap();
        due.push(c.id);
    }
    let fine = w.connect("tonicdm").await;
    // A connection in another tenant is never touched by this sign-in.
    let mut elsewhere = w.saved(&due[0]);
    elsewhere.id = Connection::new_id();
    elsewhere.tenant_id = "another-tenant".into();
    w.vault.save(&elsewhere).unwrap();

    let listed = w.life.overview(Utc::now(), true).await.unwrap();
    let filter = Filter {
        due_within_days: Some(30),
        ..Filter::default()
    };
    assert_eq!(filter.apply(listed).len(), 3, "two here, one elsewhere");

    let items = w
        .life
        .rotate_due(
            &w.signed_in(),
            &filter,
            RotateOptions {
                grace_days: 0,
                lifetime_months: None,
            },
            4,
            |_| {},
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let mut rotated: Vec<_> = items.iter().map(|i| i.connection_id.clone()).collect();
    rotated.sort();
    due.sort();
    assert_eq!(rotated, due);
    assert!(items.iter().all(|i| i.error.is_none()), "{items:#?}");
    assert!(
        w.saved(&fine.id).apps[0].rotation.is_none(),
        "not due: untouched"
    );
    assert!(
        w.saved(&elsewhere.id).apps[0].rotation.is_none(),
        "other tenant: untouched"
    );

    // Grace of 0 days: the scheduled finish removes the old secrets.
    let finished = w
        .life
        .finish_due(
            &w.signed_in(),
            &Filter::default(),
            FinishWhen::GraceOver,
            4,
            |_| {},
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(finished.len(), 2);
    for id in &due {
        let c = w.saved(id);
        assert_eq!(
            c.apps[0].rotation.as_ref().unwrap().stage,
            RotationStage::Done
        );
        assert_eq!(w.in_tenant(&c.apps[0].app_id).len(), 1);
    }
    let _ = w.secrets.load("nothing");
}

#[tokio::test]
async fn the_new_secret_lives_within_the_tenant_policy() {
    let w = World::new(Knobs::default()).await;
    let c = w.connect("tonicdm").await;
    let err = w
        .start(
            &c.id,
            RotateOptions {
                grace_days: 7,
                lifetime_months: Some(40),
            },
            CancellationToken::new(),
            quiet(),
        )
        .await
        .expect_err("too long");
    assert_eq!(err.code(), LifecycleCode::InvalidInput, "{err}");
    assert_eq!(w.in_tenant(&c.apps[0].app_id).len(), 1, "nothing created");

    w.sim
        .update_knobs(|k| k.secret_max_lifetime_days = Some(90));
    w.start_now(&c.id).await.expect("rotates within the policy");
    let new = w.saved(&c.id).apps[0].secret.clone().unwrap();
    let days = (new.expires_at - Utc::now()).num_days();
    assert!(
        (85..90).contains(&days),
        "capped by the 90-day policy: {days} days"
    );
}

/// A generated certificate rotates through the same overlap: the new one goes on with addKey
/// (signed by the old), is stored and proved with a client assertion, both work during the
/// overlap, and finishing removes the old one with removeKey and from the keyring. A run
/// killed between addKey and the keyring write leaves nothing behind on the next run.
#[tokio::test]
async fn a_generated_certificate_rotates_with_overlap() {
    use appgrant_core::certificate::key_account;
    use appgrant_core::plan::CredentialChoice;
    let w = World::new(Knobs::default()).await;
    let choices = Choices {
        credentials: [("main".to_string(), CredentialChoice::GeneratedCertificate)].into(),
        ..Choices::default()
    };
    let c = w.connect_with("tonicdm", &choices).await;
    let app_id = c.apps[0].app_id.clone();
    let old = c.apps[0].certificate.clone().expect("a certificate");
    let thumbprints = || -> Vec<String> {
        w.sim
            .app_certificates(&app_id)
            .unwrap()
            .iter()
            .map(|k| k["thumbprint"].as_str().unwrap().to_string())
            .collect()
    };

    // Killed right after Microsoft accepted the new certificate, before its key was stored.
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let sink: Sink = Arc::new(move |e| {
        if matches!(
            e,
            LifecycleEvent::Step {
                step: RotationStep::SecretCreated,
                ..
            }
        ) {
            stop.cancel();
        }
    });
    let killed = w.start(&c.id, RotateOptions::default(), cancel, sink).await;
    assert!(
        matches!(killed, Err(LifecycleError::Cancelled)),
        "{killed:?}"
    );
    assert_eq!(
        thumbprints().len(),
        2,
        "the new certificate reached the app"
    );
    let pending = w.saved(&c.id).apps[0].rotation.clone().unwrap();
    let orphan = pending
        .pending_thumbprint
        .clone()
        .expect("recorded before addKey");
    assert!(!w
        .secrets
        .contains(&key_account(&c.tenant_id, &app_id, &orphan)));

    w.start_now(&c.id).await.expect("the rotation resumes");
    let saved = w.saved(&c.id);
    let rotation = saved.apps[0].rotation.clone().unwrap();
    assert_eq!(rotation.stage, RotationStage::Overlap);
    let new = saved.apps[0].certificate.clone().unwrap();
    assert_ne!(new.thumbprint, old.thumbprint);
    assert_ne!(new.thumbprint, orphan, "the orphan was not kept");
    let on_app = thumbprints();
    assert_eq!(
        on_app.len(),
        2,
        "old and new during the overlap, the orphan gone: {on_app:?}"
    );
    assert!(on_app.contains(&old.thumbprint) && on_app.contains(&new.thumbprint));
    assert!(w
        .secrets
        .contains(&key_account(&c.tenant_id, &app_id, &new.thumbprint)));

    w.finish_now(&c.id).await.expect("finish");
    let done = w.saved(&c.id).apps[0].rotation.clone().unwrap();
    assert_eq!(done.stage, RotationStage::Done);
    assert_eq!(
        done.still_works,
        Some(true),
        "the new certificate still gets a token"
    );
    assert_eq!(
        thumbprints(),
        vec![new.thumbprint.clone()],
        "only the new certificate is left"
    );
    assert!(!w
        .secrets
        .contains(&key_account(&c.tenant_id, &app_id, &old.thumbprint)));
    assert!(w
        .secrets
        .contains(&key_account(&c.tenant_id, &app_id, &new.thumbprint)));

    // Check now sees the certificate on the app, and notices when someone removes it.
    let report = w
        .life
        .check(&w.signed_in(), &c.id, CancellationToken::new())
        .await
        .unwrap();
    assert!(!report.summary.drift(), "{:#?}", report.summary.findings);
    w.graph
        .patch(
            &format!("applications/{}", c.apps[0].object_id),
            &serde_json::json!({"keyCredentials": []}),
            appgrant_core::graph::Expect::Settled,
        )
        .await
        .unwrap();
    let report = w
        .life
        .check(&w.signed_in(), &c.id, CancellationToken::new())
        .await
        .unwrap();
    let missing = report
        .summary
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::SecretMissingInTenant)
        .expect("the removed certificate is reported");
    assert!(missing.text.contains(&new.thumbprint), "{}", missing.text);
}
