//! The whole provisioning story over real HTTP: an admin signs in (auth code + PKCE through
//! the HTML pages), creates an application and its service principal (waiting out
//! replication), grants Graph application permissions, adds a secret, gets a
//! client-credentials token with `roles`, reads a mailbox; then Exchange RBAC for
//! Applications confines the app to a group; a non-admin is refused when granting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn full_flow_sign_in_to_scoped_mailbox_access() {
    let sim = start().await;
    sim.update_knobs(|k| k.replication.app_to_sp_ms = 1000);

    // Sign in as Global Administrator.
    let tok = sign_in(&sim, &sim.admin_upn(), ADMIN_SCOPES).await;
    assert_eq!(tok["token_type"], "Bearer");
    assert!(tok["refresh_token"].is_string());
    assert!(tok["id_token"].is_string());
    let at = tok["access_token"].as_str().unwrap().to_string();
    let c = claims(&at);
    assert_eq!(c["tid"], sim.tenant_id());
    assert_eq!(c["upn"], sim.admin_upn());
    assert!(c["scp"]
        .as_str()
        .unwrap()
        .contains("Application.ReadWrite.All"));
    assert!(c["wids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w == "62e90394-69f5-4237-9190-012177145e10"));

    // Who am I, which tenant, which roles.
    let (s, me) = graph(&sim, &at, Method::GET, "/v1.0/me", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["userPrincipalName"], sim.admin_upn());
    let (s, roles) = graph(
        &sim,
        &at,
        Method::GET,
        "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        roles["value"][0]["roleTemplateId"],
        "62e90394-69f5-4237-9190-012177145e10"
    );

    // Create the app; the SP fails with the replication error first, then succeeds.
    let (app_oid, app_id) = create_app(&sim, &at).await;
    let (s, err) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": app_id})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "Request_BadRequest");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not reference a valid application object"));
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let sp_id = create_sp(&sim, &at, &app_id).await;

    // A non-admin is refused when granting Graph application permissions.
    let robin = token_for(&sim, &sim.non_admin_upn()).await;
    let grant = json!({"principalId": sp_id, "resourceId": GRAPH_SP, "appRoleId": MAIL_READWRITE});
    let (s, err) = graph(
        &sim,
        &robin,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
        Some(grant.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["code"], "Authorization_RequestDenied");

    // The admin grants Mail.ReadWrite and Mail.Send.
    for role in [MAIL_READWRITE, MAIL_SEND] {
        let body = json!({"principalId": sp_id, "resourceId": GRAPH_SP, "appRoleId": role});
        let (s, a) = graph(
            &sim,
            &at,
            Method::POST,
            &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        assert_eq!(a["principalType"], "ServicePrincipal");
    }

    // Secret, then a client-credentials token with roles.
    let (s, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{app_oid}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "flow"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let secret = pw["secretText"].as_str().unwrap().to_string();
    let (s, cc) = token_request(
        &sim,
        &sim.tenant_id(),
        &[
            ("client_id", app_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{cc}");
    let app_tok = cc["access_token"].as_str().unwrap().to_string();
    let ac = claims(&app_tok);
    assert_eq!(ac["idtyp"], "app");
    assert_eq!(ac["oid"], sp_id);
    let mut roles: Vec<String> = ac["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    roles.sort();
    assert_eq!(roles, vec!["Mail.ReadWrite", "Mail.Send"]);

    // Tenant-wide Entra permission: any mailbox.
    let in_scope = sim.non_admin_upn(); // robin.user is in "Mail Connector Users"
    let out_of_scope = "gray.reader@contosopractice.onmicrosoft.com";
    for who in [in_scope.as_str(), out_of_scope] {
        let (s, m) = graph(
            &sim,
            &app_tok,
            Method::GET,
            &format!("/v1.0/users/{who}/messages?$top=1"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(m["value"].as_array().unwrap().len(), 1);
    }

    // Exchange RBAC for Applications: scope to the group, assign the Exchange role.
    let (s, scope) = graph(
        &sim,
        &at,
        Method::POST,
        "/beta/roleManagement/exchange/customAppScopes",
        Some(load_example("exchange-create-customappscope.request.json")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{scope}");
    let (s, defs) = graph(
        &sim,
        &at,
        Method::GET,
        "/beta/roleManagement/exchange/roleDefinitions",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let role_def = defs["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["displayName"] == "Application Mail.ReadWrite")
        .unwrap()["id"]
        .clone();
    let (s, ra) = graph(
        &sim,
        &at,
        Method::POST,
        "/beta/roleManagement/exchange/roleAssignments",
        Some(json!({
            "principalId": format!("/ServicePrincipals/{sp_id}"),
            "roleDefinitionId": role_def,
            "appScopeId": scope["id"],
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ra}");

    // Microsoft: Exchange grants are additive, so the unscoped Entra Mail.ReadWrite still
    // reaches everyone. The Entra assignment must go for the scope to bite.
    let (s, _) = graph(
        &sim,
        &app_tok,
        Method::GET,
        &format!("/v1.0/users/{out_of_scope}/messages"),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "additive: still allowed while the Entra grant exists"
    );
    let (_, list) = graph(
        &sim,
        &at,
        Method::GET,
        &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignments"),
        None,
    )
    .await;
    let mrw = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appRoleId"] == MAIL_READWRITE)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = graph(
        &sim,
        &at,
        Method::DELETE,
        &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo/{mrw}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, cc) = token_request(
        &sim,
        &sim.tenant_id(),
        &[
            ("client_id", app_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    let app_tok = cc["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&app_tok)["roles"], json!(["Mail.Send"]));

    let (s, m) = graph(
        &sim,
        &app_tok,
        Method::GET,
        &format!("/v1.0/users/{in_scope}/messages?$top=1"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "in scope: {m}");
    let (s, err) = graph(
        &sim,
        &app_tok,
        Method::GET,
        &format!("/v1.0/users/{out_of_scope}/messages?$top=1"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_same_keys(
        &err,
        &load_example("error-mailbox-access-denied-403.response.json"),
    );
    assert_eq!(err["error"]["code"], "ErrorAccessDenied");
    assert_eq!(err["error"]["message"], "Access to OData is disabled.");
    // Mail.Send is still an unscoped Entra permission.
    let (s, _) = graph(
        &sim,
        &app_tok,
        Method::POST,
        &format!("/v1.0/users/{out_of_scope}/sendMail"),
        Some(json!({"message": {"subject": "hi", "toRecipients": []}})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // Calendars were never granted.
    let (s, err) = graph(
        &sim,
        &app_tok,
        Method::GET,
        &format!("/v1.0/users/{in_scope}/calendar/events"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["code"], "ErrorAccessDenied");
}

#[tokio::test]
async fn restrictive_mode_scopes_entra_grants_too() {
    let sim = start().await;
    sim.update_knobs(|k| k.exchange_scope_restricts_entra_grants = true);
    let at = admin_token(&sim).await;
    let (app_oid, app_id) = create_app(&sim, &at).await;
    let sp_id = create_sp(&sim, &at, &app_id).await;
    let body = json!({"principalId": sp_id, "resourceId": GRAPH_SP, "appRoleId": MAIL_READWRITE});
    let (s, _) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{app_oid}/addPassword"),
        Some(json!({})),
    )
    .await;
    let (_, cc) = token_request(
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
    let app_tok = cc["access_token"].as_str().unwrap().to_string();
    let group = "Mail Connector Users";
    let (_, groups) = graph_h(
        &sim,
        &at,
        Method::GET,
        &format!("/v1.0/groups?$filter=displayName eq '{group}'"),
        None,
        &[],
    )
    .await;
    let gid = groups["value"][0]["id"].as_str().unwrap().to_string();
    let mrw_def = "3f8e1a01-0001-4a00-9000-00000000e003";
    let (s, _) = graph(&sim, &at, Method::POST, "/beta/roleManagement/exchange/roleAssignments", Some(json!({
        "principalId": format!("/ServicePrincipals/{sp_id}"), "roleDefinitionId": mrw_def, "directoryScopeId": format!("/Groups/{gid}")
    }))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = graph(
        &sim,
        &app_tok,
        Method::GET,
        &format!("/v1.0/users/{}/messages", sim.non_admin_upn()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = graph(
        &sim,
        &app_tok,
        Method::GET,
        "/v1.0/users/gray.reader@contosopractice.onmicrosoft.com/messages",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn exchange_changes_wait_for_propagation() {
    let sim = start().await;
    sim.update_knobs(|k| k.exchange_propagation_ms = 1000);
    let at = admin_token(&sim).await;
    let (app_oid, app_id) = create_app(&sim, &at).await;
    let sp_id = create_sp(&sim, &at, &app_id).await;
    let (_, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{app_oid}/addPassword"),
        Some(json!({})),
    )
    .await;
    let (s, _) = graph(&sim, &at, Method::POST, "/beta/roleManagement/exchange/roleAssignments", Some(json!({
        "principalId": format!("/ServicePrincipals/{sp_id}"), "roleDefinitionId": "3f8e1a01-0001-4a00-9000-00000000e003", "directoryScopeId": "/"
    }))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, cc) = token_request(
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
    let app_tok = cc["access_token"].as_str().unwrap().to_string();
    assert!(
        claims(&app_tok).get("roles").is_none(),
        "Exchange roles never appear in the token"
    );
    let path = format!("/v1.0/users/{}/messages", sim.non_admin_upn());
    let (s, _) = graph(&sim, &app_tok, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not yet propagated");
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (s, _) = graph(&sim, &app_tok, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK);
}
