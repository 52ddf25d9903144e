//! Certificate credentials on applications: the `keyCredentials` collection as Graph stores
//! it (POST/PATCH of the application), and the `addKey` / `removeKey` actions with their
//! proof of possession.
//!
//! Sources (Microsoft Learn): keyCredential resource type (`key` = base64 of the certificate,
//! returned only for `$select=keyCredentials` on one object; `customKeyIdentifier` defaults to
//! the certificate's thumbprint), "Add a certificate to an app using Microsoft Graph" (type
//! `AsymmetricX509Cert`, usage `Verify`, displayName = subject), application: addKey /
//! removeKey and "Generate proof of possession tokens for rolling keys" (proof signed with
//! an existing valid certificate; `aud` `00000002-0000-0000-c000-000000000000`, `iss` = the
//! application's object id, `exp` = `nbf` + 10 minutes at most; an app with no valid
//! certificate cannot use addKey; a bad proof is `Authentication_MissingOrMalformed`),
//! keyCredentialConfiguration (`asymmetricKeyLifetime`).

use super::{Caller, Ctx, GResult, Reply};
use crate::certs::{CertError, Certificate, SignedJwt};
use crate::error::{parse_body, GraphError};
use crate::model::{fmt_time, Application, Tenant};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// `aud` of an addKey/removeKey proof: the Azure AD Graph resource id, as documented.
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// Longest proof lifetime (`exp` - `nbf`) the documentation allows.
const PROOF_MAX_SECS: i64 = 600;
/// Graph shortens longer display names.
const DISPLAY_NAME_MAX: usize = 90;

/// One keyCredential as a client sends it (POST/PATCH `keyCredentials`, addKey
/// `keyCredential`).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct KeyCredentialInput {
    #[serde(rename = "type")]
    kind: String,
    usage: String,
    key: Option<String>,
    display_name: Option<String>,
    custom_key_identifier: Option<String>,
    key_id: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

fn invalid(property: &str, why: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{property}' of resource 'KeyCredential'. {why}"
    ))
}

fn parse_time(property: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, GraphError> {
    v.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| {
                invalid(
                    property,
                    "Use an ISO 8601 date and time such as 2026-01-31T00:00:00Z.",
                )
            })
    })
    .transpose()
}

/// Checks one keyCredential and fills in what Graph fills in; returns the stored JSON (with
/// `key` kept: it is public data, needed to check signatures).
fn normalise(k: &KeyCredentialInput, cert_max_days: Option<u32>) -> Result<Value, GraphError> {
    let key_id = match &k.key_id {
        Some(id) => uuid::Uuid::parse_str(id)
            .map_err(|_| invalid("keyId", "It must be a GUID."))?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    if is_symmetric(k)? {
        return Ok(symmetric(k, key_id));
    }
    let (raw, cert) = certificate_of(k)?;
    let (start, end) = validity(k, &cert, cert_max_days)?;
    let display = k
        .display_name
        .clone()
        .or_else(|| cert.display_subject())
        .map(|d| d.chars().take(DISPLAY_NAME_MAX).collect::<String>());
    Ok(json!({
        "customKeyIdentifier": k.custom_key_identifier.clone().unwrap_or_else(|| cert.thumbprint_hex()),
        "displayName": display,
        "endDateTime": fmt_time(&end),
        "key": raw,
        "keyId": key_id,
        "startDateTime": fmt_time(&start),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }))
}

/// `type`/`usage`: a certificate (`AsymmetricX509Cert` + `Verify`) or a symmetric key.
fn is_symmetric(k: &KeyCredentialInput) -> Result<bool, GraphError> {
    match (k.kind.as_str(), k.usage.as_str()) {
        ("AsymmetricX509Cert", "Verify") => Ok(false),
        ("AsymmetricX509Cert", _) => Err(invalid(
            "usage",
            "A certificate (AsymmetricX509Cert) on an application must have usage 'Verify'.",
        )),
        ("Symmetric", "Sign" | "Verify") => Ok(true),
        ("Symmetric", _) => Err(invalid("usage", "Use 'Sign' or 'Verify'.")),
        _ => Err(invalid(
            "type",
            "Supported types are 'AsymmetricX509Cert' and 'Symmetric'.",
        )),
    }
}

/// The certificate in `key` (trimmed base64, and what it says). A private key is refused
/// outright: it must never reach the tenant.
fn certificate_of(k: &KeyCredentialInput) -> Result<(String, Certificate), GraphError> {
    let raw = k.key.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        invalid(
            "key",
            "The certificate is required: send the base64 of its DER encoding (the public certificate only; to keep an existing certificate in a PATCH, send it again with its key, read with $select=keyCredentials).",
        )
    })?;
    let cert = Certificate::from_key_base64(raw).map_err(|e| {
        let hint = match e {
            CertError::PrivateKey => {
                "upload the public certificate only (.cer); never send a private key"
            }
            _ => "send the base64 of the certificate's DER encoding (the public .cer)",
        };
        invalid("key", &format!("{}: {hint}.", capitalise(&e.to_string())))
    })?;
    Ok((raw.to_string(), cert))
}

