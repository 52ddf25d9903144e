//! `appgrant-cli`: AppGrant for helpdesk staff and scripts.
//!
//! Like the desktop shell, this holds no logic: each command parses its arguments, calls
//! `appgrant-core`, and prints the result (plain text, or JSON with `--json`). Failures print
//! `{ code, message, hint }` and exit with the status of their kind (see [`error`]).

mod cloud;
mod commands;
mod context;
mod error;
mod out;
mod signin;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::out::Out;

#[derive(Debug, Parser)]
#[command(
    name = "appgrant-cli",
    version,
    about = "Register SaaS vendor apps in a Microsoft Entra tenant, from the command line.",
    after_help = "Data folder: the desktop app's (override with APPGRANT_DATA_DIR). Logs: APPGRANT_LOG=debug."
)]
struct Cli {
    /// Print results (and errors, on stderr) as JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the built-in vendor recipes: apps, what the vendor will be able to do, risk.
    Recipes,
    /// Work with recipe files.
    Recipe {
        #[command(subcommand)]
        command: RecipeCommand,
    },
    /// List saved connections with their tenant, apps, next secret expiry and state.
    Connections {
        /// Only connections with a secret expiring within this many days (`30d`); exit
        /// status 12 when any is listed, so a scheduled task can alert.
        #[arg(long, value_name = "DAYS", value_parser = commands::lifecycle::parse_days)]
        expiring_within: Option<i64>,
        /// Only this tenant (id or domain).
        #[arg(long)]
        tenant: Option<String>,
        /// Only this vendor (name or recipe id).
        #[arg(long)]
        vendor: Option<String>,
    },
    /// Read a connection's tenant: apps, secrets, permissions and limits as saved?
    Check(commands::lifecycle::CheckArgs),
    /// Rotate client secrets with overlap; `rotate finish` removes the old ones.
    Rotate(commands::lifecycle::RotateArgs),
    /// Write the vendor hand-off of a saved connection (secrets hidden unless asked for).
    Export {
        /// The connection id (see `connections`).
        id: String,
        #[arg(long, value_enum)]
        format: Format,
        /// Put the client secret(s) into the output. Without this they are hidden.
        #[arg(long)]
        include_secret: bool,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// The recipe file, for a connection made with a recipe that is not built in.
        #[arg(long, value_name = "FILE")]
        recipe: Option<std::path::PathBuf>,
    },
    /// Sign in, review the plan, apply it, verify and save the connection.
    Connect(commands::connect::ConnectArgs),
    /// Delete a connection's apps from its tenant, its secrets and AppGrant's record of it.
    Remove {
        /// The connection id (see `connections`).
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Sign in with a code on another device instead of opening a browser.
        #[arg(long)]
        device_code: bool,
        /// Where the tenant is (default: where the connection was made).
        #[command(flatten)]
        cloud: cloud::CloudArgs,
    },
    /// Remove everything AppGrant stored in the OS credential store (and, with --data-folder,
    /// its data folder): for a clean uninstall.
    Forget(commands::forget::ForgetArgs),
}

#[derive(Debug, Subcommand)]
enum RecipeCommand {
    /// Validate a recipe file; problems name the file, line and fix (exit status 2).
    Check {
        /// The recipe file (TOML).
        file: std::path::PathBuf,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// The hand-off sheet as Markdown.
    Md,
    /// The hand-off sheet as plain text.
    Txt,
    /// NAME=value lines (vendors that take environment variables).
    Env,
    /// The hand-off as JSON.
    Json,
    /// A calendar reminder before the secret expires (never contains a secret).
    Ics,
}

impl From<Format> for appgrant_core::export::ExportFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Md => Self::Markdown,
            Format::Txt => Self::Text,
            Format::Env => Self::Env,
            Format::Json => Self::Json,
            Format::Ics => Self::Ics,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("APPGRANT_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let out = Out::new(cli.json);
    let result = match cli.command {
        Command::Recipes => commands::recipes::list(&out),
        Command::Recipe {
            command: RecipeCommand::Check { file },
        } => commands::recipes::check(&out, &file),
        Command::Connections {
            expiring_within,
            tenant,
            vendor,
        } => {
            let filter = appgrant_core::lifecycle::Filter {
                tenant,
                vendor,
                due_within_days: expiring_within,
            };
            commands::connections::list(&out, &filter).await
        }
        Command::Check(args) => commands::lifecycle::check(&out, args).await,
        Command::Rotate(args) => commands::lifecycle::rotate(&out, args).await,
        Command::Export {
            id,
            format,
            include_secret,
            output,
            recipe,
        } => {
            commands::connections::export(
                &out,
                &id,
                format.into(),
                include_secret,
                output.as_deref(),
                recipe.as_deref(),
            )
            .await
        }
        Command::Connect(args) => commands::connect::run(&out, args).await,
        Command::Forget(args) => commands::forget::run(&out, args).await,
        Command::Remove {
            id,
            yes,
            device_code,
            cloud,
        } => commands::connections::remove(&out, &id, yes, device_code, &cloud).await,
    };
    match result {
        Ok(()) if out.is_due() => ExitCode::from(error::Code::Due.exit_status()),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::from(e.code.exit_status())
        }
    }
}
