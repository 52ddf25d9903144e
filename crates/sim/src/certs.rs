//! Certificate credentials: reading the X.509 certificates an app's `keyCredentials` carry
//! (thumbprints, subject, validity, RSA public key) and checking the JWTs signed with their
//! private keys (client assertions at the token endpoint, proofs of possession for
//! `addKey`/`removeKey`).
//!
//! Written from Microsoft's documentation: the `key` of a keyCredential is the base64 DER of
//! the certificate (keyCredential resource type); assertions are `RS256` (older page) or
//! `PS256` (current page) with the certificate named by `x5t` (SHA-1 thumbprint, base64url) or
//! `x5t#S256` (SHA-256 thumbprint, base64url) ("Microsoft identity platform application
//! authentication certificate credentials"). DER is read with `yasna`, digests and signature
//! checks use `ring`; both already come with rcgen/rustls.

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use ring::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};
use serde_json::Value;
use yasna::models::ObjectIdentifier;

/// OID of rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
/// OID of the commonName attribute (X.520).
const COMMON_NAME: &[u64] = &[2, 5, 4, 3];

/// Why a keyCredential's `key` is not a usable certificate.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CertError {
    #[error("the key is not base64")]
    NotBase64,
    #[error("the key is not an X.509 certificate ({0})")]
    NotCertificate(String),
    #[error("the key holds a private key")]
    PrivateKey,
}

/// The facts about one X.509 certificate that Entra shows and uses.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
    /// `CN=...` of the subject (the portal's and Graph's display form), if it has a CN.
    pub subject_cn: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The PKCS#1 `RSAPublicKey` bytes when the key is RSA (Entra signs and verifies with RSA).
    pub rsa_public_key: Option<Vec<u8>>,
}

impl Certificate {
    /// Reads a keyCredential's `key`: base64 of the DER certificate (a base64'd PEM file is
    /// accepted too, as .NET's `X509Certificate2` reads both).
    pub fn from_key_base64(key: &str) -> Result<Certificate, CertError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(key.trim()))
            .map_err(|_| CertError::NotBase64)?;
        Certificate::from_der_or_pem(&bytes)
    }

    fn from_der_or_pem(bytes: &[u8]) -> Result<Certificate, CertError> {
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        if text.contains("PRIVATE KEY-----") {
            return Err(CertError::PrivateKey);
        }
        if let Some(body) = pem_body(text, "CERTIFICATE") {
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| CertError::NotCertificate("the PEM block is not base64".into()))?;
            return Certificate::from_der(&der);
        }
        Certificate::from_der(bytes)
    }

    /// Parses a DER X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        let tbs = yasna::parse_der(der, |r| {
            r.read_sequence(|r| {
                let tbs = r.next().read_sequence(read_tbs)?;
                r.next().read_der()?; // signatureAlgorithm
                r.next().read_bitvec_bytes()?; // signatureValue
                Ok(tbs)
            })
        })
        .map_err(|e| CertError::NotCertificate(e.to_string()))?;
        let time = |raw: &(u64, Vec<u8>)| {
            parse_time(raw.0, &raw.1)
                .ok_or_else(|| CertError::NotCertificate("unreadable validity dates".into()))
        };
        Ok(Certificate {
            der: der.to_vec(),
            sha1: digest(&SHA1_FOR_LEGACY_USE_ONLY, der).as_ref().to_vec(),
            sha256: digest(&SHA256, der).as_ref().to_vec(),
            subject_cn: tbs.subject_cn,
            not_before: time(&tbs.not_before)?,
            not_after: time(&tbs.not_after)?,
            rsa_public_key: tbs.rsa_public_key,
        })
    }

    /// The SHA-1 thumbprint in upper-case hex, as the portal shows it and as Graph fills
    /// `customKeyIdentifier` when a client leaves it out.
    pub fn thumbprint_hex(&self) -> String {
        hex_upper(&self.sha1)
    }

    /// `CN=...` for `displayName` when a client leaves it out.
    pub fn display_subject(&self) -> Option<String> {
        self.subject_cn.as_ref().map(|cn| format!("CN={cn}"))
    }

    /// Does a JWT header name this certificate (`x5t#S256`, `x5t`, or a hex `kid`)?
    pub fn named_by(&self, header: &Value) -> bool {
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let eq = |field: &str, want: &str| {
            header[field]
                .as_str()
                .is_some_and(|s| s.trim_end_matches('=') == want)
        };
        eq("x5t#S256", &b64(&self.sha256))
            || eq("x5t", &b64(&self.sha1))
            || header["kid"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(&self.thumbprint_hex()))
    }
}

