//! Replays the request bodies from `tests/examples/` (copied from shared/graph/examples) and
//! checks statuses and that responses have the same keys as Microsoft's example responses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn first(v: &Value) -> &Value {
    &v["value"][0]
}

#[tokio::test]
async fn identity_platform_examples() {
    let sim = start().await;
    let c = http();
    let oidc: Value = openid_configuration(&sim, "organizations").await;
    assert_same_keys(&oidc, &load_example("openid-configuration.response.json"));
    let oidc: Value = openid_configuration(&sim, &sim.tenant_domain()).await;
    assert_eq!(
        oidc["issuer"],
        format!("{}/{}/v2.0", sim.login_base(), sim.tenant_id())
    );
    let jwks: Value = c
        .get(oidc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();

    let tok = sign_in(&sim, &sim.admin_upn(), ADMIN_SCOPES).await;
    assert_same_keys(
        &tok,
        &load_example("token-authorization-code.response.json"),
    );
    let at = tok["access_token"].as_str().unwrap();
    let header: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(at.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kid);
    let claims_d = claims(at);
    for k in keys(&load_example("access-token-claims-delegated.example.json")) {
        assert!(
            claims_d.get(&k).is_some(),
            "delegated token lacks claim {k}"
        );
    }
    // The signature verifies with the published JWKS key.
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwks["keys"][0]["n"].as_str().unwrap(),
        "AQAB",
    )
    .unwrap();
    let mut val = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    val.set_audience(&["00000003-0000-0000-c000-000000000000"]);
    assert!(jsonwebtoken::decode::<Value>(at, &key, &val).is_ok());

    let (s, refreshed) = token_request(&sim, "organizations", &[
        ("client_id", sim.public_client_id()),
        ("grant_type", "refresh_token"),
        ("refresh_token", tok["refresh_token"].as_str().unwrap()),
        ("scope", "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Application.ReadWrite.All"),
    ]).await;
    assert_eq!(s, StatusCode::OK);
    assert_same_keys(&refreshed, &load_example("token-refresh.response.json"));
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["scp"],
        "User.Read Application.ReadWrite.All openid profile"
    );

    // No offline_access: no refresh token; no openid: no id token.
    let t2 = sign_in(
        &sim,
        &sim.admin_upn(),
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert!(t2.get("refresh_token").is_none());
    assert!(t2.get("id_token").is_none());
}

