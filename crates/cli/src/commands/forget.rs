//! `forget --all`: removes everything AppGrant keeps on this computer's credential store
//! (sign-ins and client secrets) and, with `--data-folder`, its data folder and the desktop
//! app's log folder. For a clean uninstall; the apps in the tenants are not touched
//! (`remove <id>` deletes those).

use std::path::PathBuf;

use appgrant_core::identity::forget_all;
use appgrant_core::vault::{Vault, VaultError};
use serde_json::json;

use crate::context::{blocking, Context, APP_IDENTIFIER};
use crate::error::{CliError, Code};
use crate::out::{confirm, Out};

#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    /// Everything AppGrant stored in the OS credential store (required: there is no partial
    /// forget yet).
    #[arg(long, required = true)]
    all: bool,
    /// Also delete the data folder (saved connections, journals) and the desktop app's logs.
    #[arg(long)]
    data_folder: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

pub async fn run(out: &Out, args: ForgetArgs) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let connections = saved_connections(out, &ctx).await?;
    out.line("This removes from this computer:");
    out.line("  - every AppGrant sign-in and client secret in the OS credential store");
    let folders = if args.data_folder {
        folders_to_delete(&ctx)
    } else {
        Vec::new()
    };
    if args.data_folder {
        out.line(format!(
            "  - {} saved connection(s) and the folders: {}",
            connections.len(),
            folders
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.line(
        "The vendors' apps stay registered in their tenants; `remove <id>` deletes those first.",
    );
    let question = if args.data_folder {
        "Forget everything AppGrant stored here?"
    } else {
        "Forget every AppGrant secret stored here?"
    };
    confirm(question, args.yes).await?;

    let named = connections
        .iter()
        .flat_map(|c| c.secret_refs())
        .filter_map(|r| r.account().ok());
    let named: Vec<String> = named.collect();
    let store = std::sync::Arc::clone(&ctx.secrets);
    let removed = blocking(move || forget_all(store.as_ref(), named))
        .await?
        .map_err(VaultError::from)?;
    let mut deleted = Vec::new();
    for folder in folders {
        if remove_folder(folder.clone()).await? {
            deleted.push(folder.display().to_string());
        }
    }

    if out.json {
        return out.json(&json!({
            "credential_store_entries_removed": removed.len(),
            "folders_removed": deleted,
        }));
    }
    out.line(format!(
        "Removed {} secret(s) from the OS credential store.",
        removed.len()
    ));
    for folder in &deleted {
        out.line(format!("Deleted {folder}."));
    }
    Ok(())
}

/// The data folder, and (unless `APPGRANT_DATA_DIR` points elsewhere, as in tests) the
/// desktop app's log folder where Tauri's `app_log_dir()` puts it: inside the data folder on
/// Linux, `%LOCALAPPDATA%\app.appgrant.desktop` on Windows, `~/Library/Logs/app.appgrant.desktop`
/// on macOS.
fn folders_to_delete(ctx: &Context) -> Vec<PathBuf> {
    let mut folders = vec![ctx.data_dir.clone()];
    if std::env::var_os("APPGRANT_DATA_DIR").is_none_or(|d| d.is_empty()) {
        let logs = if cfg!(target_os = "macos") {
            dirs::home_dir().map(|h| h.join("Library/Logs").join(APP_IDENTIFIER))
        } else {
            dirs::data_local_dir().map(|d| d.join(APP_IDENTIFIER))
        };
        folders.extend(logs.filter(|l| !l.starts_with(&ctx.data_dir)));
    }
    folders
}

/// The saved connections name their secrets (entries saved before AppGrant listed its
/// accounts). A damaged index does not stop a forget: the listed accounts are still removed.
async fn saved_connections(
    out: &Out,
    ctx: &Context,
) -> Result<Vec<appgrant_core::vault::Connection>, CliError> {
    if !ctx.data_dir.exists() {
        return Ok(Vec::new());
    }
    let (dir, store) = (ctx.data_dir.clone(), std::sync::Arc::clone(&ctx.secrets));
    match blocking(move || Vault::open(dir, store).and_then(|v| v.list())).await? {
        Ok(connections) => Ok(connections),
        Err(e) => {
            out.warn(format!(
                "the saved connections could not be read ({e}); forgetting the secrets AppGrant listed"
            ));
            Ok(Vec::new())
        }
    }
}

async fn remove_folder(dir: PathBuf) -> Result<bool, CliError> {
    let path = dir.clone();
    match blocking(move || std::fs::remove_dir_all(&path)).await? {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CliError::new(
            Code::Storage,
            format!(
                "The secrets were removed, but the folder {} could not be deleted: {e}",
                dir.display()
            ),
            Some("Close AppGrant (the desktop app may be using the folder) and run the command again, or delete the folder yourself."),
        )),
    }
}
