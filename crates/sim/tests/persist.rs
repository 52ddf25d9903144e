//! Persisted state (`SimConfig::state_file`): what an admin created survives a restart of the
//! practice tenant (client secrets only as a hash and hint, as Entra keeps them); a damaged
//! file is refused with a clear error instead of being overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use appgrant_sim::{Sim, SimConfig, SimError};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::{Path, PathBuf};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("appgrant-sim-state-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_with(path: &Path) -> Sim {
    Sim::start(SimConfig {
        state_file: Some(path.to_path_buf()),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_app_with_its_secret_and_grants_survives_a_restart() {
    let dir = temp_dir();
    let path = dir.join("tenant.json");
    let sim = start_with(&path).await;
    assert_eq!(sim.state_file(), Some(path.as_path()));
    let at = admin_token(&sim).await;
    let (oid, app_id) = create_app(&sim, &at).await;
    let sp = create_sp(&sim, &at, &app_id).await;
    let (s, _) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/servicePrincipals/{GRAPH_SP}/appRoleAssignedTo"),
        Some(json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": MAIL_SEND})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, pw) = graph(
        &sim,
        &at,
        Method::POST,
        &format!("/v1.0/applications/{oid}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "kept"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let secret = pw["secretText"].as_str().unwrap().to_string();
    sim.shutdown().await;
    // Like Entra, the tenant keeps a hash and the hint, never the value.
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(!saved.contains(&secret), "the state file holds the secret");
    assert!(saved.contains(&secret[..3]), "the hint is kept");

    let sim = start_with(&path).await;
    let at = admin_token(&sim).await; // sessions are not kept: sign in again
    let (s, app) = graph_get(&sim, &at, &format!("/v1.0/applications/{oid}")).await;
    assert_eq!(s, StatusCode::OK, "{app}");
    assert_eq!(app["appId"], app_id);
    assert_eq!(app["passwordCredentials"][0]["displayName"], "kept");
    // The secret still works, and the token carries the granted role.
    let (s, tok) = token_request(
        &sim,
        &sim.tenant_id(),
        &[
            ("client_id", app_id.as_str()),
            ("client_secret", secret.as_str()),
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let roles = claims(tok["access_token"].as_str().unwrap())["roles"].clone();
    assert_eq!(roles, json!(["Mail.Send"]));

    // Deleting is kept too.
    let (s, _) = graph(
        &sim,
        &at,
        Method::DELETE,
        &format!("/v1.0/applications/{oid}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    sim.shutdown().await;
    let sim = start_with(&path).await;
    let at = admin_token(&sim).await;
    let (s, _) = graph_get(&sim, &at, &format!("/v1.0/applications/{oid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Only the state file is left behind (no temp files).
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["tenant.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_damaged_state_file_is_refused_and_left_alone() {
    let dir = temp_dir();
    let path = dir.join("tenant.json");
    std::fs::write(&path, "{ not json").unwrap();
    let err = Sim::start(SimConfig {
        state_file: Some(path.clone()),
        ..SimConfig::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, SimError::State(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("tenant.json") && msg.contains("move it aside"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    // A missing file is simply a fresh tenant.
    let fresh = dir.join("new.json");
    let sim = start_with(&fresh).await;
    assert!(!fresh.exists());
    let at = admin_token(&sim).await;
    create_app(&sim, &at).await;
    assert!(fresh.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
