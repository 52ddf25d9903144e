//! The change record of each built-in recipe after a practice-tenant run through `Flow` (with
//! the mailbox or sign-in limit the recipe offers): every object id the practice tenant holds
//! for the vendor's apps, read from the simulator's own state, is in both files, and the
//! secret value (from the credential store) is in neither.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use appgrant_core::flow::{Flow, FlowError, TenantChoice};
use appgrant_core::graph::RetryPolicy;
use appgrant_core::identity::{MemoryStore, SignInError};
use appgrant_core::plan::Choices;
use appgrant_core::recipe::builtin_by_id;
use appgrant_core::record::{ChangeRecord, RecordFormat};
use appgrant_core::scope::RecipientKind;
use appgrant_core::vault::{Connection, Vault};
use appgrant_sim::{Knobs, Sim};
use common::{sim_with, Decision, FormBrowser};
use tokio_util::sync::CancellationToken;

/// Signs in again with the people-picker scopes when Microsoft asks for consent.
async fn find(flow: &mut Flow, sim: &Sim, query: &str, kind: RecipientKind) -> String {
    if let Err(FlowError::SignIn(SignInError::AdminConsentRequired)) =
        flow.search_people(query, 10).await
    {
        Flow::sign_in_for_mailbox_limit(
            flow.authenticator().unwrap(),
            &FormBrowser::new(&sim.admin_upn(), Decision::Accept),
            &CancellationToken::new(),
        )
        .await
        .expect("consents to the people picker");
    }
    flow.search_people(query, 10)
        .await
        .expect("search")
        .into_iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("{query} is seeded"))
        .id
}

/// Start → Done for one recipe, limiting what the recipe offers to limit.
async fn done(sim: &Sim, recipe_id: &str) -> (Connection, MemoryStore, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("appgrant-record-{}", uuid::Uuid::new_v4()));
    let secrets = MemoryStore::new();
    let mut flow =
        Flow::new(dir.clone(), Arc::new(secrets.clone())).with_policy(RetryPolicy::fast());
    flow.use_tenant(TenantChoice {
        cloud: common::cloud(sim),
        tenant: sim.tenant_id(),
        practice: true,
        client_id: Some(sim.public_client_id().to_string()),
    })
    .unwrap();
    Flow::sign_in_browser(
        flow.authenticator().unwrap(),
        &FormBrowser::new(&sim.admin_upn(), Decision::Accept),
        &CancellationToken::new(),
    )
    .await
    .expect("signs in");
    let recipe = builtin_by_id(recipe_id).unwrap().unwrap();
    let mut choices = Choices::default();
    if recipe_id == "timetoreply" {
        choices.inputs = BTreeMap::from([(
            "portal_url".to_string(),
            "https://ttr.contoso.com".to_string(),
        )]);
    }
    flow.plan(recipe.clone(), choices).await.expect("plan");
    flow.apply(|_| {}, CancellationToken::new())
        .await
        .expect("apply");
    assert!(flow.verify().await.expect("verify").ok());
    if recipe.apps.iter().any(|a| a.limit_sign_in) {
        let sales = find(&mut flow, sim, "Sales", RecipientKind::Group).await;
        flow.limit_sign_in(&[sales]).await.expect("limit sign-in");
    }
    if recipe.apps.iter().any(|a| a.limit_mailboxes.is_some()) {
        let group = find(&mut flow, sim, "Mail Connector", RecipientKind::Group).await;
        flow.choose_mailboxes(&[group]).await.expect("choose");
        flow.limit_mailboxes().await.expect("limit mailboxes");
    }
    let vault = Vault::open(dir.clone(), Arc::new(secrets.clone())).unwrap();
    let connection = flow.finish(&vault).await.expect("saved");
    (connection, secrets, dir)
}

/// Every id the practice tenant holds for the connection's apps, from the simulator's own
/// state (its `/_sim/apps/{appId}/objects` view), not from what AppGrant remembers.
fn tenant_ids(sim: &Sim, connection: &Connection) -> Vec<String> {
    let mut ids = vec![sim.tenant_id()];
    for app in &connection.apps {
        let objects = appgrant_sim::control::app_objects(sim.state(), &app.app_id)
            .expect("the app is in the tenant");
        for (key, value) in objects.as_object().unwrap() {
            match value {
                serde_json::Value::String(id) => ids.push(id.clone()),
                serde_json::Value::Array(list) => {
                    ids.extend(list.iter().map(|v| v.as_str().unwrap().to_string()))
                }
                other => panic!("{key}: {other}"),
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn each_recipes_record_names_every_object_the_tenant_holds_and_no_secret() {
    let sim = sim_with(Knobs::default()).await;
    for recipe_id in ["tonicdm", "totalview", "docbits", "timetoreply"] {
        let (connection, secrets, dir) = done(&sim, recipe_id).await;
        let ids = tenant_ids(&sim, &connection);
        assert!(
            ids.len() >= 6,
            "{recipe_id}: tenant, app, client id, secret, enterprise app, grants: {ids:?}"
        );
        let recipe = builtin_by_id(recipe_id).unwrap().unwrap();
        let record = ChangeRecord::build(&connection, Some(&recipe), chrono::Utc::now());
        let vault = Vault::open(dir.clone(), Arc::new(secrets.clone())).unwrap();
        let secret_values: Vec<String> = connection
            .secret_refs()
            .iter()
            .map(|r| vault.load_secret(r).unwrap().expect("stored").into_inner())
            .collect();
        assert!(
            !secret_values.is_empty(),
            "{recipe_id} has a secret to hide"
        );
        for format in [RecordFormat::Md, RecordFormat::Html] {
            let text = record.render(format);
            for id in &ids {
                assert!(
                    text.contains(id.as_str()),
                    "{recipe_id} {format:?}: the tenant holds {id}, the record must name it"
                );
            }
            for secret in &secret_values {
                assert!(
                    !text.contains(secret.as_str()),
                    "{recipe_id} {format:?}: a secret value is in the record"
                );
            }
            assert!(text.contains(&sim.admin_upn()), "who signed in");
        }
        if recipe.apps.iter().any(|a| a.limit_mailboxes.is_some()) {
            assert!(
                record.limits.iter().any(|l| l.kind.starts_with("Mailbox")
                    && l.proof.iter().any(|p| p.starts_with("Refused"))),
                "{recipe_id}: the mailbox limit and its refused probe: {:#?}",
                record.limits
            );
        }
        assert!(!record.checks.is_empty(), "{recipe_id}: the verification");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
