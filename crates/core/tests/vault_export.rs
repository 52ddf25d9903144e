//! The connections vault and the vendor hand-off exports, checked the way a person would:
//! what is on disk, what is in the keyring, and what ends up in each exported file.

// Helpers outside #[test] functions are not covered by allow-unwrap-in-tests (rust-clippy #13981).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use appgrant_core::export::{
    AppSecrets, ExportCode, ExportFormat, Handoff, HIDDEN_SECRET, REMINDER_DAYS_BEFORE,
};
use appgrant_core::identity::{KeyringStore, MemoryStore, TokenStore};
use appgrant_core::recipe::{builtin_by_id, Recipe};
use appgrant_core::secret::Secret;
use appgrant_core::vault::{
    ConnectedApp, Connection, SecretMeta, SecretRef, Vault, VaultCode, INDEX_FILE,
};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

const TENANT: &str = "0f3c5a1e-7d2b-4c8e-9a61-2b7f4d9e1c30";
const DOMAIN: &str = "contoso.onmicrosoft.com";

// ---------------------------------------------------------------------------------------
// helpers

/// A fresh, empty folder under the system temp dir (removed when dropped).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "appgrant-vault-test-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn recipe(id: &str) -> Recipe {
    builtin_by_id(id)
        .expect("built-in recipes load")
        .expect("recipe exists")
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    at(2026, 11, 25)
}

/// A connection as apply would save it for `recipe`, one secret per app, fresh random ids.
fn connection_for(recipe: &Recipe, expires: DateTime<Utc>) -> Connection {
    let apps = recipe
        .apps
        .iter()
        .map(|spec| ConnectedApp {
            key: spec.key.clone(),
            display_name: spec.display_name.clone(),
            app_id: Connection::new_id(),
            object_id: Connection::new_id(),
            service_principal_id: Some(Connection::new_id()),
            secret: Some(SecretMeta {
                key_id: Connection::new_id(),
                description: format!("{} secret", spec.display_name),
                created_at: now(),
                expires_at: expires,
            }),
            rotation: None,
            certificate: None,
        })
        .collect();
    Connection {
        id: Connection::new_id(),
        recipe_id: recipe.id.clone(),
        vendor: recipe.vendor.clone(),
        tenant_id: TENANT.into(),
        tenant_domain: Some(DOMAIN.into()),
        practice: false,
        cloud: None,
        apps,
        inputs: BTreeMap::new(),
        created_at: now(),
        verified_at: Some(now()),
        mailbox_limits: Vec::new(),
        sign_in_limits: Vec::new(),
        last_check: None,
        ..Connection::default()
    }
}

/// A secret value shaped like Entra's, distinct per app.
fn secret_value(app_key: &str) -> String {
    format!("Zq8Q~{app_key}.SuperSecretValue_x9")
}

fn memory_vault(dir: &TempDir) -> (Vault, MemoryStore) {
    let store = MemoryStore::new();
    let vault = Vault::open(dir.path().to_path_buf(), Arc::new(store.clone())).unwrap();
    (vault, store)
}

/// Saves the connection and stores a secret for each of its apps.
fn save_with_secrets(vault: &Vault, connection: &Connection) {
    vault.save(connection).unwrap();
    for app in &connection.apps {
        let at = app.secret_ref(&connection.tenant_id).unwrap();
        vault
            .store_secret(&at, &Secret::new(secret_value(&app.key)))
            .unwrap();
    }
}

fn every_output(handoff: &Handoff) -> Vec<(ExportFormat, String)> {
    handoff
        .formats()
        .into_iter()
        .map(|f| (f, handoff.render(f, now()).unwrap()))
        .collect()
}

