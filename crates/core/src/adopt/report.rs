//! The tenant-wide expiry report: one row per secret or certificate of every app
//! registration (not only AppGrant's), soonest first, as rows for the desktop table, CSV for
//! a spreadsheet, or JSON.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};

use super::read::{text, CredentialKind, TenantApp};
use crate::graph::{Expect, GraphClient};

/// Requests per JSON batch (Microsoft's limit) and batches in flight at once.
const BATCH: usize = 20;
const BATCHES_AT_ONCE: usize = 16;

/// One credential of one app.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryRow {
    pub app_name: String,
    pub app_id: String,
    pub object_id: String,
    pub kind: CredentialKind,
    /// The credential's description ("displayName" in Graph); may be empty.
    pub name: String,
    pub key_id: String,
    /// None: Entra recorded no end date.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whole days from `now` to the expiry (negative: expired that many days ago).
    pub days_left: Option<i64>,
    /// The app's owners, when they were read (display names or sign-in names).
    pub owners: Vec<String>,
}

impl ExpiryRow {
    pub fn expired(&self) -> bool {
        self.days_left.is_some_and(|d| d < 0)
    }
}

/// Every credential of `apps` that expires within `within_days` of `now` (expired ones
/// included; all of them when `within_days` is None), soonest first. Apps without
/// credentials have no rows.
pub fn expiry_rows(
    apps: &[TenantApp],
    now: DateTime<Utc>,
    within_days: Option<i64>,
) -> Vec<ExpiryRow> {
    let mut rows: Vec<ExpiryRow> = apps
        .iter()
        .flat_map(|app| {
            app.credentials.iter().map(move |c| ExpiryRow {
                app_name: app.display_name.clone(),
                app_id: app.app_id.clone(),
                object_id: app.object_id.clone(),
                kind: c.kind,
                name: c.name.clone(),
                key_id: c.key_id.clone(),
                expires_at: c.expires_at,
                days_left: c.expires_at.map(|e| days_between(now, e)),
                owners: Vec::new(),
            })
        })
        .filter(|r| match (within_days, r.days_left) {
            (None, _) => true,
            (Some(w), Some(d)) => d <= w,
            (Some(_), None) => false,
        })
        .collect();
    rows.sort_by(|a, b| {
        a.expires_at
            .cmp(&b.expires_at)
            .then_with(|| a.app_name.cmp(&b.app_name))
    });
    rows
}

/// Fills in each row's owners (display name, else sign-in name), reading
/// `/applications/{id}/owners` for each app once, 20 to a JSON batch. Owners are shown "if
/// readable": an app whose owners cannot be read (or a batch that fails) keeps an empty list.
pub async fn read_owners(graph: &GraphClient, rows: &mut [ExpiryRow]) {
    let mut apps: Vec<String> = rows.iter().map(|r| r.object_id.clone()).collect();
    apps.sort();
    apps.dedup();
    // Owned chunks and client: the future stays `Send` for the desktop shell.
    let chunks: Vec<Vec<String>> = apps.chunks(BATCH).map(<[String]>::to_vec).collect();
    let owners: HashMap<String, Vec<String>> = futures::stream::iter(chunks)
        .map(|chunk| {
            let graph = graph.clone();
            async move { owners_batch(&graph, &chunk).await }
        })
        .buffer_unordered(BATCHES_AT_ONCE)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    for row in rows {
        if let Some(o) = owners.get(&row.object_id) {
            row.owners = o.clone();
        }
    }
}

async fn owners_batch(graph: &GraphClient, apps: &[String]) -> Vec<(String, Vec<String>)> {
    let requests: Vec<Value> = apps
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "id": i.to_string(),
                "method": "GET",
                "url": format!("/applications/{id}/owners?$select=id,displayName,userPrincipalName"),
            })
        })
        .collect();
    let Ok(Some(reply)) = graph
        .post("$batch", &json!({ "requests": requests }), Expect::Settled)
        .await
    else {
        return Vec::new();
    };
    reply
        .get("responses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.get("status").and_then(Value::as_u64) == Some(200))
        .filter_map(|r| {
            let app = apps.get(text(r, "id").parse::<usize>().ok()?)?;
            let names = r
                .pointer("/body/value")
                .and_then(Value::as_array)?
                .iter()
                .map(|o| {
                    let name = text(o, "displayName");
                    if name.is_empty() {
                        text(o, "userPrincipalName")
                    } else {
                        name
                    }
                })
                .filter(|n| !n.is_empty())
                .collect();
            Some((app.clone(), names))
        })
        .collect()
}

/// Whole days from `now` to `end`, rounded down (an expiry later today is 0 days left; one
/// that passed an hour ago is -1).
fn days_between(now: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (end - now).num_seconds().div_euclid(86_400)
}

