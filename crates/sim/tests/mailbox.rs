//! Mailbox calls with app-only tokens: each operation needs its own application permission
//! (messages, inbox, events, mailboxSettings GET/PATCH, sendMail), mailbox-less users get
//! MailboxNotEnabledForRESTAPI, and bodies are strict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

const CALENDARS_READ: &str = "798ee544-9d2d-430c-a058-570e29e34338";
const MAILBOX_SETTINGS_RW: &str = "6931bccd-447a-43d1-b442-00a195474933";

#[tokio::test]
async fn app_only_mailbox_operations_follow_their_permissions() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (oid, app_id) = create_app(&sim, &at).await;
    let sp = create_sp(&sim, &at, &app_id).await;
    for role in [CALENDARS_READ, MAILBOX_SETTINGS_RW] {
        let (s, _) = graph(
            &sim,
            &at,
            Method::POST,
            &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            Some(json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": role})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({})),
    )
    .await;
    let (s, t) = token_request(
        &sim,
        &sim.tenant_id(),
        &[
            ("client_id", app_id.as_str()),
            ("client_secret", pw["secretText"].as_str().unwrap()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let tok = t["access_token"].as_str().unwrap().to_string();
    let u = sim.non_admin_upn();

    let (s, ev) = graph(
        &sim,
        &tok,
        Method::GET,
        &format!("/v1.0/users/{u}/calendar/events"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ev["value"][0]["subject"].is_string());
    let (s, ms) = graph(
        &sim,
        &tok,
        Method::GET,
        &format!("/v1.0/users/{u}/mailboxSettings"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ms["timeZone"], "W. Europe Standard Time");
    let (s, ms) = graph(
        &sim,
        &tok,
        Method::PATCH,
        &format!("/v1.0/users/{u}/mailboxSettings"),
        Some(json!({"timeZone": "UTC"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ms["timeZone"], "UTC");
    let (s, e) = graph(
        &sim,
        &tok,
        Method::PATCH,
        &format!("/v1.0/users/{u}/mailboxSettings"),
        Some(json!({"favouriteColour": "red"})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "Request_BadRequest")
    );
    // No Mail.* or Mail.Send granted.
    for (m, path) in [
        (Method::GET, "messages"),
        (Method::GET, "mailFolders/inbox"),
    ] {
        let (s, e) = graph(&sim, &tok, m, &format!("/v1.0/users/{u}/{path}"), None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str().unwrap()),
            (StatusCode::FORBIDDEN, "ErrorAccessDenied"),
            "{path}"
        );
    }
    let (s, _) = graph(
        &sim,
        &tok,
        Method::POST,
        &format!("/v1.0/users/{u}/sendMail"),
        Some(json!({"message": {"subject": "x"}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Mailbox-less (unlicensed) user.
    let nomb = sim.users().into_iter().find(|x| !x.has_mailbox).unwrap();
    let (s, e) = graph(
        &sim,
        &tok,
        Method::GET,
        &format!("/v1.0/users/{}/mailboxSettings", nomb.id),
        None,
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str().unwrap()),
        (StatusCode::NOT_FOUND, "MailboxNotEnabledForRESTAPI")
    );
    // Unknown user.
    let (s, e) = graph(
        &sim,
        &tok,
        Method::GET,
        "/v1.0/users/nobody@contosopractice.onmicrosoft.com/mailboxSettings",
        None,
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str().unwrap()),
        (StatusCode::NOT_FOUND, "Request_ResourceNotFound")
    );
}

#[tokio::test]
async fn creates_carry_location_and_context() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let r = http()
        .post(format!("{}/applications", sim.graph_v1()))
        .bearer_auth(&at)
        .json(&json!({"displayName": "loc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(r.headers().contains_key("request-id"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(loc.ends_with(body["id"].as_str().unwrap()));
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("/v1.0/$metadata#applications/$entity"));
}
