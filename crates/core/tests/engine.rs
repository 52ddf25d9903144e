//! Plan → apply → verify for every built-in recipe against the practice tenant, and the ways
//! Microsoft makes that hard: replication delays, throttling, faults, a killed run, a tenant
//! policy on secret lifetime, and an admin who cannot grant consent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use appgrant_core::apply::journal::Journal;
use appgrant_core::apply::{apply, secret_account, ApplyContext, ApplyEvent, ApplyOutcome};
use appgrant_core::graph::{DelegatedToken, GraphClient, RetryPolicy, WaitReason};
use appgrant_core::identity::{Access, Authenticator, MemoryStore, Session, TokenStore};
use appgrant_core::plan::{plan, Choices, Plan};
use appgrant_core::recipe::{builtin_by_id, Recipe};
use appgrant_core::secret::Secret;
use appgrant_core::verify::{verify, CheckStatus, VerifyContext, VerifyReport};
use appgrant_sim::{Knobs, Sim};
use common::{admin_session, apply_graph, dying_graph, endpoints, signed_in_as, sim_with};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

struct Harness {
    sim: Sim,
    auth: Arc<Authenticator>,
    session: Session,
    graph: GraphClient,
    secrets: MemoryStore,
}

impl Harness {
    async fn new(knobs: Knobs) -> Self {
        let sim = sim_with(knobs).await;
        let (auth, session) = admin_session(&sim).await;
        Self::with(sim, auth, session)
    }

    fn with(sim: Sim, auth: Arc<Authenticator>, session: Session) -> Self {
        let graph = apply_graph(&sim, &auth);
        Self {
            sim,
            auth,
            session,
            graph,
            secrets: MemoryStore::new(),
        }
    }

    async fn plan(&self, recipe: &Recipe, choices: &Choices, journal: &Journal) -> Plan {
        plan(
            &self.graph,
            &endpoints(&self.sim),
            &self.session,
            recipe,
            choices,
            journal,
        )
        .await
        .expect("plan")
    }

    /// Plans and applies; returns the outcome (or the failures) and every event.
    async fn run(
        &self,
        recipe: &Recipe,
        choices: &Choices,
        journal: &Mutex<Journal>,
    ) -> (
        Plan,
        Result<ApplyOutcome, appgrant_core::apply::ApplyError>,
        Vec<ApplyEvent>,
    ) {
        let snapshot = journal.lock().unwrap().clone();
        let plan = self.plan(recipe, choices, &snapshot).await;
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let ctx = ApplyContext {
            graph: self.graph.clone(),
            secrets: Arc::new(self.secrets.clone()),
            cancel: CancellationToken::new(),
        };
        let result = apply(&plan, journal, &ctx, move |e| sink.lock().unwrap().push(e)).await;
        let events = events.lock().unwrap().clone();
        (plan, result, events)
    }

    async fn verify(&self, recipe: &Recipe, plan: &Plan, outcome: &ApplyOutcome) -> VerifyReport {
        let secrets: Vec<(String, Secret<String>)> = outcome
            .apps
            .iter()
            .filter_map(|a| {
                let s = a.secret.as_ref()?;
                Some((
                    a.key.clone(),
                    self.secrets.load(&s.keyring_account).unwrap()?,
                ))
            })
            .collect();
        let endpoints = endpoints(&self.sim);
        let ctx = VerifyContext {
            endpoints: &endpoints,
            tenant_id: &self.session.tenant_id,
            admin: &self.graph,
            http: appgrant_core::identity::http_client().unwrap(),
            policy: RetryPolicy::fast(),
            probe_user: Some(self.session.user_id.clone()),
            on_wait: None,
        };
        verify(&ctx, recipe, plan, outcome, &secrets).await
    }

    async fn apps_named(&self, name: &str) -> Vec<Value> {
        self.graph
            .get_all(&format!(
                "applications?$filter=displayName eq '{name}'&$select=id,appId,passwordCredentials"
            ))
            .await
            .unwrap()
    }

    async fn role_assignments(&self, sp: &str) -> Vec<Value> {
        self.graph
            .get_all(&format!("servicePrincipals/{sp}/appRoleAssignments"))
            .await
            .unwrap()
    }
}

fn recipe(id: &str) -> Recipe {
    builtin_by_id(id).unwrap().unwrap()
}

fn choices_for(recipe: &Recipe) -> Choices {
    let mut inputs = BTreeMap::new();
    if recipe.id == "timetoreply" {
        inputs.insert(
            "portal_url".to_string(),
            "https://ttr.contoso.example".to_string(),
        );
    }
    Choices {
        inputs,
        ..Choices::default()
    }
}

