//! Day one in a tenant with history, against the practice tenant's hand-made vendor apps:
//! finding them (with the reason in words), the tenant-wide expiry report (certificate-only,
//! expired, credential-less apps, a permission the catalog does not know), adopting TonicDM,
//! seeing its drift, rotating, fixing, and ending with exactly the recipe's grants; and a
//! read-only account told which role adoption needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use appgrant_core::adopt::{self, AdoptError, AdoptRequest, Area, Confidence, CredentialKind};
use appgrant_core::graph::{DelegatedToken, GraphClient, RetryPolicy};
use appgrant_core::identity::{Access, Authenticator, MemoryStore};
use appgrant_core::lifecycle::{FinishWhen, Lifecycle, RotateOptions, SignedIn};
use appgrant_core::recipe::builtin_by_id;
use appgrant_core::vault::Vault;
use appgrant_sim::{Sim, SimConfig};
use chrono::Utc;
use common::{endpoints, signed_in_as};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn practice() -> Sim {
    Sim::start(SimConfig {
        hand_made_apps: true,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn graph(sim: &Sim, auth: &Arc<Authenticator>) -> GraphClient {
    GraphClient::new(
        appgrant_core::identity::http_client().unwrap(),
        &endpoints(sim).graph,
        Arc::new(DelegatedToken {
            auth: Arc::clone(auth),
            access: Access::Apply,
        }),
    )
    .with_policy(RetryPolicy::fast())
}

fn recipes() -> Vec<appgrant_core::recipe::Recipe> {
    appgrant_core::recipe::builtin().unwrap()
}

#[tokio::test]
async fn finds_the_hand_made_vendor_apps_and_lists_risky_strangers() {
    let sim = practice().await;
    let (auth, _) = signed_in_as(&sim, &sim.admin_upn()).await;
    let pages = std::sync::Mutex::new(Vec::new());
    let apps = adopt::read_apps(&graph(&sim, &auth), |p| pages.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(pages.lock().unwrap().last().unwrap().apps, apps.len());
    let found = adopt::find(&apps, &recipes());
    let tonic = found
        .matches
        .iter()
        .find(|m| m.app.display_name == "TonicDM O365 Org Token")
        .expect("TonicDM found");
    assert_eq!(tonic.recipe_id, "tonicdm");
    assert_eq!(tonic.confidence, Confidence::High);
    assert!(
        tonic
            .reason
            .contains("as application permissions, like TonicDM")
            && tonic.reason.contains("also holds Calendars.Read"),
        "{}",
        tonic.reason
    );
    for (name, key) in [
        ("Totalview Calendar Sync", "calendar"),
        ("Totalview Email", "mail"),
    ] {
        let m = found
            .matches
            .iter()
            .find(|m| m.app.display_name == name)
            .unwrap();
        assert_eq!(
            (m.recipe_id.as_str(), m.app_key.as_str()),
            ("totalview", key)
        );
    }
    let archiver = found
        .risky
        .iter()
        .find(|r| r.app.display_name == "Legacy Mail Archiver")
        .expect("an app matching no recipe with Mail.Read is listed as risky");
    assert_eq!(archiver.permissions, ["Mail.Read"]);
    assert!(archiver
        .app
        .permissions
        .iter()
        .any(|p| p.name.is_none() && p.label().contains(appgrant_sim::seed_apps::UNKNOWN_ROLE_ID)));
    assert!(!found
        .matches
        .iter()
        .any(|m| m.app.display_name == "Old Intranet"));
}

#[tokio::test]
async fn the_expiry_report_has_one_row_per_credential_of_every_app() {
    let sim = practice().await;
    let (auth, _) = signed_in_as(&sim, &sim.admin_upn()).await;
    let apps = adopt::read_apps(&graph(&sim, &auth), |_| {}).await.unwrap();
    let mut rows = adopt::expiry_rows(&apps, Utc::now(), None);
    adopt::read_owners(&graph(&sim, &auth), &mut rows).await;
    let of = |name: &str| {
        rows.iter()
            .filter(|r| r.app_name == name)
            .collect::<Vec<_>>()
    };
    assert!(of("Old Intranet").is_empty(), "no credentials, no rows");
    let hr = of("Contoso HR Sync");
    assert_eq!(hr.len(), 1);
    assert_eq!(hr[0].kind, CredentialKind::Certificate);
    assert_eq!(hr[0].name, "CN=hr-sync.contoso.example");
    let tv = of("Totalview Calendar Sync");
    assert!(tv[0].expired(), "{:?}", tv[0].days_left);
    let tonic = of("TonicDM O365 Org Token");
    assert!(matches!(tonic[0].days_left, Some(6 | 7)));
    assert_eq!(
        tonic[0].owners,
        ["Avery Admin"],
        "owners are read when readable"
    );
    let soon = adopt::expiry_rows(&apps, Utc::now(), Some(60));
    assert!(soon.iter().all(|r| r.days_left.unwrap() <= 60));
    assert!(!soon.iter().any(|r| r.app_name == "Contoso HR Sync"));
    let csv = adopt::to_csv(&rows);
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert!(csv.contains(",Avery Admin\r\n"), "{csv}");
}

#[tokio::test]
async fn a_read_only_account_is_told_which_role_adoption_needs() {
    let sim = practice().await;
    let (auth, session) = signed_in_as(&sim, "gray.reader@contosopractice.onmicrosoft.com").await;
    let g = graph(&sim, &auth);
    let apps = adopt::read_apps(&g, |_| {})
        .await
        .expect("a Global Reader may read apps");
    let tonic = apps
        .iter()
        .find(|a| a.display_name.starts_with("TonicDM"))
        .unwrap();
    let dir = tempdir();
    let vault = Vault::open(dir.clone(), Arc::new(MemoryStore::new())).unwrap();
    let err = adopt::adopt(
        &g,
        &session,
        &vault,
        &AdoptRequest {
            recipe: builtin_by_id("tonicdm").unwrap().unwrap(),
            app_ids: vec![tonic.app_id.clone()],
            practice: true,
            cloud: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AdoptError::ReadOnly { .. }));
    assert!(err
        .to_string()
        .contains("may read app registrations but not change them"));
    assert!(err.to_string().contains("Global Reader"), "{err}");
    assert!(err.hint().contains("Application Administrator"));
    assert!(vault.list().unwrap().is_empty(), "nothing saved");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("appgrant-adopt-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn adopting_tonicdm_then_rotating_and_fixing_leaves_exactly_the_recipes_grants() {
    let sim = practice().await;
    let (auth, session) = signed_in_as(&sim, &sim.admin_upn()).await;
    let g = graph(&sim, &auth);
    let apps = adopt::read_apps(&g, |_| {}).await.unwrap();
    let tonic = apps
        .iter()
        .find(|a| a.display_name.starts_with("TonicDM"))
        .unwrap()
        .clone();
    let dir = tempdir();
    let vault = Arc::new(Vault::open(dir.clone(), Arc::new(MemoryStore::new())).unwrap());
    let connection = adopt::adopt(
        &g,
        &session,
        &vault,
        &AdoptRequest {
            recipe: builtin_by_id("tonicdm").unwrap().unwrap(),
            app_ids: vec![tonic.app_id.clone()],
            practice: true,
            cloud: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(connection.apps[0].object_id, tonic.object_id, "no new app");
    let old_key = connection.apps[0].secret.as_ref().unwrap().key_id.clone();
    let life = Lifecycle::with_vault(Arc::clone(&vault)).with_policy(RetryPolicy::fast());
    let status = life.status(&connection.id, Utc::now()).await.unwrap();
    let json = serde_json::to_string(&status).unwrap();
    assert!(json.contains("\"inKeyring\":false"), "{json}");
    let signed_in = SignedIn {
        endpoints: endpoints(&sim),
        auth: Arc::clone(&auth),
    };

    let drift = adopt::drift_plan(&life, &g, &signed_in, &connection.id)
        .await
        .unwrap();
    let texts: Vec<&str> = drift.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("Calendars.Read")),
        "{texts:?}"
    );
    let last = drift.steps.last().unwrap();
    assert_eq!(last.area, Area::EnterpriseAppProperties, "portal order");
    assert!(last.text.contains("Assignment required"));

    life.start_rotation(
        &signed_in,
        &connection.id,
        RotateOptions::default(),
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();
    life.finish_rotation(
        &signed_in,
        &connection.id,
        FinishWhen::Confirmed,
        |_| {},
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let keys: Vec<String> = sim
        .app_secrets(&tonic.app_id)
        .unwrap()
        .iter()
        .map(|s| s["keyId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 1);
    assert_ne!(
        keys[0], old_key,
        "the hand-made secret is gone, AppGrant's is held"
    );

    let after = adopt::fix_drift(&life, &g, &signed_in, &connection.id, |_| {})
        .await
        .unwrap();
    assert!(after.steps.is_empty(), "{:?}", after.steps);
    assert!(
        !after.check.summary.drift(),
        "{:?}",
        after.check.summary.findings
    );
    let sp = connection.apps[0].service_principal_id.clone().unwrap();
    let granted: Vec<String> = g
        .get_all(&format!("servicePrincipals/{sp}/appRoleAssignments"))
        .await
        .unwrap()
        .iter()
        .map(|a| a["appRoleId"].as_str().unwrap().to_string())
        .collect();
    let catalog = appgrant_core::catalog::Catalog::bundled().unwrap();
    let mut names: Vec<String> = granted
        .iter()
        .map(|id| {
            catalog
                .iter()
                .find(|p| {
                    p.kind == appgrant_core::catalog::PermissionKind::Application && &p.id == id
                })
                .unwrap()
                .value
                .clone()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Mail.ReadWrite",
            "MailboxSettings.ReadWrite",
            "User.Read.All"
        ]
    );
    let body: Value = g
        .get(&format!(
            "servicePrincipals/{sp}?$select=id,appRoleAssignmentRequired"
        ))
        .await
        .unwrap();
    assert_eq!(body["appRoleAssignmentRequired"], Value::Bool(false));
    let _ = std::fs::remove_dir_all(dir);
}
