//! `connections`, `export` and `remove`: what is saved, and what to do with it.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use appgrant_core::certificate::CertificateOrigin;
use appgrant_core::cloud::Cloud;
use appgrant_core::connect::{removal_summary, remove as remove_connection};
use appgrant_core::export::{AppSecrets, ExportFormat, Handoff};
use appgrant_core::graph::{DelegatedToken, GraphClient};
use appgrant_core::identity::Access;
use appgrant_core::lifecycle::{CredentialRole, Filter, Lifecycle, Severity, EXPIRING_SOON_DAYS};
use appgrant_core::vault::Connection;
use chrono::Utc;
use serde_json::json;

use crate::cloud::{describe, CloudArgs};
use crate::context::{blocking, find_recipe, read_recipe, Context};
use crate::error::{CliError, Code};
use crate::out::{confirm, Out};
use crate::signin;

fn tenant_label(c: &Connection) -> &str {
    c.tenant_domain.as_deref().unwrap_or(&c.tenant_id)
}

/// A connection's cloud for `connections --json`: `{id, label}` plus the custom addresses;
/// `null` for the in-process practice tenant.
fn cloud_of(c: &Connection) -> serde_json::Value {
    if c.practice && c.cloud.is_none() {
        return serde_json::Value::Null;
    }
    let cloud = Cloud::of(c);
    let mut value = json!({ "id": cloud.id(), "label": cloud.label() });
    if let Cloud::Custom {
        login,
        graph,
        ca_file,
        ..
    } = &cloud
    {
        value["login_url"] = json!(login);
        value["graph_url"] = json!(graph);
        value["ca_file"] = json!(ca_file);
    }
    value
}

/// `connections`: saved connections with their next secret expiry and state, filtered.
/// With `--expiring-within`, listing any marks the run "due" (exit status 12).
pub async fn list(out: &Out, filter: &Filter) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let vault = ctx.vault().await?;
    let now = Utc::now();
    // Where each connection's tenant lives (the overview rows carry only the cloud's id).
    let saved: HashMap<String, Connection> = {
        let vault = Arc::clone(&vault);
        blocking(move || vault.list())
            .await??
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect()
    };
    let life = Lifecycle::with_vault(vault);
    let rows = filter.apply(life.overview(now, ctx.persistent_secrets).await?);
    if filter.due_within_days.is_some() && !rows.is_empty() {
        out.mark_due();
    }
    if out.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "recipe_id": c.recipe_id,
                    "vendor": c.vendor,
                    "tenant_id": c.tenant.id,
                    "tenant_domain": c.tenant.domain,
                    "practice": c.tenant.practice,
                    "cloud": saved.get(&c.id).map(cloud_of),
                    "apps": c.apps.iter().map(|a| json!({
                        "key": a.key,
                        "display_name": a.name,
                        "client_id": a.client_id,
                        "secret_expires_at": a.credentials.iter().find(|s| s.role == CredentialRole::Current).map(|s| s.expires_at),
                        "certificate": a.certificate,
                        "rotation": a.rotation,
                    })).collect::<Vec<_>>(),
                    "created_at": c.created_at,
                    "verified_at": c.verified_at,
                    "last_checked_at": c.last_checked_at,
                    "next_expiry": c.next_expiry,
                    "days_left": c.days_left,
                    "expiring_soon": c.due_within(EXPIRING_SOON_DAYS),
                    "severity": c.severity,
                    "states": c.states,
                })
            })
            .collect();
        return out.json(&rows);
    }
    if rows.is_empty() {
        out.line(match filter.due_within_days {
            Some(days) => format!("No saved connection matches (none expires within {days} days)."),
            None if *filter != Filter::default() => "No saved connection matches.".to_string(),
            None => "No saved connections. Make one with `appgrant-cli connect`.".to_string(),
        });
        return Ok(());
    }
    for c in &rows {
        let practice = if c.tenant.practice { " [PRACTICE]" } else { "" };
        out.line(format!(
            "{}  {} in {}{practice}",
            c.id,
            c.vendor,
            c.tenant.label()
        ));
        if let Some(home) = saved.get(&c.id).filter(|s| !s.practice) {
            out.line(format!("    cloud: {}", describe(&Cloud::of(home))));
        }
        for app in &c.apps {
            out.line(format!("    app: {} ({})", app.name, app.client_id));
            if let Some(cert) = &app.certificate {
                let origin = match cert.origin {
                    CertificateOrigin::Generated => "made by AppGrant",
                    CertificateOrigin::Vendor => "the vendor's",
                };
                out.line(format!(
                    "      certificate ({origin}): thumbprint {}, expires {} ({} days)",
                    cert.thumbprint,
                    cert.not_after.date_naive(),
                    (cert.not_after - now).num_days()
                ));
            }
        }
        if c.next_expiry.is_none() {
            out.line("    no client secret");
        }
        for state in &c.states {
            let mark = match state.severity {
                Severity::Critical => "ERROR: ",
                Severity::Warning => "WARNING: ",
                _ => "",
            };
            out.line(format!("    {mark}{}", state.text));
        }
    }
    Ok(())
}