fn assert_verified(report: &VerifyReport) {
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Passed && c.status != CheckStatus::Skipped)
        .map(|c| format!("{}: {:?} {}", c.id, c.status, c.detail))
        .collect();
    assert!(failed.is_empty(), "every check passes: {failed:#?}");
}

#[tokio::test]
async fn every_builtin_recipe_applies_and_verifies() {
    let h = Harness::new(Knobs::default()).await;
    for id in ["tonicdm", "totalview", "docbits", "timetoreply"] {
        let recipe = recipe(id);
        let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, id));
        let (plan, result, events) = h.run(&recipe, &choices_for(&recipe), &journal).await;
        assert!(
            plan.consent_handoff.is_none(),
            "{id}: a Global Admin needs no hand-off"
        );
        let outcome = result.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            outcome.apps.len(),
            recipe.apps.len(),
            "{id}: one outcome per app"
        );

        for app in &outcome.apps {
            let spec = recipe.apps.iter().find(|a| a.key == app.key).unwrap();
            // The app exists once, with the recipe's name.
            let found = h.apps_named(&spec.display_name).await;
            assert_eq!(found.len(), 1, "{id}/{}: exactly one app", app.key);
            assert_eq!(found[0]["appId"], app.app_id.as_str());
            // The secret is in the keyring store, under its keyId, and on the app.
            let secret = app.secret.as_ref().expect("a secret");
            assert_eq!(
                secret.keyring_account,
                secret_account(&h.session.tenant_id, &app.app_id, &secret.key_id)
            );
            assert!(
                h.secrets.contains(&secret.keyring_account),
                "{id}: secret stored"
            );
            let creds = found[0]["passwordCredentials"].as_array().unwrap();
            assert_eq!(creds.len(), 1, "{id}: one secret on the app");
            // Exactly the recipe's application permissions were granted.
            let granted = h.role_assignments(&app.service_principal_id).await.len();
            assert_eq!(
                granted,
                spec.application_permissions().count(),
                "{id}/{}: grants",
                app.key
            );
        }
        let report = h.verify(&recipe, &plan, &outcome).await;
        assert_verified(&report);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ApplyEvent::StepDone { .. })),
            "{id}: progress events were emitted"
        );
        if id == "timetoreply" {
            let app = h.apps_named("timetoreply").await;
            let full = h
                .graph
                .get(&format!("applications/{}", app[0]["id"].as_str().unwrap()))
                .await
                .unwrap();
            assert_eq!(full["web"]["redirectUris"].as_array().unwrap().len(), 5);
            assert_eq!(
                full["web"]["implicitGrantSettings"]["enableIdTokenIssuance"],
                true
            );
        }
    }
}

#[tokio::test]
async fn re_running_converges_without_duplicates() {
    let h = Harness::new(Knobs::default()).await;
    let recipe = recipe("totalview");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "totalview"));
    let (_, first, _) = h.run(&recipe, &Choices::default(), &journal).await;
    let first = first.expect("first run");
    let (plan, second, _) = h.run(&recipe, &Choices::default(), &journal).await;
    let second = second.expect("second run");

    for (a, b) in first.apps.iter().zip(&second.apps) {
        assert_eq!(a.app_id, b.app_id, "the same app is reused");
        assert_eq!(a.service_principal_id, b.service_principal_id);
        assert_eq!(
            a.secret.as_ref().unwrap().key_id,
            b.secret.as_ref().unwrap().key_id,
            "a stored secret is kept, not replaced"
        );
    }
    for name in [
        "Totalview Calendar Synchronization",
        "Totalview E-Mail Sending",
    ] {
        let apps = h.apps_named(name).await;
        assert_eq!(apps.len(), 1, "{name}: no duplicate app");
        assert_eq!(
            apps[0]["passwordCredentials"].as_array().unwrap().len(),
            1,
            "{name}: no extra secret"
        );
    }
    let calendar = &second.apps[0];
    assert_eq!(
        h.role_assignments(&calendar.service_principal_id)
            .await
            .len(),
        2,
        "no duplicate grants"
    );
    assert!(
        plan.steps
            .iter()
            .filter(|s| s.id.contains("/grant/"))
            .all(|s| s.done),
        "the second plan shows the grants as already done"
    );
}

