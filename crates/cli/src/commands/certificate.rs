//! `export-cert`: a connection's generated certificate as a password-protected PFX (the
//! password printed once, never stored) or as PEM files. A vendor's certificate has nothing
//! to export: the vendor holds its private key.

use std::path::PathBuf;
use std::sync::Arc;

use appgrant_core::certificate::export::{write, CertificateFormat};
use appgrant_core::certificate::CertificateOrigin;
use base64::Engine;
use serde_json::json;

use crate::context::{blocking, Context};
use crate::error::{CliError, Code};
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
    let with_certificate: Vec<_> = connection
        .apps
        .iter()
        .filter(|a| a.certificate.is_some())
        .filter(|a| args.app.as_ref().is_none_or(|k| *k == a.key))
        .collect();
    let app = match with_certificate.as_slice() {
        [one] => *one,
        [] => {
            return Err(CliError::new(
                Code::NotFound,
                "This connection has no certificate to export.",
                Some("Connect with --certificate generate to give the app a certificate."),
            ))
        }
        _ => {
            return Err(CliError::new(
                Code::InvalidInput,
                "This connection has several certificates.",
                Some(&format!(
                    "Choose one with --app {}.",
                    with_certificate
                        .iter()
                        .map(|a| a.key.as_str())
                        .collect::<Vec<_>>()
                        .join(" or --app ")
                )),
            ))
        }
    };
    let meta = app
        .certificate
        .clone()
        .ok_or_else(|| CliError::internal("no certificate"))?;
    if meta.origin == CertificateOrigin::Vendor {
        return Err(CliError::new(
            Code::Export,
            "The vendor holds the private key of this certificate, so there is nothing to export.",
            Some("Nothing secret needs to be sent: tell the vendor the app is ready."),
        ));
    }
    let key = {
        let (vault, c, k) = (Arc::clone(&vault), connection.clone(), app.key.clone());
        blocking(move || vault.load_certificate_key(&c, &k)).await??
    }
    .ok_or_else(|| {
        CliError::new(
            Code::Storage,
            "The certificate's private key is not in this computer's credential store.",
            Some("Rotate the certificate to make and store a new one."),
        )
    })?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&meta.certificate_base64)
        .map_err(CliError::internal)?;
    let format = if args.pem {
        CertificateFormat::Pem
    } else {
        CertificateFormat::Pfx
    };
    let dir = args.output_dir.unwrap_or_else(|| PathBuf::from("."));
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let base = format!(
        "{}-{}-certificate",
        clean(&connection.vendor),
        clean(&app.display_name)
    );
    let written = write(&dir, &base, &key, &der, format)?;
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
