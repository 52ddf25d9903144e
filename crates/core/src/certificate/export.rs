//! Exporting a generated certificate on purpose: a password-protected PFX (PKCS#12, keys and
//! certificate encrypted with PBES2 AES-256-CBC / PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC,
//! which OpenSSL 3 and Windows 10+ open) with a random password shown once, or PEM files
//! (certificate + PKCS#8 key). Files holding the key are readable by their owner only.

use std::path::{Path, PathBuf};

use base64::Engine;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::{Deserialize, Serialize};

use super::generate::certificate_pem;
use super::{CertificateError, PrivateKeyPem};
use crate::secret::Secret;

/// PBKDF2 iterations for the PFX (OpenSSL 3's `pkcs12 -export` default is 2048; more is
/// slower to guess).
const PFX_ITERATIONS: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateFormat {
    Pfx,
    Pem,
}

/// What an export wrote, and the PFX password (shown once, never stored).
#[derive(Debug)]
pub struct CertificateExport {
    pub paths: Vec<PathBuf>,
    pub password: Option<Secret<String>>,
}

/// The key's PKCS#8 DER (checked to be an RSA key).
pub fn pkcs8_der(key: &PrivateKeyPem) -> Result<Vec<u8>, CertificateError> {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(key.expose())
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    Ok(key
        .to_pkcs8_der()
        .map_err(|e| CertificateError::Key(e.to_string()))?
        .as_bytes()
        .to_vec())
}

/// A random 24-character password (144 bits).
pub fn random_password() -> Result<Secret<String>, CertificateError> {
    let mut bytes = [0u8; 18];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| CertificateError::Export("no randomness for the password".to_string()))?;
    Ok(Secret::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

/// The PFX bytes of `key` + `cert_der`, protected by `password`.
pub fn pfx(
    key: &PrivateKeyPem,
    cert_der: &[u8],
    password: &str,
) -> Result<Vec<u8>, CertificateError> {
    let err = |e: p12_keystore::error::Error| CertificateError::Export(e.to_string());
    let cert = p12_keystore::Certificate::from_der(cert_der).map_err(err)?;
    let local_key_id = super::thumbprints(cert_der).0.into_bytes();
    let chain = p12_keystore::PrivateKeyChain::new(pkcs8_der(key)?, local_key_id, [cert]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "appgrant",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    store
        .writer(password)
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(PFX_ITERATIONS)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
        .mac_iterations(PFX_ITERATIONS)
        .write()
        .map_err(err)
}

/// Writes the export into `dir` as `{base}.pfx`, or `{base}.crt.pem` + `{base}.key.pem`.
pub fn write(
    dir: &Path,
    base: &str,
    key: &PrivateKeyPem,
    cert_der: &[u8],
    format: CertificateFormat,
) -> Result<CertificateExport, CertificateError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
    match format {
        CertificateFormat::Pfx => {
            let password = random_password()?;
            let path = dir.join(format!("{base}.pfx"));
            write_private(&path, &pfx(key, cert_der, password.expose())?)?;
            Ok(CertificateExport {
                paths: vec![path],
                password: Some(password),
            })
        }
        CertificateFormat::Pem => {
            let cert = dir.join(format!("{base}.crt.pem"));
            let key_path = dir.join(format!("{base}.key.pem"));
            std::fs::write(&cert, certificate_pem(cert_der)).map_err(|e| io_error(&cert, &e))?;
            write_private(&key_path, key.expose().as_bytes())?;
            Ok(CertificateExport {
                paths: vec![cert, key_path],
                password: None,
            })
        }
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> CertificateError {
    CertificateError::Export(format!("{}: {e}", path.display()))
}

/// Writes a file only its owner may read (on Unix; Windows user folders are private).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertificateError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| io_error(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::generate::generate;

    #[test]
    fn a_pfx_reads_back_with_its_password_only() {
        let cert = generate("CN=Pfx Export", 30).unwrap();
        let password = random_password().unwrap();
        assert_eq!(password.expose().len(), 24);
        let bytes = pfx(&cert.key, &cert.der, password.expose()).unwrap();
        let store = p12_keystore::KeyStore::from_pkcs12(&bytes, password.expose()).unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        assert_eq!(chain.chain()[0].as_der(), cert.der.as_slice());
        assert_eq!(chain.key(), pkcs8_der(&cert.key).unwrap().as_slice());
        assert!(p12_keystore::KeyStore::from_pkcs12(&bytes, "wrong").is_err());
    }

    /// What the admin does with the file: `openssl pkcs12` (OpenSSL 3) opens it with the
    /// password AppGrant showed.
    #[test]
    fn openssl_opens_the_pfx_with_the_shown_password() {
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            eprintln!(
                "SKIPPED: the openssl command is not installed, so the PFX was not opened with it"
            );
            return;
        }
        let dir = std::env::temp_dir().join(format!("appgrant-pfx-{}", uuid::Uuid::new_v4()));
        let cert = generate("CN=OpenSSL Check", 30).unwrap();
        let out = write(&dir, "vendor", &cert.key, &cert.der, CertificateFormat::Pfx).unwrap();
        let password = out.password.unwrap();
        let run = |pass: &str| {
            std::process::Command::new("openssl")
                .args(["pkcs12", "-in"])
                .arg(&out.paths[0])
                .args(["-passin", &format!("pass:{pass}"), "-nokeys"])
                .output()
                .unwrap()
        };
        let ok = run(password.expose());
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let text = String::from_utf8_lossy(&ok.stdout);
        assert!(
            text.contains("BEGIN CERTIFICATE") && text.contains("CN=OpenSSL Check"),
            "{text}"
        );
        assert!(!run("not-the-password").status.success());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out.paths[0])
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the PFX is readable by others");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pem_export_writes_the_certificate_and_the_key() {
        let dir = std::env::temp_dir().join(format!("appgrant-pem-{}", uuid::Uuid::new_v4()));
        let cert = generate("CN=Pem Export", 30).unwrap();
        let out = write(&dir, "v", &cert.key, &cert.der, CertificateFormat::Pem).unwrap();
        assert!(out.password.is_none());
        let crt = std::fs::read_to_string(&out.paths[0]).unwrap();
        let key = std::fs::read_to_string(&out.paths[1]).unwrap();
        assert_eq!(
            crate::certificate::import::inspect("v.crt.pem", crt.as_bytes())
                .unwrap()
                .der,
            cert.der
        );
        assert_eq!(&key, cert.key.expose());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