/// The parts of `TBSCertificate` the tenant needs (times still raw: tag number + bytes).
struct Tbs {
    subject_cn: Option<String>,
    not_before: (u64, Vec<u8>),
    not_after: (u64, Vec<u8>),
    rsa_public_key: Option<Vec<u8>>,
}

fn read_tbs(r: &mut yasna::BERReaderSeq) -> yasna::ASN1Result<Tbs> {
    r.read_optional(|r| r.read_tagged(yasna::Tag::context(0), |r| r.read_der()))?; // version
    r.next().read_der()?; // serialNumber
    r.next().read_der()?; // signature
    r.next().read_der()?; // issuer
    let (not_before, not_after) = r.next().read_sequence(|r| {
        let raw = |v: yasna::models::TaggedDerValue| (v.tag().tag_number, v.value().to_vec());
        Ok((
            raw(r.next().read_tagged_der()?),
            raw(r.next().read_tagged_der()?),
        ))
    })?;
    let subject_cn = r.next().read_sequence(|r| {
        let mut cn = None;
        // RDNSequence: SEQUENCE OF SET OF AttributeTypeAndValue.
        while let Some(found) = r.read_optional(|r| read_rdn_cn(r))? {
            if found.is_some() {
                cn = found;
            }
        }
        Ok(cn)
    })?;
    let rsa_public_key = r.next().read_sequence(|r| {
        let alg = r.next().read_sequence(|r| {
            let oid = r.next().read_oid()?;
            r.read_optional(|r| r.read_der())?; // parameters
            Ok(oid)
        })?;
        let (bits, _) = r.next().read_bitvec_bytes()?;
        Ok((alg == ObjectIdentifier::from_slice(RSA_ENCRYPTION)).then_some(bits))
    })?;
    // issuerUniqueID, subjectUniqueID, extensions: not needed.
    while r.read_optional(|r| r.read_der())?.is_some() {}
    Ok(Tbs {
        subject_cn,
        not_before,
        not_after,
        rsa_public_key,
    })
}

/// One RDN (a SET of attributes): its commonName value, if it has one.
fn read_rdn_cn(r: yasna::BERReader) -> yasna::ASN1Result<Option<String>> {
    let mut cn = None;
    r.read_set_of(|r| {
        r.read_sequence(|r| {
            let oid = r.next().read_oid()?;
            let value = r.next().read_tagged_der()?;
            if oid == ObjectIdentifier::from_slice(COMMON_NAME) {
                cn = Some(String::from_utf8_lossy(value.value()).into_owned());
            }
            Ok(())
        })
    })?;
    Ok(cn)
}

/// UTCTime (tag 23, `YYMMDDHHMMSSZ`) or GeneralizedTime (tag 24, `YYYYMMDDHHMMSSZ`).
fn parse_time(tag: u64, bytes: &[u8]) -> Option<DateTime<Utc>> {
    let s = std::str::from_utf8(bytes).ok()?.strip_suffix('Z')?;
    let full = match tag {
        23 => {
            // RFC 5280: YY >= 50 means 19YY.
            let yy: u32 = s.get(..2)?.parse().ok()?;
            format!("{}{s}", if yy >= 50 { "19" } else { "20" })
        }
        24 => s.to_string(),
        _ => return None,
    };
    NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .map(|n| n.and_utc())
}

/// The base64 body of the first `-----BEGIN {label}-----` block in `text`.
fn pem_body(text: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    Some(text[start..stop].split_whitespace().collect())
}

pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Why a JWT could not be read or checked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a JWT (three base64url parts, JSON header and claims)")]
    Malformed,
    #[error("unsupported signing algorithm '{0}' (RS256 or PS256 with an RSA certificate)")]
    Algorithm(String),
    #[error("the signature does not match the certificate")]
    Signature,
}

