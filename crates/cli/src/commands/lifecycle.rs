//! `check`, `rotate` and `rotate finish`: the helpdesk's return visits, one core
//! [`Lifecycle`] call each. Each signs in to the connection's tenant (in its recorded cloud)
//! as `connect` does; bulk commands sign in once per tenant. A scheduled task can alert on
//! exit status 12 (`due`): something is due or failed.

use std::collections::BTreeMap;
use std::sync::Arc;

use appgrant_core::lifecycle::{
    BulkItem, CheckReport, Filter, FinishWhen, Lifecycle, LifecycleError, LifecycleEvent,
    RotateOptions, RotationResult, RotationStep, Severity, SignedIn, BULK_CONCURRENCY,
    DEFAULT_GRACE_DAYS,
};
use appgrant_core::vault::Connection;
use chrono::Utc;
use serde_json::json;

use crate::cloud::CloudArgs;
use crate::context::{blocking, Context};
use crate::error::{CliError, Code};
use crate::out::{confirm, say, Out};
use crate::signin;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The connection id (see `connections`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Check every saved connection (one sign-in per tenant).
    #[arg(long)]
    all: bool,
    /// Sign in with a code on any device instead of opening a browser.
    #[arg(long)]
    device_code: bool,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RotateArgs {
    #[command(subcommand)]
    finish: Option<RotateCommand>,
    /// The connection id (see `connections`).
    #[arg(conflicts_with = "expiring_within")]
    id: Option<String>,
    /// Rotate every connection whose secret expires within this many days (`30d` or `30`).
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    expiring_within: Option<i64>,
    /// With --expiring-within: only this tenant (id or domain).
    #[arg(long, requires = "expiring_within")]
    tenant: Option<String>,
    /// With --expiring-within: how many connections to rotate at once.
    #[arg(long, value_name = "N", default_value_t = BULK_CONCURRENCY as u16, requires = "expiring_within", value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Days the old secret stays valid after the new one is proved.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GRACE_DAYS)]
    grace_days: u32,
    /// The new secret's lifetime in months, 1 to 24 (default: the recipe's; the tenant's
    /// policy may cap it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(appgrant_core::recipe::MAX_SECRET_LIFETIME_MONTHS)))]
    lifetime_months: Option<u32>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    yes: bool,
    /// Sign in with a code on any device instead of opening a browser.
    #[arg(long)]
    device_code: bool,
}

#[derive(Debug, clap::Subcommand)]
enum RotateCommand {
    /// Remove the old secret: now for one connection (you confirm the vendor uses the new
    /// one), or with --due wherever the grace period is over.
    Finish {
        /// The connection id.
        #[arg(required_unless_present = "due", conflicts_with = "due")]
        id: Option<String>,
        /// Every rotation whose grace period is over.
        #[arg(long)]
        due: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Sign in with a code on any device instead of opening a browser.
        #[arg(long)]
        device_code: bool,
    },
}

/// `30d`, `30` or `4w` as days.
pub fn parse_days(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (number, factor) = match t.strip_suffix('d') {
        Some(n) => (n, 1),
        None => match t.strip_suffix('w') {
            Some(n) => (n, 7),
            None => (t.as_str(), 1),
        },
    };
    match number.trim().parse::<i64>() {
        Ok(n) if (0..=3650).contains(&n) => Ok(n * factor),
        _ => Err(format!(
            "\"{s}\" is not a number of days such as 30d (0 to 3650)"
        )),
    }
}

impl From<LifecycleError> for CliError {
    fn from(e: LifecycleError) -> Self {
        use appgrant_core::lifecycle::LifecycleCode as L;
        let code = match e.code() {
            L::NotFound => Code::NotFound,
            L::SignIn => Code::SignIn,
            L::Keyring | L::Storage => Code::Storage,
            L::Cancelled => Code::Cancelled,
            L::NoSecret
            | L::SecretNotUsable
            | L::InvalidInput
            | L::NothingToFinish
            | L::GraceNotOver
            | L::UnknownRecipe => Code::InvalidInput,
            L::Tenant | L::AppDeleted | L::SecretPolicy | L::NotProved => Code::Tenant,
        };
        let hint = e.hint();
        let mut error = CliError::new(code, e.to_string(), Some(hint.as_str()));
        error.detail = serde_json::to_value(e.code())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        error
    }
}

async fn lifecycle(ctx: &Context) -> Result<Lifecycle, CliError> {
    Ok(Lifecycle::with_vault(ctx.vault().await?))
}

/// Practice connections live in a practice tenant that existed only while `connect` ran.
fn refuse_practice(c: &Connection) -> Result<(), CliError> {
    if c.practice {
        return Err(CliError::new(
            Code::Practice,
            format!("The {} connection was made in the practice tenant, which lived only while `connect --practice` ran, so it cannot be checked or rotated here.", c.vendor),
            Some("Rehearse checks and rotation in the desktop app's practice tenant, or connect to a real tenant."),
        ));
    }
    Ok(())
}

/// Signs in to the tenant of `c`, in its recorded cloud (custom endpoints with their CA file
/// included), with `APPGRANT_CLIENT_ID` or the cloud's default sign-in app.
async fn sign_in(
    ctx: &Context,
    out: &Out,
    c: &Connection,
    device_code: bool,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<(SignedIn, signin::Tenant), CliError> {
    let cloud = CloudArgs::default().resolve(c.cloud.clone())?;
    let client_id = CloudArgs::default().client_id();
    let mut tenant = signin::real(ctx, &c.tenant_id, cloud, client_id)?;
    tenant.sign_in(out, device_code, cancel).await?;
    let auth = tenant.flow.authenticator()?;
    let endpoints = tenant.flow.endpoints()?.clone();
    Ok((SignedIn { endpoints, auth }, tenant))
}

async fn connection(life: &Lifecycle, id: &str) -> Result<Connection, CliError> {
    let (vault, id) = (Arc::clone(life.vault()), id.to_string());
    Ok(blocking(move || vault.require(&id)).await??)
}

/// Groups the connections by tenant (sign-in happens once per tenant).
fn by_tenant(connections: Vec<Connection>) -> BTreeMap<String, Vec<Connection>> {
    let mut groups: BTreeMap<String, Vec<Connection>> = BTreeMap::new();
    for c in connections {
        groups.entry(c.tenant_id.clone()).or_default().push(c);
    }
    groups
}

fn label(c: &Connection) -> String {
    format!(
        "{} in {}",
        c.vendor,
        c.tenant_domain.as_deref().unwrap_or(&c.tenant_id)
    )
}

/// Progress lines for the person (stderr with --json).
fn progress(json: bool) -> impl Fn(LifecycleEvent) + Send + Sync + 'static {
    move |e| match e {
        LifecycleEvent::Step {
            app_key,
            step,
            message,
            ..
        } if step != RotationStep::ReadingPolicy => say(json, &format!("  [{app_key}] {message}")),
        LifecycleEvent::Notice { message, .. } => say(json, &format!("  ... {message}")),
        LifecycleEvent::Waiting {
            delay_ms, reason, ..
        } => say(
            json,
            &format!(
                "  ... Microsoft is {}; trying again in {} s",
                match reason {
                    appgrant_core::graph::WaitReason::Throttled => "throttling requests",
                    appgrant_core::graph::WaitReason::Replication => "still replicating",
                    appgrant_core::graph::WaitReason::Transient => "not answering properly",
                },
                delay_ms.div_ceil(1000)
            ),
        ),
        LifecycleEvent::Failed {
            connection_id,
            message,
            ..
        } => say(true, &format!("  {connection_id}: {message}")),
        _ => {}
    }
}

/// `check <id>|--all`.
pub async fn check(out: &Out, args: CheckArgs) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let life = lifecycle(&ctx).await?;
    let targets = match &args.id {
        Some(id) => vec![connection(&life, id).await?],
        None => {
            let vault = Arc::clone(life.vault());
            blocking(move || vault.list()).await??
        }
    };
    if targets.is_empty() {
        out.line("No saved connections to check.");
        return Ok(());
    }
    if args.id.is_some() {
        refuse_practice(&targets[0])?;
    }
    let cancel = signin::interrupt();
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for (_, group) in by_tenant(targets) {
        let (real, practice): (Vec<_>, Vec<_>) = group.into_iter().partition(|c| !c.practice);
        skipped.extend(practice.iter().map(|c| c.id.clone()));
        let Some(first) = real.first() else { continue };
        let (signed_in, _tenant) = sign_in(&ctx, out, first, args.device_code, &cancel).await?;
        let ids: Vec<String> = real.iter().map(|c| c.id.clone()).collect();
        for (id, result) in life
            .check_all(&signed_in, &ids, progress(out.json), cancel.clone())
            .await
        {
            reports.push((id, result.map_err(CliError::from)));
        }
    }
    print_checks(out, &reports, &skipped)?;
    let attention = reports.iter().any(|(_, r)| match r {
        Ok(report) => report
            .summary
            .findings
            .iter()
            .any(|f| f.severity >= Severity::Warning),
        Err(_) => true,
    });
    if attention {
        out.mark_due();
    }
    if let [(_, Err(e))] = reports.as_slice() {
        return Err(e.clone());
    }
    Ok(())
}