/// Unfolds RFC 5545 content lines.
fn unfold(ics: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------
// vault

#[test]
fn connections_round_trip_through_the_index() {
    let dir = TempDir::new();
    let (vault, _) = memory_vault(&dir);
    assert!(vault.list().unwrap().is_empty(), "a new vault is empty");

    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    let mut totalview = connection_for(&recipe("totalview"), at(2027, 11, 25));
    totalview.practice = true;
    vault.save(&tonic).unwrap();
    vault.save(&totalview).unwrap();

    // A second process (or a restart) sees the same thing.
    let reopened = Vault::open(dir.path().to_path_buf(), Arc::new(MemoryStore::new())).unwrap();
    assert_eq!(
        reopened.list().unwrap(),
        vec![tonic.clone(), totalview.clone()]
    );
    assert_eq!(reopened.get(&tonic.id).unwrap(), Some(tonic.clone()));

    // Saving again replaces by id, keeping the order.
    let mut verified = tonic.clone();
    verified.verified_at = Some(at(2027, 1, 1));
    vault.save(&verified).unwrap();
    let list = reopened.list().unwrap();
    assert_eq!(list.len(), 2, "replaced, not added");
    assert_eq!(list[0].verified_at, Some(at(2027, 1, 1)));

    let text = fs::read_to_string(dir.path().join(INDEX_FILE)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1, "the index records its format");

    let missing = vault.require("no-such-id").unwrap_err();
    assert_eq!(missing.code(), VaultCode::NotFound);
    assert_eq!(vault.get("no-such-id").unwrap(), None);
}

#[test]
fn old_index_files_load_and_unknown_fields_survive() {
    let dir = TempDir::new();
    // Written before tenant_domain, practice, inputs, verified_at and secrets existed, plus a
    // field from some future version.
    let old = r#"{
      "version": 1,
      "connections": [{
        "id": "c1", "recipe_id": "docbits", "vendor": "DocBits", "tenant_id": "t1",
        "apps": [{ "key": "main", "display_name": "DocBits", "app_id": "a1", "object_id": "o1" }],
        "created_at": "2026-01-02T03:04:05Z",
        "rotation_policy": { "auto": true }
      }]
    }"#;
    fs::write(dir.path().join(INDEX_FILE), old).unwrap();
    let (vault, _) = memory_vault(&dir);
    let c = vault.require("c1").unwrap();
    assert_eq!(c.tenant_domain, None);
    assert!(!c.practice);
    assert!(c.apps[0].secret.is_none());
    assert_eq!(c.next_expiry(), None);

    vault.save(&c).unwrap();
    let text = fs::read_to_string(dir.path().join(INDEX_FILE)).unwrap();
    assert!(
        text.contains("rotation_policy"),
        "a field this version does not know is written back, not dropped:\n{text}"
    );
}

#[test]
fn a_leftover_temp_file_from_a_killed_write_does_no_harm() {
    let dir = TempDir::new();
    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    {
        let (vault, _) = memory_vault(&dir);
        vault.save(&tonic).unwrap();
    }
    // A process killed mid-write leaves half a file next to the index.
    let fresh = dir.path().join(".connections.json.4242-1-0.tmp");
    fs::write(&fresh, br#"{"version":1,"connections":[{"id":"#).unwrap();
    let stale = dir.path().join(".connections.json.4241-1-0.tmp");
    fs::write(&stale, b"{\"vers").unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let (vault, _) = memory_vault(&dir);
    assert_eq!(
        vault.list().unwrap(),
        vec![tonic.clone()],
        "the index is intact"
    );
    assert!(
        !stale.exists(),
        "an hour-old leftover is cleaned up on open"
    );

    let other = connection_for(&recipe("docbits"), at(2027, 5, 1));
    vault.save(&other).unwrap();
    assert_eq!(vault.list().unwrap().len(), 2);
    let files = dir.files();
    assert!(
        files
            .iter()
            .filter(|f| f.ends_with(".tmp"))
            .all(|f| f == ".connections.json.4242-1-0.tmp"),
        "saving leaves no temporary file of its own: {files:?}"
    );
}

#[test]
fn a_damaged_index_is_reported_and_never_overwritten() {
    let dir = TempDir::new();
    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    let (vault, _) = memory_vault(&dir);
    vault.save(&tonic).unwrap();

    let index = dir.path().join(INDEX_FILE);
    let damaged = b"{\"version\": 1, \"connections\": [{\"id\": \"x\", \"recipe_";
    fs::write(&index, damaged).unwrap();

    let err = Vault::open(dir.path().to_path_buf(), Arc::new(MemoryStore::new())).unwrap_err();
    assert_eq!(err.code(), VaultCode::CorruptIndex);
    let message = err.to_string();
    assert!(
        message.contains(&index.display().to_string()),
        "the message names the file: {message}"
    );
    assert!(message.contains("damaged"), "{message}");
    assert!(!err.hint().is_empty());

    // The already-open vault refuses to write over it, too.
    let err = vault.save(&tonic).unwrap_err();
    assert_eq!(err.code(), VaultCode::CorruptIndex);
    assert_eq!(
        fs::read(&index).unwrap(),
        damaged,
        "the damaged file is left as it was"
    );

    // A copy is kept, once.
    let copies: Vec<String> = dir
        .files()
        .into_iter()
        .filter(|f| f.starts_with("connections.json.corrupt-"))
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "one copy however often it is read: {copies:?}"
    );
    assert_eq!(fs::read(dir.path().join(&copies[0])).unwrap(), damaged);
    assert!(
        message.contains(&copies[0]),
        "the message names the copy: {message}"
    );
}

