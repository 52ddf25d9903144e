//! The tenant's app management policy: how long a new client secret or certificate may live.

use serde_json::Value;

use crate::graph::{ErrorClass, GraphClient, GraphError};

/// What the tenant allows for new secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretPolicy {
    /// Longest lifetime of a new client secret, in days (None: no limit, or unreadable).
    pub max_password_days: Option<u32>,
    /// Longest lifetime of a new certificate (`asymmetricKeyLifetime`), in days.
    pub max_certificate_days: Option<u32>,
}

impl SecretPolicy {
    /// Reads `/policies/defaultAppManagementPolicy`. An account that may not read policies
    /// gets "no known limit"; a cap is then still caught when the secret is created.
    pub async fn read(graph: &GraphClient) -> Result<Self, GraphError> {
        match graph.get("policies/defaultAppManagementPolicy").await {
            Ok(body) => Ok(Self::from_json(&body)),
            Err(e) if matches!(e.class(), ErrorClass::Denied | ErrorClass::NotFound) => {
                tracing::info!(
                    "secret lifetime policy not readable; proposing the recipe's lifetime"
                );
                Ok(Self::default())
            }
            Err(e) => Err(e),
        }
    }

    pub fn from_json(body: &Value) -> Self {
        if body.get("isEnabled").and_then(Value::as_bool) == Some(false) {
            return Self::default();
        }
        let max = |collection: &str, restriction: &str| {
            body.pointer(&format!("/applicationRestrictions/{collection}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|r| r.get("restrictionType").and_then(Value::as_str) == Some(restriction))
                .filter(|r| r.get("state").and_then(Value::as_str) != Some("disabled"))
                .filter_map(|r| {
                    r.get("maxLifetime")
                        .and_then(Value::as_str)
                        .and_then(parse_iso_days)
                })
                .min()
        };
        Self {
            max_password_days: max("passwordCredentials", "passwordLifetime"),
            max_certificate_days: max("keyCredentials", "asymmetricKeyLifetime"),
        }
    }
}

/// Days in an ISO-8601 duration of the forms Entra uses (`P180D`, `P1Y`, `P6M`, `P2W`,
/// `P90DT12H`); hours and smaller are rounded down.
pub fn parse_iso_days(text: &str) -> Option<u32> {
    let body = text.trim().strip_prefix('P')?;
    let date = body.split('T').next()?;
    let mut days = 0u32;
    let mut number = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u32 = number.parse().ok()?;
        number.clear();
        days += match c {
            'Y' => n * 365,
            'M' => n * 30,
            'W' => n * 7,
            'D' => n,
            _ => return None,
        };
    }
    number.is_empty().then_some(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(parse_iso_days("P180D"), Some(180));
        assert_eq!(parse_iso_days("P1Y"), Some(365));
        assert_eq!(parse_iso_days("P90DT12H"), Some(90));
        assert_eq!(parse_iso_days("180"), None);
    }

    #[test]
    fn reads_the_password_lifetime_restriction() {
        let body = json!({
            "isEnabled": true,
            "applicationRestrictions": {"passwordCredentials": [
                {"restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": "P180D"}
            ]}
        });
        assert_eq!(SecretPolicy::from_json(&body).max_password_days, Some(180));
        let off = json!({"isEnabled": false, "applicationRestrictions": {"passwordCredentials": [
            {"restrictionType": "passwordLifetime", "maxLifetime": "P30D"}]}});
        assert_eq!(SecretPolicy::from_json(&off).max_password_days, None);
        let certs = json!({"isEnabled": true, "applicationRestrictions": {"keyCredentials": [
            {"restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P90D"}]}});
        let policy = SecretPolicy::from_json(&certs);
        assert_eq!(
            (policy.max_password_days, policy.max_certificate_days),
            (None, Some(90))
        );
    }
}
