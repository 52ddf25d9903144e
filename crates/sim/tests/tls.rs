//! TLS mode: the practice tenant over https with a certificate it generates at start, and
//! every link it hands out built from the scheme + host the client used. Clients here trust
//! the generated CA and nothing else, like an MSAL client pointed at `--cert-out`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use appgrant_sim::{Sim, SimConfig};
use common::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::io::BufRead;

async fn start_tls() -> Sim {
    Sim::start(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// A client that trusts only the simulator's CA and resolves `localhost` to its address.
fn trusting(sim: &Sim) -> Client {
    let ca = reqwest::Certificate::from_pem(sim.ca_pem().unwrap().as_bytes()).unwrap();
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .resolve("localhost", sim.addr())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get_json(c: &Client, url: &str) -> Value {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn discovery_over_https_advertises_https_on_the_host_the_client_used() {
    let sim = start_tls().await;
    let port = sim.addr().port();
    assert_eq!(sim.login_base(), format!("https://127.0.0.1:{port}"));
    assert_eq!(sim.graph_base(), format!("https://127.0.0.1:{port}"));
    let c = trusting(&sim);
    for host in ["127.0.0.1", "localhost"] {
        let base = format!("https://{host}:{port}");
        let doc = get_json(
            &c,
            &format!(
                "{base}/{}/v2.0/.well-known/openid-configuration",
                sim.tenant_id()
            ),
        )
        .await;
        for key in [
            "authorization_endpoint",
            "token_endpoint",
            "device_authorization_endpoint",
            "jwks_uri",
            "end_session_endpoint",
            "issuer",
        ] {
            let url = doc[key].as_str().unwrap();
            assert!(url.starts_with(&format!("{base}/")), "{key} = {url}");
        }
        assert_eq!(doc["msgraph_host"], format!("{host}:{port}"));
        // The advertised endpoints answer over the same connection settings.
        let keys = get_json(&c, doc["jwks_uri"].as_str().unwrap()).await;
        assert!(keys["keys"][0]["n"].is_string());
    }
}

#[tokio::test]
async fn device_code_verification_uri_is_https_on_the_host_used() {
    let sim = start_tls().await;
    let port = sim.addr().port();
    let c = trusting(&sim);
    for host in ["127.0.0.1", "localhost"] {
        let r = c
            .post(format!(
                "https://{host}:{port}/organizations/oauth2/v2.0/devicecode"
            ))
            .form(&[
                ("client_id", sim.public_client_id()),
                ("scope", "User.Read"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v["verification_uri"],
            format!("https://{host}:{port}/devicelogin")
        );
        // The page it names is served.
        let page = c
            .get(v["verification_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn graph_links_next_link_context_and_location_are_https_on_the_host_used() {
    let sim = start_tls().await;
    let port = sim.addr().port();
    let token = admin_token(&sim).await; // the whole sign-in over https
    let c = trusting(&sim);
    for host in ["127.0.0.1", "localhost"] {
        let base = format!("https://{host}:{port}");
        let r = c
            .get(format!("{base}/v1.0/users?$top=2"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page: Value = r.json().await.unwrap();
        let next = page["@odata.nextLink"].as_str().unwrap();
        assert!(next.starts_with(&format!("{base}/v1.0/users?")), "{next}");
        assert!(page["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/v1.0/$metadata#")));
        // Following the link works as is.
        let r = c.get(next).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        let r = c
            .post(format!("{base}/v1.0/applications"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"displayName": format!("TLS {host}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with(&format!("{base}/v1.0/applications/")),
            "{location}"
        );
    }
    // The common helpers (which trust the CA through `client_for`) see the same.
    let (s, me) = graph(&sim, &token, Method::GET, "/v1.0/me", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["userPrincipalName"], sim.admin_upn());
}

#[tokio::test]
async fn plain_http_and_untrusting_clients_get_nothing_from_the_tls_port() {
    let sim = start_tls().await;
    let port = sim.addr().port();
    let plain = Client::new();
    let r = plain
        .get(format!(
            "http://127.0.0.1:{port}/{}/v2.0/.well-known/openid-configuration",
            sim.tenant_id()
        ))
        .send()
        .await;
    assert!(r.is_err(), "plain http got an answer: {r:?}");
    // A client with only the public roots refuses the generated certificate.
    let r = Client::new()
        .get(format!("https://127.0.0.1:{port}/_sim/info"))
        .send()
        .await;
    assert!(r.is_err(), "an untrusting client connected: {r:?}");
    // And the server is still fine afterwards.
    let info = get_json(&trusting(&sim), &format!("{}/_sim/info", sim.base_url())).await;
    assert!(info.is_object());
}

#[tokio::test]
async fn ca_file_holds_the_ca_and_plain_http_stays_the_default() {
    let dir = std::env::temp_dir().join(format!("appgrant-sim-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    let sim = Sim::start(SimConfig {
        tls: true,
        cert_out: Some(path.clone()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(sim.cert_path(), Some(path.as_path()));
    let pem = std::fs::read_to_string(&path).unwrap();
    assert_eq!(pem, sim.ca_pem().unwrap());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    // A client built from the file alone connects.
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    let c = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = c
        .get(format!("{}/_sim/info", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    std::fs::remove_dir_all(&dir).unwrap();

    let plain = start().await;
    assert!(plain.base_url().starts_with("http://127.0.0.1:"));
    assert!(plain.ca_pem().is_none() && plain.cert_path().is_none());
}

#[test]
fn binary_prints_https_urls_and_the_ca_file() {
    let dir = std::env::temp_dir().join(format!("appgrant-sim-bin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_appgrant-sim"))
        .args(["--tls", "--port", "0", "--cert-out"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Press Ctrl-C");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains("  login base URL : https://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  ca-file        : {}", path.display())),
        "{text}"
    );
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    std::fs::remove_dir_all(&dir).unwrap();
}
