//! Certificate credentials against the practice tenant: each built-in recipe with a certificate
//! AppGrant generates (through verify with a signed client assertion), TonicDM with a
//! certificate the vendor sends, a re-run that creates nothing new, a run killed between the
//! upload and the keyring write, and a later certificate added with addKey.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};

use appgrant_core::apply::journal::Journal;
use appgrant_core::apply::{apply, ApplyContext, ApplyError, ApplyOutcome};
use appgrant_core::certificate::{generate::generate, key_account, CertificateOrigin};
use appgrant_core::graph::{GraphClient, RetryPolicy};
use appgrant_core::identity::{MemoryStore, Session, StoreError, TokenStore};
use appgrant_core::plan::{plan, Choices, CredentialChoice, Plan, PlanError};
use appgrant_core::recipe::{builtin_by_id, Recipe};
use appgrant_core::secret::Secret;
use appgrant_core::verify::{
    load_credentials, verify_with, CheckStatus, ClientCredential, VerifyContext, VerifyReport,
};
use appgrant_sim::{Knobs, Sim};
use base64::Engine;
use common::{admin_session, apply_graph, endpoints, sim_with};
use tokio_util::sync::CancellationToken;

struct Harness {
    sim: Sim,
    session: Session,
    graph: GraphClient,
    keys: MemoryStore,
}

impl Harness {
    async fn new() -> Self {
        let sim = sim_with(Knobs::default()).await;
        let (auth, session) = admin_session(&sim).await;
        let graph = apply_graph(&sim, &auth);
        Self {
            sim,
            session,
            graph,
            keys: MemoryStore::new(),
        }
    }

    async fn plan(
        &self,
        recipe: &Recipe,
        choices: &Choices,
        journal: &Journal,
    ) -> Result<Plan, PlanError> {
        plan(
            &self.graph,
            &endpoints(&self.sim),
            &self.session,
            recipe,
            choices,
            journal,
        )
        .await
    }

    async fn run_with(
        &self,
        recipe: &Recipe,
        choices: &Choices,
        journal: &Mutex<Journal>,
        store: Arc<dyn TokenStore>,
    ) -> (Plan, Result<ApplyOutcome, ApplyError>) {
        let snapshot = journal.lock().unwrap().clone();
        let plan = self.plan(recipe, choices, &snapshot).await.expect("plan");
        let ctx = ApplyContext {
            graph: self.graph.clone(),
            secrets: store,
            cancel: CancellationToken::new(),
        };
        let result = apply(&plan, journal, &ctx, |_| {}).await;
        (plan, result)
    }

    async fn run(
        &self,
        recipe: &Recipe,
        choices: &Choices,
        journal: &Mutex<Journal>,
    ) -> (Plan, ApplyOutcome) {
        let (plan, result) = self
            .run_with(recipe, choices, journal, Arc::new(self.keys.clone()))
            .await;
        (
            plan,
            result.unwrap_or_else(|e| panic!("{}: {e}", recipe.id)),
        )
    }

    async fn verify(
        &self,
        recipe: &Recipe,
        plan: &Plan,
        outcome: &ApplyOutcome,
        credentials: &[(String, ClientCredential)],
    ) -> VerifyReport {
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
        verify_with(&ctx, recipe, plan, outcome, credentials).await
    }

    /// The practice tenant's own view of the app's certificates.
    fn certificates(&self, app_id: &str) -> Vec<serde_json::Value> {
        self.sim.app_certificates(app_id).unwrap()
    }