#[test]
fn an_index_from_a_newer_appgrant_is_left_alone() {
    let dir = TempDir::new();
    let index = dir.path().join(INDEX_FILE);
    let newer = r#"{"version": 7, "connections": [], "whatever": "future"}"#;
    fs::write(&index, newer).unwrap();
    let err = Vault::open(dir.path().to_path_buf(), Arc::new(MemoryStore::new())).unwrap_err();
    assert_eq!(err.code(), VaultCode::NewerIndex);
    assert!(
        err.to_string().contains("newer version of AppGrant"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&index).unwrap(), newer);
}

#[test]
fn secrets_go_to_the_keyring_never_to_the_index() {
    let dir = TempDir::new();
    let (vault, store) = memory_vault(&dir);
    let totalview = connection_for(&recipe("totalview"), at(2027, 11, 25));
    save_with_secrets(&vault, &totalview);

    let text = fs::read_to_string(dir.path().join(INDEX_FILE)).unwrap();
    for app in &totalview.apps {
        let secret = secret_value(&app.key);
        assert!(
            !text.contains(&secret),
            "the index file must not contain a secret"
        );
        assert!(!text.contains("SuperSecretValue"));
        let at = app.secret_ref(TENANT).unwrap();
        let account = format!("secret/{TENANT}/{}/{}", app.app_id, at.key_id);
        assert!(store.contains(&account), "keyring account {account}");
        assert_eq!(vault.load_secret(&at).unwrap().unwrap().expose(), &secret);
    }
    for entry in dir.files() {
        let bytes = fs::read(dir.path().join(&entry)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("SuperSecretValue"),
            "no file in the vault folder holds a secret ({entry})"
        );
    }

    let missing = SecretRef::new(TENANT, "no-app", "no-key");
    assert!(vault.load_secret(&missing).unwrap().is_none());
    vault.delete_secret(&missing).unwrap();
}

#[test]
fn remove_deletes_metadata_and_every_keyring_entry() {
    let dir = TempDir::new();
    let (vault, store) = memory_vault(&dir);
    let totalview = connection_for(&recipe("totalview"), at(2027, 11, 25));
    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    save_with_secrets(&vault, &totalview);
    save_with_secrets(&vault, &tonic);

    let removed = vault.remove(&totalview.id).unwrap();
    assert_eq!(removed, Some(totalview.clone()));
    for at in totalview.secret_refs() {
        assert!(!store.contains(&at.account().unwrap()), "{at:?} deleted");
    }
    assert_eq!(vault.list().unwrap(), vec![tonic.clone()]);
    let tonic_secret = tonic.secret_ref("main").unwrap();
    assert!(
        vault.load_secret(&tonic_secret).unwrap().is_some(),
        "other connections keep their secrets"
    );

    assert_eq!(vault.remove(&totalview.id).unwrap(), None, "idempotent");
}

