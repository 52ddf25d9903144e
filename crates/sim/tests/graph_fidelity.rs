//! Microsoft Graph as clients nobody here wrote use it: the `/myorganization` prefix,
//! case-insensitive segments and properties, `/$count`, `$orderby` (or a clear 400),
//! `$search` on applications and service principals, `eq null` / `ne null`, `any()` lambdas
//! over values and objects, the documented servicePrincipal properties, and a 501
//! `NotImplemented` for documented paths the practice tenant does not model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use appgrant_sim::Sim;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const EVENTUAL: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

async fn get(sim: &Sim, at: &str, path: &str) -> (StatusCode, Value) {
    graph(sim, at, Method::GET, path, None).await
}

async fn get_eventual(sim: &Sim, at: &str, path: &str) -> (StatusCode, Value) {
    graph_h(sim, at, Method::GET, path, None, EVENTUAL).await
}

fn ids(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value: {v}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["displayName"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_error(got: (StatusCode, Value), status: StatusCode, code: &str, mentions: &str) {
    let (s, v) = got;
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(mentions),
        "message {msg:?} should mention {mentions:?}"
    );
}

/// Creates an application named `name` with `extra` properties; returns (object id, appId).
async fn app_named(sim: &Sim, at: &str, name: &str, extra: Value) -> (String, String) {
    let mut body = json!({"displayName": name});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, app) = graph(sim, at, Method::POST, "/v1.0/applications", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    (
        app["id"].as_str().unwrap().into(),
        app["appId"].as_str().unwrap().into(),
    )
}

async fn count(sim: &Sim, at: &str, path: &str) -> (StatusCode, String, String) {
    let r = client_for(sim)
        .get(format!("{}{path}", sim.graph_base()))
        .bearer_auth(at)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    let s = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn myorganization_prefix_and_case_insensitive_paths_and_properties() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (_, plain) = get(&sim, &at, "/v1.0/servicePrincipals?$top=999").await;
    for path in [
        "/v1.0/myorganization/servicePrincipals?$top=999",
        "/v1.0/serviceprincipals?$top=999",
        "/v1.0/MyOrganization/SERVICEPRINCIPALS?$top=999",
        "/beta/myorganization/servicePrincipals?$top=999",
    ] {
        let (s, v) = get(&sim, &at, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        assert_eq!(ids(&v), ids(&plain), "{path}");
    }
    let (s, me) = get(&sim, &at, "/v1.0/myorganization/me").await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["userPrincipalName"], sim.admin_upn());

    // Key segments and property names in queries are case-insensitive too.
    let (s, sp) = get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals(AppId='{GRAPH_APP_ID}')?$select=AppId,DisplayName"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{sp}");
    assert_eq!(sp["appId"], GRAPH_APP_ID);
    assert_eq!(sp["displayName"], "Microsoft Graph");
    let (s, v) = get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals?$filter=AppId eq '{GRAPH_APP_ID}'"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["appId"], GRAPH_APP_ID);
}

#[tokio::test]
async fn count_segment_is_text_and_needs_eventual_consistency() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    app_named(&sim, &at, "Counted One", json!({})).await;
    app_named(&sim, &at, "Counted Two", json!({})).await;
    for (collection, list) in [
        ("/v1.0/applications", "/v1.0/applications?$top=999"),
        (
            "/v1.0/servicePrincipals",
            "/v1.0/servicePrincipals?$top=999",
        ),
        ("/v1.0/groups", "/v1.0/groups?$top=999"),
        ("/v1.0/myorganization/users", "/v1.0/users?$top=999"),
    ] {
        let (_, all) = get(&sim, &at, list).await;
        let want = all["value"].as_array().unwrap().len();
        let (s, ct, body) = count(&sim, &at, &format!("{collection}/$count")).await;
        assert_eq!(s, StatusCode::OK, "{collection}: {body}");
        assert!(ct.starts_with("text/plain"), "{collection}: {ct}");
        assert_eq!(body, want.to_string(), "{collection}");
    }
    // $count honours $filter, as Graph does.
    let (_, _, body) = count(
        &sim,
        &at,
        "/v1.0/applications/$count?$filter=startswith(displayName,'Counted')",
    )
    .await;
    assert_eq!(body, "2");
    // Without ConsistencyLevel: eventual, Microsoft's documented 400.
    assert_error(
        get(&sim, &at, "/v1.0/applications/$count").await,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
        "$count is not currently supported",
    );
    // Not a collection the tenant counts: said so, not a wrong number.
    assert_error(
        get_eventual(&sim, &at, "/v1.0/organization/$count").await,
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "/organization/$count",
    );
}

