//! Mailbox limiting through `Flow`, as the desktop shell drives it: plan → apply → verify →
//! choose a group → limit → verified (or pending while Microsoft applies it); and a re-run of
//! Apply after limiting does not grant the limited permission tenant-wide again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use appgrant_core::apply::ApplyOutcome;
use appgrant_core::flow::{Flow, FlowError, TenantChoice};
use appgrant_core::graph::{DelegatedToken, GraphClient, RetryPolicy};
use appgrant_core::identity::{Access, MemoryStore, SignInError};
use appgrant_core::plan::{Choices, StepKind};
use appgrant_core::recipe::builtin_by_id;
use appgrant_core::scope::verify::ProbeResult;
use appgrant_core::scope::{RecipientKind, ScopeStatus};
use appgrant_core::vault::Vault;
use appgrant_sim::{Knobs, Sim};
use common::{endpoints, sim_with, Decision, FormBrowser};
use tokio_util::sync::CancellationToken;

const MAIL_READWRITE: &str = "e2a3a72e-5f79-4c64-b1b1-878b674786c9";
const USER_READ_ALL: &str = "df021288-bdef-4463-88db-98f22de89214";

struct Run {
    sim: Sim,
    flow: Flow,
    dir: std::path::PathBuf,
    secrets: MemoryStore,
    outcome: ApplyOutcome,
}

/// Signs in as the Global Administrator, plans, applies and verifies TonicDM.
async fn applied(knobs: Knobs) -> Run {
    applied_recipe(knobs, "tonicdm").await
}

async fn applied_recipe(knobs: Knobs, recipe_id: &str) -> Run {
    applied_with(knobs, recipe_id, Choices::default()).await
}

