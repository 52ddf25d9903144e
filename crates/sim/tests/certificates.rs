//! Certificate credentials against the practice tenant, as a client nobody here wrote would
//! use them: upload the public certificate with PATCH (`keyCredentials`), get an app-only
//! token with a signed client assertion, roll keys with `addKey` / `removeKey` and a proof of
//! possession, and get Microsoft's errors (AADSTS700027, 700024, 700023, ...) for the
//! mistakes clients make. Keys are generated here, in the test; the tenant only ever sees
//! public certificates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use appgrant_sim::{Sim, SimConfig};
use base64::Engine;
use chrono::{Duration, Utc};
use common::certs::{assertion_claims, TestCert, Thumb};
use common::*;
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MAIL_READWRITE_NAME: &str = "Mail.ReadWrite";

/// An app registration with its enterprise app and Mail.ReadWrite granted.
struct App {
    oid: String,
    app_id: String,
}

async fn app_with_role(sim: &Sim, at: &str) -> App {
    let (oid, app_id) = create_app(sim, at).await;
    let sp = create_sp(sim, at, &app_id).await;
    let (s, a) = graph(
        sim,
        at,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
        Some(json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": MAIL_READWRITE})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    App { oid, app_id }
}

async fn patch_keys(sim: &Sim, at: &str, oid: &str, keys: Value) -> (StatusCode, Value) {
    graph(
        sim,
        at,
        Method::PATCH,
        &format!("/v1.0/applications/{oid}"),
        Some(json!({ "keyCredentials": keys })),
    )
    .await
}

fn token_endpoint(sim: &Sim) -> String {
    format!("{}/{}/oauth2/v2.0/token", sim.login_base(), sim.tenant_id())
}

/// `client_credentials` with a client assertion; (status, body).
async fn assertion_token(sim: &Sim, client_id: &str, assertion: &str) -> (StatusCode, Value) {
    token_request(
        sim,
        &sim.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", "https://graph.microsoft.com/.default"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ],
    )
    .await
}

/// Asserts an identity-platform error: HTTP status, `error`, AADSTS code, and a phrase of
/// the description.
fn assert_aadsts(
    got: (StatusCode, Value),
    status: StatusCode,
    error: &str,
    code: u64,
    phrase: &str,
) {
    let (s, v) = got;
    assert_eq!(s, status, "{v:#}");
    assert_eq!(v["error"], error, "{v:#}");
    assert_eq!(v["error_codes"][0], code, "{v:#}");
    let d = v["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert!(d.contains(phrase), "'{phrase}' not in: {d}");
}

fn assert_graph_error(got: (StatusCode, Value), status: StatusCode, code: &str, phrase: &str) {
    let (s, v) = got;
    assert_eq!(s, status, "{v:#}");
    assert_eq!(v["error"]["code"], code, "{v:#}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains(phrase), "'{phrase}' not in: {m}");
}

fn roles(token: &str) -> Vec<String> {
    claims(token)["roles"]
        .as_array()
        .map(|r| r.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_uploaded_certificate_signs_in_with_the_apps_roles_and_graph_describes_it() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let cert = TestCert::valid_for("Contoso Mail Connector", 365);

    // The first certificate goes up with PATCH, as documented.
    let (s, v) = patch_keys(&sim, &at, &app.oid, json!([cert.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Graph fills in what the client left out, from the certificate.
    let (_, got) = graph_get(&sim, &at, &format!("/v1.0/applications/{}", app.oid)).await;
    let k = &got["keyCredentials"][0];
    assert_eq!(k["customKeyIdentifier"], cert.thumbprint(), "{k}");
    assert_eq!(k["displayName"], "CN=Contoso Mail Connector");
    assert_eq!(k["type"], "AsymmetricX509Cert");
    assert_eq!(k["usage"], "Verify");
    assert_eq!(
        k["key"],
        Value::Null,
        "the key is only returned for $select"
    );
    uuid::Uuid::parse_str(k["keyId"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(k["endDateTime"].as_str().unwrap()).unwrap();
    assert!(
        (end.with_timezone(&Utc) - (Utc::now() + Duration::days(365)))
            .num_seconds()
            .abs()
            < 120
    );
    // ... and returns the key for $select=keyCredentials on the one app.
    let (_, sel) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/applications/{}?$select=keyCredentials", app.oid),
    )
    .await;
    assert_eq!(sel["keyCredentials"][0]["key"], cert.key_b64());
    let (_, list) = graph_get(&sim, &at, "/v1.0/applications?$select=id,keyCredentials").await;
    let listed = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == app.oid.as_str())
        .unwrap();
    assert_eq!(
        listed["keyCredentials"][0]["key"],
        Value::Null,
        "lists never carry keys"
    );

    // A signed assertion (PS256 + x5t#S256, the current documentation) gets a token with the
    // app's roles, marked as certificate-authenticated (appidacr 2).
    let (s, tok) = assertion_token(
        &sim,
        &app.app_id,
        &cert.assertion(&app.app_id, &token_endpoint(&sim)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok:#}");
    let at_app = tok["access_token"].as_str().unwrap();
    assert_eq!(roles(at_app), vec![MAIL_READWRITE_NAME.to_string()]);
    assert_eq!(claims(at_app)["appid"], app.app_id);
    assert_eq!(claims(at_app)["appidacr"], "2");

    // The older form (RS256 + x5t, what MSAL libraries send) and the tenant's domain in `aud`.
    let now = Utc::now().timestamp();
    let aud = format!(
        "{}/{}/oauth2/v2.0/token",
        sim.login_base(),
        sim.tenant_domain()
    );
    let legacy = cert.sign(
        Algorithm::RS256,
        Thumb::Sha1,
        &assertion_claims(&app.app_id, &aud, now, now + 300),
    );
    let (s, tok) = assertion_token(&sim, &app.app_id, &legacy).await;
    assert_eq!(s, StatusCode::OK, "{tok:#}");

    // The token works on Graph like any other app-only token.
    let (s, msgs) = graph_get(
        &sim,
        tok["access_token"].as_str().unwrap(),
        &format!("/v1.0/users/{}/messages", sim.non_admin_upn()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{msgs}");

    // The practice controls list it with its thumbprints.
    let listed = sim.app_certificates(&app.app_id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["thumbprint"], cert.thumbprint());
    assert_eq!(listed[0]["hasKey"], true);
}

#[tokio::test]
async fn wrong_key_wrong_claims_and_stale_assertions_get_microsofts_errors() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let cert = TestCert::valid_for("Uploaded", 365);
    let other = TestCert::valid_for("Never uploaded", 365);
    let (s, _) = patch_keys(&sim, &at, &app.oid, json!([cert.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let aud = token_endpoint(&sim);
    let now = Utc::now().timestamp();
    let id = app.app_id.as_str();
    let bad = StatusCode::UNAUTHORIZED;

    // A certificate the app does not have.
    assert_aadsts(
        assertion_token(&sim, id, &other.assertion(id, &aud)).await,
        bad,
        "invalid_client",
        700027,
        "The key was not found.",
    );
    // Names the uploaded certificate, signed with another key.
    let forged = {
        let good = cert.assertion(id, &aud);
        let wrong = other.assertion(id, &aud);
        let (head, rest) = good.split_once('.').unwrap();
        let sig = wrong.rsplit('.').next().unwrap();
        let claims = rest.rsplit_once('.').unwrap().0;
        format!("{head}.{claims}.{sig}")
    };
    assert_aadsts(
        assertion_token(&sim, id, &forged).await,
        bad,
        "invalid_client",
        700027,
        "did not match the expected signature value",
    );
    // Expired ten minutes ago.
    let stale = cert.sign(
        Algorithm::PS256,
        Thumb::Sha256,
        &assertion_claims(id, &aud, now - 1200, now - 600),
    );
    assert_aadsts(
        assertion_token(&sim, id, &stale).await,
        bad,
        "invalid_client",
        700024,
        "not within its valid time range",
    );
    // Not valid before an hour from now.
    let early = cert.sign(
        Algorithm::PS256,
        Thumb::Sha256,
        &assertion_claims(id, &aud, now + 3600, now + 4200),
    );
    assert_aadsts(
        assertion_token(&sim, id, &early).await,
        bad,
        "invalid_client",
        700024,
        "not within its valid time range",
    );
    // Audience: Graph, or another tenant's endpoint.
    for wrong_aud in [
        "https://graph.microsoft.com".to_string(),
        format!("{}/common/oauth2/v2.0/token", sim.login_base()),
    ] {
        assert_aadsts(
            assertion_token(&sim, id, &cert.assertion(id, &wrong_aud)).await,
            bad,
            "invalid_client",
            700023,
            "audience claim does not match",
        );
    }
    // iss/sub naming another client, or disagreeing with each other.
    let mut c = assertion_claims(id, &aud, now, now + 300);
    c["iss"] = json!(uuid::Uuid::new_v4().to_string());
    c["sub"] = c["iss"].clone();
    assert_aadsts(
        assertion_token(&sim, id, &cert.sign(Algorithm::PS256, Thumb::Sha256, &c)).await,
        bad,
        "invalid_client",
        700021,
        "doesn't match 'client_id'",
    );
    let mut c = assertion_claims(id, &aud, now, now + 300);
    c["sub"] = json!("someone-else");
    assert_aadsts(
        assertion_token(&sim, id, &cert.sign(Algorithm::PS256, Thumb::Sha256, &c)).await,
        bad,
        "invalid_client",
        50048,
        "Subject must match the issuer",
    );
    // No thumbprint in the header; no jti.
    assert_aadsts(
        assertion_token(
            &sim,
            id,
            &cert.sign(
                Algorithm::RS256,
                Thumb::None,
                &assertion_claims(id, &aud, now, now + 300),
            ),
        )
        .await,
        bad,
        "invalid_client",
        50027,
        "No certificate thumbprint",
    );
    let mut c = assertion_claims(id, &aud, now, now + 300);
    c.as_object_mut().unwrap().remove("jti");
    assert_aadsts(
        assertion_token(&sim, id, &cert.sign(Algorithm::PS256, Thumb::Sha256, &c)).await,
        bad,
        "invalid_client",
        50027,
        "jti",
    );
    assert_aadsts(
        assertion_token(&sim, id, "not-a-jwt").await,
        bad,
        "invalid_client",
        50027,
        "Invalid JWT token",
    );
    // The assertion without its type.
    let r = token_request(
        &sim,
        &sim.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_assertion", &cert.assertion(id, &aud)),
        ],
    )
    .await;
    assert_aadsts(
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        "client_assertion_type",
    );
}

#[tokio::test]
async fn an_expired_certificate_no_longer_signs_in_or_proves_possession() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let cert = TestCert::valid_for("Soon expired", 365);
    let (s, _) = patch_keys(&sim, &at, &app.oid, json!([cert.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let key_id = sim.app_certificates(&app.app_id).unwrap()[0]["keyId"]
        .as_str()
        .unwrap()
        .to_string();
    // Behind the client's back the credential expires (practice control).
    let r = http()
        .post(format!(
            "{}/_sim/apps/{}/certificates/{key_id}/expire",
            sim.base_url(),
            app.app_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_aadsts(
        assertion_token(
            &sim,
            &app.app_id,
            &cert.assertion(&app.app_id, &token_endpoint(&sim)),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        700027,
        "The key used is expired.",
    );
    // And it cannot prove possession for addKey any more: only PATCH can add a certificate.
    let next = TestCert::valid_for("Next", 365);
    assert_graph_error(
        graph(
            &sim,
            &at,
            Method::POST,
            &format!("/v1.0/applications/{}/addKey", app.oid),
            Some(json!({"keyCredential": next.key_credential(), "passwordCredential": null, "proof": cert.proof(&app.oid)})),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "Authentication_MissingOrMalformed",
        "no valid certificate",
    );
}

#[tokio::test]
async fn key_credentials_are_checked_like_graph_checks_them() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let (oid, _) = create_app(&sim, &at).await;
    let cert = TestCert::valid_for("Checked", 90);
    let patch = |k: Value| patch_keys(&sim, &at, &oid, json!([k]));
    let with = |f: &dyn Fn(&mut Value)| {
        let mut k = cert.key_credential();
        f(&mut k);
        k
    };
    let bad = StatusCode::BAD_REQUEST;
    assert_graph_error(
        patch(with(&|k| k["type"] = json!("X509"))).await,
        bad,
        "Request_BadRequest",
        "'type'",
    );
    assert_graph_error(
        patch(with(&|k| k["usage"] = json!("Sign"))).await,
        bad,
        "Request_BadRequest",
        "'usage'",
    );
    assert_graph_error(
        patch(with(&|k| k["key"] = json!("bm90IGEgY2VydGlmaWNhdGU="))).await,
        bad,
        "Request_BadRequest",
        "'key'",
    );
    assert_graph_error(
        patch(with(&|k| k["key"] = Value::Null)).await,
        bad,
        "Request_BadRequest",
        "'key'",
    );
    // A PEM file with the private key in it never reaches the tenant.
    let leaky = base64::engine::general_purpose::STANDARD.encode(&cert.pem_with_private_key);
    assert_graph_error(
        patch(with(&|k| k["key"] = json!(leaky))).await,
        bad,
        "Request_BadRequest",
        "never send a private key",
    );
    assert_graph_error(
        patch(with(&|k| {
            k["endDateTime"] = json!((Utc::now() + Duration::days(400)).to_rfc3339())
        }))
        .await,
        bad,
        "KeyCredentialsInvalidEndDate",
        "certificate's expiry",
    );
    // Nothing was stored by the refused requests.
    let (_, got) = graph_get(&sim, &at, &format!("/v1.0/applications/{oid}")).await;
    assert_eq!(got["keyCredentials"], json!([]));

    // The tenant's app management policy caps certificate lifetimes, and says so.
    sim.update_knobs(|k| k.cert_max_lifetime_days = Some(30));
    let (_, policy) = graph_get(&sim, &at, "/v1.0/policies/defaultAppManagementPolicy").await;
    let r = &policy["applicationRestrictions"]["keyCredentials"][0];
    assert_eq!(r["restrictionType"], "asymmetricKeyLifetime", "{policy}");
    assert_eq!(r["maxLifetime"], "P30D");
    assert_graph_error(
        patch(cert.key_credential()).await,
        bad,
        "CredentialInvalidLifetimeAsPerAppPolicy",
        "policy",
    );
    // Within the policy: a shorter credential window inside the certificate's validity.
    let (s, v) = patch(with(&|k| {
        k["endDateTime"] = json!((Utc::now() + Duration::days(20)).to_rfc3339())
    }))
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    sim.update_knobs(|k| k.cert_max_lifetime_days = None);

    // PATCH replaces the whole collection; POST /applications takes keyCredentials too.
    let second = TestCert::valid_for("Second", 90);
    let (s, _) = patch_keys(
        &sim,
        &at,
        &oid,
        json!([cert.key_credential(), second.key_credential()]),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = patch_keys(&sim, &at, &oid, json!([second.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, got) = graph_get(&sim, &at, &format!("/v1.0/applications/{oid}")).await;
    assert_eq!(got["keyCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(got["keyCredentials"][0]["displayName"], "CN=Second");
    let (s, created) = graph(
        &sim,
        &at,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "Born with a certificate", "keyCredentials": [cert.key_credential()]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["keyCredentials"][0]["customKeyIdentifier"],
        cert.thumbprint()
    );
    assert_eq!(created["keyCredentials"][0]["key"], Value::Null);
}

#[tokio::test]
async fn add_key_with_a_proof_rolls_to_a_second_certificate_and_remove_key_retires_the_first() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let first = TestCert::valid_for("First", 365);
    let second = TestCert::valid_for("Second", 365);
    let stranger = TestCert::valid_for("Stranger", 365);
    let (s, _) = patch_keys(&sim, &at, &app.oid, json!([first.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let add_path = format!("/v1.0/applications/{}/addKey", app.oid);
    let add_key = |body: Value| graph(&sim, &at, Method::POST, &add_path, Some(body));
    let body = |proof: String| json!({"keyCredential": second.key_credential(), "passwordCredential": null, "proof": proof});
    let denied = StatusCode::UNAUTHORIZED;
    let malformed = "Authentication_MissingOrMalformed";

    // Without a proof, or with proofs that do not hold.
    assert_graph_error(
        add_key(json!({"keyCredential": second.key_credential(), "passwordCredential": null}))
            .await,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
        "'proof'",
    );
    assert_graph_error(
        add_key(body(stranger.proof(&app.oid))).await,
        denied,
        malformed,
        "not signed with",
    );
    assert_graph_error(
        add_key(body(first.proof(&app.app_id))).await,
        denied,
        malformed,
        "object id",
    );
    let now = Utc::now().timestamp();
    let long = first.sign(
        Algorithm::RS256,
        Thumb::Sha1,
        &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": app.oid, "nbf": now, "exp": now + 3600}),
    );
    assert_graph_error(add_key(body(long)).await, denied, malformed, "10 minutes");
    let graph_aud = first.sign(
        Algorithm::RS256,
        Thumb::Sha1,
        &json!({"aud": "00000003-0000-0000-c000-000000000000", "iss": app.oid, "nbf": now, "exp": now + 600}),
    );
    assert_graph_error(add_key(body(graph_aud)).await, denied, malformed, "aud");
    assert_eq!(
        sim.app_certificates(&app.app_id).unwrap().len(),
        1,
        "nothing added"
    );

    // A proof signed with the app's current certificate adds the next one.
    let (s, added) = add_key(body(first.proof(&app.oid))).await;
    assert_eq!(s, StatusCode::OK, "{added}");
    assert_same_keys(&added, &load_example("add-key.response.json"));
    assert_eq!(added["customKeyIdentifier"], second.thumbprint());
    assert_eq!(added["key"], Value::Null);
    assert_eq!(added["displayName"], "CN=Second");
    let certs = sim.app_certificates(&app.app_id).unwrap();
    assert_eq!(certs.len(), 2);
    // Both sign in during the overlap.
    for c in [&first, &second] {
        let (s, tok) = assertion_token(
            &sim,
            &app.app_id,
            &c.assertion(&app.app_id, &token_endpoint(&sim)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{tok}");
    }

    // removeKey retires the first (proved with the second); it no longer signs in.
    let first_id = certs
        .iter()
        .find(|c| c["thumbprint"] == first.thumbprint())
        .unwrap()["keyId"]
        .clone();
    let remove_path = format!("/v1.0/applications/{}/removeKey", app.oid);
    let remove = |key_id: Value, proof: String| {
        graph(
            &sim,
            &at,
            Method::POST,
            &remove_path,
            Some(json!({"keyId": key_id, "proof": proof})),
        )
    };
    assert_graph_error(
        remove(first_id.clone(), stranger.proof(&app.oid)).await,
        denied,
        malformed,
        "not signed with",
    );
    let (s, v) = remove(first_id.clone(), second.proof(&app.oid)).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_graph_error(
        remove(first_id, second.proof(&app.oid)).await,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
        "No key credential found",
    );
    assert_aadsts(
        assertion_token(
            &sim,
            &app.app_id,
            &first.assertion(&app.app_id, &token_endpoint(&sim)),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        700027,
        "The key was not found.",
    );
    let left = sim.app_certificates(&app.app_id).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["thumbprint"], second.thumbprint());
}

#[tokio::test]
async fn add_key_is_refused_for_an_app_without_a_certificate_and_open_to_the_app_itself() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let first = TestCert::valid_for("First", 365);
    let second = TestCert::valid_for("Second", 365);
    let add = |token: String, body: Value| {
        let path = format!("/v1.0/applications/{}/addKey", app.oid);
        let sim = &sim;
        async move { graph(sim, &token, Method::POST, &path, Some(body)).await }
    };
    // No certificate yet: the first one must go through PATCH.
    assert_graph_error(
        add(at.clone(), json!({"keyCredential": first.key_credential(), "passwordCredential": null, "proof": first.proof(&app.oid)})).await,
        StatusCode::UNAUTHORIZED,
        "Authentication_MissingOrMalformed",
        "PATCH",
    );
    let (s, _) = patch_keys(&sim, &at, &app.oid, json!([first.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The app rolls its own key with its own app-only token (it holds only Mail.ReadWrite:
    // Microsoft needs no permission for an app to roll its own keys).
    let (s, tok) = assertion_token(
        &sim,
        &app.app_id,
        &first.assertion(&app.app_id, &token_endpoint(&sim)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let app_token = tok["access_token"].as_str().unwrap().to_string();
    let (s, v) = add(
        app_token,
        json!({"keyCredential": second.key_credential(), "passwordCredential": null, "proof": first.proof(&app.oid)}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(sim.app_certificates(&app.app_id).unwrap().len(), 2);
}

#[tokio::test]
async fn uploaded_certificates_survive_a_restart_of_the_practice_tenant() {
    let dir = std::env::temp_dir().join(format!("appgrant-sim-certs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenant.json");
    let config = || SimConfig {
        state_file: Some(path.clone()),
        ..SimConfig::default()
    };
    let sim = Sim::start(config()).await.unwrap();
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let cert = TestCert::valid_for("Kept", 365);
    let (s, _) = patch_keys(&sim, &at, &app.oid, json!([cert.key_credential()])).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    sim.shutdown().await;
    // The file holds the public certificate (public data), as Graph keeps it.
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains(&cert.key_b64()));

    let sim = Sim::start(config()).await.unwrap();
    let (s, tok) = assertion_token(
        &sim,
        &app.app_id,
        &cert.assertion(&app.app_id, &token_endpoint(&sim)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert_eq!(
        roles(tok["access_token"].as_str().unwrap()),
        vec![MAIL_READWRITE_NAME.to_string()]
    );
    sim.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_orphaned_certificate_is_dropped_by_patching_back_the_others_read_with_select() {
    let sim = start().await;
    let at = admin_token(&sim).await;
    let app = app_with_role(&sim, &at).await;
    let kept = TestCert::valid_for("Kept", 365);
    let orphan = TestCert::valid_for("Orphan, private key lost", 365);
    let (s, _) = patch_keys(
        &sim,
        &at,
        &app.oid,
        json!([kept.key_credential(), orphan.key_credential()]),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Read the collection with its keys, drop the orphan, send the rest back unchanged.
    let (_, sel) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/applications/{}?$select=keyCredentials", app.oid),
    )
    .await;
    let before = sel["keyCredentials"].as_array().unwrap().clone();
    let rest: Vec<Value> = before
        .iter()
        .filter(|k| k["customKeyIdentifier"] != orphan.thumbprint())
        .cloned()
        .collect();
    assert_eq!(rest.len(), 1);
    let (s, v) = patch_keys(&sim, &at, &app.oid, json!(rest)).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (_, after) = graph_get(
        &sim,
        &at,
        &format!("/v1.0/applications/{}?$select=keyCredentials", app.oid),
    )
    .await;
    assert_eq!(
        after["keyCredentials"],
        json!(rest),
        "the kept one is unchanged"
    );
    let (s, tok) = assertion_token(
        &sim,
        &app.app_id,
        &kept.assertion(&app.app_id, &token_endpoint(&sim)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert_aadsts(
        assertion_token(
            &sim,
            &app.app_id,
            &orphan.assertion(&app.app_id, &token_endpoint(&sim)),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        700027,
        "The key was not found.",
    );
}