    async fn password_count(&self, object_id: &str) -> usize {
        self.graph
            .get(&format!(
                "applications/{object_id}?$select=passwordCredentials"
            ))
            .await
            .unwrap()["passwordCredentials"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

fn recipe(id: &str) -> Recipe {
    builtin_by_id(id).unwrap().unwrap()
}

fn choices(recipe: &Recipe, choice: &CredentialChoice) -> Choices {
    let mut inputs = BTreeMap::new();
    if recipe.id == "timetoreply" {
        inputs.insert(
            "portal_url".to_string(),
            "https://ttr.contoso.example".to_string(),
        );
    }
    Choices {
        inputs,
        credentials: recipe
            .apps
            .iter()
            .map(|a| (a.key.clone(), choice.clone()))
            .collect(),
        ..Choices::default()
    }
}

fn vendor_choice(pem: &str) -> CredentialChoice {
    CredentialChoice::VendorCertificate {
        file_name: "tonicdm.cer".to_string(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(pem),
    }
}

fn assert_verified(id: &str, report: &VerifyReport) {
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Passed && c.status != CheckStatus::Skipped)
        .map(|c| format!("{}: {:?} {}", c.id, c.status, c.detail))
        .collect();
    assert!(failed.is_empty(), "{id}: every check passes: {failed:#?}");
}

#[tokio::test]
async fn every_builtin_recipe_verifies_with_a_generated_certificate() {
    let h = Harness::new().await;
    for id in ["tonicdm", "totalview", "docbits", "timetoreply"] {
        let recipe = recipe(id);
        let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, id));
        let (plan, outcome) = h
            .run(
                &recipe,
                &choices(&recipe, &CredentialChoice::GeneratedCertificate),
                &journal,
            )
            .await;
        assert!(
            plan.steps.iter().any(|s| s.id.ends_with("/certificate")),
            "{id}: a certificate step"
        );
        assert!(
            !plan.steps.iter().any(|s| s.id.ends_with("/secret")),
            "{id}: no secret step"
        );
        for app in &outcome.apps {
            let cert = app.certificate.as_ref().expect("a certificate");
            assert_eq!(cert.origin, CertificateOrigin::Generated);
            assert!(app.secret.is_none(), "{id}: no client secret");
            // The tenant has exactly this certificate, and no secret.
            let on_app = h.certificates(&app.app_id);
            assert_eq!(
                on_app.len(),
                1,
                "{id}/{}: one certificate on the app",
                app.key
            );
            assert_eq!(on_app[0]["thumbprint"], cert.thumbprint.as_str());
            assert_eq!(on_app[0]["keyId"], cert.key_id.as_str());
            assert_eq!(
                h.password_count(&app.object_id).await,
                0,
                "{id}: no secret on the app"
            );
            // The private key is in the credential store, under the thumbprint.
            let account = key_account(&h.session.tenant_id, &app.app_id, &cert.thumbprint);
            let key = h.keys.load(&account).unwrap().expect("key stored");
            assert!(key.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        }
        let credentials =
            load_credentials(Arc::new(h.keys.clone()), &h.session.tenant_id, &outcome).await;
        assert_eq!(credentials.len(), outcome.apps.len());
        let report = h.verify(&recipe, &plan, &outcome, &credentials).await;
        assert_verified(id, &report);
        let token_checks: Vec<_> = report
            .checks
            .iter()
            .filter(|c| c.id.ends_with("/token"))
            .collect();
        assert!(
            token_checks
                .iter()
                .all(|c| c.status == CheckStatus::Passed && c.title.contains("certificate")),
            "{id}: signed in with the certificate: {token_checks:#?}"
        );
    }
}

#[tokio::test]
async fn tonicdm_with_the_vendors_own_certificate() {
    let h = Harness::new().await;
    let recipe = recipe("tonicdm");
    // The vendor makes its key pair and sends only the certificate.
    let vendor = generate("CN=TonicDM Connector, O=TonicDM", 365).unwrap();
    let choices = choices(&recipe, &vendor_choice(&vendor.certificate_pem()));
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (plan, outcome) = h.run(&recipe, &choices, &journal).await;
    let app = &outcome.apps[0];
    let cert = app.certificate.as_ref().unwrap();
    assert_eq!(cert.origin, CertificateOrigin::Vendor);
    assert_eq!(cert.thumbprint, vendor.info.thumbprint);
    assert_eq!(h.certificates(&app.app_id).len(), 1);
    assert!(
        h.keys.accounts().unwrap().is_empty(),
        "nothing secret is stored for a vendor's certificate"
    );
    // AppGrant cannot sign in as the app (the vendor holds the key): the token check is
    // skipped, the permissions are still read back.
    let report = h.verify(&recipe, &plan, &outcome, &[]).await;
    assert_verified("tonicdm", &report);
    let token = report.checks.iter().find(|c| c.id == "main/token").unwrap();
    assert_eq!(token.status, CheckStatus::Skipped);
    // The vendor, with its private key, signs in.
    let as_vendor = [(
        "main".to_string(),
        ClientCredential::Certificate {
            key: vendor.key.clone(),
            der: vendor.der.clone(),
        },
    )];
    let report = h.verify(&recipe, &plan, &outcome, &as_vendor).await;
    assert_verified("tonicdm", &report);
    assert_eq!(
        report
            .checks
            .iter()
            .find(|c| c.id == "main/token")
            .unwrap()
            .status,
        CheckStatus::Passed
    );

    // A vendor file with a private key in it stops the plan with the never-send wording.
    let leaked = format!("{}{}", vendor.certificate_pem(), vendor.key.expose());
    let e = h
        .plan(
            &recipe,
            &self::choices(&recipe, &vendor_choice(&leaked)),
            &Journal::in_memory(&h.session.tenant_id, "x"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("never send private keys"), "{e}");
}

#[tokio::test]
async fn a_re_run_creates_nothing_new_and_a_later_certificate_goes_through_add_key() {
    let h = Harness::new().await;
    let recipe = recipe("totalview");
    let generated = choices(&recipe, &CredentialChoice::GeneratedCertificate);
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "totalview"));
    let (_, first) = h.run(&recipe, &generated, &journal).await;
    let (plan, second) = h.run(&recipe, &generated, &journal).await;
    assert!(
        plan.steps
            .iter()
            .filter(|s| s.id.ends_with("/certificate"))
            .all(|s| s.done),
        "the second plan shows the certificates as done"
    );
    for (a, b) in first.apps.iter().zip(&second.apps) {
        assert_eq!(a.app_id, b.app_id);
        assert_eq!(
            a.certificate, b.certificate,
            "the stored certificate is kept"
        );
        assert_eq!(h.certificates(&a.app_id).len(), 1, "no extra certificate");
    }
    assert_eq!(
        h.keys.accounts().unwrap().len(),
        2,
        "one key per app, no extra"
    );

    // The vendor now sends its own certificate: the app has a current certificate whose key
    // AppGrant holds, so the new one goes on with addKey (signed proof), next to the old.
    let vendor = generate("CN=Totalview Connector", 200).unwrap();
    let switched = choices(&recipe, &vendor_choice(&vendor.certificate_pem()));
    let (_, third) = h.run(&recipe, &switched, &journal).await;
    for (old, new) in second.apps.iter().zip(&third.apps) {
        let on_app = h.certificates(&new.app_id);
        let thumbprints: Vec<&str> = on_app
            .iter()
            .map(|c| c["thumbprint"].as_str().unwrap())
            .collect();
        assert_eq!(on_app.len(), 2, "old and new side by side: {thumbprints:?}");
        assert!(thumbprints.contains(&vendor.info.thumbprint.as_str()));
        assert!(thumbprints.contains(&old.certificate.as_ref().unwrap().thumbprint.as_str()));
        assert_eq!(
            new.certificate.as_ref().unwrap().origin,
            CertificateOrigin::Vendor
        );
    }
}

/// A credential store whose writes of certificate keys never finish until released: the
/// run is dropped meanwhile, as a process killed between the upload and the keyring write.
#[derive(Clone)]
struct StallingStore {
    inner: MemoryStore,
    gate: Arc<(Mutex<bool>, Condvar)>,
    reached: Arc<tokio::sync::Notify>,
}

impl TokenStore for StallingStore {
    fn load(&self, account: &str) -> Result<Option<Secret<String>>, StoreError> {
        self.inner.load(account)
    }
    fn save(&self, account: &str, secret: &Secret<String>) -> Result<(), StoreError> {
        if account.starts_with("certificate/") {
            self.reached.notify_one();
            let (lock, released) = &*self.gate;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = released.wait(open).unwrap();
            }
            // Killed: the write never happens.
            return Err(StoreError::Unavailable("killed".to_string()));
        }
        self.inner.save(account, secret)
    }
    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.inner.delete(account)
    }
    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.inner.accounts()
    }
}