/// The CSV header.
pub const CSV_HEADER: [&str; 7] = [
    "App name",
    "Application (client) ID",
    "Credential kind",
    "Credential name",
    "Expires (UTC)",
    "Days left",
    "Owners",
];

/// The rows as CSV (RFC 4180: comma-separated, CRLF line ends, fields with commas, quotes or
/// line breaks quoted, quotes doubled). Fields that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@` first) get a leading apostrophe, since app names come from anyone
/// who may register apps.
pub fn to_csv(rows: &[ExpiryRow]) -> String {
    let mut out = String::new();
    line(&mut out, CSV_HEADER.iter().map(|h| h.to_string()));
    for r in rows {
        line(
            &mut out,
            [
                r.app_name.clone(),
                r.app_id.clone(),
                r.kind.label().to_string(),
                r.name.clone(),
                r.expires_at
                    .map(|e| e.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                r.days_left.map(|d| d.to_string()).unwrap_or_default(),
                r.owners.join("; "),
            ]
            .into_iter(),
        );
    }
    out
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    let fields: Vec<String> = fields.map(|f| field(&f)).collect();
    out.push_str(&fields.join(","));
    out.push_str("\r\n");
}

fn field(value: &str) -> String {
    let value = match value.chars().next() {
        // Days left may be negative: a number, not a formula.
        Some('=' | '+' | '@') => format!("'{value}"),
        Some('-') if value.parse::<i64>().is_err() => format!("'{value}"),
        _ => value.to_string(),
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::read::Credential;
    use chrono::TimeDelta;

    fn app(
        name: &str,
        creds: Vec<(CredentialKind, &str, Option<i64>)>,
        now: DateTime<Utc>,
    ) -> TenantApp {
        TenantApp {
            object_id: format!("obj-{name}"),
            app_id: format!("app-{name}"),
            display_name: name.into(),
            created_at: None,
            sign_in_audience: "AzureADMyOrg".into(),
            redirect_uris: vec![],
            permissions: vec![],
            other_apis: 0,
            credentials: creds
                .into_iter()
                .map(|(kind, n, days)| Credential {
                    kind,
                    key_id: format!("key-{n}"),
                    name: n.into(),
                    starts_at: None,
                    expires_at: days.map(|d| now + TimeDelta::days(d) + TimeDelta::hours(1)),
                })
                .collect(),
        }
    }

    /// A small RFC 4180 reader, to prove the CSV reads back as written.
    fn parse(csv: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut cur, mut quoted) = (vec![], vec![], String::new(), false);
        let mut chars = csv.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => row.push(std::mem::take(&mut cur)),
                ('\r', false) => {}
                ('\n', false) => {
                    row.push(std::mem::take(&mut cur));
                    rows.push(std::mem::take(&mut row));
                }
                (c, _) => cur.push(c),
            }
        }
        rows
    }

    #[test]
    fn one_row_per_credential_soonest_first_and_apps_without_credentials_have_none() {
        let now = Utc::now();
        let apps = vec![
            app("No creds", vec![], now),
            app(
                "Cert only",
                vec![(CredentialKind::Certificate, "cert", Some(200))],
                now,
            ),
            app(
                "Two secrets",
                vec![
                    (CredentialKind::Secret, "next week", Some(7)),
                    (CredentialKind::Secret, "expired", Some(-3)),
                ],
                now,
            ),
        ];
        let all = expiry_rows(&apps, now, None);
        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["expired", "next week", "cert"]);
        assert!(all[0].expired());
        assert_eq!(all[0].days_left, Some(-3));
        assert_eq!(all[1].days_left, Some(7));
        assert_eq!(all[2].kind, CredentialKind::Certificate);
        let soon = expiry_rows(&apps, now, Some(60));
        assert_eq!(soon.len(), 2, "the certificate is 200 days away");
    }

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks_and_defuses_formulas() {
        let now = Utc::now();
        let mut rows = expiry_rows(
            &[app(
                "Contoso, \"sync\"\ntool",
                vec![(CredentialKind::Secret, "=HYPERLINK(1)", Some(-1))],
                now,
            )],
            now,
            None,
        );
        rows[0].owners = vec!["Avery Admin".into(), "Robin User".into()];
        let csv = to_csv(&rows);
        let parsed = parse(&csv);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], CSV_HEADER);
        assert_eq!(parsed[1][0], "Contoso, \"sync\"\ntool");
        assert_eq!(parsed[1][2], "client secret");
        assert_eq!(parsed[1][3], "'=HYPERLINK(1)");
        assert_eq!(parsed[1][5], "-1");
        assert_eq!(parsed[1][6], "Avery Admin; Robin User");
        assert!(csv.ends_with("\r\n"));
    }
}
