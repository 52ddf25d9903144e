//! Token signing: RS256 JWTs signed with the embedded simulator-only key, the JWKS that
//! publishes it, and verification of access tokens presented to Graph.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// Key id published in the JWKS and set in every token header.
pub const KID: &str = "sim-key-1";
const KEY_PEM: &str = include_str!("../data/sim-signing-key.pem");
const KEY_N: &str = include_str!("../data/sim-signing-key.n.txt");
const KEY_E: &str = "AQAB";

static ENCODING: OnceLock<Option<EncodingKey>> = OnceLock::new();
static DECODING: OnceLock<Option<DecodingKey>> = OnceLock::new();

/// Errors minting or checking tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("signing key unavailable")]
    NoKey,
    #[error("token rejected: {0}")]
    Invalid(String),
}

fn encoding_key() -> Result<&'static EncodingKey, TokenError> {
    ENCODING
        .get_or_init(|| EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).ok())
        .as_ref()
        .ok_or(TokenError::NoKey)
}

fn decoding_key() -> Result<&'static DecodingKey, TokenError> {
    DECODING
        .get_or_init(|| DecodingKey::from_rsa_components(KEY_N.trim(), KEY_E).ok())
        .as_ref()
        .ok_or(TokenError::NoKey)
}

/// Signs `claims` as an RS256 JWT with the simulator key.
pub fn sign(claims: &Value) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_string());
    header.typ = Some("JWT".to_string());
    jsonwebtoken::encode(&header, claims, encoding_key()?)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}

/// Verifies signature, expiry and Graph audience; returns the claims.
pub fn verify_graph_token(token: &str) -> Result<Value, TokenError> {
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "00000003-0000-0000-c000-000000000000",
    ]);
    v.leeway = 0;
    v.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, decoding_key()?, &v)
        .map(|d| d.claims)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}

/// The JWKS document.
pub fn jwks() -> Value {
    json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": KID,
            "alg": "RS256",
            "n": KEY_N.trim(),
            "e": KEY_E,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_with_published_key() {
        let now = chrono::Utc::now().timestamp();
        let t = sign(
            &json!({"aud": "https://graph.microsoft.com", "exp": now + 60, "nbf": now - 1, "x": 1}),
        )
        .unwrap();
        assert_eq!(verify_graph_token(&t).unwrap()["x"], 1);
        let bad = sign(&json!({"aud": "api://other", "exp": now + 60})).unwrap();
        assert!(verify_graph_token(&bad).is_err());
        assert_eq!(
            jsonwebtoken::decode_header(&t).unwrap().kid.as_deref(),
            Some(KID)
        );
    }
}
