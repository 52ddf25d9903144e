//! Admin sign-in against the practice tenant (appgrant-sim) over real HTTP.
//!
//! The system browser is replaced by `FormBrowser`, which does what a person does on the
//! sign-in pages (pick an account, accept or decline) and then follows Microsoft's redirect to
//! AppGrant's loopback listener.

// Helpers outside #[test] functions are not covered by allow-unwrap-in-tests (rust-clippy #13981).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use appgrant_core::identity::{
    Access, Authenticator, KeyringStore, MemoryStore, SignInCode, SignInConfig,
};
use appgrant_sim::{Knobs, Sim};
use common::{
    authenticator, browser_sign_in, endpoints, sim_with, BrokenBrowser, Decision, FormBrowser,
    SilentBrowser,
};
use tokio_util::sync::CancellationToken;

async fn graph_me(sim: &Sim, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/me", sim.graph_v1()))
        .bearer_auth(token)
        .send()
        .await
        .expect("graph answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn browser_sign_in_as_global_admin() {
    let sim = sim_with(Knobs::default()).await;
    let store = MemoryStore::new();
    let auth = authenticator(&sim, Arc::new(store.clone()));
    let browser = FormBrowser::new(&sim.admin_upn(), Decision::Accept);
    let session = auth
        .sign_in_with_browser(&browser, Access::ReadTenant, &CancellationToken::new())
        .await
        .expect("admin signs in");

    assert_eq!(session.tenant_id, sim.tenant_id());
    assert_eq!(
        session.tenant_domain.as_deref(),
        Some(sim.tenant_domain().as_str())
    );
    assert_eq!(session.user_principal_name, sim.admin_upn());
    assert!(
        session.roles.contains(&"Global Administrator".to_string()),
        "{:?}",
        session.roles
    );
    assert!(session.capabilities.can_grant_application_permissions);
    assert!(session.capabilities.can_manage_exchange_scoping);
    assert!(session.remembered, "refresh token saved");
    assert!(
        store.contains(&session.account()),
        "refresh token is in the keyring store"
    );
    assert_eq!(
        *browser.landed.lock().unwrap(),
        Some(200),
        "the tab shows the success page"
    );

    let token = auth
        .access_token(Access::ReadTenant)
        .await
        .expect("cached token");
    assert_eq!(
        graph_me(&sim, token.expose()).await,
        200,
        "the token works against Graph"
    );
    assert!(
        !format!("{session:?}").contains(token.expose()),
        "the session never carries tokens"
    );
}

#[tokio::test]
async fn a_non_admin_signs_in_but_is_told_what_they_cannot_do() {
    let sim = sim_with(Knobs::default()).await;
    // An administrator approves AppGrant for the organisation once...
    let admin = authenticator(&sim, Arc::new(MemoryStore::new()));
    browser_sign_in(
        &admin,
        &sim.admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("admin consents for everyone");
    // ...then a regular user can sign in, with no roles.
    let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
    let session = browser_sign_in(
        &auth,
        &sim.non_admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("user signs in");
    assert!(session.roles.is_empty());
    let err = session
        .require(
            |c| c.can_grant_application_permissions,
            "grant application permissions",
        )
        .expect_err("no role");
    assert_eq!(err.code(), SignInCode::MissingRole);
    assert!(err.to_string().contains(&sim.non_admin_upn()), "{err}");
    assert!(err.hint().contains("consent hand-off"), "{}", err.hint());
}

#[tokio::test]
async fn declining_consent_is_reported_plainly() {
    let sim = sim_with(Knobs::default()).await;
    let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
    let err = browser_sign_in(
        &auth,
        &sim.admin_upn(),
        Decision::Decline,
        Access::ReadTenant,
    )
    .await
    .expect_err("declined");
    assert!(
        matches!(
            err.code(),
            SignInCode::ConsentDenied | SignInCode::AdminConsentRequired
        ),
        "{err:?}"
    );
    assert!(auth.session().await.is_none());
}

#[tokio::test]
async fn an_unknown_tenant_is_caught_before_the_browser_opens() {
    let sim = sim_with(Knobs::default()).await;
    let mut config = SignInConfig::new(endpoints(&sim));
    config.client_id = sim.public_client_id().to_string();
    config.tenant = "fabrikam-typo.onmicrosoft.com".to_string();
    let auth = Authenticator::new(config, Arc::new(MemoryStore::new())).unwrap();
    let err = auth
        .sign_in_with_browser(
            &BrokenBrowser,
            Access::ReadTenant,
            &CancellationToken::new(),
        )
        .await
        .expect_err("no such tenant");
    assert_eq!(err.code(), SignInCode::WrongTenant, "{err:?}");
}

#[tokio::test]
async fn signing_in_by_tenant_domain_works() {
    let sim = sim_with(Knobs::default()).await;
    let mut config = SignInConfig::new(endpoints(&sim));
    config.client_id = sim.public_client_id().to_string();
    config.tenant = sim.tenant_domain();
    config.login_hint = Some(sim.admin_upn());
    let auth = Authenticator::new(config, Arc::new(MemoryStore::new())).unwrap();
    let session = browser_sign_in(
        &auth,
        &sim.admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("signs in");
    assert_eq!(session.tenant_id, sim.tenant_id());
}

#[tokio::test]
async fn cancel_timeout_and_missing_browser() {
    let sim = sim_with(Knobs::default()).await;
    let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.cancel();
    });
    let err = auth
        .sign_in_with_browser(&SilentBrowser, Access::ReadTenant, &cancel)
        .await
        .expect_err("cancelled");
    assert_eq!(err.code(), SignInCode::Cancelled);

    let mut config = SignInConfig::new(endpoints(&sim));
    config.timeout = Duration::from_millis(200);
    let quick = Authenticator::new(config, Arc::new(MemoryStore::new())).unwrap();
    let err = quick
        .sign_in_with_browser(
            &SilentBrowser,
            Access::ReadTenant,
            &CancellationToken::new(),
        )
        .await
        .expect_err("times out");
    assert_eq!(err.code(), SignInCode::TimedOut);

    let err = auth
        .sign_in_with_browser(
            &BrokenBrowser,
            Access::ReadTenant,
            &CancellationToken::new(),
        )
        .await
        .expect_err("no browser");
    assert_eq!(err.code(), SignInCode::BrowserUnavailable);
    assert!(
        err.hint().contains("code"),
        "suggests the device code: {}",
        err.hint()
    );
}

#[tokio::test]
async fn device_code_honours_pending_and_slow_down() {
    let sim = sim_with(Knobs {
        device_code_interval_secs: 1,
        ..Knobs::default()
    })
    .await;
    let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
    let prompt = auth
        .start_device_code(Access::ReadTenant)
        .await
        .expect("device code");
    assert!(!prompt.user_code.is_empty());
    assert!(
        prompt.verification_uri.ends_with("/devicelogin"),
        "{}",
        prompt.verification_uri
    );

    // The admin enters the code a little later.
    let approve = {
        let code = prompt.user_code.clone();
        let upn = sim.admin_upn();
        let sim_ref = &sim;
        let approve_after = async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            sim_ref.approve_device_code(&code, &upn)
        };
        approve_after
    };
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&waits);
    // Sleeps a tenth of what the protocol asks, and records what it asked.
    let sleep = move |d: Duration| {
        recorded.lock().unwrap().push(d);
        tokio::time::sleep(d / 10)
    };
    let cancel = CancellationToken::new();
    let (session, approved) =
        tokio::join!(auth.complete_device_code(&prompt, sleep, &cancel), approve);
    approved.expect("code approved");
    let session = session.expect("device sign-in completes");
    assert_eq!(session.user_principal_name, sim.admin_upn());

    let waits = waits.lock().unwrap().clone();
    assert_eq!(
        waits.first(),
        Some(&Duration::from_secs(1)),
        "starts at the announced interval"
    );
    assert!(
        waits
            .windows(2)
            .any(|w| w[1] >= w[0] + Duration::from_secs(5)),
        "slow_down adds 5 s to the interval: {waits:?}"
    );
}