/// `startDateTime`/`endDateTime`: the certificate's validity unless given, inside it, and
/// within the tenant's certificate lifetime policy.
fn validity(
    k: &KeyCredentialInput,
    cert: &Certificate,
    cert_max_days: Option<u32>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), GraphError> {
    let start =
        parse_time("startDateTime", k.start_date_time.as_deref())?.unwrap_or(cert.not_before);
    let end = parse_time("endDateTime", k.end_date_time.as_deref())?.unwrap_or(cert.not_after);
    if start < cert.not_before {
        return Err(invalid(
            "startDateTime",
            &format!(
                "It must not be before the certificate's start ({}).",
                fmt_time(&cert.not_before)
            ),
        ));
    }
    if end > cert.not_after || end <= start {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "KeyCredentialsInvalidEndDate",
            format!(
                "Key credential end date is invalid: it must be after the start date and not after the certificate's expiry ({}).",
                fmt_time(&cert.not_after)
            ),
        ));
    }
    if cert_max_days.is_some_and(|days| end - start > Duration::days(i64::from(days))) {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "CredentialInvalidLifetimeAsPerAppPolicy",
            "Credential lifetime exceeds the max value allowed as per assigned policy.",
        ));
    }
    Ok((start, end))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A symmetric key, stored as given (not used for sign-in by the simulator).
fn symmetric(k: &KeyCredentialInput, key_id: String) -> Value {
    let now = Utc::now();
    json!({
        "customKeyIdentifier": k.custom_key_identifier,
        "displayName": k.display_name,
        "endDateTime": k.end_date_time.clone().unwrap_or_else(|| fmt_time(&(now + Duration::days(365)))),
        "key": k.key,
        "keyId": key_id,
        "startDateTime": k.start_date_time.clone().unwrap_or_else(|| fmt_time(&now)),
        "type": "Symmetric",
        "usage": k.usage,
    })
}

/// The whole `keyCredentials` collection of a POST/PATCH (PATCH replaces it, as Graph does).
pub(crate) fn normalise_all(
    input: &[KeyCredentialInput],
    cert_max_days: Option<u32>,
) -> Result<Value, GraphError> {
    let list = input
        .iter()
        .map(|k| normalise(k, cert_max_days))
        .collect::<Result<Vec<Value>, GraphError>>()?;
    for (i, k) in list.iter().enumerate() {
        if list[..i].iter().any(|o| o["keyId"] == k["keyId"]) {
            return Err(invalid("keyId", "Each key credential needs its own keyId."));
        }
    }
    Ok(Value::Array(list))
}

