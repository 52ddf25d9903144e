//! Test certificates: a real RSA key pair (the `rsa` crate; ring cannot generate RSA keys),
//! self-signed with rcgen, and the JWTs a client signs with it (client assertions, addKey /
//! removeKey proofs). Made here, in the tests only: the simulator never holds a private key.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A self-signed RSA-2048 certificate and its private key.
pub struct TestCert {
    pub der: Vec<u8>,
    /// The certificate and its private key in one PEM text (what must never be uploaded).
    pub pem_with_private_key: String,
    pkcs1: Vec<u8>,
}

/// Which thumbprint the JWT header names the certificate by.
#[derive(Clone, Copy, Debug)]
pub enum Thumb {
    /// `x5t#S256` (SHA-256; current documentation, PS256).
    Sha256,
    /// `x5t` (SHA-1; older documentation and MSAL, RS256).
    Sha1,
    /// Neither.
    None,
}

impl TestCert {
    /// `CN={cn}`, valid from `not_before` to `not_after`.
    pub fn new(cn: &str, not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> TestCert {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pkcs8 = key.to_pkcs8_der().unwrap();
        let signer = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_bytes().to_vec().into(),
            &rcgen::PKCS_RSA_SHA256,
        )
        .unwrap();
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.not_before = to_offset(not_before);
        params.not_after = to_offset(not_after);
        let cert = params.self_signed(&signer).unwrap();
        let key_pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        TestCert {
            der: cert.der().to_vec(),
            pem_with_private_key: format!("{}{}", cert.pem(), key_pem.as_str()),
            pkcs1: key.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        }
    }

    /// Valid from a day ago for `days` days.
    pub fn valid_for(cn: &str, days: i64) -> TestCert {
        let now = Utc::now();
        TestCert::new(cn, now - Duration::days(1), now + Duration::days(days))
    }

    /// `key` of a keyCredential: base64 of the DER certificate.
    pub fn key_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// SHA-1 thumbprint, upper-case hex (as the portal shows it).
    pub fn thumbprint(&self) -> String {
        sha1(&self.der).iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The keyCredential a client PATCHes: type, usage, key (the rest is Graph's to fill).
    pub fn key_credential(&self) -> Value {
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": self.key_b64()})
    }

    /// Signs `claims` with this certificate's key, naming it in the header by `thumb`.
    pub fn sign(&self, alg: Algorithm, thumb: Thumb, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.typ = Some("JWT".into());
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        match thumb {
            Thumb::Sha256 => header.x5t_s256 = Some(b64(&Sha256::digest(&self.der))),
            Thumb::Sha1 => header.x5t = Some(b64(&sha1(&self.der))),
            Thumb::None => {}
        }
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&self.pkcs1)).unwrap()
    }

    /// A client assertion as the documentation describes it (PS256, `x5t#S256`), valid for
    /// ten minutes from now.
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        let now = Utc::now().timestamp();
        self.sign(
            Algorithm::PS256,
            Thumb::Sha256,
            &assertion_claims(client_id, aud, now, now + 600),
        )
    }

    /// An addKey/removeKey proof of possession for the app with object id `object_id`.
    pub fn proof(&self, object_id: &str) -> String {
        let now = Utc::now().timestamp();
        self.sign(
            Algorithm::RS256,
            Thumb::Sha1,
            &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": object_id, "nbf": now, "exp": now + 600}),
        )
    }
}

/// The claims of a client assertion valid from `nbf` to `exp`.
pub fn assertion_claims(client_id: &str, aud: &str, nbf: i64, exp: i64) -> Value {
    json!({
        "aud": aud, "iss": client_id, "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": nbf, "iat": nbf, "exp": exp,
    })
}

fn to_offset(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).unwrap()
}

/// SHA-1 through ring (already a dependency of the simulator).
fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}