#[tokio::test]
async fn a_run_killed_between_upload_and_keyring_write_is_recovered() {
    let h = Harness::new().await;
    let recipe = recipe("tonicdm");
    let generated = choices(&recipe, &CredentialChoice::GeneratedCertificate);
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let stalling = StallingStore {
        inner: h.keys.clone(),
        gate: Arc::new((Mutex::new(false), Condvar::new())),
        reached: Arc::new(tokio::sync::Notify::new()),
    };
    {
        let run = h.run_with(&recipe, &generated, &journal, Arc::new(stalling.clone()));
        tokio::select! {
            _ = run => panic!("the run should be stuck writing the key"),
            () = stalling.reached.notified() => {}
        }
        // The run future is dropped here: the process "died" with the upload done.
    }
    let (lock, released) = &*stalling.gate;
    *lock.lock().unwrap() = true;
    released.notify_all();

    let app_id = journal.lock().unwrap().apps["main"].app_id.clone().unwrap();
    let orphan = h.certificates(&app_id);
    assert_eq!(orphan.len(), 1, "the certificate reached the app");
    assert!(
        h.keys.accounts().unwrap().is_empty(),
        "its key never reached the keyring"
    );
    let orphan_thumbprint = orphan[0]["thumbprint"].as_str().unwrap().to_string();

    let (_, outcome) = h.run(&recipe, &generated, &journal).await;
    let cert = outcome.apps[0].certificate.as_ref().unwrap();
    let on_app = h.certificates(&app_id);
    assert_eq!(
        on_app.len(),
        1,
        "the orphan was removed, one new certificate: {on_app:?}"
    );
    assert_ne!(on_app[0]["thumbprint"], orphan_thumbprint.as_str());
    assert_eq!(on_app[0]["thumbprint"], cert.thumbprint.as_str());
    assert!(h.keys.contains(&key_account(
        &h.session.tenant_id,
        &app_id,
        &cert.thumbprint
    )));
    assert!(journal.lock().unwrap().apps["main"]
        .certificate_pending
        .is_none());
}

