//! Scale measurement: starts the simulator with 100,000 generated users (or `--users N`),
//! signs the admin in through the real authorize + PKCE flow, lists every user with
//! `$top=999` paging over HTTP, then finds one user with `$search` and with `$filter`.
//! Prints the figures and writes them to `artifacts/bench/sim-paging.txt` at the workspace
//! root (or `--out PATH`).
//!
//! `CARGO_TARGET_DIR=/work/target-sim cargo run -p appgrant-sim --release --example paging_bench`

use appgrant_sim::{Sim, SimConfig};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

async fn admin_token(sim: &Sim, c: &reqwest::Client) -> Res<String> {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let redirect = "http://localhost:8400/";
    let html = c
        .get(format!(
            "{}/organizations/oauth2/v2.0/authorize",
            sim.login_base()
        ))
        .query(&[
            ("client_id", sim.public_client_id()),
            ("response_type", "code"),
            ("redirect_uri", redirect),
            ("scope", "https://graph.microsoft.com/User.ReadBasic.All"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"flow\" value=\"";
    let start = html.find(marker).ok_or("no flow id")? + marker.len();
    let flow = html[start..].split('"').next().ok_or("no flow id")?;
    let r = c
        .post(format!("{}/_login/signin", sim.base_url()))
        .form(&[("flow", flow), ("username", sim.admin_upn().as_str())])
        .send()
        .await?;
    let loc = r
        .headers()
        .get("location")
        .ok_or("no redirect")?
        .to_str()?
        .to_string();
    let code = url::Url::parse(&loc)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;
    let tok: Value = c
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            sim.login_base(),
            sim.tenant_id()
        ))
        .form(&[
            ("client_id", sim.public_client_id()),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    Ok(tok["access_token"].as_str().ok_or("no token")?.to_string())
}

#[tokio::main]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let users: usize = arg("--users")
        .map(|u| u.parse())
        .transpose()?
        .unwrap_or(100_000);
    let out = arg("--out")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../artifacts/bench/sim-paging.txt")
        });

    let t0 = Instant::now();
    let sim = Sim::start(SimConfig {
        extra_users: users,
        ..Default::default()
    })
    .await?;
    let seed_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let token = admin_token(&sim, &c).await?;

    let t1 = Instant::now();
    let mut next = Some(format!(
        "{}/v1.0/users?$top=999",
        sim.graph_v1().trim_end_matches("/v1.0")
    ));
    let (mut pages, mut listed) = (0usize, 0usize);
    while let Some(url) = next {
        let page: Value = c
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        listed += page["value"].as_array().map(Vec::len).unwrap_or(0);
        pages += 1;
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    let list_ms = t1.elapsed().as_secs_f64() * 1000.0;

    let target = format!("gen{:06}", users.saturating_sub(1));
    let t2 = Instant::now();
    let found: Value = c
        .get(format!("{}/users", sim.graph_v1()))
        .query(&[
            ("$search", format!("\"userPrincipalName:{target}\"")),
            ("$select", "id,displayName,userPrincipalName".into()),
            ("$count", "true".into()),
        ])
        .header("ConsistencyLevel", "eventual")
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let search_ms = t2.elapsed().as_secs_f64() * 1000.0;
    let t3 = Instant::now();
    let filtered: Value = c
        .get(format!("{}/users", sim.graph_v1()))
        .query(&[(
            "$filter",
            format!("userPrincipalName eq '{target}@{}'", sim.tenant_domain()),
        )])
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let filter_ms = t3.elapsed().as_secs_f64() * 1000.0;

    let total = sim.users().len() + users;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let report = format!(
        "appgrant-sim paging benchmark ({profile} build, {})\n\
         users in tenant            : {total} ({users} generated)\n\
         start + seed               : {seed_ms:.0} ms\n\
         list all users, $top=999   : {listed} users in {pages} pages, {list_ms:.0} ms ({:.1} ms/page, {:.0} users/s)\n\
         $search one user           : {} match(es) of {target}, {search_ms:.1} ms\n\
         $filter eq one user        : {} match(es), {filter_ms:.1} ms\n",
        chrono::Utc::now().to_rfc3339(),
        list_ms / pages.max(1) as f64,
        listed as f64 / (list_ms / 1000.0),
        found["@odata.count"],
        filtered["value"].as_array().map(Vec::len).unwrap_or(0),
    );
    print!("{report}");
    if listed != total {
        return Err(format!("listed {listed} users, expected {total}").into());
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &report)?;
    println!(
        "written to {}",
        out.canonicalize().unwrap_or(out.clone()).display()
    );
    sim.shutdown().await;
    Ok(())
}