#[tokio::test]
async fn a_secret_lost_by_a_killed_run_is_replaced_not_orphaned() {
    let h = Harness::new(Knobs::default()).await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    h.run(&recipe, &Choices::default(), &journal)
        .await
        .1
        .expect("first run");

    // Simulate a run killed after Microsoft created a secret but before it was stored.
    let object_id = journal.lock().unwrap().apps["main"]
        .object_id
        .clone()
        .unwrap();
    {
        let mut j = journal.lock().unwrap();
        let app = j.app_mut("main");
        app.secret_pending_since = Some(chrono::Utc::now());
        app.secret_stored = false;
    }
    h.graph
        .post(
            &format!("applications/{object_id}/addPassword"),
            &serde_json::json!({"passwordCredential": {"displayName": "TonicDM Office365 Secret"}}),
            appgrant_core::graph::Expect::Settled,
        )
        .await
        .expect("secret created behind our back");
    assert_eq!(
        h.apps_named("TonicDM Office 365 Token").await[0]["passwordCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (_, resumed, _) = h.run(&recipe, &Choices::default(), &journal).await;
    let outcome = resumed.expect("resume");
    let creds = h.apps_named("TonicDM Office 365 Token").await[0]["passwordCredentials"].clone();
    let creds = creds.as_array().unwrap();
    let key = &outcome.apps[0].secret.as_ref().unwrap().key_id;
    assert!(
        creds.iter().any(|c| c["keyId"] == key.as_str()),
        "the new, stored secret is on the app"
    );
    assert!(
        creds.len() <= 2,
        "the lost secret was removed (only the old stored one may remain until rotation): {creds:?}"
    );
    assert!(journal.lock().unwrap().apps["main"].secret_stored);
}

#[tokio::test]
async fn survives_replication_delays_throttling_and_faults() {
    let h = Harness::new(Knobs {
        replication: appgrant_sim::Replication {
            app_to_sp_ms: 800,
            sp_to_grant_ms: 600,
            secret_to_token_ms: 700,
            app_to_token_ms: 500,
            assignment_to_token_ms: 400,
            // Reads by id of brand-new objects are covered by the sim's own tests.
            object_read_ms: 0,
        },
        throttle: appgrant_sim::Throttle {
            every_nth: Some(7),
            retry_after_secs: 1,
            ..Default::default()
        },
        faults: appgrant_sim::Faults { rate: 0.1, seed: 7 },
        ..Knobs::default()
    })
    .await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (plan, result, events) = h.run(&recipe, &Choices::default(), &journal).await;
    let outcome = result.expect("apply gets through");
    let waits: Vec<WaitReason> = events
        .iter()
        .filter_map(|e| match e {
            ApplyEvent::Waiting {
                reason, message, ..
            } => {
                assert!(!message.is_empty(), "every wait says why");
                Some(*reason)
            }
            _ => None,
        })
        .collect();
    assert!(
        waits.contains(&WaitReason::Replication),
        "replication waits reported: {waits:?}"
    );
    assert!(
        waits.contains(&WaitReason::Throttled),
        "throttling reported: {waits:?}"
    );
    assert_eq!(
        h.apps_named("TonicDM Office 365 Token").await.len(),
        1,
        "faults caused no duplicate"
    );
    let report = h.verify(&recipe, &plan, &outcome).await;
    assert_verified(&report);
}

/// With nothing to wait for, a new enterprise app's permissions are granted together, not
/// one after another (each would add a round trip to the run).
#[tokio::test]
async fn grants_on_a_new_enterprise_app_go_together() {
    let h = Harness::new(Knobs::default()).await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (_, result, events) = h.run(&recipe, &Choices::default(), &journal).await;
    result.expect("apply gets through");
    let is_grant = |step: &str| step.contains("/grant");
    let started = events
        .iter()
        .take_while(|e| !matches!(e, ApplyEvent::StepDone { step, .. } if is_grant(step)))
        .filter(|e| matches!(e, ApplyEvent::StepStarted { step } if is_grant(step)))
        .count();
    let grants = events
        .iter()
        .filter(|e| matches!(e, ApplyEvent::StepStarted { step } if is_grant(step)))
        .count();
    assert!(grants >= 2, "the recipe has several grants");
    assert_eq!(
        started, grants,
        "all grants started before the first finished: {events:?}"
    );
}

/// On a new enterprise app only the first permission keeps asking Microsoft whether the app
/// is known yet; the others try once, then wait for it (or join in near the end), so a wait
/// does not multiply the requests by the number of permissions.
#[tokio::test]
async fn grants_on_a_new_enterprise_app_wait_behind_the_first() {
    let h = Harness::new(Knobs {
        replication: appgrant_sim::Replication {
            app_to_sp_ms: 600,
            sp_to_grant_ms: 600,
            ..Default::default()
        },
        ..Knobs::default()
    })
    .await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (plan, result, events) = h.run(&recipe, &Choices::default(), &journal).await;
    result.expect("apply gets through");
    let grants: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.id.contains("/grant"))
        .map(|s| s.id.as_str())
        .collect();
    assert!(
        grants.len() >= 2,
        "the recipe has several grants: {grants:?}"
    );
    let waits = |step: &str| {
        events
            .iter()
            .filter(|e| matches!(e, ApplyEvent::Waiting { step: s, .. } if s == step))
            .count()
    };
    let done = |step: &str| {
        events
            .iter()
            .any(|e| matches!(e, ApplyEvent::StepDone { step: s, .. } if s == step))
    };
    let (leader, followers) = grants.split_first().expect("grants");
    assert!(
        grants.iter().all(|g| done(g)),
        "every grant applied: {events:?}"
    );
    assert!(
        waits(leader) >= 3,
        "the first grant polled: {} waits",
        waits(leader)
    );
    for follower in followers {
        assert!(
            waits(follower) * 2 < waits(leader),
            "{follower} waited {} times, the first grant {}",
            waits(follower),
            waits(leader)
        );
    }
}

#[tokio::test]
async fn the_tenant_policy_caps_the_secret_lifetime() {
    let h = Harness::new(Knobs {
        secret_max_lifetime_days: Some(90),
        ..Knobs::default()
    })
    .await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (plan, result, _) = h.run(&recipe, &Choices::default(), &journal).await;
    assert_eq!(plan.lifetime.capped_by_policy_days, Some(90));
    assert!(plan.lifetime.days < 90);
    assert!(
        plan.notes.iter().any(|n| n.contains("at most 90 days")),
        "{:?}",
        plan.notes
    );
    let secret = result.expect("apply").apps[0].secret.clone().unwrap();
    let days = (secret.expires_at - secret.created_at).num_days();
    assert!(days <= 90, "expires within the policy: {days} days");
}

#[tokio::test]
async fn an_admin_without_consent_rights_gets_a_hand_off() {
    let sim = sim_with(Knobs::default()).await;
    // The Global Admin approves AppGrant itself once, as a real tenant would need.
    admin_session(&sim).await;
    let cloud_app_admin = sim
        .upn_with_role("158c047a-c907-4556-b7ef-446551a6b5f7")
        .expect("a seeded Cloud Application Administrator");
    let (auth, session) = signed_in_as(&sim, &cloud_app_admin).await;
    let h = Harness::with(sim, auth, session);
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (plan, result, events) = h.run(&recipe, &Choices::default(), &journal).await;

    let handoff = plan.consent_handoff.as_ref().expect("a hand-off");
    assert!(handoff.who.contains("Global Administrator"));
    assert!(
        handoff.message.contains("Mail.ReadWrite"),
        "{}",
        handoff.message
    );
    let blocked = plan.steps.iter().filter(|s| s.blocked.is_some()).count();
    assert_eq!(
        blocked, 3,
        "the three Graph application permissions wait for an admin"
    );
    let outcome = result.expect("everything else is done");
    assert_eq!(outcome.skipped.len(), 3);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ApplyEvent::StepSkipped { .. }))
            .count(),
        3
    );
    let report = h.verify(&recipe, &plan, &outcome).await;
    assert!(!report.ok(), "not granted yet, so verification says so");
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.id == "main/granted-roles" && c.status == CheckStatus::Failed),
        "{:#?}",
        report.checks
    );
}