#[tokio::test]
async fn device_code_expiry_and_blocking() {
    let sim = sim_with(Knobs {
        device_code_interval_secs: 1,
        device_code_expires_secs: 1,
        ..Knobs::default()
    })
    .await;
    let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
    let prompt = auth
        .start_device_code(Access::ReadTenant)
        .await
        .expect("device code");
    let err = auth
        .complete_device_code(&prompt, tokio::time::sleep, &CancellationToken::new())
        .await
        .expect_err("nobody entered the code");
    assert_eq!(err.code(), SignInCode::DeviceCodeExpired, "{err:?}");

    sim.update_knobs(|k| {
        k.block_device_code = true;
        k.device_code_expires_secs = 900;
    });
    let prompt = auth.start_device_code(Access::ReadTenant).await;
    let err = match prompt {
        Err(e) => e,
        Ok(prompt) => {
            let _ = sim.approve_device_code(&prompt.user_code, &sim.admin_upn());
            auth.complete_device_code(
                &prompt,
                |d| tokio::time::sleep(d / 10),
                &CancellationToken::new(),
            )
            .await
            .expect_err("blocked by Conditional Access")
        }
    };
    assert_eq!(err.code(), SignInCode::DeviceCodeBlocked, "{err:?}");
    assert!(err.hint().contains("browser"));
}

