#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The built `appgrant-cli` binary, run as a script would run it: each test gets its own data
//! folder (`APPGRANT_DATA_DIR`). Tests that save secrets use `APPGRANT_SECRET_STORE=memory`
//! (secrets vanish when each command exits), except the one marked `#[ignore]`, which needs
//! a real keyring: `dbus-run-session -- scripts/with-keyring.sh cargo test -p appgrant-cli -- --ignored`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{json_out, run, stderr, stdout, TempDir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_appgrant-cli");
const HIDDEN: &str = "<hidden: reveal in AppGrant>";

/// Held by each test that uses the real keyring: `forget --all` empties all of it, so those
/// tests must not run at the same time.
fn real_keyring() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// With `--json`, a failure is one JSON object on the last line of stderr.
fn json_err(o: &Output) -> Value {
    let err = stderr(o);
    let last = err.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{err}"))
}

fn connect_practice(data: &Path, keyring: bool, recipe: &str) -> Value {
    let o = run(
        data,
        keyring,
        &[
            "connect",
            recipe,
            "--practice",
            "--device-code",
            "--yes",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("PRACTICE"), "{}", stderr(&o));
    json_out(&o)
}

#[test]
fn recipes_json_lists_the_four_vendors_with_abilities_and_risk() {
    let data = TempDir::new();
    let o = run(&data.0, false, &["recipes", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = json_out(&o);
    let vendors: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["vendor"].as_str().unwrap())
        .collect();
    for vendor in ["TonicDM", "Totalview", "DocBits", "timetoreply"] {
        assert!(
            vendors.contains(&vendor),
            "{vendor} missing from {vendors:?}"
        );
    }
    let totalview = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "totalview")
        .unwrap();
    assert_eq!(totalview["risk"], "send");
    assert_eq!(totalview["apps"].as_array().unwrap().len(), 2);
    assert!(totalview["abilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a.as_str().unwrap().contains("Send e-mail")));

    let text = run(&data.0, false, &["recipes"]);
    assert!(text.status.success());
    assert!(stdout(&text).contains("the vendor will be able to:"));
}

#[test]
fn recipe_check_passes_a_good_file_and_names_line_and_fix_for_a_bad_one() {
    let data = TempDir::new();
    let good_text = appgrant_recipe("totalview");
    let good = data.0.join("totalview.toml");
    std::fs::write(&good, &good_text).unwrap();
    let o = run(&data.0, false, &["recipe", "check", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("OK"));

    let bad = data.0.join("bad.toml");
    let bad_text = good_text.replacen(
        "application = [\"Mail.Send\"]",
        "application = [\"Email.Send\"]",
        1,
    );
    assert_ne!(bad_text, good_text, "the fixture changed");
    let line = bad_text
        .lines()
        .position(|l| l.trim_start().starts_with("application = [\"Email.Send\"]"))
        .unwrap()
        + 1;
    std::fs::write(&bad, &bad_text).unwrap();

    let o = run(&data.0, false, &["recipe", "check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("bad.toml, line {line}: Email.Send")),
        "{err}"
    );
    assert!(err.contains("did you mean Mail.Send?"), "{err}");
    assert!(err.contains("hint: "), "{err}");

    let o = run(
        &data.0,
        false,
        &["recipe", "check", bad.to_str().unwrap(), "--json"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "errors go to stderr");
    let e = json_err(&o);
    assert_eq!(e["code"], "invalid_recipe");
    assert!(e["hint"].is_string());
    let first = &e["errors"][0];
    assert_eq!(first["line"], line);
    assert_eq!(first["fix"], "did you mean Mail.Send?");
    assert!(first["recipe"].as_str().unwrap().ends_with("bad.toml"));
}

fn appgrant_recipe(id: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../recipes")
        .join(format!("{id}.toml"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn practice_connect_is_listed_exported_without_secret_and_removed() {
    let data = TempDir::new();
    let result = connect_practice(&data.0, false, "tonicdm");
    assert_eq!(result["practice"], true);
    assert_eq!(result["verified"], true);
    let id = result["connection"]["id"].as_str().unwrap().to_string();
    let secret_field = result["handoff"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["secret"] == true)
        .unwrap();
    assert_eq!(secret_field["hidden"], true);
    assert_eq!(secret_field["value"], HIDDEN);
    assert_eq!(result["handoff"]["secrets_included"], false);

    // connections --json lists it, with an expiry and days left.
    let o = run(&data.0, false, &["connections", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = json_out(&o);
    let c = &list.as_array().unwrap()[0];
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["vendor"], "TonicDM");
    assert_eq!(c["practice"], true);
    assert!(c["days_left"].as_i64().unwrap() > 600);
    assert_eq!(c["expiring_soon"], false);
    let text = run(&data.0, false, &["connections"]);
    assert!(stdout(&text).contains(&id) && stdout(&text).contains("[PRACTICE]"));

    // TonicDM takes a sheet, not an .env file: a clear refusal naming the formats it takes.
    let o = run(
        &data.0,
        false,
        &["export", &id, "--format", "env", "--json"],
    );
    assert_eq!(o.status.code(), Some(9), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let e = json_err(&o);
    assert_eq!(e["code"], "export");
    assert_eq!(e["detail"], "format_not_offered");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("TonicDM does not take its values as an environment (.env) file"));
    assert!(e["hint"].as_str().unwrap().contains("md"), "{e}");

    // Markdown works and hides the secret.
    let o = run(&data.0, false, &["export", &id, "--format", "md"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains("# TonicDM"), "{md}");
    assert!(md.contains(HIDDEN), "{md}");
    assert!(md.contains(result["connection"]["apps"][0]["app_id"].as_str().unwrap()));

    // -o writes a file.
    let file = data.0.join("handoff.json");
    let o = run(
        &data.0,
        false,
        &[
            "export",
            &id,
            "--format",
            "json",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["connection_id"], id.as_str());
    assert_eq!(written["secrets_included"], false);

    // A calendar reminder never carries a secret, so asking for one is refused.
    let o = run(
        &data.0,
        false,
        &["export", &id, "--format", "ics", "--include-secret"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());

    // Remove asks first; without a terminal that means --yes.
    let o = run(&data.0, false, &["remove", &id, "--json"]);
    assert_eq!(o.status.code(), Some(10), "{}", stderr(&o));
    assert_eq!(json_err(&o)["code"], "cancelled");
    assert!(
        stderr(&o).contains("TonicDM Office 365 Token"),
        "shows the summary"
    );
    assert_eq!(
        json_out(&run(&data.0, false, &["connections", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let o = run(&data.0, false, &["remove", &id, "--yes", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json_out(&o)["removed"], id.as_str());
    assert!(json_out(&run(&data.0, false, &["connections", "--json"]))
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn timetoreply_needs_its_input_and_exports_env() {
    let data = TempDir::new();
    // Missing input: exit 2 naming the input.
    let o = run(
        &data.0,
        false,
        &["connect", "timetoreply", "--practice", "--yes", "--json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = json_err(&o);
    assert_eq!(e["code"], "invalid_input");
    assert!(e["message"].as_str().unwrap().contains("portal_url"), "{e}");

    let o = run(
        &data.0,
        false,
        &[
            "connect",
            "timetoreply",
            "--practice",
            "--input",
            "portal_url=https://portal.example.com/",
            "--yes",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let id = json_out(&o)["connection"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = run(&data.0, false, &["export", &id, "--format", "env"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let env = stdout(&o);
    assert!(env.contains('='), "{env}");
    assert!(env.contains("https://portal.example.com"), "{env}");
}

#[test]
fn errors_have_codes_and_exit_statuses() {
    let data = TempDir::new();
    let o = run(
        &data.0,
        false,
        &["export", "no-such-id", "--format", "md", "--json"],
    );
    assert_eq!(o.status.code(), Some(4));
    let e = json_err(&o);
    assert_eq!(e["code"], "not_found");
    assert!(e["hint"].as_str().unwrap().contains("connections"));

    let o = run(&data.0, false, &["export", "no-such-id", "--format", "md"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("error: There is no saved connection with id no-such-id."));
    assert!(stderr(&o).contains("hint: "));

    let o = run(
        &data.0,
        false,
        &["connect", "nope", "--practice", "--yes", "--json"],
    );
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(json_err(&o)["code"], "not_found");

    // No tenant: a usage error from the argument parser.
    let o = run(&data.0, false, &["connect", "tonicdm", "--yes"]);
    assert_eq!(o.status.code(), Some(2));

    let mut cmd = Command::new(BIN);
    let o = cmd
        .args(["connections", "--json"])
        .env("APPGRANT_DATA_DIR", &data.0)
        .env("APPGRANT_SECRET_STORE", "sticky-note")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json_err(&o)["code"], "invalid_input");
}

/// Without `APPGRANT_DATA_DIR` the CLI uses the desktop app's folder (Tauri's
/// `app_data_dir()` for `app.appgrant.desktop`), so both see the same connections.
#[cfg(target_os = "linux")]
#[test]
fn default_data_folder_is_the_desktop_apps() {
    let home = TempDir::new();
    let o = Command::new(BIN)
        .args(["connect", "docbits", "--practice", "--yes", "--json"])
        .env_remove("APPGRANT_DATA_DIR")
        .env("XDG_DATA_HOME", &home.0)
        .env("APPGRANT_SECRET_STORE", "memory")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let index = home.0.join("app.appgrant.desktop").join("connections.json");
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains("\"docbits\""), "{text}");
}

/// The whole secret path through the real keyring: the secret reaches the vendor only via
/// `export --include-secret`, never in `connect` output or a plain export, and `remove`
/// deletes it.
#[test]
#[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
fn secrets_leave_the_keyring_only_through_include_secret() {
    let _keyring = real_keyring();
    let data = TempDir::new();
    let o = run(
        &data.0,
        true,
        &["connect", "tonicdm", "--practice", "--yes"],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let connect_output = format!("{}{}", stdout(&o), stderr(&o));
    let list = json_out(&run(&data.0, true, &["connections", "--json"]));
    let id = list[0]["id"].as_str().unwrap().to_string();

    let file = data.0.join("with-secret.json");
    let o = run(
        &data.0,
        true,
        &[
            "export",
            &id,
            "--format",
            "json",
            "--include-secret",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning:"), "warns about the secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "only the owner may read a file with secrets"
        );
    }
    let handoff: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(handoff["secrets_included"], true);
    let secret = handoff["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["secret"] == true)
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(secret.len() >= 16 && secret != HIDDEN, "{secret}");
    assert!(
        !connect_output.contains(&secret),
        "connect printed the secret"
    );

    let o = run(&data.0, true, &["export", &id, "--format", "md"]);
    assert!(o.status.success());
    assert!(!stdout(&o).contains(&secret) && !stderr(&o).contains(&secret));

    let o = run(
        &data.0,
        true,
        &["export", &id, "--format", "txt", "--include-secret"],
    );
    assert!(o.status.success());
    assert!(stdout(&o).contains(&secret));
    assert!(stderr(&o).contains("warning: the client secret is shown"));

    let o = run(&data.0, true, &["remove", &id, "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        &data.0,
        true,
        &["export", &id, "--format", "txt", "--include-secret"],
    );
    assert_eq!(o.status.code(), Some(4));
}

/// `forget --all --data-folder` leaves nothing behind: the sign-in and client secrets are gone
/// from the real keyring (a second run finds none) and so is the data folder. Without `--yes`
/// and without a terminal it changes nothing.
#[test]
#[ignore = "touches the real OS keyring; run inside scripts/with-keyring.sh"]
fn forget_all_removes_every_secret_and_the_data_folder() {
    let _keyring = real_keyring();
    let data = TempDir::new();
    connect_practice(&data.0, true, "tonicdm");

    let o = run(&data.0, true, &["forget", "--all", "--data-folder"]);
    assert_eq!(o.status.code(), Some(10), "{}", stderr(&o));
    assert!(data.0.join("connections.json").exists(), "nothing removed");

    let o = run(
        &data.0,
        true,
        &["forget", "--all", "--data-folder", "--yes", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json_out(&o);
    // The practice sign-in's refresh token and the tonicdm client secret, at least.
    assert!(
        report["credential_store_entries_removed"].as_u64().unwrap() >= 2,
        "{report}"
    );
    assert!(!data.0.exists(), "data folder deleted");
    assert_eq!(report["folders_removed"][0], data.0.display().to_string());

    let o = run(&data.0, true, &["forget", "--all", "--yes", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json_out(&o)["credential_store_entries_removed"], 0);
}

/// Sets the expiry of every secret of connection `id` in the saved index (as if it had been
/// made long ago).
fn set_expiry(data: &Path, id: &str, expires: chrono::DateTime<chrono::Utc>) {
    let path = data.join("connections.json");
    let mut index: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for c in index["connections"].as_array_mut().unwrap() {
        if c["id"] == id {
            for app in c["apps"].as_array_mut().unwrap() {
                app["secret"]["expires_at"] = Value::String(expires.to_rfc3339());
            }
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&index).unwrap()).unwrap();
}

#[test]
fn connections_expiring_within_lists_what_is_due_and_exits_12() {
    let data = TempDir::new();
    let made = connect_practice(&data.0, false, "tonicdm");
    let id = made["connection"]["id"].as_str().unwrap().to_string();

    let o = run(
        &data.0,
        false,
        &["connections", "--expiring-within", "30d", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "nothing due: {}", stderr(&o));
    assert_eq!(json_out(&o), serde_json::json!([]));

    set_expiry(
        &data.0,
        &id,
        chrono::Utc::now() + chrono::TimeDelta::days(10),
    );
    let o = run(
        &data.0,
        false,
        &["connections", "--expiring-within", "30d", "--json"],
    );
    assert_eq!(o.status.code(), Some(12), "due: a scheduled task can alert");
    let rows = json_out(&o);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["expiring_soon"], true);
    assert_eq!(rows[0]["severity"], "warning");
    assert_eq!(rows[0]["states"][0]["kind"], "expiring_soon");

    let text = run(&data.0, false, &["connections", "--expiring-within", "4w"]);
    assert_eq!(text.status.code(), Some(12));
    assert!(
        stdout(&text).contains("WARNING: The secret of"),
        "{}",
        stdout(&text)
    );
    assert!(stdout(&text).contains("days"), "{}", stdout(&text));

    let o = run(
        &data.0,
        false,
        &[
            "connections",
            "--expiring-within",
            "30d",
            "--tenant",
            "elsewhere.example",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_out(&o), serde_json::json!([]));
    let o = run(
        &data.0,
        false,
        &["connections", "--vendor", "tonicdm", "--json"],
    );
    assert_eq!(
        json_out(&o).as_array().unwrap().len(),
        1,
        "vendor by recipe id"
    );

    let o = run(
        &data.0,
        false,
        &["connections", "--expiring-within", "soon"],
    );
    assert_eq!(o.status.code(), Some(2), "a clear usage error");
    assert!(stderr(&o).contains("30d"), "{}", stderr(&o));
}

#[test]
fn check_and_rotate_say_what_is_missing_and_refuse_practice_connections() {
    let data = TempDir::new();
    for args in [
        &["rotate"][..],
        &["check"],
        &["rotate", "finish"],
        &["rotate", "--tenant", "x"],
        &["rotate", "some-id", "--lifetime-months", "40"],
    ] {
        let o = run(&data.0, false, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = run(&data.0, false, &["rotate", "--json"]);
    assert_eq!(json_err(&o)["code"], "invalid_input");
    assert!(json_err(&o)["hint"]
        .as_str()
        .unwrap()
        .contains("--expiring-within"));
    let o = run(&data.0, false, &["check", "no-such-id", "--json"]);
    assert_eq!(o.status.code(), Some(4));

    // Nothing due: bulk commands do nothing, successfully.
    let o = run(
        &data.0,
        false,
        &["rotate", "--expiring-within", "30d", "--yes", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_out(&o)["rotated"], serde_json::json!([]));
    let o = run(
        &data.0,
        false,
        &["rotate", "finish", "--due", "--yes", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_out(&o)["finished"], serde_json::json!([]));

    // The practice tenant is gone once `connect --practice` exits.
    let made = connect_practice(&data.0, false, "tonicdm");
    let id = made["connection"]["id"].as_str().unwrap();
    for args in [
        &["check", id, "--json"][..],
        &["rotate", id, "--yes", "--json"],
        &["rotate", "finish", id, "--yes", "--json"],
    ] {
        let o = run(&data.0, false, args);
        assert_eq!(o.status.code(), Some(11), "{args:?}: {}", stderr(&o));
        assert!(json_err(&o)["message"]
            .as_str()
            .unwrap()
            .contains("practice tenant"));
    }
    // Without a terminal, a due bulk rotation needs --yes.
    set_expiry(&data.0, id, chrono::Utc::now() + chrono::TimeDelta::days(3));
    let o = run(
        &data.0,
        false,
        &["rotate", "--expiring-within", "30d", "--json"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "practice connections are not rotated in bulk: {}",
        stderr(&o)
    );
}

#[test]
fn adopt_lists_hand_made_vendor_apps_and_adopts_one_with_its_drift() {
    let data = TempDir::new();
    let found = run(&data.0, false, &["--json", "adopt", "--practice"]);
    assert!(found.status.success(), "{}", stderr(&found));
    let found = json_out(&found);
    let tonic = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["app"]["displayName"] == "TonicDM O365 Org Token")
        .expect("the hand-made TonicDM is found");
    assert_eq!(tonic["confidence"], "high");
    assert!(tonic["reason"]
        .as_str()
        .unwrap()
        .contains("also holds Calendars.Read, which the recipe does not ask for"));
    let app_id = tonic["app"]["appId"].as_str().unwrap().to_string();

    // Each --practice run starts a fresh practice tenant with the same seeded ids.
    let adopted = run(
        &data.0,
        false,
        &[
            "adopt",
            "--practice",
            "--app",
            &app_id,
            "--recipe",
            "tonicdm",
        ],
    );
    assert!(adopted.status.success(), "{}", stderr(&adopted));
    let text = stdout(&adopted);
    assert!(text.contains("Nothing was created in the tenant"), "{text}");
    assert!(text.contains("not held by AppGrant"), "{text}");
    assert!(
        text.contains("Remove the application permission Calendars.Read"),
        "{text}"
    );
    assert!(
        text.contains("Switch off \"Assignment required\""),
        "{text}"
    );
    let list = json_out(&run(&data.0, false, &["--json", "connections"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn report_expiring_writes_valid_csv_with_one_row_per_credential() {
    let data = TempDir::new();
    let out = run(
        &data.0,
        false,
        &[
            "report",
            "expiring",
            "--practice",
            "--within",
            "60d",
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(12),
        "something expires within 30 days"
    );
    let csv = stdout(&out);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "App name,Application (client) ID,Credential kind,Credential name,Expires (UTC),Days left,Owners"
    );
    assert!(
        lines[1].starts_with("Totalview Calendar Sync,"),
        "expired first: {csv}"
    );
    assert!(lines[1].contains(",client secret,Totalview,"));
    let tonic = lines
        .iter()
        .find(|l| l.starts_with("TonicDM O365 Org Token,"))
        .expect("TonicDM's secret expires next week");
    assert!(tonic.ends_with(",Avery Admin"), "owners column: {tonic}");
    assert!(
        !csv.contains("Contoso HR Sync"),
        "its certificate is 300 days away"
    );
    assert!(
        !csv.contains("PRACTICE"),
        "messages go to stderr, not into the CSV"
    );
    let all = run(
        &data.0,
        false,
        &[
            "--json",
            "report",
            "expiring",
            "--practice",
            "--format",
            "json",
        ],
    );
    let rows: Value = serde_json::from_slice(&all.stdout).unwrap();
    let cert = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["appName"] == "Contoso HR Sync")
        .expect("the certificate-only app has its row");
    assert_eq!(cert["kind"], "certificate");
    assert!(!rows
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["appName"] == "Old Intranet"));
}

#[test]
fn record_writes_the_change_record_of_a_practice_connection() {
    let data = TempDir::new();
    let result = connect_practice(&data.0, false, "tonicdm");
    let id = result["connection"]["id"].as_str().unwrap().to_string();
    let app = &result["connection"]["apps"][0];

    // Markdown to standard output, with the objects' ids in portal words.
    let o = run(&data.0, false, &["record", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.starts_with("# Change record: TonicDM in "), "{md}");
    for field in ["app_id", "object_id", "service_principal_id"] {
        let value = app[field].as_str().unwrap();
        assert!(
            md.contains(value),
            "{field} {value} is in the record:\n{md}"
        );
    }
    assert!(md.contains(app["secret"]["key_id"].as_str().unwrap()));
    assert!(md.contains("Entra ID → App registrations → TonicDM Office 365 Token"));
    assert!(md.contains("Signed in as | Avery Admin"), "{md}");

    // HTML into a folder, under the record's own name; --json says where.
    let o = run(
        &data.0,
        false,
        &[
            "record",
            &id,
            "--format",
            "html",
            "--out",
            data.0.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let path = json_out(&o)["path"].as_str().unwrap().to_string();
    assert!(path.ends_with(".html") && path.contains("appgrant-change-record-tonicdm-"));
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(app["app_id"].as_str().unwrap()));
    assert!(!html.contains("<script"), "no scripts in the page");

    // Bad input: a clear error and exit status.
    let o = run(&data.0, false, &["record", "no-such-id", "--json"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(json_err(&o)["code"], "not_found");
    let o = run(&data.0, false, &["record", &id, "--format", "pdf"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown format is a usage error"
    );
}