#[tokio::test]
async fn a_keyring_that_refuses_leaves_no_unusable_secret() {
    let h = Harness::new(Knobs::default()).await;
    h.secrets.set_unavailable(true);
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (_, result, _) = h.run(&recipe, &Choices::default(), &journal).await;
    let err = result.expect_err("cannot store the secret");
    let failure = &err.failures[0];
    assert_eq!(failure.step, "main/secret");
    assert!(failure.hint.contains("keyring"), "{}", failure.hint);
    let creds = h.apps_named("TonicDM Office 365 Token").await[0]["passwordCredentials"].clone();
    assert_eq!(
        creds.as_array().unwrap().len(),
        0,
        "the unstorable secret was removed again"
    );

    // Once the keyring works again, Apply continues where it stopped.
    h.secrets.set_unavailable(false);
    let (_, again, _) = h.run(&recipe, &Choices::default(), &journal).await;
    again.expect("second run finishes");
    assert_eq!(h.apps_named("TonicDM Office 365 Token").await.len(), 1);
}

#[tokio::test]
async fn a_kill_at_every_step_resumes_without_duplicates() {
    let recipe = recipe("tonicdm");
    // TonicDM needs about ten Graph calls; die before each one in turn.
    for dies_after in 0..12 {
        let h = Harness::new(Knobs::default()).await;
        let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
        let snapshot = journal.lock().unwrap().clone();
        let plan = h.plan(&recipe, &Choices::default(), &snapshot).await;
        let dying = dying_graph(&h.sim, &h.auth, dies_after);
        let ctx = ApplyContext {
            graph: dying,
            secrets: Arc::new(h.secrets.clone()),
            cancel: CancellationToken::new(),
        };
        let _ = apply(&plan, &journal, &ctx, |_| {}).await;

        // The next run picks up from the journal.
        let (plan, resumed, _) = h.run(&recipe, &Choices::default(), &journal).await;
        let outcome = resumed.unwrap_or_else(|e| panic!("resume after {dies_after} calls: {e}"));
        let apps = h.apps_named("TonicDM Office 365 Token").await;
        assert_eq!(
            apps.len(),
            1,
            "killed after {dies_after} calls: no duplicate app"
        );
        let creds = apps[0]["passwordCredentials"].as_array().unwrap();
        assert_eq!(
            creds.len(),
            1,
            "killed after {dies_after} calls: exactly one secret"
        );
        let secret = outcome.apps[0].secret.as_ref().unwrap();
        assert!(
            h.secrets.load(&secret.keyring_account).unwrap().is_some(),
            "secret retrievable"
        );
        assert_eq!(
            h.role_assignments(&outcome.apps[0].service_principal_id)
                .await
                .len(),
            3,
            "killed after {dies_after} calls: no duplicate grants"
        );
        assert_verified(&h.verify(&recipe, &plan, &outcome).await);
    }
}

