//! The identity platform as Microsoft documents it, for clients nobody here wrote (MSAL):
//! `/.default` yields every permission consented for the client (tenant-wide plus the user's
//! own) on auth code, device code and refresh; a refresh token is redeemed for any consented
//! scope; `client_info` when MSAL asks for it; `scope` in the form the client used, with the
//! OIDC scopes; v2.0 id token claims.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use appgrant_sim::Sim;
use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

const DEFAULT: &str = "openid profile offline_access https://graph.microsoft.com/.default";

/// Auth code + PKCE for the public client with extra `/authorize` and `/token` parameters.
async fn code_flow(
    sim: &Sim,
    upn: &str,
    scope: &str,
    authorize_extra: &[(&str, &str)],
    token_extra: &[(&str, &str)],
    org: bool,
) -> Value {
    let a = authorize_with(
        sim,
        sim.public_client_id(),
        upn,
        scope,
        true,
        org,
        authorize_extra,
    )
    .await;
    let code = query_param(&a.location, "code").expect("code in redirect");
    let mut form = vec![
        ("client_id", sim.public_client_id()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", a.redirect_uri.as_str()),
        ("code_verifier", a.verifier.as_str()),
    ];
    form.extend_from_slice(token_extra);
    let (s, v) = token_request(sim, &sim.tenant_id(), &form).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn scp(tok: &Value) -> Vec<String> {
    claims(tok["access_token"].as_str().unwrap())["scp"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(str::to_string)
        .collect()
}

fn has(list: &[String], s: &str) -> bool {
    list.iter().any(|x| x == s)
}

async fn refresh(sim: &Sim, rt: &str, scope: &str) -> (StatusCode, Value) {
    token_request(
        sim,
        "organizations",
        &[
            ("client_id", sim.public_client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", scope),
            ("client_info", "1"),
        ],
    )
    .await
}

/// The tenant's admin, as the simulator seeded it.
fn admin_user(sim: &Sim) -> appgrant_sim::SeededUser {
    sim.users()
        .into_iter()
        .find(|u| u.user_principal_name == sim.admin_upn())
        .unwrap()
}

#[tokio::test]
async fn default_scope_for_the_first_party_public_client_yields_the_tenant_wide_consent() {
    let sim = start().await;
    let tok = code_flow(&sim, &sim.admin_upn(), DEFAULT, &[], &[], false).await;
    let granted = scp(&tok);
    // Seeded AllPrincipals consent of the public client (seed::PRECONSENTED_SCOPES).
    for s in [
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "DelegatedPermissionGrant.ReadWrite.All",
        "User.Read",
    ] {
        assert!(has(&granted, s), "{s} missing from {granted:?}");
    }
    let scope = tok["scope"].as_str().unwrap();
    assert!(scope.starts_with("openid profile "), "{scope}");
    assert!(
        scope.contains("https://graph.microsoft.com/Application.ReadWrite.All"),
        "{scope}"
    );
    assert!(
        scope
            .split(' ')
            .any(|s| s == "https://graph.microsoft.com/.default"),
        "{scope}"
    );
    assert!(!scope.contains("offline_access"), "{scope}");
}

#[tokio::test]
async fn default_scope_adds_the_users_own_consent_but_not_other_users() {
    let sim = start().await;
    // robin (no admin role) consents for herself to a user-consentable scope.
    let own = code_flow(
        &sim,
        &sim.non_admin_upn(),
        "openid profile offline_access https://graph.microsoft.com/Calendars.Read",
        &[],
        &[],
        false,
    )
    .await;
    assert!(has(&scp(&own), "Calendars.Read"));
    let robin = code_flow(&sim, &sim.non_admin_upn(), DEFAULT, &[], &[], false).await;
    let granted = scp(&robin);
    assert!(has(&granted, "Calendars.Read"), "{granted:?}");
    assert!(has(&granted, "User.Read"), "{granted:?}");
    let avery = code_flow(&sim, &sim.admin_upn(), DEFAULT, &[], &[], false).await;
    assert!(!has(&scp(&avery), "Calendars.Read"));
}

#[tokio::test]
async fn default_scope_on_device_code_yields_the_tenant_wide_consent() {
    let sim = start().await;
    let dc = device_code(&sim, DEFAULT).await;
    sim.approve_device_code(dc["user_code"].as_str().unwrap(), &sim.admin_upn())
        .unwrap();
    let (s, tok) = token_request(
        &sim,
        "organizations",
        &[
            ("client_id", sim.public_client_id()),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", dc["device_code"].as_str().unwrap()),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let granted = scp(&tok);
    assert!(has(&granted, "Application.ReadWrite.All"), "{granted:?}");
    assert!(has(&granted, "User.Read"), "{granted:?}");
    assert!(tok["client_info"].is_string());
}

#[tokio::test]
async fn refresh_token_yields_any_consented_scope_and_refuses_unconsented_ones() {
    let sim = start().await;
    let first = code_flow(
        &sim,
        &sim.admin_upn(),
        "openid profile offline_access https://graph.microsoft.com/User.Read",
        &[],
        &[],
        false,
    )
    .await;
    assert_eq!(scp(&first), ["User.Read", "openid", "profile"]);
    let rt = first["refresh_token"].as_str().unwrap();

    // Consented tenant-wide, not asked for at sign-in: issued.
    let (s, tok) = refresh(
        &sim,
        rt,
        "openid profile offline_access https://graph.microsoft.com/Application.ReadWrite.All",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert!(has(&scp(&tok), "Application.ReadWrite.All"));
    assert_eq!(
        tok["scope"],
        "openid profile https://graph.microsoft.com/Application.ReadWrite.All"
    );

    // /.default on refresh: everything consented.
    let (s, tok) = refresh(&sim, rt, DEFAULT).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let granted = scp(&tok);
    assert!(has(&granted, "DelegatedPermissionGrant.ReadWrite.All"));
    assert!(has(&granted, "User.Read"));

    // Nobody consented to Calendars.Read: AADSTS65001 invalid_grant.
    let (s, e) = refresh(&sim, rt, "https://graph.microsoft.com/Calendars.Read").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(e["error_codes"][0], 65001);
}

#[tokio::test]
async fn scope_in_responses_uses_the_clients_form_with_the_granted_oidc_scopes() {
    let sim = start().await;
    let tok = code_flow(
        &sim,
        &sim.admin_upn(),
        "openid profile offline_access User.Read email",
        &[],
        &[],
        false,
    )
    .await;
    // The form Microsoft returns to MSAL for short Graph names.
    assert_eq!(tok["scope"], "openid profile User.Read email");
    let rt = tok["refresh_token"].as_str().unwrap();
    let (s, tok) = refresh(&sim, rt, "User.Read openid profile offline_access").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tok["scope"], "openid profile User.Read");
    // Full URLs stay full URLs (what AppGrant and the shared examples send); with no OIDC
    // scope in the refresh request, the sign-in's OIDC scopes carry over.
    let (s, tok) = refresh(&sim, rt, "https://graph.microsoft.com/User.Read").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        tok["scope"],
        "openid profile https://graph.microsoft.com/User.Read email"
    );
}

#[tokio::test]
async fn client_info_is_returned_when_msal_asks_for_it() {
    let sim = start().await;
    let admin = admin_user(&sim);
    let tok = code_flow(
        &sim,
        &sim.admin_upn(),
        DEFAULT,
        &[],
        &[("client_info", "1")],
        false,
    )
    .await;
    let raw = tok["client_info"].as_str().expect("client_info");
    let info: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info["uid"], admin.id);
    assert_eq!(info["utid"], sim.tenant_id());
    // On refresh too (MSAL sends client_info=1 there as well).
    let (s, r) = refresh(&sim, tok["refresh_token"].as_str().unwrap(), DEFAULT).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["client_info"], raw);
    // Not asked for: not sent.
    let plain = code_flow(&sim, &sim.admin_upn(), DEFAULT, &[], &[], false).await;
    assert!(plain.get("client_info").is_none(), "{plain}");
}

#[tokio::test]
async fn id_token_has_the_documented_v2_claims_and_the_nonce() {
    let sim = start().await;
    let admin = admin_user(&sim);
    let tok = code_flow(
        &sim,
        &sim.admin_upn(),
        "openid profile email offline_access User.Read",
        &[("nonce", "n-0S6_WzA2Mj")],
        &[],
        false,
    )
    .await;
    let id = claims(tok["id_token"].as_str().unwrap());
    for k in [
        "aud",
        "iss",
        "iat",
        "nbf",
        "exp",
        "name",
        "oid",
        "preferred_username",
        "sub",
        "tid",
        "ver",
        "nonce",
        "aio",
        "rh",
    ] {
        assert!(!id[k].is_null(), "{k} missing: {id}");
    }
    assert_eq!(id["aud"], sim.public_client_id());
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["oid"], admin.id);
    assert_eq!(id["tid"], sim.tenant_id());
    assert_eq!(id["preferred_username"], sim.admin_upn());
    assert_eq!(
        id["iss"],
        format!("{}/{}/v2.0", sim.login_base(), sim.tenant_id())
    );
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    // The issuer is the one discovery advertises.
    let doc: Value = openid_configuration(&sim, &sim.tenant_id()).await;
    assert_eq!(doc["issuer"], id["iss"]);
}
