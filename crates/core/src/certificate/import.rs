//! Reading the certificate a vendor sent: `.cer` (DER), `.pem` (`BEGIN CERTIFICATE`), or the
//! same as bare base64 text. Anything that holds a private key (a PEM `PRIVATE KEY` block
//! anywhere in the file, PKCS#8, PKCS#1, SEC1, or a PKCS#12/PFX container) is refused: the
//! vendor must never send it, and AppGrant never uploads it.

use base64::Engine;
use chrono::{DateTime, Utc};
use x509_parser::public_key::PublicKey;

use super::{thumbprints, CertificateError, CertificateInfo};

/// A public X.509 certificate, read and described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicCertificate {
    pub der: Vec<u8>,
    pub info: CertificateInfo,
}

impl PublicCertificate {
    /// The certificate as Microsoft Graph's `keyCredential.key` wants it.
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }
}

/// Reads `bytes` (the file `file_name`) as a public certificate. `problems` is left empty:
/// [`CertificateInfo::check`] fills it once the tenant's policy is known.
pub fn inspect(file_name: &str, bytes: &[u8]) -> Result<PublicCertificate, CertificateError> {
    let unreadable = |reason: &str| CertificateError::Unreadable {
        file: file_name.to_string(),
        reason: reason.to_string(),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CertificateError::Empty {
            file: file_name.to_string(),
        });
    }
    // A PEM private key anywhere, even pasted after binary DER, refuses the whole file.
    if bytes.windows(PEM_KEY_MARK.len()).any(|w| w == PEM_KEY_MARK) {
        return Err(CertificateError::PrivateKey);
    }
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => from_pem(text).map_err(|e| match e {
            PemProblem::PrivateKey => CertificateError::PrivateKey,
            PemProblem::Other(reason) => unreadable(reason),
        })?,
        Ok(text) if looks_base64(text) => {
            let compact: String = text.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| unreadable("the text is neither PEM nor base64"))?
        }
        _ => bytes.to_vec(),
    };
    from_der(&der).map_err(|e| match e {
        PemProblem::PrivateKey => CertificateError::PrivateKey,
        PemProblem::Other(reason) => unreadable(reason),
    })
}

/// The end of every PEM private key label (`PRIVATE KEY`, `RSA PRIVATE KEY`, `ENCRYPTED ...`).
const PEM_KEY_MARK: &[u8] = b"PRIVATE KEY-----";

/// What the fuzz target and the stable replay test check for any input: no panic, and a file
/// with a PEM private key in it is never accepted; an accepted certificate reads the same
/// again from its own DER.
pub fn fuzz_surface(data: &[u8]) {
    let Ok(cert) = inspect("fuzz.cer", data) else {
        return;
    };
    assert!(
        !data.windows(PEM_KEY_MARK.len()).any(|w| w == PEM_KEY_MARK),
        "a file with a private key was accepted"
    );
    assert_eq!(cert.info.thumbprint.len(), 40);
    let again = inspect("again.cer", &cert.der).map(|c| c.info);
    assert_eq!(again.ok().as_ref(), Some(&cert.info));
}

enum PemProblem {
    PrivateKey,
    Other(&'static str),
}

fn looks_base64(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c) || c.is_ascii_whitespace())
}

/// The first certificate block's DER; a private key block anywhere refuses the whole file.
fn from_pem(text: &str) -> Result<Vec<u8>, PemProblem> {
    let mut first_cert = None;
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or(PemProblem::Other("a PEM header is cut off"))?;
        let label = after[..label_end].trim();
        if label.contains("PRIVATE KEY") || label.contains("PKCS12") {
            return Err(PemProblem::PrivateKey);
        }
        let body_and_rest = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_and_rest
            .find(&end_marker)
            .ok_or(PemProblem::Other("a PEM block has no END line"))?;
        let body: String = body_and_rest[..end]
            .lines()
            .filter(|l| !l.contains(':')) // RFC 1421 headers
            .flat_map(|l| l.split_whitespace())
            .collect();
        if first_cert.is_none()
            && matches!(
                label,
                "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
            )
        {
            first_cert = Some(
                base64::engine::general_purpose::STANDARD
                    .decode(body.as_bytes())
                    .map_err(|_| PemProblem::Other("the certificate block is not valid base64"))?,
            );
        }
        rest = &body_and_rest[end + end_marker.len()..];
    }
    first_cert.ok_or(PemProblem::Other("the file has no BEGIN CERTIFICATE block"))
}

