//! Client assertions at the token endpoint: a confidential client proves who it is with a JWT
//! signed by one of its uploaded certificates instead of a client secret
//! (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
//! `client_assertion={JWT}`).
//!
//! Sources: "Microsoft identity platform application authentication certificate credentials"
//! (header `alg` RS256 or PS256, `x5t` / `x5t#S256`; claims `aud` = the tenant's token
//! endpoint, `iss` = `sub` = client id, `jti`, `nbf`, `exp`; Entra places no limit on `exp`),
//! and Microsoft's AADSTS error reference plus the messages Entra returns for them
//! (700027 signature / key not found, 700024 time range, 700023 audience, 50048 subject vs
//! issuer, 50027 invalid JWT). Every failure is `invalid_client` with HTTP 401, like a wrong
//! client secret.

use crate::certs::{hex_upper, SignedJwt};
use crate::error::AadError;
use crate::model::{Application, UploadedKey};
use axum::http::StatusCode;
use base64::Engine as _;
use chrono::{DateTime, Utc};

/// The only `client_assertion_type` Entra accepts for certificate credentials.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DOCS: &str = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .";

fn refused(code: u32, description: impl Into<String>) -> AadError {
    AadError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

fn invalid_jwt(why: &str) -> AadError {
    refused(50027, format!("Invalid JWT token. {why}"))
}

/// The thumbprint the client named, in upper-case hex as Entra quotes it.
fn named_thumbprint(jwt: &SignedJwt) -> String {
    let b64 = |f: &str| {
        jwt.header[f].as_str().and_then(|s| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .ok()
        })
    };
    b64("x5t#S256")
        .or_else(|| b64("x5t"))
        .map(|b| hex_upper(&b))
        .unwrap_or_default()
}

/// Entra's "Found key 'Start=..., End=...'" wording (US dates, UTC).
fn found_key(k: &UploadedKey) -> String {
    let f = |d: &DateTime<Utc>| d.format("%m/%d/%Y %H:%M:%S").to_string();
    format!("Found key 'Start={}, End={}'", f(&k.start), f(&k.end))
}

fn signature_error(reason: &str, thumb: &str, extra: &str) -> AadError {
    refused(
        700027,
        format!("Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by client: '{thumb}'{extra}]"),
    )
}

/// Entra's time format in AADSTS700024: seven fractional digits (.NET ticks).
fn ticks(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

fn time_of(secs: Option<i64>) -> String {
    ticks(DateTime::<Utc>::from_timestamp(secs.unwrap_or(0), 0).unwrap_or_default())
}

/// Checks `assertion` for `app` (whose client id the request named). `audiences` are the token
/// endpoint URLs the tenant answers on (any accepted form of the tenant and host).
pub fn check(app: &Application, assertion: &str, audiences: &[String]) -> Result<(), AadError> {
    let jwt = SignedJwt::parse(assertion)
        .map_err(|_| invalid_jwt("The token is not in a valid format (header.claims.signature, base64url without padding)."))?;
    if !(jwt.header["x5t"].is_string() || jwt.header["x5t#S256"].is_string()) {
        return Err(invalid_jwt(
            "No certificate thumbprint specified in token header (x5t#S256 or x5t).",
        ));
    }
    let alg = jwt.header["alg"].as_str().unwrap_or_default();
    if alg != "RS256" && alg != "PS256" {
        return Err(invalid_jwt(&format!(
            "Unsupported signing algorithm '{alg}': use PS256 or RS256 with an RSA certificate."
        )));
    }
    let thumb = named_thumbprint(&jwt);
    let keys = app.uploaded_keys();
    let Some(key) = keys.iter().find(|k| k.cert.named_by(&jwt.header)) else {
        return Err(signature_error(
            "The key was not found.",
            &thumb,
            &format!(", Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{}'", app.app_id, app.app_id),
        ));
    };
    if jwt.verify(&key.cert).is_err() {
        return Err(signature_error(
            "The provided signature value did not match the expected signature value.",
            &thumb,
            &format!(", {}", found_key(key)),
        ));
    }
    if !key.valid_at(Utc::now()) {
        return Err(signature_error(
            "The key used is expired.",
            &thumb,
            &format!(", {}", found_key(key)),
        ));
    }
    check_claims(&jwt, &app.app_id, audiences)
}

fn check_claims(jwt: &SignedJwt, client_id: &str, audiences: &[String]) -> Result<(), AadError> {
    let (iss, sub) = (jwt.str("iss"), jwt.str("sub"));
    if iss.is_none() || iss != sub {
        return Err(refused(
            50048,
            "Subject must match the issuer claim in the client assertion.",
        ));
    }
    if !iss.is_some_and(|i| i.eq_ignore_ascii_case(client_id)) {
        return Err(refused(
            700021,
            format!("Client assertion application identifier doesn't match 'client_id' parameter. {DOCS}"),
        ));
    }
    let aud_ok = jwt.str("aud").is_some_and(|a| {
        let a = a.trim_end_matches('/');
        audiences.iter().any(|ok| ok.eq_ignore_ascii_case(a))
    });
    if !aud_ok {
        return Err(refused(
            700023,
            format!("Client assertion audience claim does not match Realm issuer. {DOCS}"),
        ));
    }
    let Some(exp) = jwt.time("exp") else {
        return Err(invalid_jwt("The token has no 'exp' claim."));
    };
    let nbf = jwt.time("nbf");
    let now = Utc::now();
    let t = now.timestamp();
    if t >= exp || nbf.is_some_and(|n| t < n) {
        return Err(refused(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. {DOCS}",
                ticks(now),
                time_of(nbf),
                time_of(Some(exp)),
            ),
        ));
    }
    if jwt.claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(invalid_jwt(
            "The token has no 'jti' claim (a fresh GUID per assertion).",
        ));
    }
    Ok(())
}