async fn applied_with(knobs: Knobs, recipe_id: &str, choices: Choices) -> Run {
    let sim = sim_with(knobs).await;
    let dir = std::env::temp_dir().join(format!("appgrant-scope-flow-{}", uuid::Uuid::new_v4()));
    let secrets = MemoryStore::new();
    let mut flow =
        Flow::new(dir.clone(), Arc::new(secrets.clone())).with_policy(RetryPolicy::fast());
    flow.use_tenant(TenantChoice {
        cloud: common::cloud(&sim),
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
    flow.plan(recipe, choices).await.expect("plan");
    let outcome = flow
        .apply(|_| {}, CancellationToken::new())
        .await
        .expect("apply");
    let report = flow.verify().await.expect("verify");
    assert!(report.ok(), "{:#?}", report.checks);
    Run {
        sim,
        flow,
        dir,
        secrets,
        outcome,
    }
}

impl Run {
    /// Consents to the people-picker scopes when asked, then searches.
    async fn search(&mut self, query: &str) -> Vec<appgrant_core::scope::Recipient> {
        match self.flow.search_people(query, 10).await {
            Err(FlowError::SignIn(SignInError::AdminConsentRequired)) => {
                Flow::sign_in_for_mailbox_limit(
                    self.flow.authenticator().unwrap(),
                    &FormBrowser::new(&self.sim.admin_upn(), Decision::Accept),
                    &CancellationToken::new(),
                )
                .await
                .expect("signs in again for the people picker");
            }
            other => {
                other.expect("search works without a second sign-in");
            }
        }
        self.flow.search_people(query, 10).await.expect("search")
    }

    fn admin_graph(&self) -> GraphClient {
        GraphClient::new(
            appgrant_core::identity::http_client().unwrap(),
            &endpoints(&self.sim).graph,
            Arc::new(DelegatedToken {
                auth: self.flow.authenticator().unwrap(),
                access: Access::Apply,
            }),
        )
        .with_policy(RetryPolicy::fast())
    }

    /// Consents to the mailbox-limiting scopes when asked, then picks the seeded group.
    async fn choose_group(&mut self) {
        match self.flow.search_people("Mail Connector", 10).await {
            Err(FlowError::SignIn(SignInError::AdminConsentRequired)) => {
                Flow::sign_in_for_mailbox_limit(
                    self.flow.authenticator().unwrap(),
                    &FormBrowser::new(&self.sim.admin_upn(), Decision::Accept),
                    &CancellationToken::new(),
                )
                .await
                .expect("signs in again for mailbox limiting");
            }
            other => {
                other.expect("search works without a second sign-in");
            }
        }
        let found = self
            .flow
            .search_people("Mail Connector", 10)
            .await
            .expect("search");
        let group = found
            .iter()
            .find(|r| r.kind == RecipientKind::Group && r.display_name == "Mail Connector Users")
            .expect("the seeded group is found");
        let chosen = self
            .flow
            .choose_mailboxes(std::slice::from_ref(&group.id))
            .await
            .expect("choose");
        assert_eq!(chosen.len(), 1);
        assert_eq!(
            self.flow.chosen_mailboxes()[0].display_name,
            "Mail Connector Users"
        );
    }

    async fn entra_roles(&self) -> Vec<String> {
        let graph = GraphClient::new(
            appgrant_core::identity::http_client().unwrap(),
            &endpoints(&self.sim).graph,
            Arc::new(DelegatedToken {
                auth: self.flow.authenticator().unwrap(),
                access: Access::Apply,
            }),
        )
        .with_policy(RetryPolicy::fast());
        graph
            .get_all(&format!(
                "servicePrincipals/{}/appRoleAssignments",
                self.outcome.apps[0].service_principal_id
            ))
            .await
            .unwrap()
            .iter()
            .map(|a| a["appRoleId"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test]
async fn limit_to_a_group_is_verified_saved_and_survives_a_rerun_of_apply() {
    let mut run = applied(Knobs::default()).await;
    assert!(matches!(
        run.flow.limit_mailboxes().await,
        Err(FlowError::NoMailboxesChosen | FlowError::SignIn(_))
    ));
    run.choose_group().await;

    let limit = run.flow.limit_mailboxes().await.expect("limit");
    assert!(
        limit.handoff.is_none(),
        "a Global Administrator needs no hand-off"
    );
    assert_eq!(limit.reports.len(), 1);
    let report = &limit.reports[0];
    assert!(
        matches!(report.state.status, ScopeStatus::Verified { .. }),
        "{report:#?}"
    );
    assert!(
        report.headline.starts_with("Limited to "),
        "{}",
        report.headline
    );
    assert_eq!(report.inside.as_ref().unwrap().result, ProbeResult::Allowed);
    assert_eq!(
        report.outside.as_ref().unwrap().result,
        ProbeResult::Refused
    );
    let roles = run.entra_roles().await;
    assert!(!roles.contains(&MAIL_READWRITE.to_string()), "{roles:?}");
    assert!(roles.contains(&USER_READ_ALL.to_string()), "{roles:?}");

    // Saved on the connection.
    let vault = Vault::open(run.dir.clone(), Arc::new(run.secrets.clone())).unwrap();
    let connection = run.flow.finish(&vault).await.expect("saved");
    assert_eq!(connection.mailbox_limits.len(), 1);
    assert!(matches!(
        connection.mailbox_limits[0].status,
        ScopeStatus::Verified { .. }
    ));
    assert_eq!(
        vault.list().unwrap()[0].mailbox_limits,
        connection.mailbox_limits
    );

    // Re-running Apply does not grant Mail.ReadWrite tenant-wide again.
    let plan = run.flow.replan().await.expect("re-plan");
    let limited: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| {
            matches!(&s.kind, StepKind::GrantApplicationPermission { name, .. } if name == "Mail.ReadWrite")
        })
        .collect();
    assert_eq!(limited.len(), 1);
    assert!(limited[0].done, "{:?}", limited[0]);
    assert!(
        limited[0].title.contains("limited by Exchange"),
        "{}",
        limited[0].title
    );
    run.flow
        .apply(|_| {}, CancellationToken::new())
        .await
        .expect("re-apply");
    let roles = run.entra_roles().await;
    assert!(
        !roles.contains(&MAIL_READWRITE.to_string()),
        "the re-run kept the tenant-wide grant removed: {roles:?}"
    );
    assert!(roles.contains(&USER_READ_ALL.to_string()));
    let report = run.flow.verify().await.expect("verify after the re-run");
    assert!(
        report.ok(),
        "the limited permission is not reported missing: {:#?}",
        report.checks
    );
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test]
async fn limit_is_pending_until_microsoft_applies_it() {
    let mut run = applied(Knobs {
        exchange_propagation_ms: 1500,
        ..Knobs::default()
    })
    .await;
    run.choose_group().await;
    let limit = run.flow.limit_mailboxes().await.expect("limit");
    let report = &limit.reports[0];
    let ScopeStatus::Pending { applied_at } = report.state.status else {
        panic!("pending expected: {report:#?}")
    };
    assert!(report.headline.contains("pending"), "{}", report.headline);
    assert!(!report.headline.contains("Limited to"));
    let vault = Vault::open(run.dir.clone(), Arc::new(run.secrets.clone())).unwrap();
    let saved = run.flow.finish(&vault).await.expect("saved");
    assert!(matches!(
        saved.mailbox_limits[0].status,
        ScopeStatus::Pending { .. }
    ));

    tokio::time::sleep(Duration::from_millis(1700)).await;
    let later = run.flow.verify_mailbox_limit().await.expect("verify again");
    assert!(
        matches!(later.reports[0].state.status, ScopeStatus::Verified { applied_at: a, .. } if a == applied_at),
        "{:#?}",
        later.reports[0]
    );
    let saved = run.flow.finish(&vault).await.expect("saved again");
    assert!(matches!(
        saved.mailbox_limits[0].status,
        ScopeStatus::Verified { .. }
    ));
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test]
async fn docbits_sign_in_is_limited_to_the_chosen_people_through_flow() {
    let mut run = applied_recipe(Knobs::default(), "docbits").await;
    assert!(matches!(
        run.flow.limit_sign_in(&[]).await,
        Err(FlowError::NoSignInPeopleChosen)
    ));
    let sales = run
        .search("Sales")
        .await
        .into_iter()
        .find(|r| r.kind == RecipientKind::Group && r.display_name == "Sales")
        .expect("the seeded Sales group");
    let limits = run
        .flow
        .limit_sign_in(std::slice::from_ref(&sales.id))
        .await
        .expect("limit sign-in");
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].recipients.len(), 1);
    assert!(
        limits[0]
            .headline()
            .contains("mailbox access is not limited"),
        "{}",
        limits[0].headline()
    );
    let graph = run.admin_graph();
    let sp = &run.outcome.apps[0].service_principal_id;
    let got = graph.get(&format!("servicePrincipals/{sp}")).await.unwrap();
    assert_eq!(got["appRoleAssignmentRequired"], true);
    let assigned = graph
        .get_all(&format!("servicePrincipals/{sp}/appRoleAssignedTo"))
        .await
        .unwrap();
    assert_eq!(assigned.len(), 1);
    assert!(assigned[0]["principalId"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(&sales.id));
    // Re-running duplicates nothing.
    run.flow
        .limit_sign_in(std::slice::from_ref(&sales.id))
        .await
        .expect("again");
    assert_eq!(
        graph
            .get_all(&format!("servicePrincipals/{sp}/appRoleAssignedTo"))
            .await
            .unwrap()
            .len(),
        1
    );
    // Saved on the connection, separately from any mailbox limit.
    let vault = Vault::open(run.dir.clone(), Arc::new(run.secrets.clone())).unwrap();
    let connection = run.flow.finish(&vault).await.expect("saved");
    assert_eq!(connection.sign_in_limits.len(), 1);
    assert!(connection.mailbox_limits.is_empty());
    assert_eq!(
        vault.list().unwrap()[0].sign_in_limits,
        connection.sign_in_limits
    );
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test]
async fn tonicdm_does_not_offer_sign_in_limiting() {
    let mut run = applied(Knobs::default()).await;
    assert!(matches!(
        run.flow.limit_sign_in(&["x".to_string()]).await,
        Err(FlowError::SignInNotLimitable(_))
    ));
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test]
async fn mailbox_list_can_be_changed_and_the_limit_removed() {
    let mut run = applied(Knobs::default()).await;
    run.choose_group().await;
    run.flow.limit_mailboxes().await.expect("limit");
    let robin = run
        .search("robin")
        .await
        .into_iter()
        .find(|r| r.kind == RecipientKind::User)
        .expect("robin");
    let changed = run
        .flow
        .change_mailboxes(std::slice::from_ref(&robin.id))
        .await
        .expect("change");
    let state = &changed.reports[0].state;
    assert_eq!(state.recipients.len(), 1);
    assert_eq!(state.recipients[0].id, robin.id);
    assert!(
        matches!(
            state.status,
            ScopeStatus::Verified { .. } | ScopeStatus::Pending { .. }
        ),
        "{state:#?}"
    );
    assert_eq!(run.flow.chosen_mailboxes()[0].id, robin.id);
    let vault = Vault::open(run.dir.clone(), Arc::new(run.secrets.clone())).unwrap();
    let saved = run.flow.finish(&vault).await.expect("saved");
    assert_eq!(saved.mailbox_limits[0].recipients[0].id, robin.id);

    run.flow.remove_mailbox_limit().await.expect("remove");
    // Saving again forgets the removed limit instead of keeping the old one.
    let saved = run.flow.finish(&vault).await.expect("saved again");
    assert!(
        saved.mailbox_limits.is_empty(),
        "{:?}",
        saved.mailbox_limits
    );
    assert!(vault.list().unwrap()[0].mailbox_limits.is_empty());
    let roles = run.entra_roles().await;
    assert!(
        roles.contains(&MAIL_READWRITE.to_string()),
        "the tenant-wide grant is back: {roles:?}"
    );
    assert!(matches!(
        run.flow.verify_mailbox_limit().await,
        Err(FlowError::NotLimited)
    ));
    let report = run.flow.verify().await.expect("verify");
    assert!(report.ok(), "{:#?}", report.checks);
    // The journal forgot the limit: a re-plan no longer says Exchange limits the permission.
    let plan = run.flow.replan().await.expect("re-plan");
    let grant = plan
        .steps
        .iter()
        .find(|s| {
            matches!(&s.kind, StepKind::GrantApplicationPermission { name, .. } if name == "Mail.ReadWrite")
        })
        .expect("the grant step");
    assert!(grant.done, "{grant:?}");
    assert!(
        !grant.title.contains("limited by Exchange"),
        "{}",
        grant.title
    );
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test]
async fn check_now_proves_a_pending_mailbox_limit_again() {
    use appgrant_core::lifecycle::{FindingKind, Lifecycle, SignedIn, StatusKind};
    let mut run = applied(Knobs {
        exchange_propagation_ms: 1500,
        ..Knobs::default()
    })
    .await;
    run.choose_group().await;
    run.flow.limit_mailboxes().await.expect("limit");
    let vault = Arc::new(Vault::open(run.dir.clone(), Arc::new(run.secrets.clone())).unwrap());
    let saved = run.flow.finish(&vault).await.expect("saved");
    let life = Lifecycle::with_vault(Arc::clone(&vault)).with_policy(RetryPolicy::fast());
    let signed_in = SignedIn {
        endpoints: endpoints(&run.sim),
        auth: run.flow.authenticator().unwrap(),
    };
    let early = life
        .check(&signed_in, &saved.id, CancellationToken::new())
        .await
        .expect("check");
    assert!(
        early.summary.has(FindingKind::MailboxLimitPending),
        "{:#?}",
        early.summary.findings
    );

    tokio::time::sleep(Duration::from_millis(1700)).await;
    let later = life
        .check(&signed_in, &saved.id, CancellationToken::new())
        .await
        .expect("check again");
    assert!(
        later.summary.has(FindingKind::MailboxLimitVerified),
        "{:#?}",
        later.summary.findings
    );
    let stored = vault.require(&saved.id).unwrap();
    assert!(matches!(
        stored.mailbox_limits[0].status,
        ScopeStatus::Verified { .. }
    ));
    let status = life.status(&saved.id, chrono::Utc::now()).await.unwrap();
    assert!(
        status.has(StatusKind::MailboxLimitVerified),
        "{:#?}",
        status.states
    );
    let _ = std::fs::remove_dir_all(&run.dir);
}

/// The wizard's whole path with a certificate AppGrant generates: verify signs in with a
/// client assertion, the mailbox limit is proved with the app's certificate, and the saved
/// connection and its hand-off carry the thumbprint (no secret anywhere).
#[tokio::test]
async fn tonicdm_with_a_generated_certificate_is_verified_limited_and_saved() {
    use appgrant_core::certificate::CertificateOrigin;
    use appgrant_core::plan::CredentialChoice;
    let choices = Choices {
        credentials: [("main".to_string(), CredentialChoice::GeneratedCertificate)].into(),
        ..Choices::default()
    };
    let mut run = applied_with(Knobs::default(), "tonicdm", choices).await;
    let cert = run.outcome.apps[0]
        .certificate
        .clone()
        .expect("a certificate");
    assert_eq!(cert.origin, CertificateOrigin::Generated);
    run.choose_group().await;
    let limit = run.flow.limit_mailboxes().await.expect("limit");
    assert!(
        matches!(limit.reports[0].state.status, ScopeStatus::Verified { .. }),
        "proved with the certificate: {:#?}",
        limit.reports[0]
    );
    let vault = Vault::open(run.dir.clone(), Arc::new(run.secrets.clone())).unwrap();
    let connection = run.flow.finish(&vault).await.expect("saved");
    assert!(connection.apps[0].secret.is_none());
    assert_eq!(connection.apps[0].certificate.as_ref(), Some(&cert));
    let recipe = builtin_by_id("tonicdm").unwrap().unwrap();
    let handoff = appgrant_core::export::Handoff::build(&recipe, &connection, None).unwrap();
    assert!(handoff
        .fields
        .iter()
        .any(|f| f.value.contains(&cert.thumbprint) && !f.hidden));
    let key = vault.load_certificate_key(&connection, "main").unwrap();
    assert!(key.is_some(), "the private key is in the credential store");
    vault.remove(&connection.id).unwrap();
    assert!(
        vault
            .load_certificate_key(&connection, "main")
            .unwrap()
            .is_none(),
        "forgetting the connection deletes its key"
    );
    let _ = std::fs::remove_dir_all(&run.dir);
}
