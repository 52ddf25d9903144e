//! Device code flow (pending, slow_down, approval through the HTML page, decline, expiry,
//! Conditional Access block) and the `/_sim` control API (knobs, counters, redacted log,
//! users, reset, approval bound by the consent rules, secrets expired and apps deleted behind
//! the client's back), plus paging over seeded users and the binary's TOML config.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// Approves the device code `dc` as `user` through the control API (`/_sim/devicecode/approve`).
async fn approve_through_control(
    sim: &appgrant_sim::Sim,
    dc: &Value,
    user: &str,
) -> reqwest::Response {
    http()
        .post(format!("{}/_sim/devicecode/approve", sim.base_url()))
        .json(&json!({"userCode": dc["user_code"], "user": user}))
        .send()
        .await
        .unwrap()
}

async fn poll(sim: &appgrant_sim::Sim, dc: &Value) -> (StatusCode, Value) {
    token_request(
        sim,
        "organizations",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", sim.public_client_id()),
            ("device_code", dc["device_code"].as_str().unwrap()),
        ],
    )
    .await
}

#[tokio::test]
async fn device_code_pending_slow_down_then_token() {
    let sim = start().await;
    sim.update_knobs(|k| k.device_code_interval_secs = 1);
    let dc = device_code(&sim, "openid offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Application.ReadWrite.All").await;
    assert_same_keys(&dc, &load_example("devicecode.response.json"));
    assert_eq!(dc["interval"], 1);
    assert!(dc["message"]
        .as_str()
        .unwrap()
        .contains(dc["user_code"].as_str().unwrap()));

    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "authorization_pending")
    );
    assert_same_keys(
        &e,
        &load_example("error-device-authorization-pending.response.json"),
    );
    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "slow_down")
    );

    // The user enters the code on the page and signs in (admin scopes are pre-consented).
    let c = http();
    let page = c
        .get(dc["verification_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let r = c
        .post(dc["verification_uri"].as_str().unwrap())
        .form(&[
            ("user_code", dc["user_code"].as_str().unwrap()),
            ("username", sim.admin_upn().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("id=\"done\""));

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (s, tok) = poll(&sim, &dc).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert_same_keys(&tok, &load_example("token-device-code.response.json"));
    assert_eq!(
        claims(tok["access_token"].as_str().unwrap())["upn"],
        sim.admin_upn()
    );
    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn device_code_decline_expiry_and_block() {
    let sim = start().await;
    sim.update_knobs(|k| {
        k.device_code_interval_secs = 0;
        k.device_code_expires_secs = 1;
    });
    let dc = device_code(&sim, "https://graph.microsoft.com/User.Read").await;
    sim.decline_device_code(dc["user_code"].as_str().unwrap(), &sim.admin_upn())
        .unwrap();
    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "authorization_declined")
    );

    let dc = device_code(&sim, "https://graph.microsoft.com/User.Read").await;
    // Approval through the control API also works.
    let r = approve_through_control(&sim, &dc, &sim.non_admin_upn()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, t) = poll(&sim, &dc).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        claims(t["access_token"].as_str().unwrap())["upn"],
        sim.non_admin_upn()
    );

    let dc = device_code(&sim, "https://graph.microsoft.com/User.Read").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (
            s,
            e["error"].as_str().unwrap(),
            e["error_codes"][0].as_u64().unwrap()
        ),
        (StatusCode::BAD_REQUEST, "expired_token", 70019)
    );
    assert_same_keys(
        &e,
        &load_example("error-device-expired-token.response.json"),
    );

    sim.update_knobs(|k| k.block_device_code = true);
    let dc = device_code(&sim, "https://graph.microsoft.com/User.Read").await;
    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (s, e["error_codes"][0].as_u64().unwrap()),
        (StatusCode::BAD_REQUEST, 53003)
    );
    assert_same_keys(
        &e,
        &load_example("error-aadsts53003-conditional-access.response.json"),
    );
    let (s, e) = token_request(
        &sim,
        "organizations",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", sim.public_client_id()),
            ("device_code", "nope"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error_codes"][0], 53003);
}

/// Approving through the control API follows the consent rules of the pages: a user who is not
/// an admin cannot consent to an admin-only permission, so nothing is issued or granted.
#[tokio::test]
async fn control_api_approval_by_a_non_admin_cannot_consent_to_admin_only_permissions() {
    let sim = start().await;
    sim.update_knobs(|k| k.device_code_interval_secs = 0);
    let dc = device_code(&sim, "https://graph.microsoft.com/Directory.ReadWrite.All").await;
    let r = approve_through_control(&sim, &dc, &sim.non_admin_upn()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    let msg = body["error"].as_str().unwrap();
    assert!(
        msg.contains("AADSTS90094") && msg.contains("Directory.ReadWrite.All"),
        "{msg}"
    );
    let (s, e) = poll(&sim, &dc).await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "authorization_declined")
    );
    // No grant for the non-admin was recorded.
    let admin = admin_token(&sim).await;
    let (s, grants) = graph_get(&sim, &admin, "/v1.0/oauth2PermissionGrants").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !grants["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["scope"]
                .as_str()
                .unwrap()
                .contains("Directory.ReadWrite.All")),
        "{grants}"
    );
    // An admin approving the same kind of request still gets a token.
    let dc = device_code(&sim, "https://graph.microsoft.com/Directory.ReadWrite.All").await;
    sim.approve_device_code(dc["user_code"].as_str().unwrap(), &sim.admin_upn())
        .unwrap();
    let (s, t) = poll(&sim, &dc).await;
    assert_eq!(s, StatusCode::OK, "{t}");
}

