//! `connect`: the whole journey (sign in, plan, confirm, apply, verify, save, hand-off), one
//! core call per step, as the desktop wizard makes them.

use std::collections::{BTreeMap, HashMap};

use appgrant_core::apply::ApplyEvent;
use appgrant_core::cloud::Cloud;
use appgrant_core::export::Handoff;
use appgrant_core::plan::{Choices, CredentialChoice, Plan};
use appgrant_core::verify::{CheckStatus, VerifyReport};
use serde_json::json;

use crate::cloud::{describe, CloudArgs};
use crate::context::{find_recipe, Context};
use crate::error::{CliError, Code};
use crate::out::{confirm, say, Out};
use crate::signin;

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// A built-in recipe id (see `recipes`) or the path of a recipe file.
    recipe: String,
    /// The customer's tenant: a domain (contoso.com), a tenant id, or `organizations` for the
    /// home tenant of whoever signs in.
    #[arg(
        long,
        value_name = "DOMAIN|organizations",
        required_unless_present = "practice",
        conflicts_with = "practice"
    )]
    tenant: Option<String>,
    /// Rehearse on a practice tenant that runs inside this command (nothing real is touched).
    #[arg(long)]
    practice: bool,
    /// A value the recipe asks for (see `recipes`), e.g. --input portal_url=https://portal.example.com
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = key_value)]
    inputs: Vec<(String, String)>,
    /// Client secret lifetime in months (default: the recipe's; the tenant's policy may cap it).
    #[arg(long, value_name = "N")]
    lifetime_months: Option<u32>,
    /// A certificate instead of a client secret, for every app of the recipe: `generate`
    /// (AppGrant makes it; the private key stays in this computer's credential store) or the
    /// path of the vendor's public certificate (.cer / .pem).
    #[arg(long, value_name = "generate|FILE")]
    certificate: Option<String>,
    /// Sign in with a code on any device instead of opening a browser.
    #[arg(long)]
    device_code: bool,
    /// Apply without asking for confirmation.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    cloud: CloudArgs,
}

/// `--certificate generate` or `--certificate FILE` as the plan's choice (the file is read
/// and checked by the plan: a private key in it is refused there).
fn certificate_choice(value: &str) -> Result<CredentialChoice, CliError> {
    use base64::Engine;
    if value == "generate" {
        return Ok(CredentialChoice::GeneratedCertificate);
    }
    let path = std::path::Path::new(value);
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::new(
            Code::InvalidInput,
            format!("Could not read the certificate file {value}: {e}"),
            Some("Give --certificate generate, or the path of the vendor's .cer or .pem file."),
        )
    })?;
    Ok(CredentialChoice::VendorCertificate {
        file_name: path
            .file_name()
            .map_or_else(|| value.to_string(), |n| n.to_string_lossy().into_owned()),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("\"{s}\" is not KEY=VALUE")),
    }
}

pub async fn run(out: &Out, args: ConnectArgs) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let recipe = find_recipe(&args.recipe)?;
    // Open the vault first: a damaged index should stop us before anything is created.
    let vault = ctx.vault().await?;
    let cloud = if args.practice {
        args.cloud.check_not_practice()?;
        None
    } else {
        Some(args.cloud.resolve(None)?)
    };
    let cancel = signin::interrupt();
    let mut tenant = match (&args.tenant, cloud) {
        (_, None) => {
            out.line("PRACTICE: using a practice tenant that runs inside this command. Nothing is created in a real tenant.");
            signin::practice(&ctx).await?
        }
        (Some(t), Some(cloud)) => {
            if cloud != Cloud::Global {
                out.line(format!("Cloud: {}.", describe(&cloud)));
            }
            signin::real(&ctx, t.trim(), cloud, args.cloud.client_id())?
        }
        (None, Some(_)) => {
            return Err(CliError::new(
                Code::InvalidInput,
                "Say which tenant to connect.",
                Some("Add --tenant contoso.com (or --tenant organizations), or --practice."),
            ))
        }
    };
    let label = if args.practice { "PRACTICE: " } else { "" };
    tenant.sign_in(out, args.device_code, &cancel).await?;

    let credentials = match &args.certificate {
        Some(c) => {
            let choice = certificate_choice(c)?;
            recipe
                .apps
                .iter()
                .map(|a| (a.key.clone(), choice.clone()))
                .collect()
        }
        None => BTreeMap::new(),
    };
    let choices = Choices {
        inputs: args.inputs.into_iter().collect::<BTreeMap<_, _>>(),
        app_names: BTreeMap::new(),
        secret_lifetime_months: args.lifetime_months,
        credentials,
    };
    let plan = tenant.flow.plan(recipe.clone(), choices).await?;
    print_plan(out, label, &recipe.vendor, &plan);

    if plan.pending().next().is_some() {
        confirm(&format!("{label}Apply these changes?"), args.yes).await?;
    } else {
        out.line("Everything is already in place; nothing to change.");
    }

    let titles: HashMap<String, String> = plan
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.title.clone()))
        .collect();
    let json = out.json;
    let outcome = tenant
        .flow
        .apply(move |event| progress(json, &titles, &event), cancel)
        .await?;
    if !outcome.skipped.is_empty() {
        out.line(format!(
            "{} step(s) left for someone with the right role (see the consent hand-off above).",
            outcome.skipped.len()
        ));
    }

    out.line("Checking that it works...");
    let report = tenant.flow.verify().await?;
    print_checks(out, &report);
    let connection = tenant.flow.finish(&vault).await?;
    let handoff = Handoff::build(&recipe, &connection, None)?;

    if out.json {
        out.json(&json!({
            "practice": connection.practice,
            "connection": connection,
            "plan": {
                "steps": plan.steps,
                "lifetime": plan.lifetime,
                "consent_handoff": plan.consent_handoff,
                "notes": plan.notes,
            },
            "checks": report.checks,
            "verified": report.ok(),
            "handoff": handoff,
        }))?;
    } else {
        print_handoff(out, label, &handoff);
    }
    if !report.ok() {
        return Err(CliError::new(
            Code::Verify,
            format!(
                "{} is set up and saved (connection {}), but the checks found a problem.",
                recipe.vendor, connection.id
            ),
            report
                .checks
                .iter()
                .find(|c| c.status == CheckStatus::Failed)
                .and_then(|c| c.hint.as_deref()),
        ));
    }
    Ok(())
}