#[test]
fn an_unavailable_keyring_is_a_clear_error_and_remove_keeps_the_connection() {
    let dir = TempDir::new();
    let (vault, store) = memory_vault(&dir);
    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    save_with_secrets(&vault, &tonic);

    store.set_unavailable(true);
    let at = tonic.secret_ref("main").unwrap();
    let err = vault
        .store_secret(&at, &Secret::new("new".into()))
        .unwrap_err();
    assert_eq!(err.code(), VaultCode::KeyringUnavailable);
    assert!(
        err.to_string()
            .contains("credential store is not available"),
        "{err}"
    );
    assert!(err.hint().contains("Secret Service"), "{}", err.hint());
    assert_eq!(
        vault.load_secret(&at).unwrap_err().code(),
        VaultCode::KeyringUnavailable
    );

    let err = vault.remove(&tonic.id).unwrap_err();
    assert_eq!(err.code(), VaultCode::KeyringUnavailable);
    assert_eq!(
        vault.list().unwrap(),
        vec![tonic.clone()],
        "nothing is forgotten while its secret cannot be deleted"
    );

    store.set_unavailable(false);
    assert!(vault.remove(&tonic.id).unwrap().is_some());
    assert!(!store.contains(&at.account().unwrap()));

    let codes = serde_json::to_string(&VaultCode::KeyringUnavailable).unwrap();
    assert_eq!(codes, "\"keyring_unavailable\"");
}

#[test]
fn expiry_helpers_answer_the_dashboard_question() {
    let totalview = connection_for(&recipe("totalview"), at(2027, 11, 25));
    let mut c = totalview.clone();
    c.apps[1].secret.as_mut().unwrap().expires_at = at(2027, 6, 1);
    assert_eq!(c.next_expiry(), Some(at(2027, 6, 1)));
    assert_eq!(c.days_until_expiry(at(2027, 5, 2)), Some(30));
}

/// Uses the real OS keyring: run only inside `scripts/with-keyring.sh` (the test script
/// does), never on a person's own machine.
#[test]
#[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
fn real_keyring_store_remove_and_idempotence() {
    let dir = TempDir::new();
    let store: Arc<dyn TokenStore> = Arc::new(KeyringStore::new());
    let vault = Vault::open(dir.path().to_path_buf(), store).unwrap();
    let mut tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    tonic.tenant_id = format!("test-{}", Connection::new_id());
    save_with_secrets(&vault, &tonic);
    let at = tonic.secret_ref("main").unwrap();
    assert_eq!(
        vault.load_secret(&at).unwrap().unwrap().expose(),
        &secret_value("main")
    );
    vault.remove(&tonic.id).unwrap();
    assert!(vault.load_secret(&at).unwrap().is_none());
    vault.delete_secret(&at).unwrap();
    assert_eq!(vault.remove(&tonic.id).unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// exports

#[test]
fn tonicdm_sheet_has_the_four_values_with_tonicdms_labels() {
    let recipe = recipe("tonicdm");
    let tonic = connection_for(&recipe, at(2028, 11, 25));
    let handoff = Handoff::build(&recipe, &tonic, None).unwrap();

    let labels: Vec<&str> = handoff.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Application (client) ID",
            "Tenant ID",
            "App Secret",
            "Expiry Date"
        ]
    );
    assert_eq!(
        handoff.field("Application (client) ID").unwrap().value,
        tonic.apps[0].app_id
    );
    assert_eq!(handoff.field("Tenant ID").unwrap().value, TENANT);
    assert_eq!(handoff.field("Expiry Date").unwrap().value, "2028-11-25");
    let secret = handoff.field("App Secret").unwrap();
    assert!(secret.secret && secret.hidden);
    assert_eq!(secret.value, HIDDEN_SECRET);

    let text = handoff.to_text();
    assert!(
        text.contains(&format!(
            "Application (client) ID: {}",
            tonic.apps[0].app_id
        )),
        "{text}"
    );
    assert!(text.contains(&format!("Tenant ID: {TENANT}")), "{text}");
    assert!(text.contains("Expiry Date: 2028-11-25"), "{text}");
    assert!(
        text.contains("App Secret: <hidden: reveal in AppGrant>"),
        "{text}"
    );

    let md = handoff.to_markdown();
    assert!(md.starts_with("# TonicDM organisation-level Office 365 token"));
    assert!(
        md.contains(&format!(
            "- **Application (client) ID**: `{}`",
            tonic.apps[0].app_id
        )),
        "{md}"
    );
    assert!(md.contains("- **Expiry Date**: `2028-11-25`"), "{md}");
    assert!(md.contains("expires on 2028-11-25"), "{md}");
    for (i, step) in recipe.next_steps.iter().enumerate() {
        let first_words: String = step.split(' ').take(3).collect::<Vec<_>>().join(" ");
        assert!(
            md.contains(&format!("{}. {first_words}", i + 1)),
            "next step {} is listed:\n{md}",
            i + 1
        );
    }
    assert!(md.contains("Secrets are hidden"), "{md}");
    assert_eq!(
        handoff.file_name(ExportFormat::Markdown),
        "tonicdm-contoso.onmicrosoft.com.md"
    );
}

