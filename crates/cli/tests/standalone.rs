#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The CLI against a practice tenant that outlives it, as a trainer runs one: a standalone
//! simulator (started here, in this test process) and the real `appgrant-cli` binary run as
//! separate processes pointed at it with `--login-url/--graph-url/--ca-file`, signing in with
//! a device code that the test approves while the CLI polls.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;

use appgrant_sim::{Sim, SimConfig};
use common::{cli, TempDir};
use serde_json::Value;

/// A standalone practice tenant: its base URL and the CA file clients must trust.
struct Standalone {
    sim: Arc<Sim>,
    base: String,
    ca_file: Option<PathBuf>,
}

/// `appgrant-sim --tls`: https on 127.0.0.1 with a CA it generates and writes out.
async fn standalone() -> Standalone {
    let sim = Sim::start(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Nobody types the code here: poll every second instead of every five.
    sim.update_knobs(|k| k.device_code_interval_secs = 1);
    let base = sim.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    Standalone {
        base,
        ca_file: Some(
            sim.cert_path()
                .expect("TLS mode writes its CA")
                .to_path_buf(),
        ),
        sim: Arc::new(sim),
    }
}

impl Standalone {
    fn endpoint_args(&self) -> Vec<String> {
        let mut args = vec![
            "--login-url".to_string(),
            self.base.clone(),
            "--graph-url".to_string(),
            self.base.clone(),
        ];
        if let Some(ca) = &self.ca_file {
            args.extend(["--ca-file".to_string(), ca.display().to_string()]);
        }
        args
    }

    fn counts(&self) -> (usize, usize) {
        let tenant = self.sim.state().tenant();
        (tenant.apps.len(), tenant.sps.len())
    }
}

/// Runs a command that signs in with a device code, approving the code (as the tenant's
/// Global Administrator) as soon as the CLI prints it. Returns stdout, stderr, success.
async fn signing_in(
    t: &Standalone,
    data: &Path,
    keyring: bool,
    args: Vec<String>,
) -> (String, String, bool) {
    let mut cmd = cli(data, keyring);
    cmd.args(args)
        .arg("--device-code")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let sim = Arc::clone(&t.sim);
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err_reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
        let mut out = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("enter the code ").nth(1) {
                let code = rest.split_whitespace().next().unwrap();
                sim.approve_device_code(code, &sim.admin_upn()).unwrap();
            }
            out.push_str(&line);
            out.push('\n');
        }
        let status = child.wait().unwrap();
        (out, err_reader.join().unwrap(), status.success())
    })
    .await
    .unwrap()
}

/// `connect tonicdm --tenant <sim> --login-url .. --graph-url .. [--ca-file ..] --yes`.
async fn connect(t: &Standalone, data: &Path, keyring: bool) -> (String, String, bool) {
    let mut args: Vec<String> = ["connect", "tonicdm", "--tenant"]
        .map(String::from)
        .to_vec();
    args.push(t.sim.tenant_id());
    args.extend(t.endpoint_args());
    args.push("--yes".into());
    signing_in(t, data, keyring, args).await
}

fn run(data: &Path, args: &[&str]) -> Output {
    cli(data, false).args(args).output().unwrap()
}