fn print_checks(
    out: &Out,
    reports: &[(String, Result<CheckReport, CliError>)],
    skipped: &[String],
) -> Result<(), CliError> {
    if out.json {
        let rows: Vec<_> = reports
            .iter()
            .map(|(id, r)| match r {
                Ok(report) => json!({ "id": id, "report": report }),
                Err(e) => json!({ "id": id, "error": e }),
            })
            .collect();
        return out.json(&json!({ "checked": rows, "skippedPractice": skipped }));
    }
    for (id, r) in reports {
        match r {
            Ok(report) => {
                let worst = report
                    .summary
                    .findings
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Ok);
                out.line(format!(
                    "{id}: {}",
                    if worst >= Severity::Warning {
                        "NEEDS ATTENTION"
                    } else {
                        "OK"
                    }
                ));
                for f in &report.summary.findings {
                    out.line(format!("    {}", f.text));
                }
                for step in &report.fix_steps {
                    out.line(format!("    to fix: {}", step.title));
                }
            }
            Err(e) => out.line(format!("{id}: FAILED: {}", e.message)),
        }
    }
    for id in skipped {
        out.line(format!("{id}: skipped (practice connection)"));
    }
    Ok(())
}

/// `rotate <id>`, `rotate --expiring-within 30d`, `rotate finish <id>|--due`.
pub async fn rotate(out: &Out, args: RotateArgs) -> Result<(), CliError> {
    if let Some(RotateCommand::Finish {
        id,
        due,
        yes,
        device_code,
    }) = args.finish
    {
        return finish(out, id, due, yes, device_code).await;
    }
    let options = RotateOptions {
        grace_days: args.grace_days,
        lifetime_months: args.lifetime_months,
    };
    match (args.id, args.expiring_within) {
        (Some(id), _) => rotate_one(out, &id, options, args.yes, args.device_code).await,
        (None, Some(days)) => rotate_due(out, days, args.tenant, usize::from(args.concurrency), options, args.yes, args.device_code).await,
        (None, None) => Err(CliError::new(
            Code::InvalidInput,
            "Say which connection to rotate.",
            Some("Pass a connection id (see `connections`), or --expiring-within 30d for every secret due soon."),
        )),
    }
}