#[tokio::test]
async fn the_tenant_policy_caps_certificate_lifetimes() {
    use appgrant_core::plan::StepKind;
    let h = Harness::new().await;
    h.sim.update_knobs(|k| k.cert_max_lifetime_days = Some(30));
    let recipe = recipe("tonicdm");
    let journal = Journal::in_memory(&h.session.tenant_id, "tonicdm");
    // A vendor certificate valid for a year is refused, naming the policy.
    let vendor = generate("CN=Long Lived", 365).unwrap();
    let e = h
        .plan(
            &recipe,
            &choices(&recipe, &vendor_choice(&vendor.certificate_pem())),
            &journal,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at most 30 days"), "{e}");
    // A generated one is made to fit, and Microsoft accepts it.
    let generated = choices(&recipe, &CredentialChoice::GeneratedCertificate);
    let plan = h.plan(&recipe, &generated, &journal).await.unwrap();
    let days = plan
        .steps
        .iter()
        .find_map(|s| match s.kind {
            StepKind::AddCertificate { days, .. } => Some(days),
            _ => None,
        })
        .unwrap();
    assert_eq!(days, 29);
    let journal = Mutex::new(journal);
    let (_, outcome) = h.run(&recipe, &generated, &journal).await;
    let cert = outcome.apps[0].certificate.as_ref().unwrap();
    assert!((cert.not_after - chrono::Utc::now()).num_days() <= 30);
}

/// Without a certificate whose key AppGrant holds, a new one goes on with PATCH, which
/// replaces the whole list: the certificate already there must be sent back and survive.
#[tokio::test]
async fn a_patch_keeps_the_certificates_already_on_the_app() {
    let h = Harness::new().await;
    let recipe = recipe("tonicdm");
    let vendor = generate("CN=Vendor First", 200).unwrap();
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    h.run(
        &recipe,
        &choices(&recipe, &vendor_choice(&vendor.certificate_pem())),
        &journal,
    )
    .await;
    let (plan, outcome) = h
        .run(
            &recipe,
            &choices(&recipe, &CredentialChoice::GeneratedCertificate),
            &journal,
        )
        .await;
    let app = &outcome.apps[0];
    let thumbprints: Vec<String> = h
        .certificates(&app.app_id)
        .iter()
        .map(|c| c["thumbprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(thumbprints.len(), 2, "{thumbprints:?}");
    assert!(
        thumbprints.contains(&vendor.info.thumbprint),
        "the vendor's certificate was kept"
    );
    assert!(thumbprints.contains(&app.certificate.as_ref().unwrap().thumbprint));
    let credentials =
        load_credentials(Arc::new(h.keys.clone()), &h.session.tenant_id, &outcome).await;
    let report = h.verify(&recipe, &plan, &outcome, &credentials).await;
    assert_verified("tonicdm", &report);
}

/// A proof of possession Microsoft refuses (here: the stored key does not match the app's
/// certificate) fails the step with its own words, not as an expired sign-in.
#[tokio::test]
async fn a_refused_proof_of_possession_is_named() {
    let h = Harness::new().await;
    let recipe = recipe("tonicdm");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "tonicdm"));
    let (_, outcome) = h
        .run(
            &recipe,
            &choices(&recipe, &CredentialChoice::GeneratedCertificate),
            &journal,
        )
        .await;
    let app = &outcome.apps[0];
    let account = key_account(
        &h.session.tenant_id,
        &app.app_id,
        &app.certificate.as_ref().unwrap().thumbprint,
    );
    let stranger = generate("CN=Someone Else", 30).unwrap();
    h.keys.save(&account, &stranger.key).unwrap();
    let vendor = generate("CN=Vendor Later", 100).unwrap();
    let (_, result) = h
        .run_with(
            &recipe,
            &choices(&recipe, &vendor_choice(&vendor.certificate_pem())),
            &journal,
            Arc::new(h.keys.clone()),
        )
        .await;
    let failure = &result.unwrap_err().failures[0];
    assert!(
        failure.message.contains("refused the proof of possession"),
        "{failure:?}"
    );
    assert!(failure.hint.contains("clock"), "{failure:?}");
    assert_eq!(h.certificates(&app.app_id).len(), 1, "nothing was added");
}

/// Done's "Export certificate": the generated certificate of a saved connection as a PFX that
/// OpenSSL opens with the password shown once, or PEM; a vendor's is refused (nothing secret).
#[tokio::test]
async fn a_saved_connection_exports_its_generated_certificate() {
    use appgrant_core::certificate::export::CertificateFormat;
    use appgrant_core::export::certificate::{export_certificate, CertificateExportError};
    let h = Harness::new().await;
    let recipe = recipe("docbits");
    let journal = Mutex::new(Journal::in_memory(&h.session.tenant_id, "docbits"));
    let (plan, outcome) = h
        .run(
            &recipe,
            &choices(&recipe, &CredentialChoice::GeneratedCertificate),
            &journal,
        )
        .await;
    let dir = std::env::temp_dir().join(format!("appgrant-cert-export-{}", uuid::Uuid::new_v4()));
    let vault =
        appgrant_core::vault::Vault::open(dir.join("data"), Arc::new(h.keys.clone())).unwrap();
    let mut connection =
        appgrant_core::connect::connection_from(&recipe, &plan, &outcome, None, true, None, None);
    vault.save(&connection).unwrap();
    let (pem, meta) =
        export_certificate(&vault, &connection, None, &dir, CertificateFormat::Pem).unwrap();
    assert_eq!(pem.paths.len(), 2);
    let crt = std::fs::read(&pem.paths[0]).unwrap();
    let read = appgrant_core::certificate::import::inspect("exported.crt.pem", &crt).unwrap();
    assert_eq!(
        read.info.thumbprint, meta.thumbprint,
        "the exported certificate is the app's"
    );
    let (pfx, _) = export_certificate(
        &vault,
        &connection,
        Some("main"),
        &dir,
        CertificateFormat::Pfx,
    )
    .unwrap();
    let password = pfx.password.expect("a PFX password, shown once");
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok()
    {
        let opened = std::process::Command::new("openssl")
            .args(["pkcs12", "-nokeys", "-passin"])
            .arg(format!("pass:{}", password.expose()))
            .arg("-in")
            .arg(&pfx.paths[0])
            .output()
            .unwrap();
        assert!(
            opened.status.success(),
            "{}",
            String::from_utf8_lossy(&opened.stderr)
        );
    } else {
        eprintln!(
            "SKIPPED: the openssl command is not installed, so the PFX was not opened with it"
        );
    }
    connection.apps[0].certificate.as_mut().unwrap().origin = CertificateOrigin::Vendor;
    let e =
        export_certificate(&vault, &connection, None, &dir, CertificateFormat::Pfx).unwrap_err();
    assert!(matches!(e, CertificateExportError::VendorHoldsKey), "{e}");
    connection.apps[0].certificate = None;
    let e =
        export_certificate(&vault, &connection, None, &dir, CertificateFormat::Pfx).unwrap_err();
    assert!(matches!(e, CertificateExportError::NoCertificate), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}