#[tokio::test]
async fn orderby_sorts_what_graph_sorts_and_refuses_the_rest_clearly() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    for n in ["Zulu Order", "alpha Order", "Mike Order"] {
        app_named(&sim, &at, n, json!({})).await;
    }
    // users: displayName sorts by default (no advanced query needed).
    let (s, v) = get(&sim, &at, "/v1.0/users?$orderby=displayName&$top=999").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let got = names(&v);
    let mut want = got.clone();
    want.sort_by_key(|n| n.to_lowercase());
    assert_eq!(got, want);
    let (_, v) = get(&sim, &at, "/v1.0/users?$orderby=displayName desc&$top=3").await;
    let mut desc = want.clone();
    desc.reverse();
    assert_eq!(names(&v), desc[..3].to_vec());

    // applications: displayName is an advanced query (ConsistencyLevel + $count=true).
    assert_error(
        get(&sim, &at, "/v1.0/applications?$orderby=displayName").await,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "Sorting not supported for current query",
    );
    let (s, v) = get_eventual(
        &sim,
        &at,
        "/v1.0/applications?$orderby=displayName&$count=true&$filter=endswith(displayName,'Order')",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(names(&v), ["alpha Order", "Mike Order", "Zulu Order"]);
    assert_eq!(v["@odata.count"], 3);

    // Properties Graph does not sort by: a 400 naming the property, never unsorted data.
    assert_error(
        get_eventual(&sim, &at, "/v1.0/applications?$orderby=appId&$count=true").await,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "'appId' is not supported by the practice tenant",
    );
    assert_error(
        get(&sim, &at, "/v1.0/oauth2PermissionGrants?$orderby=scope").await,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "not supported by the practice tenant",
    );
}

#[tokio::test]
async fn search_on_applications_and_service_principals() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (alpha, alpha_app) = app_named(&sim, &at, "Fidelity Alpha Connector", json!({})).await;
    app_named(&sim, &at, "Other Thing", json!({})).await;
    let (s, v) = get_eventual(
        &sim,
        &at,
        "/v1.0/applications?$search=\"displayName:fidel\"",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), std::slice::from_ref(&alpha));
    let (_, v) = get_eventual(
        &sim,
        &at,
        "/v1.0/applications?$search=\"displayName:connector\" AND \"displayName:alpha\"",
    )
    .await;
    assert_eq!(ids(&v), [alpha]);
    assert_error(
        get(
            &sim,
            &at,
            "/v1.0/applications?$search=\"displayName:fidel\"",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "ConsistencyLevel: eventual",
    );
    let sp = create_sp(&sim, &at, &alpha_app).await;
    let (s, v) = get_eventual(
        &sim,
        &at,
        "/v1.0/servicePrincipals?$search=\"displayName:fidelity\"",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), [sp]);
    // Not searchable in Graph: refused, not ignored.
    assert_error(
        get_eventual(
            &sim,
            &at,
            "/v1.0/oauth2PermissionGrants?$search=\"scope:x\"",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "$search",
    );
}