#[tokio::test]
async fn tokens_refresh_silently_and_write_scopes_need_consent_first() {
    // Tokens that live one minute are always inside the refresh margin.
    let sim = sim_with(Knobs {
        access_token_lifetime_secs: 60,
        ..Knobs::default()
    })
    .await;
    // A tenant where nobody has consented to the write scopes yet (the seeded tenant has a
    // tenant-wide consent for them, and Microsoft redeems a refresh token for any consented
    // scope).
    {
        let mut t = sim.state().tenant();
        let public_sp = t
            .sp_by_app_id(sim.public_client_id())
            .map(|sp| sp.id.clone());
        for g in t.grants.iter_mut() {
            if Some(&g.client_id) == public_sp.as_ref() {
                g.scope = "User.Read openid profile offline_access".into();
            }
        }
    }
    let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
    let admin = FormBrowser::new(&sim.admin_upn(), Decision::Accept);
    auth.sign_in_with_browser(&admin, Access::ReadTenant, &CancellationToken::new())
        .await
        .expect("signs in");
    let first = auth.access_token(Access::ReadTenant).await.expect("token");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = auth
        .access_token(Access::ReadTenant)
        .await
        .expect("refreshed token");
    assert_ne!(
        first.expose(),
        second.expose(),
        "an expiring token is replaced"
    );
    assert_eq!(graph_me(&sim, second.expose()).await, 200);

    // Write scopes were never consented: asking for them silently fails with a clear code...
    let err = auth
        .access_token(Access::Apply)
        .await
        .expect_err("write scopes not consented yet");
    assert_eq!(err.code(), SignInCode::AdminConsentRequired, "{err:?}");
    // ...and a browser sign-in for Apply (incremental consent) makes them available.
    auth.sign_in_with_browser(&admin, Access::Apply, &CancellationToken::new())
        .await
        .expect("consents to the write scopes");
    auth.access_token(Access::Apply).await.expect("write token");
}

