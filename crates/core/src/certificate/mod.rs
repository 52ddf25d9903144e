//! Certificate credentials: what AppGrant knows about an X.509 certificate on an app
//! registration, and the errors of reading, making, signing with and exporting one.
//!
//! - [`import`] reads a certificate the vendor sent (`.cer` DER, `.pem`, or base64) and refuses
//!   anything holding a private key;
//! - [`generate`] makes an RSA 2048 key pair and a self-signed certificate locally;
//! - [`jwt`] signs the client assertion (token requests) and the proof of possession (`addKey`);
//! - [`export`] writes a generated certificate as a password-protected PFX or PEM files.
//!
//! The private key of a generated certificate lives in the OS credential store as PKCS#8 PEM
//! text (see [`key_account`]); it is a [`Secret`] everywhere else.

pub mod export;
pub mod generate;
pub mod import;
pub mod jwt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

pub use generate::GeneratedCertificate;
pub use import::PublicCertificate;

/// The shortest RSA key Microsoft accepts for app credentials, and AppGrant's floor.
pub const MIN_RSA_BITS: usize = 2048;

/// Who made the certificate (and so who holds its private key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateOrigin {
    /// Made by AppGrant; its private key is in this computer's credential store.
    Generated,
    /// Sent by the vendor; the vendor holds the private key, nothing secret is here.
    Vendor,
}

/// What the Review screen and `inspect_certificate` show about a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateInfo {
    /// The subject as written in the certificate (`CN=TonicDM Office 365 Token`).
    pub subject: String,
    /// SHA-1 thumbprint, upper-case hex, as the Entra portal shows it.
    pub thumbprint: String,
    /// SHA-256 thumbprint, upper-case hex.
    pub thumbprint_sha256: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// RSA modulus size in bits (0 for a key that is not RSA).
    pub key_bits: usize,
    /// Problems that block Apply (expired, a short key, longer than the tenant allows).
    pub problems: Vec<String>,
}

impl CertificateInfo {
    /// The problems that make this certificate unusable in a tenant whose policy allows
    /// certificates to live at most `max_days` days (None: no limit known).
    pub fn check(&mut self, now: DateTime<Utc>, max_days: Option<u32>) {
        self.problems.clear();
        if self.key_bits < MIN_RSA_BITS {
            self.problems.push(if self.key_bits == 0 {
                "The certificate's key is not an RSA key; Microsoft Entra app credentials need RSA (2048 bits or more). Ask the vendor for an RSA certificate.".to_string()
            } else {
                format!(
                    "The certificate's RSA key has {} bits; Microsoft needs at least {MIN_RSA_BITS}. Ask the vendor for a certificate with a 2048-bit (or longer) key.",
                    self.key_bits
                )
            });
        }
        if self.not_after <= now {
            self.problems.push(format!(
                "The certificate expired on {}. Ask the vendor for a current certificate.",
                self.not_after.date_naive()
            ));
        }
        if let Some(max) = max_days {
            let days = (self.not_after - self.not_before.max(now)).num_days();
            if days > i64::from(max) {
                self.problems.push(format!(
                    "The certificate is valid for {days} more days, but your organisation's app management policy allows certificates to live at most {max} days. Ask the vendor for a certificate that expires sooner, or let AppGrant generate one."
                ));
            }
        }
    }
}

/// What a connection remembers about its certificate (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateMeta {
    /// The key credential's `keyId` on the application.
    pub key_id: String,
    pub thumbprint: String,
    pub thumbprint_sha256: String,
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub origin: CertificateOrigin,
    /// The public certificate (base64 DER): exports and the client assertion's thumbprint
    /// need it, and it is not secret.
    #[serde(default)]
    pub certificate_base64: String,
}

/// A certificate as lists show it: thumbprint, expiry and who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateBadge {
    pub thumbprint: String,
    pub not_after: DateTime<Utc>,
    pub origin: CertificateOrigin,
}

impl From<&CertificateMeta> for CertificateBadge {
    fn from(c: &CertificateMeta) -> Self {
        Self {
            thumbprint: c.thumbprint.clone(),
            not_after: c.not_after,
            origin: c.origin,
        }
    }
}

/// Upper-case hex SHA-1 and SHA-256 thumbprints of a DER certificate.
pub fn thumbprints(der: &[u8]) -> (String, String) {
    (
        hex_upper(&Sha1::digest(der)),
        hex_upper(&Sha256::digest(der)),
    )
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The keyring account holding a generated certificate's private key.
pub fn key_account(tenant_id: &str, app_id: &str, thumbprint: &str) -> String {
    format!("certificate/{tenant_id}/{app_id}/{thumbprint}")
}

/// A private key as the credential store keeps it: PKCS#8 PEM text.
pub type PrivateKeyPem = Secret<String>;

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("This file holds a private key. Ask the vendor for the public certificate only (.cer); never send private keys.")]
    PrivateKey,
    #[error("{file} is not a certificate AppGrant can read ({reason}).")]
    Unreadable { file: String, reason: String },
    #[error("{file} is empty.")]
    Empty { file: String },
    #[error("the certificate subject \"{subject}\" cannot be used: {reason}")]
    Subject { subject: String, reason: String },
    #[error("making the certificate failed: {0}")]
    Generate(String),
    #[error("the stored private key cannot be read: {0}")]
    Key(String),
    #[error("writing the export failed: {0}")]
    Export(String),
}

impl CertificateError {
    /// What the person should do next.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::PrivateKey => "Delete the file you received, ask the vendor to create a new key pair, and have them send only the public certificate (.cer or .pem with BEGIN CERTIFICATE).",
            Self::Unreadable { .. } | Self::Empty { .. } => "Choose the .cer or .pem file the vendor sent (a public X.509 certificate), or let AppGrant generate one.",
            Self::Subject { .. } => "Write the subject as CN=Name (optionally followed by , O=Organisation).",
            Self::Generate(_) | Self::Key(_) => "Run again; if it keeps failing, attach appgrant.log to a support ticket.",
            Self::Export(_) => "Check that the export folder is writable and the disk is not full, then export again.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(bits: usize, days_left: i64, lifetime_days: i64) -> CertificateInfo {
        let now = Utc::now();
        CertificateInfo {
            subject: "CN=x".into(),
            thumbprint: String::new(),
            thumbprint_sha256: String::new(),
            not_before: now + chrono::TimeDelta::days(days_left - lifetime_days),
            not_after: now + chrono::TimeDelta::days(days_left),
            key_bits: bits,
            problems: vec![],
        }
    }

    #[test]
    fn a_good_certificate_has_no_problems() {
        let mut i = info(2048, 300, 365);
        i.check(Utc::now(), Some(400));
        assert!(i.problems.is_empty(), "{:?}", i.problems);
    }

    #[test]
    fn short_keys_expired_and_too_long_lived_certificates_are_named() {
        let mut i = info(1024, -1, 800);
        i.check(Utc::now(), Some(365));
        let all = i.problems.join("\n");
        assert!(all.contains("1024 bits"), "{all}");
        assert!(all.contains("expired"), "{all}");
        let mut long = info(4096, 700, 730);
        long.check(Utc::now(), Some(365));
        assert_eq!(long.problems.len(), 1);
        assert!(long.problems[0].contains("at most 365 days"));
    }

    #[test]
    fn thumbprints_are_upper_hex_of_the_der() {
        let (sha1, sha256) = thumbprints(b"abc");
        assert_eq!(sha1, "A9993E364706816ABA3E25717850C26C9CD0D89D");
        assert_eq!(sha256.len(), 64);
        assert!(sha256.starts_with("BA7816BF"));
    }
}