#[tokio::test]
async fn null_comparisons_and_lambdas_over_values_and_objects() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (described, described_app) = app_named(
        &sim,
        &at,
        "Described",
        json!({"description": "has one", "tags": ["fidelity-tag"]}),
    )
    .await;
    let (bare, _) = app_named(&sim, &at, "Bare", json!({})).await;
    let (s, v) = get(&sim, &at, "/v1.0/applications?$filter=description eq null").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(ids(&v).contains(&bare) && !ids(&v).contains(&described));
    let (s, v) = get(&sim, &at, "/v1.0/applications?$filter=description ne null").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), std::slice::from_ref(&described));

    // Lambdas over strings.
    let (s, v) = get(
        &sim,
        &at,
        "/v1.0/applications?$filter=tags/any(t: t eq 'fidelity-tag')",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), std::slice::from_ref(&described));
    let uri = format!("api://{described_app}");
    let (s, _) = graph(
        &sim,
        &at,
        Method::PATCH,
        &format!("/v1.0/applications/{described}"),
        Some(json!({"identifierUris": [uri]})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = get(
        &sim,
        &at,
        &format!("/v1.0/applications?$filter=identifierUris/any(x:x eq '{uri}')"),
    )
    .await;
    assert_eq!(ids(&v), std::slice::from_ref(&described));
    let sp = create_sp(&sim, &at, &described_app).await;
    let (_, v) = get(
        &sim,
        &at,
        &format!(
            "/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(n:n eq '{described_app}')"
        ),
    )
    .await;
    assert_eq!(ids(&v), [sp]);

    // Lambdas over objects: the app holding a given secret.
    let (s, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{described}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "x"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{pw}");
    let key = pw["keyId"].as_str().unwrap();
    let (s, v) = get(
        &sim,
        &at,
        &format!("/v1.0/applications?$filter=passwordCredentials/any(c: c/keyId eq {key})"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v), std::slice::from_ref(&described));
    let (_, v) = get(
        &sim,
        &at,
        &format!("/v1.0/applications?$filter=requiredResourceAccess/any(r: r/resourceAppId eq '{GRAPH_APP_ID}')"),
    )
    .await;
    assert!(!ids(&v).contains(&described), "described requests nothing");
}

#[tokio::test]
async fn service_principals_carry_the_documented_properties() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (_, app_id) = app_named(
        &sim,
        &at,
        "Documented",
        json!({"signInAudience": "AzureADMyOrg"}),
    )
    .await;
    create_sp(&sim, &at, &app_id).await;
    let (s, sp) = get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{sp}");
    assert_eq!(sp["publisherName"], "Contoso Practice");
    assert_eq!(sp["appOwnerOrganizationId"], sim.tenant_id());
    assert_eq!(sp["servicePrincipalType"], "Application");
    assert_eq!(sp["signInAudience"], "AzureADMyOrg");
    assert!(sp["verifiedPublisher"].is_object());
    assert!(sp["createdDateTime"].is_string());
    let (_, graph_sp) = get(
        &sim,
        &at,
        &format!("/v1.0/servicePrincipals(appId='{GRAPH_APP_ID}')"),
    )
    .await;
    assert_eq!(graph_sp["publisherName"], "Microsoft Services");
    let (s, v) = get(
        &sim,
        &at,
        "/v1.0/servicePrincipals?$filter=publisherName eq 'Contoso Practice'",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["appId"], app_id);
}

#[tokio::test]
async fn documented_graph_paths_the_tenant_lacks_are_501_not_400_or_404() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (oid, _) = app_named(&sim, &at, "Owned", json!({})).await;
    let me = get(&sim, &at, "/v1.0/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (method, path, names) in [
        (Method::GET, "/v1.0/devices".to_string(), "/devices"),
        (
            Method::GET,
            format!("/v1.0/applications/{oid}/extensionProperties"),
            "/applications/{id}/extensionProperties",
        ),
        (
            Method::POST,
            format!("/v1.0/servicePrincipals/{oid}/addKey"),
            "/servicePrincipals/{id}/addKey",
        ),
        (
            Method::GET,
            "/v1.0/me/ownedObjects".into(),
            "/me/ownedObjects",
        ),
        (Method::PATCH, format!("/v1.0/users/{me}"), "PATCH /users/"),
        (
            Method::GET,
            "/v1.0/applications?$expand=owners".into(),
            "$expand",
        ),
    ] {
        let body = (method != Method::GET).then(|| json!({}));
        assert_error(
            graph(&sim, &at, method, &path, body).await,
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            names,
        );
    }
    // A segment Graph itself does not have keeps Graph's own answer.
    assert_error(
        get(&sim, &at, "/v1.0/nonsense").await,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "Resource not found for the segment 'nonsense'",
    );
}