async fn rotate_one(
    out: &Out,
    id: &str,
    options: RotateOptions,
    yes: bool,
    device_code: bool,
) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let life = lifecycle(&ctx).await?;
    let c = connection(&life, id).await?;
    refuse_practice(&c)?;
    out.line(format!("Rotating the client secret(s) of {}: a new secret is made and proved; the old one keeps working for {} days or until you run `rotate finish {id}`.", label(&c), options.grace_days));
    confirm("Rotate now?", yes).await?;
    let cancel = signin::interrupt();
    let (signed_in, _tenant) = sign_in(&ctx, out, &c, device_code, &cancel).await?;
    let result = life
        .start_rotation(&signed_in, id, options, progress(out.json), cancel)
        .await?;
    print_rotation(out, &result)
}

fn print_rotation(out: &Out, r: &RotationResult) -> Result<(), CliError> {
    if out.json {
        return out.json(r);
    }
    for app in &r.connection.apps {
        if let (Some(s), Some(rot)) = (&app.secret, &app.rotation) {
            out.line(format!(
                "{}: new secret {} expires {}; the old one stays valid until {}.",
                app.display_name,
                s.key_id,
                s.expires_at.date_naive(),
                rot.grace_ends_at
                    .map(|g| g.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| "removed".into())
            ));
        }
    }
    if let Some(h) = &r.handoff {
        out.line(format!("Give {} the new values (secret hidden; `export {} --format md --include-secret` shows it):", h.vendor, r.connection.id));
        for f in &h.fields {
            out.line(format!("    {}: {}", f.label, f.value));
        }
    }
    if r.ics.is_some() {
        out.line(format!(
            "A calendar reminder for the new expiry: `export {} --format ics`.",
            r.connection.id
        ));
    }
    Ok(())
}