#[test]
fn without_secrets_no_export_contains_one() {
    let dir = TempDir::new();
    let (vault, _) = memory_vault(&dir);
    for id in ["tonicdm", "totalview", "docbits", "timetoreply"] {
        let recipe = recipe(id);
        let mut c = connection_for(&recipe, at(2028, 11, 25));
        c.inputs
            .insert("portal_url".into(), "https://ttr.contoso.com".into());
        save_with_secrets(&vault, &c);
        let handoff = Handoff::build(&recipe, &c, None).unwrap();
        assert!(!handoff.secrets_included);
        for (format, output) in every_output(&handoff) {
            assert!(
                !output.contains("SuperSecretValue"),
                "{id} {format:?} must not contain a secret"
            );
        }
        assert!(
            handoff.fields.iter().any(|f| f.hidden),
            "{id}: the secret field is marked hidden"
        );
    }
}

#[test]
fn with_secrets_the_sheet_json_and_env_contain_them_but_the_reminder_does_not() {
    let dir = TempDir::new();
    let (vault, _) = memory_vault(&dir);
    let recipe = recipe("tonicdm");
    let tonic = connection_for(&recipe, at(2028, 11, 25));
    save_with_secrets(&vault, &tonic);

    let secrets = AppSecrets::from_vault(&vault, &tonic).unwrap();
    let handoff = Handoff::build(&recipe, &tonic, Some(&secrets)).unwrap();
    let secret = secret_value("main");
    let field = handoff.field("App Secret").unwrap();
    assert_eq!(field.value, secret);
    assert!(field.secret && !field.hidden);
    assert!(handoff.to_markdown().contains(&secret));
    assert!(handoff.to_text().contains(&secret));
    assert!(handoff.to_json().unwrap().contains(&secret));
    assert!(handoff
        .to_markdown()
        .contains("This file contains a client secret"));
    assert!(!handoff.to_ics(now()).contains("SuperSecretValue"));
    assert!(
        !format!("{handoff:?}").contains("SuperSecretValue"),
        "Debug output (logs) never shows a secret"
    );

    // Secrets asked for, but the keyring has none for this app.
    let other = connection_for(&recipe, at(2028, 11, 25));
    let none = AppSecrets::from_vault(&vault, &other).unwrap();
    let err = Handoff::build(&recipe, &other, Some(&none)).unwrap_err();
    assert_eq!(err.code(), ExportCode::SecretNotAvailable);
    assert!(
        err.to_string().contains("TonicDM Office 365 Token"),
        "{err}"
    );
    assert!(err.hint().contains("rotate"), "{}", err.hint());
}

#[test]
fn reading_secrets_from_an_unavailable_keyring_says_so() {
    let dir = TempDir::new();
    let (vault, store) = memory_vault(&dir);
    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    save_with_secrets(&vault, &tonic);
    store.set_unavailable(true);
    let err = AppSecrets::from_vault(&vault, &tonic).unwrap_err();
    assert_eq!(err.code(), ExportCode::KeyringUnavailable);
}

