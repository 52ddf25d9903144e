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
pub struct Cli {
    /// Print results (and errors, on stderr) as JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum ReportCommand {
    /// Every app registration's secrets and certificates with their expiry (the whole
    /// tenant, not only AppGrant's connections), soonest first.
    Expiring(commands::adopt::ExpiringArgs),
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
    /// Find vendor apps made by hand in a tenant, or adopt one (--app … --recipe …).
    Adopt(commands::adopt::AdoptArgs),
    /// Tenant-wide reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
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
    /// Write a connection's change record (what AppGrant created or changed, with ids; no
    /// secret) as Markdown or a printable HTML page.
    Record(commands::record::RecordArgs),
    /// Sign in, review the plan, apply it, verify and save the connection.
    Connect(commands::connect::ConnectArgs),
    /// Export a generated certificate of a connection: a password-protected PFX (the password
    /// is printed once) or PEM files (certificate + private key).
    ExportCert(commands::certificate::ExportCertArgs),
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
    appgrant_core::panic_hook::install("appgrant-cli");
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("APPGRANT_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
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
        Command::Adopt(args) => commands::adopt::run(&out, args).await,
        Command::Report {
            command: ReportCommand::Expiring(args),
        } => commands::adopt::expiring(&out, args).await,
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
        Command::Record(args) => commands::record::run(&out, args).await,
        Command::Connect(args) => commands::connect::run(&out, args).await,
        Command::ExportCert(args) => commands::certificate::export(&out, args).await,
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

/// Parses a command line as `main` does (usage errors, `--help` and `--version` come back as
/// `Err`). The replay test below throws the `fuzz/corpus/cli_args` corpus and generated argv
/// at it (scripts/fuzz.sh: 10^6 of them).
pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
}

#[cfg(test)]
mod fuzz_replay {
    //! Stable-toolchain fuzzing of the command line: the `fuzz/corpus/cli_args` corpus (argv
    //! split on NUL bytes) plus generated command lines built from the CLI's own words and
    //! hostile values: never a panic. (A binary crate cannot be a cargo-fuzz target without
    //! splitting it into a library; this runs the same parser.)

    use super::parse_args;

    fn argv(data: &[u8]) -> Vec<String> {
        std::iter::once("appgrant-cli".to_string())
            .chain(
                data.split(|b| *b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned()),
            )
            .collect()
    }

    #[test]
    fn corpus_and_generated_command_lines_never_panic() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cli_args");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        assert!(seeds.len() >= 5, "the corpus is in {}", dir.display());
        let words: [&[u8]; 16] = [
            b"connect",
            b"tonicdm",
            b"--input",
            b"=",
            b"portal_url=https://x",
            b"--tenant",
            b"--practice",
            b"--json",
            b"export",
            b"--format",
            b"env",
            b"-o",
            b"--lifetime-months",
            b"99999999999999999999",
            b"--login-url",
            b"\xff\x00",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // scripts/fuzz.sh asks for 10^6 (APPGRANT_FUZZ_CASES); cargo test runs 3000.
        let generated: usize = std::env::var("APPGRANT_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        for _ in 0..generated {
            let mut case = Vec::new();
            for _ in 0..(next() % 8) {
                case.extend_from_slice(words[(next() % 16) as usize]);
                case.push(0);
            }
            seeds.push(case);
        }
        for seed in &seeds {
            let _ = parse_args(argv(seed));
        }
        println!("cli_args: {} command lines parsed, no panic", seeds.len());
    }
}
