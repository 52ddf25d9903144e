//! `record`: a saved connection's change record (what AppGrant created or changed, in the
//! portal's words, with ids), as Markdown or a printable HTML page. It holds no secret.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use appgrant_core::recipe::Recipe;
use appgrant_core::record::{record_file, RecordFormat};
use chrono::Utc;
use serde_json::json;

use crate::context::{blocking, read_recipe, Context};
use crate::error::{CliError, Code};
use crate::out::Out;

/// The change record's formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Markdown.
    Md,
    /// A standalone HTML page to print or keep.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The connection id (see `connections`).
    id: String,
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Write to this file (or into this folder, under the record's own name) instead of
    /// standard output.
    #[arg(long = "out", short = 'o', value_name = "PATH")]
    out: Option<std::path::PathBuf>,
    /// The recipe file, for a connection made with a recipe that is not built in (the
    /// record then says what each permission means).
    #[arg(long, value_name = "FILE")]
    recipe: Option<std::path::PathBuf>,
}

fn io_error(path: &Path, e: &std::io::Error) -> CliError {
    CliError::new(
        Code::Export,
        format!("Could not write {}: {e}", path.display()),
        Some("Check the folder exists and is writable."),
    )
}

pub async fn run(out: &Out, args: RecordArgs) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let vault = ctx.vault().await?;
    let connection = {
        let (vault, id) = (Arc::clone(&vault), args.id.clone());
        blocking(move || vault.require(&id)).await??
    };
    let mut recipes: Vec<Recipe> = appgrant_core::recipe::builtin()?;
    if let Some(file) = &args.recipe {
        recipes.insert(0, read_recipe(file)?);
    }
    let format = match args.format {
        Format::Md => RecordFormat::Md,
        Format::Html => RecordFormat::Html,
    };
    let file = record_file(&connection, &recipes, format, Utc::now());
    let Some(target) = args.out else {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(file.text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| {
                CliError::new(
                    Code::Export,
                    format!("Could not print the record: {e}"),
                    None,
                )
            });
    };
    let path = if target.is_dir() {
        target.join(&file.file_name)
    } else {
        target
    };
    std::fs::write(&path, &file.text).map_err(|e| io_error(&path, &e))?;
    if out.json {
        out.json(&json!({ "path": path.display().to_string(), "format": format.extension() }))?;
    } else {
        out.line(format!("Wrote the change record to {}.", path.display()));
    }
    Ok(())
}