/// The connections `filter` selects, among those that are not practice ones.
async fn selected(life: &Lifecycle, filter: &Filter) -> Result<Vec<Connection>, CliError> {
    let rows = life.overview(Utc::now(), false).await?;
    let ids: Vec<String> = filter.apply(rows).into_iter().map(|r| r.id).collect();
    let vault = Arc::clone(life.vault());
    let all = blocking(move || vault.list()).await??;
    Ok(all
        .into_iter()
        .filter(|c| ids.contains(&c.id) && !c.practice)
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn rotate_due(
    out: &Out,
    days: i64,
    tenant: Option<String>,
    concurrency: usize,
    options: RotateOptions,
    yes: bool,
    device_code: bool,
) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let life = lifecycle(&ctx).await?;
    let filter = Filter {
        tenant,
        vendor: None,
        due_within_days: Some(days),
    };
    let due = selected(&life, &filter).await?;
    if due.is_empty() {
        out.line(format!("No secret expires within {days} days."));
        return if out.json {
            out.json(&json!({ "rotated": [] }))
        } else {
            Ok(())
        };
    }
    out.line(format!(
        "{} connection(s) have a secret expiring within {days} days:",
        due.len()
    ));
    for c in &due {
        out.line(format!("    {}  {}", c.id, label(c)));
    }
    confirm("Rotate them all?", yes).await?;
    let cancel = signin::interrupt();
    let mut items = Vec::new();
    for (_, group) in by_tenant(due) {
        let (signed_in, _tenant) = sign_in(&ctx, out, &group[0], device_code, &cancel).await?;
        let tenant_filter = Filter {
            tenant: Some(group[0].tenant_id.clone()),
            ..filter.clone()
        };
        items.extend(
            life.rotate_due(
                &signed_in,
                &tenant_filter,
                options,
                concurrency,
                progress(out.json),
                cancel.clone(),
            )
            .await?,
        );
    }
    print_bulk(out, "rotated", &items)
}

async fn finish(
    out: &Out,
    id: Option<String>,
    due: bool,
    yes: bool,
    device_code: bool,
) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let life = lifecycle(&ctx).await?;
    let cancel = signin::interrupt();
    if let (Some(id), false) = (id, due) {
        let c = connection(&life, &id).await?;
        refuse_practice(&c)?;
        out.line(format!(
            "Removing the old secret(s) of {}: the vendor must already use the new one.",
            label(&c)
        ));
        confirm("Does the vendor use the new secret?", yes).await?;
        let (signed_in, _tenant) = sign_in(&ctx, out, &c, device_code, &cancel).await?;
        let result = life
            .finish_rotation(
                &signed_in,
                &id,
                FinishWhen::Confirmed,
                progress(out.json),
                cancel,
            )
            .await?;
        return if out.json {
            out.json(&result)
        } else {
            out.line(format!(
                "Finished: the old secret of {} is gone from the tenant and this computer.",
                label(&c)
            ));
            Ok(())
        };
    }
    let now = Utc::now();
    let vault = Arc::clone(life.vault());
    let all = blocking(move || vault.list()).await??;
    let due: Vec<Connection> = all
        .into_iter()
        .filter(|c| {
            !c.practice
                && c.apps.iter().any(|a| {
                    a.rotation
                        .as_ref()
                        .is_some_and(|r| r.active() && r.grace_over(now))
                })
        })
        .collect();
    if due.is_empty() {
        out.line("No rotation has reached the end of its grace period.");
        return if out.json {
            out.json(&json!({ "finished": [] }))
        } else {
            Ok(())
        };
    }
    for c in &due {
        out.line(format!("    {}  {}: grace period over", c.id, label(c)));
    }
    confirm("Remove their old secrets?", yes).await?;
    let mut items = Vec::new();
    for (_, group) in by_tenant(due) {
        let (signed_in, _tenant) = sign_in(&ctx, out, &group[0], device_code, &cancel).await?;
        let filter = Filter {
            tenant: Some(group[0].tenant_id.clone()),
            ..Filter::default()
        };
        items.extend(
            life.finish_due(
                &signed_in,
                &filter,
                FinishWhen::GraceOver,
                BULK_CONCURRENCY,
                progress(out.json),
                cancel.clone(),
            )
            .await?,
        );
    }
    print_bulk(out, "finished", &items)
}

fn print_bulk(out: &Out, what: &str, items: &[BulkItem]) -> Result<(), CliError> {
    if items.iter().any(|i| i.error.is_some()) {
        out.mark_due();
    }
    if out.json {
        return out.json(&json!({ what: items }));
    }
    for i in items {
        match &i.error {
            None => out.line(format!(
                "{}  {} in {}: {what}",
                i.connection_id, i.vendor, i.tenant
            )),
            Some(e) => out.line(format!(
                "{}  {} in {}: FAILED: {} ({})",
                i.connection_id, i.vendor, i.tenant, e.message, e.hint
            )),
        }
    }
    Ok(())
}
