//! One test per error the simulator claims to model (api-notes §2.7 and §5): status plus
//! `error.code` (Graph) or AADSTS code (identity platform).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

fn aadsts(v: &Value) -> u64 {
    v["error_codes"][0].as_u64().unwrap()
}

fn assert_graph_error(s: StatusCode, v: &Value, status: StatusCode, code: &str) {
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert_same_keys(
        &v["error"],
        &load_example("error-authorization-denied-403.response.json")["error"],
    );
    assert_same_keys(
        &v["error"]["innerError"],
        &load_example("error-authorization-denied-403.response.json")["error"]["innerError"],
    );
}

async fn app_with_secret(sim: &appgrant_sim::Sim, at: &str) -> (String, String, String, String) {
    let (oid, app_id) = create_app(sim, at).await;
    let sp = create_sp(sim, at, &app_id).await;
    let (_, pw) = graph(
        sim,
        at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({})),
    )
    .await;
    (
        oid,
        app_id,
        sp,
        pw["secretText"].as_str().unwrap().to_string(),
    )
}

async fn cc(sim: &appgrant_sim::Sim, app_id: &str, secret: &str) -> (StatusCode, Value) {
    token_request(
        sim,
        &sim.tenant_id(),
        &[
            ("client_id", app_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await
}

#[tokio::test]
async fn graph_replication_errors() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    sim.update_knobs(|k| {
        k.replication.object_read_ms = 60_000;
    });
    let (oid, app_id) = create_app(&sim, &at).await;
    let (s, e) = graph_get(&sim, &at, &format!("/v1.0/applications/{oid}")).await;
    assert_graph_error(s, &e, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    assert_same_keys(
        &e,
        &load_example("error-resource-not-found-404.response.json"),
    );
    let (s, e) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!("/v1.0/applications(appId='{app_id}')"),
        Some(json!({"notes": "x"})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    // A $filter list is not a by-id read: the object shows up there.
    let (_, l) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/applications?$filter=appId eq '{app_id}'"),
    )
    .await;
    assert_eq!(l["value"].as_array().unwrap().len(), 1);

    sim.update_knobs(|k| {
        k.replication.object_read_ms = 0;
        k.replication.app_to_sp_ms = 60_000;
    });
    let (_, app2) = create_app(&sim, &at).await;
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": app2})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert_eq!(
        e["error"]["message"],
        load_example("error-replication-400.response.json")["error"]["message"]
            .as_str()
            .unwrap()
            .replace("c0ffee00-1234-4abc-9def-0123456789ab", &app2)
    );

    sim.update_knobs(|k| {
        k.replication.app_to_sp_ms = 0;
        k.replication.sp_to_grant_ms = 60_000;
    });
    let sp = create_sp(&sim, &at, &app_id).await;
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
        Some(json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": MAIL_READWRITE})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    let (s, e) = graph(&sim, &at, Method::POST, "/v1.0/oauth2PermissionGrants", Some(json!({"clientId": sp, "consentType": "AllPrincipals", "resourceId": GRAPH_SP, "scope": "User.Read"}))).await;
    assert_graph_error(s, &e, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
}

#[tokio::test]
async fn graph_authorization_errors() {
    let sim = start().await;
    let admin = admin_token(&sim).await;
    let (_, app_id) = create_app(&sim, &admin).await;
    let sp = create_sp(&sim, &admin, &app_id).await;
    let grant = json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": MAIL_READWRITE});
    let path = format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo");

    // Application Administrator and Cloud Application Administrator cannot grant Graph app roles.
    for upn in ["alex.appadmin", "casey.cloudapps", "robin.user"] {
        let t = token_for(&sim, &format!("{upn}@contosopractice.onmicrosoft.com")).await;
        let (s, e) = graph(&sim, &t, Method::POST, &path, Some(grant.clone())).await;
        assert_graph_error(s, &e, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
        assert_eq!(
            e["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
    }
    // Privileged Role Administrator can.
    let pra = token_for(&sim, "pat.privileged@contosopractice.onmicrosoft.com").await;
    let (s, _) = graph(&sim, &pra, Method::POST, &path, Some(grant.clone())).await;
    assert_eq!(s, StatusCode::CREATED);
    // Duplicate → 400 with Microsoft's message.
    let (s, e) = graph(&sim, &admin, Method::POST, &path, Some(grant.clone())).await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert_eq!(
        e["error"]["message"],
        load_example("error-duplicate-approleassignment-400.response.json")["error"]["message"]
    );
    // Unknown role id → 400.
    let bad = json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": "11111111-1111-4111-8111-111111111111"});
    let (s, e) = graph(&sim, &admin, Method::POST, &path, Some(bad)).await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");

    // Delegated grants: Cloud Application Administrator may, a plain user may not; duplicates 409.
    let body = json!({"clientId": sp, "consentType": "AllPrincipals", "resourceId": GRAPH_SP, "scope": "User.Read"});
    let robin = token_for(&sim, &sim.non_admin_upn()).await;
    let (s, e) = graph(
        &sim,
        &robin,
        Method::POST,
        "/v1.0/oauth2PermissionGrants",
        Some(body.clone()),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
    let cloud = token_for(&sim, "casey.cloudapps@contosopractice.onmicrosoft.com").await;
    let (s, _) = graph(
        &sim,
        &cloud,
        Method::POST,
        "/v1.0/oauth2PermissionGrants",
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = graph(
        &sim,
        &cloud,
        Method::POST,
        "/v1.0/oauth2PermissionGrants",
        Some(body),
    )
    .await;
    assert_graph_error(
        s,
        &e,
        StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
    );
    assert_eq!(e["error"]["message"], "Permission entry already exists.");

    // Token without the needed scope → 403.
    let weak = sign_in(
        &sim,
        &sim.admin_upn(),
        "https://graph.microsoft.com/User.Read",
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, e) = graph(
        &sim,
        &weak,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::FORBIDDEN, "Authorization_RequestDenied");

    // "Users can register applications" off: a plain user is refused, App Admin is not.
    sim.update_knobs(|k| k.users_can_register_apps = false);
    let (s, e) = graph(
        &sim,
        &robin,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
    let appadmin = token_for(&sim, "alex.appadmin@contosopractice.onmicrosoft.com").await;
    let (s, _) = graph(
        &sim,
        &appadmin,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // Exchange RBAC management needs Exchange Administrator (or Global Administrator).
    let (s, e) = graph_get(
        &sim,
        &appadmin,
        "/beta/roleManagement/exchange/customAppScopes",
    )
    .await;
    assert_graph_error(s, &e, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
    let exo = token_for(&sim, "emery.exchange@contosopractice.onmicrosoft.com").await;
    let (s, _) = graph_get(&sim, &exo, "/beta/roleManagement/exchange/customAppScopes").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn graph_input_query_and_transport_errors() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    // Strict input.
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "x", "colour": "red"})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert!(e["error"]["message"].as_str().unwrap().contains("colour"));
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": 5})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"tags": ["x"]})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");
    let r = http()
        .post(format!("{}/v1.0/applications", sim.graph_base()))
        .bearer_auth(&at)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "BadRequest");
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": "x", "bogus": 1})),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");

    // Queries.
    let (s, e) = graph_get(&sim, &at, "/v1.0/applications?$filter=notes eq 'x'").await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_UnsupportedQuery");
    assert_eq!(
        e["error"]["message"],
        load_example("error-bad-filter-400.response.json")["error"]["message"]
    );
    let (s, e) = graph_get(&sim, &at, "/v1.0/applications?$filter=displayName eq").await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "BadRequest");
    let (s, e) = graph_get(&sim, &at, "/v1.0/users?$search=\"displayName:robin\"").await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_UnsupportedQuery");
    let (s, e) = graph_get(&sim, &at, "/v1.0/users?$top=1000").await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "Request_BadRequest");
    let (s, e) = graph_get(&sim, &at, "/v1.0/users?$select=nope").await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "BadRequest");

    // Credential policy.
    sim.update_knobs(|k| k.secret_max_lifetime_days = Some(180));
    let (oid, _) = create_app(&sim, &at).await;
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "2y"}})),
    )
    .await;
    assert_graph_error(
        s,
        &e,
        StatusCode::BAD_REQUEST,
        "CredentialInvalidLifetimeAsPerAppPolicy",
    );
    assert_same_keys(
        &e,
        &load_example("error-credential-lifetime-policy-400.response.json"),
    );
    let (_, pol) = graph_get(&sim, &at, "/v1.0/policies/defaultAppManagementPolicy").await;
    assert_eq!(
        pol["applicationRestrictions"]["passwordCredentials"][0]["maxLifetime"],
        "P180D"
    );
    let end = (chrono::Utc::now() + chrono::Duration::days(179)).to_rfc3339();
    let (s, _) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({"passwordCredential": {"endDateTime": end}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Authentication.
    let (s, e) = graph(&sim, "", Method::GET, "/v1.0/me", None).await;
    assert_graph_error(
        s,
        &e,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let (s, e) = graph(&sim, "not.a.jwt", Method::GET, "/v1.0/me", None).await;
    assert_graph_error(
        s,
        &e,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );

    // client-request-id is echoed.
    let (_, e) = graph_h(
        &sim,
        &at,
        Method::GET,
        "/v1.0/users/nobody@x",
        None,
        &[("client-request-id", "my-id-1")],
    )
    .await;
    assert_eq!(e["error"]["innerError"]["client-request-id"], "my-id-1");
    assert_eq!(e["error"]["code"], "Request_ResourceNotFound");

    // Throttling and faults.
    sim.update_knobs(|k| {
        k.throttle.every_nth = Some(2);
        k.throttle.retry_after_secs = 7;
    });
    let r1 = http()
        .get(format!("{}/v1.0/me", sim.graph_base()))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status(), StatusCode::OK);
    let r2 = http()
        .get(format!("{}/v1.0/me", sim.graph_base()))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r2.headers()["retry-after"], "7");
    let e: Value = r2.json().await.unwrap();
    assert_same_keys(&e, &load_example("error-throttled-429.response.json"));
    assert_eq!(e["error"]["code"], "TooManyRequests");
    sim.update_knobs(|k| {
        k.throttle.every_nth = None;
        k.throttle.max_requests_per_sec = Some(3);
    });
    let mut codes = vec![];
    for _ in 0..5 {
        codes.push(
            http()
                .get(format!("{}/v1.0/me", sim.graph_base()))
                .bearer_auth(&at)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(codes, vec![200, 200, 200, 429, 429]);
    sim.update_knobs(|k| {
        k.throttle.max_requests_per_sec = None;
        k.faults.rate = 1.0;
    });
    let (s, e) = graph_get(&sim, &at, "/v1.0/me").await;
    assert!(
        s == StatusCode::SERVICE_UNAVAILABLE || s == StatusCode::GATEWAY_TIMEOUT,
        "{s}"
    );
    assert!(e["error"]["code"] == "serviceNotAvailable" || e["error"]["code"] == "UnknownError");
    sim.update_knobs(|k| k.faults.rate = 0.0);
    sim.fail_next(1, 503);
    let (s, e) = graph_get(&sim, &at, "/v1.0/me").await;
    assert_graph_error(
        s,
        &e,
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
    );
    assert_same_keys(
        &e,
        &load_example("error-service-unavailable-503.response.json"),
    );
    let (s, _) = graph_get(&sim, &at, "/v1.0/me").await;
    assert_eq!(s, StatusCode::OK);

    // /me with an app-only token.
    let (oid, app_id) = create_app(&sim, &at).await;
    create_sp(&sim, &at, &app_id).await;
    let end = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let (_, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({"passwordCredential": {"endDateTime": end}})),
    )
    .await;
    let (_, t) = cc(&sim, &app_id, pw["secretText"].as_str().unwrap()).await;
    let app_tok = t["access_token"].as_str().unwrap().to_string();
    assert!(
        claims(&app_tok).get("roles").is_none(),
        "no consent: no roles claim"
    );
    let (s, e) = graph_get(&sim, &app_tok, "/v1.0/me").await;
    assert_graph_error(s, &e, StatusCode::BAD_REQUEST, "BadRequest");
    let (s, e) = graph_get(&sim, &app_tok, "/v1.0/users").await;
    assert_graph_error(s, &e, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
    let (s, e) = graph_get(
        &sim,
        &app_tok,
        &format!("/v1.0/users/{}/messages", sim.non_admin_upn()),
    )
    .await;
    assert_graph_error(s, &e, StatusCode::FORBIDDEN, "ErrorAccessDenied");
}

#[tokio::test]
async fn token_endpoint_errors() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let tid = sim.tenant_id();

    // 90002 unknown tenant (token and discovery).
    let (s, e) = token_request(
        &sim,
        "nosuchtenant.onmicrosoft.com",
        &[("grant_type", "client_credentials"), ("client_id", "x")],
    )
    .await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 90002));
    let r = http()
        .get(format!(
            "{}/nosuch/v2.0/.well-known/openid-configuration",
            sim.login_base()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(aadsts(&r.json().await.unwrap()), 90002);

    // 700016 unknown client, and just-created app while app_to_token_ms runs.
    let (s, e) = cc(&sim, "11111111-2222-4333-8444-555555555555", "x").await;
    assert_eq!(
        (s, aadsts(&e), e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, 700016, "unauthorized_client")
    );
    assert_same_keys(
        &e,
        &load_example("error-aadsts700016-app-not-found.response.json"),
    );
    let (oid, app_id, _sp, secret) = app_with_secret(&sim, &at).await;
    sim.update_knobs(|k| k.replication.app_to_token_ms = 60_000);
    let (s, e) = cc(&sim, &app_id, &secret).await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 700016));
    sim.update_knobs(|k| k.replication.app_to_token_ms = 0);

    // 7000215 wrong secret; secret id instead of value; not yet replicated secret.
    let (s, e) = cc(&sim, &app_id, "wrong").await;
    assert_eq!(
        (s, aadsts(&e), e["error"].as_str().unwrap()),
        (StatusCode::UNAUTHORIZED, 7000215, "invalid_client")
    );
    assert_same_keys(
        &e,
        &load_example("error-aadsts7000215-invalid-secret.response.json"),
    );
    sim.update_knobs(|k| k.replication.secret_to_token_ms = 1000);
    let (_, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({})),
    )
    .await;
    let fresh = pw["secretText"].as_str().unwrap().to_string();
    let (s, e) = cc(&sim, &app_id, &fresh).await;
    assert_eq!((s, aadsts(&e)), (StatusCode::UNAUTHORIZED, 7000215));
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (s, _) = cc(&sim, &app_id, &fresh).await;
    assert_eq!(s, StatusCode::OK);

    // 7000222 expired secret.
    let (_, old) = graph(&sim, &at, Method::POST, &format!("/v1.0/applications/{oid}/addPassword"), Some(json!({"passwordCredential": {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2021-01-01T00:00:00Z"}}))).await;
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (s, e) = cc(&sim, &app_id, old["secretText"].as_str().unwrap()).await;
    assert_eq!((s, aadsts(&e)), (StatusCode::UNAUTHORIZED, 7000222));
    assert_same_keys(
        &e,
        &load_example("error-aadsts7000222-expired-secret.response.json"),
    );
    sim.update_knobs(|k| k.replication.secret_to_token_ms = 0);

    // 7000218 no secret; 1002012 bad scope; 500011 other resource; 9001023 /organizations.
    let (s, e) = token_request(
        &sim,
        &tid,
        &[
            ("client_id", &app_id),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!((s, aadsts(&e)), (StatusCode::UNAUTHORIZED, 7000218));
    let (s, e) = token_request(
        &sim,
        &tid,
        &[
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/Mail.Read"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (s, aadsts(&e), e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, 1002012, "invalid_scope")
    );
    let (s, e) = token_request(
        &sim,
        &tid,
        &[
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://outlook.office365.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 500011));
    let (s, e) = token_request(
        &sim,
        "organizations",
        &[
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 9001023));

    // 7000229: app without a service principal.
    let (oid2, app2) = create_app(&sim, &at).await;
    let (_, pw2) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid2}/addPassword"),
        Some(json!({})),
    )
    .await;
    let (s, e) = cc(&sim, &app2, pw2["secretText"].as_str().unwrap()).await;
    assert_eq!((s, aadsts(&e)), (StatusCode::UNAUTHORIZED, 7000229));

    // Basic auth works for client credentials.
    let r = http()
        .post(format!("{}/{tid}/oauth2/v2.0/token", sim.login_base()))
        .basic_auth(&app_id, Some(&secret))
        .form(&[
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_same_keys(
        &body,
        &load_example("token-client-credentials.response.json"),
    );

    // Authorization code errors: bad verifier (501481), reuse (54005), public client + secret (700025).
    let a = authorize(
        &sim,
        sim.public_client_id(),
        &sim.admin_upn(),
        ADMIN_SCOPES,
        true,
        true,
    )
    .await;
    let code = query_param(&a.location, "code").unwrap();
    let base = [
        ("client_id", sim.public_client_id()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", a.redirect_uri.as_str()),
    ];
    let mut f = base.to_vec();
    f.push(("code_verifier", "x".repeat(50).leak()));
    let (s, e) = token_request(&sim, "organizations", &f).await;
    assert_eq!(
        (s, aadsts(&e), e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, 501481, "invalid_grant")
    );
    let mut f = base.to_vec();
    f.push(("code_verifier", a.verifier.as_str()));
    f.push(("client_secret", "nope"));
    let (s, e) = token_request(&sim, "organizations", &f).await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 700025));
    let mut f = base.to_vec();
    f.push(("code_verifier", a.verifier.as_str()));
    let (s, _) = token_request(&sim, "organizations", &f).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = token_request(&sim, "organizations", &f).await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 54005));

    // Refresh: consent_required for a scope nobody consented to (65001); revoked (700082);
    // garbage. (A consented scope beyond the original sign-in is issued: tests/identity_fidelity.rs.)
    let tok = sign_in(
        &sim,
        &sim.admin_upn(),
        "offline_access https://graph.microsoft.com/User.Read",
    )
    .await;
    let rt = tok["refresh_token"].as_str().unwrap().to_string();
    let (s, e) = token_request(
        &sim,
        "organizations",
        &[
            ("client_id", sim.public_client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "https://graph.microsoft.com/Calendars.Read"),
        ],
    )
    .await;
    assert_eq!(
        (s, aadsts(&e), e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, 65001, "invalid_grant")
    );
    assert_same_keys(
        &e,
        &load_example("error-aadsts65001-consent-required.response.json"),
    );
    sim.revoke_refresh_tokens();
    let (s, e) = token_request(
        &sim,
        "organizations",
        &[
            ("client_id", sim.public_client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
        ],
    )
    .await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 700082));
    assert_same_keys(
        &e,
        &load_example("error-invalid-grant-refresh.response.json"),
    );
    let (s, e) = token_request(
        &sim,
        "organizations",
        &[
            ("client_id", sim.public_client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", "garbage"),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (s, e) = token_request(
        &sim,
        "organizations",
        &[
            ("client_id", sim.public_client_id()),
            ("grant_type", "password"),
        ],
    )
    .await;
    assert_eq!((s, aadsts(&e)), (StatusCode::BAD_REQUEST, 70003));
}

#[tokio::test]
async fn authorize_errors_and_consent() {
    let sim = start().await;
    let c = http();
    let url = format!("{}/organizations/oauth2/v2.0/authorize", sim.login_base());
    // Unknown client: error page, no redirect.
    let r = c
        .get(&url)
        .query(&[
            ("client_id", "11111111-2222-4333-8444-555555555555"),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:5000"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("AADSTS700016"));
    // Unregistered redirect URI.
    let r = c
        .get(&url)
        .query(&[
            ("client_id", sim.public_client_id()),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("AADSTS50011"));
    // Loopback on any port, localhost or 127.0.0.1.
    for uri in ["http://localhost:1/", "http://127.0.0.1:65000/cb"] {
        let r = c
            .get(&url)
            .query(&[
                ("client_id", sim.public_client_id()),
                ("response_type", "code"),
                ("redirect_uri", uri),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
    }
    // Invalid scope → error redirect (70011).
    let r = c
        .get(&url)
        .query(&[
            ("client_id", sim.public_client_id()),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:9"),
            ("scope", "https://graph.microsoft.com/No.Such"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_scope"));
    assert!(query_param(&loc, "error_description")
        .unwrap()
        .starts_with("AADSTS70011"));

    // A scope that is not pre-consented: plain user gets "Need admin approval" → access_denied.
    let admin_scope = "openid https://graph.microsoft.com/Mail.ReadWrite.Shared https://graph.microsoft.com/Directory.ReadWrite.All";
    let a = authorize(
        &sim,
        sim.public_client_id(),
        &sim.non_admin_upn(),
        admin_scope,
        false,
        false,
    )
    .await;
    assert_eq!(
        query_param(&a.location, "error").as_deref(),
        Some("access_denied")
    );
    // The admin declines → access_denied (65004); accepts for the org → code, and then the
    // plain user needs no consent any more.
    let a = authorize(
        &sim,
        sim.public_client_id(),
        &sim.admin_upn(),
        admin_scope,
        false,
        true,
    )
    .await;
    assert_eq!(
        query_param(&a.location, "error").as_deref(),
        Some("access_denied")
    );
    assert!(query_param(&a.location, "error_description")
        .unwrap()
        .starts_with("AADSTS65004"));
    let a = authorize(
        &sim,
        sim.public_client_id(),
        &sim.admin_upn(),
        admin_scope,
        true,
        true,
    )
    .await;
    assert!(query_param(&a.location, "code").is_some());
    let tok = sign_in(&sim, &sim.non_admin_upn(), admin_scope).await;
    assert!(claims(tok["access_token"].as_str().unwrap())["scp"]
        .as_str()
        .unwrap()
        .contains("Directory.ReadWrite.All"));
    assert!(!claims(tok["access_token"].as_str().unwrap())["wids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w == "62e90394-69f5-4237-9190-012177145e10"));
}

#[tokio::test]
async fn admin_consent_endpoint_grants_static_permissions() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (oid, app_id) = create_app(&sim, &at).await; // requests User.Read, offline_access, Mail.ReadWrite, Mail.Send
    let c = http();
    let url = format!("{}/{}/v2.0/adminconsent", sim.login_base(), sim.tenant_id());
    let q = [
        ("client_id", app_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
        ("redirect_uri", "http://localhost:4242"),
        ("state", "ac1"),
    ];
    // Cloud Application Administrator cannot consent to Graph application permissions.
    let html = c
        .get(&url)
        .query(&q)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("{}/_login/signin", sim.base_url()))
        .form(&[
            ("flow", flow_id(&html).as_str()),
            (
                "username",
                "casey.cloudapps@contosopractice.onmicrosoft.com",
            ),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("AADSTS90094"));
    let r = c
        .post(format!("{}/_login/consent", sim.base_url()))
        .form(&[("flow", flow_id(&html).as_str()), ("decision", "decline")])
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    // Global Administrator can.
    let html = c
        .get(&url)
        .query(&q)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("{}/_login/signin", sim.base_url()))
        .form(&[
            ("flow", flow_id(&html).as_str()),
            ("username", sim.admin_upn().as_str()),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Mail.ReadWrite (application permission)"),
        "{html}"
    );
    let r = c
        .post(format!("{}/_login/consent", sim.base_url()))
        .form(&[("flow", flow_id(&html).as_str()), ("decision", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&loc, "admin_consent").as_deref(), Some("True"));
    assert_eq!(query_param(&loc, "tenant"), Some(sim.tenant_id()));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("ac1"));
    // The SP now exists with both app roles and a delegated grant.
    let (s, sp) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sp_id = sp["id"].as_str().unwrap();
    let (_, l) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignments"),
    )
    .await;
    assert_eq!(l["value"].as_array().unwrap().len(), 2);
    let (_, g) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/oauth2PermissionGrants?$filter=clientId eq '{sp_id}'"),
    )
    .await;
    assert_eq!(g["value"][0]["scope"], "User.Read");
    let _ = oid;
    // Unregistered redirect → error page.
    let r = c
        .get(&url)
        .query(&[
            ("client_id", app_id.as_str()),
            ("redirect_uri", "https://nope.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
