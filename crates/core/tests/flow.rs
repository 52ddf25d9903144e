//! The whole wizard journey through `Flow`, as the desktop shell and the CLI drive it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use appgrant_core::flow::{Flow, FlowError, TenantChoice};
use appgrant_core::graph::RetryPolicy;
use appgrant_core::identity::MemoryStore;
use appgrant_core::plan::Choices;
use appgrant_core::recipe::builtin_by_id;
use appgrant_core::vault::Vault;
use appgrant_sim::Knobs;
use common::{sim_with, Decision, FormBrowser};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn start_to_done_in_the_practice_tenant() {
    let sim = sim_with(Knobs::default()).await;
    let dir = std::env::temp_dir().join(format!("appgrant-flow-{}", uuid::Uuid::new_v4()));
    let secrets = MemoryStore::new();
    let mut flow =
        Flow::new(dir.clone(), Arc::new(secrets.clone())).with_policy(RetryPolicy::fast());
    let recipe = builtin_by_id("tonicdm").unwrap().unwrap();

    assert!(matches!(
        flow.plan(recipe.clone(), Choices::default()).await,
        Err(FlowError::NoTenant)
    ));
    flow.use_tenant(TenantChoice {
        cloud: common::cloud(&sim),
        tenant: sim.tenant_id(),
        practice: true,
        client_id: Some(sim.public_client_id().to_string()),
    })
    .unwrap();
    assert!(matches!(
        flow.plan(recipe.clone(), Choices::default()).await,
        Err(FlowError::NotSignedIn)
    ));

    let auth = flow.authenticator().unwrap();
    let session = Flow::sign_in_browser(
        auth,
        &FormBrowser::new(&sim.admin_upn(), Decision::Accept),
        &CancellationToken::new(),
    )
    .await
    .expect("signs in");
    assert!(session.capabilities.can_grant_application_permissions);

    let plan = flow
        .plan(recipe.clone(), Choices::default())
        .await
        .expect("plan");
    assert!(plan.steps.iter().all(|s| !s.done), "nothing exists yet");
    let events = Arc::new(std::sync::Mutex::new(0usize));
    let counter = Arc::clone(&events);
    flow.apply(
        move |_| *counter.lock().unwrap() += 1,
        CancellationToken::new(),
    )
    .await
    .expect("apply");
    assert!(*events.lock().unwrap() > 0, "progress reported");
    let report = flow.verify().await.expect("verify");
    assert!(report.ok(), "{:#?}", report.checks);

    let vault = Vault::open(dir.clone(), Arc::new(secrets.clone())).unwrap();
    let connection = flow.finish(&vault).await.expect("saved");
    assert!(connection.practice);
    assert_eq!(
        connection.cloud, None,
        "the in-process practice tenant's address dies with it, so none is recorded"
    );
    assert!(connection.verified_at.is_some());
    let again = flow.finish(&vault).await.expect("saved again");
    assert_eq!(
        again.id, connection.id,
        "finishing twice updates the same connection"
    );
    assert_eq!(vault.list().unwrap().len(), 1);
    let at = connection.secret_ref("main").expect("secret reference");
    assert!(
        vault.load_secret(&at).unwrap().is_some(),
        "secret retrievable from the vault"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cloud_without_a_microsoft_sign_in_app_or_with_a_bad_ca_file_is_refused_up_front() {
    use appgrant_core::cloud::{Cloud, CloudError};
    let dir = std::env::temp_dir().join(format!("appgrant-flow-{}", uuid::Uuid::new_v4()));
    let mut flow = Flow::new(dir, Arc::new(MemoryStore::new()));
    let choice = |cloud: Cloud, client_id: Option<&str>| TenantChoice {
        cloud,
        tenant: "contoso.partner.onmschina.cn".into(),
        practice: false,
        client_id: client_id.map(str::to_string),
    };
    let err = flow.use_tenant(choice(Cloud::China, None)).unwrap_err();
    assert!(matches!(err, FlowError::NeedsClientId("China (21Vianet)")));
    assert!(err.to_string().contains("Application (client) ID"), "{err}");
    assert!(flow.tenant().is_none(), "nothing chosen after a refusal");

    flow.use_tenant(choice(
        Cloud::China,
        Some("0c8a5a4e-1f0b-4d53-9a55-3f2a1c0e7b11"),
    ))
    .expect("China with the organisation's own app");
    assert_eq!(
        flow.endpoints().unwrap().resource,
        "https://microsoftgraph.chinacloudapi.cn"
    );

    let bad_ca = Cloud::Custom {
        login: "https://127.0.0.1:1".into(),
        graph: "https://127.0.0.1:1".into(),
        resource: None,
        ca_file: Some("/nonexistent/ca.pem".into()),
    };
    let err = flow.use_tenant(choice(bad_ca, None)).unwrap_err();
    assert!(
        matches!(err, FlowError::Cloud(CloudError::CaFile { .. })),
        "{err}"
    );
    assert_eq!(
        flow.tenant().map(|t| t.cloud.id()),
        Some("china"),
        "a refused choice leaves the previous one in place"
    );
}

/// A practice scenario's account is suggested on Microsoft's sign-in page: the page the
/// browser opens arrives with that account filled in, so the admin only presses Sign in.
#[tokio::test]
async fn the_login_hint_fills_in_the_account_on_the_sign_in_page() {
    struct Capture(std::sync::Mutex<Option<url::Url>>);
    impl appgrant_core::identity::BrowserOpener for Capture {
        fn open(&self, url: &url::Url) -> Result<(), String> {
            *self.0.lock().unwrap() = Some(url.clone());
            Ok(())
        }
    }
    let sim = sim_with(Knobs::default()).await;
    let dir = std::env::temp_dir().join(format!("appgrant-flow-{}", uuid::Uuid::new_v4()));
    let mut flow = Flow::new(dir, Arc::new(MemoryStore::new()));
    flow.use_tenant(TenantChoice {
        cloud: common::cloud(&sim),
        tenant: sim.tenant_id(),
        practice: true,
        client_id: Some(sim.public_client_id().to_string()),
    })
    .unwrap();
    let upn = format!("casey.cloudapps@{}", sim.tenant_domain());
    flow.set_login_hint(Some(upn.clone())).unwrap();

    let capture = Arc::new(Capture(std::sync::Mutex::new(None)));
    let cancel = CancellationToken::new();
    let (auth, browser, stop) = (
        flow.authenticator().unwrap(),
        Arc::clone(&capture),
        cancel.clone(),
    );
    let signing_in =
        tokio::spawn(async move { Flow::sign_in_browser(auth, browser.as_ref(), &stop).await });
    let url = loop {
        if let Some(url) = capture.0.lock().unwrap().clone() {
            break url;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    cancel.cancel();
    let _ = signing_in.await;
    let hint = url
        .query_pairs()
        .find(|(k, _)| k == "login_hint")
        .map(|(_, v)| v.to_string());
    assert_eq!(hint.as_deref(), Some(upn.as_str()));
    let page = reqwest::get(url.as_str())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("name=\"username\" list=\"users\" value=\"{upn}\"")),
        "the practice tenant's page fills the account in"
    );
}
