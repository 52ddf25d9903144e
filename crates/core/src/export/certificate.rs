//! Exporting a connection's generated certificate on purpose (Done, the dashboard and
//! `appgrant-cli export-cert`): find the app's certificate, refuse a vendor's (the vendor holds
//! its key), read the private key from the credential store and write the PFX or PEM files
//! (see [`crate::certificate::export`]). Blocking: call it off the async workers.

use std::path::Path;

use base64::Engine;

use crate::certificate::export::{write, CertificateExport, CertificateFormat};
use crate::certificate::{CertificateError, CertificateMeta, CertificateOrigin};
use crate::vault::{Connection, Vault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum CertificateExportError {
    #[error("This connection has no certificate to export.")]
    NoCertificate,
    #[error("This connection has several certificates ({0}).")]
    Several(String),
    #[error(
        "The vendor holds the private key of this certificate, so there is nothing to export."
    )]
    VendorHoldsKey,
    #[error("The certificate's private key is not in this computer's credential store.")]
    KeyMissing,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
}

impl CertificateExportError {
    pub fn hint(&self) -> String {
        match self {
            Self::NoCertificate => "Connect with a certificate (Review, or --certificate generate) to give the app one.".into(),
            Self::Several(keys) => format!("Choose the app: {keys}."),
            Self::VendorHoldsKey => "Nothing secret needs to be sent: tell the vendor the app is ready.".into(),
            Self::KeyMissing => "Rotate the certificate from the connections list to make and store a new one.".into(),
            Self::Vault(e) => e.hint().into(),
            Self::Certificate(e) => e.hint().into(),
        }
    }
}

/// Writes the generated certificate of `app_key` (or of the connection's only certificate
/// app) into `dir` as `{vendor}-{app}-certificate.pfx` (with a new random password) or as
/// `.crt.pem` + `.key.pem`. Returns what was written and the certificate's public facts.
pub fn export_certificate(
    vault: &Vault,
    connection: &Connection,
    app_key: Option<&str>,
    dir: &Path,
    format: CertificateFormat,
) -> Result<(CertificateExport, CertificateMeta), CertificateExportError> {
    let candidates: Vec<_> = connection
        .apps
        .iter()
        .filter(|a| a.certificate.is_some())
        .filter(|a| app_key.is_none_or(|k| a.key == k))
        .collect();
    let app = match candidates.as_slice() {
        [one] => *one,
        [] => return Err(CertificateExportError::NoCertificate),
        many => {
            let keys: Vec<&str> = many.iter().map(|a| a.key.as_str()).collect();
            return Err(CertificateExportError::Several(keys.join(", ")));
        }
    };
    let meta = app
        .certificate
        .clone()
        .ok_or(CertificateExportError::NoCertificate)?;
    if meta.origin == CertificateOrigin::Vendor {
        return Err(CertificateExportError::VendorHoldsKey);
    }
    let key = vault
        .load_certificate_key(connection, &app.key)?
        .ok_or(CertificateExportError::KeyMissing)?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&meta.certificate_base64)
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    let base = format!(
        "{}-{}-certificate",
        file_part(&connection.vendor),
        file_part(&app.display_name)
    );
    Ok((write(dir, &base, &key, &der, format)?, meta))
}

fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