#[tokio::test]
async fn graph_examples_replay() {
    let sim = start().await;
    let at = admin_token(&sim).await;

    let (s, me) = graph_get(&sim, &at, "/v1.0/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_same_keys(&me, &load_example("get-me.response.json"));
    let (_, org) = graph_get(&sim, &at, "/v1.0/organization").await;
    assert_same_keys(
        first(&org),
        first(&load_example("get-organization.response.json")),
    );
    assert_eq!(first(&org)["id"], sim.tenant_id());
    let (_, roles) = graph_get(
        &sim,
        &at,
        "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole",
    )
    .await;
    assert_same_keys(
        first(&roles),
        first(&load_example(
            "list-me-transitivememberof-directoryroles.response.json",
        )),
    );

    // Applications.
    let req = load_example("create-application.request.json");
    let (s, app) = graph(&sim, &at, Method::POST, "/v1.0/applications", Some(req)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_same_keys(&app, &load_example("create-application.response.json"));
    let app_oid = app["id"].as_str().unwrap().to_string();
    let app_id = app["appId"].as_str().unwrap().to_string();
    assert_eq!(app["publisherDomain"], sim.tenant_domain());
    for path in [
        format!("/v1.0/applications/{app_oid}"),
        format!("/v1.0/applications(appId='{app_id}')"),
    ] {
        let (s, got) = graph_get(&sim, &at, &path).await;
        assert_eq!(s, StatusCode::OK);
        assert_same_keys(&got, &load_example("get-application.response.json"));
    }
    let (s, list) = graph_get(&sim, &at, "/v1.0/applications?$filter=displayName eq 'Contoso Mail Connector'&$select=id,appId,displayName,tags,createdDateTime").await;
    assert_eq!(s, StatusCode::OK);
    let ex = load_example("list-applications-by-displayname.response.json");
    assert_same_keys(first(&list), first(&ex));
    assert!(list["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#applications(id,appId,displayName,tags,createdDateTime)"));
    let (_, by_tag) = graph_get(
        &sim,
        &at,
        "/v1.0/applications?$filter=tags/any(t:t eq 'managed-by-tool')",
    )
    .await;
    assert_eq!(by_tag["value"].as_array().unwrap().len(), 1);
    let (s, _) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!("/v1.0/applications/{app_oid}"),
        Some(load_example("update-application.request.json")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The example's key is a placeholder; Graph checks it is a certificate, so a real one
    // (made here) takes its place. Everything else is sent as documented.
    let cert = common::certs::TestCert::valid_for("contoso-mail-connector", 365);
    let mut patch = load_example("add-key-credential-via-patch.request.json");
    let (s, refused) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!("/v1.0/applications/{app_oid}"),
        Some(patch.clone()),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "the placeholder is no certificate: {refused}"
    );
    patch["keyCredentials"][0]["key"] = json!(cert.key_b64());
    let (s, _) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!("/v1.0/applications/{app_oid}"),
        Some(patch),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, got) = graph_get(&sim, &at, &format!("/v1.0/applications/{app_oid}")).await;
    assert_eq!(got["web"]["redirectUris"].as_array().unwrap().len(), 2);
    assert_eq!(
        got["web"]["implicitGrantSettings"]["enableIdTokenIssuance"],
        false
    );
    assert_eq!(got["keyCredentials"][0]["key"], Value::Null);
    assert_eq!(
        got["keyCredentials"][0]["displayName"],
        "CN=contoso-mail-connector"
    );
    assert_eq!(
        got["keyCredentials"][0]["customKeyIdentifier"],
        cert.thumbprint()
    );

    // Secrets.
    let mut pw_req = load_example("add-password.request.json");
    pw_req["passwordCredential"]["endDateTime"] =
        json!((chrono::Utc::now() + chrono::Duration::days(180)).to_rfc3339());
    let (s, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{app_oid}/addPassword"),
        Some(pw_req),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_same_keys(&pw, &load_example("add-password.response.json"));
    let text = pw["secretText"].as_str().unwrap();
    assert!((16..=64).contains(&text.len()));
    assert_eq!(pw["hint"].as_str().unwrap(), &text[..3]);
    let (_, got) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/applications/{app_oid}?$select=passwordCredentials"),
    )
    .await;
    assert_eq!(got["passwordCredentials"][0]["secretText"], Value::Null);
    let mut rm = load_example("remove-password.request.json");
    rm["keyId"] = pw["keyId"].clone();
    let (s, _) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{app_oid}/removePassword"),
        Some(rm),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Service principals.
    let mut sp_req = load_example("create-service-principal.request.json");
    sp_req["appId"] = json!(app_id);
    let (s, sp) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(sp_req),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_documented_sp_keys(&sp, &load_example("create-service-principal.response.json"));
    let sp_id = sp["id"].as_str().unwrap().to_string();
    let (s, got) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_documented_sp_keys(
        &got,
        &load_example("get-service-principal-by-appid.response.json"),
    );
    let (s, _) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!("/v1.0/servicePrincipals/{sp_id}"),
        Some(load_example("update-service-principal.request.json")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, got) = graph_get(&sim, &at, &format!("/v1.0/servicePrincipals/{sp_id}")).await;
    assert_eq!(got["appRoleAssignmentRequired"], true);
    let (s, gsp) = graph_get(&sim, &at, "/v1.0/servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'&$select=id,appId,displayName,appRoles,oauth2PermissionScopes").await;
    assert_eq!(s, StatusCode::OK);
    let ex = load_example("get-graph-service-principal-approles.response.json");
    assert_same_keys(first(&gsp), first(&ex));
    let mrw = first(&gsp)["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Mail.ReadWrite")
        .unwrap();
    assert_same_keys(mrw, &first(&ex)["appRoles"][0]);
    assert_eq!(mrw["id"], MAIL_READWRITE);
    let graph_sp = first(&gsp)["id"].as_str().unwrap().to_string();

    // App role assignments.
    let mut g = load_example("grant-app-permission-approleassignedto.request.json");
    g["principalId"] = json!(sp_id);
    g["resourceId"] = json!(graph_sp);
    let (s, a) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{graph_sp}/appRoleAssignedTo"),
        Some(g),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_same_keys(
        &a,
        &load_example("grant-app-permission-approleassignedto.response.json"),
    );
    let (_, robin) = graph_get(&sim, &at, &format!("/v1.0/users/{}", sim.non_admin_upn())).await;
    let mut u = load_example("assign-user-default-access.request.json");
    u["principalId"] = robin["id"].clone();
    u["resourceId"] = json!(sp_id);
    let (s, a) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"),
        Some(u),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_same_keys(
        &a,
        &load_example("assign-user-default-access.response.json"),
    );
    assert_eq!(a["principalType"], "User");
    let (_, l) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo"),
    )
    .await;
    assert_same_keys(
        first(&l),
        first(&load_example("list-approleassignedto.response.json")),
    );
    let (_, l) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignments"),
    )
    .await;
    assert_same_keys(
        first(&l),
        first(&load_example("list-sp-approleassignments.response.json")),
    );
    assert_eq!(first(&l)["appRoleId"], MAIL_READWRITE);

    // Delegated grants.
    let mut gr = load_example("create-oauth2permissiongrant.request.json");
    gr["clientId"] = json!(sp_id);
    gr["resourceId"] = json!(graph_sp);
    let (s, grant) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/oauth2PermissionGrants",
        Some(gr),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_same_keys(
        &grant,
        &load_example("create-oauth2permissiongrant.response.json"),
    );
    let filter = format!("/v1.0/oauth2PermissionGrants?$filter=clientId eq '{sp_id}' and consentType eq 'AllPrincipals' and resourceId eq '{graph_sp}'");
    let (s, l) = graph_get(&sim, &at, &filter).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["value"].as_array().unwrap().len(), 1);
    assert_same_keys(
        first(&l),
        first(&load_example(
            "list-oauth2permissiongrants-filter.response.json",
        )),
    );
    let (s, _) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!(
            "/v1.0/oauth2PermissionGrants/{}",
            grant["id"].as_str().unwrap()
        ),
        Some(load_example("update-oauth2permissiongrant.request.json")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, l) = graph_get(&sim, &at, &filter).await;
    assert_eq!(
        first(&l)["scope"],
        "User.Read offline_access openid Mail.Read"
    );

    // People picker.
    let ev = [("ConsistencyLevel", "eventual")];
    let (s, users) = graph_h(&sim, &at, Method::GET, "/v1.0/users?$search=\"displayName:robin\" OR \"mail:robin\"&$select=id,displayName,userPrincipalName,mail&$count=true", None, &ev).await;
    assert_eq!(s, StatusCode::OK, "{users}");
    let ex = load_example("search-users.response.json");
    assert_same_keys(&users, &ex);
    assert_same_keys(first(&users), first(&ex));
    assert_eq!(users["@odata.count"], 2);
    let (s, groups) = graph_h(&sim, &at, Method::GET, "/v1.0/groups?$search=\"displayName:mail\"&$select=id,displayName,mail,securityEnabled,mailEnabled&$count=true", None, &ev).await;
    assert_eq!(s, StatusCode::OK);
    let ex = load_example("search-groups.response.json");
    assert_same_keys(&groups, &ex);
    assert_same_keys(first(&groups), first(&ex));
    assert_eq!(first(&groups)["displayName"], "Mail Connector Users");

    let (s, pol) = graph_get(&sim, &at, "/v1.0/policies/defaultAppManagementPolicy").await;
    assert_eq!(s, StatusCode::OK);
    assert_same_keys(
        &pol,
        &load_example("get-default-app-management-policy.response.json"),
    );

    // Exchange.
    let (s, scope) = graph(
        &sim,
        &at,
        Method::POST,
        "/beta/roleManagement/exchange/customAppScopes",
        Some(load_example("exchange-create-customappscope.request.json")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_same_keys(
        &scope,
        &load_example("exchange-create-customappscope.response.json"),
    );
    let mut ra = load_example("exchange-create-roleassignment.request.json");
    ra["principalId"] = json!(format!("/ServicePrincipals/{sp_id}"));
    ra["roleDefinitionId"] = json!("3f8e1a01-0001-4a00-9000-00000000e003");
    ra["appScopeId"] = scope["id"].clone();
    let (s, r) = graph(
        &sim,
        &at,
        Method::POST,
        "/beta/roleManagement/exchange/roleAssignments",
        Some(ra),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_same_keys(
        &r,
        &load_example("exchange-create-roleassignment.response.json"),
    );

    // DELETE → 204.
    let (s, _) = graph(
        &sim,
        &at,
        Method::DELETE,
        &format!("/v1.0/applications/{app_oid}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = graph_get(&sim, &at, &format!("/v1.0/servicePrincipals/{sp_id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "deleting the app deletes its SP");
}

#[tokio::test]
async fn batch_example_replay() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (_, app_id) = create_app(&sim, &at).await;
    let sp_id = create_sp(&sim, &at, &app_id).await;
    let text = serde_json::to_string(&load_example("batch.request.json"))
        .unwrap()
        .replace("b7c8d9e0-0002-4f1a-8b2c-3d4e5f6a7b02", &sp_id)
        .replace("d4e5f6a7-0003-4b8c-9d0e-1f2a3b4c5d03", GRAPH_SP);
    let body: Value = serde_json::from_str(&text).unwrap();
    let (s, r) = graph(&sim, &at, Method::POST, "/v1.0/$batch", Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK);
    let ex = load_example("batch.response.json");
    assert_same_keys(&r, &ex);
    let resp = r["responses"].as_array().unwrap();
    assert_eq!(resp.len(), 3);
    assert_same_keys(&resp[0], &ex["responses"][0]);
    assert_same_keys(&resp[0]["body"], &ex["responses"][0]["body"]);
    assert_eq!(
        resp.iter()
            .map(|x| x["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![201, 201, 200]
    );
    assert_eq!(resp[2]["body"]["value"].as_array().unwrap().len(), 2);

    // Same batch again: item 1 is a duplicate (400), so 2 and 3 get 424.
    let (s, r) = graph(&sim, &at, Method::POST, "/v1.0/$batch", Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK);
    let resp = r["responses"].as_array().unwrap();
    assert_eq!(resp[0]["status"], 400);
    assert_eq!(
        resp[0]["body"]["error"]["message"],
        "Permission being assigned already exists on the object."
    );
    assert_eq!(resp[1]["status"], 424);
    assert_same_keys(&resp[1]["body"], &ex["responses"][2]["body"]);

    // Per-item throttling: the 2nd item is the 2nd gated request of the batch.
    sim.update_knobs(|k| k.throttle.every_nth = Some(3));
    let items: Vec<Value> = (1..=3)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    let (s, r) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/$batch",
        Some(json!({"requests": items})),
    )
    .await;
    // The batch request itself is the 1st gated request, so item "2" is the 3rd.
    assert_eq!(s, StatusCode::OK, "{r}");
    let statuses: Vec<u64> = r["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 429, 200]);
    let throttled = r["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["status"] == 429)
        .unwrap();
    assert_eq!(throttled["headers"]["Retry-After"], "1");
    sim.update_knobs(|k| k.throttle.every_nth = None);

    // More than 20 → 400 for the whole batch; duplicate ids → 400.
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    let (s, e) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/$batch",
        Some(json!({"requests": many})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["code"], "BadRequest");
    let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}]});
    let (s, _) = graph(&sim, &at, Method::POST, "/v1.0/$batch", Some(dup)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
