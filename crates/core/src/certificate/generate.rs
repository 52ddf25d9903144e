//! Making a certificate credential locally: an RSA 2048 key pair (the `rsa` crate) and a
//! self-signed X.509 certificate over it (`rcgen`, signing through ring), with the subject and
//! lifetime the recipe asks for. The private key comes back as a [`Secret`] PKCS#8 PEM, for
//! the credential store and nowhere else.

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};

use super::{thumbprints, CertificateError, CertificateInfo, PrivateKeyPem};
use crate::secret::Secret;

/// The parts of a subject AppGrant accepts, in `CN=..., O=...` form.
const SUBJECT_KEYS: [&str; 6] = ["CN", "O", "OU", "L", "ST", "C"];

/// A freshly made certificate and its private key.
pub struct GeneratedCertificate {
    pub der: Vec<u8>,
    pub key: PrivateKeyPem,
    pub info: CertificateInfo,
}

impl GeneratedCertificate {
    /// The public certificate as PEM text.
    pub fn certificate_pem(&self) -> String {
        certificate_pem(&self.der)
    }
}

/// PEM text of a DER certificate (64-character lines, as OpenSSL writes it).
pub fn certificate_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// Splits `CN=Name, O=Org` into its parts; the reason names what is wrong.
pub fn parse_subject(subject: &str) -> Result<Vec<(String, String)>, String> {
    let mut parts = Vec::new();
    for piece in subject.split(',') {
        let (key, value) = piece
            .split_once('=')
            .ok_or_else(|| format!("\"{}\" is not KEY=value", piece.trim()))?;
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim();
        if !SUBJECT_KEYS.contains(&key.as_str()) {
            return Err(format!("{key} is not one of {}", SUBJECT_KEYS.join(", ")));
        }
        if value.is_empty() || value.len() > 64 || value.chars().any(|c| c.is_control() || c == '"')
        {
            return Err(format!("the {key} value must be 1 to 64 plain characters"));
        }
        parts.push((key, value.to_string()));
    }
    if !parts.iter().any(|(k, _)| k == "CN") {
        return Err("it needs a CN= (the certificate's name)".to_string());
    }
    Ok(parts)
}

/// Makes an RSA 2048 key and a self-signed certificate valid from a few minutes ago (clock
/// skew) for `days` days. Blocking: about 0.1–1 s for the key.
pub fn generate(subject: &str, days: u32) -> Result<GeneratedCertificate, CertificateError> {
    let parts = parse_subject(subject).map_err(|reason| CertificateError::Subject {
        subject: subject.to_string(),
        reason,
    })?;
    let gen_err = |e: &dyn std::fmt::Display| CertificateError::Generate(e.to_string());
    let mut rng = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, super::MIN_RSA_BITS).map_err(|e| gen_err(&e))?;
    let pkcs8 = key.to_pkcs8_der().map_err(|e| gen_err(&e))?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| gen_err(&e))?;
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_bytes()).map_err(|e| gen_err(&e))?;

    let now = Utc::now();
    let not_before = now - TimeDelta::minutes(5);
    let not_after = now + TimeDelta::days(i64::from(days.max(1)));
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| gen_err(&e))?;
    let mut name = rcgen::DistinguishedName::new();
    for (k, v) in &parts {
        let ty = match k.as_str() {
            "CN" => rcgen::DnType::CommonName,
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            "L" => rcgen::DnType::LocalityName,
            "ST" => rcgen::DnType::StateOrProvinceName,
            _ => rcgen::DnType::CountryName,
        };
        name.push(ty, v.as_str());
    }
    params.distinguished_name = name;
    params.not_before = offset(not_before)?;
    params.not_after = offset(not_after)?;
    let mut serial = *uuid::Uuid::new_v4().as_bytes();
    serial[0] &= 0x7f; // a positive INTEGER
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params.self_signed(&key_pair).map_err(|e| gen_err(&e))?;
    let der = cert.der().to_vec();
    let (thumbprint, thumbprint_sha256) = thumbprints(&der);
    let seconds = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    Ok(GeneratedCertificate {
        info: CertificateInfo {
            subject: parts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
            thumbprint,
            thumbprint_sha256,
            not_before: seconds(not_before),
            not_after: seconds(not_after),
            key_bits: super::MIN_RSA_BITS,
            problems: Vec::new(),
        },
        der,
        key: Secret::new(pem.to_string()),
    })
}

fn offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime, CertificateError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|e| CertificateError::Generate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_reads_back_with_its_subject_dates_and_key_size() {
        let cert = generate("CN=TonicDM Office 365 Token, O=Contoso", 365).unwrap();
        let read = super::super::import::inspect("gen.cer", &cert.der).unwrap();
        assert_eq!(read.info.key_bits, 2048);
        assert!(
            read.info.subject.contains("CN=TonicDM Office 365 Token"),
            "{}",
            read.info.subject
        );
        assert_eq!(read.info.thumbprint, cert.info.thumbprint);
        assert_eq!(read.info.not_after, cert.info.not_after);
        assert_eq!((cert.info.not_after - Utc::now()).num_days(), 364);
        assert!(cert.key.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(format!("{:?}", cert.key), "[redacted]");
    }

    #[test]
    fn subjects_are_checked() {
        assert!(parse_subject("CN=Fine, O=Org").is_ok());
        assert!(parse_subject("O=No name").unwrap_err().contains("CN="));
        assert!(parse_subject("CN=x, E=a@b")
            .unwrap_err()
            .contains("E is not"));
        assert!(parse_subject("just text")
            .unwrap_err()
            .contains("KEY=value"));
    }
}
