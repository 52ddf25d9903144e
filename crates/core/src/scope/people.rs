//! The people picker: search users and groups by name or address, and resolve chosen ids.
//!
//! Uses Graph's `$search` on directory objects (api-notes §4.8), which needs the header
//! `ConsistencyLevel: eventual` and quoted values; users and groups are searched at the same
//! time, one page each (`$top` = the limit), following `@odata.nextLink` only while fewer
//! than `limit` results have arrived. A tenant with 100,000 users costs the same two requests
//! as one with fifty.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ScopeError;
use crate::graph::{Expect, GraphClient};

/// Most results one search returns (Graph's `$top` maximum is 999).
pub const MAX_RESULTS: usize = 999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    User,
    Group,
}

/// A user or group the admin picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// Entra object id.
    pub id: String,
    pub kind: RecipientKind,
    pub display_name: String,
    /// A user's UPN (or mail), a group's mail address; `None` for a group without one.
    pub upn_or_mail: Option<String>,
    /// The user's primary e-mail address (`None`: no mailbox, or a group).
    #[serde(default)]
    pub mail: Option<String>,
}

const EVENTUAL: [(&str, &str); 1] = [("ConsistencyLevel", "eventual")];

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text a person typed, made safe inside a `$search` term: no double quotes or
/// backslashes (they delimit terms), no colons (they name properties), trimmed.
fn clean(query: &str) -> String {
    query
        .chars()
        .map(|c| {
            if matches!(c, '"' | '\\' | ':') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn search_expr(query: &str, properties: &[&str]) -> String {
    properties
        .iter()
        .map(|p| format!("\"{p}:{query}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn user_of(v: &Value) -> Option<Recipient> {
    let upn = text(v, "userPrincipalName");
    let mail = text(v, "mail");
    Some(Recipient {
        id: text(v, "id")?,
        kind: RecipientKind::User,
        display_name: text(v, "displayName").unwrap_or_default(),
        upn_or_mail: upn.or_else(|| mail.clone()),
        mail,
    })
}

fn group_of(v: &Value) -> Option<Recipient> {
    Some(Recipient {
        id: text(v, "id")?,
        kind: RecipientKind::Group,
        display_name: text(v, "displayName").unwrap_or_default(),
        upn_or_mail: text(v, "mail"),
        mail: None,
    })
}

/// Pages through an advanced query until `limit` items have arrived.
async fn collect(
    graph: &GraphClient,
    first: String,
    limit: usize,
    parse: fn(&Value) -> Option<Recipient>,
) -> Result<Vec<Recipient>, ScopeError> {
    let mut out = Vec::new();
    let mut next = Some(first);
    while let Some(link) = next.take() {
        let page = graph
            .send(
                reqwest::Method::GET,
                &link,
                None,
                Expect::Settled,
                &EVENTUAL,
            )
            .await?
            .unwrap_or_default();
        if let Some(items) = page.get("value").and_then(Value::as_array) {
            out.extend(items.iter().filter_map(parse));
        }
        if out.len() < limit {
            next = text(&page, "@odata.nextLink");
        }
    }
    out.truncate(limit);
    Ok(out)
}

/// Users and groups whose name or address starts with the words typed, users first, at most
/// `limit` of each kind (1–999). An empty query returns nothing.
pub async fn search_recipients(
    graph: &GraphClient,
    query: &str,
    limit: usize,
) -> Result<Vec<Recipient>, ScopeError> {
    let query = clean(query);
    if query.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let top = limit.min(MAX_RESULTS);
    let users = format!(
        "users?$search={}&$select=id,displayName,userPrincipalName,mail&$top={top}",
        encode(&search_expr(
            &query,
            &["displayName", "mail", "userPrincipalName"]
        ))
    );
    let groups = format!(
        "groups?$search={}&$select=id,displayName,mail&$top={top}",
        encode(&search_expr(&query, &["displayName", "mail"]))
    );
    let (users, groups) = futures::future::join(
        collect(graph, users, top, user_of),
        collect(graph, groups, top, group_of),
    )
    .await;
    let mut out = users?;
    out.extend(groups?);
    Ok(out)
}

/// Looks chosen ids up again (a stored choice, or ids from the CLI). Unknown ids are left
/// out; an id is tried as a user first, then as a group.
pub async fn resolve(graph: &GraphClient, ids: &[String]) -> Result<Vec<Recipient>, ScopeError> {
    let mut out = Vec::new();
    for id in ids {
        let id = encode(id);
        if let Some(u) = graph
            .find(&format!(
                "users/{id}?$select=id,displayName,userPrincipalName,mail"
            ))
            .await?
        {
            out.extend(user_of(&u));
        } else if let Some(g) = graph
            .find(&format!("groups/{id}?$select=id,displayName,mail"))
            .await?
        {
            out.extend(group_of(&g));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_cannot_break_out_of_their_term() {
        assert_eq!(clean("  rob\" OR \"mail:x  "), "rob OR mail x");
        assert_eq!(
            search_expr("rob", &["displayName", "mail"]),
            "\"displayName:rob\" OR \"mail:rob\""
        );
        assert_eq!(encode("a b&\"c\""), "a%20b%26%22c%22");
    }
}
