//! `adopt` and `report expiring`: day one in a tenant with history. `adopt --tenant …` lists
//! the app registrations that look like a recipe (confidence and reason in words) and risky
//! strangers; with `--app … --recipe …` it saves a connection for the existing app(s) and
//! shows the drift. `report expiring` writes every app's secrets and certificates that expire
//! soon, as a table, CSV or JSON.

use std::sync::Arc;

use appgrant_core::adopt::{self, AdoptRequest, ExpiryRow, Findings, TenantApp};
use appgrant_core::graph::{DelegatedToken, GraphClient};
use appgrant_core::identity::{Access, Session};
use appgrant_core::lifecycle::{Lifecycle, SignedIn};
use chrono::Utc;

use crate::cloud::CloudArgs;
use crate::context::{find_recipe, Context};
use crate::error::{CliError, Code};
use crate::out::Out;
use crate::signin::{self, Tenant};

/// Where to look.
#[derive(Debug, clap::Args)]
pub struct TenantArgs {
    /// The tenant: a domain (contoso.com), a tenant id, or `organizations`.
    #[arg(
        long,
        value_name = "DOMAIN",
        required_unless_present = "practice",
        conflicts_with = "practice"
    )]
    tenant: Option<String>,
    /// The practice tenant that runs inside this command (with hand-made vendor apps).
    #[arg(long)]
    practice: bool,
    /// Sign in with a code on any device instead of opening a browser.
    #[arg(long)]
    device_code: bool,
    #[command(flatten)]
    cloud: CloudArgs,
}

#[derive(Debug, clap::Args)]
pub struct AdoptArgs {
    #[command(flatten)]
    at: TenantArgs,
    /// Adopt the app with this Application (client) ID (repeat for a recipe with several apps).
    #[arg(long = "app", value_name = "APP_ID", requires = "recipe")]
    apps: Vec<String>,
    /// The recipe the app was made for (see `recipes`).
    #[arg(long, value_name = "ID", requires = "apps")]
    recipe: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExpiringArgs {
    #[command(flatten)]
    at: TenantArgs,
    /// Only credentials that expire within this many days (`60d`; expired ones included).
    #[arg(long, value_name = "DAYS", value_parser = super::lifecycle::parse_days)]
    within: Option<i64>,
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,
}

struct Signed {
    tenant: Tenant,
    session: Session,
    graph: GraphClient,
}

/// Signs in as the other commands do; Graph calls use the sign-in's write access (the one
/// the lifecycle uses), which also reads.
async fn sign_in(out: &Out, at: &TenantArgs) -> Result<Signed, CliError> {
    let ctx = Context::from_env()?;
    let mut tenant = if at.practice {
        at.cloud.check_not_practice()?;
        out.line("PRACTICE: using a practice tenant that runs inside this command.");
        signin::practice(&ctx).await?
    } else {
        let t = at.tenant.as_deref().unwrap_or("organizations");
        signin::real(
            &ctx,
            t.trim(),
            at.cloud.resolve(None)?,
            at.cloud.client_id(),
        )?
    };
    let session = tenant
        .sign_in(out, at.device_code, &signin::interrupt())
        .await?;
    let endpoints = tenant.flow.endpoints()?.clone();
    let graph = GraphClient::new(
        appgrant_core::identity::http_client_for(&endpoints)
            .map_err(|e| CliError::new(Code::Tenant, e.to_string(), None))?,
        &endpoints.graph,
        Arc::new(DelegatedToken {
            auth: tenant.flow.authenticator()?,
            access: Access::Apply,
        }),
    );
    Ok(Signed {
        tenant,
        session,
        graph,
    })
}

/// Reads every app registration, saying how far it got.
async fn read(out: &Out, graph: &GraphClient) -> Result<Vec<TenantApp>, CliError> {
    let json = out.json;
    let apps = adopt::read_apps(graph, move |p| {
        crate::out::say(
            json,
            &format!("Read {} app registrations ({} pages)...", p.apps, p.pages),
        );
    })
    .await?;
    Ok(apps)
}

pub async fn run(out: &Out, args: AdoptArgs) -> Result<(), CliError> {
    let signed = sign_in(out, &args.at).await?;
    match &args.recipe {
        None => {
            let apps = read(out, &signed.graph).await?;
            let recipes = appgrant_core::recipe::builtin()?;
            let found = adopt::find(&apps, &recipes);
            if out.json {
                return out.json(&found);
            }
            print_found(out, &found);
            Ok(())
        }
        Some(recipe) => adopt_one(out, signed, recipe, &args).await,
    }
}

fn print_found(out: &Out, found: &Findings) {
    out.line(format!(
        "{} app registrations read; {} look like a vendor app AppGrant knows.",
        found.apps_read,
        found.matches.len()
    ));
    for m in &found.matches {
        out.line(format!(
            "\n{}  (Application ID {})\n  {} confidence: {} ({}, app \"{}\")\n  {}",
            m.app.display_name,
            m.app.app_id,
            m.confidence.label(),
            m.vendor,
            m.recipe_id,
            m.app_key,
            m.reason
        ));
        out.line(format!(
            "  Adopt: appgrant-cli adopt --tenant … --app {} --recipe {}",
            m.app.app_id, m.recipe_id
        ));
    }
    if !found.risky.is_empty() {
        out.line("\nApps that match no recipe but hold high-risk Microsoft Graph permissions:");
        for r in &found.risky {
            out.line(format!(
                "  {} ({}): {}",
                r.app.display_name, r.app.app_id, r.reason
            ));
        }
    }
}

async fn adopt_one(
    out: &Out,
    signed: Signed,
    recipe: &str,
    args: &AdoptArgs,
) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let vault = ctx.vault().await?;
    let recipe = find_recipe(recipe)?;
    let practice = signed.tenant.practice.is_some();
    let cloud = if practice {
        None
    } else {
        Some(args.at.cloud.resolve(None)?)
    };
    let connection = adopt::adopt(
        &signed.graph,
        &signed.session,
        &vault,
        &AdoptRequest {
            recipe,
            app_ids: args.apps.clone(),
            practice,
            cloud,
        },
    )
    .await?;
    let life = Lifecycle::with_vault(Arc::clone(&vault));
    let signed_in = SignedIn {
        endpoints: signed.tenant.flow.endpoints()?.clone(),
        auth: signed.tenant.flow.authenticator()?,
    };
    let drift = adopt::drift_plan(&life, &signed.graph, &signed_in, &connection.id).await?;
    if out.json {
        return out.json(&serde_json::json!({"connection": connection, "drift": drift}));
    }
    out.line(format!(
        "Adopted as connection {} ({}). Nothing was created in the tenant.",
        connection.id, connection.vendor
    ));
    out.line("Entra never shows a secret's value again, so AppGrant does not hold the app's current secret (listed as \"not held by AppGrant\").");
    out.line(format!(
        "Rotate it now so AppGrant holds one: appgrant-cli rotate {}",
        connection.id
    ));
    if drift.steps.is_empty() {
        out.line("No drift: the app matches the recipe.");
    } else {
        out.line("Drift against the recipe (fix after rotating, with `appgrant-cli check` and the dashboard):");
        for s in &drift.steps {
            out.line(format!("  [{}] {}", s.area.label(), s.text));
            if let Some(why) = &s.why {
                out.line(format!("      why: {why}"));
            }
        }
    }
    Ok(())
}