/// A compact JWS, decoded but not yet verified.
#[derive(Debug, Clone)]
pub struct SignedJwt {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl SignedJwt {
    /// Splits and decodes `header.claims.signature` (base64url without padding, as RFC 7515
    /// requires; padded parts are refused, as Graph refuses them in addKey proofs).
    pub fn parse(token: &str) -> Result<SignedJwt, JwtError> {
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [h, c, s] = parts[..] else {
            return Err(JwtError::Malformed);
        };
        let dec = |p: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .map_err(|_| JwtError::Malformed)
        };
        let json = |p: &str| -> Result<Value, JwtError> {
            let v: Value = serde_json::from_slice(&dec(p)?).map_err(|_| JwtError::Malformed)?;
            v.is_object().then_some(v).ok_or(JwtError::Malformed)
        };
        Ok(SignedJwt {
            header: json(h)?,
            claims: json(c)?,
            signing_input: format!("{h}.{c}"),
            signature: dec(s)?,
        })
    }

    /// Names a certificate at all (`x5t`, `x5t#S256` or `kid`)?
    pub fn names_a_certificate(&self) -> bool {
        ["x5t", "x5t#S256", "kid"]
            .iter()
            .any(|f| self.header[*f].is_string())
    }

    /// Checks the signature with `cert`'s RSA key (`RS256` or `PS256`).
    pub fn verify(&self, cert: &Certificate) -> Result<(), JwtError> {
        let alg = self.header["alg"].as_str().unwrap_or_default();
        let scheme: &'static dyn ring::signature::VerificationAlgorithm = match alg {
            "RS256" => &RSA_PKCS1_2048_8192_SHA256,
            "PS256" => &RSA_PSS_2048_8192_SHA256,
            other => return Err(JwtError::Algorithm(other.to_string())),
        };
        let key = cert
            .rsa_public_key
            .as_ref()
            .ok_or_else(|| JwtError::Algorithm(alg.to_string()))?;
        UnparsedPublicKey::new(scheme, key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwtError::Signature)
    }

    /// A numeric date claim (`exp`, `nbf`, `iat`).
    pub fn time(&self, claim: &str) -> Option<i64> {
        self.claims[claim]
            .as_i64()
            .or_else(|| self.claims[claim].as_f64().map(|f| f as i64))
    }

    /// A string claim.
    pub fn str(&self, claim: &str) -> Option<&str> {
        self.claims[claim].as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rcgen_certificate_facts() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Contoso Mail Connector");
        params.not_before = rcgen::date_time_ymd(2025, 3, 4);
        params.not_after = rcgen::date_time_ymd(2051, 3, 4);
        let cert = params.self_signed(&key).unwrap();
        let c = Certificate::from_der(cert.der()).unwrap();
        assert_eq!(
            c.display_subject().as_deref(),
            Some("CN=Contoso Mail Connector")
        );
        assert_eq!(c.not_before.to_rfc3339(), "2025-03-04T00:00:00+00:00");
        // After 2049 X.509 switches to GeneralizedTime.
        assert_eq!(c.not_after.to_rfc3339(), "2051-03-04T00:00:00+00:00");
        assert_eq!(c.thumbprint_hex().len(), 40);
        assert!(c.rsa_public_key.is_none(), "rcgen's default key is ECDSA");
        let pem = base64::engine::general_purpose::STANDARD.encode(cert.pem());
        assert_eq!(Certificate::from_key_base64(&pem).unwrap().sha1, c.sha1);
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        assert_eq!(
            Certificate::from_key_base64("not base64!").unwrap_err(),
            CertError::NotBase64
        );
        let with_key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            Certificate::from_key_base64(
                &base64::engine::general_purpose::STANDARD.encode(with_key)
            )
            .unwrap_err(),
            CertError::PrivateKey
        );
        let junk = base64::engine::general_purpose::STANDARD.encode(b"\x30\x03\x02\x01\x01");
        assert!(matches!(
            Certificate::from_key_base64(&junk),
            Err(CertError::NotCertificate(_))
        ));
        assert_eq!(SignedJwt::parse("a.b").unwrap_err(), JwtError::Malformed);
        assert_eq!(
            SignedJwt::parse("e30=.e30.c2ln").unwrap_err(),
            JwtError::Malformed
        );
    }
}
