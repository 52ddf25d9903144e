//! Readers for the loosely typed fields of a Graph JSON object (`displayName`, `keyId`,
//! `startDateTime`, ...): missing or mistyped fields read as empty / `None`, never an error.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The string field `key` of `v`, or `""` when it is missing or not a string.
pub(crate) fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The RFC 3339 time in field `key` of `v`, in UTC; `None` when missing or unparseable.
pub(crate) fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}
