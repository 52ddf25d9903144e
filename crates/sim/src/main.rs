//! `appgrant-sim` binary: starts the simulated "Contoso Practice" tenant on 127.0.0.1, prints
//! the login and Graph base URLs (https and the CA file to trust with `--tls`), the tenant and a
//! sign-in hint, and runs until Ctrl-C.

use appgrant_sim::{Sim, SimConfig};
use clap::Parser;

/// A local Microsoft tenant (identity platform + Microsoft Graph subset) for practice and tests.
#[derive(Parser, Debug)]
#[command(name = "appgrant-sim", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// TOML file with the configuration and knobs (flags override it).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Extra generated users (e.g. 100000 for scale tests).
    #[arg(long)]
    users: Option<usize>,
    /// Seed app registrations made by hand from vendors' guides (mistakes included).
    #[arg(long)]
    hand_made_apps: bool,
    /// Generate this many extra app registrations with random credentials.
    #[arg(long)]
    apps: Option<usize>,
    /// Replication delay in milliseconds for every kind (app→SP, SP→grant, app/secret→token,
    /// assignment→token).
    #[arg(long)]
    replication_ms: Option<u64>,
    /// Probability (0.0–1.0) of a random 503/504 on Graph requests.
    #[arg(long)]
    fault_rate: Option<f64>,
    /// Seed of the fault generator.
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Graph requests allowed per second before 429.
    #[arg(long)]
    throttle_rps: Option<u32>,
    /// Every Nth Graph request gets 429.
    #[arg(long)]
    throttle_every: Option<u64>,
    /// Added latency per request in milliseconds.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Tenant policy: maximum client secret lifetime in days.
    #[arg(long)]
    secret_max_days: Option<u32>,
    /// Tenant policy: maximum certificate (keyCredential) lifetime in days.
    #[arg(long)]
    cert_max_days: Option<u32>,
    /// Conditional Access blocks the device code flow.
    #[arg(long)]
    block_device_code: bool,
    /// Delay before Exchange RBAC changes take effect, in milliseconds.
    #[arg(long)]
    exchange_propagation_ms: Option<u64>,
    /// Serve https with a certificate authority generated at start (its PEM is written to
    /// --cert-out; clients trust that file).
    #[arg(long)]
    tls: bool,
    /// With --tls: where to write the CA certificate (PEM). Default: the temp directory.
    #[arg(long, requires = "tls")]
    cert_out: Option<std::path::PathBuf>,
    /// Keep the tenant's apps, service principals, grants and secrets in this file across
    /// restarts (loaded at start, saved after every change).
    #[arg(long)]
    state_file: Option<std::path::PathBuf>,
}

fn build_config(a: &Args) -> Result<SimConfig, String> {
    let mut c = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            SimConfig::from_toml(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => SimConfig::default(),
    };
    if let Some(p) = a.port {
        c.port = p;
    }
    if a.tls {
        c.tls = true;
    }
    if a.cert_out.is_some() {
        c.cert_out = a.cert_out.clone();
    }
    if a.state_file.is_some() {
        c.state_file = a.state_file.clone();
    }
    if let Some(u) = a.users {
        c.extra_users = u;
    }
    if a.hand_made_apps {
        c.hand_made_apps = true;
    }
    if let Some(n) = a.apps {
        c.extra_apps = n;
    }
    let k = &mut c.knobs;
    if let Some(ms) = a.replication_ms {
        let r = &mut k.replication;
        r.app_to_sp_ms = ms;
        r.sp_to_grant_ms = ms;
        r.app_to_token_ms = ms;
        r.secret_to_token_ms = ms;
        r.assignment_to_token_ms = ms;
    }
    if let Some(f) = a.fault_rate {
        k.faults.rate = f;
    }
    if let Some(s) = a.fault_seed {
        k.faults.seed = s;
    }
    if a.throttle_rps.is_some() {
        k.throttle.max_requests_per_sec = a.throttle_rps;
    }
    if a.throttle_every.is_some() {
        k.throttle.every_nth = a.throttle_every;
    }
    if let Some(l) = a.latency_ms {
        k.latency_ms = l;
    }
    if a.secret_max_days.is_some() {
        k.secret_max_lifetime_days = a.secret_max_days;
    }
    if a.cert_max_days.is_some() {
        k.cert_max_lifetime_days = a.cert_max_days;
    }
    if a.block_device_code {
        k.block_device_code = true;
    }
    if let Some(e) = a.exchange_propagation_ms {
        k.exchange_propagation_ms = e;
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let config = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("appgrant-sim: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let sim = match Sim::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("appgrant-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    println!("appgrant-sim: Contoso Practice tenant is running");
    println!("  login base URL : {}", sim.login_base());
    println!(
        "  Graph base URL : {} (v1.0: {})",
        sim.graph_base(),
        sim.graph_v1()
    );
    if let Some(path) = sim.cert_path() {
        println!("  ca-file        : {}", path.display());
    }
    if let Some(path) = sim.state_file() {
        println!("  state-file     : {}", path.display());
    }
    println!("  tenant id      : {}", sim.tenant_id());
    println!("  tenant domain  : {}", sim.tenant_domain());
    println!(
        "  public client  : {} (any http://localhost:PORT redirect)",
        sim.public_client_id()
    );
    println!(
        "  sign in as     : {} (Global Administrator); no password needed",
        sim.admin_upn()
    );
    println!("  non-admin user : {}", sim.non_admin_upn());
    println!(
        "  control API    : {}/_sim/info, /_sim/knobs, /_sim/counters, /_sim/users",
        sim.base_url()
    );
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}