fn from_der(der: &[u8]) -> Result<PublicCertificate, PemProblem> {
    if holds_private_key(der) {
        return Err(PemProblem::PrivateKey);
    }
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| PemProblem::Other("it is not an X.509 certificate, or it is cut short"))?;
    if !rest.is_empty() {
        return Err(if holds_private_key(rest) {
            PemProblem::PrivateKey
        } else {
            PemProblem::Other("there is more in the file than one certificate")
        });
    }
    let own = &der[..der.len() - rest.len()];
    let key_bits = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => rsa.key_size(),
        _ => 0,
    };
    let time = |t: x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap_or_default()
    };
    let (thumbprint, thumbprint_sha256) = thumbprints(own);
    Ok(PublicCertificate {
        der: own.to_vec(),
        info: CertificateInfo {
            subject: cert.subject().to_string(),
            thumbprint,
            thumbprint_sha256,
            not_before: time(cert.validity().not_before),
            not_after: time(cert.validity().not_after),
            key_bits,
            problems: Vec::new(),
        },
    })
}

/// One DER element: (tag, contents, the rest after it).
fn tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Whether `der` starts with a private key container: PKCS#8 (`SEQUENCE { INTEGER 0|1, ...}`),
/// PKCS#1 / SEC1 (`SEQUENCE { INTEGER 0|1, ...}`), PKCS#12 (`SEQUENCE { INTEGER 3, ...}`) or an
/// encrypted PKCS#8 (`SEQUENCE { SEQUENCE, OCTET STRING }`). A certificate starts
/// `SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING }`, so the two never look alike.
fn holds_private_key(der: &[u8]) -> bool {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    let Some((SEQUENCE, body, _)) = tlv(der) else {
        return false;
    };
    let Some((tag, first, after)) = tlv(body) else {
        return false;
    };
    match tag {
        INTEGER => matches!(first, [0] | [1] | [3]),
        SEQUENCE => matches!(tlv(after), Some((OCTET_STRING, _, []))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::generate;

    fn sample() -> (String, String) {
        let cert = generate::generate("CN=Import Test", 30).unwrap();
        (cert.certificate_pem(), cert.key.expose().clone())
    }

    #[test]
    fn reads_pem_der_and_bare_base64_alike() {
        let (pem, _) = sample();
        let from_pem = inspect("v.pem", pem.as_bytes()).unwrap();
        assert_eq!(from_pem.info.subject, "CN=Import Test");
        assert_eq!(from_pem.info.key_bits, 2048);
        let from_der = inspect("v.cer", &from_pem.der).unwrap();
        assert_eq!(from_der, from_pem);
        let from_b64 = inspect("v.txt", from_pem.base64().as_bytes()).unwrap();
        assert_eq!(from_b64.info.thumbprint, from_pem.info.thumbprint);
    }

    #[test]
    fn a_private_key_anywhere_is_refused_with_never_send_wording() {
        let (pem, key) = sample();
        for (name, bytes) in [
            ("key-after.pem", format!("{pem}\n{key}").into_bytes()),
            ("key-before.pem", format!("{key}{pem}").into_bytes()),
            ("rsa.pem", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".as_bytes().to_vec()),
            ("enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".as_bytes().to_vec()),
        ] {
            let e = inspect(name, &bytes).unwrap_err();
            assert!(matches!(e, CertificateError::PrivateKey), "{name}: {e}");
            assert!(e.to_string().contains("never send private keys"));
        }
    }

    #[test]
    fn a_der_private_key_or_pfx_is_refused() {
        let (_, key) = sample();
        let pkcs8 =
            super::super::export::pkcs8_der(&crate::secret::Secret::new(key.clone())).unwrap();
        assert!(matches!(
            inspect("k.der", &pkcs8),
            Err(CertificateError::PrivateKey)
        ));
        let cert = generate::generate("CN=Pfx", 30).unwrap();
        let pfx = super::super::export::pfx(&cert.key, &cert.der, "pw").unwrap();
        assert!(matches!(
            inspect("k.pfx", &pfx),
            Err(CertificateError::PrivateKey)
        ));
        let mut cert_then_key = cert.der.clone();
        cert_then_key.extend_from_slice(&pkcs8);
        assert!(matches!(
            inspect("both.cer", &cert_then_key),
            Err(CertificateError::PrivateKey)
        ));
    }

    #[test]
    fn garbage_and_cut_files_are_unreadable_not_panics() {
        let (pem, _) = sample();
        let der = inspect("v.pem", pem.as_bytes()).unwrap().der;
        for cut in [1, 10, der.len() / 2, der.len() - 1] {
            let e = inspect("cut.cer", &der[..cut]).unwrap_err();
            assert!(
                matches!(e, CertificateError::Unreadable { .. }),
                "{cut}: {e}"
            );
            assert!(e.to_string().contains("cut.cer"));
        }
        assert!(matches!(
            inspect("e.cer", b" \n"),
            Err(CertificateError::Empty { .. })
        ));
        assert!(matches!(
            inspect(
                "x.pem",
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
            ),
            Err(CertificateError::Unreadable { .. })
        ));
    }
}