fn env_lines(env: &str) -> BTreeMap<String, String> {
    env.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn timetoreply_env_has_the_seven_ms_graph_variables() {
    let recipe = recipe("timetoreply");
    let inputs = recipe
        .check_inputs(&BTreeMap::from([(
            "portal_url".to_string(),
            "https://ttr.contoso.com/".to_string(),
        )]))
        .unwrap();
    let mut c = connection_for(&recipe, at(2027, 11, 25));
    c.inputs.insert(
        "portal_url".into(),
        inputs.get("portal_url").unwrap().into(),
    );
    let mut secrets = AppSecrets::new();
    secrets.insert("main", Secret::new(secret_value("main")));
    let handoff = Handoff::build(&recipe, &c, Some(&secrets)).unwrap();
    assert_eq!(
        handoff.formats()[0],
        ExportFormat::Env,
        "timetoreply takes .env first"
    );

    let env = handoff.to_env().unwrap();
    assert!(!env.contains('\r'));
    let vars = env_lines(&env);
    let base = "https://ttr.contoso.com";
    let expected = BTreeMap::from([
        ("MS_GRAPH_CLIENT_ID".to_string(), c.apps[0].app_id.clone()),
        (
            "MS_GRAPH_CLIENT_SECRET".to_string(),
            format!("'{}'", secret_value("main")),
        ),
        (
            "MS_GRAPH_REDIRECT".to_string(),
            format!("{base}/account/microsoft/auth"),
        ),
        (
            "MS_GRAPH_REDIRECT_FOR_INVITE".to_string(),
            format!("{base}/msgraph-auth"),
        ),
        (
            "MS_GRAPH_REDIRECT_FOR_REAUTH".to_string(),
            format!("{base}/msgraph-re-auth"),
        ),
        (
            "MS_GRAPH_REDIRECT_FOR_BULK".to_string(),
            format!("{base}/tools/agents/msgraph-store-bulk"),
        ),
        (
            "MS_GRAPH_REDIRECT_FOR_ADMIN".to_string(),
            format!("{base}/msgraph-grant-admin-permission"),
        ),
    ]);
    assert_eq!(vars, expected, "\n{env}");
    assert!(env.contains("expires on 2027-11-25"), "{env}");

    // The redirect values match the redirect URIs registered on the app.
    let registered = recipe.apps[0].resolve_redirect_uris(&inputs).unwrap().web;
    for name in [
        "MS_GRAPH_REDIRECT",
        "MS_GRAPH_REDIRECT_FOR_INVITE",
        "MS_GRAPH_REDIRECT_FOR_REAUTH",
        "MS_GRAPH_REDIRECT_FOR_BULK",
        "MS_GRAPH_REDIRECT_FOR_ADMIN",
    ] {
        assert!(registered.contains(&vars[name]), "{name} is registered");
    }

    // Without secrets the secret variable is left unset, with a note, not set to a placeholder.
    let hidden = Handoff::build(&recipe, &c, None).unwrap().to_env().unwrap();
    let vars = env_lines(&hidden);
    assert_eq!(vars.len(), 6);
    assert!(!vars.contains_key("MS_GRAPH_CLIENT_SECRET"));
    assert!(hidden.contains("# MS_GRAPH_CLIENT_SECRET is not included"));

    // A sheet vendor has no .env.
    let tonic = recipe_handoff("tonicdm");
    let err = tonic.to_env().unwrap_err();
    assert_eq!(err.code(), ExportCode::FormatNotOffered);
    assert!(!tonic.formats().contains(&ExportFormat::Env));
}

fn recipe_handoff(id: &str) -> Handoff {
    let recipe = recipe(id);
    Handoff::build(&recipe, &connection_for(&recipe, at(2028, 11, 25)), None).unwrap()
}

#[test]
fn a_missing_input_is_named() {
    let ttr = recipe("timetoreply");
    let c = connection_for(&ttr, at(2027, 11, 25)); // no portal_url
    let err = Handoff::build(&ttr, &c, None).unwrap_err();
    assert_eq!(err.code(), ExportCode::MissingValue);
    assert!(err.to_string().contains("{inputs.portal_url}"), "{err}");

    let tonic = connection_for(&recipe("tonicdm"), at(2028, 11, 25));
    let err = Handoff::build(&ttr, &tonic, None).unwrap_err();
    assert_eq!(err.code(), ExportCode::WrongRecipe);
}

#[test]
fn totalview_exports_cover_both_apps() {
    let recipe = recipe("totalview");
    let mut c = connection_for(&recipe, at(2027, 11, 25));
    c.apps[1].secret.as_mut().unwrap().expires_at = at(2027, 12, 24);
    let mut secrets = AppSecrets::new();
    secrets.insert("calendar", Secret::new(secret_value("calendar")));
    secrets.insert("mail", Secret::new(secret_value("mail")));
    let handoff = Handoff::build(&recipe, &c, Some(&secrets)).unwrap();

    assert_eq!(
        handoff
            .field("Calendar: Application (client) ID")
            .unwrap()
            .value,
        c.apps[0].app_id
    );
    assert_eq!(
        handoff
            .field("E-Mail: Application (client) ID")
            .unwrap()
            .value,
        c.apps[1].app_id
    );
    assert_eq!(
        handoff
            .field("Calendar: Client secret value")
            .unwrap()
            .value,
        secret_value("calendar")
    );
    assert_eq!(
        handoff.field("E-Mail: Client secret value").unwrap().value,
        secret_value("mail")
    );
    assert_eq!(handoff.secrets.len(), 2);

    let md = handoff.to_markdown();
    for app in &c.apps {
        assert!(md.contains(&app.app_id), "{md}");
        assert!(md.contains(&app.display_name), "{md}");
    }
    assert!(
        md.contains("Totalview Calendar Synchronization: the client secret expires on 2027-11-25")
    );
    assert!(md.contains("Totalview E-Mail Sending: the client secret expires on 2027-12-24"));

    let ics = unfold(&handoff.to_ics(now()));
    let summaries: Vec<&String> = ics.iter().filter(|l| l.starts_with("SUMMARY:")).collect();
    assert_eq!(
        summaries,
        [
            "SUMMARY:Rotate the Totalview Calendar Synchronization secret (expires 2027-11-25)",
            "SUMMARY:Rotate the Totalview E-Mail Sending secret (expires 2027-12-24)",
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&handoff.to_json().unwrap()).unwrap();
    assert_eq!(json["secrets"].as_array().unwrap().len(), 2);
}

#[test]
fn the_reminder_is_a_well_formed_calendar_30_days_before_expiry() {
    let recipe = recipe("tonicdm");
    let tonic = connection_for(&recipe, at(2028, 11, 25));
    let handoff = Handoff::build(&recipe, &tonic, None).unwrap();
    let ics = handoff.to_ics(now());

    assert!(ics.ends_with("\r\n"));
    assert!(
        !ics.replace("\r\n", "").contains('\n') && !ics.replace("\r\n", "").contains('\r'),
        "every line ends with CRLF"
    );
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }

    let lines = unfold(&ics);
    let mut stack = Vec::new();
    for line in &lines {
        if let Some(kind) = line.strip_prefix("BEGIN:") {
            stack.push(kind.to_string());
        } else if let Some(kind) = line.strip_prefix("END:") {
            assert_eq!(
                stack.pop().as_deref(),
                Some(kind),
                "END:{kind} closes its BEGIN"
            );
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(lines.first().unwrap(), "BEGIN:VCALENDAR");
    for required in ["VERSION:2.0", "PRODID:"] {
        assert!(lines.iter().any(|l| l.starts_with(required)), "{required}");
    }
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("BEGIN:VEVENT"), 1);
    assert_eq!(count("BEGIN:VALARM"), 1);
    assert_eq!(count("UID:"), 1);
    assert_eq!(count("DTSTAMP:20261125T100000Z"), 1);

    let expiry = NaiveDate::from_ymd_opt(2028, 11, 25).unwrap();
    let reminder = expiry - Days::new(REMINDER_DAYS_BEFORE);
    assert_eq!(reminder, NaiveDate::from_ymd_opt(2028, 10, 26).unwrap());
    assert!(
        lines.contains(&format!("DTSTART;VALUE=DATE:{}", reminder.format("%Y%m%d"))),
        "{lines:#?}"
    );
    assert!(lines.contains(&"SUMMARY:Rotate the TonicDM secret (expires 2028-11-25)".to_string()));
    let description = lines
        .iter()
        .find(|l| l.starts_with("DESCRIPTION:The client secret"))
        .unwrap();
    assert!(description.contains("rotate"), "{description}");
    assert!(description.contains(DOMAIN), "{description}");
    assert!(description.contains("\\n"), "line breaks are escaped");
    assert!(lines.iter().any(|l| l.starts_with("TRIGGER:")));
    assert_eq!(
        handoff.file_name(ExportFormat::Ics),
        "tonicdm-contoso.onmicrosoft.com-secret-reminder.ics"
    );
}

#[test]
fn json_round_trips_and_has_the_documented_shape() {
    let recipe = recipe("timetoreply");
    let mut c = connection_for(&recipe, at(2027, 11, 25));
    c.inputs
        .insert("portal_url".into(), "https://ttr.contoso.com".into());
    let handoff = Handoff::build(&recipe, &c, None).unwrap();
    let text = handoff.to_json().unwrap();
    let back: Handoff = serde_json::from_str(&text).unwrap();
    assert_eq!(back, handoff);

    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format"], 1);
    assert_eq!(json["style"], "env");
    assert_eq!(json["vendor"], "timetoreply");
    assert_eq!(json["tenant_id"], TENANT);
    assert_eq!(json["secrets_included"], false);
    assert_eq!(json["fields"][1]["label"], "MS_GRAPH_CLIENT_SECRET");
    assert_eq!(json["fields"][1]["hidden"], true);
    assert_eq!(json["fields"][1]["value"], HIDDEN_SECRET);
    assert_eq!(json["secrets"][0]["expires_on"], "2027-11-25");
}

/// A connection whose apps use certificates: the hand-off shows the thumbprint where the
/// secret was (not a secret, never hidden), says what to send, and every format renders.
#[test]
fn certificate_connections_hand_off_thumbprints_not_secrets() {
    use appgrant_core::certificate::{CertificateMeta, CertificateOrigin};
    for (origin, says) in [
        (CertificateOrigin::Vendor, "nothing secret to hand off"),
        (
            CertificateOrigin::Generated,
            "export the certificate as a PFX",
        ),
    ] {
        let recipe = recipe("tonicdm");
        let mut connection = connection_for(&recipe, at(2027, 6, 1));
        for app in &mut connection.apps {
            app.secret = None;
            app.certificate = Some(CertificateMeta {
                key_id: "key-1".into(),
                thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
                thumbprint_sha256: "AA".into(),
                subject: "CN=TonicDM".into(),
                not_before: now(),
                not_after: at(2027, 6, 1),
                origin,
                certificate_base64: String::new(),
            });
        }
        let handoff = Handoff::build(&recipe, &connection, None).expect("builds without secrets");
        let with_thumbprint: Vec<_> = handoff
            .fields
            .iter()
            .filter(|f| f.value.contains("0123456789ABCDEF0123456789ABCDEF01234567"))
            .collect();
        assert!(
            !with_thumbprint.is_empty(),
            "{origin:?}: {:#?}",
            handoff.fields
        );
        assert!(with_thumbprint.iter().all(|f| !f.secret && !f.hidden));
        assert!(
            handoff.next_steps[0].contains(says),
            "{:?}",
            handoff.next_steps
        );
        assert_eq!(connection.next_expiry(), Some(at(2027, 6, 1)));
        for (format, text) in every_output(&handoff) {
            assert!(!text.is_empty(), "{format:?}");
        }
    }
}