/// `export`: the vendor hand-off of a saved connection. Secrets only with `include_secret`.
pub async fn export(
    out: &Out,
    id: &str,
    format: ExportFormat,
    include_secret: bool,
    output: Option<&Path>,
    recipe_file: Option<&Path>,
) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let vault = ctx.vault().await?;
    let connection = {
        let (vault, id) = (Arc::clone(&vault), id.to_string());
        blocking(move || vault.require(&id)).await??
    };
    let recipe = match recipe_file {
        Some(file) => read_recipe(file)?,
        None => find_recipe(&connection.recipe_id).map_err(|e| {
            if e.code == Code::NotFound {
                CliError::new(
                    Code::NotFound,
                    format!(
                        "This connection was made with the recipe \"{}\", which is not built in.",
                        connection.recipe_id
                    ),
                    Some("Pass the recipe file with --recipe FILE."),
                )
            } else {
                e
            }
        })?,
    };
    if include_secret && !format.can_include_secrets() {
        return Err(CliError::new(
            Code::InvalidInput,
            format!("{format} never contains a secret."),
            Some("Leave out --include-secret for this format."),
        ));
    }
    let secrets = if include_secret {
        let (vault, c) = (Arc::clone(&vault), connection.clone());
        Some(blocking(move || AppSecrets::from_vault(&vault, &c)).await??)
    } else {
        None
    };
    let handoff = Handoff::build(&recipe, &connection, secrets.as_ref())?;
    let text = handoff.render(format, Utc::now()).map_err(|e| {
        let mut error = CliError::from(e);
        if error.detail.as_deref() == Some("format_not_offered") {
            let offered: Vec<&str> = handoff.formats().iter().map(|f| f.extension()).collect();
            error.hint = Some(format!(
                "{} takes: --format {}.",
                handoff.vendor,
                offered.join(", ")
            ));
        }
        error
    })?;
    match output {
        Some(path) => {
            write_file(path, &text, include_secret)?;
            if include_secret {
                out.warn(format!(
                    "{} contains client secrets. Give it to the vendor over a secure channel, then delete it.",
                    path.display()
                ));
            }
            if out.json {
                out.json(&json!({ "path": path.display().to_string(), "format": format.extension(), "secrets_included": include_secret }))?;
            } else {
                out.line(format!("Wrote {} to {}.", format, path.display()));
            }
        }
        None => {
            if include_secret {
                let where_to = if std::io::stdout().is_terminal() {
                    "on this screen; clear the terminal afterwards"
                } else {
                    "in the output"
                };
                out.warn(format!(
                    "the client secret is shown {where_to}. Anyone who has it can act as {}.",
                    recipe.vendor
                ));
            }
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| {
                    CliError::new(
                        Code::Export,
                        format!("Could not write the export to standard output: {e}"),
                        Some("Write it to a file with -o FILE instead."),
                    )
                })?;
        }
    }
    Ok(())
}

/// Writes an export; a file with secrets is readable by its owner only (Unix).
fn write_file(path: &Path, text: &str, secret: bool) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| {
            CliError::new(
                Code::Export,
                format!("Could not write {}: {e}", path.display()),
                Some("Check the folder exists and is writable."),
            )
        })
}

/// `remove`: shows what will be deleted, asks, signs in to the connection's tenant, removes.
pub async fn remove(
    out: &Out,
    id: &str,
    yes: bool,
    device_code: bool,
    cloud: &CloudArgs,
) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let vault = ctx.vault().await?;
    let connection = {
        let (vault, id) = (Arc::clone(&vault), id.to_string());
        blocking(move || vault.require(&id)).await??
    };
    let home = if connection.practice {
        cloud.check_not_practice()?;
        None
    } else {
        Some(cloud.resolve(connection.cloud.clone())?)
    };
    let summary = removal_summary(&connection);
    let practice = if connection.practice {
        " [PRACTICE]"
    } else {
        ""
    };
    out.line(format!(
        "Removing {} from {}{practice} deletes:",
        connection.vendor,
        tenant_label(&connection)
    ));
    for line in &summary {
        out.line(format!("  - {line}"));
    }
    if connection.practice {
        out.line("PRACTICE: the practice tenant lived only while `connect` ran, so its apps are already gone; this removes AppGrant's record and secrets.");
    }
    confirm("Remove this connection?", yes).await?;

    let cancel = signin::interrupt();
    let mut tenant = match home {
        None => signin::practice(&ctx).await?,
        Some(home) => signin::real(&ctx, &connection.tenant_id, home, cloud.client_id())?,
    };
    let session = tenant.sign_in(out, device_code, &cancel).await?;
    if session.tenant_id != connection.tenant_id {
        return Err(CliError::new(
            Code::SignIn,
            format!(
                "You signed in to the tenant {}, but this connection is in {}.",
                session.tenant_id, connection.tenant_id
            ),
            Some("Sign in with an account of the connection's tenant."),
        ));
    }
    let graph = GraphClient::new(
        tenant.flow.http_client()?,
        &tenant.flow.endpoints()?.graph,
        Arc::new(DelegatedToken {
            auth: tenant.flow.authenticator()?,
            access: Access::Apply,
        }),
    )
    .with_cancel(cancel);
    remove_connection(&graph, &vault, &ctx.data_dir, &connection).await?;
    if out.json {
        out.json(&json!({ "removed": connection.id, "deleted": summary }))?;
    } else {
        out.line(format!("Removed the {} connection.", connection.vendor));
    }
    Ok(())
}