fn connections(data: &Path, keyring: bool) -> Vec<Value> {
    let o = cli(data, keyring)
        .args(["connections", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The acceptance run: connect, list from a new process, connect again, remove (which signs
/// in to the recorded endpoints without being told them).
async fn survives_the_cli(keyring: bool) {
    let tenant = standalone().await;
    let data = TempDir::new();
    let before = tenant.counts();

    // Without the CA file the tenant's certificate is not trusted, and the error says so.
    let untrusted = cli(&data.0, keyring)
        .args(["connect", "tonicdm", "--tenant", &tenant.sim.tenant_id()])
        .args(["--login-url", &tenant.base, "--graph-url", &tenant.base])
        .args(["--device-code", "--yes"])
        .output()
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(3), "a sign-in failure");
    let err = String::from_utf8_lossy(&untrusted.stderr);
    assert!(err.contains("certificate"), "{err}");

    let (out, err, ok) = connect(&tenant, &data.0, keyring).await;
    assert!(ok, "first connect failed:\n{out}\n{err}");
    assert!(out.contains("Signed in as avery.admin@"), "{out}");
    assert!(out.contains("Cloud: custom endpoints at"), "{out}");
    let after_first = tenant.counts();
    assert_eq!(
        after_first,
        (before.0 + 1, before.1 + 1),
        "TonicDM made one app and its enterprise app"
    );
    let secrets = || {
        tenant
            .sim
            .state()
            .tenant()
            .apps
            .last()
            .map(|a| a.secrets.len())
    };
    assert_eq!(secrets(), Some(1));

    // A new process, long after `connect` exited, still knows where the tenant is.
    let rows = connections(&data.0, keyring);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["vendor"], "TonicDM");
    assert_eq!(rows[0]["practice"], false);
    assert_eq!(rows[0]["cloud"]["id"], "custom");
    assert_eq!(rows[0]["cloud"]["login_url"], tenant.base.as_str());
    let text = cli(&data.0, keyring).arg("connections").output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains(&format!("cloud: custom endpoints at {}", tenant.base)),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // The same command again: the app and enterprise app are found, not made twice.
    let (out, err, ok) = connect(&tenant, &data.0, keyring).await;
    assert!(ok, "second connect failed:\n{out}\n{err}");
    assert_eq!(
        tenant.counts(),
        after_first,
        "no duplicate app or enterprise app"
    );
    assert_eq!(
        connections(&data.0, keyring).len(),
        1,
        "the re-run updated the same connection"
    );
    // With the OS keyring the secret is still there: nothing at all is new. The in-memory
    // store lost it when the first command exited, so the re-run makes one to hand over and
    // keeps the first (the vendor may already be using it; apply never deletes those).
    assert_eq!(secrets(), Some(if keyring { 1 } else { 2 }));

    let id = rows[0]["id"].as_str().unwrap().to_string();
    // `check` signs in where the connection was made (its recorded endpoints and CA file).
    let (out, err, ok) =
        signing_in(&tenant, &data.0, keyring, vec!["check".into(), id.clone()]).await;
    assert!(ok, "check failed:\n{out}\n{err}");
    assert!(out.contains("Signed in as avery.admin@"), "{out}");

    // `remove` with no endpoint options signs in where the connection was made.
    let (out, err, ok) = signing_in(
        &tenant,
        &data.0,
        keyring,
        vec!["remove".into(), id, "--yes".into()],
    )
    .await;
    assert!(ok, "remove failed:\n{out}\n{err}");
    assert_eq!(
        tenant.counts(),
        before,
        "the apps are gone from the standalone tenant"
    );
    assert!(connections(&data.0, keyring).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_standalone_practice_tenant_survives_the_cli_and_a_rerun_creates_no_app() {
    survives_the_cli(false).await;
}

/// Needs a real keyring: `dbus-run-session -- scripts/with-keyring.sh cargo test -p
/// appgrant-cli --test standalone -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OS keyring (scripts/with-keyring.sh)"]
async fn with_the_keyring_a_rerun_against_a_standalone_tenant_creates_nothing_at_all() {
    survives_the_cli(true).await;
}

#[test]
fn contradictory_endpoint_options_are_refused_before_anything_happens() {
    let data = TempDir::new();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "connect",
                "tonicdm",
                "--practice",
                "--login-url",
                "https://127.0.0.1:9",
                "--graph-url",
                "https://127.0.0.1:9",
            ],
            "--practice runs its own practice tenant",
        ),
        (
            &[
                "connect",
                "tonicdm",
                "--tenant",
                "contoso.com",
                "--login-url",
                "https://127.0.0.1:9",
            ],
            "--login-url needs --graph-url",
        ),
        (
            &[
                "connect",
                "tonicdm",
                "--tenant",
                "contoso.com",
                "--login-url",
                "http://sim.example.com",
                "--graph-url",
                "http://sim.example.com",
            ],
            "use https://",
        ),
        (
            &[
                "connect",
                "tonicdm",
                "--tenant",
                "contoso.com",
                "--login-url",
                "https://127.0.0.1:9",
                "--graph-url",
                "https://127.0.0.1:9",
                "--ca-file",
                "/nonexistent/sim-ca.pem",
            ],
            "The CA certificate file /nonexistent/sim-ca.pem does not exist.",
        ),
    ];
    for (args, message) in cases {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let o = run(&data.0, &with_json);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let last: Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
        assert_eq!(last["code"], "invalid_input", "{args:?}");
        assert!(
            last["message"].as_str().unwrap().contains(message),
            "{args:?}: {last}"
        );
        assert!(last["hint"].as_str().is_some_and(|h| !h.is_empty()));
    }
}

#[test]
fn china_needs_the_organisations_own_sign_in_app() {
    let data = TempDir::new();
    let o = run(
        &data.0,
        &[
            "connect",
            "tonicdm",
            "--tenant",
            "contoso.partner.onmschina.cn",
            "--cloud",
            "china",
            "--device-code",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let last: Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("China (21Vianet)"),
        "{last}"
    );
    assert!(
        last["hint"].as_str().unwrap().contains("--client-id"),
        "{last}"
    );
}
