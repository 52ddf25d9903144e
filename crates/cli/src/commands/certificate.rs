//! `export-cert`: a connection's generated certificate as a password-protected PFX (the
//! password printed once, never stored) or as PEM files. A vendor's certificate has nothing
//! to export: the vendor holds its private key.

use std::path::PathBuf;
use std::sync::Arc;

use appgrant_core::certificate::export::CertificateFormat;
use appgrant_core::export::certificate::export_certificate;
use serde_json::json;

use crate::context::{blocking, Context};
use crate::error::CliError;
use crate::out::Out;

#[derive(Debug, clap::Args)]
pub struct ExportCertArgs {
    /// The connection id (see `connections`).
    id: String,
    /// A password-protected PFX (PKCS#12, AES-256); the password is printed once.
    #[arg(long, conflicts_with = "pem", required_unless_present = "pem")]
    pfx: bool,
    /// PEM files: the certificate and its private key (readable by you only).
    #[arg(long)]
    pem: bool,
    /// The app's key in the recipe, for recipes with several apps (default: the only
    /// certificate).
    #[arg(long, value_name = "KEY")]
    app: Option<String>,
    /// The folder to write into (default: the current folder).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

pub async fn export(out: &Out, args: ExportCertArgs) -> Result<(), CliError> {
    let ctx = Context::from_env()?;
    let vault = ctx.vault().await?;
    let connection = {
        let (vault, id) = (Arc::clone(&vault), args.id.clone());
        blocking(move || vault.require(&id)).await??
    };
    let format = if args.pem {
        CertificateFormat::Pem
    } else {
        CertificateFormat::Pfx
    };
    let dir = args.output_dir.unwrap_or_else(|| PathBuf::from("."));
    let app = args.app;
    let (written, meta) = {
        let vault = Arc::clone(&vault);
        blocking(move || export_certificate(&vault, &connection, app.as_deref(), &dir, format))
            .await??
    };
    let paths: Vec<String> = written
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if out.json {
        return out.json(&json!({
            "paths": paths,
            "password": written.password.as_ref().map(|p| p.expose().clone()),
            "thumbprint": meta.thumbprint,
            "not_after": meta.not_after,
        }));
    }
    for path in &paths {
        out.line(format!("Wrote {path}"));
    }
    if let Some(password) = &written.password {
        out.line(format!(
            "PFX password (shown once, not stored): {}",
            password.expose()
        ));
        out.line(
            "Send the file and the password to the vendor separately, never in the same message.",
        );
    } else {
        out.line("The .key.pem file holds the private key: send it only to the vendor, over a secure channel.");
    }
    out.line(format!(
        "Certificate thumbprint {}, expires {}.",
        meta.thumbprint,
        meta.not_after.date_naive()
    ));
    Ok(())
}
