#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The kill test: the real `appgrant-cli` is `kill -9`ed from outside at random moments of a
//! `connect`, over and over, against a practice tenant that outlives it (an `appgrant-sim
//! --tls` started in this test process), then run to completion. Afterwards the tenant must
//! hold exactly one recipe's worth of objects with one secret per app, the OS keyring the
//! secret that is on the app, and `connections.json` the connection once.
//!
//! Secrets must survive from one CLI process to the next, so this uses the real keyring:
//! `dbus-run-session -- bash scripts/with-keyring.sh cargo test -p appgrant-cli --test kill
//! -- --ignored`. `APPGRANT_KILLS` kills per recipe (default 3: the short run of
//! `scripts/test.sh`); `scripts/kill-test.sh` runs 20 and writes the table to
//! `artifacts/bench/kill-test.txt` (the short run writes `kill-test-short.txt`).
//! `APPGRANT_KILL_SEED` repeats a run's delays.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use appgrant_sim::model::Secret;
use appgrant_sim::{Knobs, Sim, SimConfig};
use common::cli;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_appgrant-cli");

/// The built-in recipes and the inputs each needs (checked against `recipes --json`).
const RECIPES: &[(&str, &[&str])] = &[
    ("docbits", &[]),
    (
        "timetoreply",
        &["--input", "portal_url=https://portal.contoso.com"],
    ),
    ("tonicdm", &[]),
    ("totalview", &[]),
];

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "appgrant-kill-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A slow tenant, so every phase (sign-in, plan, each apply step, the replication waits,
/// verify, save) lasts long enough to be hit.
fn slow_knobs() -> Knobs {
    let mut k = Knobs {
        latency_ms: 40,
        device_code_interval_secs: 1,
        ..Knobs::default()
    };
    k.replication.app_to_sp_ms = 800;
    k.replication.sp_to_grant_ms = 800;
    k.replication.secret_to_token_ms = 1500;
    k
}

/// A standalone practice tenant over TLS, on its own runtime, outliving every CLI process.
struct Tenant {
    sim: Arc<Sim>,
    base: String,
    ca: PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl Tenant {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt
            .block_on(Sim::start(SimConfig {
                tls: true,
                knobs: slow_knobs(),
                ..SimConfig::default()
            }))
            .unwrap();
        Tenant {
            base: sim.base_url(),
            ca: sim.cert_path().unwrap().to_path_buf(),
            sim: Arc::new(sim),
            _rt: rt,
        }
    }

    fn connect_args(&self, recipe: &str, inputs: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec!["connect".into(), recipe.into(), "--tenant".into()];
        args.push(self.sim.tenant_id());
        for (flag, value) in [
            ("--login-url", self.base.clone()),
            ("--graph-url", self.base.clone()),
            ("--ca-file", self.ca.display().to_string()),
        ] {
            args.extend([flag.to_string(), value]);
        }
        args.extend(inputs.iter().map(|s| s.to_string()));
        args.extend(["--device-code".into(), "--yes".into()]);
        args
    }
}

/// Arguments of a command that finds the tenant from the saved connection.
fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// How one CLI process ended.
enum Ending {
    /// Killed while still running.
    Killed,
    /// Finished on its own (before the kill was due), after this long.
    Finished {
        ok: bool,
        took: Duration,
        stderr: String,
    },
}