pub async fn expiring(out: &Out, args: ExpiringArgs) -> Result<(), CliError> {
    // CSV or JSON on standard output: the sign-in and progress lines go to stderr.
    let to_stdout = args.output.is_none() && !matches!(args.format, ReportFormat::Table);
    let talk = Out::new(out.json || to_stdout);
    let signed = sign_in(&talk, &args.at).await?;
    let apps = read(&talk, &signed.graph).await?;
    let mut rows = adopt::expiry_rows(&apps, Utc::now(), args.within);
    adopt::read_owners(&signed.graph, &mut rows).await;
    let text = match args.format {
        ReportFormat::Csv => adopt::to_csv(&rows),
        ReportFormat::Json => serde_json::to_string_pretty(&rows)
            .map_err(|e| CliError::new(Code::Internal, e.to_string(), None))?,
        ReportFormat::Table => table(&rows),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| {
                CliError::new(
                    Code::Export,
                    format!("Writing {} failed: {e}", path.display()),
                    Some("Check the folder exists and is writable."),
                )
            })?;
            out.line(format!(
                "{} credential(s) written to {}.",
                rows.len(),
                path.display()
            ));
        }
        None => print!("{text}"),
    }
    if rows.iter().any(|r| r.days_left.is_some_and(|d| d <= 30)) {
        out.mark_due();
    }
    Ok(())
}

fn table(rows: &[ExpiryRow]) -> String {
    let mut s = String::new();
    for r in rows {
        let when = r
            .expires_at
            .map(|e| e.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "no end date".into());
        let left = match r.days_left {
            Some(d) if d < 0 => format!("expired {} day(s) ago", -d),
            Some(d) => format!("{d} day(s) left"),
            None => String::new(),
        };
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{when}\t{left}\n",
            r.app_name,
            r.app_id,
            r.kind.label(),
            r.name
        ));
    }
    if rows.is_empty() {
        s.push_str("No secrets or certificates expire in that window.\n");
    }
    s
}