fn print_plan(out: &Out, label: &str, vendor: &str, plan: &Plan) {
    out.line(format!("{label}Plan for {vendor}:"));
    for step in &plan.steps {
        let state = if step.done {
            "done   "
        } else if step.blocked.is_some() {
            "blocked"
        } else {
            "to do  "
        };
        let risk = step
            .risk
            .map(|r| format!("  [risk: {}]", r.label()))
            .unwrap_or_default();
        out.line(format!("  [{state}] {}{risk}", step.title));
        if let Some(why) = &step.blocked {
            out.line(format!("            {why}"));
        }
    }
    let lifetime = &plan.lifetime;
    let capped = lifetime
        .capped_by_policy_days
        .map(|d| format!(", shortened by the tenant's policy to at most {d} days"))
        .unwrap_or_default();
    if plan.apps.iter().any(|a| a.certificate.is_none()) {
        out.line(format!(
            "  Client secret: valid {} days, until {}{capped}.",
            lifetime.days, lifetime.expires_on
        ));
    }
    if let Some(consent) = &plan.consent_handoff {
        out.line(format!("  Consent needed from {}:", consent.who));
        for line in consent.message.lines() {
            out.line(format!("    {line}"));
        }
        if let Some(url) = &consent.url {
            out.line(format!("    {url}"));
        }
    }
    for note in &plan.notes {
        out.line(format!("  Note: {note}"));
    }
}

/// One live progress line per apply event (stderr with `--json`, so stdout stays the result).
fn progress(json: bool, titles: &HashMap<String, String>, event: &ApplyEvent) {
    let title = |step: &str| {
        titles
            .get(step)
            .cloned()
            .unwrap_or_else(|| step.to_string())
    };
    let line = match event {
        ApplyEvent::StepStarted { step } => format!("-> {}", title(step)),
        ApplyEvent::Waiting { message, .. } => format!("   ... {message}"),
        ApplyEvent::StepDone { step, detail } => match detail {
            Some(d) => format!("   done: {} ({d})", title(step)),
            None => format!("   done: {}", title(step)),
        },
        ApplyEvent::StepSkipped { step, reason } => {
            format!("   skipped: {}: {reason}", title(step))
        }
        ApplyEvent::StepFailed {
            step,
            message,
            hint,
            ..
        } => format!("   FAILED: {}: {message}\n   {hint}", title(step)),
    };
    say(json, &line);
}

fn print_checks(out: &Out, report: &VerifyReport) {
    for check in &report.checks {
        let status = match check.status {
            CheckStatus::Passed => "ok  ",
            CheckStatus::Warning => "warn",
            CheckStatus::Failed => "FAIL",
            CheckStatus::Skipped => "skip",
        };
        out.line(format!("  [{status}] {}: {}", check.title, check.detail));
        if check.status != CheckStatus::Passed {
            if let Some(hint) = &check.hint {
                out.line(format!("         {hint}"));
            }
        }
    }
}

fn print_handoff(out: &Out, label: &str, handoff: &Handoff) {
    out.line("");
    out.line(format!(
        "{label}{} is connected in {}. Give the vendor these values:",
        handoff.vendor,
        handoff.tenant_label()
    ));
    for field in &handoff.fields {
        out.line(format!("  {}: {}", field.label, field.value));
    }
    if !handoff.next_steps.is_empty() {
        out.line("Next:");
        for (i, step) in handoff.next_steps.iter().enumerate() {
            out.line(format!("  {}. {step}", i + 1));
        }
    }
    let id = &handoff.connection_id;
    out.line(format!("Connection id: {id}"));
    if handoff
        .next_steps
        .iter()
        .any(|s| s.contains("export the certificate as a PFX"))
    {
        out.line(format!(
            "The certificate's private key is in this computer's credential store. To hand it over: appgrant-cli export-cert {id} --pfx"
        ));
    }
    if handoff.fields.iter().any(|f| f.hidden) {
        out.line(format!(
            "The client secret is in this computer's credential store. To hand it over: appgrant-cli export {id} --format {} --include-secret -o FILE",
            handoff.formats().first().map_or("txt", |f| f.extension())
        ));
    }
}