/// Runs the CLI, approving any device code it prints, and `kill -9`s it after `delay` if it
/// is still running then.
fn run_once(t: &Tenant, mut cmd: Command, delay: Option<Duration>) -> Ending {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let sim = Arc::clone(&t.sim);
    let stdout = child.stdout.take().unwrap();
    let approver = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("enter the code ").nth(1) {
                let code = rest.split_whitespace().next().unwrap_or_default();
                let _ = sim.approve_device_code(code, &sim.admin_upn());
            }
        }
    });
    let stderr = child.stderr.take().unwrap();
    let err_reader =
        std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let deadline = delay.map(|d| started + d);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let took = started.elapsed();
            approver.join().unwrap();
            let stderr = err_reader.join().unwrap();
            return Ending::Finished {
                ok: status.success(),
                took,
                stderr,
            };
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            child.kill().unwrap(); // SIGKILL: no destructor, no signal handler runs
            child.wait().unwrap();
            approver.join().unwrap();
            err_reader.join().unwrap();
            return Ending::Killed;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A small deterministic generator (xorshift64*), so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` fractions of a run, one in each n-th of [0, 1), in random order.
    fn stratified(&mut self, n: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..n)
            .map(|i| (i as f64 + self.unit()) / n as f64)
            .collect();
        for i in (1..v.len()).rev() {
            let j = (self.unit() * (i + 1) as f64) as usize;
            v.swap(i, j.min(i));
        }
        v
    }
}

/// One line of the table.
struct Row {
    recipe: String,
    kills: usize,
    finished_early: usize,
    full_run: Duration,
    duplicates: usize,
    orphaned: usize,
    lost: usize,
    problems: Vec<String>,
}

/// Counts what the tenant, the keyring and `connections.json` hold for `recipe` after the
/// runs. `apps_range` is where the recipe's applications are in the tenant's list;
/// each app should hold `secrets_per_app` secrets (fewer counts as lost, more as orphaned).
fn audit(
    t: &Tenant,
    data: &Path,
    recipe: &str,
    expected_apps: usize,
    apps_range: std::ops::Range<usize>,
    secrets_per_app: usize,
) -> Row {
    let mut row = Row {
        recipe: recipe.to_string(),
        kills: 0,
        finished_early: 0,
        full_run: Duration::ZERO,
        duplicates: 0,
        orphaned: 0,
        lost: 0,
        problems: Vec::new(),
    };
    let tenant = t.sim.state().tenant();
    let apps = &tenant.apps[apps_range];
    let names: BTreeSet<String> = apps.iter().map(|a| a.display_name()).collect();
    if names.len() != expected_apps {
        row.problems.push(format!(
            "{} distinct apps, the recipe has {expected_apps}",
            names.len()
        ));
    }
    row.duplicates += apps.len() - names.len();
    let app_ids: BTreeSet<&str> = apps.iter().map(|a| a.app_id.as_str()).collect();
    let sps: Vec<_> = tenant
        .sps
        .iter()
        .filter(|s| app_ids.contains(s.app_id.as_str()))
        .collect();
    let sp_app_ids: BTreeSet<&str> = sps.iter().map(|s| s.app_id.as_str()).collect();
    row.duplicates += sps.len() - sp_app_ids.len();
    if sp_app_ids.len() != app_ids.len() {
        row.problems
            .push("an app has no enterprise app (service principal)".into());
    }
    let sp_ids: BTreeSet<&str> = sps.iter().map(|s| s.id.as_str()).collect();
    let mut assignments = HashMap::new();
    for a in tenant
        .assignments
        .iter()
        .filter(|a| sp_ids.contains(a.principal_id.as_str()))
    {
        *assignments
            .entry((&a.principal_id, &a.resource_id, &a.app_role_id))
            .or_insert(0usize) += 1;
    }
    let mut grants = HashMap::new();
    for g in tenant
        .grants
        .iter()
        .filter(|g| sp_ids.contains(g.client_id.as_str()))
    {
        *grants
            .entry((
                &g.client_id,
                &g.resource_id,
                &g.consent_type,
                &g.principal_id,
            ))
            .or_insert(0usize) += 1;
    }
    row.duplicates += assignments
        .values()
        .chain(grants.values())
        .map(|n| n - 1)
        .sum::<usize>();
    if assignments.is_empty() && grants.is_empty() {
        row.problems.push("no permission was granted".into());
    }
    // The tenant keeps each secret as a hash (as Entra does), so compare hashes.
    let secrets: HashMap<String, Vec<String>> = apps
        .iter()
        .map(|a| {
            (
                a.app_id.clone(),
                a.secrets.iter().map(|s| s.hash.clone()).collect(),
            )
        })
        .collect();
    drop(tenant);
    // One secret per app; two while a rotation's overlap is open.
    row.orphaned = secrets
        .values()
        .map(|s| s.len().saturating_sub(secrets_per_app))
        .sum();
    row.lost += secrets
        .values()
        .map(|s| secrets_per_app.saturating_sub(s.len()))
        .sum::<usize>();

    // connections.json parses and lists the connection once.
    let index = std::fs::read_to_string(data.join("connections.json")).unwrap_or_default();
    let listed: Vec<Value> = match serde_json::from_str::<Value>(&index) {
        Ok(v) => v["connections"]
            .as_array()
            .or(v.as_array())
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["recipe_id"] == recipe)
            .collect(),
        Err(e) => {
            row.problems.push(format!("connections.json: {e}"));
            Vec::new()
        }
    };
    if listed.len() != 1 {
        row.problems
            .push(format!("connections.json lists it {} times", listed.len()));
    }
    // The keyring's secret (read by a new process, as a user would) is the one on each app.
    let Some(connection) = listed.first() else {
        row.lost = expected_apps;
        return row;
    };
    let id = connection["id"].as_str().unwrap_or_default();
    let export = cli(data, true)
        .args([
            "export",
            id,
            "--format",
            "json",
            "--include-secret",
            "--json",
        ])
        .output()
        .unwrap();
    let handoff: Value = serde_json::from_slice(&export.stdout).unwrap_or(Value::Null);
    let revealed: Vec<&str> = handoff["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["secret"] == true && f["hidden"] == false)
                .filter_map(|f| f["value"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for app in connection["apps"].as_array().into_iter().flatten() {
        let on_app = secrets
            .get(app["app_id"].as_str().unwrap_or_default())
            .cloned()
            .unwrap_or_default();
        if !on_app
            .iter()
            .any(|hash| revealed.iter().any(|v| Secret::digest(v.trim()) == *hash))
        {
            row.lost += 1;
        }
    }
    row
}

/// `rotate finish` run again after it finished says so and fails: the work is done.
const ALREADY_FINISHED: &str = "has no rotation waiting to be finished";

/// Whether a run that ended on its own did its work (or found it done).
fn succeeded(ok: bool, stderr: &str) -> bool {
    ok || stderr.contains(ALREADY_FINISHED)
}

/// Runs `args` to completion without a kill; returns how long it took.
fn complete(t: &Tenant, data: &Path, keyring: bool, args: &[String], what: &str) -> Duration {
    let mut cmd = cli(data, keyring);
    cmd.args(args);
    match run_once(t, cmd, None) {
        Ending::Finished { ok, took, stderr } if succeeded(ok, &stderr) => took,
        Ending::Finished { stderr, .. } => {
            panic!("{what}: the run to completion failed:\n{stderr}")
        }
        Ending::Killed => unreachable!(),
    }
}

/// Starts `args` over and over, each time `kill -9`ing it at a random moment of a run of
/// length `full_run` (one moment in each `kills`-th of it, in random order), until `kills`
/// kills landed; then runs it to completion. Returns (kills, runs that finished first).
fn kill_repeatedly(
    t: &Tenant,
    data: &Path,
    args: &[String],
    full_run: Duration,
    kills: usize,
    rng: &mut Rng,
    what: &str,
) -> (usize, usize) {
    let (mut killed, mut finished_early, mut attempts) = (0, 0, 0);
    let mut span = full_run;
    let mut fractions = rng.stratified(kills);
    while killed < kills && attempts < kills * 4 {
        attempts += 1;
        let f = fractions.pop().unwrap_or_else(|| rng.unit());
        let mut cmd = cli(data, true);
        cmd.args(args);
        match run_once(t, cmd, Some(span.mul_f64(f))) {
            Ending::Killed => killed += 1,
            Ending::Finished { ok, took, stderr } => {
                assert!(
                    succeeded(ok, &stderr),
                    "{what}: a run after a kill failed:\n{stderr}"
                );
                finished_early += 1;
                // Resumed runs are shorter: aim the next kills inside them.
                span = took;
            }
        }
    }
    complete(t, data, true, args, what);
    (killed, finished_early)
}

/// One recipe: time an uninterrupted run on a twin tenant, then kill runs on the real one at
/// random moments across the whole run, then run to completion and audit. Returns the row
/// and where the recipe's apps are in the tenant's list of applications.
fn kill_recipe(
    t: &Tenant,
    data: &Path,
    recipe: &str,
    inputs: &[&str],
    kills: usize,
    rng: &mut Rng,
) -> (Row, std::ops::Range<usize>) {
    let expected_apps = expected_app_count(recipe);
    // The twin measures how long a whole run takes (sign-in included) without touching the
    // tenant under test or the keyring.
    let twin = Tenant::start();
    let twin_data = TempDir::new("twin");
    let full_run = complete(
        &twin,
        &twin_data.0,
        false,
        &twin.connect_args(recipe, inputs),
        recipe,
    );
    let apps_before = t.sim.state().tenant().apps.len();
    let args = t.connect_args(recipe, inputs);
    let (killed, finished_early) = kill_repeatedly(t, data, &args, full_run, kills, rng, recipe);
    let apps_after = t.sim.state().tenant().apps.len();
    let mut row = audit(t, data, recipe, expected_apps, apps_before..apps_after, 1);
    row.kills = killed;
    row.finished_early = finished_early;
    row.full_run = full_run;
    (row, apps_before..apps_after)
}

/// Rotation of `recipe`'s connection: `rotate` killed at random moments then completed (the
/// overlap is open: two secrets, the keyring holding the new one), then `rotate finish`
/// killed and completed (one secret). The first rotate + finish run uninterrupted, timed.
fn kill_rotation(
    t: &Tenant,
    data: &Path,
    recipe: &str,
    apps_range: std::ops::Range<usize>,
    kills: usize,
    rng: &mut Rng,
) -> Vec<Row> {
    let id = connection_id(data, recipe);
    let rotate = strings(&["rotate", &id, "--yes", "--device-code"]);
    let finish = strings(&["rotate", "finish", &id, "--yes", "--device-code"]);
    let rotate_run = complete(t, data, true, &rotate, "rotate");
    let finish_run = complete(t, data, true, &finish, "rotate finish");
    let expected_apps = expected_app_count(recipe);
    let mut rows = Vec::new();
    for (label, args, full_run, secrets) in [
        ("rotate", &rotate, rotate_run, 2),
        ("rotate finish", &finish, finish_run, 1),
    ] {
        let what = format!("{recipe} {label}");
        let (killed, finished_early) = kill_repeatedly(t, data, args, full_run, kills, rng, &what);
        let mut row = audit(t, data, recipe, expected_apps, apps_range.clone(), secrets);
        row.recipe = what;
        row.kills = killed;
        row.finished_early = finished_early;
        row.full_run = full_run;
        rows.push(row);
    }
    rows
}

fn connection_id(data: &Path, recipe: &str) -> String {
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("connections.json")).unwrap())
            .unwrap();
    index["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["recipe_id"] == recipe)
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_string()
}

fn expected_app_count(recipe: &str) -> usize {
    let listed = recipes_json();
    let r = listed
        .iter()
        .find(|r| r["id"] == recipe)
        .unwrap_or_else(|| panic!("{recipe} is not a built-in recipe"));
    r["apps"].as_array().unwrap().len()
}

fn recipes_json() -> Vec<Value> {
    let o = Command::new(BIN)
        .args(["recipes", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn table(rows: &[Row], kills: usize, seed: u64) -> String {
    let mut s = format!(
        "Kill test: appgrant-cli connect killed with SIGKILL at random moments ({kills} kills per \
         recipe wanted, seed {seed}), then run to completion, against appgrant-sim --tls \
         (latency 40 ms, replication 0.8-1.5 s). Rotation rows: `rotate` killed then completed \
         (overlap open: 2 secrets expected), then `rotate finish` killed then completed (1).\n\n"
    );
    s.push_str(&format!(
        "{:<22} {:>6} {:>14} {:>10} {:>11} {:>9} {:>6}\n",
        "recipe", "kills", "finished early", "full run", "duplicates", "orphaned", "lost"
    ));
    for r in rows {
        s.push_str(&format!(
            "{:<22} {:>6} {:>14} {:>9.1}s {:>11} {:>9} {:>6}{}\n",
            r.recipe,
            r.kills,
            r.finished_early,
            r.full_run.as_secs_f64(),
            r.duplicates,
            r.orphaned,
            r.lost,
            if r.problems.is_empty() {
                String::new()
            } else {
                format!("  PROBLEMS: {}", r.problems.join("; "))
            }
        ));
    }
    s
}

#[test]
#[ignore = "needs the OS keyring (scripts/with-keyring.sh); scripts/kill-test.sh runs it long"]
fn killed_connects_leave_one_recipes_worth_one_secret_in_the_keyring_and_one_connection() {
    let kills: usize = std::env::var("APPGRANT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("APPGRANT_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);

    let built_in: BTreeSet<String> = recipes_json()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let covered: BTreeSet<String> = RECIPES.iter().map(|(r, _)| r.to_string()).collect();
    assert_eq!(built_in, covered, "every built-in recipe is kill-tested");

    let tenant = Tenant::start();
    let data = TempDir::new("data");
    let mut rows = Vec::new();
    let mut tonicdm_apps = 0..0;
    for (recipe, inputs) in RECIPES {
        let (row, apps) = kill_recipe(&tenant, &data.0, recipe, inputs, kills, &mut rng);
        if *recipe == "tonicdm" {
            tonicdm_apps = apps;
        }
        rows.push(row);
    }
    rows.extend(kill_rotation(
        &tenant,
        &data.0,
        "tonicdm",
        tonicdm_apps,
        kills,
        &mut rng,
    ));

    let text = table(&rows, kills, seed);
    println!("{text}");
    let name = if kills >= 20 {
        "kill-test.txt"
    } else {
        "kill-test-short.txt"
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), &text).unwrap();

    for r in &rows {
        assert!(
            r.kills >= kills.min(3),
            "{}: only {} kills landed\n{text}",
            r.recipe,
            r.kills
        );
        assert_eq!(
            (r.duplicates, r.orphaned, r.lost, r.problems.len()),
            (0, 0, 0, 0),
            "{}\n{text}",
            r.recipe
        );
    }
}