// ---------------------------------------------------------------------------------------
// addKey / removeKey

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddKeyInput {
    key_credential: KeyCredentialInput,
    password_credential: Option<Value>,
    proof: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RemoveKeyInput {
    key_id: String,
    proof: String,
}

/// Graph's answer to a proof it cannot accept (documented code; the practice tenant adds
/// which check failed).
fn bad_proof(why: &str) -> GraphError {
    GraphError::new(
        StatusCode::UNAUTHORIZED,
        "Authentication_MissingOrMalformed",
        format!(
            "Access Token missing or malformed. (practice tenant: the proof of possession {why})"
        ),
    )
}

/// Who may call addKey/removeKey: the application itself (no permission needed to roll its
/// own keys), or a caller allowed to manage the app (Application.ReadWrite.All /
/// Directory.ReadWrite.All; app-only also Application.ReadWrite.OwnedBy on apps it owns).
fn may_roll(ctx: &Ctx, app: &Application) -> Result<(), GraphError> {
    if let Caller::App { app_id, .. } = &ctx.caller {
        if app_id.eq_ignore_ascii_case(&app.app_id) {
            return Ok(());
        }
    }
    super::apps::may_manage_app(ctx, app)
}

/// Checks a proof of possession against the app's currently valid certificates.
pub(crate) fn check_proof(app: &Application, proof: &str) -> Result<(), GraphError> {
    let jwt = SignedJwt::parse(proof).map_err(|e| bad_proof(&format!("is not readable: {e}")))?;
    let now = Utc::now();
    let valid: Vec<_> = app
        .uploaded_keys()
        .into_iter()
        .filter(|k| k.valid_at(now))
        .collect();
    if valid.is_empty() {
        return Err(bad_proof(
            "cannot be checked: the application has no valid certificate. Add the first certificate with PATCH /applications/{id} (keyCredentials) instead",
        ));
    }
    let named: Vec<_> = if jwt.names_a_certificate() {
        valid
            .iter()
            .filter(|k| k.cert.named_by(&jwt.header))
            .collect()
    } else {
        valid.iter().collect()
    };
    if !named.iter().any(|k| jwt.verify(&k.cert).is_ok()) {
        return Err(bad_proof(
            "is not signed with the private key of one of the application's valid certificates",
        ));
    }
    if jwt.str("aud") != Some(PROOF_AUDIENCE) {
        return Err(bad_proof(&format!("must have aud '{PROOF_AUDIENCE}'")));
    }
    if !jwt
        .str("iss")
        .is_some_and(|i| i.eq_ignore_ascii_case(&app.id))
    {
        return Err(bad_proof(&format!(
            "must have iss = the application's object id '{}' (not its appId)",
            app.id
        )));
    }
    let (Some(nbf), Some(exp)) = (jwt.time("nbf"), jwt.time("exp")) else {
        return Err(bad_proof("needs nbf and exp"));
    };
    if exp - nbf > PROOF_MAX_SECS {
        return Err(bad_proof("may be valid for 10 minutes at most (exp - nbf)"));
    }
    let t = now.timestamp();
    if t < nbf || t >= exp {
        return Err(bad_proof("is not within its valid time range (nbf..exp)"));
    }
    Ok(())
}

fn find_app(ctx: &Ctx, t: &Tenant, k: &str) -> Result<usize, GraphError> {
    super::apps::find_app_idx(ctx, t, k)
}

/// `POST /applications/{id}/addKey`: 200 with the new keyCredential (`key` null).
pub(crate) fn add_key(ctx: &Ctx, k: &str) -> GResult {
    let input: AddKeyInput = parse_body(&ctx.body, "addKey")?;
    if input
        .password_credential
        .as_ref()
        .is_some_and(|p| !p.is_null())
    {
        return Err(GraphError::bad_request(
            "passwordCredential is only for keys of type X509CertAndPassword; set it to null for AsymmetricX509Cert.",
        ));
    }
    let cert_max = ctx.state.knobs().cert_max_lifetime_days;
    let mut t = ctx.state.tenant();
    let i = find_app(ctx, &t, k)?;
    may_roll(ctx, &t.apps[i])?;
    check_proof(&t.apps[i], &input.proof)?;
    let mut stored = normalise(&input.key_credential, cert_max)?;
    let keys = t.apps[i].body["keyCredentials"]
        .as_array_mut()
        .ok_or_else(|| {
            GraphError::bad_request("The application has no keyCredentials collection.")
        })?;
    if keys.iter().any(|o| o["keyId"] == stored["keyId"]) {
        return Err(invalid(
            "keyId",
            "The application already has a key credential with this keyId.",
        ));
    }
    keys.push(stored.clone());
    stored["key"] = Value::Null;
    if let Some(o) = stored.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            json!(ctx.context("microsoft.graph.keyCredential")),
        );
    }
    Ok(Reply::ok(stored))
}

/// `POST /applications/{id}/removeKey`: 204.
pub(crate) fn remove_key(ctx: &Ctx, k: &str) -> GResult {
    let input: RemoveKeyInput = parse_body(&ctx.body, "removeKey")?;
    let mut t = ctx.state.tenant();
    let i = find_app(ctx, &t, k)?;
    may_roll(ctx, &t.apps[i])?;
    check_proof(&t.apps[i], &input.proof)?;
    let keys = t.apps[i].body["keyCredentials"].as_array_mut();
    let before = keys.as_ref().map_or(0, |k| k.len());
    if let Some(keys) = keys {
        keys.retain(|c| {
            !c["keyId"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&input.key_id))
        });
        if keys.len() < before {
            return Ok(Reply::no_content());
        }
    }
    Err(GraphError::bad_request(format!(
        "No key credential found with keyId '{}'.",
        input.key_id
    )))
}