#[tokio::test]
async fn restore_sign_out_and_revocation() {
    let sim = sim_with(Knobs::default()).await;
    let store = MemoryStore::new();
    let auth = authenticator(&sim, Arc::new(store.clone()));
    let session = browser_sign_in(
        &auth,
        &sim.admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("signs in");

    // A new run of the app finds the saved sign-in.
    let next_run = authenticator(&sim, Arc::new(store.clone()));
    let restored = next_run
        .restore(&session.tenant_id, &session.user_id)
        .await
        .expect("restores")
        .expect("a saved sign-in");
    assert_eq!(restored.user_principal_name, session.user_principal_name);

    // Sign-out removes the keyring entry and the tokens.
    next_run.sign_out().await.expect("signs out");
    assert!(!store.contains(&session.account()));
    assert!(next_run.session().await.is_none());
    assert_eq!(
        next_run
            .access_token(Access::ReadTenant)
            .await
            .unwrap_err()
            .code(),
        SignInCode::SignInExpired
    );
    assert!(authenticator(&sim, Arc::new(store.clone()))
        .restore(&session.tenant_id, &session.user_id)
        .await
        .expect("no error")
        .is_none());

    // A revoked refresh token is reported and forgotten.
    let again = authenticator(&sim, Arc::new(store.clone()));
    let s = browser_sign_in(
        &again,
        &sim.admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("signs in again");
    sim.revoke_refresh_tokens();
    let err = authenticator(&sim, Arc::new(store.clone()))
        .restore(&s.tenant_id, &s.user_id)
        .await
        .expect_err("revoked");
    assert_eq!(err.code(), SignInCode::SignInExpired);
    assert!(
        !store.contains(&s.account()),
        "a dead refresh token is removed"
    );
}

#[tokio::test]
async fn without_a_keyring_sign_in_still_works_but_is_not_remembered() {
    let sim = sim_with(Knobs::default()).await;
    let store = MemoryStore::new();
    store.set_unavailable(true);
    let auth = authenticator(&sim, Arc::new(store));
    let session = browser_sign_in(
        &auth,
        &sim.admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("signs in anyway");
    assert!(!session.remembered);
    assert!(
        session
            .remember_problem
            .as_deref()
            .unwrap_or("")
            .contains("sign in again next time"),
        "{:?}",
        session.remember_problem
    );
    auth.access_token(Access::ReadTenant)
        .await
        .expect("works for this session");
}

/// The real OS keyring (Secret Service): run by scripts/test.sh inside the headless keyring
/// wrapper; never on a developer's own keychain.
#[tokio::test]
#[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
async fn real_keyring_remembers_and_forgets_the_sign_in() {
    let sim = sim_with(Knobs::default()).await;
    let auth = authenticator(&sim, Arc::new(KeyringStore::new()));
    let session = browser_sign_in(
        &auth,
        &sim.admin_upn(),
        Decision::Accept,
        Access::ReadTenant,
    )
    .await
    .expect("signs in");
    assert!(session.remembered, "{:?}", session.remember_problem);
    let entry = keyring::Entry::new("AppGrant", &session.account()).expect("entry");
    assert!(
        entry.get_password().is_ok(),
        "the refresh token is in the OS keyring"
    );

    let next_run = authenticator(&sim, Arc::new(KeyringStore::new()));
    next_run
        .restore(&session.tenant_id, &session.user_id)
        .await
        .expect("restores")
        .expect("saved sign-in found");
    next_run.sign_out().await.expect("signs out");
    assert!(
        matches!(entry.get_password(), Err(keyring::Error::NoEntry)),
        "sign-out deletes it"
    );
}

#[tokio::test]
async fn seeded_roles_give_the_right_capability_summary() {
    let sim = sim_with(Knobs::default()).await;
    let cloud_app_admin = sim
        .upn_with_role("158c047a-c907-4556-b7ef-446551a6b5f7")
        .expect("a seeded Cloud Application Administrator");
    let cases = [
        (
            sim.admin_upn(),
            "Global Administrator",
            [true, true, true, true],
        ),
        (
            cloud_app_admin,
            "Cloud Application Administrator",
            [true, false, true, false],
        ),
        (sim.non_admin_upn(), "", [false, false, false, false]),
    ];
    for (upn, role, [create, app_perms, delegated, exchange]) in cases {
        let auth = authenticator(&sim, Arc::new(MemoryStore::new()));
        let session = browser_sign_in(&auth, &upn, Decision::Accept, Access::ReadTenant)
            .await
            .unwrap_or_else(|e| panic!("{upn} signs in: {e}"));
        let c = session.capabilities;
        assert_eq!(
            [
                c.can_create_apps,
                c.can_grant_application_permissions,
                c.can_grant_delegated_permissions,
                c.can_manage_exchange_scoping
            ],
            [create, app_perms, delegated, exchange],
            "{upn}"
        );
        if role.is_empty() {
            assert!(session.roles.is_empty(), "{upn}: {:?}", session.roles);
        } else {
            assert!(
                session.roles.contains(&role.to_string()),
                "{upn}: {:?}",
                session.roles
            );
        }
    }
}
