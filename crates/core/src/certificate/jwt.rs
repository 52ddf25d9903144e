//! Signed JWTs made with a certificate's private key (RS256 through ring):
//!
//! - the **client assertion** a confidential client sends instead of a secret
//!   (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`), with
//!   `aud` = the token endpoint, `iss` = `sub` = the client id, a fresh `jti`, `nbf`/`iat` now and
//!   `exp` ten minutes later (Microsoft identity platform, "certificate credentials");
//! - the **proof of possession** `addKey`/`removeKey` ask for, signed with one of the app's
//!   current certificates: `aud` = `00000002-0000-0000-c000-000000000000`, `iss` = the
//!   application's object id, `nbf`, `exp` = `nbf` + 10 minutes (Graph, application: addKey).
//!
//! Both carry the certificate's thumbprints in the header: `x5t#S256` (SHA-256, what the
//! current documentation names) and `x5t` (SHA-1, what MSAL has long sent).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{export::pkcs8_der, CertificateError, PrivateKeyPem};
use crate::secret::Secret;

/// The audience of a proof of possession (the legacy Azure AD Graph application id, as
/// Microsoft documents it for addKey/removeKey).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// How long a signed token is valid.
const LIFETIME_SECS: i64 = 600;

/// The client assertion for a token request to `token_endpoint` as `client_id`.
pub fn client_assertion(
    key: &PrivateKeyPem,
    cert_der: &[u8],
    client_id: &str,
    token_endpoint: &str,
    now: DateTime<Utc>,
) -> Result<Secret<String>, CertificateError> {
    let t = now.timestamp();
    let claims = json!({
        "aud": token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": t,
        "iat": t,
        "exp": t + LIFETIME_SECS,
    });
    sign(key, cert_der, &claims)
}

/// The proof of possession for `addKey`/`removeKey` on the application `object_id`.
pub fn proof(
    key: &PrivateKeyPem,
    cert_der: &[u8],
    object_id: &str,
    now: DateTime<Utc>,
) -> Result<Secret<String>, CertificateError> {
    let t = now.timestamp();
    let claims = json!({
        "aud": PROOF_AUDIENCE,
        "iss": object_id,
        "nbf": t,
        "exp": t + LIFETIME_SECS,
    });
    sign(key, cert_der, &claims)
}

fn sign(
    key: &PrivateKeyPem,
    cert_der: &[u8],
    claims: &Value,
) -> Result<Secret<String>, CertificateError> {
    let header = json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": B64URL.encode(Sha1::digest(cert_der)),
        "x5t#S256": B64URL.encode(Sha256::digest(cert_der)),
    });
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let der = pkcs8_der(key)?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| CertificateError::Key(e.to_string()))?;
    let mut signature = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| CertificateError::Key("signing failed".to_string()))?;
    Ok(Secret::new(format!("{input}.{}", B64URL.encode(signature))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::generate::generate;

    fn part(jwt: &str, i: usize) -> Value {
        let seg = jwt.split('.').nth(i).unwrap();
        serde_json::from_slice(&B64URL.decode(seg).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_names_the_certificate_and_verifies_with_its_public_key() {
        let cert = generate("CN=Assert", 30).unwrap();
        let now = Utc::now();
        let jwt = client_assertion(
            &cert.key,
            &cert.der,
            "client-1",
            "https://login/t/oauth2/v2.0/token",
            now,
        )
        .unwrap();
        let jwt = jwt.expose();
        let header = part(jwt, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t#S256"], B64URL.encode(Sha256::digest(&cert.der)));
        let claims = part(jwt, 1);
        assert_eq!(claims["aud"], "https://login/t/oauth2/v2.0/token");
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str()),
            (Some("client-1"), Some("client-1"))
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
            600
        );
        // The signature checks out against the certificate's public key.
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert.der).unwrap();
        let spki = parsed.public_key().subject_public_key.data.to_vec();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, spki)
            .verify(input.as_bytes(), &B64URL.decode(sig).unwrap())
            .unwrap();
    }

    #[test]
    fn the_proof_is_for_the_application_object() {
        let cert = generate("CN=Proof", 30).unwrap();
        let jwt = proof(&cert.key, &cert.der, "object-9", Utc::now()).unwrap();
        let claims = part(jwt.expose(), 1);
        assert_eq!(claims["aud"], PROOF_AUDIENCE);
        assert_eq!(claims["iss"], "object-9");
    }
}