#[tokio::test]
async fn no_secret_lands_in_the_data_dir_journal_or_logs() {
    use appgrant_core::connect::connection_from;
    use appgrant_core::vault::Vault;

    let dir = std::env::temp_dir().join(format!("appgrant-scan-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("appgrant.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(Mutex::new(log_file))
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new(Knobs::default()).await;
    let recipe = recipe("timetoreply");
    let journal = Mutex::new(Journal::open(&dir, &h.session.tenant_id, "timetoreply").unwrap());
    let (plan, result, events) = h.run(&recipe, &choices_for(&recipe), &journal).await;
    let outcome = result.expect("apply");
    let vault = Vault::open(dir.clone(), Arc::new(h.secrets.clone())).unwrap();
    let connection = connection_from(
        &recipe,
        &plan,
        &outcome,
        None,
        true,
        None,
        Some(chrono::Utc::now()),
    );
    vault.save(&connection).unwrap();

    let secret = h
        .secrets
        .load(&outcome.apps[0].secret.as_ref().unwrap().keyring_account)
        .unwrap()
        .unwrap();
    let events_text = serde_json::to_string(&events).unwrap();
    assert!(
        !events_text.contains(secret.expose().as_str()),
        "no secret in progress events"
    );
    let mut scanned = 0;
    for entry in walk(&dir) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains(secret.expose().as_str()),
            "secret found in {}",
            entry.display()
        );
        scanned += 1;
    }
    assert!(
        scanned >= 3,
        "journal, index and log were all scanned: {scanned}"
    );
    assert!(
        !std::fs::read_to_string(&log_path).unwrap().is_empty(),
        "the log captured the run"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn removing_a_connection_deletes_what_the_recipe_created() {
    use appgrant_core::connect::{connection_from, removal_summary, remove};
    use appgrant_core::vault::Vault;

    let dir = std::env::temp_dir().join(format!("appgrant-remove-{}", uuid::Uuid::new_v4()));
    let h = Harness::new(Knobs::default()).await;
    let recipe = recipe("totalview");
    let journal = Mutex::new(Journal::open(&dir, &h.session.tenant_id, "totalview").unwrap());
    let (plan, result, _) = h.run(&recipe, &Choices::default(), &journal).await;
    let outcome = result.expect("apply");
    let vault = Vault::open(dir.clone(), Arc::new(h.secrets.clone())).unwrap();
    let connection = connection_from(&recipe, &plan, &outcome, None, true, None, None);
    vault.save(&connection).unwrap();

    let summary = removal_summary(&connection);
    assert!(
        summary
            .iter()
            .any(|l| l.contains("Totalview Calendar Synchronization")),
        "{summary:?}"
    );
    assert!(summary
        .iter()
        .any(|l| l.contains("Totalview E-Mail Sending")));

    remove(&h.graph, &vault, &dir, &connection)
        .await
        .expect("removes");
    assert!(h
        .apps_named("Totalview Calendar Synchronization")
        .await
        .is_empty());
    assert!(h.apps_named("Totalview E-Mail Sending").await.is_empty());
    assert!(vault.list().unwrap().is_empty());
    for app in &outcome.apps {
        assert!(
            !h.secrets
                .contains(&app.secret.as_ref().unwrap().keyring_account),
            "keyring entry gone"
        );
    }
    assert!(
        !Journal::path_for(&dir, &h.session.tenant_id, "totalview").exists(),
        "journal gone"
    );
    // Removing again is harmless.
    remove(&h.graph, &vault, &dir, &connection)
        .await
        .expect("idempotent");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn cancel_stops_a_waiting_run_and_it_resumes_later() {
    let h = Harness::new(Knobs::default()).await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let snapshot = journal.lock().unwrap().clone();
    let plan = h.plan(&recipe, &Choices::default(), &snapshot).await;
    // Microsoft is down: every Graph call fails, so apply keeps waiting...
    h.sim.update_knobs(|k| k.faults.rate = 1.0);
    let cancel = CancellationToken::new();
    let ctx = ApplyContext {
        graph: h
            .graph
            .clone()
            .with_policy(appgrant_core::graph::RetryPolicy {
                budget: std::time::Duration::from_secs(600),
                ..RetryPolicy::fast()
            }),
        secrets: Arc::new(h.secrets.clone()),
        cancel: cancel.clone(),
    };
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let err = apply(&plan, &journal, &ctx, |_| {})
        .await
        .expect_err("cancelled");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "cancel does not wait out retries"
    );
    assert_eq!(
        err.failures[0].code,
        appgrant_core::apply::ApplyCode::Cancelled
    );
    assert!(err.failures[0].hint.contains("continues where it stopped"));
    // ...and once Microsoft is back, the next run finishes.
    h.sim.update_knobs(|k| k.faults.rate = 0.0);
    let (_, resumed, _) = h.run(&recipe, &Choices::default(), &journal).await;
    resumed.expect("resumes");
    assert_eq!(h.apps_named("TonicDM Office 365 Token").await.len(), 1);
}

/// A TCP relay in front of the simulator that hangs up on the first `drops` connections, the
/// way a flaky network or proxy would.
async fn dropping_relay(target: std::net::SocketAddr, drops: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut seen = 0usize;
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen += 1;
            if seen <= drops {
                drop(inbound);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    format!("http://127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn dropped_connections_are_retried_without_duplicates() {
    let h = Harness::new(Knobs::default()).await;
    let relay = dropping_relay(h.sim.addr(), 3).await;
    // The same admin, but every Graph call goes through the flaky relay (no connection reuse,
    // so each request meets a fresh, possibly dropped, connection).
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let graph = GraphClient::new(
        http,
        &url::Url::parse(&format!("{relay}/")).unwrap(),
        Arc::new(DelegatedToken {
            auth: Arc::clone(&h.auth),
            access: Access::Apply,
        }),
    )
    .with_policy(RetryPolicy::fast());
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let snapshot = journal.lock().unwrap().clone();
    let plan = plan(
        &h.graph,
        &endpoints(&h.sim),
        &h.session,
        &recipe,
        &Choices::default(),
        &snapshot,
    )
    .await
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let ctx = ApplyContext {
        graph,
        secrets: Arc::new(h.secrets.clone()),
        cancel: CancellationToken::new(),
    };
    apply(&plan, &journal, &ctx, move |e| sink.lock().unwrap().push(e))
        .await
        .expect("apply gets through dropped connections");
    let transient = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                e,
                ApplyEvent::Waiting {
                    reason: WaitReason::Transient,
                    ..
                }
            )
        })
        .count();
    assert!(transient >= 1, "the drops were noticed and retried");
    assert_eq!(
        h.apps_named("TonicDM Office 365 Token").await.len(),
        1,
        "no duplicate app"
    );
}