#[tokio::test]
async fn control_api_knobs_counters_log_users_reset() {
    let sim = start().await;
    let c = http();
    let base = sim.base_url();
    let info: Value = c
        .get(format!("{base}/_sim/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["tenantId"], sim.tenant_id());
    assert_eq!(info["publicClientId"], sim.public_client_id());

    let mut knobs: Value = c
        .get(format!("{base}/_sim/knobs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    knobs["replication"]["app_to_sp_ms"] = json!(1234);
    knobs["latency_ms"] = json!(20);
    let r = c
        .put(format!("{base}/_sim/knobs"))
        .json(&knobs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sim.knobs().replication.app_to_sp_ms, 1234);
    let r = c
        .put(format!("{base}/_sim/knobs"))
        .json(&json!({"nope": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let users: Vec<Value> = c
        .get(format!("{base}/_sim/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(users.len() >= 50);
    assert!(users
        .iter()
        .any(|u| u["userPrincipalName"] == sim.admin_upn()
            && u["roles"][0] == "Global Administrator"));
    assert!(users
        .iter()
        .any(|u| u["userPrincipalName"] == sim.non_admin_upn()
            && u["roles"].as_array().unwrap().is_empty()));
    assert!(sim
        .upn_with_role("e8611ab8-c189-46e8-94e1-60213ab1f814")
        .is_some());

    let tok = sign_in(&sim, &sim.admin_upn(), ADMIN_SCOPES).await;
    let at = tok["access_token"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let (s, _) = graph_get(&sim, &at, "/v1.0/me").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "latency knob applies"
    );
    let (s, _) = graph_get(&sim, &at, "/v1.0/users/nobody@nowhere").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let counters: Value = c
        .get(format!("{base}/_sim/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let routes = counters["routes"].as_object().unwrap();
    assert_eq!(routes["GET /v1.0/me 200"]["count"], 1);
    assert_eq!(routes["GET /v1.0/users/{id} 404"]["count"], 1);
    assert_eq!(routes["POST /{tenant}/oauth2/v2.0/token 200"]["count"], 1);
    assert!(
        routes["GET /v1.0/me 200"]["totalLatencyMs"]
            .as_f64()
            .unwrap()
            >= 20.0
    );
    assert_eq!(sim.counters().count("GET", "/v1.0/me", 200), 1);

    // The log never contains codes, tokens or secrets.
    let log_text = c
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log_text.contains("/v1.0/me"));
    assert!(!log_text.contains(&at));
    assert!(!log_text.contains(tok["refresh_token"].as_str().unwrap()));
    let (oid, _) = create_app(&sim, &at).await;
    let (_, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({})),
    )
    .await;
    let log_text = c
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!log_text.contains(pw["secretText"].as_str().unwrap()));
    let r = c.get(format!("{}/organizations/oauth2/v2.0/authorize?client_id={}&response_type=code&redirect_uri=http://localhost:1&scope=openid&code_challenge=abc", sim.login_base(), sim.public_client_id())).send().await.unwrap();
    let _ = r.status();
    let r = c
        .get(format!(
            "{}/x/oauth2/v2.0/authorize?code=SECRETCODE&client_secret=SHH",
            sim.login_base()
        ))
        .send()
        .await
        .unwrap();
    let _ = r.status();
    let log_text = c
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!log_text.contains("SECRETCODE") && !log_text.contains("SHH"));

    // fail-next through the API.
    let r = c
        .post(format!("{base}/_sim/fail-next"))
        .json(&json!({"count": 1, "status": 504}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = graph_get(&sim, &at, "/v1.0/me").await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);

    // Reset: apps gone, knobs back to start-up values, counters cleared.
    let r = c.post(format!("{base}/_sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.knobs(), appgrant_sim::Knobs::default());
    assert_eq!(sim.counters().total_requests, 0);
    let (s, _) = graph_get(&sim, &at, &format!("/v1.0/applications/{oid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn paging_filters_and_members() {
    let sim = appgrant_sim::Sim::start(appgrant_sim::SimConfig {
        extra_users: 250,
        ..Default::default()
    })
    .await
    .unwrap();
    let at = admin_token(&sim).await;
    let mut next = Some(format!(
        "{}/v1.0/users?$top=100&$select=id,userPrincipalName",
        sim.graph_base()
    ));
    let mut seen = 0;
    let mut pages = 0;
    while let Some(url) = next {
        let (s, page) = graph_get(&sim, &at, &url).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let v = page["value"].as_array().unwrap();
        assert!(v.iter().all(|u| u.as_object().unwrap().len() == 2));
        seen += v.len();
        pages += 1;
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    let total = sim.users().len() + 250;
    assert_eq!(seen, total);
    assert_eq!(pages, total.div_ceil(100));

    let (_, l) = graph_get(
        &sim,
        &at,
        "/v1.0/users?$filter=startswith(displayName,'Robin')",
    )
    .await;
    assert_eq!(l["value"].as_array().unwrap().len(), 2);
    let (_, l) = graph_h(
        &sim,
        &at,
        Method::GET,
        "/v1.0/users?$filter=department eq 'Finance'&$count=true&$top=5",
        None,
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    assert!(l["@odata.count"].as_u64().unwrap() > 5);
    assert!(l["@odata.nextLink"].is_string());
    let (_, g) = graph_get(
        &sim,
        &at,
        "/v1.0/groups?$filter=displayName eq 'Mail Connector Users'",
    )
    .await;
    let gid = g["value"][0]["id"].as_str().unwrap();
    let (s, m) = graph_get(&sim, &at, &format!("/v1.0/groups/{gid}/members")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(m["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["userPrincipalName"] == sim.non_admin_upn()));
    assert_eq!(m["value"][0]["@odata.type"], "#microsoft.graph.user");

    // Delegated mailbox calls: own mailbox yes, someone else's no.
    let tok = sign_in(
        &sim,
        &sim.non_admin_upn(),
        "https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read",
    )
    .await;
    let robin = tok["access_token"].as_str().unwrap();
    let (s, _) = graph_get(&sim, robin, "/v1.0/me/messages").await;
    assert_eq!(s, StatusCode::OK);
    let (s, inbox) = graph_get(&sim, robin, "/v1.0/me/mailFolders/inbox").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inbox["displayName"], "Inbox");
    let (s, _) = graph_get(
        &sim,
        robin,
        &format!("/v1.0/users/{}/messages", sim.admin_upn()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[test]
fn toml_config_round_trip() {
    let c = appgrant_sim::SimConfig::from_toml(
        "port = 0\nextra_users = 5\n[knobs]\nblock_device_code = true\nsecret_max_lifetime_days = 90\n[knobs.throttle]\nevery_nth = 10\n[knobs.faults]\nrate = 0.1\nseed = 7\n",
    )
    .unwrap();
    assert!(c.knobs.block_device_code);
    assert_eq!(c.knobs.secret_max_lifetime_days, Some(90));
    assert_eq!(c.knobs.throttle.every_nth, Some(10));
    assert_eq!(c.knobs.faults.seed, 7);
}

/// The controls for what an admin does behind the client's back: list an app's secrets,
/// make one expire (the token endpoint then refuses it as Entra does), delete the app.
#[tokio::test]
async fn control_lists_expires_secrets_and_deletes_apps() {
    let sim = start().await;
    let token = admin_token(&sim).await;
    let (object_id, app_id) = create_app(&sim, &token).await;
    let sp = create_sp(&sim, &token, &app_id).await;
    let (s, created) = graph(
        &sim,
        &token,
        Method::POST,
        &format!("/v1.0/applications/{object_id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "vendor"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let key_id = created["keyId"].as_str().unwrap().to_string();
    let secret = created["secretText"].as_str().unwrap().to_string();
    let base = sim.base_url();

    let listed: Value = http()
        .get(format!("{base}/_sim/apps/{app_id}/secrets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["keyId"], key_id.as_str());
    assert_eq!(listed[0]["displayName"], "vendor");
    assert!(!listed.to_string().contains(&secret), "never the value");

    let client_credentials = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let (s, _) = token_request(&sim, &sim.tenant_id(), &client_credentials).await;
    assert_eq!(s, StatusCode::OK);
    let soon = "2031-01-02T03:04:05Z";
    let r = http()
        .post(format!("{base}/_sim/apps/{app_id}/secrets/{key_id}/expire"))
        .json(&json!({"endDateTime": soon}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, app) = graph_get(&sim, &token, &format!("/v1.0/applications/{object_id}")).await;
    assert_eq!(app["passwordCredentials"][0]["endDateTime"], soon);
    let r = http()
        .post(format!("{base}/_sim/apps/{app_id}/secrets/{key_id}/expire"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "no body: expired a minute ago"
    );
    let (s, e) = token_request(&sim, &sim.tenant_id(), &client_credentials).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000222"),
        "{e}"
    );

    let r = http()
        .post(format!(
            "{base}/_sim/apps/{app_id}/secrets/no-such-key/expire"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http()
        .delete(format!("{base}/_sim/apps/{app_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = graph_get(&sim, &token, &format!("/v1.0/applications/{object_id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = graph_get(&sim, &token, &format!("/v1.0/servicePrincipals/{sp}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the enterprise app went with it");
    let r = http()
        .delete(format!("{base}/_sim/apps/{app_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// `POST /_sim/hand-made-apps` puts the apps made by hand from the vendors' guides into a
/// tenant that has none (a presenter's "an app made by hand last year"), each once: a second
/// call adds nothing, and one deleted since comes back alone.
#[tokio::test]
async fn control_puts_back_the_hand_made_apps() {
    let sim = start().await;
    let token = admin_token(&sim).await;
    let base = sim.base_url();
    let names = |v: &Value| -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["displayName"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, before) = graph_get(&sim, &token, "/v1.0/applications?$top=999").await;
    assert!(!names(&before).iter().any(|n| n == "TonicDM O365 Org Token"));

    let post = || async {
        let r = http()
            .post(format!("{base}/_sim/hand-made-apps"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()
    };
    let first = post().await;
    assert!(first["added"].as_array().unwrap().len() >= 2, "{first}");
    let (_, after) = graph_get(&sim, &token, "/v1.0/applications?$top=999").await;
    let tonic = after["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["displayName"] == "TonicDM O365 Org Token")
        .expect("the hand-made TonicDM app is listed as Graph lists any app")
        .clone();
    assert_eq!(post().await["added"], json!([]), "each app once");

    let app_id = tonic["appId"].as_str().unwrap();
    let r = http()
        .delete(format!("{base}/_sim/apps/{app_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(post().await["added"], json!(["TonicDM O365 Org Token"]));
}
